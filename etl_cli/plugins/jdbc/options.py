"""Options the JDBC source and sink share: connection and driver properties; and their checks.

Retries are the run's (the ``retry:`` block every source and sink takes, see
:mod:`etl_cli.runtime.safeguards.resilience`): a server that cannot be reached raises
:class:`~etl_cli.plugins.jdbc.connection.ServerUnreachable`, which the run retries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem
from etl_cli.plugins.jdbc.dialects import (
    Dialect,
    dialect_for,
    driver_for,
    endpoints,
    package_for,
    spark_url,
    subprotocol,
)
from etl_cli.plugins.spark_types import scalar_map

CONNECTION_SCHEMA: dict[str, Any] = {
    "url": {
        "type": "string",
        "minLength": 1,
        "pattern": "^(jdbc:|\\$\\{)",
        "description": "JDBC URL: jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db, "
        "jdbc:mariadb://host:3306/db. Other databases work with an explicit driver (and its jar in "
        "spark.packages or spark.jars).",
    },
    "user": {"type": "string", "minLength": 1, "description": "Database user (a ${secret:...} reference works)."},
    "password": {
        "type": "string",
        "description": "Password; write a reference (${secret:provider:path#key} or ${secret:env:VAR}), "
        "never the value.",
    },
    "driver": {
        "type": "string",
        "minLength": 1,
        "description": "JDBC driver class; inferred from the URL for PostgreSQL, MySQL and MariaDB.",
    },
    "properties": scalar_map(
        "JDBC connection properties for the driver, e.g. {sslmode: require} or {connectTimeout: 5} "
        "(given to Spark and to the connections etl-cli opens itself)."
    ),
}

#: Spark JDBC options a key of the stage already sets: refused inside ``properties``
MANAGED_PROPERTIES = {
    "url": "url",
    "user": "user",
    "password": "password",
    "driver": "driver",
    "dbtable": "table",
    "query": "query",
    "partitionColumn": "partition_column",
    "lowerBound": "lower_bound",
    "upperBound": "upper_bound",
    "numPartitions": "num_partitions",
    "fetchsize": "fetch_size",
    "batchsize": "batch_size",
}


@dataclass(frozen=True)
class ConnectionSettings:
    """A stage's connection settings, credentials resolved (never printed: ``repr`` hides them)."""

    url: str
    driver: str
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    properties: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def dialect(self) -> Dialect:
        return dialect_for(self.url)

    @property
    def spark_url(self) -> str:
        return spark_url(self.url)

    @property
    def where(self) -> str:
        """``host:port`` of the server(s), for messages."""
        found = endpoints(self.url)
        return ", ".join(found) if found else "the server of the JDBC URL"

    def driver_properties(self) -> dict[str, str]:
        """Everything the driver receives: the stage's properties plus user and password."""
        props = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.properties.items()}
        if self.user is not None:
            props["user"] = self.user
        if self.password is not None:
            props["password"] = self.password
        return props

    def spark_options(self) -> dict[str, str]:
        return {"url": self.spark_url, "driver": self.driver, **self.driver_properties()}

    def scrub(self, text: str) -> str:
        """``text`` with the password masked (drivers do not echo it, but a URL or a property might)."""
        if self.password:
            text = text.replace(self.password, "********")
        return text


def connection_settings(options: Mapping[str, Any], resolve: Callable[[Any], Any]) -> ConnectionSettings:
    """The stage's connection settings with every reference resolved through ``resolve``."""
    url = str(resolve(options["url"]))
    driver = driver_for(url, resolve(options.get("driver")))
    if driver is None:
        raise ConfigError(
            f"no JDBC driver known for '{subprotocol(url) or url}' URLs",
            hint="set driver: to the driver class, and put its jar in spark.packages or spark.jars",
        )
    user = options.get("user")
    password = options.get("password")
    return ConnectionSettings(
        url=url,
        driver=str(driver),
        user=None if user is None else str(resolve(user)),
        password=None if password is None else str(resolve(password)),
        properties=dict(resolve(dict(options.get("properties") or {}))),
    )


def driver_packages(options: Mapping[str, Any]) -> tuple[str, ...]:
    """The Maven coordinates of the stage's JDBC driver for ``spark.packages``: none when etl-cli does not know
    them (the user adds the jar) or the URL is a reference resolved only at run time."""
    url = options.get("url")
    package = package_for(url, options.get("driver")) if isinstance(url, str) else None
    return (package,) if package else ()


def connection_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """URL and driver problems found without connecting (a URL given as a reference is not checked)."""
    problems = []
    url = options.get("url")
    if isinstance(url, str) and "${" not in url:
        sub = subprotocol(url)
        if sub is None:
            problems.append(OptionProblem(("url",), f"'{url}' is not a JDBC URL", hint="write jdbc:postgresql://..."))
        elif dialect_for(url).driver is None and not options.get("driver"):
            problems.append(
                OptionProblem(
                    ("url",),
                    f"etl-cli knows no driver for '{sub}' URLs",
                    hint="set driver: to the driver class and add its jar (spark.packages or spark.jars)",
                )
            )
    properties = options.get("properties")
    if isinstance(properties, Mapping):
        lowered = {str(k).lower(): k for k in properties}
        for option, key in MANAGED_PROPERTIES.items():
            if option.lower() in lowered:
                problems.append(
                    OptionProblem(
                        ("properties", lowered[option.lower()]), f"set '{key}' instead of properties.{option}"
                    )
                )
    return problems
