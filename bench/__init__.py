"""Benchmarks: load server, per-implementation workers, runner (python -m bench.run)."""
