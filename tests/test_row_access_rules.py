"""Row-level security offline: principals, ``access:`` rules, ``${principal:...}`` substitution, validate's checks.

No JVM: the rules are read from a real ``etl-project.yaml`` written here, the filters compared with
SQL written by hand, and ``validate`` run on a pipeline whose source declares its schema.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from etl_cli import app
from etl_cli.config.principal import resolve_principal
from etl_cli.config.project import load_project
from etl_cli.model.access import AccessRefused, FilterProblem, access_of, check_access, decide, parse_filter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import StageSpec

PIPELINE = """\
name: orders
sources:
  - name: orders
    type: csv
    path: data/orders.csv
    options: {header: true}
    schema: "order_id INT, tenant_id INT, region STRING"
  - name: regions
    type: csv
    path: data/regions.csv
    options: {header: true}
sinks:
  - name: out
    type: parquet
    input: orders
    path: output/orders
    mode: overwrite
  - name: regions_out
    type: parquet
    input: regions
    path: output/regions
    mode: overwrite
"""

PROJECT = """\
name: rls
principals:
  alice: {tenant: 7, region: eu}
  bob: {tenant: 9, region: "O'Brien"}
  root: {groups: [admins]}
access:
  tenant_rows:
    sources: [orders]
    filter: "tenant_id = ${principal:tenant}"
    exempt: {groups: [admins]}
    required: true
