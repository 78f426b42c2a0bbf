"""Scoring: the scorer registry and the built-in scorers, one file each.

`score(context)` runs every registered scorer whose needs the cell's (model, task) pair meets (`scoring.base`):
prediction, reconstruction (explained variance, l2 ratio, relative reconstruction bias, cosine), isometry,
throughput and the training record on every cell; classification and downstream (the accuracy recovered with the
target layer replaced by the prediction, against mean-ablation) on tasks with labels and a base network's head;
topology on models with a latent path; sparsity (L0 and the fraction of latents alive) on models whose latents are
codes; dictionary recovery and resolution on tasks with a known generative model; the latent map's attractors, the
linear operator's spectrum and operator editing on models that declare those capabilities. Plugins add scorers
through the entry-point group `kae_zoo.scorers`.
"""

from ..core.registry import import_submodules
from .base import (
                   SCORERS,
                   EvaluationConfig,
                   Scorer,
                   ScorerError,
                   ScorerOutput,
                   ScoringContext,
                   applicable_scorers,
                   combined_watcher,
                   get_scorer,
                   list_scorers,
                   register_scorer,
                   score,
                   specs,
                   training_watchers,
)

import_submodules(__name__)  # the built-in scorers register themselves on import: a new scorer is one new file

__all__ = ["SCORERS", "EvaluationConfig", "Scorer", "ScorerError", "ScorerOutput", "ScoringContext",
           "applicable_scorers", "combined_watcher", "get_scorer", "list_scorers", "register_scorer", "score", "specs",
           "training_watchers"]
