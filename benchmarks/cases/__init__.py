"""Benchmark cases, one file per topic; each registers cases with @case."""
