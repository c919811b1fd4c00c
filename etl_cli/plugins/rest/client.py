"""HTTP for the REST source and sink: one request at a time, retried, rate-limited, authenticated.

The standard library's ``urllib`` does the HTTP (no dependency); what this module adds:

- **Rate limit per host.** Every request first takes a token from its host's
  :class:`TokenBucket` (``rate_limit.requests_per_second``, ``rate_limit.burst``), shared by all
  stages and threads of the process that talk to that host (the strictest settings win). A
  ``429 Too Many Requests`` pauses the whole host's bucket for ``Retry-After`` seconds (a number
  or an HTTP date; without one, the retry back-off), then the same request is sent again, up to
  ``rate_limit.max_retries`` times; a ``Retry-After`` longer than ``rate_limit.max_retry_after``
  fails at once.
- **Retries.** Connection errors, timeouts and the statuses 408, 500, 502, 503 and 504 are
  retried per request with the stage's retry policy (:class:`~etl_cli.plugins.api.RetryPolicy`:
  its ``retry:`` block over the pipeline's, the runtime's own settings; a 503's ``Retry-After``
  is honoured as a floor). Once they are used up the error says so and is marked not retryable,
  so the run does not start the whole stage over (requests already sent are not sent again); the
  endpoint's circuit breaker still counts it. Other statuses are not retried.
- **Authentication.** The :class:`~etl_cli.plugins.rest.auth.Auth` adds its header or query
  parameter to each request; a ``401`` makes a refreshable one (OAuth2) fetch a new token and send
  the request once more.

Error messages name the URL without its query string, which may hold an API key.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError
from etl_cli.plugins.api import RetryPolicy

if TYPE_CHECKING:
    import urllib.request  # imported where requests are made: `validate` loads this module, and no HTTP client

    from etl_cli.plugins.rest.auth import Auth

#: statuses worth another try of the same request
TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RateLimit:
    """The ``rate_limit:`` block. ``requests_per_second`` None: no pacing, but 429s are still honoured."""

    requests_per_second: float | None = None
    burst: int = 1
    max_retries: int = 10
    max_retry_after: float = 600.0

    @classmethod
    def of(cls, block: Mapping[str, Any] | None) -> RateLimit:
        names = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in (block or {}).items() if k in names})


class TokenBucket:
    """``rate`` requests a second on average, up to ``burst`` at once; :meth:`pause` stops everyone for a while.

    Thread-safe; the clock and the sleep are injectable so the timing can be tested without waiting.
    """

    def __init__(
        self,
        rate: float | None,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self.sleep = sleep
        self._tokens = float(self.burst)
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def tighten(self, rate: float | None, burst: int) -> None:
        """Adopt the stricter of the current and the given settings (two stages pacing one host)."""
        with self._lock:
            if rate is not None and (self.rate is None or rate < self.rate):
                self.rate = rate
            self.burst = max(1, min(self.burst, burst)) if rate is not None else self.burst
            self._tokens = min(self._tokens, float(self.burst))

    def acquire(self) -> float:
        """Wait until a request may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif self.rate is None:
                    return waited
                else:
                    self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
                    self._updated = now
                    if self._tokens >= 1.0:
                        self._tokens -= 1.0
                        return waited
                    wait = (1.0 - self._tokens) / self.rate
            self.sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """No request to this host for ``seconds`` (a 429's Retry-After); the bucket starts empty afterwards."""
        with self._lock:
            until = self.clock() + max(0.0, seconds)
            if until > self._paused_until:
                self._paused_until = until
                self._tokens = 0.0
                self._updated = until


_BUCKETS: dict[str, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(host: str, limit: RateLimit) -> TokenBucket:
    """The process's token bucket of ``host`` (``scheme://host:port``), tightened to ``limit``."""
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(host)
        if bucket is None:
            bucket = _BUCKETS[host] = TokenBucket(limit.requests_per_second, limit.burst)
        else:
            bucket.tighten(limit.requests_per_second, limit.burst)
        return bucket


def host_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the rate limit's and the circuit breaker's key; no credentials)."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def safe_url(url: str) -> str:
    """``url`` without its query string and user info, for messages (a query may hold an API key)."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit((parts.scheme, f"{parts.hostname or ''}{port}", parts.path, "", ""))


def with_params(url: str, params: Params) -> str:
    """``url`` with ``params`` added to (or replacing the same names in) its query string."""
    if not params:
        return url
    parts = urllib.parse.urlsplit(url)
    replaced = {name for name, _ in params}
    kept = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k not in replaced]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode([*kept, *params])))


@dataclass(frozen=True)
class Response:
    """One HTTP response, read whole."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as exc:
            raise RunError(
                f"{safe_url(self.url)} answered {self.status} with a body that is not JSON: {exc}",
                hint="check the url: REST stages read and write JSON",
            ) from None

    def excerpt(self, limit: int = 200) -> str:
        text = self.body.decode("utf-8", errors="replace").strip().replace("\n", " ")
        return text if len(text) <= limit else text[: limit - 3] + "..."


