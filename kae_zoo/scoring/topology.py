"""Scorer `topology`: Betti numbers of each class along the surrogate's decoded latent trajectory, their relative
drop, and with the base network's layer states the same along its layers and the curves' distance. Only models with
a `latent_path`: a direct map, or an autoencoder whose advance is the identity, has no path to score."""

from __future__ import annotations

import numpy as np
import torch

from ..core.batching import to_numpy
from ..core.capabilities import LABELS, LATENT_PATH, LAYER_STATES
from ..core.types import Curve
from ..metrics.topology import betti_curve_error, betti_simplification, class_betti_numbers
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def topology_scores(context: ScoringContext) -> ScorerOutput:
    model, data, n_steps = context.model, context.data, context.evaluation.n_betti_steps
    source = data.splits["test"]["source"]
    labels = data.splits["test"]["label"].cpu().numpy()
    times = model.trajectory_times(n_steps)
    model.eval()
    with torch.no_grad():
        path = model.trajectory(source, n_steps)
    betti = np.stack([class_betti_numbers(to_numpy(state).reshape(len(labels), -1), labels) for state in path])
    steps = list(range(len(times)))
    curves: dict[str, Curve] = {
        "betti": (("step", "homology_dim"), {"step": steps, "homology_dim": [0, 1]}, betti.astype(np.float64)),
        "betti_time": (("step",), {"step": steps}, np.asarray(times, dtype=np.float64)),
    }
    scalars: dict[str, float] = {}
    if betti.sum(axis=1)[0] > 0:
        scalars["betti_simplification"] = betti_simplification(betti.sum(axis=1))
    if LAYER_STATES in data.capabilities:
        base_betti = np.stack([class_betti_numbers(states, labels) for states in data.test_layer_states])
        curves["base_betti"] = (("layer", "homology_dim"), {"layer": data.layer_names, "homology_dim": [0, 1]},
                                base_betti.astype(np.float64))
        scalars["base_betti_simplification"] = betti_simplification(base_betti.sum(axis=1))
        scalars["betti_curve_error"] = betti_curve_error(betti.sum(axis=1), base_betti.sum(axis=1))
    return scalars, curves


TOPOLOGY = register_scorer(Scorer(
    "topology", topology_scores,
    specs("betti", "betti_time", "betti_simplification", "base_betti", "base_betti_simplification",
          "betti_curve_error"),
    task_needs={LABELS}, model_needs={LATENT_PATH},
    description="Betti numbers along the latent trajectory (and the base network's layers)"))
