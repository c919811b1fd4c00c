"""What the Kafka source and sink share: the broker list, client settings passed through to the
Kafka client (security settings, with secrets resolved at run time) and Spark's Kafka connector.

Both plug-ins run on Spark's own connector (``spark-sql-kafka-0-10``), declared as a Maven
coordinate. Its version follows the installed pyspark's major.minor line: every patch release
of a Spark line is binary compatible with the connector of that line, so the connector is the
release of that line chosen in :data:`CONNECTOR_FOR_LINE` (for 4.1: 4.1.3, the first whose
micro-batch source survives a restart after a kill, SPARK-55271; ``scripts/fetch-jars.sh``
pins its ``spark-token-provider-kafka-0-10`` to 4.1.1, the newest the registries we reach
serve), else the line's ``.0``. ``ETL_SPARK_KAFKA_VERSION`` chooses another version;
``scripts/fetch-jars.sh`` reads the same variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec
from etl_cli.plugins.spark_session import release_for_line
from etl_cli.plugins.spark_types import SCALAR_TYPES

CONNECTOR_ARTIFACT = "org.apache.spark:spark-sql-kafka-0-10_2.13"
VERSION_VARIABLE = "ETL_SPARK_KAFKA_VERSION"
#: per Spark line, the connector release to use; a line not listed uses its .0 release. 4.1.1 and 4.1.2 fail a
#: query restarted after a kill (SPARK-55271: a NullPointerException in the source's progress metrics)
CONNECTOR_FOR_LINE = {"4.0": "4.0.0", "4.1": "4.1.3"}


def connector_version(environ: Mapping[str, str] | None = None) -> str:
    """The connector version: ``$ETL_SPARK_KAFKA_VERSION``, else the one for the installed pyspark's line."""
    return release_for_line(VERSION_VARIABLE, CONNECTOR_FOR_LINE, environ)


def connector_package() -> str:
    """The Maven coordinate of Spark's Kafka connector for this installation."""
    return f"{CONNECTOR_ARTIFACT}:{connector_version()}"


BOOTSTRAP_SERVERS = {
    "type": ["string", "array"],
    "minLength": 1,
    "items": {"type": "string", "minLength": 1},
    "minItems": 1,
    "description": 'Brokers to connect to first: "host:port,host:port" or a list of host:port.',
}

CLIENT_OPTIONS = {
    "type": "object",
    "additionalProperties": {"type": SCALAR_TYPES},
    "description": "Options passed to Spark's Kafka connector: kafka.* settings go to the Kafka client "
    "(kafka.security.protocol, kafka.sasl.mechanism, kafka.sasl.jaas.config, kafka.ssl.*), others to the "
    "connector itself. Values may be ${secret:...} references; they are resolved when the run starts.",
}


def bootstrap_text(value: str | list[str] | tuple[str, ...]) -> str:
    """The broker list as the comma-separated text Kafka takes."""
    return value if isinstance(value, str) else ",".join(value)


def reserved_option_problems(options: Mapping[str, Any], reserved: Mapping[str, str]) -> list[OptionProblem]:
    """Entries of ``options`` that a key of the stage sets (``reserved``: connector option → key).

    Spark's Kafka options are case-insensitive, so ``Subscribe`` is refused like ``subscribe``.
    """
    passed = options.get("options")
    if not isinstance(passed, Mapping):
        return []
    wanted = {name.lower(): key for name, key in reserved.items()}
    return [
        OptionProblem(("options", name), f"set {wanted[str(name).lower()]} instead of options.{name}")
        for name in passed
        if str(name).lower() in wanted
    ]


def connection_options(ctx: RunContext, stage: StageSpec) -> dict[str, str]:
    """``kafka.bootstrap.servers`` and the stage's ``options``, secrets resolved, as strings."""
    resolved = ctx.resolve(dict(stage.option("options") or {}))
    settings = {str(name): _text(value) for name, value in resolved.items()}
    servers = stage.options["bootstrap_servers"]
    listed = [servers] if isinstance(servers, str) else list(servers)
    settings["kafka.bootstrap.servers"] = bootstrap_text([ctx.resolve(server) for server in listed])
    return settings


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
