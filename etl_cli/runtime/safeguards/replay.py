"""``etl-cli dlq replay``: run fixed dead letters through the pipeline again, from the stage they left.

A replay is an ordinary run (lock, run results, checks, dead-letter queue) of a part of
the pipeline, with three differences:

1. The stage the dead letters came from (the *origin*) produces the replayed rows instead
   of its usual output: the ``row`` JSON of quarantined letters, the ``raw`` text of
   malformed ones re-parsed with the source's current schema and options, or the rows of
   a corrected JSON Lines file (``--rows``). Rows that still do not parse go back to the
   queue as malformed; rows that still fail a check are quarantined again (new run id).
2. Only the sinks downstream of the origin run, and they append (a sink in upsert mode
   keeps upserting): the replayed rows are added to what the first run wrote.
3. Only the origin and the stages below it run their checks, and only row-level ones:
   a row_count or freshness check over a handful of replayed rows means nothing.

Appending is only right if every transform between the origin and the sinks maps rows
one to one: select, filter, derive, a join read through its first input (inner, left,
semi, anti), a union (its other inputs are emptied for the replay). An aggregate,
window, deduplicate or sql transform on the way would append partial results next to
the complete ones, so such replays are refused unless ``--force``.

Each replay is recorded in ``<state_dir>/dlq/<pipeline>/<env>/replays.jsonl``; replaying
the same run's letters from the same stage twice is refused unless ``--force``. A replay writes into
the sinks, so one into a protected environment needs ``--confirm-env`` as a run does (usecases/dlq.py
checks it); its audit record has the command ``dlq replay``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ExitCode, UsageError
from etl_cli.events import Reporter
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plan.dag import Plan, compile_plan
from etl_cli.plugins.api import RunContext, Sink, StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.sources.malformed import CORRUPT_COLUMN
from etl_cli.plugins.spark_types import quote
from etl_cli.runtime.bookkeeping.audit_trail import Confirmation
from etl_cli.runtime.safeguards.dlq import Selection, dead_letter_spec, read_queue
from etl_cli.runtime.safeguards.guards import Replacement, RunExtras

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

ROW_WISE = {"select", "filter", "derive"}
ROW_WISE_JOINS = {"inner", "left", "left_outer", "leftouter", "semi", "left_semi", "leftsemi"}
ROW_WISE_JOINS |= {"anti", "left_anti", "leftanti"}
#: sink modes that are already safe to run twice
IDEMPOTENT_MODES = {"upsert", "merge"}
#: what a replay is called in the audit trail (and in the refusal of a protected environment)
REPLAY_COMMAND = "dlq replay"


@dataclass(frozen=True)
class ReplayPlan:
    """The part of the pipeline a replay runs, and what it changes about it."""

    plan: Plan
    origin: str
    affected: frozenset[str]
    emptied: tuple[str, ...]
    modes: dict[str, str]
    problems: list[str] = field(default_factory=list)


def dead_letter_stages(spec: PipelineSpec) -> list[str]:
    """Stages that can send rows to the queue: malformed records, quarantine checks, sinks with on_reject."""
    found = [s.name for s in spec.stages if s.option("on_malformed") == "dead_letter"]
    found += [c.stage for c in spec.checks if c.action == "quarantine"]
    found += [s.name for s in spec.stages if s.kind == "sink" and s.option("on_reject") == "dead_letter"]
    return list(dict.fromkeys(found))


def plan_replay(spec: PipelineSpec, registry: Registry, stage: str) -> ReplayPlan:
    """Which stages and sinks a replay from ``stage`` runs; ``problems`` say why appending could be wrong."""
    full = compile_plan(spec)
    chosen = full.stage(stage)
    if chosen.kind == "sink":  # rows the sink rejected: replayed into that sink only
        origin, sinks = chosen.inputs[0], [chosen]
    else:
        origin = stage
        sinks = [s for s in full.sinks if origin in full.ancestors(s.name)]
    if not sinks:
        raise UsageError(f"stage '{origin}' feeds no sink, so there is nothing to replay into")
    part = full.restricted_to([s.name for s in sinks])
    affected = frozenset({origin} | {s.name for s in part.stages if origin in part.ancestors(s.name)})
    problems: list[str] = []
    emptied: list[str] = []
    for step in part.stages:
        if step.kind == "transform" and step.name in affected and step.name != origin:
            problems += _row_wise_problems(step, affected, emptied)
    problems += _emptied_problems(part, affected, emptied)
    modes: dict[str, str] = {}
    stages = []
    for step in part.stages:
        if step.kind == "sink":
            mode, problem = _replay_mode(step, registry)
            modes[step.name] = mode
            problems += [problem] if problem else []
            step = replace(step, options={**step.options, "mode": mode})
        stages.append(step)
    return ReplayPlan(replace(part, stages=tuple(stages)), origin, affected, tuple(emptied), modes, problems)


def _row_wise_problems(step: StageSpec, affected: frozenset[str], emptied: list[str]) -> list[str]:
    fed = [i for i in step.inputs if i in affected]
    if step.type in ROW_WISE:
        return []
    if step.type == "union":
        emptied += [i for i in step.inputs if i not in affected and i not in emptied]
        return []
    if step.type == "join":
        how = str(step.option("how", "inner")).lower()
        if fed == [step.inputs[0]] and how in ROW_WISE_JOINS and len(step.inputs) == 2:
            return []
        return [
            f"transform '{step.name}' (join, how {how}) does not read the replayed rows through its first "
            "input only: its output for them is not a set of new rows"
        ]
    return [
        f"transform '{step.name}' ({step.type}) combines rows: appending its output for the replayed rows "
        "would add partial results next to the complete ones"
    ]


def _emptied_problems(part: Plan, affected: frozenset[str], emptied: list[str]) -> list[str]:
    problems = []
    for name in emptied:
        readers = [s for s in part.stages if name in s.inputs and not (s.type == "union" and s.name in affected)]
        if readers:
            problems.append(
                f"stage '{name}' is emptied for the replay (it feeds a union with the replayed rows) but "
                f"'{readers[0].name}' reads it too"
            )
    return problems


def _replay_mode(sink: StageSpec, registry: Registry) -> tuple[str, str | None]:
    modes = registry.get_as(Sink, sink.type).modes
    current = str(sink.option("mode", ""))
    if current in IDEMPOTENT_MODES:
        return current, None
    if "append" in modes:
        return "append", None
    return current, f"sink '{sink.name}' ({sink.type}) cannot append"


# --------------------------------------------------------------------------- the replayed rows


def _ddl(schema: StructType) -> str:
    return ", ".join(f"{quote(f.name)} {f.dataType.simpleString()}" for f in schema.fields)


def _with_corrupt(schema: StructType) -> StructType:
    from pyspark.sql.types import StringType, StructField, StructType

    fields = [f for f in schema.fields if f.name != CORRUPT_COLUMN]
    return StructType([*fields, StructField(CORRUPT_COLUMN, StringType())])


_PERMISSIVE = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}


def parse_letters(letters: DataFrame, schema: StructType, origin: StageSpec) -> DataFrame:
    """Dead letters as rows of ``schema`` (plus the corrupt-record column for those that still do not parse)."""
    from pyspark.sql import functions as F

    full = _with_corrupt(schema)
    from_row = F.from_json(F.col("row"), full, _PERMISSIVE)
    if origin.type == "csv":
        reader = {k: str(v) for k, v in dict(origin.option("options") or {}).items() if k.lower() != "header"}
        from_raw = F.from_csv(F.col("raw"), _ddl(full), {**reader, **_PERMISSIVE})
    elif origin.type == "json":
        from_raw = F.from_json(F.col("raw"), full, _PERMISSIVE)
    else:
        from_raw = from_row
    parsed = F.when((F.col("kind") == "malformed") & F.col("raw").isNotNull(), from_raw).otherwise(from_row)
    return letters.select(parsed.alias("r")).select("r.*")


def replacement(
    spec: PipelineSpec,
    registry: Registry,
    origin: StageSpec,
    selection: Selection,
    rows_file: Path | None,
    info: dict[str, Any],
) -> Replacement:
    """The function that turns the origin's own frame into the replayed rows, lazily."""

    def replayed(ctx: RunContext, own: DataFrame) -> DataFrame:
        if rows_file is not None:
            rows = ctx.spark.read.schema(_with_corrupt(own.schema)).options(**_PERMISSIVE).json(str(rows_file))
        else:
            letters = read_queue(ctx, spec, registry, selection)
            if letters is None or not (count := letters.count()):
                raise UsageError(
                    f"no dead letters match {json.dumps(selection.to_json())}",
                    hint="etl-cli dlq count shows what the queue holds",
                )
            info["dead_letters"] = count
            rows = parse_letters(letters, own.schema, origin)
        return rows

    return replayed


