"""Names of tables and columns in JDBC options: one rule, checked by ``validate`` at the option's
file:line:col and again when a stage runs, and re-quoted by the dialect in every statement.

The SQL expected below is written by hand for each database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import etl_cli.plugins.builtin
from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import ConfigError, ExitCode, Location, RunError
from etl_cli.model.check import check_pipeline
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.jdbc.dialects import GENERIC, MARIADB, POSTGRESQL
from etl_cli.plugins.jdbc.identifiers import COLUMN_PATTERN, TABLE_PATTERN, Identifier, TableName
from etl_cli.plugins.sinks.jdbc import JdbcSink
from etl_cli.plugins.sources.jdbc import JdbcSource, Watermark, newest_sql, window_sql
from tests.clihelp import etl_cli

from .helpers import make_project

#: what each option holds in the valid pipeline; a test replaces one of them with a payload
VALID = {
    "table": "public.orders",
    "partition_column": "order_id",
    "incremental": "updated_at",
    "sink_table": "public.orders_copy",
    "key": "order_id",
}
PIPELINE = """\
sources:
  - name: src
    type: jdbc
    url: jdbc:postgresql://db:5432/shop
    table: {table}
    partition_column: {partition_column}
    num_partitions: 2
    incremental:
      column: {incremental}
sinks:
  - name: out
    type: jdbc
    input: src
    url: jdbc:postgresql://db:5432/shop
    table: {sink_table}
    mode: upsert
    keys: [{key}]
