"""The ``join`` transform: join two or more inputs, left to right.

The join runs as Spark SQL over views named after the input stages: conditions refer to
the inputs by those names (``orders.customer_id = customers.id``), and SQL resolves a
condition that names a key of an earlier USING join, which the DataFrame API in Spark
4.0 fails on after a right or full join. A single join on key columns, the common case,
goes through the DataFrame API instead: the same USING join, without registering two
views and parsing a query (about 12 ms of driver time per run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, string_list, user_sql
from etl_cli.plugins.transforms.sql import register_views

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: join type → its Spark SQL keywords
JOIN_TYPES = {
    "inner": "INNER JOIN",
    "left": "LEFT OUTER JOIN",
    "right": "RIGHT OUTER JOIN",
    "full": "FULL OUTER JOIN",
    "left_semi": "LEFT SEMI JOIN",
    "left_anti": "LEFT ANTI JOIN",
    "cross": "CROSS JOIN",
}
_HINT = 'on: [customer_id] joins on columns both sides have; condition: "orders.customer_id = customers.id"'

_HOW = {
    "enum": list(JOIN_TYPES),
    "default": "inner",
    "description": "Join type: inner (default), left, right, full, left_semi (left rows with a match), "
    "left_anti (left rows without a match) or cross (every pair; no on or condition).",
}
_ON = string_list(
    "Columns present on both sides to join on; each appears once, first, in the result (SQL USING).", min_items=1
)
_CONDITION = {
    "type": "string",
    "minLength": 1,
    "description": "SQL join condition naming the inputs by their stage names, e.g. "
    '"orders.customer_id = customers.id"; both sides keep all their columns.',
}
#: an interval ``within`` takes: a signed number and one unit, as Spark's INTERVAL '10 minutes' reads it
INTERVAL_PATTERN = r"^\s*-?\d+\s+(millisecond|second|minute|hour|day)s?\s*$"
_UNIT_SECONDS = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400}
_WITHIN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["left", "right", "lower", "upper"],
    "description": "A time range the join also requires: the right side's time column lies between the left "
    "side's plus lower and plus upper. Needed to join two streams (with a watermark on each), so Spark can drop "
    "a row from its state once no row of the other side can match it any more. E.g. {left: click_time, right: "
    'view_time, lower: "-10 minutes", upper: "0 seconds"}: the view came at most 10 minutes before the click.',
    "properties": {
        "left": {
            "type": "string",
            "minLength": 1,
            "description": "Time column of the left side (the result so far); qualify it (stage.column) when "
            "several inputs have it. On streams: the column of that side's watermark.",
        },
        "right": {
            "type": "string",
            "minLength": 1,
            "description": "Time column of the input being joined. On streams: the column of its watermark.",
        },
        "lower": {
            "type": "string",
            "pattern": INTERVAL_PATTERN,
            "description": 'right >= left + lower, e.g. "-10 minutes" or "0 seconds".',
        },
        "upper": {
            "type": "string",
            "pattern": INTERVAL_PATTERN,
            "description": 'right <= left + upper, e.g. "10 minutes".',
        },
    },
}


def interval_seconds(text: str) -> float | None:
    """The length of an interval ``within`` takes, in seconds (None: not one)."""
    found = re.match(INTERVAL_PATTERN, text) if isinstance(text, str) else None
    if found is None:
        return None
    return float(text.split()[0]) * _UNIT_SECONDS[found.group(1)]


@dataclass(frozen=True)
class Within:
    """The time range of a join step: right between left + lower and left + upper."""

    left: str
    right: str
    lower: str
    upper: str

    def sql(self, left: str, right: str) -> str:
        """The condition, given where the left and right time columns come from."""
        return f"{right} >= {_plus(left, self.lower)} AND {right} <= {_plus(left, self.upper)}"


def _plus(column: str, interval: str) -> str:
    text = interval.strip()
    sign = "-" if text.startswith("-") else "+"
    return f"{column} {sign} INTERVAL '{text.lstrip('-').strip()}'"


def within_of(value: Any) -> Within | None:
    """The ``within`` option as a Within (None when absent or not a complete mapping)."""
    if not isinstance(value, Mapping) or not all(
        isinstance(value.get(k), str) for k in ("left", "right", "lower", "upper")
    ):
        return None
    return Within(value["left"], value["right"], value["lower"], value["upper"])


@dataclass(frozen=True)
class JoinStep:
    """How the result so far is joined with the next input."""

    how: str
    on: tuple[str, ...] = ()
    condition: str | None = None
    within: Within | None = None

    def sql(self, right: str, left_columns: Selected | None = None) -> str:
        """The step's JOIN clause; ``left_columns`` (the result so far, name → where it comes from) lets a
        ``within`` step with ``on`` keys be written as an ON condition, which a USING join cannot extend."""
        clause = f"{JOIN_TYPES[self.how]} {quote(right)}"
        if self.within is not None and left_columns is not None:
            left_of = {name.lower(): source for name, source in left_columns}
            keys = [f"{left_of.get(k.lower(), quote(k))} = {quote(right)}.{quote(k)}" for k in self.on]
            conditions = [*keys, *([f"({self.condition})"] if self.condition else [])]
            left_time = _column_source(self.within.left, left_of)
            conditions.append(self.within.sql(left_time, _column_source(self.within.right, {}, quote(right))))
            return f"{clause} ON ({' AND '.join(conditions)})"
        if self.on:
            return f"{clause} USING ({', '.join(quote(column) for column in self.on)})"
        if self.condition:
            return f"{clause} ON ({self.condition})"
        return clause

    def problem(self) -> str | None:
        if self.how == "cross":
            return "a cross join takes neither on nor condition" if self.on or self.condition else None
        if bool(self.on) == bool(self.condition):
            return f"a {self.how} join needs exactly one of on or condition"
        if self.within is not None:
            lower, upper = interval_seconds(self.within.lower), interval_seconds(self.within.upper)
            if lower is not None and upper is not None and lower > upper:
                return f"within: lower ({self.within.lower}) is after upper ({self.within.upper})"
        return None


def _column_source(column: str, known: Mapping[str, str], qualifier: str | None = None) -> str:
    """A ``within`` column as SQL: ``stage.column`` as written, a name of the result so far from where it
    comes from, otherwise the name qualified by ``qualifier`` (the right input)."""
    if "." in column:
        stage, name = column.split(".", 1)
        return f"{quote(stage)}.{quote(name)}"
    if column.lower() in known:
        return known[column.lower()]
    return f"{qualifier}.{quote(column)}" if qualifier else quote(column)


def _owns_keys(override: Mapping[str, Any]) -> bool:
    """Whether a ``joins`` entry sets its own keys instead of taking the top-level on/condition."""
    return "on" in override or "condition" in override or override.get("how") == "cross"


def join_step(options: Mapping[str, Any], override: Mapping[str, Any]) -> JoinStep:
    """One step: the ``joins`` entry's settings, falling back to the top-level ones."""
    keys = override if _owns_keys(override) else options
    on = keys.get("on")
    return JoinStep(
        how=override.get("how", options.get("how", "inner")),
        # check_options also sees items the JSON Schema rejected: a wrong type counts as no keys
        on=tuple(on) if isinstance(on, (list, tuple)) else (),
        condition=keys.get("condition"),
        within=within_of(override.get("within", options.get("within"))),
    )


