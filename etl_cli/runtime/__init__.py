"""Runtime: Spark session, dependency resolution, execution, locks, run artifacts."""
