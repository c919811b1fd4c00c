"""Every pipeline under tests/corpus/broken is rejected with clear, placed messages and exit 1.

Each case folder holds the broken pipeline and an ``expect.yaml`` listing the
diagnostics it must produce (code, and where it applies: file, line, column, hint).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl_cli.cli.main import main

CORPUS = Path(__file__).parent / "corpus" / "broken"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def run_validate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def _matches(diagnostic: dict[str, Any], expected: dict[str, Any], case: str) -> bool:
    for key, value in expected.items():
        if key == "file":
            if not (diagnostic["file"] or "").endswith(f"{case}/{value}"):
                return False
        elif key == "message_contains":
            if value not in diagnostic["message"]:
                return False
        elif key == "severity":
            if diagnostic["severity"] != value:
                return False
        elif diagnostic.get(key) != value:
            return False
    return True


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES)
def test_broken_pipeline_reports_expected_diagnostics(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    expect = yaml.safe_load((CORPUS / case / "expect.yaml").read_text())
    args = [str(CORPUS / case), "--format", "json"] + (["--env", expect["env"]] if expect.get("env") else [])
    code, out, err = run_validate(args, capsys)
    assert code == 1, err
    report = json.loads(out)
    diagnostics = report["results"][0]["diagnostics"]
    for expected in expect["diagnostics"]:
        expected.setdefault("severity", "error")
        if "file" not in expected:
            expected["file"] = "pipeline.yaml"
        if expected["code"] in ("missing-key",) and "line" not in expected:
            expected.pop("file")
        if expected["severity"] == "warning":
            expected.pop("file", None)
        assert any(_matches(d, expected, case) for d in diagnostics), (expected, diagnostics)


@pytest.mark.parametrize("case", CASES)
def test_broken_pipeline_text_output_is_a_message_not_a_traceback(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    expect = yaml.safe_load((CORPUS / case / "expect.yaml").read_text())
    args = [str(CORPUS / case)] + (["--env", expect["env"]] if expect.get("env") else [])
    code, out, err = run_validate(args, capsys)
    assert code == 1
    assert "Traceback" not in out + err
    assert f"{case}/" in out
    assert "error:" in out
