"""Scoring: the scorer registry and the built-in scorers, one file each.

`score(context)` runs every registered scorer whose needs the cell's (model, task) pair meets (`scoring.base`):
prediction, classification, isometry, throughput, the training record and topology on every cell they apply to;
sparsity, dictionary recovery and resolution on tasks with a known generative model; the latent map's attractors,
the linear operator's spectrum and operator editing on models that declare those capabilities. Plugins add scorers
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
