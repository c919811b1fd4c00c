"""Retries with backoff and a circuit breaker around every operation that talks to another system.

- :func:`classify` sorts an error into *transient* (connection refused, timeout, broker
  unavailable: worth another try) or *permanent* (authentication, missing table, schema
  mismatch, bad SQL, and anything it does not recognise: retrying would only repeat it).
  It reads Python exception types and the Java class names and messages that reach
  Python through Py4J (the whole ``getCause()`` chain).
- :class:`~etl_cli.model.resilience.RetryPolicy` is one ``retry:`` block (attempts, initial
  and max delay, multiplier, jitter) of the pipeline model; stage settings override the
  pipeline's, which override the defaults.
- :class:`CircuitBreaker` guards one endpoint (a database server, a Kafka cluster, a
  bucket) for one run: after ``failure_threshold`` consecutive transient failures it
  opens and every later operation on that endpoint fails at once with
  :class:`CircuitOpenError`; after ``reset_timeout`` seconds it lets one trial through
  (half-open), which closes it on success and opens it again on failure.
- :class:`Resilience` ties them together with tenacity. Plug-ins that talk to a server
  themselves (a JDBC connection, an admin client) can use :meth:`Resilience.call` or
  :func:`retry_call` directly; the executor wraps source reads and sink writes and
  commits. Its :meth:`Resilience.metrics` counters are plain numbers a metrics exporter
  can publish.

Nothing here imports pyspark.
"""

from __future__ import annotations

import errno
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

import tenacity

from etl_cli.errors import (
    ConfigError,
    EtlError,
    LockHeldError,
    QualityGateError,
    RunError,
    RunInterrupted,
    UsageError,
)
from etl_cli.model.resilience import BreakerSettings, RetryPolicy

if TYPE_CHECKING:
    from etl_cli.events import Reporter
    from etl_cli.plugins.api import Plugin, StageSpec

T = TypeVar("T")
Classification = Literal["transient", "permanent"]
State = Literal["closed", "open", "half_open"]

# --------------------------------------------------------------------------- classification

#: checked first: an error matching one of these is never retried, even if it also mentions a timeout
PERMANENT_PATTERNS: tuple[str, ...] = (
    r"AnalysisException",
    r"ParseException",
    r"AuthenticationException",
    r"authentication failed",
    r"Access denied for user",
    r"AccessDenied",
    r"InvalidAccessKeyId",
    r"SignatureDoesNotMatch",
    r"AuthorizationException",
    r"not authori[sz]ed",
    r"NoSuchTableException",
    r"TABLE_OR_VIEW_NOT_FOUND",
    r"relation \S+ does not exist",
    r"Table '\S+' doesn't exist",
    r"UNRESOLVED_COLUMN",
    r"DATATYPE_MISMATCH",
    r"[Ss]chema mismatch",
    r"SchemaMismatch",
    r"PATH_NOT_FOUND",
    r"FileNotFoundException",
    r"NoSuchBucket",
    r"SQLState: 28",
    r"SQLState: 42",
)

TRANSIENT_PATTERNS: tuple[str, ...] = (
    # the JVM's network errors (JDBC drivers, Kafka clients, Hadoop filesystems)
    r"java\.net\.ConnectException",
    r"java\.net\.SocketTimeoutException",
    r"java\.net\.SocketException",
    r"java\.net\.NoRouteToHostException",
    r"java\.net\.UnknownHostException",
    r"ConnectTimeoutException",
    r"Connection refused",
    r"Connection reset",
    r"Broken pipe",
    r"Connection to \S+ refused",
    r"timed out",
    r"TimeoutException",
    # JDBC: the connection-failure SQLStates (08xxx), server shutting down or starting (57P0x), and drivers' words
    r"SQLTransientConnectionException",
    r"SQLRecoverableException",
    r"CommunicationsException",
    r"Communications link failure",
    r"The connection attempt failed",
    r"This connection has been closed",
    r"An I/O error occurred while sending to the backend",
    r"the database system is (starting up|shutting down|in recovery mode)",
    r"terminating connection due to administrator command",
    r"SQLState: 08\d\d\d",
    r"SQLState: 57P0\d",
    r"\b08001\b|\b08006\b|\b57P01\b|\b57P03\b",
    # Kafka
    r"BrokerNotAvailableException",
    r"Broker may not be available",
    r"NetworkException",
    r"DisconnectException",
    r"LeaderNotAvailableException",
    r"NotLeaderOrFollowerException",
    r"CoordinatorNotAvailableException",
    # object stores and HTTP services
    r"ServiceUnavailable",
    r"503 Service Unavailable",
    r"SlowDown",
    r"RequestTimeout",
    r"Throttl",
)

_PERMANENT = re.compile("|".join(PERMANENT_PATTERNS))
_TRANSIENT = re.compile("|".join(TRANSIENT_PATTERNS))
_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EPIPE,
}