def _emptied(_ctx: RunContext, own: DataFrame) -> DataFrame:
    return own.limit(0)


# --------------------------------------------------------------------------- the ledger


def ledger_file(spec: PipelineSpec) -> Path:
    return spec.state_dir / "dlq" / spec.name / (spec.env or "default") / "replays.jsonl"


def earlier_replays(spec: PipelineSpec, stage: str, runs: tuple[str, ...]) -> list[dict[str, Any]]:
    path = ledger_file(spec)
    if not runs or not path.is_file():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in entries if e.get("stage") == stage and set(e.get("runs") or ()) & set(runs)]


def record_replay(spec: PipelineSpec, entry: dict[str, Any]) -> None:
    path = ledger_file(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")


# --------------------------------------------------------------------------- the use case


def choose_stage(spec: PipelineSpec, stage: str | None) -> str:
    if stage:
        return stage
    candidates = dead_letter_stages(spec)
    if len(candidates) == 1:
        return candidates[0]
    raise UsageError(
        "say which stage's dead letters to replay with --stage",
        hint=f"stages that send rows to the queue: {', '.join(candidates) or 'none'}",
    )


def replay(
    spec: PipelineSpec,
    registry: Registry,
    reporter: Reporter,
    run_id: str,
    *,
    selection: Selection,
    rows_file: Path | None = None,
    force: bool = False,
    master: str | None = None,
    verbose: bool = False,
    results_dir: Path | None = None,
    confirmation: Confirmation | None = None,
) -> tuple[ExitCode, Path]:
    """Replay the selected dead letters (or the corrected ``rows_file``) from their stage; see the module doc.

    ``confirmation``: who confirmed a replay into a protected environment (``--confirm-env``); the replay's
    audit record keeps it, with the command ``dlq replay``.
    """
    from etl_cli.runtime.execution.run import execute_run

    dead_letter_spec(spec)
    if not selection.runs and rows_file is None:
        raise UsageError(
            "say which run's dead letters to replay with --run RUN_ID, or give --rows FILE",
            hint="etl-cli dlq count PIPELINE lists the runs that have dead letters",
        )
    if rows_file is not None and not rows_file.is_file():
        raise UsageError(f"no such file: {rows_file}")
    stage = choose_stage(spec, selection.stage)
    selection = replace(selection, stage=stage)
    chosen = plan_replay(spec, registry, stage)
    if chosen.problems and not force:
        raise UsageError(
            "this replay would append rows that are not row-for-row results:\n  " + "\n  ".join(chosen.problems),
            hint="replay from a later stage, or pass --force if you have checked the sinks can take it",
        )
    if (earlier := earlier_replays(spec, stage, selection.runs)) and not force:
        last = earlier[-1]
        raise UsageError(
            f"the dead letters of run(s) {', '.join(selection.runs)} from stage '{stage}' were already replayed "
            f"by run {last.get('replay_run')} at {last.get('at')}",
            hint="replaying again would load them twice; pass --force to do it anyway",
        )
    info: dict[str, Any] = {
        "stage": stage,
        "origin": chosen.origin,
        "selection": selection.to_json(),
        "rows_file": str(rows_file) if rows_file else None,
        "sinks": chosen.modes,
        "emptied": list(chosen.emptied),
        "forced": bool(force and (chosen.problems or earlier)),
    }
    origin = chosen.plan.stage(chosen.origin)
    replacements: dict[str, Replacement] = {
        chosen.origin: replacement(spec, registry, origin, selection, rows_file, info)
    }
    replacements.update({name: _emptied for name in chosen.emptied})
    extras = RunExtras(replacements, chosen.affected, skip_dataset_checks=True, info=info)
    code, path = execute_run(
        spec,
        registry,
        reporter,
        run_id,
        master=master,
        verbose=verbose,
        results_dir=results_dir,
        plan=chosen.plan,
        extras=extras,
        confirmation=confirmation,
        command=REPLAY_COMMAND,
    )
    record_replay(
        spec,
        {
            "replay_run": run_id,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs": list(selection.runs),
            **info,
        },
    )
    return code, path
