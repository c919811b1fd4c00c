"""Where a run's time went (``run --profile``): Spark's measured operator time, attributed to the stages.

A stage's own duration says little: Spark runs a source, its transforms and the sink together, in
the sink's write. So the profile reads what Spark measured in the queries a run executed (see
:mod:`etl_cli.runtime.spark.profile`) and gives each measure to the stage whose operators it timed.
docs/run.md ("Where the time went") says what the numbers mean; in short:

- the time measures taken, each counted once: the code Spark runs in one set of tasks (a
  *segment*: the operators between two shuffles, pipelined in the same tasks; its time is the
  longest duration Spark measured of its generated code, summed over its tasks), a columnar scan's
  ``scan time`` (taken out of its segment), the file listing of a scan, the build and sending of a
  broadcast, and the commit of a write. Spark's other time metrics overlap these;
- operators are mapped to stages by where they sit in the executed plan: each counted stage's
  row count is an observation named ``etl_rows_<stage>``, a node Spark keeps in the plan on top
  of that stage's operators; what is above every count belongs to the step that ran the query
  (the write to the sink of the sink's query), a scan to the one source among the stages there;
- a measure covering the operators of more than one stage (a segment often holds the end of one
  stage and the start of the next) cannot be split: it is reported as unattributed, with the
  stages it covers, never divided by a guess.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli.plan.dag import Plan
from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.spark.profile import PlanNode, SqlQuery, job_description, read_queries

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: where the tasks of one segment end: a shuffle or broadcast (its other side runs in other tasks)
_BOUNDARIES = frozenset(
    {"Exchange", "BroadcastExchange", "ReusedExchange", "Subquery", "SubqueryBroadcast", "ReusedSubquery"}
)
#: nodes that are no stage's work: observations (row counts, checks), adaptive-plan wrappers, shuffle reads
_NEUTRAL = frozenset({"CollectMetrics", "AdaptiveSparkPlan", "AQEShuffleRead", "InputAdapter"})
_SCAN_TIME = "scan time"


@dataclass(frozen=True)
class Step:
    """What the run was doing when Spark ran a query: a stage (``stage`` is its name) or a step around them."""

    label: str
    stage: str | None = None


@dataclass(frozen=True)
class TimePart:
    """One time measure of one query, and the stages whose operators it covers."""

    seconds: float
    owners: frozenset[str]
    what: str
    query: int
    step: Step


@dataclass(frozen=True)
class RunProfile:
    """Each stage's share of the operator time Spark measured, and what no single stage can be given."""

    #: (stage name, kind, seconds) in plan order
    stages: tuple[tuple[str, str, float], ...]
    unattributed: tuple[TimePart, ...]
    queries: int

    @property
    def operator_time_s(self) -> float:
        return sum(seconds for _, _, seconds in self.stages) + sum(part.seconds for part in self.unattributed)

    def to_json(self) -> dict[str, Any]:
        """The ``profile`` of the run results: seconds rounded to the millisecond, shares in percent."""
        total = self.operator_time_s

        def share(seconds: float) -> float:
            return round(100 * seconds / total, 1) if total else 0.0

        parts = sorted(self.unattributed, key=lambda part: -part.seconds)
        return {
            "operator_time_s": round(total, 3),
            "queries": self.queries,
            "stages": [
                {"stage": name, "kind": kind, "time_s": round(seconds, 3), "share_pct": share(seconds)}
                for name, kind, seconds in self.stages
            ],
            "unattributed": {
                "time_s": round(sum(part.seconds for part in parts), 3),
                "share_pct": share(sum(part.seconds for part in parts)),
                "parts": [_part_json(part, share(part.seconds)) for part in parts],
            },
        }


def _part_json(part: TimePart, share_pct: float) -> dict[str, Any]:
    return {
        "time_s": round(part.seconds, 3),
        "share_pct": share_pct,
        "stages": sorted(owner for owner in part.owners if owner != part.step.label),
        "step": part.step.label,
        "what": part.what,
        "query": part.query,
    }


