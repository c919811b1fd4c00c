"""Row-level security at read time: each source's rows filtered for the principal (docs/data-security.md).

:meth:`Executor.compute_stage <etl_cli.runtime.execution.executor.Executor.compute_stage>` is where
every source of a run, a ``debug`` session, a ``dry-run`` sample and ``etl-cli test`` is read, and
the streaming executor reads its sources alike: both pass what a source read through
:meth:`RowAccess.filtered`, so no path reads a source unfiltered. The decision (the principal, each
source's filters) is made once, from the project's ``access:`` rules (:mod:`etl_cli.model.access`),
before the first source is read; a refused run raises :class:`~etl_cli.model.access.AccessRefused`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from etl_cli.model.access import AccessDecision, decide
from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import StageSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class RowAccess:
    """The row filters of one plan's sources, decided once (on first use, or by :meth:`decision`)."""

    def __init__(self, plan: Plan, environ: Mapping[str, str] | None = None):
        self.plan = plan
        self.environ = environ
        self._decision: AccessDecision | None = None

    def decision(self) -> AccessDecision:
        """The principal and the filters of the plan's sources; raises AccessRefused when the rules refuse."""
        if self._decision is None:
            spec = self.plan.pipeline
            sources = [stage for stage in self.plan.stages if stage.kind == "source"]
            self._decision = decide(spec.access, sources, spec.project_root, self.environ)
        return self._decision

    def filtered(self, stage: StageSpec, df: DataFrame) -> DataFrame:
        """``df``, read by source ``stage``, keeping only the rows its filters let the principal see."""
        if stage.kind != "source":
            return df
        from pyspark.sql import functions as F

        for row_filter in self.decision().for_source(stage.name):
            df = df.where(F.expr(row_filter.sql))
        return df
