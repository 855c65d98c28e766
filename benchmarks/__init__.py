"""Benchmarks: each ``bench_*.py`` prints a table of figures measured side by side in one run."""
