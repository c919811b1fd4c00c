"""What a run leaves and reads back: the lock, run results, state, metrics, progress, recovery."""
