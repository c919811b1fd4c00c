"""What Spark measured of the SQL queries it ran: plan graphs and time metrics, read from its SQL status store.

``run --profile`` reads them once the run's stages are done. The store is the one Spark's UI shows
(``SQLAppStatusStore``: each query's executed plan as a graph, with its metrics); it is filled by a
listener whether the UI is on or off, so it works with etl-cli's sessions, whose UI is off. The
store keeps metric values only as the UI shows them (``"1.9 s"``), so that is what is parsed here:
to the millisecond below a second, 0.1 s below a minute, 0.1 min below an hour, 0.01 h above.

Queries are found by their description: while a step of a run runs, :func:`job_description` sets
Spark's job description, and Spark gives it to every query the step starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl_cli.runtime.spark.connect import is_connect

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: how long to wait for Spark's listener to have recorded the queries that ran (it runs on its own thread)
LISTENER_WAIT_S = 10.0
_JOB_DESCRIPTION = "spark.job.description"
_DURATION = re.compile(r"(\d+(?:\.\d+)?) (ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_CLUSTER = "SparkPlanGraphCluster"
#: the time metrics read, per node: other metrics Spark reports overlap these (see execution/profiling.py)
_READ = {
    "Scan": ("scan time", "metadata time"),
    "BroadcastExchange": ("time to build", "time to broadcast"),
    "write": ("task commit time", "job commit time"),
}
_WRITE_PREFIXES = ("Execute ", "WriteFiles", "AppendData", "OverwriteByExpression", "OverwritePartitionsDynamic")


@dataclass(frozen=True)
class PlanNode:
    """One operator of an executed plan, as the SQL status store holds it."""

    id: int
    name: str
    #: the whole-stage-codegen cluster (Spark's generated code for a chain of operators) holding it
    cluster: int | None = None
    #: the metrics of :data:`_READ` the node has, in seconds
    times: Mapping[str, float] = field(default_factory=dict)
    #: for a ``CollectMetrics`` node: the name of the observation (``Dataset.observe``) it computes
    observation: str | None = None

    @property
    def is_scan(self) -> bool:
        return self.name.startswith(("Scan ", "BatchScan"))

    @property
    def is_write(self) -> bool:
        return self.name.startswith(_WRITE_PREFIXES)


@dataclass(frozen=True)
class SqlQuery:
    """One SQL execution of Spark: its final plan graph and the duration of each codegen cluster."""

    id: int
    description: str
    nodes: Mapping[int, PlanNode]
    #: node id -> the ids of the nodes that read its output
    parents: Mapping[int, tuple[int, ...]]
    #: codegen cluster id -> (its name, ``WholeStageCodegen (3)``, and its summed task duration in seconds)
    clusters: Mapping[int, tuple[str, float]]


def spark_duration_s(text: str | None) -> float | None:
    """Seconds of a time metric as Spark shows it: ``"77 ms"``, ``"1.9 s"``, or a total over tasks,
    ``"total (min, med, max (stageId: taskId))\\n4.8 s (1.6 s, ...)"`` (None when it is not a duration)."""
    if text is None:
        return None
    total = text.split("\n", 1)[1] if text.startswith("total (") and "\n" in text else text
    match = _DURATION.match(total.strip())
    return round(float(match.group(1)) * _SECONDS[match.group(2)], 3) if match else None


@contextmanager
def job_description(session: SparkSession, text: str) -> Iterator[None]:
    """Spark's job description while the block runs: every SQL query started in it carries ``text``."""
    if is_connect(session):  # no profile over Spark Connect: its SQL metrics are the server's
        yield
        return
    context = session.sparkContext
    before = context.getLocalProperty(_JOB_DESCRIPTION)
    context.setLocalProperty(_JOB_DESCRIPTION, text)
    try:
        yield
    finally:
        context.setLocalProperty(_JOB_DESCRIPTION, before)  # type: ignore[arg-type]  # None removes it


def read_queries(session: SparkSession, descriptions: Iterable[str]) -> list[SqlQuery]:
    """The SQL executions whose description is one of ``descriptions``, once Spark has recorded their end.

    Waits (up to :data:`LISTENER_WAIT_S`) for Spark's listener to catch up; a query whose
    metrics are still missing then is left out.
    """
    wanted = set(descriptions)
    jvm_session: Any = session._jsparkSession
    _wait_for_listener(session)
    store = jvm_session.sharedState().statusStore()
    queries = []
    executions = store.executionsList().iterator()
    while executions.hasNext():
        execution = executions.next()
        description = execution.description()
        if description in wanted and execution.metricValues() is not None:
            queries.append(_query(store, execution.executionId(), description))
    return queries


def _wait_for_listener(session: SparkSession) -> None:
    """Spark records a query's end and final metrics on its listener thread: let it process what was posted."""
    context: Any = session.sparkContext._jsc.sc()
    try:
        context.listenerBus().waitUntilEmpty(int(LISTENER_WAIT_S * 1000))
    except Exception:  # a busy listener: read what it has recorded (queries without metrics are left out)
        return


def _query(store: Any, execution_id: int, description: str) -> SqlQuery:
    graph = store.planGraph(execution_id)
    metrics = store.executionMetrics(execution_id)
    nodes: dict[int, PlanNode] = {}
    clusters: dict[int, tuple[str, float]] = {}
    for item in _scala(graph.nodes()):
        if item.getClass().getSimpleName() != _CLUSTER:
            nodes[item.id()] = _node(item, metrics, None)
            continue
        name = item.name()
        clusters[item.id()] = (name, _times(item, ("duration",), metrics).get("duration", 0.0))
        for member in _scala(item.nodes()):
            nodes[member.id()] = _node(member, metrics, item.id())
    parents: dict[int, tuple[int, ...]] = {node: () for node in nodes}
    for edge in _scala(graph.edges()):
        child, parent = edge.fromId(), edge.toId()
        if child in nodes and parent in nodes:
            parents[child] = (*parents[child], parent)
    return SqlQuery(execution_id, description, nodes, parents, clusters)


def _node(node: Any, metrics: Any, cluster: int | None) -> PlanNode:
    name = node.name()
    plain = PlanNode(node.id(), name, cluster)
    read = _READ["Scan"] if plain.is_scan else _READ["write"] if plain.is_write else _READ.get(name, ())
    observation = None
    if name == "CollectMetrics":  # "CollectMetrics etl_rows_orders, [count(1) AS rows#9L]"
        observation = node.desc().removeprefix("CollectMetrics ").split(", ", 1)[0]
    times = _times(node, read, metrics) if read else {}
    return PlanNode(plain.id, name, cluster, times, observation)


def _times(node: Any, names: tuple[str, ...], metrics: Any) -> dict[str, float]:
    """The metrics ``names`` of ``node`` that have a value, in seconds."""
    times = {}
    for metric in _scala(node.metrics()):
        name = metric.name()
        if name not in names:
            continue
        value = metrics.get(metric.accumulatorId())
        seconds = spark_duration_s(value.get() if value.isDefined() else None)
        if seconds is not None:
            times[name] = seconds
    return times


def _scala(sequence: Any) -> Iterator[Any]:
    iterator = sequence.iterator()
    while iterator.hasNext():
        yield iterator.next()
