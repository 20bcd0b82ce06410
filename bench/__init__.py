"""Benchmarks: each compares verirl with a baseline in one process run."""
