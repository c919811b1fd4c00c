"""The options the REST source and sink share, their checks, and the client they build at run time."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from etl_cli.plugins.api import OptionProblem, RetryPolicy, StageSpec
from etl_cli.plugins.rest.auth import AUTH_SCHEMA, auth_from_options, auth_problems
from etl_cli.plugins.rest.client import HttpClient, HttpError, RateLimit, host_of

URL_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "The endpoint: an http:// or https:// URL (credentials go in auth:, not in the URL).",
}
HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "HTTP headers of every request; values take ${secret:...}.",
}
RATE_LIMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Pacing of requests to the URL's host (a token bucket per host, shared by the run's stages). "
    "A 429 answer always pauses the host for its Retry-After.",
    "properties": {
        "requests_per_second": {"type": "number", "exclusiveMinimum": 0, "description": "Average request rate."},
        "burst": {"type": "integer", "minimum": 1, "default": 1, "description": "Requests that may go at once."},
        "max_retries": {
            "type": "integer",
            "minimum": 0,
            "default": 10,
            "description": "429 answers one request may get before the stage fails.",
        },
        "max_retry_after": {
            "type": "number",
            "minimum": 0,
            "default": 600,
            "description": "Longest Retry-After (seconds) waited for; a longer one fails the stage at once.",
        },
    },
}
TIMEOUT_SCHEMA: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "default": 30,
    "description": "Seconds to wait for a connection or an answer before the request counts as failed (retried).",
}
CONNECTION_SCHEMA: dict[str, Any] = {
    "url": URL_SCHEMA,
    "headers": HEADERS_SCHEMA,
    "auth": AUTH_SCHEMA,
    "rate_limit": RATE_LIMIT_SCHEMA,
    "timeout": TIMEOUT_SCHEMA,
}


def connection_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    problems = auth_problems(options.get("auth"))
    url = options.get("url")
    if isinstance(url, str) and "${" not in url:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(OptionProblem(("url",), f"{url!r} is not an http:// or https:// URL"))
        elif parts.username or parts.password:
            problems.append(
                OptionProblem(("url",), "credentials in the URL would be logged", hint="use auth: {type: basic, ...}")
            )
    headers = options.get("headers")
    if isinstance(headers, Mapping) and "authorization" in {str(k).lower() for k in headers} and "auth" in options:
        problems.append(OptionProblem(("headers",), "give the Authorization header or auth:, not both"))
    return problems


def endpoint(stage: StageSpec) -> str | None:
    url = stage.option("url")
    return host_of(url) if isinstance(url, str) else None


def build_client(
    options: Mapping[str, Any], resolve: Callable[[Any], Any], retry: RetryPolicy | None = None, **overrides: Any
) -> HttpClient:
    """The stage's client, its secrets resolved now (``overrides``: a transport, a sleep... for tests).

    ``retry``: the stage's policy as the run gives it (:attr:`RunContext.retry_for`: its ``retry:``
    over the pipeline's); without it, the stage's ``retry:`` over the defaults.
    """
    retry = retry if retry is not None else RetryPolicy().over(options.get("retry"))
    rate_limit = RateLimit.of(options.get("rate_limit"))
    timeout = float(options.get("timeout", 30))
    headers = {str(k): str(resolve(v)) for k, v in (options.get("headers") or {}).items()}
    shared = {"timeout": timeout, "retry": retry, "rate_limit": rate_limit, **overrides}
    token_client = HttpClient(**shared)
    auth = auth_from_options(options.get("auth"), resolve, token_client)
    client = HttpClient(headers=headers, auth=auth, **shared)
    token_client.counters = client.counters
    return client


def is_auth_failure(exc: BaseException) -> bool:
    """A refused login: the run re-reads the stage's secrets once (rotation) and tries again."""
    return isinstance(exc, HttpError) and exc.status in (401, 403)
