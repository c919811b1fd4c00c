"""Edits through the studio's API: checked live, saved only when valid, in the file the value came from,
with comments, key order and indentation kept (each file compared whole with text written by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.serviceshelp import need_module
from tests.studio.apihelp import FILE, PIPELINE, PROD, TEMPLATE, served, write_project

need_module("ruamel.yaml")

OVERLAY = "pipelines/orders/env/prod.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "shop")


def _files(project: Path) -> dict[str, str]:
    return {name: (project / name).read_text(encoding="utf-8") for name in (FILE, OVERLAY, "templates/base.yaml")}


def test_a_pipeline_value_is_saved_in_the_pipeline_file_with_its_comments(project: Path) -> None:
    edits = [{"op": "set_option", "stage": "paid", "path": ["condition"], "value": "status = 'shipped'"}]
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "dev", "edits": edits})
    assert status == 200, body
    assert body["written"] == [FILE]
    assert (
        (project / FILE).read_text(encoding="utf-8")
        == """\
# Orders: the paid ones.
name: orders
extends: base

transforms:
    # keep paid orders only
    -   name: paid
        type: filter
        inputs: [raw]
        condition: "status = 'shipped'" # quoted on purpose

sinks:
    -   name: out
        input: paid
"""
    )
    assert (project / OVERLAY).read_text(encoding="utf-8") == PROD
    assert (project / "templates" / "base.yaml").read_text(encoding="utf-8") == TEMPLATE


def test_an_overlay_value_is_saved_in_the_overlay(project: Path) -> None:
    edits = [{"op": "set_option", "stage": "out", "path": ["path"], "value": "/srv/out/v2"}]
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "prod", "edits": edits})
    assert status == 200, body
    assert body["written"] == [OVERLAY]
    assert (
        (project / OVERLAY).read_text(encoding="utf-8")
        == """\
# prod writes elsewhere
sinks:
  - name: out
    path: /srv/out/v2      # set by ops
"""
    )
    assert (project / FILE).read_text(encoding="utf-8") == PIPELINE
    assert (project / "templates" / "base.yaml").read_text(encoding="utf-8") == TEMPLATE


def test_a_template_value_is_saved_in_the_template(project: Path) -> None:
    (project / "data" / "orders2.csv").write_text("id,status,email\n", encoding="utf-8")
    edits = [{"op": "set_option", "stage": "raw", "path": ["path"], "value": "data/orders2.csv"}]
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "dev", "edits": edits})
    assert status == 200, body
    assert body["written"] == ["templates/base.yaml"]
    assert (project / "templates" / "base.yaml").read_text(encoding="utf-8") == TEMPLATE.replace(
        "    path: data/orders.csv   # the template's input", "    path: data/orders2.csv  # the template's input"
    )
    assert (project / FILE).read_text(encoding="utf-8") == PIPELINE


def test_a_new_stage_connected_and_a_new_option_go_to_the_pipeline_file(project: Path) -> None:
    edits = [
        {
            "op": "add_stage",
            "kind": "transform",
            "name": "recent",
            "type": "sql",
            "inputs": ["paid"],
            "options": {"query": "SELECT * FROM paid WHERE id > 1"},
        },
        {"op": "disconnect", "from": "paid", "to": "out"},
        {"op": "connect", "from": "recent", "to": "out"},
        {"op": "set_option", "stage": "raw", "path": ["options"], "value": {"header": True}},
    ]
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "dev", "edits": edits})
    assert status == 200, body
    assert body["written"] == [FILE]
    assert (
        (project / FILE).read_text(encoding="utf-8")
        == """\
# Orders: the paid ones.
name: orders
extends: base

sources:
    -   name: raw
        options:
            header: true

transforms:
    # keep paid orders only
    -   name: paid
        type: filter
        inputs: [raw]
        condition: "status = 'paid'"   # quoted on purpose
    -   name: recent
        type: sql
        inputs: [paid]
        query: SELECT * FROM paid WHERE id > 1

sinks:
    -   name: out
        input: recent
