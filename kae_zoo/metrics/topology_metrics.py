"""Result variables of the topological scores (computed in `topology.py`)."""

from . import MetricSpec, register_metric

register_metric(MetricSpec("betti", "Betti numbers summed over classes along the decoded trajectory", "1",
                           higher_is_better=False, dims=("step", "homology_dim")))
register_metric(MetricSpec("betti_time", "latent time of each trajectory step", "1", higher_is_better=False,
                           dims=("step",), split=""))
register_metric(MetricSpec("base_betti", "Betti numbers summed over classes at each base-network layer", "1",
                           higher_is_better=False, dims=("layer", "homology_dim")))
register_metric(MetricSpec("betti_simplification",
                           "closeness x monotonicity of the trajectory's Betti curve against the base network's",
                           "1", higher_is_better=True))
