"""PII tags in contracts, how they follow the columns through transforms, the ``mask`` transform's option checks,
and the project's ``policies:`` as ``validate`` reports them (docs/data-security.md).

Expected tags are written by hand from the pipelines below; expected places are counted from their YAML.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl_cli.app import load_spec, registry
from etl_cli.errors import InvalidPipeline
from etl_cli.lineage.tags import check_policies, pipeline_tags
from etl_cli.runtime.safeguards.masking import display_mask
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

SOURCE = """\
name: p
sources:
  - name: customers
    type: csv
    path: customers.csv
    schema: "id INT, email STRING, phone STRING, card STRING, city STRING"
    contract:
      columns:
        id: INT
        email: {type: STRING, pii: email}
        phone: {type: STRING, pii: true}
        card: {type: STRING, pii: card, tags: [pci]}
        city: {type: STRING, tags: [location]}
"""
KEY = '"${secret:env:PII_SALT}"'


def pipeline(tmp_path: Path, rest: str, project: str = "name: t\n") -> Path:
    make_project(tmp_path, {"customers.csv": "", "p/pipeline.yaml": SOURCE + rest}, project=project)
    return tmp_path / "p"


def tags_of(tmp_path: Path, rest: str) -> dict[str, dict[str, dict[str, list[str]]]]:
    _, spec = load_spec(pipeline(tmp_path, rest), None)
    return pipeline_tags(spec, registry()).to_dict()


def test_tags_follow_renames_expressions_and_sql_but_not_filters(tmp_path: Path) -> None:
    found = tags_of(
        tmp_path,
        """\
transforms:
  - name: shaped
    type: select
    inputs: [customers]
    columns: ["id", "email AS mail", "upper(phone) AS loud", "concat(city, '-', id) AS place"]
  - name: kept
    type: filter
    inputs: [shaped]
    condition: mail IS NOT NULL AND loud <> ''
  - name: counted
    type: sql
    inputs: [kept]
    query: SELECT place, count(mail) AS mails FROM kept GROUP BY place
sinks:
  - {name: out, type: parquet, input: counted, path: out/x}
""",
    )
    assert found["customers"]["email"] == {"tags": ["pii", "pii:email"], "states": []}
    assert found["customers"]["card"] == {"tags": ["pci", "pii", "pii:card"], "states": []}
    assert found["shaped"] == {
        "mail": {"tags": ["pii", "pii:email"], "states": []},
        "loud": {"tags": ["pii"], "states": []},
        "place": {"tags": ["location"], "states": []},
    }
    assert set(found["kept"]) == {"mail", "loud", "place"}  # id, filtered on, gained nothing from the filter
    # an aggregation of a tagged column is still tagged; the group key keeps its own tags
    assert found["counted"] == {
        "place": {"tags": ["location"], "states": []},
        "mails": {"tags": ["pii", "pii:email"], "states": []},
    }
    assert found["out"] == found["counted"]


def test_mask_marks_its_columns_masked_and_a_mix_with_a_clear_column_is_not_masked(tmp_path: Path) -> None:
    found = tags_of(
        tmp_path,
        f"""\
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      email: {{method: hash, key: {KEY}}}
      card: {{method: partial, keep_last: 4}}
      phone: "null"
  - name: mixed
    type: derive
    inputs: [masked]
    columns:
      both: concat(email, city)
      contact: concat(email, card)
sinks:
  - {{name: out, type: parquet, input: mixed, path: out/x}}
""",
    )
    assert found["masked"]["email"] == {"tags": ["pii", "pii:email"], "states": ["masked"]}
    assert found["masked"]["card"]["states"] == ["masked"]
    assert found["masked"]["phone"] == {"tags": ["pii"], "states": ["masked"]}  # nulled: still the tagged column
    assert found["masked"]["city"] == {"tags": ["location"], "states": []}
    assert found["mixed"]["both"] == {"tags": ["location", "pii", "pii:email"], "states": []}
    assert found["mixed"]["contact"] == {"tags": ["pci", "pii", "pii:card", "pii:email"], "states": ["masked"]}


def test_a_stage_of_unknown_columns_passes_tags_on_by_name(tmp_path: Path) -> None:
    found = tags_of(
        tmp_path,
        """\
  - name: extra
    type: json
    path: extra.json
    contract:
      policy: evolve
      columns:
        ssn: {type: STRING, pii: id}
transforms:
  - name: both
    type: sql
    inputs: [extra]
    query: SELECT * FROM extra
sinks:
  - {name: out, type: parquet, input: both, path: out/x}
""",
    )
    assert found["both"]["ssn"] == {"tags": ["pii", "pii:id"], "states": []}
    assert found["out"]["ssn"] == {"tags": ["pii", "pii:id"], "states": []}


def test_display_mask_hides_unprotected_tagged_columns_per_stage(tmp_path: Path) -> None:
    _, spec = load_spec(
        pipeline(
            tmp_path,
            f"""\
    sensitive: [city]
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      email: {{method: hash, key: {KEY}}}
sinks:
  - {{name: out, type: parquet, input: masked, path: out/x}}