"""
    )
    assert [(s["id"], s["inputs"]) for s in body["stages"]] == [
        ("raw", []),
        ("paid", ["raw"]),
        ("recent", ["paid"]),
        ("out", ["recent"]),
    ]
    assert (project / "templates" / "base.yaml").read_text(encoding="utf-8") == TEMPLATE


def test_check_shows_a_problem_appear_and_go_without_writing(project: Path) -> None:
    before = _files(project)
    broken = [{"op": "connect", "from": "raw", "to": "paid"}, {"op": "rename_stage", "name": "raw", "new_name": "src"}]
    with served(project) as (client, _):
        status, body = client.post(
            "/api/pipeline/check",
            {"file": FILE, "env": "dev", "edits": [{"op": "set_option", "stage": "paid", "path": ["inputs"],
                                                  "value": ["missing"]}]},
        )  # fmt: skip
        assert status == 200
        errors = [p for p in body["problems"] if p["severity"] == "error"]
        assert [(p["stage"], p["file"], p["line"]) for p in errors] == [("paid", FILE, 9)]
        assert "missing" in errors[0]["message"]
        status, body = client.post(
            "/api/pipeline/check",
            {"file": FILE, "env": "dev", "edits": [{"op": "set_option", "stage": "paid", "path": ["inputs"],
                                                  "value": ["raw"]}]},
        )  # fmt: skip
        assert status == 200 and body["problems"] == []
        # a stage a template defines is not renamed behind other pipelines' backs
        status, body = client.post("/api/pipeline/check", {"file": FILE, "env": "dev", "edits": broken})
        assert status == 200
        assert body["problems"][0]["code"] == "studio-edit" and body["problems"][0]["stage"] == "raw"
    assert _files(project) == before


def test_an_invalid_save_is_refused_and_nothing_is_written(project: Path) -> None:
    before = {name: (project / name).stat().st_mtime_ns for name in (FILE, OVERLAY, "templates/base.yaml")}
    texts = _files(project)
    edits = [
        {"op": "set_option", "stage": "out", "path": ["path"], "value": "/srv/out/v3"},  # valid on its own
        {"op": "set_option", "stage": "paid", "path": ["condition"], "value": None},  # a filter needs one
    ]
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "prod", "edits": edits})
    assert status == 409
    assert body["written"] == []
    assert any(p["severity"] == "error" and p["stage"] == "paid" for p in body["problems"])
    assert _files(project) == texts
    assert {name: (project / name).stat().st_mtime_ns for name in before} == before
    assert sorted(p.name for p in (project / "pipelines" / "orders").iterdir()) == ["env", "pipeline.yaml"]


def test_a_secret_field_takes_a_reference_never_a_literal(project: Path) -> None:
    options = {"url": "jdbc:postgresql://localhost/shop", "table": "orders", "password": "hunter2"}
    stage = {"op": "add_stage", "kind": "source", "name": "db", "type": "jdbc", "options": options}
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "dev", "edits": [stage]})
        assert status == 409
        (refused,) = [p for p in body["problems"] if p["code"] == "literal-credential"]
        assert refused["stage"] == "db"
        assert "hunter2" not in str(body)
        assert (project / FILE).read_text(encoding="utf-8") == PIPELINE

        later = {"op": "set_option", "stage": "db", "path": ["password"], "value": "hunter2"}
        referenced = {**stage, "options": {**stage["options"], "password": "${secret:env:SHOP_DB_PASSWORD}"}}
        status, body = client.post("/api/pipeline/check", {"file": FILE, "env": "dev", "edits": [referenced]})
        assert status == 200
        assert not [p for p in body["problems"] if p["code"] == "literal-credential"]
        db = next(s for s in body["stages"] if s["id"] == "db")
        assert db["options"]["password"] == "${secret:env:SHOP_DB_PASSWORD}"
        status, body = client.post("/api/pipeline/check", {"file": FILE, "env": "dev", "edits": [referenced, later]})
        assert body["problems"][0]["code"] == "literal-credential"
        assert "hunter2" not in str(body)


def test_removing_a_template_stage_deletes_it_in_the_pipeline_file(project: Path) -> None:
    edits = [
        {"op": "remove_stage", "name": "out"},
        {"op": "add_stage", "kind": "sink", "name": "paid_out", "type": "csv", "inputs": ["paid"],
         "options": {"path": "output/paid"}},
    ]  # fmt: skip
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": FILE, "env": "dev", "edits": edits})
    assert status == 200, body
    assert (
        (project / FILE).read_text(encoding="utf-8")
        == """\
# Orders: the paid ones.
name: orders
extends: base

transforms:
    # keep paid orders only
    -   name: paid
        type: filter
        inputs: [raw]
        condition: "status = 'paid'"   # quoted on purpose

sinks:
    - !delete
        name: out
    -   name: paid_out
        type: csv
        input: paid
        path: output/paid
"""
    )
    assert [s["id"] for s in body["stages"]] == ["raw", "paid", "paid_out"]
    assert (project / "templates" / "base.yaml").read_text(encoding="utf-8") == TEMPLATE


DAILY = "pipelines/daily/pipeline.yaml"


@pytest.mark.parametrize(
    "last_line",
    ["    sensitive: [email]", "    path: data/orders.csv   # the shop's export"],
    ids=["flow-list-last", "commented-scalar-last"],
)
def test_a_new_section_is_set_apart_by_a_blank_line_as_the_others_are(project: Path, last_line: str) -> None:
    """ruamel.yaml keeps the blank line after a section with its last value (after a flow list: with the
    section's list): a section inserted between two others gets one too, and removing it gives the file back."""
    written = f"""\
# Daily orders, written by hand.
name: daily

sources:
  - name: orders_raw
    type: csv
{last_line}

sinks:
  - name: orders_out
    type: parquet
    input: orders_raw   # what the sink writes
    path: output/daily
"""
    if "path:" not in last_line:
        written = written.replace("    type: csv\n", "    type: csv\n    path: data/orders.csv\n")
    (project / DAILY).parent.mkdir(parents=True)
    (project / DAILY).write_text(written, encoding="utf-8")
    add = {"op": "add_stage", "kind": "transform", "name": "paid", "type": "filter", "inputs": ["orders_raw"],
           "options": {"condition": "status = 'paid'"}}  # fmt: skip
    edits = [add, {"op": "connect", "from": "paid", "to": "orders_out"}]
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/save", {"file": DAILY, "env": "dev", "edits": edits})
        assert status == 200, body
        assert (project / DAILY).read_text(encoding="utf-8") == written.replace(
            "\nsinks:\n",
            """
transforms:
  - name: paid
    type: filter
    inputs: [orders_raw]
    condition: status = 'paid'

sinks:
""",
        ).replace("input: orders_raw   #", "input: paid         #")
        undo = [{"op": "connect", "from": "orders_raw", "to": "orders_out"}, {"op": "remove_stage", "name": "paid"}]
        status, body = client.post("/api/pipeline/save", {"file": DAILY, "env": "dev", "edits": undo})
        assert status == 200, body
    assert (project / DAILY).read_text(encoding="utf-8") == written
