"""A pipeline the wizard wrote runs where the wizard said its paths start, also without an ``etl-project.yaml``
(then at the pipeline's own folder, the loader's rule). The expected rows are written by hand."""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds

from tests.clihelp import etl_cli


def test_without_a_project_file_the_pipeline_runs_with_the_path_the_wizard_suggested(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("order_id,amount\n1,5.5\n2,7.25\n")
    suggested = etl_cli(
        "create-pipeline", "--name", "loose", "--template", "files_to_parquet",
        "--answer", "params.input_path=data/orders.csv", cwd=tmp_path,
    )  # fmt: skip
    assert "answer ../../data/orders.csv" in suggested.stderr
    created = etl_cli(
        "create-pipeline", "--name", "fixed", "--template", "files_to_parquet",
        "--answer", "params.input_path=../../data/orders.csv", cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0 and "warning" not in created.stderr, created.stderr

    run = etl_cli("run", "pipelines/fixed", cwd=tmp_path, env={"ETL_STATE_DIR": str(tmp_path / "state")})
    assert run.returncode == 0, run.stdout + run.stderr
    written = ds.dataset(tmp_path / "pipelines" / "fixed" / "output" / "fixed", format="parquet").to_table()
    assert sorted(zip(written["order_id"].to_pylist(), written["amount"].to_pylist(), strict=True)) == [
        (1, 5.5),
        (2, 7.25),
    ]
