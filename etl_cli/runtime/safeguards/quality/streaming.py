"""Row-level checks on a stream: judged on every micro-batch as it flows, with no extra Spark job.

A streaming stage's checks become columns of its DataFrame, as in a batch run, but a stream
has no moment "before any sink writes" to gather a verdict in, so each action works row by
row:

- ``warn`` keeps the row; ``drop`` and ``quarantine`` filter it out of the stage's output;
- ``quarantine`` also sends it, with the names of the checks it failed, to the dead-letter
  queue through a query of its own (``StreamingExecutor`` starts it);
- ``fail`` raises on the first failing row inside the micro-batch, so the batch fails
  before its sink commits it (file sinks and upserts then keep nothing of it) and the run
  stops with exit 3.

Failed rows are counted per check with ``observe`` (reported in each micro-batch's
progress) and summed over the run into the quality report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl_cli.errors import QualityGateError
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.checks import CheckSpec
from etl_cli.plugins.quality.base import RowCheck
from etl_cli.plugins.spark_types import quote
from etl_cli.runtime.safeguards.quality.evaluate import FLAGS, any_flag, failed_check_names, flag
from etl_cli.runtime.safeguards.quality.report import CheckResult, Outcome
from etl_cli.runtime.spark.connect import observed_values

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: how a micro-batch failed by a ``fail`` check says so, to be told apart from other query failures
GATE_MARKER = "etl-cli quality gate"


@dataclass
class StreamChecks:
    """The row-level checks of one streaming stage and what they found so far."""

    stage: StageSpec
    checks: list[tuple[CheckSpec, RowCheck]]
    evaluated: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    #: the batches already counted: (query id, batch id), as a query reports a batch more than once
    counted: set[tuple[str, int]] = field(default_factory=set)
    #: the fail checks a micro-batch failed on (the query stopped there)
    gate_failed: set[str] = field(default_factory=set)

    @property
    def metric(self) -> str:
        return f"etl_checks_{self.stage.name}"

    def apply(self, df: DataFrame) -> tuple[DataFrame, DataFrame | None]:
        """(the stage's output, its quarantined rows as ``reason, check, row`` or None), both lazy streams."""
        from pyspark.sql import functions as F

        columns = list(df.columns)
        flags = [plugin.failing(check, df).alias(check.name) for check, plugin in self.checks]
        flagged = df.withColumn(FLAGS, F.struct(*flags))
        counts = [F.sum(flag(c.name).cast("long")).alias(f"f{i}") for i, (c, _) in enumerate(self.checks)]
        output = flagged.observe(self.metric, F.count(F.lit(1)).alias("rows"), *counts)
        failing = [c for c, _ in self.checks if c.action == "fail"]
        if failing:
            stop = F.raise_error(
                F.concat(
                    F.lit(f"{GATE_MARKER}: a row of stage '{self.stage.name}' failed check(s) "),
                    failed_check_names(failing),
                )
            )
            output = output.filter(F.when(any_flag([c.name for c in failing]), stop).otherwise(F.lit(True)))
        removing = [c.name for c, _ in self.checks if c.removes_rows]
        if removing:
            output = output.filter(~any_flag(removing))
        return output.drop(FLAGS), self._quarantined(flagged, columns)

    def _quarantined(self, flagged: DataFrame, columns: list[str]) -> DataFrame | None:
        from pyspark.sql import functions as F

        checks = [c for c, _ in self.checks if c.action == "quarantine"]
        if not checks:
            return None
        names = failed_check_names(checks)
        return flagged.filter(any_flag([c.name for c in checks])).select(
            F.concat(F.lit("failed check(s): "), names).alias("reason"),
            names.alias("check"),
            F.to_json(F.struct(*[F.col(quote(c)) for c in columns]), {"ignoreNullFields": "false"}).alias("row"),
        )

    def count(self, query_id: str, batch_id: int, observed: Any) -> None:
        """Add one micro-batch's observed counts (a Row with ``rows`` and ``f0``, ``f1``...), once."""
        if observed is None or (query_id, batch_id) in self.counted:
            return
        self.counted.add((query_id, batch_id))
        values = observed_values(observed)
        self.evaluated += int(values.get("rows") or 0)
        for i, (check, _) in enumerate(self.checks):
            self.failed[check.name] = self.failed.get(check.name, 0) + int(values.get(f"f{i}") or 0)

    def results(self) -> list[CheckResult]:
        found = []
        for check, _ in self.checks:
            failed = self.failed.get(check.name, 0)
            stopped = check.action == "fail" and check.name in self.gate_failed
            outcome: Outcome = "failed" if stopped else ("warned" if failed else "passed")
            found.append(
                CheckResult(
                    name=check.name,
                    stage=check.stage,
                    type=check.type,
                    level="row",
                    action=check.action,
                    severity=check.severity,
                    outcome=outcome,
                    rows_evaluated=self.evaluated,
                    rows_failed=failed + (1 if stopped else 0),
                    failure_rate=(failed / self.evaluated) if self.evaluated else 0.0,
                    rows_removed=failed if check.removes_rows else 0,
                    defined_at=str(check.location) if check.location else None,
                    note="counted over the micro-batches the run committed",
                )
            )
        return found


def gate_error(error_text: str) -> tuple[QualityGateError, set[str]] | None:
    """The quality-gate error a failed micro-batch carries and the checks it names, if that is why it failed."""
    start = error_text.find(GATE_MARKER)
    if start < 0:
        return None
    line = error_text[start:].splitlines()[0]
    message = re.split(r"\.?\s*SQLSTATE", line)[0].rstrip(". ")
    names = {n.strip() for n in message.split(" failed check(s) ", 1)[-1].split(",") if n.strip()}
    error = QualityGateError(
        f"data-quality gate failed on the stream: {message[len(GATE_MARKER) + 2 :]}; the micro-batch was not committed"
    )
    return error, names
