"""Orchestration: the project of pipelines as one DAG, selectors, schedules and their exports (docs/orchestration.md).

Offline and JVM-free: pipelines run as ``etl-cli run`` processes of their own.
"""
