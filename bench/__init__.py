"""Benchmarks: slow, heavy checks that measure speed (see docs/benchmarks.md)."""
