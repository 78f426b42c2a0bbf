"""Training: the one trainer every neural family shares (`train`), driven by the family's loss and the run's
`FitSettings`. The runner calls it; families never do."""

from .trainer import DivergenceError, check_finite, make_scheduler, train, training_step

__all__ = ["DivergenceError", "check_finite", "make_scheduler", "train", "training_step"]
