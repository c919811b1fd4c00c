"""Built-in transforms: one module per family, each expression written in Spark SQL."""
