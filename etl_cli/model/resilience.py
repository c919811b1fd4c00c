"""The ``retry:`` and ``circuit_breaker:`` settings of a pipeline, as frozen values.

The runtime's retries and breakers (:mod:`etl_cli.runtime.safeguards.resilience`) take these; a stage's
own ``retry:`` is laid over the pipeline's by :meth:`RetryPolicy.over`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    """One ``retry:`` block. Waits grow ``initial_delay * multiplier**n`` up to ``max_delay``, plus jitter."""

    attempts: int = 3
    initial_delay: float = 1.0
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 1.0

    @classmethod
    def layered(cls, *layers: Mapping[str, Any] | None) -> RetryPolicy:
        """The defaults, overridden by each layer in turn (pipeline ``retry:``, then the stage's)."""
        policy = cls()
        for layer in layers:
            policy = policy.over(layer)
        return policy

    def over(self, layer: Mapping[str, Any] | None) -> RetryPolicy:
        """This policy with what ``layer`` (a ``retry:`` block, or None) sets instead."""
        if not layer:
            return self
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in layer.items() if k in names})

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay) + rand() * self.jitter


@dataclass(frozen=True)
class BreakerSettings:
    """The pipeline's ``circuit_breaker:`` block."""

    failure_threshold: int = 5
    reset_timeout: float = 60.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> BreakerSettings:
        names = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in (options or {}).items() if k in names})
