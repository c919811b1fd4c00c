"""``etl-cli create-pipeline`` typed at a keyboard: examples, choices that fit, re-asking, going back, keeping the
answers, the input's columns, and the folder relative paths start at.

Each test runs the installed ``etl-cli`` in a pseudo-terminal; what it expects on the screen and in the written
files is written out by hand from the keys typed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .clihelp import etl_cli
from .ptyhelp import CLEAR_LINE, DOWN, ENTER, Terminal

PROJECT_FILE = "name: wizard-terminal\nenvironments: {dev: {}, prod: {protected: true}}\n"
ORDERS = "order_id,customer_id,amount,status,updated_at\n1,7,5.0,paid,2026-01-01\n2,8,3.5,open,2026-01-02\n"
#: every question of the files_to_parquet template answered, but the one a test is about
FILES_ANSWERS = {
    "params.input_path": "data/orders.csv",
    "params.input_format": "csv",
    "params.output_path": "output/x",
    "params.mode": "overwrite",
    "description": "",
    "transforms": "",
    "checks": "",
    "sink.partition_by": "",
    "test": "no",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "etl-project.yaml").write_text(PROJECT_FILE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(ORDERS)
    return tmp_path


def wizard(cwd: Path, name: str, *, leave: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> Terminal:
    """The wizard on the files_to_parquet template, every answer given but the keys in ``leave``."""
    given = [f"--answer={key}={value}" for key, value in FILES_ANSWERS.items() if key not in leave]
    return Terminal("etl-cli", "create-pipeline", "--name", name, "--template", "files_to_parquet", *given, *extra,
                    cwd=cwd)  # fmt: skip


def params_of(folder: Path) -> dict[str, object]:
    return dict(yaml.safe_load((folder / "pipeline.yaml").read_text())["extends"]["params"])


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_an_example_is_shown_as_an_example_and_enter_does_not_take_it(project: Path) -> None:
    term = wizard(project, "ex", leave=("params.input_path",))
    term.expect("Enter accepts the pre-filled answer")
    term.expect("input_path")
    term.expect("e.g. data/orders.csv")
    term.type(ENTER)
    term.expect("an answer is needed (data/orders.csv is an example, not a default)")
    term.line("data/orders.csv")
    assert term.wait() == 0, term.screen
    assert "(data/orders.csv)" not in term.screen
    assert params_of(project / "pipelines" / "ex")["input_path"] == "data/orders.csv"


def test_the_files_template_offers_only_the_formats_it_can_read(project: Path) -> None:
    term = wizard(project, "formats", leave=("params.input_format",))
    term.expect("input_format")
    term.expect("parquet")
    offered = term.screen[term.screen.rindex("input_format") :]
    offered_formats = re.findall(r"\b(csv|delta|jdbc|json|kafka|orc|parquet)\b", offered)
    assert offered_formats == ["csv", "delta", "json", "orc", "parquet"]
    term.type(DOWN + DOWN + ENTER)
    assert term.wait() == 0, term.screen
    assert params_of(project / "pipelines" / "formats")["input_format"] == "json"


def test_a_given_answer_that_is_refused_is_asked_again_with_the_reason(project: Path) -> None:
    term = wizard(project, "remode", leave=("params.mode",), extra=("--answer", "params.mode=sideways"))
    term.expect("params.mode: choose one of: overwrite, append, error, ignore")
    term.expect("mode")
    term.type(DOWN + ENTER)
    assert term.wait() == 0, term.screen
    assert params_of(project / "pipelines" / "remode")["mode"] == "append"


def test_less_than_goes_back_a_step_with_the_earlier_answer_filled_in(project: Path) -> None:
    term = wizard(project, "back", leave=("params.input_path", "params.input_format", "params.output_path"))
    term.expect("< goes back a step")
    term.expect("input_path")
    term.line("data/ordrs.csv")
    term.expect("input_format")
    term.type("<")
    term.expect("input_path")
    term.expect("data/ordrs.csv")
    term.type(CLEAR_LINE)
    term.line("data/orders.csv")
    term.expect("input_format")
    term.type(ENTER)
    term.expect("output_path")
    term.type(CLEAR_LINE)
    term.line("<")
    term.expect("input_format")
    term.type(DOWN + DOWN + ENTER)
    term.expect("output_path")
    term.line()
    assert term.wait() == 0, term.screen
    assert params_of(project / "pipelines" / "back") == {
        "input_path": "data/orders.csv",
        "input_format": "json",
        "output_path": "output/back",
        "mode": "overwrite",
    }


def test_an_invalid_result_keeps_the_answers_in_a_file_to_rerun_with(project: Path) -> None:
    window = ("window.partition_by=", "window.order_by=", "window.columns=prev=lag(amount)")
    term = wizard(project, "bad", extra=("--transforms", "window", *(f"--answer={answer}" for answer in window)))
    term.expect("invalid")
    term.expect("lag needs order_by")
    term.expect("Save the answers")
    term.expect("bad.answers.yaml")
    term.type(ENTER)
    assert term.wait() == 1, term.screen
    assert "etl-cli create-pipeline --answers bad.answers.yaml" in one_line(term.screen)
    assert not (project / "pipelines" / "bad").exists()
    saved = yaml.safe_load((project / "bad.answers.yaml").read_text())
    assert saved == {
        "name": "bad",
        "description": "",
        "template": "files_to_parquet",
        "params": {
            "input_path": "data/orders.csv",
            "input_format": "csv",
            "output_path": "output/x",
            "mode": "overwrite",
        },
        "transforms": "window",
        "window": {"partition_by": "", "order_by": "", "columns": "prev=lag(amount)"},
        "checks": "",
        "sink": {"partition_by": ""},
        "test": "no",
    }

    saved["window"]["order_by"] = "order_id"
    (project / "bad.answers.yaml").write_text(yaml.safe_dump(saved))
    rerun = etl_cli("create-pipeline", "--answers", "bad.answers.yaml", cwd=project)
    assert rerun.returncode == 0, rerun.stderr
    written = yaml.safe_load((project / "pipelines" / "bad" / "pipeline.yaml").read_text())
    assert written["transforms"][0]["order_by"] == ["order_id"]


def test_template_descriptions_are_shown_whole_wrapped_to_the_terminal(project: Path) -> None:
    term = Terminal("etl-cli", "create-pipeline", "--name", "t", cwd=project)
    term.child.setwinsize(50, 80)
    term.expect("What does it do")
    term.line()
    term.expect("Start from template")
    term.expect("none:")
    shown = term.screen[term.screen.rindex("Start from template") :]
    assert (
        "jdbc_to_jdbc_upsert: Copy a table from one database into another by upsert (insert new rows, update the "
        "rows whose key exists), in one transaction per run."
    ) in one_line(shown)
    assert max(len(line) for line in shown.splitlines()) <= 80
    term.child.sendintr()
    assert term.wait() == 130


def test_column_questions_offer_the_csv_header_with_completion(project: Path) -> None:
    term = wizard(project, "cols", leave=("transforms", "sink.partition_by"),
                  extra=("--transforms", "filter,aggregate"))  # fmt: skip
    term.expect("Keep rows where")
    term.expect("columns: order_id, customer_id, amount, status, updated_at")
    term.type("stat")
    term.expect("status")  # the completion menu
    term.type("\t")
    term.line(" = 'paid'")
    term.expect("Group by columns")
    term.expect("columns: order_id, customer_id, amount, status, updated_at")
    term.type("cust")
    term.expect("customer_id")
    term.line("\t")
    term.expect("Aggregations")
    term.line("revenue=sum(amount)")
    term.expect("partition_by")
    term.expect("columns: customer_id, revenue")
    term.line()
    assert term.wait() == 0, term.screen
    transforms = yaml.safe_load((project / "pipelines" / "cols" / "pipeline.yaml").read_text())["transforms"]
    assert transforms[0]["condition"] == "status = 'paid'"
    assert transforms[1]["group_by"] == ["customer_id"]


def test_column_questions_offer_the_columns_of_a_local_parquet_file(project: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    pq.write_table(pa.table({"sku": ["a"], "day": ["2026-01-01"], "units": [3]}), project / "data" / "sales.parquet")
    term = wizard(project, "pq", leave=("transforms", "params.input_path", "params.input_format"),
                  extra=("--transforms", "aggregate", "--answer", "params.input_path=data/sales.parquet",
                         "--answer", "params.input_format=parquet"))  # fmt: skip
    term.expect("Group by columns")
    term.expect("columns: sku, day, units")
    term.child.sendintr()
    assert term.wait() == 130


def test_path_questions_name_the_folder_relative_paths_start_at_and_warn_when_the_input_is_not_there(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(ORDERS)
    term = wizard(tmp_path, "loose", leave=("params.input_path",))
    term.expect("input_path")
    pipeline_folder = tmp_path.resolve() / "pipelines" / "loose"
    term.expect("relative paths are relative to the project root")
    term.expect(str(pipeline_folder))  # on the same line, or the next when the path is long
    assert f"relative paths are relative to the project root {pipeline_folder}" in one_line(term.screen)
    term.line("data/orders.csv")
    term.expect("warning")
    term.expect("../../data/orders.csv")
    assert term.wait() == 0, term.screen
    assert f"{pipeline_folder}/data/orders.csv, which does not exist" in one_line(term.screen)
