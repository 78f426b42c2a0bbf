"""The core every layer stands on: shared types (types: Batch, DataSpec, Curve), the surrogate interface and its fit
settings (surrogate), capabilities, registries (registry), configs (config), acceleration, determinism, atomic
files, provenance, the cache folder (cache) and the logging set-up (logs). It imports nothing else from kae_zoo.

Import from the modules themselves (`from kae_zoo.core.config import PRESETS`): this package imports none of them,
so that light modules (config, registry, version) load without torch."""