""",
        ),
        None,
    )
    display = display_mask(spec, registry())
    assert display.columns("customers") == {"email", "phone", "card", "city"}
    assert display.columns("masked") == {"phone", "card", "city"}  # email shows its hash there
    assert display.columns(None) == {"email", "phone", "card", "city"}
    row = {"id": 1, "email": "a@x.org", "phone": None, "card": "4111", "city": "Oslo"}
    assert display.row("masked", row) == {"id": 1, "email": "a@x.org", "phone": None, "card": "***", "city": "***"}
    assert json.loads(display.json_row("customers", json.dumps(row)) or "") == {
        "id": 1, "email": "***", "phone": None, "card": "***", "city": "***",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("email: hash", "hash needs a key"),
        ("email: {method: token, key: plain-text-key}", "token's key must be one ${secret:...} reference"),
        ("card: partial", "partial needs keep_last"),
        ("card: {method: redact, keep_last: 2}", "redact takes no 'keep_last'"),
    ],
)
def test_mask_options_are_checked_offline(tmp_path: Path, columns: str, message: str) -> None:
    rest = f"""\
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      {columns}
sinks:
  - {{name: out, type: parquet, input: masked, path: out/x}}
"""
    with pytest.raises(InvalidPipeline) as caught:
        load_spec(pipeline(tmp_path, rest), None)
    assert any(message in d.message for d in caught.value.diagnostics), caught.value.diagnostics


def test_mask_of_a_missing_column_is_an_unknown_column_at_validate(tmp_path: Path) -> None:
    pipeline(
        tmp_path,
        """\
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      emial: redact
sinks:
  - {name: out, type: parquet, input: masked, path: out/x}
""",
    )
    done = etl_cli("validate", "p", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    problems = [d for r in json.loads(done.stdout)["results"] for d in r["diagnostics"]]
    (unknown,) = [d for d in problems if d["code"] == "unknown-column"]
    assert "emial" in unknown["message"] and unknown["line"] == 19


POLICY = """\
name: t
policies:
  - name: pii-only-masked
    tags: [pii]
    sinks: {types: [jdbc, parquet]}
    require: masked
  - name: no-clear-location
    tags: [location]
    sinks: {names: [archive]}
"""


def test_validate_reports_each_policy_violation_at_the_sink(tmp_path: Path) -> None:
    pipeline(
        tmp_path,
        f"""\
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      email: {{method: hash, key: {KEY}}}
      card: {{method: partial, keep_last: 4}}
sinks:
  - name: out
    type: parquet
    input: masked
    path: out/x
  - name: archive
    type: csv
    input: customers
    path: out/y
""",
        project=POLICY,
    )
    done = etl_cli("validate", "p", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [d for r in json.loads(done.stdout)["results"] for d in r["diagnostics"]]
    assert not [d for d in problems if d["code"] == "secret-placement"]  # a mask's key may be a secret reference
    violations = sorted((d["line"], d["message"]) for d in problems if d["code"] == "policy-violation")
    assert [(line, message.split(";")[0]) for line, message in violations] == [
        (22, "sink 'out' (parquet) writes column 'phone' tagged pii unprotected"),
        (26, "sink 'archive' (csv) writes column 'city' tagged location unprotected"),
    ]
    phone = next(d for d in problems if "'phone'" in d["message"])
    assert "policy 'pii-only-masked' requires it masked" in phone["message"]
    assert "phone: {method: hash" in phone["hint"] and "mask 'masked'" in phone["hint"]


def test_a_pipeline_meeting_its_policies_validates(tmp_path: Path) -> None:
    path = pipeline(
        tmp_path,
        f"""\
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      email: {{method: hash, key: {KEY}}}
      phone: {{method: token, key: {KEY}}}
      card: {{method: partial, keep_last: 4}}
sinks:
  - {{name: out, type: parquet, input: masked, path: out/x}}
  - {{name: archive, type: csv, input: masked, path: out/y}}
""",
        project=POLICY.replace("names: [archive]", "names: [nothing_here]"),
    )
    _, spec = load_spec(path, None)
    assert check_policies(spec, registry()) == []


@pytest.mark.parametrize(
    ("policies", "message", "line"),
    [
        ("[{name: a, tags: [pii], sinks: {types: [jdbc]}, require: hidden}]", "require must be one of", 2),
        ("[{name: a, tags: [pii]}]", "policies[0].sinks must name sink types", 2),
        ("[{name: a, tags: [], sinks: {names: [x]}}]", "policies[0].tags must be a non-empty list", 2),
        ("[{name: a, tags: [pii], sinks: {types: [jdbc]}, when: x}]", "unknown key 'when' in policies[0]", 2),
    ],
)
def test_policy_problems_are_reported_in_the_project_file(tmp_path: Path, policies: str, message: str,
                                                          line: int) -> None:  # fmt: skip
    pipeline(tmp_path, "sinks:\n  - {name: out, type: parquet, input: customers, path: out/x}\n",
             project=f"name: t\npolicies: {policies}\n")  # fmt: skip
    done = etl_cli("validate", "p", cwd=tmp_path)
    assert done.returncode == 1
    assert message in done.stderr + done.stdout
    assert f"etl-project.yaml:{line}:" in done.stderr + done.stdout