"""
#: the line of each option's value in PIPELINE
LINES = {"table": 5, "partition_column": 6, "incremental": 9, "sink_table": 15, "key": 17}

#: text that would end the identifier, start another statement or comment the rest out if pasted into SQL
INJECTIONS = [
    "x; DROP TABLE victim",
    'x" ; DROP TABLE victim; --',
    "x` ; DROP TABLE victim; --",
    "x'; DROP TABLE victim; --",
    "x/* */; DROP TABLE victim",
    "x -- the rest is a comment",
    "(SELECT 1)",
    "x\u201c; DROP TABLE victim",  # a typographic double quote
    "\uff02x\uff02",  # fullwidth quotation marks
    "\u02bax\u02ba",  # modifier letter double prime
    "x\nDROP TABLE victim",
    "orders\n",
    '"x"; DROP TABLE victim; --"',
    '"a""b"',
    '"x\\"',
    "1x",
    "",
    "a.b.c.d",
]
#: two parts are a table (schema.table) but not a column
QUALIFIED = ["public.orders", '"Sales"."Orders 2024"']
TABLES = ["orders", "public.orders", "orders_2024", "_tmp", '"Mixed Case"', "`Mixed Case`", '"Sales"."Orders 2024"']
COLUMNS = ["order_id", "updated_at", "UpdatedAt", '"Updated At"', '"x; DROP TABLE victim"']


def diagnose(tmp_path: Path, **values: str) -> tuple[str, list[Diagnostic]]:
    text = PIPELINE.format(**{key: json.dumps(value) for key, value in {**VALID, **values}.items()})
    make_project(tmp_path, {"p/pipeline.yaml": text})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    return text, diagnostics


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


# --------------------------------------------------------------------------- validate


def test_the_valid_pipeline_has_no_errors(tmp_path: Path) -> None:
    assert errors(diagnose(tmp_path)[1]) == []


@pytest.mark.parametrize("option", list(LINES))
@pytest.mark.parametrize("payload", INJECTIONS)
def test_validate_refuses_an_injection_at_the_options_line_and_column(
    tmp_path: Path, option: str, payload: str
) -> None:
    text, diagnostics = diagnose(tmp_path, **{option: payload})
    found = errors(diagnostics)
    assert len(found) == 1, found
    location = found[0].location
    assert location is not None
    line = text.splitlines()[LINES[option] - 1]
    assert (location.line, location.column) == (LINES[option], line.index(json.dumps(payload)) + 1)


@pytest.mark.parametrize("option", ["partition_column", "incremental", "key"])
@pytest.mark.parametrize("name", QUALIFIED)
def test_a_column_option_takes_one_name_not_a_qualified_one(tmp_path: Path, option: str, name: str) -> None:
    found = errors(diagnose(tmp_path, **{option: name})[1])
    assert [d.location.line for d in found if d.location] == [LINES[option]]


@pytest.mark.parametrize("option", ["table", "sink_table"])
@pytest.mark.parametrize("name", TABLES)
def test_validate_accepts_plain_qualified_and_quoted_table_names(tmp_path: Path, option: str, name: str) -> None:
    assert errors(diagnose(tmp_path, **{option: name})[1]) == []


@pytest.mark.parametrize("option", ["partition_column", "incremental", "key"])
@pytest.mark.parametrize("name", COLUMNS)
def test_validate_accepts_plain_and_quoted_column_names(tmp_path: Path, option: str, name: str) -> None:
    assert errors(diagnose(tmp_path, **{option: name})[1]) == []


def test_the_error_says_what_a_table_name_may_be_and_where_sql_goes(tmp_path: Path) -> None:
    (found,) = errors(diagnose(tmp_path, table="orders; DROP TABLE victim")[1])
    assert "'orders; DROP TABLE victim' is not a table name" in found.message
    assert found.hint is not None and "query" in found.hint


def test_a_name_longer_than_64_characters_is_refused(tmp_path: Path) -> None:
    assert errors(diagnose(tmp_path, table="a" * 64)[1]) == []
    assert len(errors(diagnose(tmp_path, table="a" * 65)[1])) == 1


def test_etl_cli_validate_exits_1_naming_the_file_line_and_column_or_the_set(tmp_path: Path) -> None:
    values = {**VALID, "table": "orders; DROP TABLE victim"}
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE.format(**{key: json.dumps(v) for key, v in values.items()})})

    result = etl_cli("validate", "p", "--set", "sources.src.partition_column=id; DROP TABLE victim", cwd=tmp_path)

    assert result.returncode == ExitCode.INVALID_CONFIG, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert any(line.startswith("p/pipeline.yaml:5:12: error: ") and "is not a table name" in line for line in lines)
    refused = "'id; DROP TABLE victim' is not a column name"
    assert any(line.startswith("--set sources.src.partition_column=") and refused in line for line in lines)


def accepted_by(parse: Callable[[str], object], payload: str) -> bool:
    """Whether the run-time parser ``parse`` takes ``payload`` (it raises ValueError when it does not)."""
    try:
        parse(payload)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("payload", [*INJECTIONS, *TABLES, "a.b.c", '"a.b".c'])
def test_the_published_pattern_and_the_run_time_parser_accept_the_same_tables(payload: str) -> None:
    assert (re.search(TABLE_PATTERN, payload) is not None) == accepted_by(TableName.parse, payload)


@pytest.mark.parametrize("payload", [*INJECTIONS, *COLUMNS, *QUALIFIED])
def test_the_published_pattern_and_the_run_time_parser_accept_the_same_columns(payload: str) -> None:
    assert (re.search(COLUMN_PATTERN, payload) is not None) == accepted_by(Identifier.parse, payload)


# --------------------------------------------------------------------------- quoting per dialect


def test_plain_names_are_quoted_as_the_database_folds_them() -> None:
    assert TableName.parse("public.Orders").sql(POSTGRESQL) == '"public"."orders"'
    assert TableName.parse("public.Orders").sql(MARIADB) == "`public`.`Orders`"
    assert Identifier.parse("UpdatedAt").sql(POSTGRESQL) == '"updatedat"'
    assert Identifier.parse("UpdatedAt").sql(MARIADB) == "`UpdatedAt`"


def test_quoted_names_keep_their_case_and_spaces_and_get_the_databases_quotes() -> None:
    assert TableName.parse('"Sales"."Orders 2024"').sql(POSTGRESQL) == '"Sales"."Orders 2024"'
    assert TableName.parse('"Sales"."Orders 2024"').sql(MARIADB) == "`Sales`.`Orders 2024`"
    assert TableName.parse("`Mixed Case`").sql(POSTGRESQL) == '"Mixed Case"'
    assert Identifier.parse('"x; DROP TABLE victim"').sql(MARIADB) == "`x; DROP TABLE victim`"


def test_a_database_of_unknown_case_rules_gets_plain_names_as_written_and_quoted_ones_quoted() -> None:
    assert TableName.parse("public.Orders").sql(GENERIC) == "public.Orders"
    assert TableName.parse('"Mixed Case"').sql(GENERIC) == '"Mixed Case"'


def test_names_print_in_the_notation_of_pipelines() -> None:
    assert str(TableName.parse('public."Orders 2024"')) == 'public."Orders 2024"'
    assert str(Identifier.parse("`a b`")) == '"a b"'


# --------------------------------------------------------------------------- statements of the source


def test_the_newest_watermark_query_quotes_the_column_and_the_previous_value() -> None:
    previous = Watermark("updated_at", "2024-03-01 09:00:00", numeric=False)
    assert newest_sql(POSTGRESQL, '"public"."orders"', Identifier("updated_at"), previous) == (
        """SELECT MAX("updated_at") FROM "public"."orders" WHERE "updated_at" > '2024-03-01 09:00:00'"""
    )
    assert newest_sql(MARIADB, "`orders`", Identifier("Updated At", quoted=True), None) == (
        "SELECT MAX(`Updated At`) FROM `orders`"
    )


def test_the_read_window_is_between_the_previous_and_the_newest_watermark() -> None:
    previous = Watermark("id", "41", numeric=True)
    newest = Watermark("id", "57", numeric=True)
    assert window_sql(POSTGRESQL, '"orders"', Identifier("id"), previous, newest) == (
        '(SELECT * FROM "orders" WHERE "id" > 41 AND "id" <= 57) etl_src'
    )
    assert window_sql(MARIADB, "`orders`", Identifier("id"), None, newest) == (
        "(SELECT * FROM `orders` WHERE `id` <= 57) etl_src"
    )


def test_a_text_watermark_is_a_string_literal_whatever_it_holds() -> None:
    value = "x'; DROP TABLE victim; --"
    assert Watermark("c", value, numeric=False).literal(POSTGRESQL) == "'x''; DROP TABLE victim; --'"
    assert Watermark("c", "a\\'b", numeric=False).literal(POSTGRESQL) == "E'a\\\\''b'"
    assert Watermark("c", "a\\'b", numeric=False).literal(MARIADB) == "'a\\\\''b'"


@pytest.mark.parametrize("value", ["1; DROP TABLE victim", "1 OR 1=1", "0x10", "nan", ""])
def test_a_numeric_watermark_that_is_not_a_number_stops_the_run(value: str) -> None:
    with pytest.raises(RunError, match="not a number"):
        Watermark("id", value, numeric=True).literal(POSTGRESQL)


@pytest.mark.parametrize("value", ["42", "-7", "12.50", "1.5e-05", "1E+20"])
def test_a_numeric_watermark_is_written_as_the_number(value: str) -> None:
    assert Watermark("id", value, numeric=True).literal(POSTGRESQL) == value


# --------------------------------------------------------------------------- checked again at run time

WHERE = Location("pipeline.yaml", 7, 5)


def stage(kind: str, **options: Any) -> StageSpec:
    base = {"url": "jdbc:postgresql://db:5432/shop", "table": "orders"}
    return StageSpec("s", kind, "jdbc", (), {**base, **options}, location=WHERE)  # type: ignore[arg-type]


def context() -> RunContext:
    """No Spark session: the check comes before anything connects."""
    return RunContext(spark=None, project_root=Path("."), run_id="r1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"table": "orders; DROP TABLE victim"},
        {"partition_column": "id), MAX(id) FROM orders; DROP TABLE victim; --", "num_partitions": 2},
        {"incremental": {"column": "updated_at; DROP TABLE victim"}},
        {"table": '"a"."b"."c"'},
    ],
)
def test_a_source_refuses_a_bad_name_that_skipped_validation_before_connecting(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        JdbcSource().read(context(), stage("source", **options))
    assert raised.value.exit_code == ExitCode.INVALID_CONFIG
    assert raised.value.location == WHERE
    assert "DROP TABLE" in raised.value.message or '"c"' in raised.value.message


@pytest.mark.parametrize(
    "options",
    [{"table": "orders; DROP TABLE victim"}, {"mode": "upsert", "keys": ["id", "id`; DROP TABLE victim; --"]}],
)
def test_a_sink_refuses_a_bad_name_that_skipped_validation_before_connecting(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as raised:
        JdbcSink().stage_write(context(), stage("sink", **options), None)  # type: ignore[arg-type]
    assert raised.value.location == WHERE and "DROP TABLE" in raised.value.message


def test_recovery_refuses_a_bad_table_name_before_connecting() -> None:
    with pytest.raises(ConfigError) as raised:
        JdbcSink().recover(context(), stage("sink", table="orders; DROP TABLE victim"), live_run_ids=())
    assert raised.value.location == WHERE
