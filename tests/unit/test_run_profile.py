"""``run --profile``: how Spark's measured times are read and given to stages, on plan graphs written by hand.

The graphs are shaped as Spark 4 records them (node names, codegen clusters, the ``etl_rows_<stage>``
observations of counted stages); every expected second is added up by hand from the times given.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from etl_cli.plugins.api import StageSpec
from etl_cli.runtime.execution.profiling import RunProfile, Step, attribute
from etl_cli.runtime.spark.profile import PlanNode, SqlQuery, spark_duration_s

#: orders and customers -> paid (filter of orders) -> joined (paid with customers) -> per_country -> out
STAGES = [
    StageSpec("orders", "source", "csv", (), {}),
    StageSpec("customers", "source", "parquet", (), {}),
    StageSpec("paid", "transform", "filter", ("orders",), {}),
    StageSpec("joined", "transform", "join", ("paid", "customers"), {}),
    StageSpec("per_country", "transform", "aggregate", ("joined",), {}),
    StageSpec("out", "sink", "parquet", ("per_country",), {}),
]
#: the sink counts per_country's rows: every other source and transform has its own count
COUNTED = {"orders", "customers", "paid", "joined"}
WRITE = Step("sink 'out' (parquet)", "out")

Node = tuple[int, str, int | None, int | None, dict[str, float], str | None]


def query(nodes: Iterable[Node], clusters: dict[int, tuple[str, float]], description: str = "q") -> SqlQuery:
    """A query from (id, name, parent, cluster, times, observation) rows."""
    rows = list(nodes)
    plan_nodes = {row[0]: PlanNode(row[0], row[1], row[3], row[4], row[5]) for row in rows}
    parents = {row[0]: () if row[2] is None else (row[2],) for row in rows}
    return SqlQuery(1, description, plan_nodes, parents, clusters)


def node(id_: int, name: str, parent: int | None, cluster: int | None = None, **times: float) -> Node:
    return (id_, name, parent, cluster, {key.replace("_", " "): value for key, value in times.items()}, None)


def count(id_: int, stage: str, parent: int) -> Node:
    return (id_, "CollectMetrics", parent, None, {}, f"etl_rows_{stage}")


#: the sink's query: final aggregation and write (codegen 3) | shuffle | partial aggregation, join, filter
#: and the CSV scan (codegen 2) | broadcast of customers, read by the Parquet scan (codegen 1)
WRITE_QUERY = query(
    [
        node(0, "AdaptiveSparkPlan", None),
        node(1, "Execute InsertIntoHadoopFsRelationCommand", 0, task_commit_time=0.002, job_commit_time=0.037),
        node(2, "WriteFiles", 1),
        node(4, "HashAggregate", 2, 30),
        node(5, "AQEShuffleRead", 4),
        node(6, "Exchange", 5),
        node(8, "HashAggregate", 6, 70),
        count(9, "joined", 8),
        node(10, "BroadcastHashJoin", 9, 71),
        node(11, "Filter", 10, 71),
        count(12, "paid", 11),
        node(13, "Filter", 12, 72),
        count(14, "orders", 13),
        node(15, "Scan csv ", 14, metadata_time=0.003),
        node(16, "BroadcastExchange", 10, time_to_build=0.144, time_to_broadcast=0.064),
        node(17, "Filter", 16, 60),
        count(18, "customers", 17),
        node(19, "ColumnarToRow", 18, 61),
        node(20, "Scan parquet ", 19, scan_time=0.943, metadata_time=0.040),
    ],
    {
        30: ("WholeStageCodegen (3)", 0.303),
        70: ("WholeStageCodegen (2)", 4.8),
        71: ("WholeStageCodegen (4)", 4.7),
        72: ("WholeStageCodegen (5)", 4.5),
        60: ("WholeStageCodegen (1)", 0.952),
        61: ("WholeStageCodegen (6)", 0.950),
    },
)


def seconds_of(profile: RunProfile) -> dict[str, float]:
    return {name: round(seconds, 3) for name, _, seconds in profile.stages}


def shared(profile: RunProfile) -> dict[tuple[str, ...], float]:
    return {tuple(sorted(part.owners)): round(part.seconds, 3) for part in profile.unattributed}


def test_scans_go_to_their_source_the_write_to_the_sink_a_broadcast_to_its_join() -> None:
    profile = attribute(STAGES, COUNTED, [(WRITE_QUERY, WRITE)])
    assert seconds_of(profile) == {
        "orders": 0.003,  # the CSV file listing: Spark does not time row-by-row scans
        "customers": 0.983,  # scan time 0.943 + listing 0.040
        "paid": 0.0,
        "joined": 0.208,  # building 0.144 and sending 0.064 the broadcast
        "per_country": 0.0,
        "out": 0.039,  # task commits 0.002 + job commit 0.037
    }


def test_code_running_several_stages_in_the_same_tasks_is_unattributed_once() -> None:
    profile = attribute(STAGES, COUNTED, [(WRITE_QUERY, WRITE)])
    assert shared(profile) == {
        ("out", "per_country"): 0.303,  # codegen 3 ran the final aggregation and fed the write
        # codegens 2, 4 and 5 run in the same tasks, each timed from its first row to its last: the longest
        ("joined", "orders", "paid", "per_country"): 4.8,
        ("customers", "joined"): 0.009,  # codegen 1 (0.952) less the scan time it includes (0.943)
    }
    assert profile.operator_time_s == pytest.approx(0.003 + 0.983 + 0.208 + 0.039 + 0.303 + 4.8 + 0.009)


def test_a_query_run_outside_the_stages_is_the_steps_above_every_count() -> None:
    checks = query(
        [
            node(0, "HashAggregate", None, 1),
            node(1, "Exchange", 0),
            node(2, "HashAggregate", 1, 2),
            node(3, "Filter", 2, 2),
            count(4, "customers", 3),
            node(5, "ColumnarToRow", 4, 3),
            node(6, "Scan parquet ", 5, scan_time=0.5),
        ],
        {1: ("WholeStageCodegen (2)", 0.1), 2: ("WholeStageCodegen (1)", 2.0), 3: ("WholeStageCodegen (3)", 1.9)},
    )
    profile = attribute(STAGES, COUNTED, [(checks, Step("quality gate"))])
    assert seconds_of(profile)["customers"] == 0.5
    assert shared(profile) == {("quality gate",): 0.1, ("customers", "quality gate"): 1.5}


def test_a_union_adds_the_time_of_its_inputs_which_run_in_tasks_of_their_own() -> None:
    union = query(
        [
            node(0, "Execute InsertIntoHadoopFsRelationCommand", None),
            node(1, "Union", 0),
            node(2, "Project", 1, 8),
            count(3, "a", 2),
            node(4, "Scan csv ", 3),
            node(5, "Project", 1, 7),
            node(6, "Scan csv ", 5),
        ],
        {8: ("WholeStageCodegen (1)", 0.5), 7: ("WholeStageCodegen (2)", 0.75)},
    )
    stages = [
        StageSpec("a", "source", "csv", (), {}),
        StageSpec("b", "source", "csv", (), {}),
        StageSpec("both", "transform", "union", ("a", "b"), {}),
        StageSpec("out", "sink", "csv", ("both",), {}),
    ]
    profile = attribute(stages, {"a"}, [(union, Step("sink 'out' (csv)", "out"))])
    assert shared(profile) == {("a", "b", "both", "out"): 1.25}


def test_shares_add_up_to_the_operator_time_each_rounded() -> None:
    data = attribute(STAGES, COUNTED, [(WRITE_QUERY, WRITE)]).to_json()
    stages = {stage["stage"]: stage["share_pct"] for stage in data["stages"]}
    assert data["operator_time_s"] == 6.345
    assert stages["customers"] == 15.5  # 0.983 / 6.345
    assert data["unattributed"]["time_s"] == 5.112
    assert data["unattributed"]["share_pct"] == 80.6
    assert data["unattributed"]["parts"][0] == {
        "time_s": 4.8,
        "share_pct": 75.7,
        "stages": ["joined", "orders", "paid", "per_country"],
        "step": "sink 'out' (parquet)",
        "what": "code run in tasks (WholeStageCodegen (2), (4), (5))",
        "query": 1,
    }


@pytest.mark.parametrize(
    ("shown", "seconds"),
    [
        ("77 ms", 0.077),
        ("1.9 s", 1.9),
        ("2.5 m", 150.0),
        ("1.25 h", 4500.0),
        ("total (min, med, max (stageId: taskId))\n4.8 s (1.6 s, 3.1 s, 3.1 s (stage 3.0: task 5))", 4.8),
        ("1,000", None),
        (None, None),
    ],
)
def test_spark_durations_are_read_as_its_ui_shows_them(shown: str | None, seconds: float | None) -> None:
    assert spark_duration_s(shown) == seconds
