"""Every example pipeline under ``pipelines/`` has tests, and ``etl-cli test pipelines`` passes them all.

One invocation through the real entry point, one Spark session, in a copy of the project (so nothing is
written in the repository). A pipeline ``create-pipeline`` makes with a first test is added to the copy first:
its test must pass in the same invocation, on the rows the wizard read from its input file.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.clihelp import REPO, etl_cli
from tests.unit.helpers import write

# etl-cli test of every example pipeline loads every connector the examples use, S3's among them: a JVM of its own
pytestmark = pytest.mark.own_jvm

#: example pipelines ``etl-cli test`` cannot test, with the reason (docs/testing.md, "Examples"): none
UNTESTED: dict[str, str] = {}
WIZARD = "pipelines/wizard_first_test"


def example_pipelines() -> set[str]:
    """Every pipeline folder under pipelines/, as the JUnit class names start: ``pipelines/<folder>``."""
    return {str(p.parent.relative_to(REPO)) for p in (REPO / "pipelines").rglob("pipeline.yaml")}


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> ET.Element:
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(REPO / "pipelines", root / "pipelines", ignore=shutil.ignore_patterns("__pycache__", ".etl"))
    shutil.copy(REPO / "etl-project.yaml", root / "etl-project.yaml")
    write(root, "data/wizard_orders.csv", "order_id,status,amount\n1,paid,5.00\n2,open,\n3,paid,7.25\n4,paid,1.00\n")
    created = etl_cli(
        "create-pipeline", "--name", "wizard_first_test", "--template", "files_to_parquet",
        "--answer", "params.input_path=data/wizard_orders.csv", "--answer", "params.input_format=csv",
        "--answer", "params.output_path=output/wizard", "--answer", "params.mode=overwrite",
        "--answer", "description=", "--answer", "transforms=derive", "--answer", "derive.columns=big=amount > 5",
        "--answer", "checks=", "--answer", "sink.partition_by=", "--answer", "test=yes", cwd=root,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    # every server the connector examples name is a closed port: a test that connected would fail
    closed = {
        "PG_PORT": "1",
        "MYSQL_PORT": "1",
        "S3_ENDPOINT": "http://127.0.0.1:1",
        "ETL_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    }
    env = {"ETL_STATE_DIR": str(root / "state"), **closed}
    done = etl_cli("test", "pipelines", "--junit-xml", "junit.xml", cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return ET.parse(root / "junit.xml").getroot()


def test_every_example_pipeline_has_tests_and_they_pass(junit: ET.Element) -> None:
    cases = list(junit.iter("testcase"))
    tested = {str(c.get("classname")).split("/tests/")[0] for c in cases}
    assert tested == (example_pipelines() - set(UNTESTED)) | {WIZARD}
    assert [c.get("name") for c in cases if len(c)] == [], "a failure or error element"
    assert (junit.get("failures"), junit.get("errors")) == ("0", "0")


def test_the_first_test_create_pipeline_wrote_passes(junit: ET.Element) -> None:
    cases = [c.get("name") for c in junit.iter("testcase") if str(c.get("classname")).startswith(f"{WIZARD}/")]
    # 3 rows read from data/wizard_orders.csv; a derive keeps one row per row, so the sink is given 3
    assert cases == ["wizard_first_test reads 3 row(s)"]
