"""SIGINT and SIGTERM during a batch run: cancel Spark's jobs, clean up, record, exit 130 or 143.

The handler never raises while the main thread may be inside a Py4J call: an exception
thrown into a half-read reply leaves that thread's connection out of step with the JVM,
and every call after it (removing staging folders, for one) would read a stale answer.
Instead the first signal

- records itself,
- cancels every running Spark job from a thread of its own (so on its own Py4J
  connection); the job the main thread waits for then fails and control comes back,
- wakes any retry back-off, so nothing is tried again.

The run then raises :class:`RunInterrupted` at its next checkpoint (a stage boundary, a
retry, the start of publishing), the executor aborts every staged write, the lock is
released and the run results say ``interrupted`` or ``terminated``. Publishing itself is
not interrupted: once the sinks commit, they finish, so targets end old or new, never
mixed. A second signal exits at once (the lock is an OS lock; ``etl-cli recover`` or the
next run cleans what is left).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from etl_cli.errors import RunInterrupted
from etl_cli.runtime.safeguards.resilience import Classification, classify

#: the signals a batch run turns into a clean stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunSignals:
    """Catches SIGINT and SIGTERM for one batch run (only the main thread can install handlers)."""

    def __init__(self, notify: Callable[[str], None] | None = None):
        self.received: int | None = None
        self._cancel: Callable[[], None] | None = None
        self._woken = threading.Event()
        self._notify = notify or _to_stderr
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> RunSignals:
        self._install()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number in STOP_SIGNALS:
            previous = signal.signal(number, self._handle)
            self._previous.setdefault(number, previous)

    def attach(self, cancel: Callable[[], None]) -> None:
        """From now on a signal cancels Spark's jobs with ``cancel``.

        Also takes SIGINT back: starting a SparkContext installs PySpark's own handler, which
        calls the JVM from inside the signal handler, on the main thread's connection.
        """
        self._cancel = cancel
        self._install()
        self.check()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            self._notify(f"{signal.Signals(signum).name} again: stopping at once")
            os._exit(int(RunInterrupted(signum).exit_code))
        self.received = signum
        self._woken.set()
        name = signal.Signals(signum).name
        if self._cancel is None:
            raise RunInterrupted(signum)  # no JVM to talk to yet: stop right here
        self._notify(f"{name}: cancelling the running Spark jobs; targets stay as they were (again to stop at once)")
        threading.Thread(target=self._cancel_quietly, name="etl-cli-cancel", daemon=True).start()

    def _cancel_quietly(self) -> None:
        try:
            if self._cancel is not None:
                self._cancel()
        except Exception:  # the JVM may be going away already; the run stops at its next checkpoint anyway
            pass

    def check(self) -> None:
        """Raise :class:`RunInterrupted` if a signal came: call at each point where stopping is safe."""
        if self.received is not None:
            raise RunInterrupted(self.received)

    def classify(self, exc: BaseException) -> Classification:
        """Resilience's :func:`classify`, except that after a signal nothing is worth retrying."""
        return "permanent" if self.received is not None else classify(exc)

    def sleep(self, seconds: float) -> None:
        """A retry back-off that a signal cuts short (then raises instead of trying again)."""
        self._woken.wait(seconds)
        self.check()


def _to_stderr(message: str) -> None:
    os.write(2, f"\n{message}\n".encode())


__all__ = ["STOP_SIGNALS", "RunSignals"]
