"""Benchmarks (latency, accuracy) that write JSON to bench/results/; not part of the test run."""
