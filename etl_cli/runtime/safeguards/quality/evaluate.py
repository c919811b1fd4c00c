"""Evaluate every check of one stage in a single pass over its rows.

Row-level checks become one struct column of booleans (one field per check, true when
the row fails). A single aggregation then counts, per check, the failing rows and
computes the dataset-level measures (row count, distinct keys, newest timestamp, orphan
keys), so a stage with ten checks costs one pass over its rows, not ten. When some check
found failing rows, one LIMIT query picks a few of them as samples for the report.

``drop`` and ``quarantine`` filter the flagged rows out of the stage's output lazily, so
downstream stages never see them, whatever the verdict. Those stages are persisted
(memory, then disk): their flagged rows are read by the aggregation, by the sinks and by
the dead-letter queue, which must all see the same rows (a table or topic read twice can
change in between), and recomputing an expensive upstream three times would cost more
than keeping it. Stages whose checks only warn or fail are not persisted: the check pass
reads them once and the sinks read them again, which for Parquet costs less than building
a cache (see benchmarks/quality_cost.py) and holds nothing in memory.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError, RunError
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.checks import CheckSpec
from etl_cli.plugins.observed import observed_metrics
from etl_cli.plugins.quality.base import Check, DatasetCheck, RowCheck
from etl_cli.plugins.spark_types import first_line, quote
from etl_cli.runtime.safeguards.quality.report import CheckResult, Outcome, StageQuality
from etl_cli.runtime.spark.connect import is_connect

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, Observation, SparkSession

#: the struct column of per-check failure flags (never leaves this module)
FLAGS = "__etl_failed_checks"
MASK = "***"


def flag(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(f"{FLAGS}.{quote(name)}")


def any_flag(names: Sequence[str]) -> Column:
    return reduce(lambda a, b: a | b, [flag(n) for n in names])


def failed_check_names(checks: Sequence[CheckSpec]) -> Column:
    """``"a, b"``: the names of the given checks the row fails."""
    from pyspark.sql import functions as F

    return F.concat_ws(", ", *[F.when(flag(c.name), F.lit(c.name)) for c in checks])


@contextmanager
def job_group(spark: SparkSession, group: str, description: str) -> Iterator[None]:
    """Tag the Spark jobs started inside with ``group`` (Spark UI, status tracker), then restore the old tag."""
    if is_connect(spark):  # job groups are the server's: its UI shows the session's own tags
        yield
        return
    sc = spark.sparkContext
    previous = sc.getLocalProperty("spark.jobGroup.id"), sc.getLocalProperty("spark.job.description")
    sc.setJobGroup(group, description)
    try:
        yield
    finally:
        sc.setLocalProperty("spark.jobGroup.id", previous[0])  # type: ignore[arg-type]
        sc.setLocalProperty("spark.job.description", previous[1])  # type: ignore[arg-type]


def quality_job_group(stage: str) -> str:
    """The Spark job group of a stage's check pass (the Spark UI and the status tracker show it)."""
    return f"etl-quality:{stage}"


def quality_samples_job_group(stage: str) -> str:
    """The job group of the LIMIT query that picks sample failing rows, when a check found some."""
    return f"etl-quality-samples:{stage}"


