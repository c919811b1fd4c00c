"""Dataset names by the OpenLineage naming conventions (https://openlineage.io/docs/spec/naming).

The same name for the same data in every tool is what joins lineage up: pipeline A's sink
and pipeline B's source meet when both name the same dataset, and OpenLineage consumers
(Marquez...) join etl-cli's events with other producers' on the same names.

- local files: namespace ``file``, name the absolute, normalised path (globs kept as written)
- S3 (``s3://``, ``s3a://``, ``s3n://``): namespace ``s3://bucket``, name the key
- GCS (``gs://``): namespace ``gs://bucket``, name the key
- other URIs (``hdfs://nn:8020/x``, ``wasb://c@account/x``): namespace ``scheme://authority``, name the path
- PostgreSQL: ``postgres://host:port``, ``database.schema.table`` (schema ``public`` when not written)
- MySQL and MariaDB: ``mysql://host:port``, ``database.table``
- Kafka: ``kafka://host:port`` of the first bootstrap server, the topic
- MongoDB: ``mongodb://host:port`` of the first host, ``database.collection``
- OpenSearch: ``opensearch://host:port`` of the node's URL, the index

A stage whose place is not one string known offline has no name (None): a value holding a
``${...}`` reference (a secret resolved only at run time), several paths or topics, a topic
pattern or ``topic_column``, a JDBC ``query``, or another database.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from etl_cli.lineage.model import DatasetName
from etl_cli.plugins.api import StageSpec, resolve_path
from etl_cli.plugins.jdbc.dialects import MARIADB, MYSQL, POSTGRESQL, dialect_for, endpoints
from etl_cli.plugins.jdbc.identifiers import TableName
from etl_cli.plugins.mongodb_connection import server_of as mongodb_server

#: the S3 schemes Hadoop knows; all name the same bucket
_S3_SCHEMES = ("s3", "s3a", "s3n")
#: what follows the authority of a JDBC URL: the database, up to parameters
_JDBC_DATABASE = re.compile(r"^jdbc:[a-z0-9]+://[^/?;]*/([^/?;]+)", re.IGNORECASE)


def dataset_name(stage: StageSpec, project_root: Path) -> DatasetName | None:
    """The dataset ``stage`` (a source or sink) reads or writes, or None when it has no name offline."""
    options = stage.options
    if "path" in options:
        return _file_name(_one(options["path"]), project_root)
    url = options.get("url")
    if isinstance(url, str) and url.lower().startswith("jdbc:"):
        return _table_name(url, options.get("table"))
    if "bootstrap_servers" in options:
        return _topic_name(options["bootstrap_servers"], _one(options.get("topic") or options.get("topics")))
    if stage.type == "mongodb":
        return _collection_name(options.get("uri"), options.get("database"), options.get("collection"))
    if stage.type == "opensearch":
        return _index_name(options.get("url"), options.get("index"))
    return None


def _index_name(url: Any, index: Any) -> DatasetName | None:
    """OpenSearch: ``opensearch://host:port`` (port 9200 when not written), the index."""
    if not isinstance(url, str) or not isinstance(index, str) or _resolved(url) is None or _resolved(index) is None:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return DatasetName(f"opensearch://{parts.hostname}:{parts.port or 9200}", index)


def _collection_name(uri: Any, database: Any, collection: Any) -> DatasetName | None:
    """MongoDB: ``mongodb://host:port`` of the first host, ``database.collection``."""
    texts = [value if isinstance(value, str) else None for value in (uri, database, collection)]
    if any(_resolved(text) is None for text in texts):
        return None
    server = mongodb_server(str(texts[0]))
    return None if server is None else DatasetName(server, f"{texts[1]}.{texts[2]}")


def _one(value: Any) -> str | None:
    """A single string option, or the only item of a list of them; None for anything else."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(value) == 1 and isinstance(value[0], str) else None
    return value if isinstance(value, str) else None


def _resolved(value: str | None) -> str | None:
    """``value`` unless it still holds a reference only the run resolves."""
    return None if value is None or "${" in value else value


def _file_name(path: str | None, project_root: Path) -> DatasetName | None:
    path = _resolved(path)
    if path is None:
        return None
    where = resolve_path(path, project_root)
    if where.startswith("file:"):
        return DatasetName("file", _normal(urlsplit(where).path or "/"))
    if "://" not in where:
        return DatasetName("file", _normal(where))
    parts = urlsplit(where)
    if parts.scheme.lower() in _S3_SCHEMES:
        return DatasetName(f"s3://{parts.netloc}", parts.path.lstrip("/").rstrip("/"))
    if parts.scheme.lower() == "gs":  # OpenLineage names GCS objects like S3 ones: gs://bucket, key
        return DatasetName(f"gs://{parts.netloc}", parts.path.lstrip("/").rstrip("/"))
    return DatasetName(f"{parts.scheme.lower()}://{parts.netloc}", _normal(parts.path or "/"))


def _normal(path: str) -> str:
    """An absolute path without ``.``, ``..``, doubled or trailing slashes (symlinks are not followed)."""
    return os.path.normpath(os.path.abspath(path))


def _table_name(url: str, table: Any) -> DatasetName | None:
    if _resolved(url) is None or not isinstance(table, str) or _resolved(table) is None:
        return None
    dialect = dialect_for(url)
    servers, database = endpoints(url), _JDBC_DATABASE.match(url.strip())
    if dialect not in (POSTGRESQL, MYSQL, MARIADB) or not servers or database is None:
        return None
    try:
        parsed = TableName.parse(table)
    except ValueError:
        return None
    name = parsed.name.stored(dialect)
    if dialect is POSTGRESQL:
        schema = parsed.namespace.stored(dialect) if parsed.namespace else "public"
        return DatasetName(f"postgres://{servers[0]}", f"{database.group(1)}.{schema}.{name}")
    owner = parsed.namespace.stored(dialect) if parsed.namespace else database.group(1)
    return DatasetName(f"mysql://{servers[0]}", f"{owner}.{name}")


def _topic_name(servers: Any, topic: str | None) -> DatasetName | None:
    first = _first_server(servers)
    topic = _resolved(topic)
    if first is None or topic is None:
        return None
    return DatasetName(f"kafka://{first}", topic)


def _first_server(servers: Any) -> str | None:
    text = ",".join(servers) if isinstance(servers, (list, tuple)) else servers
    if not isinstance(text, str) or _resolved(text) is None:
        return None
    first = text.split(",")[0].strip()
    return first or None


__all__ = ["DatasetName", "dataset_name"]
