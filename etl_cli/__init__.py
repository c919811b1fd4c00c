"""etl-cli: YAML pipelines compiled to Apache Spark jobs."""

from __future__ import annotations

__version__ = "0.1.0"
