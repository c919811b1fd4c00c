"""Run-time data quality: schema contracts, the one-pass check evaluator, the quality report."""
