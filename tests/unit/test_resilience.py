"""Retries, error classification and the circuit breaker, with a fake clock and no sleeping."""

from __future__ import annotations

import errno

import pytest

from etl_cli.errors import ConfigError, RunError
from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.safeguards.resilience import (
    BreakerSettings,
    CircuitBreaker,
    CircuitOpenError,
    Resilience,
    RetriesExhausted,
    RetryPolicy,
    classify,
    endpoint_of,
    unavailable,
)
from tests.support import RecordingReporter, frozen


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JavaLike(Exception):
    """What Py4J hands Python: a generic error whose text carries the Java class and message."""


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        OSError(errno.ETIMEDOUT, "Connection timed out"),
        TimeoutError(),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        JavaLike("An error occurred while calling o52.save.\n: java.net.ConnectException: Connection refused"),
        JavaLike("org.postgresql.util.PSQLException: Connection to 127.0.0.1:55432 refused."),
        JavaLike("org.postgresql.util.PSQLException: FATAL: the database system is shutting down"),
        JavaLike("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available"),
        JavaLike("org.apache.kafka.common.errors.TimeoutException: Topic orders not present in metadata"),
        JavaLike("WARN NetworkClient: Connection to node 1 could not be established. Broker may not be available."),
        JavaLike("com.amazonaws.services.s3.model.AmazonS3Exception: Slow Down (Service: Amazon S3; SlowDown)"),
    ],
)
def test_transient_errors_are_retried(error: BaseException) -> None:
    assert classify(error) == "transient"


@pytest.mark.parametrize(
    "error",
    [
        JavaLike('org.postgresql.util.PSQLException: FATAL: password authentication failed for user "etl"'),
        JavaLike("java.sql.SQLException: Access denied for user 'etl'@'localhost' (using password: YES)"),
        JavaLike('org.postgresql.util.PSQLException: ERROR: relation "public.orders" does not exist'),
        JavaLike("[TABLE_OR_VIEW_NOT_FOUND] The table or view `orders` cannot be found. SQLSTATE: 42P01"),
        JavaLike("pyspark.errors.exceptions.captured.AnalysisException: [UNRESOLVED_COLUMN] x"),
        JavaLike("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed"),
        JavaLike("AnalysisException: Connection refused mentioned in a column comment"),
        ValueError("a bug"),
        ConfigError("the pipeline is wrong"),
        KeyboardInterrupt(),
    ],
)
def test_permanent_errors_are_not(error: BaseException) -> None:
    assert classify(error) == "permanent"


def test_the_java_cause_chain_is_read_through_py4j() -> None:
    class Throwable:
        def __init__(self, name: str, message: str, cause: Throwable | None = None):
            self.name, self.message, self.cause = name, message, cause

        def getClass(self) -> Throwable:
            return self

        def getName(self) -> str:
            return self.name

        def getMessage(self) -> str:
            return self.message

        def getCause(self) -> Throwable | None:
            return self.cause

    class Py4JLike(Exception):
        def __init__(self) -> None:
            super().__init__("An error occurred while calling o7.save")
            self.java_exception = Throwable(
                "org.apache.spark.SparkException", "Job aborted", Throwable("java.net.SocketTimeoutException", "Read")
            )

    assert classify(Py4JLike()) == "transient"


def test_a_plugin_error_is_judged_by_its_text_unless_it_says_whether_to_retry() -> None:
    wrapped = RunError("writing the staging table failed: An I/O error occurred while sending to the backend")
    assert classify(wrapped) == "transient"

    class GaveUp(RunError):
        retryable = False

    gave_up = GaveUp("cannot reach PostgreSQL at 127.0.0.1:55432 after 5 attempts: Connection refused")
    assert classify(gave_up) == "permanent", "the plug-in retried already"
    assert unavailable(gave_up), "but the circuit breaker counts it"
    assert not unavailable(RunError("PostgreSQL refused the login: password authentication failed"))
    assert not unavailable(ConfigError("unknown column amount; Connection refused is in its comment"))


# --------------------------------------------------------------------------- policies


def test_stage_retry_settings_override_the_pipeline_defaults() -> None:
    policy = RetryPolicy.layered({"attempts": 5, "max_delay": 60}, {"attempts": 2})
    assert policy == RetryPolicy(attempts=2, initial_delay=1.0, max_delay=60, multiplier=2.0, jitter=1.0)


def test_waits_grow_exponentially_up_to_the_maximum_plus_jitter() -> None:
    clock, slept = FakeClock(), list[float]()
    resilience = Resilience(breaker=BreakerSettings(failure_threshold=10), sleep=slept.append, clock=clock)
    policy = RetryPolicy(attempts=6, initial_delay=1, max_delay=5, multiplier=2, jitter=0.5)
    with pytest.raises(RetriesExhausted):
        resilience.call(_always(ConnectionRefusedError()), operation="read", endpoint="db", policy=policy)
    assert len(slept) == 5
    for wait, base in zip(slept, [1, 2, 4, 5, 5], strict=True):
        assert base <= wait <= base + 0.5


# --------------------------------------------------------------------------- retries


def _always(error: BaseException):  # type: ignore[no-untyped-def]
    def fail() -> None:
        raise error

    return fail


