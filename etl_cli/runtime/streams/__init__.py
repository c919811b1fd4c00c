"""Streaming runs: the queries, their progress and their stop."""
