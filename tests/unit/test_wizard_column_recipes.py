"""The wizard's ``cast``, ``rename`` and ``drop`` recipes: stages written from answers, chained, and valid."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.clihelp import etl_cli


def create(tmp_path: Path, transforms: str, *answers: str) -> tuple[int, str]:
    (tmp_path / "etl-project.yaml").write_text("name: wizard-columns\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("order_id,amount,notes\n1,5.0,a\n2,7.5,b\n")
    args = ["--answer", "params.input_path=data/orders.csv", "--answer", f"transforms={transforms}"]
    args += [a for answer in answers for a in ("--answer", answer)]
    done = etl_cli("create-pipeline", "--name", "tidy", "--template", "files_to_parquet", *args, cwd=tmp_path)
    return done.returncode, done.stdout + done.stderr


def stages(tmp_path: Path) -> list[dict[str, object]]:
    document = yaml.safe_load((tmp_path / "pipelines" / "tidy" / "pipeline.yaml").read_text())
    return [dict(stage) for stage in document["transforms"]]


def test_cast_rename_and_drop_are_chained_in_that_order_and_validate(tmp_path: Path) -> None:
    code, output = create(
        tmp_path,
        "cast,rename,drop",
        "cast.columns=amount = DECIMAL(10,2); order_id = BIGINT",
        "rename.columns=order_id = id",
        "drop.columns=notes",
    )
    assert code == 0, output
    made = stages(tmp_path)
    assert [(s["type"], s["inputs"]) for s in made] == [
        ("cast", ["input"]),
        ("rename", ["converted"]),
        ("drop", ["renamed"]),
    ]
    assert made[0]["columns"] == {"amount": "DECIMAL(10,2)", "order_id": "BIGINT"}
    assert made[1]["columns"] == {"order_id": "id"}
    assert made[2]["columns"] == ["notes"]
    checked = etl_cli("validate", "pipelines/tidy", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_rename_that_is_not_old_equals_new_is_refused_naming_the_question(tmp_path: Path) -> None:
    code, output = create(tmp_path, "rename", "rename.columns=order_id id")
    assert code == 2
    assert "rename.columns" in output
