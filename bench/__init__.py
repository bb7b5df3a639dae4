"""The benchmark suite: `make bench` or `python -m bench [section ...]` (see __main__.py)."""
