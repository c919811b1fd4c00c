"""Schema contracts: compare a stage's schema with what it promises, before any data moves.

Only the schema is compared (Spark resolves it without running a job). ``nullable:
false`` columns become a not_null check evaluated with the stage's other checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from etl_cli.errors import RunError
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.checks import CheckSpec, ContractSpec, Threshold
from etl_cli.plugins.spark_types import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType

#: the name of the implicit check that enforces ``nullable: false``
NOT_NULL_CHECK = "contract_not_null"


class ContractViolation(RunError):
    """A stage's schema breaks its contract (exit 4: the data, not the pipeline file, changed)."""


@dataclass
class ContractDiff:
    """How an actual schema differs from a contract."""

    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong_type: list[str] = field(default_factory=list)

    def broken(self, policy: str) -> bool:
        return bool(self.missing or self.wrong_type or (self.extra and policy == "strict"))

    def lines(self, policy: str) -> list[str]:
        found = [f"  missing: {m}" for m in self.missing]
        found += [f"  wrong type: {w}" for w in self.wrong_type]
        if policy == "strict":
            found += [f"  extra: {e}" for e in self.extra]
        return found


def _declared_type(type_text: str) -> DataType:
    from pyspark.sql.types import _parse_datatype_string

    return _parse_datatype_string(type_text)


def compare(contract: ContractSpec, df: DataFrame) -> ContractDiff:
    """Missing, extra and wrongly typed columns of ``df`` against ``contract`` (column names match exactly)."""
    actual = {f.name: f.dataType for f in df.schema.fields}
    lowered = {name.lower(): name for name in actual}
    declared = {c.name for c in contract.columns}
    diff = ContractDiff()
    for column in contract.columns:
        if column.name not in actual:
            near = lowered.get(column.name.lower())
            suffix = f" (the stage has '{near}': names are case-sensitive here)" if near else ""
            diff.missing.append(f"{column.name} {column.type or ''}".rstrip() + suffix)
        elif column.type is not None:
            wanted = _declared_type(column.type)
            if wanted.simpleString() != actual[column.name].simpleString():
                diff.wrong_type.append(
                    f"{column.name} is {actual[column.name].simpleString()}, the contract says {wanted.simpleString()}"
                )
    diff.extra = [f"{name} {actual[name].simpleString()}" for name in actual if name not in declared]
    return diff


def enforce(contract: ContractSpec, stage: StageSpec, df: DataFrame) -> tuple[DataFrame, dict[str, Any]]:
    """``df`` as the contract's policy shapes it, and a note for the report; raises ContractViolation."""
    diff = compare(contract, df)
    where = f" at {contract.location}" if contract.location else ""
    if diff.broken(contract.policy):
        raise ContractViolation(
            f"the schema of {stage.label} breaks its contract{where} (policy {contract.policy}):\n"
            + "\n".join(diff.lines(contract.policy)),
            hint="fix the upstream data or query, or update the contract (policy allow_extra or evolve "
            "tolerates new columns)",
        )
    note: dict[str, Any] = {"stage": stage.name, "policy": contract.policy, "status": "ok"}
    if diff.extra and contract.policy == "allow_extra":
        from pyspark.sql import functions as F

        df = df.select(*[F.col(quote(c.name)) for c in contract.columns])
        note["removed_columns"] = diff.extra
    elif diff.extra:
        note["new_columns"] = diff.extra
    return df, note


def not_null_check(contract: ContractSpec) -> CheckSpec | None:
    """The implicit check behind ``nullable: false`` columns (action fail), or None."""
    columns = contract.required_non_null
    if not columns:
        return None
    return CheckSpec(
        name=NOT_NULL_CHECK,
        type="not_null",
        stage=contract.stage,
        action="fail",
        severity="error",
        threshold=Threshold(),
        options={"columns": list(columns)},
        location=contract.location,
        description="columns the contract declares nullable: false",
    )
