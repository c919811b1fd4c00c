"""Running a plan: the run, the workspace, the executor, signals, dry-run and debug stepping."""