@dataclass
class CheckedStage:
    """The checks of one stage: the flagged frame, the filtered output, and later, the verdicts."""

    stage: StageSpec
    checks: list[tuple[CheckSpec, Check]]
    #: lower-case names of the columns whose values samples must not show
    sensitive: frozenset[str] = frozenset()
    flagged: DataFrame | None = None
    columns: list[str] = field(default_factory=list)
    persisted: bool = False
    #: set by ``build(counted_while_writing=True)``: the counts come from the sinks' own write
    observation: Observation | None = None
    #: whether checks counted while writing have their verdicts (or were skipped)
    judged: bool = False

    @property
    def row_checks(self) -> list[tuple[CheckSpec, RowCheck]]:
        return [(c, p) for c, p in self.checks if isinstance(p, RowCheck)]

    @property
    def dataset_checks(self) -> list[tuple[CheckSpec, DatasetCheck]]:
        return [(c, p) for c, p in self.checks if isinstance(p, DatasetCheck)]

    def removing(self) -> list[CheckSpec]:
        return [c for c, _ in self.row_checks if c.removes_rows]

    def quarantining(self) -> list[CheckSpec]:
        return [c for c, _ in self.row_checks if c.action == "quarantine"]

    def can_count_while_writing(self) -> bool:
        """No verdict of these checks can stop the run or write dead letters: row-level, severity warn, no quarantine.

        Their counts can then come from the sinks' own write (an observation on the output)
        instead of a pass of their own before any sink writes: warn and drop checks cost no
        extra reading of the data, and drop needs no persisted copy.
        """
        return (
            bool(self.row_checks)
            and not self.dataset_checks
            and not self.quarantining()
            and all(c.severity != "error" for c, _ in self.row_checks)
        )

    def build(self, df: DataFrame, counted_while_writing: bool = False) -> DataFrame:
        """Flag ``df`` (lazily) and return the stage's output: without dropped and quarantined rows."""
        from pyspark import StorageLevel
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        self.columns = list(df.columns)
        if not self.row_checks:
            self.flagged = df
            return df
        flags = [self._flag_column(check, plugin, df).alias(check.name) for check, plugin in self.row_checks]
        self.flagged = df.withColumn(FLAGS, F.struct(*flags))
        removing = self.removing()
        if counted_while_writing:
            self.observation = Observation(f"etl_checks_{uuid.uuid4().hex[:8]}")
            observed = self.flagged.observe(self.observation, *self._measures([]))
            kept = observed.filter(~any_flag([c.name for c in removing])) if removing else observed
            return kept.drop(FLAGS)
        if not removing:
            return df
        self.flagged = self.flagged.persist(StorageLevel.MEMORY_AND_DISK)
        self.persisted = True
        return self.flagged.filter(~any_flag([c.name for c in removing])).drop(FLAGS)

    def _flag_column(self, check: CheckSpec, plugin: RowCheck, df: DataFrame) -> Column:
        from pyspark.errors import AnalysisException

        try:
            column = plugin.failing(check, df)
            df.select(column)  # analysed now, so a wrong column name is blamed on its check
        except AnalysisException as exc:
            raise _check_error(check, exc) from exc
        return column

    def quarantined(self) -> DataFrame | None:
        """The rows a quarantine check removed, with ``reason`` and ``check`` columns; None if none can be."""
        from pyspark.sql import functions as F

        checks = self.quarantining()
        if not checks or self.flagged is None:
            return None
        names = failed_check_names(checks)
        rows = self.flagged.filter(any_flag([c.name for c in checks]))
        return rows.select(
            F.concat(F.lit("failed check(s): "), names).alias("reason"),
            names.alias("check"),
            F.to_json(F.struct(*[F.col(quote(c)) for c in self.columns]), {"ignoreNullFields": "false"}).alias("row"),
        )

    def evaluate(
        self, frames: Mapping[str, DataFrame], skip: Callable[[CheckSpec], str | None] = lambda check: None
    ) -> tuple[list[CheckResult], StageQuality]:
        """Run the single aggregation (one Spark job) and judge every check of the stage.

        ``skip`` says why a dataset-level check cannot be judged here (None: it can), e.g. on
        replayed rows or on a sample; such a check is reported as skipped with that note.
        """
        assert self.flagged is not None, "build() first"
        dataset = [(c, p) for c, p in self.dataset_checks if skip(c) is None]
        measured = self.flagged
        for i, (check, plugin) in enumerate(dataset):
            measured = self._prepared(check, plugin, measured, frames, f"__d{i}")
        values = self._collect(measured, self._measures(dataset))
        evaluated = int(values["__rows"])
        results = [self._judge_row(i, c, values, evaluated) for i, (c, _) in enumerate(self.row_checks)]
        wanted = [
            (r, flag(c.name), self._sample_row(), c.samples) for r, (c, _) in zip(results, self.row_checks, strict=True)
        ]
        for i, (check, plugin) in enumerate(dataset):
            prefix = f"__d{i}_"
            own = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
            result = self._judge_dataset(check, plugin, own, evaluated)
            results.append(result)
            if (sampler := plugin.sample(check, f"__d{i}")) is not None:
                wanted.append((result, *sampler, check.samples))
        self._pick_samples(measured, [w for w in wanted if w[0].rows_failed and w[3]])
        results += [_skipped(c, note) for c, _ in self.dataset_checks if (note := skip(c)) is not None]
        quality = StageQuality(
            self.stage.name,
            evaluated,
            int(values.get("__removed") or 0),
            int(values.get("__quarantined") or 0),
            self.persisted,
        )
        return results, quality

    def skipped(self, note: str) -> list[CheckResult]:
        """Every check of the stage as skipped, with why."""
        return [_skipped(c, note, "row") for c, _ in self.row_checks]

    def evaluate_written(self) -> tuple[list[CheckResult], StageQuality]:
        """Judge checks counted while the sinks wrote (``build(counted_while_writing=True)``), once they have."""
        assert self.observation is not None, "build(counted_while_writing=True) first"
        values = observed_metrics(self.observation)
        if not values:
            return self.skipped("not evaluated: no sink wrote the stage's rows"), StageQuality(self.stage.name, 0)
        evaluated = int(values["__rows"])
        results = [self._judge_row(i, c, values, evaluated) for i, (c, _) in enumerate(self.row_checks)]
        wanted = [
            (r, flag(c.name), self._sample_row(), c.samples) for r, (c, _) in zip(results, self.row_checks, strict=True)
        ]
        assert self.flagged is not None
        self._pick_samples(self.flagged, [w for w in wanted if w[0].rows_failed and w[3]])
        return results, StageQuality(self.stage.name, evaluated, int(values.get("__removed") or 0), 0, False)

    def _prepared(
        self, check: CheckSpec, plugin: DatasetCheck, df: DataFrame, frames: Mapping[str, DataFrame], prefix: str
    ) -> DataFrame:
        from pyspark.errors import AnalysisException

        try:
            return plugin.prepare(check, df, frames, prefix)
        except AnalysisException as exc:
            raise _check_error(check, exc) from exc

    def _measures(self, dataset: list[tuple[CheckSpec, DatasetCheck]]) -> list[Column]:
        from pyspark.sql import functions as F

        columns = [F.count(F.lit(1)).alias("__rows")]
        if removing := self.removing():
            columns.append(F.sum(any_flag([c.name for c in removing]).cast("long")).alias("__removed"))
        if quarantining := self.quarantining():
            columns.append(F.sum(any_flag([c.name for c in quarantining]).cast("long")).alias("__quarantined"))
        for i, (check, _) in enumerate(self.row_checks):
            columns.append(F.sum(flag(check.name).cast("long")).alias(f"__r{i}_failed"))
        for i, (check, plugin) in enumerate(dataset):
            columns += plugin.measures(check, f"__d{i}")
        return columns

    def _sample_row(self) -> Column:
        """The stage's columns as shown in the report: sensitive ones masked."""
        from pyspark.sql import functions as F

        return F.struct(
            *[F.lit(MASK).alias(c) if c.lower() in self.sensitive else F.col(quote(c)) for c in self.columns]
        )

    def _pick_samples(self, measured: DataFrame, wanted: list[tuple[CheckResult, Column, Column, int]]) -> None:
        """A few failing rows per check that found some, in one LIMIT query for the stage.

        Kept out of the counting aggregation on purpose: collecting rows there (``min_by`` of
        structs) makes Spark fall back from its generated hash aggregation to an interpreted one,
        which tripled the cost of the check pass. A LIMIT stops reading as soon as it has its rows;
        a check whose failures are rare next to another's gets its own small query.
        """
        from pyspark.sql import functions as F

        if not wanted:
            return
        cap = min(1000, 10 * sum(k for *_, k in wanted))
        failing = reduce(lambda a, b: a | b, [f for _, f, _, _ in wanted])
        picked = measured.filter(failing).select(
            *[F.when(f, v).alias(f"s{i}") for i, (_, f, v, _) in enumerate(wanted)]
        )
        rows = self._collect_rows(picked.limit(cap))
        for i, (result, failing_row, value, k) in enumerate(wanted):
            result.samples = _distinct([r[f"s{i}"] for r in rows])[:k]
            if len(result.samples) < min(k, result.rows_failed or 0):
                more = self._collect_rows(measured.filter(failing_row).select(value.alias("s")).limit(k))
                result.samples = _distinct(result.samples + [r["s"] for r in more])[:k]

    def _collect_rows(self, df: DataFrame) -> list[dict[str, Any]]:
        group = quality_samples_job_group(self.stage.name)
        try:
            with job_group(df.sparkSession, group, f"etl-cli: sample failing rows of stage {self.stage.name}"):
                return [row.asDict(recursive=True) for row in df.collect()]
        except Exception as exc:
            raise RunError(f"sampling the failing rows of stage '{self.stage.name}' failed: {first_line(exc)}") from exc

    def _collect(self, measured: DataFrame, columns: list[Column]) -> dict[str, Any]:
        from pyspark.errors import AnalysisException

        group = quality_job_group(self.stage.name)
        try:
            with job_group(measured.sparkSession, group, f"etl-cli: quality checks on stage {self.stage.name}"):
                row = measured.agg(*columns).collect()[0]
        except AnalysisException as exc:
            raise ConfigError(
                f"the checks on stage '{self.stage.name}' cannot be evaluated: {first_line(exc)}",
                location=self.stage.location,
                hint="check the column names and expressions of the checks on this stage",
            ) from exc
        except Exception as exc:
            raise RunError(f"evaluating the checks on stage '{self.stage.name}' failed: {first_line(exc)}") from exc
        return row.asDict(recursive=True)

    def _judge_row(self, index: int, check: CheckSpec, values: Mapping[str, Any], evaluated: int) -> CheckResult:
        failed = int(values[f"__r{index}_failed"] or 0)
        breached = check.threshold.breached(failed, evaluated)
        return _result(
            check,
            "row",
            _outcome(check, failed, breached),
            evaluated,
            failed,
            samples=[],
            rows_removed=failed if check.removes_rows else 0,
        )

    def _judge_dataset(
        self, check: CheckSpec, plugin: DatasetCheck, values: Mapping[str, Any], evaluated: int
    ) -> CheckResult:
        measured = plugin.judge(check, values, evaluated)
        outcome = _outcome(check, measured.rows_failed, measured.breached)
        return _result(
            check,
            "dataset",
            outcome,
            evaluated,
            measured.rows_failed,
            samples=measured.samples,
            observed=measured.observed,
            threshold=plugin.takes_threshold,
        )


