"""Result variables of the topological scores (computed in `topology.py`)."""

from . import MetricSpec, register_metric

register_metric(MetricSpec("betti", "Betti numbers summed over classes along the decoded trajectory", "1",
                           higher_is_better=None, dims=("step", "homology_dim")))
register_metric(MetricSpec("betti_time", "latent time of each trajectory step", "1", higher_is_better=None,
                           dims=("step",), split=""))
register_metric(MetricSpec("base_betti", "Betti numbers summed over classes at each base-network layer", "1",
                           higher_is_better=None, dims=("layer", "homology_dim")))
register_metric(MetricSpec("betti_simplification", "relative drop of beta_0 + beta_1 from the start to the end of the "
                           "decoded trajectory (0: no simplification, < 0: more complex at the end)", "1",
                           higher_is_better=True, version=2))
register_metric(MetricSpec("base_betti_simplification", "relative drop of beta_0 + beta_1 from the base network's "
                           "first layer to its last (what the trajectory is read against)", "1",
                           higher_is_better=None))
register_metric(MetricSpec("betti_curve_error", "mean absolute difference between the trajectory's beta_0 + beta_1 "
                           "curve and the base network's, on a shared progress axis, over the base curve's maximum",
                           "1", higher_is_better=False))