class RunProfiler:
    """Tags the Spark queries of each step of a run, then attributes what Spark measured of them."""

    def __init__(self, plan: Plan, session: SparkSession, run_id: str):
        self.plan, self.session, self.run_id = plan, session, run_id
        self._steps: dict[str, Step] = {}

    @contextmanager
    def step(self, label: str, stage: str | None = None) -> Iterator[None]:
        """Queries Spark starts in the block are the step's (their description says so, in Spark's UI too)."""
        description = f"etl-cli {self.run_id}: {label}"
        self._steps[description] = Step(label, stage)
        with job_description(self.session, description):
            yield

    def profile(self, counted: set[str]) -> RunProfile:
        """The profile of the steps run so far; ``counted``: the stages whose rows were counted (observed)."""
        queries = read_queries(self.session, self._steps)
        return attribute(self.plan.stages, counted, [(query, self._steps[query.description]) for query in queries])


def attribute(stages: Sequence[StageSpec], counted: set[str], queries: list[tuple[SqlQuery, Step]]) -> RunProfile:
    """Give every time measure of ``queries`` to its stage, or to the unattributed parts.

    ``stages``: the pipeline's, in plan order; ``counted``: those whose rows the run counted (observed).
    """
    by_name = {stage.name: stage for stage in stages}
    attributed = dict.fromkeys(by_name, 0.0)
    unattributed = []
    for query, step in queries:
        for part in _QueryParts(by_name, counted, query, step).parts():
            owner = next(iter(part.owners)) if len(part.owners) == 1 else None
            if owner in attributed:
                attributed[owner] += part.seconds
            else:
                unattributed.append(part)
    shares = tuple((name, by_name[name].kind, seconds) for name, seconds in attributed.items())
    return RunProfile(shares, tuple(unattributed), len(queries))


def chain(stages: Mapping[str, StageSpec], stage: str, counted: set[str]) -> frozenset[str]:
    """``stage`` and the stages before it whose rows nobody counted: their operators sit under its count."""
    found = {stage}
    pending = [stage]
    while pending:
        for name in stages[pending.pop()].inputs:
            if name not in counted and name not in found:
                found.add(name)
                pending.append(name)
    return frozenset(found)


