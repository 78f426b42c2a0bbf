"""The store's error, apart from `results` so that the command line can catch it without importing xarray."""


class ResultFileError(ValueError):
    """A file that is not a readable kae-zoo result file; the message says what is wrong."""
