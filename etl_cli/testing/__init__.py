"""Pipeline tests: test files beside a pipeline, run on local Spark with fixtures for sources (``etl-cli test``)."""
