"""Benchmark commands: `python -m etl.bench.throughput` (local decode + normalize + load, rebuild)."""
