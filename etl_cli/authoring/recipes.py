"""The transformations the wizard can add, and the few questions each one needs.

Each recipe asks only what its transform requires (a filter's condition, an aggregate's
groups and aggregations...) and builds the stage. Stages are chained: each reads the one
before it, and its column questions offer that stage's columns when they are known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from etl_cli.authoring.columns import Columns
from etl_cli.authoring.questions import Choice, Question
from etl_cli.plugins.spark_types import split_top_level
from etl_cli.plugins.transforms.aggregate import AGGREGATE_FUNCTIONS
from etl_cli.plugins.transforms.join import JOIN_TYPES
from etl_cli.plugins.transforms.window import WINDOW_FUNCTIONS

Ask = Callable[[Question], Any]

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z_]+)\s*\(\s*(.*?)\s*\)\s*$", re.DOTALL)
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Recipe:
    """How the wizard adds one transform type."""

    type: str
    title: str
    stage_name: str
    build: Callable[[Ask, str, Columns], dict[str, Any]]


def function_calls(functions: tuple[str, ...], what: str) -> Callable[[str], dict[str, dict[str, str]]]:
    """A parser of ``name=function(column), ...`` into ``{name: {function, column}}``."""

    def parse(text: str) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for part in [p for p in split_top_level(text) if p.strip()]:
            match = _CALL.match(part)
            if match is None:
                raise ValueError(f"'{part.strip()}' is not name=function(column)")
            name, function, column = match.groups()
            if function not in functions:
                raise ValueError(f"unknown {what} function '{function}'; known: {', '.join(functions)}")
            found[name] = {"function": function, **({"column": column} if column else {})}
        return found

    return parse


def assignments(text: str) -> dict[str, str]:
    """``total = price * qty; day = to_date(ts)`` → ``{total: "price * qty", day: "to_date(ts)"}``."""
    found: dict[str, str] = {}
    for part in [p for p in split_top_level(text, ";") if p.strip()]:
        match = _ASSIGNMENT.match(part)
        if match is None:
            raise ValueError(f"'{part.strip()}' is not name = expression")
        found[match.group(1)] = match.group(2)
    return found


def _needs_entries(value: Any) -> str | None:
    return None if isinstance(value, Mapping) and value else "give at least one"


def _ask_calls(
    ask: Ask, key: str, label: str, example: str, functions: tuple[str, ...], columns: Columns
) -> dict[str, dict[str, str]]:
    """Ask for ``name=function(column), ...`` entries of ``key`` (``type.option``), one at least, each a known
    function of the transform ``type``."""
    question = Question(
        key,
        f"{label} (name=function(column), comma-separated)",
        help=f"functions: {', '.join(functions)}",
        check=_needs_entries,
        parse=function_calls(functions, key.split(".")[0]),
        example=example,
        suggestions=columns,
    )
    return ask(question)


def _filter(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    condition = ask(
        Question("filter.condition", "Keep rows where (Spark SQL condition)", example="amount > 0", suggestions=columns)
    )
    return {"type": "filter", "inputs": [previous], "condition": condition}


def _select(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    kept = ask(
        Question(
            "select.columns", "Columns to keep (comma-separated)", "list", example="id, amount", suggestions=columns
        )
    )
    return {"type": "select", "inputs": [previous], "columns": kept}


def _derive(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    derived = ask(
        Question(
            "derive.columns",
            "New columns (name = SQL expression; separate them with ;)",
            check=_needs_entries,
            parse=assignments,
            example="total = price * quantity; day = to_date(ordered_at)",
            suggestions=columns,
        )
    )
    return {"type": "derive", "inputs": [previous], "columns": derived}


def _deduplicate(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    keys = ask(
        Question(
            "deduplicate.keys", "Columns identifying a row (comma-separated)", "list", example="id", suggestions=columns
        )
    )
    order_by = ask(
        Question(
            "deduplicate.order_by",
            "Which row to keep: order (comma-separated; empty: any)",
            "list",
            required=False,
            help="the first row in this order is kept",
            example="updated_at desc",
            suggestions=columns,
        )
    )
    return {"type": "deduplicate", "inputs": [previous], "keys": keys, **({"order_by": order_by} if order_by else {})}


def _aggregate(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    group_by = ask(
        Question(
            "aggregate.group_by",
            "Group by columns (comma-separated; empty: one total row)",
            "list",
            required=False,
            suggestions=columns,
        )
    )
    aggregations = _ask_calls(
        ask,
        "aggregate.aggregations",
        "Aggregations",
        "revenue=sum(amount), orders=count()",
        AGGREGATE_FUNCTIONS,
        columns,
    )
    stage: dict[str, Any] = {"type": "aggregate", "inputs": [previous]}
    if group_by:
        stage["group_by"] = group_by
    stage["aggregations"] = aggregations
    return stage


def _window(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    partition_by = ask(
        Question(
            "window.partition_by", "Partition by columns (comma-separated)", "list", required=False, suggestions=columns
        )
    )
    order_by = ask(
        Question("window.order_by", "Order rows by (comma-separated)", "list", required=False, suggestions=columns)
    )
    calls = _ask_calls(
        ask, "window.columns", "Window columns", "rank_in_day=rank(), running=sum(amount)", WINDOW_FUNCTIONS, columns
    )
    stage: dict[str, Any] = {"type": "window", "inputs": [previous]}
    stage.update({k: v for k, v in (("partition_by", partition_by), ("order_by", order_by)) if v})
    stage["columns"] = calls
    return stage


def _join(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    """``columns``: the ones both sides have, the only ones a join ``on`` can name."""
    how = ask(
        Question(
            "join.how",
            "Join type",
            "select",
            tuple(Choice(h, h) for h in JOIN_TYPES if h != "cross"),
            default="left",
        )
    )
    on = ask(
        Question(
            "join.on",
            "Join on columns both sides have (comma-separated)",
            "list",
            example="customer_id",
            suggestions=columns,
        )
    )
    return {"type": "join", "inputs": [previous, "lookup"], "how": how, "on": on}


def _sql(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    query = ask(
        Question(
            "sql.query",
            f"Spark SQL query (the previous stage is the table {previous})",
            default=f"SELECT * FROM {previous}",
            suggestions=columns,
        )
    )
    return {"type": "sql", "inputs": [previous], "query": query}


def _row_count(text: str) -> int | None:
    """How many rows a top-N keeps: a whole number from 1, or nothing (every row)."""
    if not text.strip():
        return None
    try:
        count = int(text.strip())
    except ValueError:
        raise ValueError(f"'{text.strip()}' is not a whole number") from None
    if count < 1:
        raise ValueError("keep at least 1 row, or leave it empty to keep every row")
    return count


def _sort(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    order_by = ask(
        Question(
            "sort.order_by",
            "Order rows by (comma-separated; column, or column desc)",
            "list",
            example="revenue desc, customer_id",
            suggestions=columns,
        )
    )
    limit = ask(
        Question(
            "sort.limit",
            "Keep only the first N rows in this order (empty: every row)",
            required=False,
            help="a top-N: Spark keeps the best N rows of each partition, then merges them",
            parse=_row_count,
        )
    )
    return {"type": "sort", "inputs": [previous], "order_by": order_by, **({"limit": limit} if limit else {})}


def _cast(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    converted = ask(
        Question(
            "cast.columns",
            "Columns to convert (column = Spark SQL type; separate them with ;)",
            check=_needs_entries,
            parse=assignments,
            example="amount = DECIMAL(10,2); ordered_at = TIMESTAMP",
            suggestions=columns,
        )
    )
    return {"type": "cast", "inputs": [previous], "columns": converted}


def _rename(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    renamed = ask(
        Question(
            "rename.columns",
            "Columns to rename (old_name = new_name; separate them with ;)",
            check=_needs_entries,
            parse=assignments,
            example="cust_id = customer_id",
            suggestions=columns,
        )
    )
    return {"type": "rename", "inputs": [previous], "columns": renamed}


def _drop(ask: Ask, previous: str, columns: Columns) -> dict[str, Any]:
    dropped = ask(
        Question("drop.columns", "Columns to remove (comma-separated)", "list", example="notes", suggestions=columns)
    )
    return {"type": "drop", "inputs": [previous], "columns": dropped}


#: in the order they are offered, which is also the order they are applied in: the latest version of
#: each row first, then filters and columns, lookups, and aggregations, then the order of the result
RECIPES: tuple[Recipe, ...] = (
    Recipe("deduplicate", "dedupe: one row per key (e.g. the latest)", "deduplicated", _deduplicate),
    Recipe("filter", "filter: keep rows matching a condition", "filtered", _filter),
    Recipe("select", "select: keep, drop, rename columns", "selected", _select),
    Recipe("cast", "cast: convert columns to other types, keeping the others", "converted", _cast),
    Recipe("rename", "rename: rename columns, keeping the others", "renamed", _rename),
    Recipe("drop", "drop: remove columns, keeping the others", "trimmed", _drop),
    Recipe("derive", "derive: add computed columns", "derived", _derive),
    Recipe("join", "join: add columns from a second source", "joined", _join),
    Recipe("aggregate", "aggregation: group rows and sum, count, average...", "aggregated", _aggregate),
    Recipe("window", "window: ranks, running totals, previous values", "windowed", _window),
    Recipe("sql", "sql: any Spark SQL query", "transformed", _sql),
    Recipe("sort", "sort: order the rows, or keep the top N", "sorted", _sort),
)


def recipe(type_name: str) -> Recipe:
    return next(r for r in RECIPES if r.type == type_name)
