"""The wizard's ``sort`` recipe: a top-N written from two answers, and a pipeline that validates."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.clihelp import etl_cli


def create(tmp_path: Path, *answers: str) -> tuple[int, str]:
    (tmp_path / "etl-project.yaml").write_text("name: wizard-sort\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("order_id,amount\n1,5.0\n2,7.5\n")
    args = ["--answer", "params.input_path=data/orders.csv", "--answer", "transforms=sort"]
    args += [a for answer in answers for a in ("--answer", answer)]
    done = etl_cli("create-pipeline", "--name", "top", "--template", "files_to_parquet", *args, cwd=tmp_path)
    return done.returncode, done.stderr


def sort_stage(tmp_path: Path) -> dict[str, object]:
    document = yaml.safe_load((tmp_path / "pipelines" / "top" / "pipeline.yaml").read_text())
    [stage] = [t for t in document["transforms"] if t["type"] == "sort"]
    return dict(stage)


def test_a_top_n_is_the_order_and_the_number_of_rows_to_keep(tmp_path: Path) -> None:
    code, err = create(tmp_path, "sort.order_by=amount desc, order_id", "sort.limit=3")
    assert code == 0, err
    stage = sort_stage(tmp_path)
    assert (stage["order_by"], stage["limit"]) == (["amount desc", "order_id"], 3)
    checked = etl_cli("validate", "pipelines/top", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_without_a_number_every_row_is_kept_in_order(tmp_path: Path) -> None:
    code, err = create(tmp_path, "sort.order_by=amount desc")
    assert code == 0, err
    assert "limit" not in sort_stage(tmp_path)


def test_a_number_below_one_is_refused(tmp_path: Path) -> None:
    code, err = create(tmp_path, "sort.order_by=amount desc", "sort.limit=0")
    assert code != 0
    assert "sort.limit" in err
