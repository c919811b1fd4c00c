"""``etl-cli generate`` through the real entry point, for the outputs made without Spark (CSV and JSON).

The Parquet and Spark outputs are in tests/spark/test_generate.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

PIPELINE = """
    sources:
      - name: customers
        type: csv
        path: data/customers.csv
        options: {sep: ";"}
        schema: {customer_id: INT, tier: STRING}
      - name: orders
        type: json
        path: data/orders.json
        schema: {order_id: BIGINT, customer_id: INT, paid: BOOLEAN}
      - name: events
        type: csv
        path: data/events.csv
    checks:
      - {name: one_customer, stage: customers, type: unique, columns: [customer_id]}
      - {name: ids, stage: customers, type: range, column: customer_id, min: 1, max: 4}
      - {name: tiers, stage: customers, type: accepted_values, column: tier, values: [gold, silver]}
      - {name: has_tier, stage: customers, type: not_null, columns: [tier]}
      - {name: known, stage: orders, type: relationships, column: customer_id, to: customers}
      - {name: has_customer, stage: orders, type: not_null, columns: [customer_id, paid]}
    sinks:
      - {name: out, type: parquet, input: orders, path: out/orders}
"""


def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"p/pipeline.yaml": PIPELINE})


def test_generate_writes_each_declared_source_where_it_reads_in_its_format(tmp_path: Path) -> None:
    result = etl_cli("generate", "p", "--rows", "4", "--seed", "3", cwd=project(tmp_path))
    assert result.returncode == 0, result.stderr
    with (tmp_path / "data/customers.csv").open(newline="") as text:
        customers = list(csv.reader(text, delimiter=";"))
    assert customers[0] == ["customer_id", "tier"]
    assert sorted(row[0] for row in customers[1:]) == ["1", "2", "3", "4"]
    assert {row[1] for row in customers[1:]} <= {"gold", "silver"}
    orders = [json.loads(line) for line in (tmp_path / "data/orders.json").read_text().splitlines()]
    assert len(orders) == 4
    assert all(list(o) == ["order_id", "customer_id", "paid"] for o in orders)
    assert all(o["customer_id"] in (1, 2, 3, 4) and o["paid"] in (True, False) for o in orders)
    assert not (tmp_path / "data/events.csv").exists()
    assert "customers: 4 rows ->" in result.stdout


def test_the_same_seed_writes_the_same_file_and_another_seed_another(tmp_path: Path) -> None:
    root = project(tmp_path)
    for folder, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert (
            etl_cli("generate", "p", "--source", "orders", "-n", "4", "--seed", seed, "-o", folder, cwd=root).returncode
            == 0
        )
    first = (root / "a/orders.json").read_text()
    assert (root / "b/orders.json").read_text() == first
    assert (root / "c/orders.json").read_text() != first


def test_existing_data_is_refused_without_force_and_replaced_with_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "data").mkdir()
    (root / "data/orders.json").write_text("mine\n")
    refused = etl_cli("generate", "p", "--source", "orders", cwd=root)
    assert refused.returncode == 2
    assert "data/orders.json exists (source 'orders'): nothing was written" in refused.stderr
    assert (root / "data/orders.json").read_text() == "mine\n"
    forced = etl_cli("generate", "p", "--source", "orders", "-n", "2", "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert len((root / "data/orders.json").read_text().splitlines()) == 2


def test_force_never_replaces_a_folder_that_generate_did_not_write(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "data/orders.json").mkdir(parents=True)
    (root / "data/orders.json/part-1.json").write_text('{"order_id": 1}\n')
    result = etl_cli("generate", "p", "--source", "orders", "--force", cwd=root)
    assert result.returncode == 2
    assert "is a folder etl-cli generate did not write" in result.stderr
    assert [p.name for p in (root / "data/orders.json").iterdir()] == ["part-1.json"]


def test_force_never_replaces_a_generated_folder_that_holds_files_of_someone_else(tmp_path: Path) -> None:
    root = project(tmp_path)
    folder = root / "data/orders.json"
    folder.mkdir(parents=True)
    for name in ("_etl_generated.json", "part-00000.json", "notes.txt"):
        (folder / name).write_text("{}\n")
    result = etl_cli("generate", "p", "--source", "orders", "-n", "4", "--force", cwd=root)
    assert result.returncode == 2
    assert "notes.txt" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["_etl_generated.json", "notes.txt", "part-00000.json"]


def test_nothing_is_written_when_one_target_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "data").mkdir()
    (root / "data/orders.json").write_text("mine\n")
    result = etl_cli("generate", "p", cwd=root)
    assert result.returncode == 2
    assert sorted(p.name for p in (root / "data").iterdir()) == ["orders.json"]


def test_an_unknown_source_is_a_usage_error_with_a_suggestion(tmp_path: Path) -> None:
    result = etl_cli("generate", "p", "--source", "order", cwd=project(tmp_path))
    assert result.returncode == 2
    assert "--source order: pipeline 'p' has no such source" in result.stderr
    assert "did you mean 'orders'?" in result.stderr


def test_a_source_without_a_schema_is_a_config_error_pointing_at_it(tmp_path: Path) -> None:
    result = etl_cli("generate", "p", "--source", "events", cwd=project(tmp_path))
    assert result.returncode == 1
    assert "p/pipeline.yaml:11:5: source 'events' declares no schema to generate data from" in result.stderr


def test_a_format_other_than_the_sources_is_refused_for_its_own_path(tmp_path: Path) -> None:
    result = etl_cli("generate", "p", "--source", "orders", "--format", "csv", cwd=project(tmp_path))
    assert result.returncode == 2
    assert "--format csv: source 'orders' reads json files" in result.stderr


DAILY = """
    params:
      ds: {type: date}
    sources:
      - name: events
        type: json
        path: data/${param:ds}/events.json
        schema: {id: BIGINT}
    sinks:
      - {name: out, type: parquet, input: events, path: out/events}
