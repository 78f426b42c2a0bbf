"""Reporting: tables (summary), figures (plots), Markdown reports (report), the static results site (site) and
seed-aware comparison of two result files (compare)."""
