"""The studio's HTTP API over real HTTP: the token, the project, plug-ins, a pipeline's view, new pipelines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.serviceshelp import need_module
from tests.studio.apihelp import FILE, Client, served, write_project

need_module("starlette")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "shop")


def test_every_request_without_the_token_is_refused(project: Path, tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>studio</title>", encoding="utf-8")
    (static / "studio.js").write_text("export const x = 1;\n", encoding="utf-8")
    with served(project, static) as (client, _):
        for path in ("/", "/api/project", "/api/plugins", f"/api/pipeline?file={FILE}", "/static/studio.js"):
            assert client.get(path, token=None)[0] == 403, path
            assert client.get(path, token="not-the-token")[0] == 403, path
        assert client.post("/api/pipeline/save", {"file": FILE, "edits": []}, token=None)[0] == 403
        assert client.get("/api/project")[0] == 200
        # the page itself: the token in its URL; its files: the cookie the page's answer set
        with urllib.request.urlopen(f"{client.base}/?token={client.token}") as page:
            assert page.read().decode() == "<!doctype html><title>studio</title>"
            cookie = page.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie
            assert "default-src 'self'" in page.headers["content-security-policy"]
        name_value = cookie.split(";")[0]
        request = urllib.request.Request(f"{client.base}/static/studio.js", headers={"Cookie": name_value})
        with urllib.request.urlopen(request) as script:
            assert script.read().decode() == "export const x = 1;\n"
        # the cookie opens the page's files only, not the API
        request = urllib.request.Request(f"{client.base}/api/project", headers={"Cookie": name_value})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403


def test_project_lists_pipelines_dag_and_environments(project: Path) -> None:
    with served(project) as (client, _):
        status, body = client.get("/api/project")
    assert status == 200
    assert body["name"] == "shop"
    assert body["root"] == str(project.resolve())
    assert body["envs"] == ["dev", "prod"]
    assert body["pipelines"] == [{"name": "orders", "file": FILE, "env_default": "dev", "last_run": None}]
    assert body["dag"] == {"nodes": [{"id": "orders", "file": FILE}], "edges": []}


def test_plugins_carry_their_item_schema(project: Path) -> None:
    with served(project) as (client, _):
        status, body = client.get("/api/plugins")
    assert status == 200
    assert set(body) == {"source", "transform", "sink", "check"}
    jdbc = next(p for p in body["source"] if p["type"] == "jdbc")
    assert jdbc["schema"]["required"] == ["name", "type", "url"]
    assert jdbc["schema"]["properties"]["password"]["x-secret"] is True
    assert "x-secret" not in jdbc["schema"]["properties"]["url"]
    parquet = next(p for p in body["sink"] if p["type"] == "parquet")
    assert "overwrite" in parquet["schema"]["properties"]["mode"]["enum"]
    assert any(p["type"] == "not_null" for p in body["check"])


def test_pipeline_view_of_an_environment(project: Path) -> None:
    with served(project) as (client, _):
        status, body = client.get(f"/api/pipeline?file={FILE}&env=prod")
    assert status == 200
    assert body["env"] == "prod"
    assert [(s["id"], s["kind"], s["type"], s["inputs"]) for s in body["stages"]] == [
        ("raw", "source", "csv", []),
        ("paid", "transform", "filter", ["raw"]),
        ("out", "sink", "parquet", ["paid"]),
    ]
    stages = {s["id"]: s for s in body["stages"]}
    assert stages["out"]["options"]["path"] == "/srv/out/orders"  # the overlay's value, merged
    assert stages["raw"]["origin"] == {"file": "templates/base.yaml", "line": 5, "col": 5}
    assert stages["paid"]["origin"] == {"file": FILE, "line": 7, "col": 9}
    assert body["edges"] == [{"from": "raw", "to": "paid"}, {"from": "paid", "to": "out"}]
    assert body["problems"] == []
    layout = body["layout"]
    assert layout["raw"]["x"] < layout["paid"]["x"] < layout["out"]["x"]
    assert sorted(body["yaml"]) == ["pipelines/orders/env/prod.yaml", FILE, "templates/base.yaml"]
    assert body["yaml"][FILE] == (project / FILE).read_text(encoding="utf-8")


def test_problems_are_placed_on_their_stage(project: Path) -> None:
    text = (project / FILE).read_text(encoding="utf-8").replace("inputs: [raw]", "inputs: [nowhere]")
    (project / FILE).write_text(text, encoding="utf-8")
    with served(project) as (client, _):
        status, body = client.get(f"/api/pipeline?file={FILE}")
    assert status == 200
    (problem,) = [p for p in body["problems"] if p["severity"] == "error"]
    assert problem["stage"] == "paid"
    assert (problem["file"], problem["line"]) == (FILE, 9)
    assert "nowhere" in problem["message"]


def test_unknown_pipeline_and_bad_requests(project: Path) -> None:
    with served(project) as (client, _):
        assert client.get("/api/pipeline?file=pipelines/none/pipeline.yaml")[0] == 404
        assert client.get("/api/pipeline?file=../../etc/passwd")[0] == 404
        status, body = client.post("/api/pipeline/check", {"file": FILE, "edits": "no"})
        assert status == 400 and "edits" in body["error"]
        assert client.get("/api/run/nope")[0] == 404


def test_new_pipeline_is_written_by_the_wizard_and_served(project: Path) -> None:
    with served(project) as (client, _):
        status, body = client.post("/api/pipeline/new", {"name": "mini", "template": None})
        assert status == 200, body
        assert body["file"] == "pipelines/mini/pipeline.yaml"
        status, view = client.get("/api/pipeline?file=pipelines/mini/pipeline.yaml")
        again = client.post("/api/pipeline/new", {"name": "mini", "template": None})
    assert status == 200
    assert [(s["id"], s["kind"], s["type"]) for s in view["stages"]] == [
        ("input", "source", "csv"),
        ("output", "sink", "parquet"),
    ]
    written = (project / "pipelines" / "mini" / "pipeline.yaml").read_text(encoding="utf-8")
    assert "path: data/mini.csv" in written
    assert again[0] == 400 and "exists" in again[1]["error"]


def test_the_studio_command_prints_its_url_and_answers_only_with_the_token(project: Path) -> None:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "etl_cli", "studio", str(project), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert process.stdout is not None
        url = None
        for _ in range(5):
            line = process.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+)", line)
            if found:
                url = found
                break
        assert url is not None, "no URL printed"
        printed_after = time.monotonic() - started
        assert printed_after < 20  # no Spark before the first inspection
        client = Client(f"http://127.0.0.1:{url.group(1)}", url.group(2))
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _ = client.get("/api/project", token=None)
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 403
        status, body = client.get("/api/project")
        assert status == 200 and body["pipelines"][0]["name"] == "orders"
        with urllib.request.urlopen(f"{client.base}/?token={client.token}") as page:
            assert page.status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
