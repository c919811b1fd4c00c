"""What the Redis source and sink share: the connection options and the client built from them.

Both talk to Redis with the redis-py client (the optional extra ``redis``), on Spark's
executors: the driver resolves the URL and the password (``${secret:...}``) once, and each
partition opens its own client with them. The client retries a command that failed to
reach the server (a refused connection, a time-out) with exponential backoff; the run's
retry policy and circuit breaker wrap each stage above that (docs/retries.md).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem, RunContext, StageSpec

DEFAULT_PORT = 6379

CONNECTION_SCHEMA: dict[str, Any] = {
    "url": {
        "type": "string",
        "pattern": "^(rediss?://|\\$\\{)",
        "description": "The server: redis://host:port/db (rediss:// for TLS). May be a ${secret:...} reference; "
        "keep the password out of it and in `password`.",
    },
    "username": {"type": "string", "minLength": 1, "description": "The ACL user (Redis 6+); default: none."},
    "password": {"type": "string", "minLength": 1, "description": "The password: a ${secret:...} reference."},
    "retries": {
        "type": "integer",
        "minimum": 0,
        "maximum": 20,
        "default": 3,
        "description": "How many times the client retries a command that could not reach the server (connection "
        "refused or reset, time-out), with exponential backoff; errors the server answers are not retried.",
    },
    "timeout_seconds": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 10,
        "description": "Connect and read time-out of each command.",
    },
    "batch_size": {
        "type": "integer",
        "minimum": 1,
        "maximum": 100000,
        "default": 500,
        "description": "Commands sent in one round trip (a pipeline).",
    },
}


@dataclass(frozen=True)
class Connection:
    """The settings each executor builds its client from (resolved: they hold the password; never printed)."""

    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    retries: int = 3
    timeout: float = 10.0

    def client(self) -> Any:
        """A redis-py client for these settings, retrying connection errors and time-outs."""
        try:
            import redis
            from redis.backoff import ExponentialBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - the extra is installed where redis stages run
            raise RunError("the redis source and sink need the redis package: pip install 'etl-cli[redis]'") from exc
        return redis.Redis.from_url(
            self.url,
            username=self.username,
            password=self.password,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), self.retries),
            retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
            decode_responses=False,
        )


def connection(ctx: RunContext, stage: StageSpec) -> Connection:
    """The stage's connection settings, secrets resolved."""
    username, password = stage.option("username"), stage.option("password")
    return Connection(
        url=str(ctx.resolve(stage.options["url"])),
        username=None if username is None else str(ctx.resolve(username)),
        password=None if password is None else str(ctx.resolve(password)),
        retries=int(stage.option("retries", 3)),
        timeout=float(stage.option("timeout_seconds", 10)),
    )


def server_of(url: str) -> str | None:
    """``redis://host:port`` of a URL, without credentials or database (None for a ``${...}`` reference)."""
    if "${" in url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.hostname}:{parts.port or DEFAULT_PORT}"


def database_of(url: str) -> int:
    """The database number of a Redis URL (0 when it names none)."""
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def url_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """A URL written with a password in it (it belongs in ``password``, as a secret)."""
    url = options.get("url")
    if isinstance(url, str) and "${" not in url and urlsplit(url).password:
        return [OptionProblem(("url",), "the URL holds a password", "put it in `password` as a ${secret:...}")]
    return []


# ---------------------------------------------------------------------------------------------- key templates


def template_columns(template: str) -> list[str]:
    """The columns a key template names (``customer:{id}`` → ``[id]``); ``{{`` and ``}}`` are literal braces.

    Raises ValueError on a malformed template (an unclosed brace, a format spec or conversion).
    """
    columns = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name or spec or conversion:
            raise ValueError("write each column as {name}, without a format or conversion")
        columns.append(name)
    return columns


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """The template as (literal text, column or None) pairs, in order."""
    return [(literal, name) for literal, name, _, _ in string.Formatter().parse(template)]


def template_problems(options: Mapping[str, Any], key: str) -> list[OptionProblem]:
    template = options.get(key)
    if not isinstance(template, str):
        return []
    try:
        template_columns(template)
    except ValueError as exc:
        return [OptionProblem((key,), f"invalid key template: {exc}", 'e.g. "customer:{id}"')]
    return []