def _failing_then(result: str, failures: list[BaseException]):  # type: ignore[no-untyped-def]
    calls = []

    def fn() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def test_a_transient_failure_is_retried_until_it_succeeds() -> None:
    reporter = RecordingReporter()
    resilience = Resilience(reporter=reporter, sleep=lambda s: None, clock=FakeClock())
    fn = _failing_then("ok", [ConnectionRefusedError(), TimeoutError()])
    assert resilience.call(fn, operation="write", endpoint="pg", policy=RetryPolicy(attempts=3, jitter=0)) == "ok"
    assert len(fn.calls) == 3
    assert [(r.attempt, r.attempts) for r in reporter.retries] == [(1, 3), (2, 3)]
    assert [r.delay_s for r in reporter.retries] == [1.0, 2.0]
    assert resilience.metrics()["pg"] | {} == {
        "attempts": 3,
        "failures": 2,
        "retries": 2,
        "rejected": 0,
        "circuit_opened": 0,
        "circuit_half_opened": 0,
        "circuit_closed": 0,
        "state": "closed",
    }


def test_a_permanent_failure_is_raised_at_once() -> None:
    resilience = Resilience(sleep=lambda s: pytest.fail("no waiting for a permanent error"), clock=FakeClock())
    fn = _failing_then("ok", [JavaLike("password authentication failed")])
    with pytest.raises(JavaLike):
        resilience.call(fn, operation="connect", endpoint="pg", policy=RetryPolicy(attempts=5))
    assert len(fn.calls) == 1


def test_giving_up_says_how_often_and_keeps_the_cause() -> None:
    resilience = Resilience(sleep=lambda s: None, clock=FakeClock())
    with pytest.raises(RetriesExhausted) as caught:
        resilience.call(_always(ConnectionRefusedError("refused")), operation="write x", endpoint="pg")
    assert caught.value.attempts == 3
    assert caught.value.message.startswith("write x failed 3 times")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


# --------------------------------------------------------------------------- circuit breaker


def test_the_breaker_opens_after_n_consecutive_failures_and_fails_fast() -> None:
    clock, changes = FakeClock(), []
    breaker = CircuitBreaker("pg", BreakerSettings(3, 30), clock, lambda *c: changes.append(c[1:3]))
    for _ in range(2):
        breaker.allow()
        breaker.record_failure("refused")
    assert breaker.state == "closed"
    breaker.allow()
    breaker.record_failure("refused")
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError, match="after 3 consecutive failure"):
        breaker.allow()
    assert changes == [("closed", "open")]


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker("pg", BreakerSettings(2, 30), FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_after_the_timeout_one_trial_goes_through_and_closes_it_on_success() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("pg", BreakerSettings(1, 30), clock)
    breaker.record_failure()
    clock.now += 29.9
    with pytest.raises(CircuitOpenError):
        breaker.allow()
    clock.now += 0.1
    breaker.allow()
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpenError):
        breaker.allow()  # only one trial at a time
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.allow()


def test_a_failed_trial_opens_it_again_for_a_whole_timeout() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("pg", BreakerSettings(1, 30), clock)
    breaker.record_failure()
    clock.now += 30
    breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        breaker.allow()


def test_an_open_circuit_stops_later_operations_on_the_endpoint_but_not_others() -> None:
    reporter = RecordingReporter()
    clock = FakeClock()
    resilience = Resilience(breaker=BreakerSettings(2, 60), reporter=reporter, sleep=lambda s: None, clock=clock)
    with pytest.raises(CircuitOpenError):
        resilience.call(_always(ConnectionRefusedError()), operation="write a", endpoint="pg", policy=RetryPolicy(5))
    second = _failing_then("never", [])
    with pytest.raises(CircuitOpenError):
        resilience.call(second, operation="write b", endpoint="pg")
    assert second.calls == [], "failed fast, without trying"
    assert resilience.call(lambda: "ok", operation="read", endpoint="kafka://b:9092") == "ok"
    metrics = resilience.metrics()
    assert metrics["pg"]["attempts"] == 2 and metrics["pg"]["rejected"] == 2
    assert metrics["pg"]["circuit_opened"] == 1 and metrics["pg"]["state"] == "open"
    assert [(c.endpoint, c.old, c.new) for c in reporter.changes] == [("pg", "closed", "open")]
    clock.now += 60
    assert resilience.call(lambda: "back", operation="write c", endpoint="pg") == "back"
    assert [(c.endpoint, c.old, c.new) for c in reporter.changes[1:]] == [
        ("pg", "open", "half_open"),
        ("pg", "half_open", "closed"),
    ]


# --------------------------------------------------------------------------- endpoints


def stage(**options: object) -> StageSpec:
    return StageSpec("s", "sink", "x", (), frozen(options))


def test_endpoints_name_the_server_without_credentials() -> None:
    assert (
        endpoint_of(stage(url="jdbc:postgresql://db.example:5432/shop?user=u&password=p"))
        == "postgresql://db.example:5432"
    )
    assert endpoint_of(stage(bootstrap_servers="k1:9092,k2:9092")) == "kafka://k1:9092,k2:9092"
    assert endpoint_of(stage(path="s3a://bucket/some/prefix")) == "s3a://bucket"
    assert endpoint_of(stage(path=["s3a://other/x", "s3a://other/y"])) == "s3a://other"
    assert endpoint_of(stage(path="/data/out")) == "file://"


def test_a_plugin_can_name_its_endpoint() -> None:
    class Custom:
        @staticmethod
        def endpoint(s: StageSpec) -> str:
            return "custom://here"

    assert endpoint_of(stage(path="/x"), Custom) == "custom://here"
