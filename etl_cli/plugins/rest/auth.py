"""Authentication of REST requests, from the stage's ``auth:`` block, its credentials from secrets.

``auth.type`` is one of:

- ``bearer``: ``Authorization: Bearer <token>``;
- ``basic``: ``Authorization: Basic base64(<username>:<password>)``;
- ``api_key``: the key ``api_key`` in the header (``location: header``, the default) or the query
  parameter (``location: query``) called ``name``;
- ``oauth2_client_credentials``: a token fetched from ``token_url`` with the client credentials
  grant (RFC 6749 §4.4: ``client_id`` and ``client_secret`` in the form body, or as HTTP Basic with
  ``client_auth: basic``; optional ``scope`` and ``audience``), sent as a bearer token, fetched
  again shortly before ``expires_in`` runs out and whenever the API answers 401.

Credential fields accept ``${secret:...}`` references (resolved when the stage runs, never
printed); the token endpoint's answer is never logged.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem
from etl_cli.plugins.rest.client import HttpClient, HttpError, safe_url

AUTH_TYPES = ("bearer", "basic", "api_key", "oauth2_client_credentials")
#: the keys each type needs, and the ones it may take
_REQUIRED: dict[str, tuple[str, ...]] = {
    "bearer": ("token",),
    "basic": ("username", "password"),
    "api_key": ("name", "api_key"),
    "oauth2_client_credentials": ("token_url", "client_id", "client_secret"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "api_key": ("location",),
    "oauth2_client_credentials": ("scope", "audience", "client_auth", "refresh_margin"),
}
_TEXT = {"type": "string", "minLength": 1}

AUTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "description": "How requests authenticate (docs/connectors/rest.md). Credential fields take ${secret:...}.",
    "properties": {
        "type": {"enum": list(AUTH_TYPES), "description": "bearer, basic, api_key or oauth2_client_credentials."},
        "token": {**_TEXT, "description": "bearer: the token."},
        "username": {**_TEXT, "description": "basic: the user name."},
        "password": {**_TEXT, "description": "basic: the password."},
        "name": {**_TEXT, "description": "api_key: the header or query parameter that carries the key."},
        "api_key": {**_TEXT, "description": "api_key: the key."},
        "location": {"enum": ["header", "query"], "default": "header", "description": "api_key: where it goes."},
        "token_url": {**_TEXT, "description": "oauth2_client_credentials: the token endpoint."},
        "client_id": {**_TEXT, "description": "oauth2_client_credentials: the client id."},
        "client_secret": {**_TEXT, "description": "oauth2_client_credentials: the client secret."},
        "scope": {**_TEXT, "description": "oauth2_client_credentials: the scope asked for."},
        "audience": {**_TEXT, "description": "oauth2_client_credentials: the audience asked for (Auth0 and others)."},
        "client_auth": {
            "enum": ["body", "basic"],
            "default": "body",
            "description": "oauth2_client_credentials: send the client credentials in the form body or as HTTP Basic.",
        },
        "refresh_margin": {
            "type": "number",
            "minimum": 0,
            "default": 30,
            "description": "oauth2_client_credentials: seconds before expires_in runs out when a new token is fetched.",
        },
    },
}


def auth_problems(block: Any) -> list[OptionProblem]:
    """Keys missing for the chosen ``auth.type``, or set but meaningless for it."""
    if not isinstance(block, Mapping) or block.get("type") not in _REQUIRED:
        return []
    kind = str(block["type"])
    problems = [
        OptionProblem(("auth",), f"auth type {kind} needs {key}") for key in _REQUIRED[kind] if key not in block
    ]
    allowed = {"type", *_REQUIRED[kind], *_OPTIONAL.get(kind, ())}
    problems += [
        OptionProblem(("auth", key), f"{key} does not apply to auth type {kind}") for key in block if key not in allowed
    ]
    return problems


class Auth:
    """Adds credentials to a request's headers or query."""

    #: whether a 401 is worth fetching new credentials for (:meth:`invalidate`) and trying once more
    refreshable: bool = False

    def apply(self, headers: dict[str, str], params: list[tuple[str, str]]) -> None:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget cached credentials (a token the API no longer accepts)."""


class HeaderAuth(Auth):
    """One fixed header: bearer, basic, or an API key in a header."""

    def __init__(self, name: str, value: str):
        self._name = name
        self._value = value

    def __repr__(self) -> str:
        return f"HeaderAuth({self._name!r}, '***')"

    def apply(self, headers: dict[str, str], params: list[tuple[str, str]]) -> None:
        headers[self._name] = self._value


class QueryAuth(Auth):
    """An API key in a query parameter."""

    def __init__(self, name: str, value: str):
        self._name = name
        self._value = value

    def __repr__(self) -> str:
        return f"QueryAuth({self._name!r}, '***')"

    def apply(self, headers: dict[str, str], params: list[tuple[str, str]]) -> None:
        params.append((self._name, self._value))


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class OAuth2ClientCredentials(Auth):
    """A bearer token from the client credentials grant, kept until shortly before it expires."""

    refreshable = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        audience: str | None = None,
        client_auth: str = "body",
        refresh_margin: float = 30.0,
        client: HttpClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.audience = audience
        self.client_auth = client_auth
        self.refresh_margin = refresh_margin
        self.client = client or HttpClient()
        self.clock = clock
        self._token: str | None = None
        self._expires_at: float | None = None
        self._lock = threading.Lock()
        #: how many tokens were fetched (tests and the run details)
        self.fetched = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials({safe_url(self.token_url)!r})"

    def apply(self, headers: dict[str, str], params: list[tuple[str, str]]) -> None:
        headers["Authorization"] = f"Bearer {self.token()}"

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def token(self) -> str:
        with self._lock:
            fresh = self._expires_at is None or self.clock() < self._expires_at - self.refresh_margin
            if self._token is None or not fresh:
                self._token, lifetime = self._fetch()
                self._expires_at = None if lifetime is None else self.clock() + lifetime
            return self._token

    def _fetch(self) -> tuple[str, float | None]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        client = self.client
        if self.client_auth == "basic":
            client = _with_header(client, "Authorization", basic_header(self._client_id, self._client_secret))
        else:
            form.update(client_id=self._client_id, client_secret=self._client_secret)
        try:
            response = client.request("POST", self.token_url, body=form, json_body=False)
        except HttpError as exc:
            raise HttpError(
                f"fetching an OAuth2 token failed: {exc.message}",
                exc.status,
                hint="check auth.token_url, auth.client_id and the secret auth.client_secret names",
            ) from None
        answer = response.json()
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise RunError(f"the token endpoint {safe_url(self.token_url)} answered without an access_token")
        self.fetched += 1
        lifetime = answer.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, (int, float, str)) and _number(lifetime) else None


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _with_header(client: HttpClient, name: str, value: str) -> HttpClient:
    copy = HttpClient(
        headers={**client.headers, name: value},
        timeout=client.timeout,
        retry=client.retry,
        rate_limit=client.rate_limit,
        bucket=client._bucket,
        transport=client.transport,
        sleep=client.sleep,
        rand=client.rand,
    )
    copy.counters = client.counters
    return copy


def auth_from_options(
    block: Mapping[str, Any] | None,
    resolve: Callable[[Any], Any],
    token_client: HttpClient | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Auth | None:
    """The :class:`Auth` of an ``auth:`` block, its credential fields resolved (``${secret:...}``) now."""
    if not block:
        return None

    def text(key: str) -> str:
        return str(resolve(block[key]))

    kind = block["type"]
    if kind == "bearer":
        return HeaderAuth("Authorization", f"Bearer {text('token')}")
    if kind == "basic":
        return HeaderAuth("Authorization", basic_header(text("username"), text("password")))
    if kind == "api_key":
        if block.get("location", "header") == "query":
            return QueryAuth(str(block["name"]), text("api_key"))
        return HeaderAuth(str(block["name"]), text("api_key"))
    if kind == "oauth2_client_credentials":
        return OAuth2ClientCredentials(
            text("token_url"),
            text("client_id"),
            text("client_secret"),
            scope=block.get("scope"),
            audience=block.get("audience"),
            client_auth=str(block.get("client_auth", "body")),
            refresh_margin=float(block.get("refresh_margin", 30)),
            client=token_client,
            clock=clock,
        )
    raise RunError(f"unknown auth type {kind!r}")