def join_steps(options: Mapping[str, Any], count: int) -> list[JoinStep]:
    """The steps joining ``count`` inputs after the first: one per ``joins`` entry, or the top-level one."""
    overrides = options.get("joins") or [{}] * count
    return [join_step(options, override) for override in overrides]


@register
class JoinTransform(Transform):
    type = "join"
    description = "Join two or more inputs: the first is the left side, each next input is joined to the result so far."
    single_input = False
    min_inputs = 2
    options_schema = {
        "how": _HOW,
        "on": _ON,
        "condition": _CONDITION,
        "within": _WITHIN,
        "joins": {
            "type": "array",
            "minItems": 1,
            "description": "One entry per input after the first, overriding how, on or condition for that step.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "description": "How this input is joined; keys left out come from the top level.",
                "properties": {"how": _HOW, "on": _ON, "condition": _CONDITION, "within": _WITHIN},
            },
        },
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        # The validator passes the whole stage item, so ``inputs`` is here to count the steps.
        joins = options.get("joins")
        inputs = options.get("inputs")
        problems: list[OptionProblem] = []
        if isinstance(joins, list) and isinstance(inputs, list) and len(joins) != len(inputs) - 1:
            problems.append(
                OptionProblem(
                    ("joins",),
                    f"joins has {len(joins)} entries for {len(inputs)} inputs",
                    "give one entry per input after the first",
                )
            )
        overrides = joins if isinstance(joins, list) else [{}]
        for index, override in enumerate(overrides):
            if not isinstance(override, Mapping):
                continue
            problem = join_step(options, override).problem()
            path: tuple[str | int, ...] = ("joins", index) if _owns_keys(override) else ()
            hint = _HINT
            if problem and problem.startswith("within"):
                path = ("joins", index, "within") if "within" in override else ("within",)
                hint = 'e.g. lower: "-10 minutes", upper: "0 seconds"'
            if problem and all((p.key_path, p.message) != (path, problem) for p in problems):
                problems.append(OptionProblem(path, problem, hint))
        return problems

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage | None:
        """The join's own FROM clause, selecting each output column from the input Spark takes it from."""
        steps = join_steps(stage.options, len(stage.inputs) - 1)
        columns = [inputs[name] for name in stage.inputs]
        if len(steps) != len(stage.inputs) - 1:
            return None  # validate refuses this stage: there is no join to describe
        if any(c is None for c in columns):
            return StageLineage(join_query(stage.inputs, steps))
        return StageLineage(join_select(stage.inputs, steps, [list(c or ()) for c in columns]))

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        steps = join_steps(stage.options, len(stage.inputs) - 1)
        if len(steps) != len(stage.inputs) - 1:
            raise ConfigError(
                f"{stage.label}: joins has {len(steps)} entries for {len(stage.inputs)} inputs",
                location=stage.location,
                hint="give one entry per input after the first",
            )
        with user_sql(stage, "join"):
            if len(steps) == 1 and steps[0].on and steps[0].within is None:
                # each side keeps its stage name as qualifier, as a view would (dry-run names orders.customer_id)
                left, right = (inputs[name].alias(name) for name in stage.inputs)
                return left.join(right, on=list(steps[0].on), how=steps[0].how)
            register_views(inputs)
            if any(step.within is not None for step in steps):
                # a time range joins in the ON condition, so each output column is selected from its side
                columns = [list(inputs[name].columns) for name in stage.inputs]
                return ctx.spark.sql(join_select(stage.inputs, steps, columns))
            return ctx.spark.sql(join_query(stage.inputs, steps))


