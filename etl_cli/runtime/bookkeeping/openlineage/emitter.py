"""A run's OpenLineage events, sent through the official client, never at the run's expense.

START goes out when the run has its lock, COMPLETE, FAIL or ABORT when its outcome is
recorded. An event that cannot be built or sent (a consumer that is down, a broker that
does not acknowledge, a secret that cannot be read) costs one warning per run and a line in
the run results' ``lineage``; the run's outcome and exit code stay what they were. Nothing
here asks Spark for anything: the schemas come from the executor, which reads them from the
analysed frames as it builds them, and the row counts from the run results.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, OutputDataset, RunState
from openlineage.client.facet_v2 import column_lineage_dataset
from openlineage.client.transport import get_default_factory
from openlineage.client.uuid import generate_new_uuid

from etl_cli.events import Reporter
from etl_cli.lineage.engine import pipeline_lineage
from etl_cli.lineage.model import LineageGraph
from etl_cli.lineage.naming import dataset_name
from etl_cli.model.lineage import LineageSpec, ParentRun
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan
from etl_cli.plugins.registry import Registry
from etl_cli.runtime.bookkeeping.openlineage.columns import column_lineage
from etl_cli.runtime.bookkeeping.openlineage.datasets import (
    Columns,
    StageDataset,
    declared_columns,
    input_dataset,
    output_dataset,
    stage_datasets,
)
from etl_cli.runtime.bookkeeping.openlineage.events import PRODUCER, RunIdentity, identity, run_event
from etl_cli.runtime.bookkeeping.results import RunResults
from etl_cli.runtime.safeguards.resilience import first_line

#: a Kafka producer that cannot deliver gives up after this long (librdkafka's default is five minutes)
KAFKA_DELIVERY_TIMEOUT_MS = 10_000
#: how long closing the client may wait for events still in flight
CLOSE_TIMEOUT_S = 10.0
_STATE_OF = {"success": RunState.COMPLETE, "failed": RunState.FAIL}


class RunLineage:
    """The OpenLineage events of one run, and what became of them (the run results' ``lineage``)."""

    def __init__(
        self,
        spec: PipelineSpec,
        plan: Plan,
        registry: Registry,
        results: RunResults,
        reporter: Reporter,
        parent: ParentRun | None,
        resolve: Callable[[Any], Any],
        mask: Callable[[str], str],
    ):
        assert spec.lineage is not None
        self.settings: LineageSpec = spec.lineage
        self.reporter, self.resolve, self.mask = reporter, resolve, mask
        self.run: RunIdentity = identity(spec, str(generate_new_uuid()), results.run_id, results.started_at, parent)
        #: the columns of each source and transform as Spark analysed them (the executor fills it in)
        self.schemas: dict[str, list[tuple[str, str]]] = {}
        self.record: dict[str, Any] = {
            "namespace": self.run.namespace,
            "job": self.run.job,
            "run_id": self.run.run_id,
            "transport": self.settings.transport_type,
            "events": [],
        }
        self.spec, self.plan, self.registry = spec, plan, registry
        #: the column lineage, worked out at the first event (inside its guard: nothing here may fail the run)
        self.graph: LineageGraph | None = None
        self._datasets: tuple[list[StageDataset], list[StageDataset]] | None = None
        self._client: OpenLineageClient | None = None
        self._warned = False

    def started(self) -> None:
        """Send START: the datasets with the schemas known before Spark analyses anything."""
        self._send(RunState.START, _now(), _installed_spark())

    def datasets(self) -> tuple[list[StageDataset], list[StageDataset]]:
        """The named datasets the sources read and the sinks write (and the offline column lineage, once)."""
        if self._datasets is None:
            self.graph = self._graph()
            stages, root = self.plan.stages, self.spec.project_root
            names = {stage.name: dataset_name(stage, root) for stage in stages if stage.kind != "transform"}
            sources = [stage for stage in stages if stage.kind == "source"]
            self._datasets = (stage_datasets(sources, names), stage_datasets(list(self.plan.sinks), names))
        return self._datasets

    def finished(self, results: RunResults) -> dict[str, Any]:
        """Send COMPLETE, FAIL or ABORT for the outcome ``results`` records; return the record of every event.

        The column lineage is worked out again with the schemas Spark gave, which completes what
        the pipeline does not declare (a source without ``schema:``, a ``SELECT *``).
        """
        if self.schemas and self._datasets is not None:
            self.graph = self._graph(self.schemas)
        state = _STATE_OF.get(results.status, RunState.ABORT)
        error = (results.error or {}).get("message") if state is RunState.FAIL else None
        rows = {s.name: s.rows_out for s in results.stages} if state is RunState.COMPLETE else {}
        when = _stamp(results.ended_at) if results.ended_at else _now()
        self._send(state, when, results.spark_version or _installed_spark(), rows, error or None)
        self._close()
        return self.record

    # -- the datasets

    def _inputs(self) -> list[InputDataset]:
        return [input_dataset(found, self._columns(found.stage.name), PRODUCER) for found in self.datasets()[0]]

    def _outputs(self, rows: Mapping[str, int | None]) -> list[OutputDataset]:
        return [
            output_dataset(
                found, self._sink_columns(found), PRODUCER, self._column_lineage(found), rows.get(found.stage.name)
            )
            for found in self.datasets()[1]
        ]

    def _columns(self, stage: str) -> Columns | None:
        """Spark's columns of ``stage`` when the run analysed it, else the declared ones."""
        analysed = self.schemas.get(stage)
        return analysed if analysed is not None else declared_columns(self.graph, f"{self.spec.name}.{stage}")

    def _sink_columns(self, output: StageDataset) -> Columns | None:
        analysed = self.schemas.get(output.stage.inputs[0])
        return analysed if analysed is not None else declared_columns(self.graph, output.name.node_id)

    def _column_lineage(self, output: StageDataset) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
        return column_lineage(self.graph, output.name, PRODUCER) if self.graph is not None else None

    def _graph(self, analysed: Mapping[str, list[tuple[str, str]]] | None = None) -> LineageGraph | None:
        """The column lineage (lineage/engine.py), ``analysed`` schemas completing the declared ones.

        A pipeline the engine cannot read gets events without it, and a warning.
        """
        try:
            return pipeline_lineage(self.spec, self.registry, analysed)
        except Exception as exc:
            reason = self.mask(first_line(exc))
            if "column_lineage" not in self.record:
                self.reporter.message("warning", f"OpenLineage events carry no column lineage: {reason}")
            self.record["column_lineage"] = f"not computed: {reason}"
            return None

    # -- sending

    def _send(
        self,
        state: RunState,
        when: str,
        spark_version: str,
        rows: Mapping[str, int | None] | None = None,
        error: str | None = None,
    ) -> None:
        """Build and send one event; a failure is recorded and warned about (once), never raised."""
        problem: str | None = None
        try:
            event = run_event(state, self.run, when, spark_version, self._inputs(), self._outputs(rows or {}), error)
            with self._client_log() as logged:
                client = self._connected()
                if client.transport.kind == "noop":  # the client's own switch, OPENLINEAGE_DISABLED=true
                    self.record["events"].append({"eventType": state.value, "sent": False, "disabled": True})
                    return
                client.emit(event)
            problem = logged[0] if logged else None
        except Exception as exc:
            problem = first_line(exc)
        self._note(state.value, problem)

    def _note(self, state: str, problem: str | None) -> None:
        entry: dict[str, Any] = {"eventType": state, "sent": problem is None}
        if problem is not None:
            entry["error"] = self.mask(problem)
            self._warn_once(f"OpenLineage {state} event not sent ({self.settings.transport_type}): {entry['error']}")
        self.record["events"].append(entry)

    def _warn_once(self, text: str) -> None:
        if not self._warned:
            self._warned = True
            self.reporter.message("warning", f"{text}; the run goes on")

    def _connected(self) -> OpenLineageClient:
        """The client, on the transport the settings name (created at the first event; again after a failure)."""
        if self._client is None:
            transport = get_default_factory().create(transport_config(self.settings, self.resolve))
            self._client = OpenLineageClient(transport=transport)
        return self._client

    def _close(self) -> None:
        if self._client is None:
            return
        try:
            with self._client_log() as logged:
                delivered = self._client.close(CLOSE_TIMEOUT_S)
        except Exception as exc:
            logged, delivered = [first_line(exc)], False
        if not delivered or logged:
            problem = self.mask(logged[0] if logged else f"events still undelivered after {CLOSE_TIMEOUT_S:.0f} s")
            self.record["delivery_error"] = problem
            self._warn_once(f"OpenLineage events not delivered ({self.settings.transport_type}): {problem}")

    @contextlib.contextmanager
    def _client_log(self) -> Iterator[list[str]]:
        """What the client logs as an error meanwhile (a transport that swallows its failures logs them).

        With the console transport, the events it logs go to stderr, one JSON line each.
        """
        errors = _Collected()
        client_logger = logging.getLogger("openlineage")
        client_logger.addHandler(errors)
        console = _console_output() if self.settings.transport_type == "console" else contextlib.nullcontext()
        try:
            with console:
                yield errors.messages
        finally:
            client_logger.removeHandler(errors)


def transport_config(settings: LineageSpec, resolve: Callable[[Any], Any]) -> dict[str, Any]:
    """The client's transport settings: secrets resolved, a relative file path made the project's."""
    config: dict[str, Any] = resolve(copy.deepcopy(dict(settings.transport)))
    if config["type"] == "file":
        path = Path(config["log_file_path"])
        path = path if path.is_absolute() else settings.project_root / path
        path.parent.mkdir(parents=True, exist_ok=True)
        config["log_file_path"] = str(path)
    if config["type"] == "kafka":
        config["config"] = {"message.timeout.ms": KAFKA_DELIVERY_TIMEOUT_MS, **config["config"]}
    return config


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(first_line(Exception(record.getMessage())))


@contextlib.contextmanager
def _console_output() -> Iterator[None]:
    logger = logging.getLogger("openlineage.client.transport.console")
    handler = logging.StreamHandler(sys.stderr)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _installed_spark() -> str:
    """The installed PySpark's version: the Spark a local session runs (START goes out before the session is up)."""
    try:
        return version("pyspark")
    except PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _stamp(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="milliseconds")