class _QueryParts:
    """The time measures of one query, each with the stages whose operators it covers."""

    def __init__(self, stages: Mapping[str, StageSpec], counted: set[str], query: SqlQuery, step: Step):
        self.stages, self.counted, self.query, self.step = stages, counted, query, step
        self.kinds = {name: stage.kind for name, stage in stages.items()}
        self.children: dict[int, list[int]] = {node: [] for node in query.nodes}
        for child, parents in query.parents.items():
            for parent in parents:
                self.children[parent].append(child)
        markers = {f"etl_rows_{name}": chain(stages, name, counted) for name in counted}
        self.territory = self._territories(markers)

    def parts(self) -> Iterator[TimePart]:
        for node in self.query.nodes.values():
            for metric, seconds in node.times.items():
                if metric != _SCAN_TIME and seconds > 0:
                    yield self._part(seconds, self.owners(node), f"{metric} of {node.name.strip()}")
        for root in self._segment_roots():
            yield from self._segment_parts(root)

    def _part(self, seconds: float, owners: frozenset[str], what: str) -> TimePart:
        return TimePart(seconds, owners, what, self.query.id, self.step)

    def _top(self) -> frozenset[str]:
        """Who owns the operators above every count: the step's stage and those it counts, else the step."""
        stage = self.step.stage
        if stage is None:
            return frozenset({self.step.label})
        owners = chain(self.stages, stage, self.counted)
        return owners - {stage} if self.kinds[stage] == "sink" else owners  # a sink's own operators: its writes

    def _territories(self, markers: Mapping[str, frozenset[str]]) -> dict[int, frozenset[str]]:
        """For each node, the stages whose operators may be there: those of the nearest count above it."""
        territory: dict[int, frozenset[str]] = {}
        pending = [(node, self._top()) for node, parents in self.query.parents.items() if not parents]
        while pending:
            node, owners = pending.pop()
            known = territory.get(node, frozenset())
            if known and owners <= known:
                continue
            territory[node] = known | owners
            below = markers.get(self.query.nodes[node].observation or "", owners)
            pending.extend((child, below) for child in self.children[node])
        return territory

    def owners(self, node: PlanNode) -> frozenset[str]:
        """The stages ``node`` works for: a write is the sink's, a scan the source's, else its territory's."""
        territory = self.territory.get(node.id, frozenset())
        if node.is_write and self.step.stage is not None and self.kinds[self.step.stage] == "sink":
            return frozenset({self.step.stage})
        sources = {name for name in territory if self.kinds.get(name) == "source"}
        if node.is_scan and len(sources) == 1:
            return frozenset(sources)
        return territory

    def _segment_roots(self) -> list[int]:
        nodes = self.query.nodes
        roots = [node for node, parents in self.query.parents.items() if not parents]
        boundaries = [node for node in nodes.values() if node.name in _BOUNDARIES]
        return roots + [child for node in boundaries for child in self.children[node.id]]

    def _segment(self, root: int) -> list[int]:
        """The nodes the tasks of one segment run: from ``root`` down to the next shuffle or broadcast."""
        members, pending = [], [root]
        while pending:
            node = pending.pop()
            if node in members or self.query.nodes[node].name in _BOUNDARIES:
                continue
            members.append(node)
            pending.extend(self.children[node])
        return members

    def _segment_parts(self, root: int) -> Iterator[TimePart]:
        members = self._segment(root)
        nodes = [self.query.nodes[member] for member in members]
        scans = [node for node in nodes if node.times.get(_SCAN_TIME, 0) > 0]
        for scan in scans:
            yield self._part(scan.times[_SCAN_TIME], self.owners(scan), f"scan time of {scan.name.strip()}")
        rest = self._span(root, set(members)) - sum(scan.times[_SCAN_TIME] for scan in scans)
        if rest > 0:
            owners = frozenset().union(*(self.owners(node) for node in nodes if node.name not in _NEUTRAL))
            clusters = {self.query.clusters[node.cluster][0] for node in nodes if node.cluster is not None}
            yield self._part(rest, owners, f"code run in tasks ({_cluster_names(clusters)})")

    def _span(self, root: int, members: set[int]) -> float:
        """The tasks' time of a segment: its longest codegen duration (they overlap: each is the time from
        its first row to its last, and rows flow through all at once), but the sum over a union's inputs
        (each input is read by tasks of its own)."""
        spans: dict[int, float] = {}
        for node in _post_order(root, members, self.children):
            below = [spans[child] for child in self.children[node] if child in members]
            span = sum(below) if self.query.nodes[node].name == "Union" else max(below, default=0.0)
            cluster = self.query.nodes[node].cluster
            if cluster is not None and self._tops_cluster(node, cluster):
                span = max(span, self.query.clusters[cluster][1])
            spans[node] = span
        return spans[root]

    def _tops_cluster(self, node: int, cluster: int) -> bool:
        return all(self.query.nodes[parent].cluster != cluster for parent in self.query.parents[node])


def _post_order(root: int, members: set[int], children: Mapping[int, list[int]]) -> list[int]:
    """``root``'s segment, children before parents (without recursion: plans can be deep)."""
    order: list[int] = []
    pending = [(root, False)]
    seen: set[int] = set()
    while pending:
        node, expanded = pending.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            pending.append((node, True))
            pending.extend((child, False) for child in children[node] if child in members)
    return order


def _cluster_names(names: set[str]) -> str:
    """``WholeStageCodegen (3), (4), (10)``: Spark's names of the generated code, as its UI shows them."""
    ordered = sorted(names, key=lambda name: (len(name), name))
    prefix = "WholeStageCodegen "
    if all(name.startswith(prefix) for name in ordered):
        return prefix + ", ".join(name.removeprefix(prefix) for name in ordered)
    return ", ".join(ordered)
