"""docs/grafana/etl-cli.json: a dashboard Grafana can import, whose every query names metrics etl-cli exports.

tests/integration/test_grafana_dashboard.py runs each query against a real Prometheus; these checks need none.
"""

from __future__ import annotations

import re

import pytest

from tests.unit.dashboard_metrics import batch_run, dashboard, metric_names, streaming_run, targets

BOARD = dashboard()
PANELS = [p for p in BOARD["panels"] if p["type"] != "row"]


def test_every_panel_has_a_unique_id_and_a_place_on_the_grid_that_no_other_panel_takes() -> None:
    ids = [p["id"] for p in BOARD["panels"]]
    assert len(ids) == len(set(ids))
    taken: dict[tuple[int, int], str] = {}
    for panel in BOARD["panels"]:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for cell in (
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        ):
            assert cell not in taken, f"{panel['title']} overlaps {taken[cell]}"
            taken[cell] = panel["title"]


def test_every_panel_queries_the_chosen_data_source_and_every_target_has_an_expr() -> None:
    for panel in PANELS:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]


def test_every_query_is_narrowed_by_the_pipeline_and_env_variables() -> None:
    for title, expr in targets(BOARD):
        assert 'pipeline=~"$pipeline"' in expr and 'env=~"$env"' in expr, title


@pytest.mark.parametrize(("title", "expr"), targets(BOARD))
def test_no_query_falls_back_to_a_made_up_value(title: str, expr: str) -> None:
    # `x or vector(0)`, `absent(x)`: a panel would show 0 (or 1) for a metric that is not there
    assert not re.search(r"\bor\b|\bunless\b|vector\(|absent(_over_time)?\(", expr, re.IGNORECASE), title


def test_the_variables_are_a_prometheus_data_source_and_pipeline_and_env_label_values() -> None:
    variables = {v["name"]: v for v in BOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["pipeline"]["definition"] == "label_values(etl_run_started_timestamp_seconds, pipeline)"
    assert (
        variables["env"]["definition"] == 'label_values(etl_run_started_timestamp_seconds{pipeline=~"$pipeline"}, env)'
    )
    for name in ("pipeline", "env"):
        assert variables[name]["includeAll"] and variables[name]["allValue"] == ".*"


def test_every_metric_the_dashboard_queries_is_one_etl_cli_exports() -> None:
    exported = {f.name for run in (batch_run("p"), streaming_run("s")) for f in run.families()}
    queried = set().union(*(metric_names(expr) for _, expr in targets(BOARD)))

    assert queried - exported == set()
