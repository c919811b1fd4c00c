"""The parent run of an OpenLineage run and a pipeline's lineage settings, found untested by mutation testing
(mutmut) of etl_cli/model/lineage.py.

Pins :func:`parent_run`: ``--parent-run`` before ``OPENLINEAGE_PARENT_ID``, the root run from
``OPENLINEAGE_ROOT_PARENT_ID`` only when that variable is set and not empty, and the exact usage error (the option or
variable that held the text, the text, the hint) for each way ``NAMESPACE/JOB/RUN_ID`` can be wrong: a job may hold
slashes (the namespace ends at the first one, the run id starts after the last). tests/lineage covers the same entry
point but is outside the mutation run's tests (scripts/mutation.sh), so these run in-process from tests/unit.

Also pins :func:`lineage_of`: the namespace (the project's name when none is written), the transport as written, the
project root and the place of the ``lineage:`` key; no block, an empty one or ``enabled: false`` is no lineage,
``enabled: true`` is lineage on; and ``_installed``, which ``validate`` asks whether the client library is there: a
missing module, or one whose parent package is missing, is not installed. And :func:`check_lineage` (the client
library looked up through ``_installed``, patched): lineage on (``enabled`` unset or true) without the
openlineage client, or with a kafka transport without confluent-kafka, is a ``missing-extra`` error at the
``lineage:`` key with its install hint; no block, a block that is not a mapping or ``enabled: false`` asks for
nothing, and a transport other than kafka (or none) asks for no confluent-kafka.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.nodes import to_plain
from etl_cli.config.project import Project
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location, UsageError
from etl_cli.model import lineage
from etl_cli.model.lineage import LineageSpec, ParentRun, _installed, lineage_of, parent_run

RUN = "0190d4b5-8f5c-7c1e-9a4c-6f1e2d3c4b5a"
ROOT = "0190d4b5-0000-7000-8000-000000000001"
FORMAT_HINT = "NAMESPACE/JOB/RUN_ID: OpenLineage run ids are UUIDs, as the parent's own events carry them"


def usage_error(given: str | None, environ: dict[str, str]) -> tuple[str, str | None]:
    """The message and hint of the usage error ``parent_run`` raises."""
    with pytest.raises(UsageError) as caught:
        parent_run(given, environ)
    return caught.value.message, caught.value.hint


def test_the_given_parent_run_is_split_into_namespace_job_and_run_id_with_no_root() -> None:
    found = parent_run(f"airflow/daily_orders.load/{RUN}", {"OPENLINEAGE_ROOT_PARENT_ID": f"dags/all/{ROOT}"})
    assert found == ParentRun("airflow", "daily_orders.load", RUN)
    assert found is not None and found.root is None


def test_a_job_name_may_hold_slashes_between_the_namespace_and_the_run_id() -> None:
    assert parent_run(f"airflow/dag/task/group/{RUN}", {}) == ParentRun("airflow", "dag/task/group", RUN)


def test_the_variable_gives_the_parent_and_its_root_each_split_in_three() -> None:
    environ = {"OPENLINEAGE_PARENT_ID": f"dags/nightly/{RUN}", "OPENLINEAGE_ROOT_PARENT_ID": f"top/all/jobs/{ROOT}"}
    found = parent_run(None, environ)
    assert found == ParentRun("dags", "nightly", RUN, root=ParentRun("top", "all/jobs", ROOT))


@pytest.mark.parametrize("root", [None, ""], ids=["unset", "empty"])
def test_without_a_root_variable_the_parent_from_the_environment_has_no_root(root: str | None) -> None:
    environ = {"OPENLINEAGE_PARENT_ID": f"dags/nightly/{RUN}"}
    if root is not None:
        environ["OPENLINEAGE_ROOT_PARENT_ID"] = root
    assert parent_run(None, environ) == ParentRun("dags", "nightly", RUN, root=None)


def test_an_empty_parent_variable_means_no_parent_even_with_a_root() -> None:
    assert parent_run(None, {"OPENLINEAGE_PARENT_ID": "", "OPENLINEAGE_ROOT_PARENT_ID": f"dags/all/{ROOT}"}) is None


@pytest.mark.parametrize(
    "text",
    ["airflow/daily", f"/daily/{RUN}", f"airflow//{RUN}", "airflow/daily/", "airflow"],
    ids=["two-parts", "no-namespace", "no-job", "no-run-id", "one-part"],
)
def test_a_given_parent_run_missing_a_part_is_a_usage_error_with_an_example(text: str) -> None:
    assert usage_error(text, {}) == (
        f"--parent-run '{text}' is not NAMESPACE/JOB/RUN_ID",
        f"for example --parent-run airflow/daily_orders.load/{RUN}",
    )


def test_a_given_run_id_that_is_not_a_uuid_is_a_usage_error_naming_it() -> None:
    assert usage_error("airflow/daily/run-42", {}) == (
        "--parent-run 'airflow/daily/run-42': the run id 'run-42' is not a UUID",
        FORMAT_HINT,
    )


def test_a_malformed_parent_variable_is_a_usage_error_naming_the_variable() -> None:
    assert usage_error(None, {"OPENLINEAGE_PARENT_ID": "nightly"}) == (
        "OPENLINEAGE_PARENT_ID 'nightly' is not NAMESPACE/JOB/RUN_ID",
        f"for example OPENLINEAGE_PARENT_ID airflow/daily_orders.load/{RUN}",
    )


def test_a_malformed_root_variable_is_a_usage_error_naming_the_root_variable() -> None:
    environ = {"OPENLINEAGE_PARENT_ID": f"dags/nightly/{RUN}", "OPENLINEAGE_ROOT_PARENT_ID": "dags/all/root-1"}
    assert usage_error(None, environ) == (
        "OPENLINEAGE_ROOT_PARENT_ID 'dags/all/root-1': the run id 'root-1' is not a UUID",
        FORMAT_HINT,
    )


# the pipeline's lineage settings (``lineage_of``) and the look-up of the client library (``_installed``)

PIPELINE_LINEAGE = """\
name: orders
lineage:
  namespace: payments
  transport: {type: console}