def _java_chain(exc: BaseException) -> Iterator[str]:
    """Class names and messages of the Java exception behind ``exc`` and its causes (Py4J errors)."""
    throwable = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    for _ in range(12):
        if throwable is None:
            return
        try:
            yield f"{throwable.getClass().getName()}: {throwable.getMessage()}"
            throwable = throwable.getCause()
        except Exception:  # the JVM is gone or this is not a Java object: the text we have must do
            return


def error_text(exc: BaseException) -> str:
    """Everything known about ``exc`` as text: its message, its Python causes, its Java cause chain."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        parts.extend(_java_chain(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _verdict_of_text(exc: BaseException) -> Classification:
    text = error_text(exc)
    if _PERMANENT.search(text):
        return "permanent"
    return "transient" if _TRANSIENT.search(text) else "permanent"


def _network_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    return isinstance(exc, (ConnectionError, TimeoutError))


def _final(exc: BaseException) -> bool:
    """Errors that already carry a verdict: a bad pipeline or command, a failed gate, an open circuit, given up."""
    settled = (KeyboardInterrupt, RunInterrupted, SystemExit, ConfigError, UsageError, QualityGateError, LockHeldError)
    return isinstance(exc, (*settled, CircuitOpenError, RetriesExhausted))


def classify(exc: BaseException) -> Classification:
    """Whether another try of the operation that raised ``exc`` could succeed.

    An exception may decide for itself with a boolean ``retryable`` attribute (a plug-in that
    already retried a connection sets it to False); otherwise its type, then its text decide.
    """
    if _final(exc):
        return "permanent"
    verdict = getattr(exc, "retryable", None)
    if isinstance(verdict, bool):
        return "transient" if verdict else "permanent"
    if _network_error(exc):
        return "transient"
    return _verdict_of_text(exc)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the endpoint could not be reached: what a circuit breaker counts.

    Unlike :func:`classify` it ignores ``retryable``: a plug-in that retried a connection
    itself and gave up ("cannot reach ... after 5 attempts: Connection refused") is not
    retried again, but its endpoint did fail.
    """
    if isinstance(exc, RetriesExhausted):
        return True
    if _final(exc):
        return False
    return _network_error(exc) or _verdict_of_text(exc) == "transient"


def first_line(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, EtlError) else str(exc)
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= 300 else line[:297] + "..."
    return type(exc).__name__


# --------------------------------------------------------------------------- errors


class CircuitOpenError(RunError):
    """An operation was refused without trying: its endpoint failed too often in this run (exit 4)."""

    def __init__(self, endpoint: str, failures: int, last_error: str | None, retry_in: float):
        last = f"; last error: {last_error}" if last_error else ""
        super().__init__(
            f"circuit for {endpoint} is open after {failures} consecutive failure(s){last}",
            hint=f"failing fast; the next trial is allowed in {retry_in:.0f}s (circuit_breaker.reset_timeout)",
        )
        self.endpoint = endpoint


class RetriesExhausted(RunError):
    """A transient error outlived every attempt (exit 4)."""

    def __init__(self, operation: str, attempts: int, elapsed: float, cause: BaseException):
        super().__init__(f"{operation} failed {attempts} times in {elapsed:.1f}s; last error: {first_line(cause)}")
        self.attempts = attempts


# --------------------------------------------------------------------------- circuit breaker

StateListener = Callable[[str, State, State, int], None]


class CircuitBreaker:
    """closed → (N consecutive failures) → open → (reset_timeout) → half_open → closed or open again."""

    def __init__(
        self,
        endpoint: str,
        settings: BreakerSettings,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ):
        self.endpoint = endpoint
        self.settings = settings
        self.clock = clock
        self.on_change = on_change
        self.state: State = "closed"
        self.failures = 0
        self.last_error: str | None = None
        self._opened_at = 0.0
        self._trial_running = False
        self._lock = threading.Lock()

    def allow(self) -> None:
        """Return if an operation may go ahead now; raise :class:`CircuitOpenError` if not."""
        with self._lock:
            if self.state == "open":
                waited = self.clock() - self._opened_at
                if waited < self.settings.reset_timeout:
                    raise CircuitOpenError(
                        self.endpoint, self.failures, self.last_error, self.settings.reset_timeout - waited
                    )
                self._move("half_open")
            if self.state == "half_open":
                if self._trial_running:
                    raise CircuitOpenError(self.endpoint, self.failures, self.last_error, 0)
                self._trial_running = True

    def record_success(self) -> None:
        with self._lock:
            self.failures = 0
            self._trial_running = False
            if self.state != "closed":
                self._move("closed")

    def record_failure(self, error: str | None = None) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = error
            trial_failed = self.state == "half_open"
            self._trial_running = False
            if trial_failed or (self.state == "closed" and self.failures >= self.settings.failure_threshold):
                self._opened_at = self.clock()
                self._move("open")

    def release(self) -> None:
        """The operation ended without a verdict on the endpoint (a permanent error): free a half-open trial."""
        with self._lock:
            self._trial_running = False

    def _move(self, new: State) -> None:
        old, self.state = self.state, new
        if self.on_change is not None:
            self.on_change(self.endpoint, old, new, self.failures)


# --------------------------------------------------------------------------- the run's retries


