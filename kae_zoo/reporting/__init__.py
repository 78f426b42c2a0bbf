"""Reporting: tables (summary), figures (plots), Markdown reports (report), the static results site (site) and
seed-aware comparison of two result files (compare)."""

# what `kae-zoo show` and `compare` print (`export.render`); here, apart from export, for the CLI's parser
FORMATS = ("table", "markdown", "csv", "json")