"""


def lineage_spec(text: str) -> LineageSpec | None:
    """What ``lineage_of`` reads of the pipeline ``text`` (file ``p.yaml``) in the project ``shop`` at ``/p``."""
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    return lineage_of(document, provenance, Project(root=Path("/p"), name="shop"))


def test_the_lineage_block_gives_the_namespace_the_transport_the_project_root_and_the_blocks_place() -> None:
    assert lineage_spec(PIPELINE_LINEAGE) == LineageSpec(
        namespace="payments",
        transport={"type": "console"},
        project_root=Path("/p"),
        location=Location("p.yaml", 2, 1),
    )


@pytest.mark.parametrize("enabled", ["", "  enabled: true\n"], ids=["unset", "true"])
def test_without_a_namespace_the_job_is_in_the_projects_namespace_and_lineage_is_on(enabled: str) -> None:
    text = "lineage:\n" + enabled + "  transport: {type: file, log_file_path: events.jsonl}\n"
    assert lineage_spec(text) == LineageSpec(
        namespace="shop",
        transport={"type": "file", "log_file_path": "events.jsonl"},
        project_root=Path("/p"),
        location=Location("p.yaml", 1, 1),
    )


@pytest.mark.parametrize(
    "text",
    ["name: orders\n", "lineage: {}\n", PIPELINE_LINEAGE + "  enabled: false\n"],
    ids=["no-block", "empty-block", "enabled-false"],
)
def test_no_block_an_empty_one_or_enabled_false_means_no_lineage(text: str) -> None:
    assert lineage_spec(text) is None


@pytest.mark.parametrize(
    ("module", "found"),
    [("json", True), ("etl_cli_no_such_module", False), ("etl_cli_no_such_package.client", False)],
    ids=["installed", "missing", "parent-missing"],
)
def test_a_module_is_installed_when_found_and_not_when_it_or_its_parent_package_is_missing(
    module: str, found: bool
) -> None:
    assert _installed(module) is found


# ``check_lineage``: the missing-extra error ``validate`` gives when lineage is on and a client library is missing

EXTRA_HINT = "pip install 'etl-cli[openlineage]', or set lineage.enabled: false"
KAFKA_HINT = (
    "pip install 'etl-cli[openlineage]' (it brings confluent-kafka, which the client's Kafka transport produces with)"
)
NO_CLIENT = "lineage: sending OpenLineage events needs the openlineage-python client, which is not installed"
NO_KAFKA = "lineage: the kafka transport needs the confluent-kafka package, which is not installed"


def lineage_check(monkeypatch: pytest.MonkeyPatch, text: str, missing: set[str]) -> list[Diagnostic]:
    """What ``check_lineage`` says of the pipeline ``text`` (file ``p.yaml``) without the ``missing`` modules."""
    monkeypatch.setattr(lineage, "_installed", lambda module: module not in missing)
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    return lineage.check_lineage(document, provenance)


@pytest.mark.parametrize("enabled", ["", "  enabled: true\n"], ids=["unset", "true"])
def test_lineage_on_without_the_client_is_an_error_at_the_lineage_key(
    monkeypatch: pytest.MonkeyPatch, enabled: str
) -> None:
    text = "name: orders\nlineage:\n" + enabled + "  transport: {type: console}\n"
    assert lineage_check(monkeypatch, text, {"openlineage.client"}) == [
        error("missing-extra", NO_CLIENT, Location("p.yaml", 2, 1), EXTRA_HINT)
    ]


def test_the_kafka_transport_without_confluent_kafka_is_an_error_at_the_lineage_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "name: orders\nlineage:\n  transport: {type: kafka, topic: t, config: {}}\n"
    assert lineage_check(monkeypatch, text, {"confluent_kafka"}) == [
        error("missing-extra", NO_KAFKA, Location("p.yaml", 2, 1), KAFKA_HINT)
    ]


@pytest.mark.parametrize(
    "transport",
    ["", "  transport: {type: console}\n", "  transport: kafka\n"],
    ids=["unset", "console", "not-a-mapping"],
)
def test_a_transport_other_than_kafka_needs_no_confluent_kafka(monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    text = "name: orders\nlineage:\n  namespace: shop\n" + transport
    assert lineage_check(monkeypatch, text, {"confluent_kafka"}) == []


@pytest.mark.parametrize(
    "text",
    ["name: orders\n", "lineage: on\n", "lineage:\n  enabled: false\n  transport: {type: kafka, topic: t}\n"],
    ids=["no-block", "not-a-mapping", "enabled-false"],
)
def test_lineage_off_or_not_written_needs_no_client(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    assert lineage_check(monkeypatch, text, {"openlineage.client", "confluent_kafka"}) == []
