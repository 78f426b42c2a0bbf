"""The core every layer stands on: shared types (Batch, DataSpec, Curve), the surrogate interface and its fit
settings, capabilities, registries, configs, acceleration, determinism, atomic files, provenance, the cache folder
and the logging set-up. It imports nothing else from kae_zoo."""

from .acceleration import FP32, Acceleration
from .config import PRESETS, TrainingConfig
from .registry import Registry, UnknownNameError, import_submodules
from .surrogate import FitSettings, StepCallback, Surrogate, TrainReport
from .types import Batch, Curve, DataSpec, DataView, Scores
from .version import __version__

__all__ = ["FP32", "Acceleration", "PRESETS", "TrainingConfig", "Registry", "UnknownNameError",
           "import_submodules", "FitSettings", "StepCallback", "Surrogate", "TrainReport", "Batch", "Curve",
           "DataSpec", "DataView", "Scores", "__version__"]