"""


def test_a_source_path_built_from_a_parameter_needs_its_value_before_anything_is_written(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"d/pipeline.yaml": DAILY})
    refused = etl_cli("generate", "d", "-n", "1", cwd=root)
    assert refused.returncode == 2, refused.stderr
    assert not (root / "data").exists()
    given = etl_cli("generate", "d", "-n", "1", "--param", "ds=2026-01-03", cwd=root)
    assert given.returncode == 0, given.stderr
    assert [p.relative_to(root).as_posix() for p in (root / "data").rglob("*.json")] == ["data/2026-01-03/events.json"]


TWO = """
    sources:
      - {name: first, type: csv, path: data/first.csv, schema: {id: INT}}
      - {name: second, type: csv, path: data/second.csv, schema: {id: INT}}
    checks:
      - {name: two_ids, stage: second, type: range, column: id, min: 1, max: 2}
      - {name: one_row_per_id, stage: second, type: unique, columns: [id]}
    sinks:
      - {name: out, type: parquet, input: first, path: out/first}
"""


def test_a_source_that_cannot_be_generated_stops_the_command_before_any_source_is_written(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"two/pipeline.yaml": TWO})
    result = etl_cli("generate", "two", "-n", "3", cwd=root)
    assert result.returncode == 1
    assert "3 unique values are asked for, and the column allows only 2" in result.stderr
    assert not (root / "data").exists()


def test_rows_can_be_given_per_source_and_references_draw_from_that_many(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = etl_cli("generate", "p", "--rows", "30", "--rows", "customers=2", "--seed", "1", cwd=root)
    assert result.returncode == 0, result.stderr
    customers = (root / "data/customers.csv").read_text().splitlines()[1:]
    orders = [json.loads(line) for line in (root / "data/orders.json").read_text().splitlines()]
    assert len(customers) == 2
    assert len(orders) == 30
    assert {o["customer_id"] for o in orders} == {int(line.split(";")[0]) for line in customers}


def test_rows_for_a_source_the_pipeline_lacks_is_a_usage_error(tmp_path: Path) -> None:
    result = etl_cli("generate", "p", "--rows", "customer=2", cwd=project(tmp_path))
    assert result.returncode == 2
    assert "--rows customer=2: pipeline 'p' has no such source" in result.stderr


def test_a_row_count_that_is_not_a_whole_number_is_a_usage_error(tmp_path: Path) -> None:
    result = etl_cli("generate", "p", "--rows", "orders=many", cwd=project(tmp_path))
    assert result.returncode == 2
    assert "--rows orders=many: expected a count N or SOURCE=N" in result.stderr