"""


def _project(tmp_path: Path, project: str = PROJECT) -> Path:
    (tmp_path / "etl-project.yaml").write_text(project, encoding="utf-8")
    folder = tmp_path / "pipelines" / "orders"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(PIPELINE, encoding="utf-8")
    return folder


def _spec(tmp_path: Path, project: str = PROJECT, principal: str | None = None) -> PipelineSpec:
    _, spec = app.load_spec(_project(tmp_path, project), None)
    return app.as_principal(spec, principal)


def _sources(spec: PipelineSpec) -> list[StageSpec]:
    return [stage for stage in spec.stages if stage.kind == "source"]


# --------------------------------------------------------------------------- the principal


def test_the_principal_comes_from_as_then_etl_principal_then_the_os_user() -> None:
    env = {"ETL_PRINCIPAL": "bob", "USER": "carol"}
    assert (resolve_principal("alice", env).name, resolve_principal("alice", env).source) == ("alice", "option")
    assert (resolve_principal(None, env).name, resolve_principal(None, env).source) == ("bob", "env")
    os_user = resolve_principal(None, {"USER": "carol"})
    assert (os_user.name, os_user.source) == ("carol", "os")
    assert resolve_principal("  ", {"ETL_PRINCIPAL": " ", "LOGNAME": "dave"}).name == "dave"


# --------------------------------------------------------------------------- parsing and substitution


def test_attribute_values_become_sql_literals_quoted_by_sqlglot() -> None:
    parsed = parse_filter("tenant_id = ${principal:tenant} AND region = ${principal:region}")
    assert parsed.attributes == ("tenant", "region")
    assert parsed.with_values({"tenant": 7, "region": "eu"}) == "tenant_id = 7 AND region = 'eu'"
    # a quote cannot end the literal early: Spark reads one string, O'Brien (its escape is a backslash)
    injected = parsed.with_values({"tenant": 7, "region": "x' OR '1'='1"})
    assert injected == r"tenant_id = 7 AND region = 'x\' OR \'1\'=\'1'"
    assert parsed.with_values({"tenant": "7 OR 1=1", "region": "eu"}) == "tenant_id = '7 OR 1=1' AND region = 'eu'"
    assert parse_filter("active = ${principal:active}").with_values({"active": True}) == "active = TRUE"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tenant_id = '${principal:tenant}'", "inside a quoted string"),
        ("tenant_id = ${principal:}", "does not name an attribute"),
        ("tenant_id = ${principal:ten ant}", "does not name an attribute"),
        ("tenant_id = (", "not valid Spark SQL"),
        ("SELECT * FROM t", "a statement, not a condition"),
        ("a = 1; DROP TABLE t", "more than one statement"),
        ("tenant_id = :tenant", "query parameter"),
        ("  ", "empty"),
    ],
)
def test_a_filter_that_cannot_be_used_is_refused(text: str, message: str) -> None:
    with pytest.raises(FilterProblem, match=message):
        parse_filter(text)


# --------------------------------------------------------------------------- reading the project


def test_problems_of_the_rules_point_at_their_line_and_column(tmp_path: Path) -> None:
    project = textwrap.dedent("""\
        principals:
          alice: {tenant: 7}
          bob: {region: eu}
          carol: {tenant: [1, 2]}
        access:
          tenant_rows:
            filter: "tenant_id = ${principal:tenant}"
            exempts: {groups: [admins]}
          broken:
            filter: "tenant_id = '${principal:tenant}'"
          nothing: {sources: [orders]}
        """)
    (tmp_path / "etl-project.yaml").write_text(project, encoding="utf-8")
    found = {(d.code, str(d.location).rsplit("/", 1)[-1]) for d in check_access(load_project(tmp_path))}
    assert found == {
        ("wrong-type", "etl-project.yaml:4:19"),  # carol's tenant is a list
        ("missing-attribute", "etl-project.yaml:7:26"),  # bob has no tenant: at ${principal:tenant}
        ("unknown-key", "etl-project.yaml:8:5"),  # exempts
        ("access-filter", "etl-project.yaml:10:27"),  # the quoted reference
        ("missing-filter", "etl-project.yaml:11:3"),
    }


def test_an_unknown_key_of_the_project_names_access_and_principals(tmp_path: Path) -> None:
    (tmp_path / "etl-project.yaml").write_text("acces: {}\n", encoding="utf-8")
    with pytest.raises(app.InvalidPipeline) as caught:
        load_project(tmp_path)
    assert "did you mean 'access'?" in str(caught.value)


# --------------------------------------------------------------------------- the decision of one run


def test_each_principal_gets_its_own_filter_and_an_admin_none(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    for name, expected in (("alice", "tenant_id = 7"), ("bob", "tenant_id = 9")):
        decision = decide(spec.access.as_principal(name), _sources(spec), spec.project_root, {})
        assert decision.to_json() == {
            "principal": name,
            "source": "option",
            "filters": [{"source": "orders", "rule": "tenant_rows", "filter": expected}],
            "exempt": [],
        }
    root = decide(spec.access.as_principal("root"), _sources(spec), spec.project_root, {})
    assert (root.filters, root.exempt) == ((), (("orders", "tenant_rows"),))


def test_a_required_rule_refuses_an_undeclared_principal_naming_the_fix(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    with pytest.raises(AccessRefused) as caught:
        decide(spec.access, _sources(spec), spec.project_root, {"ETL_PRINCIPAL": "alicia"})
    refused = caught.value
    assert refused.exit_code == 1
    assert "'alicia' (from ETL_PRINCIPAL) is not declared" in refused.message
    assert "did you mean 'alice'?" in (refused.hint or "")
    assert str(refused.location).endswith("etl-project.yaml:7:3")


def test_without_any_principal_a_rule_refuses_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path)
    monkeypatch.setattr("etl_cli.config.principal._os_user", lambda environ: None)
    with pytest.raises(AccessRefused, match=r"without a principal.*no principal could be named"):
        decide(spec.access, _sources(spec), spec.project_root, {})


def test_a_rule_not_required_filters_an_undeclared_principal_unless_it_reads_attributes(tmp_path: Path) -> None:
    project = PROJECT.replace("    required: true\n", "") + '  eu_only:\n    types: [csv]\n    filter: "1 = 1"\n'
    spec = _spec(tmp_path, project)
    with pytest.raises(AccessRefused, match="reads attributes of the principal"):
        decide(spec.access, _sources(spec), spec.project_root, {"ETL_PRINCIPAL": "zed"})
    only_eu = decide(spec.access.as_principal("root"), _sources(spec), spec.project_root, {})
    assert [(f.source, f.rule, f.sql) for f in only_eu.filters] == [
        ("orders", "eu_only", "1 = 1"),
        ("regions", "eu_only", "1 = 1"),
    ]


def test_datasets_patterns_match_the_path_a_source_reads(tmp_path: Path) -> None:
    project = PROJECT.replace("    sources: [orders]\n", '    datasets: ["*/regions.csv"]\n')
    spec = _spec(tmp_path, project, "alice")
    decision = decide(spec.access, _sources(spec), spec.project_root, {})
    assert [f.source for f in decision.filters] == ["regions"]


def test_a_missing_attribute_at_run_time_names_the_fix(tmp_path: Path) -> None:
    project = PROJECT.replace("${principal:tenant}", "${principal:tenant} AND region = ${principal:zone}")
    _project(tmp_path, project)
    loaded = load_project(tmp_path)
    assert {d.code for d in check_access(loaded)} == {"missing-attribute"}  # validate says it first
    access = access_of(loaded).as_principal("alice")
    assert access.rules[0].parsed.attributes == ("tenant", "zone")
    orders = StageSpec("orders", "source", "csv", (), {"path": "data/orders.csv"}, None)
    with pytest.raises(AccessRefused) as caught:
        decide(access, [orders], tmp_path, {})
    assert "principal 'alice' has no attribute 'zone'" in caught.value.message
    assert caught.value.hint == "add zone to principals.alice in etl-project.yaml, or exempt 'alice'"


# --------------------------------------------------------------------------- validate


def test_validate_checks_the_filter_s_columns_against_the_source_s_schema(tmp_path: Path) -> None:
    _project(tmp_path, PROJECT.replace("tenant_id = ${", "tenantid = ${"))
    (report,) = app.validate([tmp_path / "pipelines" / "orders"])
    errors = [d for d in report.diagnostics if d.severity == "error"]
    assert [(d.code, str(d.location).rsplit("/", 1)[-1], d.hint) for d in errors] == [
        ("unknown-column", "etl-project.yaml:9:14", "did you mean 'tenant_id'?")
    ]
    assert "access.tenant_rows.filter reads column 'tenantid', which source 'orders' does not have" in errors[0].message


def test_validate_accepts_rules_whose_columns_the_source_has(tmp_path: Path) -> None:
    _project(tmp_path)
    (report,) = app.validate([tmp_path / "pipelines" / "orders"])
    assert report.ok, [str(d) for d in report.diagnostics]