@dataclass
class EndpointCounters:
    """What happened on one endpoint during a run (for run results and metrics exporters)."""

    attempts: int = 0
    failures: int = 0
    retries: int = 0
    rejected: int = 0
    transitions: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "failures": self.failures,
            "retries": self.retries,
            "rejected": self.rejected,
            "circuit_opened": self.transitions["open"],
            "circuit_half_opened": self.transitions["half_open"],
            "circuit_closed": self.transitions["closed"],
        }


class Resilience:
    """Retries and circuit breakers for one run. Every external operation goes through :meth:`call`."""

    def __init__(
        self,
        defaults: RetryPolicy | None = None,
        breaker: BreakerSettings | None = None,
        reporter: Reporter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        classifier: Callable[[BaseException], Classification] = classify,
    ):
        self.defaults = defaults or RetryPolicy()
        self.breaker_settings = breaker or BreakerSettings()
        self.reporter = reporter
        self.sleep = sleep
        self.clock = clock
        self.classify = classifier
        self.breakers: dict[str, CircuitBreaker] = {}
        self.counters: dict[str, EndpointCounters] = {}

    def breaker(self, endpoint: str) -> CircuitBreaker:
        if endpoint not in self.breakers:
            self.breakers[endpoint] = CircuitBreaker(endpoint, self.breaker_settings, self.clock, self._changed)
            self.counters.setdefault(endpoint, EndpointCounters())
        return self.breakers[endpoint]

    def call(self, fn: Callable[[], T], *, operation: str, endpoint: str, policy: RetryPolicy | None = None) -> T:
        """Run ``fn``; retry transient failures as ``policy`` says, through the endpoint's circuit breaker."""
        policy = policy or self.defaults
        breaker = self.breaker(endpoint)
        counters = self.counters[endpoint]

        def attempt() -> T:
            try:
                breaker.allow()
            except CircuitOpenError:
                counters.rejected += 1
                raise
            counters.attempts += 1
            try:
                result = fn()
            except BaseException as exc:
                if unavailable(exc):
                    counters.failures += 1
                    breaker.record_failure(first_line(exc))
                else:
                    breaker.release()
                raise
            breaker.record_success()
            return result

        def before_sleep(state: tenacity.RetryCallState) -> None:
            counters.retries += 1
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            if self.reporter is not None:
                self.reporter.retrying(
                    operation, endpoint, state.attempt_number, policy.attempts, delay, first_line(error or Exception())
                )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts),
            wait=lambda state: policy.delay(state.attempt_number),
            retry=tenacity.retry_if_exception(lambda e: self.classify(e) == "transient"),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        started = self.clock()
        try:
            return retrying(attempt)
        except Exception as exc:
            tries = int(retrying.statistics.get("attempt_number", 1))
            if tries > 1 and self.classify(exc) == "transient":
                raise RetriesExhausted(operation, tries, self.clock() - started, exc) from exc
            raise

    def metrics(self) -> dict[str, Any]:
        """Counters and circuit states per endpoint: ``{endpoint: {attempts, failures, retries, ...}}``."""
        return {
            endpoint: {**counters.to_json(), "state": self.breakers[endpoint].state}
            for endpoint, counters in sorted(self.counters.items())
        }

    def _changed(self, endpoint: str, old: State, new: State, failures: int) -> None:
        self.counters.setdefault(endpoint, EndpointCounters()).transitions[new] += 1
        if self.reporter is not None:
            self.reporter.circuit_changed(endpoint, old, new, failures)


def retry_call(fn: Callable[[], T], policy: RetryPolicy | None = None, operation: str = "operation") -> T:
    """Retry ``fn`` on transient errors with ``policy`` (no circuit breaker): for plug-ins' own connections."""
    return Resilience(policy).call(fn, operation=operation, endpoint="-", policy=policy)


# --------------------------------------------------------------------------- endpoints

_SERVER_KEYS = ("bootstrap_servers", "kafka.bootstrap.servers", "bootstrap.servers")


def endpoint_of(stage: StageSpec, plugin: type[Plugin] | None = None) -> str:
    """The system a stage talks to, as a key for its circuit breaker (never with credentials).

    The plug-in's :meth:`~etl_cli.plugins.api.Plugin.endpoint` names it when it returns a name;
    otherwise a JDBC ``url``, Kafka bootstrap servers, or the scheme and bucket/host of a ``path``
    name it; local files are ``file://``.
    """
    if plugin is not None and (named := plugin.endpoint(stage)):
        return named
    options = stage.options
    if isinstance(options.get("url"), str):
        return _url_endpoint(options["url"].removeprefix("jdbc:"))
    for key in _SERVER_KEYS:
        servers = options.get(key) or (options.get("options") or {}).get(key)
        if isinstance(servers, str):
            return f"kafka://{servers}"
    path = options.get("path")
    if isinstance(path, (list, tuple)) and path:
        path = path[0]
    if isinstance(path, str) and "://" in path:
        return _url_endpoint(path)
    return "file://"


def _url_endpoint(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("?")[0]
    return f"{parts.scheme}://{host}{port}"