class HttpError(RunError):
    """A request failed: a status that is not retried, or retries used up (``retryable`` is then False)."""

    def __init__(self, message: str, status: int | None = None, *, retryable: bool = False, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.retryable = retryable


def retry_after(response: Response, clock: Callable[[], float] = time.time) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date); None without one."""
    value = response.header("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock())


Transport = Callable[["urllib.request.Request", float], Response]


def urllib_transport(request: urllib.request.Request, timeout: float) -> Response:
    """Send ``request`` with urllib; any status comes back as a :class:`Response` (redirects are followed)."""
    import urllib.request

    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            headers = {k.lower(): v for k, v in reply.headers.items()}
            return Response(reply.status, headers, reply.read(), reply.geturl())
    except urllib.error.HTTPError as exc:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        body = exc.read() if exc.fp is not None else b""
        return Response(exc.code, headers, body, exc.geturl() or request.full_url)


@dataclass
class RequestCounters:
    """What a client did (the stage's run details)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    waited_s: float = 0.0
    token_refreshes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "rate_limit_wait_s": round(self.waited_s, 3),
            "token_refreshes": self.token_refreshes,
        }


class HttpClient:
    """Requests to one API: headers, authentication, the host's rate limit and the stage's retries."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        bucket: Callable[[str], TokenBucket] | None = None,
        transport: Transport = urllib_transport,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ):
        self.headers = dict(headers or {})
        self.auth = auth
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.rate_limit = rate_limit or RateLimit()
        self._bucket = bucket or (lambda host: bucket_for(host, self.rate_limit))
        self.transport = transport
        self.sleep = sleep
        self.rand = rand
        self.counters = RequestCounters()

    def get(self, url: str, params: Params = ()) -> Response:
        return self.request("GET", url, params)

    def request(
        self, method: str, url: str, params: Params = (), body: Any = None, *, json_body: bool = True
    ) -> Response:
        """Send one request until it succeeds (2xx), or raise :class:`HttpError`."""
        bucket = self._bucket(host_of(url))
        failures = throttled = 0
        refreshed = False
        while True:
            self.counters.add(waited_s=bucket.acquire())
            request = self._prepare(method, url, params, body, json_body)
            self.counters.add(requests=1)
            try:
                response = self.transport(request, self.timeout)
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                failures += 1
                self._after_failure(method, url, failures, f"{type(reason).__name__}: {reason}", None, None)
                continue
            status = response.status
            if 200 <= status < 300:
                return response
            if status == 429:
                throttled += 1
                wait = retry_after(response)
                limit = self.rate_limit
                if throttled > limit.max_retries or (wait is not None and wait > limit.max_retry_after):
                    raise HttpError(
                        f"{method} {safe_url(url)}: 429 Too Many Requests {throttled} time(s)"
                        + (f"; Retry-After {wait:.0f}s exceeds rate_limit.max_retry_after" if wait else ""),
                        429,
                        hint="lower rate_limit.requests_per_second, or raise rate_limit.max_retries",
                    )
                self.counters.add(throttled=1)
                bucket.pause(wait if wait is not None else self.retry.delay(throttled, self.rand))
                continue
            if status == 401 and self.auth is not None and self.auth.refreshable and not refreshed:
                refreshed = True
                self.auth.invalidate()
                self.counters.add(token_refreshes=1)
                continue
            if status in TRANSIENT_STATUSES:
                failures += 1
                self._after_failure(method, url, failures, _status_text(response), response, retry_after(response))
                continue
            raise status_error(method, url, response)

    def _prepare(self, method: str, url: str, params: Params, body: Any, json_body: bool) -> urllib.request.Request:
        import urllib.request

        headers = {"Accept": "application/json", "User-Agent": "etl-cli", **self.headers}
        query = list(params)
        if self.auth is not None:
            self.auth.apply(headers, query)
        data: bytes | None = None
        if body is not None:
            if json_body:
                data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
                headers.setdefault("Content-Type", "application/json")
            else:
                data = urllib.parse.urlencode(body).encode("ascii")
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.request.Request(with_params(url, query), data=data, headers=headers, method=method)

    def _after_failure(
        self, method: str, url: str, failures: int, what: str, response: Response | None, floor: float | None
    ) -> None:
        """Sleep before the next try of a transient failure, or raise once the attempts are used up."""
        if failures >= self.retry.attempts:
            detail = f" ({response.excerpt()})" if response is not None and response.body else ""
            raise HttpError(
                f"{method} {safe_url(url)} failed {failures} time(s); last error: {what}{detail}",
                response.status if response is not None else None,
                hint="the stage's retry: block sets the attempts and back-off of each request",
            )
        self.counters.add(retries=1)
        delay = self.retry.delay(failures, self.rand)
        self.sleep(max(delay, min(floor, self.retry.max_delay)) if floor is not None else delay)


def _status_text(response: Response) -> str:
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "HTTP error"
    return f"{response.status} {phrase}"


def status_error(method: str, url: str, response: Response) -> HttpError:
    """The error of a status that is not retried (4xx...), with the start of the body."""
    detail = f": {response.excerpt()}" if response.body else ""
    hint = None
    if response.status in (401, 403):
        hint = "check the stage's auth: settings and the secret they name"
    elif response.status == 404:
        hint = "check the url"
    return HttpError(f"{method} {safe_url(url)} answered {_status_text(response)}{detail}", response.status, hint=hint)
