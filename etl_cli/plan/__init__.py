"""The plan: a pipeline spec compiled into a DAG of stages."""
