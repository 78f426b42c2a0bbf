"""Reporting: tables (summary), figures (plots), Markdown reports (report), the static results site (site) and
seed-aware comparison of two result files (compare)."""

# Here, apart from the modules that use them, so that the CLI's parser reads them without importing xarray:
FORMATS = ("table", "markdown", "csv", "json")  # what `kae-zoo show` and `compare` print (`export.render`)
DEFAULT_TOLERANCE = 0.05  # compare: the change for the worse allowed, relative to the reference mean
DEFAULT_ALPHA = 0.05  # compare: Welch's one-sided p below which a change beyond the tolerance regresses
