"""Metrics exporters: where a run's metrics go (the pipeline's ``metrics:`` block)."""
