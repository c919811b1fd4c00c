"""Inspecting a stage and running a pipeline from the studio, on local Spark (one engine for the studio)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.studio.apihelp import FILE, served, write_project

pytestmark = pytest.mark.spark


def test_inspect_a_stage_masks_sensitive_columns_and_run_it(tmp_path: Path, spark: object) -> None:
    from etl_cli.studio.inspect import Inspector

    project = write_project(tmp_path / "shop")
    with served(project) as (client, studio):
        studio._inspector = Inspector()
        studio._inspector.session = spark  # the test session's engine, as the studio keeps its own
        try:
            status, body = client.post("/api/inspect", {"file": FILE, "env": "dev", "stage": "paid", "limit": 20})
            assert status == 200, body
            assert body["count"] == 2  # rows 1 and 3 of data/orders.csv are paid
            assert [(f["name"], f["type"]) for f in body["schema"]] == [
                ("id", "int"),
                ("status", "string"),
                ("email", "string"),
            ]
            assert body["masked"] == ["email"]
            assert [(r["id"], r["status"]) for r in body["rows"]] == [("1", "paid"), ("3", "paid")]
            assert all("example.com" not in r["email"] for r in body["rows"])
            assert client.post("/api/inspect", {"file": FILE, "stage": "nope"})[0] == 404
            # a sink shows what it would write, and writes nothing
            status, body = client.post("/api/inspect", {"file": FILE, "stage": "out", "limit": 1})
            assert status == 200 and body["kind"] == "sink" and len(body["rows"]) == 1
            assert not (project / "output").exists()
        finally:
            studio._inspector.session = None  # the shared test session outlives this studio

        status, body = client.post("/api/run", {"file": FILE, "env": "dev", "params": {}})
        assert status == 200, body
        run_id = body["run_id"]
        deadline = time.monotonic() + 240
        while True:
            status, run = client.get(f"/api/run/{run_id}")
            assert status == 200
            if run["status"] != "running":
                break
            assert time.monotonic() < deadline, run
            time.sleep(0.5)
    assert run["status"] == "succeeded", run
    assert run["exit_code"] == 0
    assert {s["name"]: (s["status"], s["rows_out"]) for s in run["stages"]} == {
        "raw": ("ok", 3),
        "paid": ("ok", 2),
        "out": ("ok", 2),
    }
    assert run["summary"]["run_id"] == run_id
    assert (project / "output" / "orders").is_dir()