def join_query(names: Sequence[str], steps: Sequence[JoinStep]) -> str:
    """``SELECT *`` over the first input joined with each next one by its step."""
    return f"SELECT * {join_from(names, steps)}"


def join_select(names: Sequence[str], steps: Sequence[JoinStep], columns: Sequence[Sequence[str]]) -> str:
    """The join selecting each output column from the input Spark takes it from (given every input's columns)."""
    output = [(c, f"{quote(names[0])}.{quote(c)}") for c in columns[0]]
    clauses = []
    for step, right, right_columns in zip(steps, names[1:], columns[1:], strict=True):
        clauses.append(step.sql(right, output))
        output = joined_columns(output, step, [(c, f"{quote(right)}.{quote(c)}") for c in right_columns])
    items = ", ".join(f"{source} AS {quote(name)}" for name, source in output)
    return f"SELECT {items} FROM {quote(names[0])} {' '.join(clauses)}"


def join_from(names: Sequence[str], steps: Sequence[JoinStep]) -> str:
    """The FROM clause joining the first input with each next one by its step."""
    joins = " ".join(step.sql(right) for step, right in zip(steps, names[1:], strict=True))
    return f"FROM {quote(names[0])} {joins}"


Selected = list[tuple[str, str]]


def joined_columns(left: Selected, step: JoinStep, right: Selected) -> Selected:
    """The columns after one step, each (name, where Spark takes it from): a USING join's keys first, once.

    A key comes from the left side, the right one in a right join, either in a full join; semi and
    anti joins keep the left side's columns only.
    """
    keep_right = step.how not in ("left_semi", "left_anti")
    if not step.on:
        return left + (right if keep_right else [])
    keys = {key.lower() for key in step.on}
    left_of, right_of = ({n.lower(): s for n, s in side} for side in (left, right))
    first = []
    for key in step.on:
        source = left_of.get(key.lower(), right_of.get(key.lower(), quote(key)))
        if step.how == "right":
            source = right_of.get(key.lower(), source)
        elif step.how == "full":
            source = f"coalesce({source}, {right_of.get(key.lower(), source)})"
        first.append((key, source))
    others = [c for c in left if c[0].lower() not in keys]
    return first + others + ([c for c in right if c[0].lower() not in keys] if keep_right else [])
