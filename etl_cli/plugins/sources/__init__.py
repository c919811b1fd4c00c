"""Built-in sources: files read with Spark's DataFrameReader."""
