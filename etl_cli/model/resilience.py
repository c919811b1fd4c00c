"""The ``retry:`` and ``circuit_breaker:`` settings of a pipeline, as frozen values.

The runtime's retries and breakers (:mod:`etl_cli.runtime.safeguards.resilience`) take these; a stage's
own ``retry:`` is laid over the pipeline's by :meth:`RetryPolicy.over`. :class:`RetryPolicy` is defined
in :mod:`etl_cli.plugins.api`, below the model, because plug-ins that retry their own requests (the
REST connector) take it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from etl_cli.plugins.api import RetryPolicy as RetryPolicy


@dataclass(frozen=True)
class BreakerSettings:
    """The pipeline's ``circuit_breaker:`` block."""

    failure_threshold: int = 5
    reset_timeout: float = 60.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> BreakerSettings:
        names = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in (options or {}).items() if k in names})
