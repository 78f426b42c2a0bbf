"""The package version (read by setuptools from this file, re-exported as `kae_zoo.__version__`)."""

__version__ = "0.1.0"
