"""Selectors in the dbt style over a project DAG built by hand (etl_cli/orchestration/selectors.py).

The DAG (arrows: runs before)::

    stage_orders ──┐
                   ├─> enrich ─> revenue ─> summary
    stage_people ──┘        └──> report
    audit (alone)

Folders: pipelines/staging/{stage_orders,stage_people}, pipelines/finance/{enrich,revenue,summary},
pipelines/reports/report, pipelines/audit. Tags: staging on both stage_*, finance on enrich, revenue and
summary, daily on revenue and report.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from etl_cli.errors import ExitCode, UsageError
from etl_cli.orchestration.dag import DagEdge, DagPipeline, ProjectDag
from etl_cli.orchestration.selectors import select

ROOT = Path("/project")
FOLDERS = {
    "stage_orders": ("pipelines/staging/stage_orders", ("staging",)),
    "stage_people": ("pipelines/staging/stage_people", ("staging",)),
    "enrich": ("pipelines/finance/enrich", ("finance",)),
    "revenue": ("pipelines/finance/revenue", ("finance", "daily")),
    "summary": ("pipelines/finance/summary", ("finance",)),
    "report": ("pipelines/reports/report", ("daily",)),
    "audit": ("pipelines/audit", ()),
}
EDGES = (
    DagEdge("stage_orders", "enrich", "dataset", "out/orders"),
    DagEdge("stage_people", "enrich", "dataset", "out/people"),
    DagEdge("enrich", "revenue", "dataset", "out/enriched"),
    DagEdge("enrich", "report", "dataset", "out/enriched"),
    DagEdge("revenue", "summary", "depends_on"),
)
#: the order of a run: ready together, by name
ORDER = ["audit", "stage_orders", "stage_people", "enrich", "report", "revenue", "summary"]


def _dag() -> ProjectDag:
    pipelines = {
        name: DagPipeline(name, ROOT / folder / "pipeline.yaml", folder, tags, None)
        for name, (folder, tags) in FOLDERS.items()
    }
    return ProjectDag(ROOT, MappingProxyType(pipelines), EDGES)


def test_no_selector_selects_every_pipeline_in_run_order() -> None:
    assert select(_dag(), []) == ORDER


def test_a_name_selects_that_pipeline_only() -> None:
    assert select(_dag(), ["enrich"]) == ["enrich"]


def test_name_plus_adds_everything_downstream() -> None:
    assert select(_dag(), ["enrich+"]) == ["enrich", "report", "revenue", "summary"]


def test_plus_name_adds_everything_upstream() -> None:
    assert select(_dag(), ["+revenue"]) == ["stage_orders", "stage_people", "enrich", "revenue"]


def test_plus_name_plus_adds_both_directions() -> None:
    assert select(_dag(), ["+report+"]) == ["stage_orders", "stage_people", "enrich", "report"]


def test_tag_selects_every_pipeline_tagged_so() -> None:
    assert select(_dag(), ["tag:daily"]) == ["report", "revenue"]


def test_tag_plus_adds_what_is_downstream_of_any_tagged_pipeline() -> None:
    assert select(_dag(), ["tag:staging+"]) == [
        "stage_orders",
        "stage_people",
        "enrich",
        "report",
        "revenue",
        "summary",
    ]


def test_path_selects_the_pipelines_in_a_folder_and_below() -> None:
    assert select(_dag(), ["path:pipelines/finance"]) == ["enrich", "revenue", "summary"]


def test_path_matches_whole_folder_names_not_prefixes_of_them() -> None:
    with pytest.raises(UsageError):
        select(_dag(), ["path:pipelines/fin"])


def test_path_may_end_with_a_slash_or_name_one_pipeline_folder() -> None:
    assert select(_dag(), ["path:pipelines/reports/"]) == ["report"]
    assert select(_dag(), ["path:pipelines/audit"]) == ["audit"]


def test_several_selectors_select_their_union_in_run_order() -> None:
    assert select(_dag(), ["summary", "tag:staging", "audit"]) == ["audit", "stage_orders", "stage_people", "summary"]


def test_exclude_takes_pipelines_out_of_the_selection() -> None:
    assert select(_dag(), ["enrich+"], exclude=["revenue+"]) == ["enrich", "report"]


def test_exclude_alone_takes_pipelines_out_of_everything() -> None:
    assert select(_dag(), [], exclude=["path:pipelines/finance", "tag:staging"]) == ["audit", "report"]


def test_an_unknown_name_is_a_usage_error_with_a_suggestion() -> None:
    with pytest.raises(UsageError) as caught:
        select(_dag(), ["revenu+"])
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.message == "selector 'revenu+': no pipeline named 'revenu'"
    assert caught.value.hint == "did you mean 'revenue'?"


def test_an_unknown_tag_is_a_usage_error_naming_the_tags() -> None:
    with pytest.raises(UsageError) as caught:
        select(_dag(), ["tag:weekly"])
    assert caught.value.message == "selector 'tag:weekly': no pipeline is tagged 'weekly'"
    assert caught.value.hint == "choose one of: daily, finance, staging"


def test_an_unknown_path_suggests_a_folder_that_holds_pipelines() -> None:
    with pytest.raises(UsageError) as caught:
        select(_dag(), ["path:pipelines/finanse"])
    assert caught.value.hint == "did you mean 'pipelines/finance'?"


def test_an_unknown_exclude_is_an_error_too() -> None:
    with pytest.raises(UsageError) as caught:
        select(_dag(), [], exclude=["tag:nightly"])
    assert caught.value.message == "selector 'tag:nightly': no pipeline is tagged 'nightly'"


@pytest.mark.parametrize("text", ["+", "++", "a++", "tag:", "path:", "+tag:+"])
def test_a_selector_without_a_name_or_with_plus_inside_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        select(_dag(), [text])
    assert caught.value.message == f"'{text}' is not a selector"
