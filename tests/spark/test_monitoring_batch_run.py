"""A batch run switched on with ``--monitoring-port`` serves its endpoint while its stages run.

A reporter asks the endpoint when the first stage starts (the run waits for it meanwhile), so the
answers are those of a run in progress on the test's Spark session.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from etl_cli import app
from etl_cli.events import Reporter
from etl_cli.model.monitoring import MonitoringSpec
from etl_cli.runtime.execution.run import execute_run


class Probing(Reporter):
    """Notes the endpoint's URL when the run prints it; asks for /healthz and /metrics when a stage starts."""

    def __init__(self) -> None:
        self.url = ""
        self.answers: dict[str, tuple[int, str]] = {}

    def message(self, level: str, text: str) -> None:
        if text.startswith("monitoring endpoint: "):
            self.url = text.split()[2]

    def stage_started(self, name: str, kind: str, type_: str, index: int, total: int) -> None:
        if index == 1:
            for path in ("/healthz", "/metrics"):
                with urllib.request.urlopen(self.url + path, timeout=10) as response:
                    self.answers[path] = (response.status, response.read().decode())


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_STATE_DIR", str(tmp_path / "state"))


def test_a_batch_run_serves_its_endpoint_while_its_stages_run(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("n\n1\n2\n")
    (tmp_path / "pipeline.yaml").write_text(
        f"""
name: probed
sources: [{{name: a, type: csv, path: {tmp_path / "a.csv"}}}]
sinks: [{{name: out, type: parquet, input: a, path: {tmp_path / "out"}}}]
"""
    )
    _, spec = app.load_spec(tmp_path / "pipeline.yaml", None)
    assert spec.monitoring == MonitoringSpec(enabled=False), "a batch pipeline serves nothing unless asked"
    spec = replace(spec, monitoring=spec.monitoring.on_port(0))  # what run --monitoring-port 0 does
    probing = Probing()
    _, results_file = execute_run(
        spec, app.registry(), probing, app.new_run_id(), results_dir=tmp_path / "results", session=spark
    )

    results = json.loads(Path(results_file).read_text())
    assert results["status"] == "success"
    assert results["monitoring"]["url"] == probing.url and probing.url.startswith("http://127.0.0.1:")
    status, health = probing.answers["/healthz"]
    assert (status, json.loads(health)["spark"]) == (200, "alive")
    status, metrics = probing.answers["/metrics"]
    assert status == 200 and 'etl_run_started_timestamp_seconds{env="default",pipeline="probed"}' in metrics
    assert "etl_run_success" not in metrics, "a run in progress has no outcome yet"
