"""Reporting: tables (summary), figures (plots), HTML/Markdown reports (report) and seed-aware comparison of two result
files (compare)."""