def _check_error(check: CheckSpec, exc: Exception) -> ConfigError:
    return ConfigError(
        f"{check.label} cannot be evaluated: {first_line(exc)}",
        location=check.location,
        hint="check the column names and the Spark SQL syntax",
    )


def _outcome(check: CheckSpec, failed: int | None, breached: bool) -> Outcome:
    if breached:
        return "failed" if check.severity == "error" else "warned"
    return "tolerated" if failed else "passed"


def _result(
    check: CheckSpec,
    level: str,
    outcome: Outcome,
    evaluated: int,
    failed: int | None,
    *,
    samples: list[Any],
    rows_removed: int = 0,
    observed: dict[str, Any] | None = None,
    threshold: bool = True,
) -> CheckResult:
    return CheckResult(
        name=check.name,
        stage=check.stage,
        type=check.type,
        level=level,
        action=check.action,
        severity=check.severity,
        outcome=outcome,
        rows_evaluated=evaluated,
        rows_failed=failed,
        failure_rate=None if failed is None else (failed / evaluated if evaluated else 0.0),
        threshold=check.threshold.to_json() if threshold else None,
        rows_removed=rows_removed,
        samples=samples,
        observed=observed or {},
        defined_at=str(check.location) if check.location else None,
    )


def _skipped(check: CheckSpec, note: str, level: str = "dataset") -> CheckResult:
    return CheckResult(check.name, check.stage, check.type, level, check.action, check.severity, "skipped", note=note)


def _distinct(samples: list[Any]) -> list[Any]:
    """Samples without repeats (two random keys can pick the same row), JSON-safe."""
    seen: dict[str, Any] = {}
    for sample in samples:
        if sample is None:
            continue
        text = json.dumps(sample, sort_keys=True, default=str)
        seen.setdefault(text, json.loads(text))
    return list(seen.values())
