"""Benchmarks: `python -m bench [name …]` runs bench/<name>.py (all when none given)."""
