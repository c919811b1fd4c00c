"""What of a pipeline cannot run over Spark Connect, found offline (``validate``) and before a run picks a session.

Over Spark Connect the JVM is the server's: plug-ins that call into Spark's JVM from etl-cli's
process (:attr:`Plugin.needs_driver_jvm`), streaming writes etl-cli commits itself micro-batch by
micro-batch (their handlers run in etl-cli's process), real-time mode, and files etl-cli publishes
itself on a non-local file system need an in-process session; settings only a server's start
applies are ignored by a Connect session.
"""

from __future__ import annotations

from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.model.late import Stage, late_splits
from etl_cli.model.pipeline import PipelineSpec, option_location
from etl_cli.plugins.api import OptionProblem
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_session import display_url, is_connect_url, is_session_setting, loopback

IN_PROCESS_HINT = "run it in-process or on a cluster (--master) instead of over Spark Connect (--remote)"


def runs_over_connect(spec: PipelineSpec, master: str | None = None) -> bool:
    """Whether ``spec`` runs over Spark Connect: ``master`` (``--master``/``--remote``) if given, else its settings."""
    return is_connect_url(master) if master else spec.spark.remote is not None


def connect_problems(spec: PipelineSpec, registry: Registry, remote: str | None = None) -> list[Diagnostic]:
    """Errors for what cannot run over Spark Connect; warnings for ``spark.conf`` settings a session ignores.

    ``remote``: the server's URL; on another machine than this one, file outputs (which etl-cli publishes
    itself on this machine's disk) cannot be published either.
    """
    found: list[Diagnostic] = []
    stages = [*spec.stages, *([spec.dead_letter.as_sink()] if spec.dead_letter is not None else [])]
    for stage in stages:
        plugin = registry.get(stage.kind, stage.type)
        problems = list(plugin.connect_problems(stage.options))
        if remote and not loopback(remote) and getattr(plugin, "publishes_on_client", False):
            problems.append(
                OptionProblem(
                    (),
                    f"cannot be published over the Spark Connect server at {display_url(remote)}: etl-cli publishes "
                    "file outputs on this machine's disk, and that server writes on its own",
                    "use a Connect server on this machine (etl-cli engine start), or run in-process or on a cluster",
                )
            )
        for problem in problems:
            key = problem.key_path[0] if problem.key_path else None
            where = (option_location(spec, stage, str(key)) if key is not None else None) or stage.location
            found.append(error("not-over-connect", f"{stage.label}: {problem.message}", where, problem.hint))
    if spec.streaming is not None:
        found += _streaming_problems(spec, registry)
    for key in spec.spark.conf:
        if not is_session_setting(str(key)):
            found.append(
                warning(
                    "server-setting",
                    f"spark.conf.{key} is a server setting: a Spark Connect session cannot change it, so the "
                    "server's own value applies",
                    spec.provenance.user_location(("spark", "conf", key)),
                    "set it where the Connect server starts (etl-cli engine start reads the project's pipelines)",
                )
            )
    return found


def _streaming_problems(spec: PipelineSpec, registry: Registry) -> list[Diagnostic]:
    """What of a streaming pipeline needs etl-cli's own process: everything else runs on Spark's native writers.

    Queries that write with Spark's own streaming sinks (files and Kafka in append mode) run over Spark Connect as
    in-process, with their checkpoints, row counts and ``fail`` checks. What etl-cli commits itself, micro-batch
    by micro-batch (``foreachBatch`` handlers: upserts and merges, quarantined rows and late records written to
    the dead-letter queue), and real-time mode (a trigger PySpark sets on the JVM) need the JVM in etl-cli's
    process.
    """
    assert spec.streaming is not None
    found: list[Diagnostic] = []
    handler = "etl-cli commits it micro-batch by micro-batch in its own process (a foreachBatch handler)"
    # (a pipeline whose own spark.remote names a server got this error from its document's checks already)
    if spec.streaming.trigger.kind == "real_time" and spec.spark.remote is None:
        found.append(
            error(
                "not-over-connect",
                "real-time mode cannot run over Spark Connect: PySpark sets its trigger on the JVM of etl-cli's "
                "own process",
                spec.provenance.user_location(("streaming", "trigger", "real_time")),
                IN_PROCESS_HINT,
            )
        )
    for sink in (s for s in spec.stages if s.kind == "sink"):
        plugin = registry.get("sink", sink.type)
        mode = sink.option("mode")
        if mode not in getattr(plugin, "streaming_modes", ()):
            found.append(
                error(
                    "not-over-connect",
                    f"{sink.label}: a stream written in mode {mode} cannot run over Spark Connect: {handler}",
                    option_location(spec, sink, "mode") or sink.location,
                    f"{IN_PROCESS_HINT}; over Spark Connect a stream is written by Spark's own sinks (files and "
                    "Kafka, in append mode)",
                )
            )
    for check in spec.checks:
        if check.action == "quarantine":
            found.append(
                error(
                    "not-over-connect",
                    f"{check.label}: quarantined rows of a stream cannot go to the dead-letter queue over Spark "
                    f"Connect: {handler}",
                    check.location,
                    f"{IN_PROCESS_HINT}; or use action drop or fail",
                )
            )
    stages = [Stage(s.kind, s.name, s.type, tuple(s.inputs), s.options) for s in spec.stages]
    for split in late_splits(stages, spec.dead_letter is not None):
        stage = next(s for s in spec.stages if s.name == split.stage)
        found.append(
            error(
                "not-over-connect",
                f"{stage.label}: its late records cannot go to the dead-letter queue over Spark Connect: {handler}",
                stage.location,
                f"{IN_PROCESS_HINT}; or set late: drop on the watermark of {', '.join(n for n, _ in split.sources)}",
            )
        )
    return found


def unfit_for_connect(spec: PipelineSpec, registry: Registry, remote: str | None = None) -> str | None:
    """Why ``spec`` cannot run over Spark Connect (the first error of :func:`connect_problems`), or None."""
    errors = [d for d in connect_problems(spec, registry, remote) if d.severity == "error"]
    return errors[0].message if errors else None
