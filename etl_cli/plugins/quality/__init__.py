"""Data-quality check types: row-level rules evaluated together in one pass, dataset-level measures."""
