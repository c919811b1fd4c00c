"""After SIGINT or SIGTERM a run tries nothing again and waits out no back-off."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from etl_cli.errors import ExitCode, RunInterrupted
from etl_cli.runtime.execution.signals import RunSignals
from etl_cli.runtime.safeguards.resilience import Resilience, RetryPolicy


def test_run_interrupted_maps_each_signal_to_its_exit_code_and_status() -> None:
    assert (RunInterrupted(signal.SIGINT).exit_code, RunInterrupted(signal.SIGINT).status) == (
        ExitCode.INTERRUPTED,
        "interrupted",
    )
    assert (int(RunInterrupted(signal.SIGTERM).exit_code), RunInterrupted(signal.SIGTERM).status) == (143, "terminated")


def test_before_a_signal_transient_errors_are_retried() -> None:
    signals = RunSignals()
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("connection refused")
        return "ok"

    resilience = Resilience(sleep=signals.sleep, classifier=signals.classify)
    policy = RetryPolicy(initial_delay=0.01, jitter=0)
    assert resilience.call(flaky, operation="read", endpoint="db", policy=policy) == "ok"
    assert len(calls) == 3


def test_after_a_signal_a_transient_error_is_not_retried() -> None:
    signals = RunSignals()
    signals.received = signal.SIGTERM
    calls = []

    def refused() -> None:
        calls.append(1)
        raise ConnectionError("connection refused")

    resilience = Resilience(sleep=signals.sleep, classifier=signals.classify)
    with pytest.raises(ConnectionError):
        resilience.call(refused, operation="read", endpoint="db", policy=RetryPolicy(attempts=5))
    assert len(calls) == 1


def test_a_signal_cuts_a_back_off_short() -> None:
    cancelled = threading.Event()
    started = time.monotonic()
    with RunSignals(notify=lambda message: None) as signals:
        signals.attach(cancelled.set)
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        with pytest.raises(RunInterrupted) as stopped:
            signals.sleep(30)
    assert stopped.value.exit_code == 143
    assert time.monotonic() - started < 5
    assert cancelled.wait(5), "the signal did not cancel Spark's jobs"
