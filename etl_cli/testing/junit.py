"""JUnit XML for CI systems: one ``testsuite`` per test file, one ``testcase`` per test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from etl_cli.config.yaml_loader import display_path
from etl_cli.testing.runner import TestOutcome


def write_junit(path: Path, outcomes: Sequence[TestOutcome]) -> None:
    """``outcomes`` as JUnit XML: an unmet expectation is a ``failure``, a test that could not run an ``error``."""
    root = ET.Element("testsuites", name="etl-cli test")
    suites: dict[str, ET.Element] = {}
    for outcome in outcomes:
        file = display_path(outcome.test.file)
        suite = suites.get(file)
        if suite is None:
            suite = suites[file] = ET.SubElement(root, "testsuite", name=file)
        case = ET.SubElement(
            suite, "testcase", name=outcome.test.name, classname=file, time=f"{outcome.duration_s:.3f}"
        )
        if outcome.status != "pass":
            tag = "failure" if outcome.status == "fail" else "error"
            detail = ET.SubElement(case, tag, message=outcome.lines[0] if outcome.lines else outcome.status)
            detail.text = "\n".join(outcome.lines)
    for file, suite in suites.items():
        cases = [o for o in outcomes if display_path(o.test.file) == file]
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(o.status == "fail" for o in cases)))
        suite.set("errors", str(sum(o.status == "error" for o in cases)))
        suite.set("time", f"{sum(o.duration_s for o in cases):.3f}")
    root.set("tests", str(len(outcomes)))
    root.set("failures", str(sum(o.status == "fail" for o in outcomes)))
    root.set("errors", str(sum(o.status == "error" for o in outcomes)))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
