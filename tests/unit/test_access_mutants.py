"""What a run's row-access decision says, found untested by mutation testing (mutmut) of etl_cli/model/access.py.

Pins the refusal message of :func:`decide` in full (the principal it refuses to read as, every rule's reason, the
hints once each, the first refusing rule's place) and the run results' ``access`` block of
:meth:`AccessDecision.to_json`: the principal and where its name came from (both null when none could be named),
each filter, and each source a rule matched but the principal is exempt from. Rules are read from a real
``etl-project.yaml``; expected messages and places are written by hand from its text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.project import load_project
from etl_cli.errors import Location
from etl_cli.model.access import AccessRefused, AccessSpec, access_of, decide
from etl_cli.plugins.api import StageSpec

from .helpers import write

PROJECT = """\
name: rls
principals:
  alice: {tenant: 7}
  root: {groups: [admins]}
access:
  tenant_rows:
    sources: [orders]
    filter: "tenant_id = ${principal:tenant}"
    exempt: {groups: [admins]}
    required: true
  region_rows:
    sources: [orders]
    filter: "region = ${principal:region}"
    exempt: {principals: [alice, root]}
"""

ORDERS = StageSpec("orders", "source", "csv", (), {"path": "data/orders.csv"})
REGIONS = StageSpec("regions", "source", "csv", (), {"path": "data/regions.csv"})


def access(root: Path, project: str = PROJECT) -> AccessSpec:
    write(root, "etl-project.yaml", project)
    return access_of(load_project(root))


def test_a_refusal_names_the_principal_it_refuses_every_reason_and_each_hint_once(tmp_path: Path) -> None:
    with pytest.raises(AccessRefused) as caught:
        decide(access(tmp_path), [ORDERS, REGIONS], tmp_path, {"ETL_PRINCIPAL": "alicia"})
    refused = caught.value
    assert refused.message == (
        "the project's access rules refuse to read as 'alicia': "
        "access rule 'tenant_rows': it requires a declared principal, and 'alicia' (from ETL_PRINCIPAL) is not "
        "declared; "
        "access rule 'region_rows': it reads attributes of the principal, and 'alicia' (from ETL_PRINCIPAL) is not "
        "declared"
    )
    assert refused.hint == (
        "did you mean 'alice'? declare 'alicia' under principals: in etl-project.yaml, or run --as one of them"
    )
    assert refused.location == Location(str(tmp_path / "etl-project.yaml"), 6, 3)


def test_a_principal_named_by_as_is_refused_by_that_name(tmp_path: Path) -> None:
    with pytest.raises(AccessRefused) as caught:
        decide(access(tmp_path).as_principal("zed"), [ORDERS], tmp_path, {"ETL_PRINCIPAL": "alice"})
    assert caught.value.message.startswith("the project's access rules refuse to read as 'zed': ")
    assert "'zed' (named by --as) is not declared" in caught.value.message


def test_the_results_list_each_source_a_principal_is_exempt_from_with_its_rule(tmp_path: Path) -> None:
    decision = decide(access(tmp_path).as_principal("root"), [ORDERS, REGIONS], tmp_path, {})
    assert decision.to_json() == {
        "principal": "root",
        "source": "option",
        "filters": [],
        "exempt": [{"source": "orders", "rule": "tenant_rows"}, {"source": "orders", "rule": "region_rows"}],
    }


def test_the_results_hold_the_filters_and_the_exemptions_of_one_principal_together(tmp_path: Path) -> None:
    decision = decide(access(tmp_path), [ORDERS], tmp_path, {"ETL_PRINCIPAL": "alice"})
    assert decision.to_json() == {
        "principal": "alice",
        "source": "env",
        "filters": [{"source": "orders", "rule": "tenant_rows", "filter": "tenant_id = 7"}],
        "exempt": [{"source": "orders", "rule": "region_rows"}],
    }


def test_without_a_principal_the_results_say_null_when_no_rule_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("etl_cli.config.principal._os_user", lambda environ: None)
    decision = decide(access(tmp_path), [REGIONS], tmp_path, {})
    assert decision.principal is None
    assert decision.to_json() == {"principal": None, "source": None, "filters": [], "exempt": []}
