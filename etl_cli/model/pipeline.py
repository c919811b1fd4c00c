"""The validated pipeline: frozen, typed data the planner and runtime consume, and the only parse of it.

:func:`etl_cli.model.check.check_pipeline` builds a :class:`PipelineSpec` once from the loaded
document; every section a run needs (stages, checks, contracts, the dead-letter queue, retries,
the circuit breaker, metrics, streaming settings, the project) is a field, so nothing below
``app`` reads the raw document or loads ``etl-project.yaml`` again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from etl_cli.config.nodes import Path as DocPath
from etl_cli.config.nodes import Provenance
from etl_cli.config.params import ParamValue
from etl_cli.config.project import Project
from etl_cli.errors import Location
from etl_cli.model.access import AccessSpec
from etl_cli.model.catalog import Registration
from etl_cli.model.checkpoints import CheckpointSettings
from etl_cli.model.lineage import LineageSpec
from etl_cli.model.metrics import MetricsSpec
from etl_cli.model.monitoring import MonitoringSpec
from etl_cli.model.resilience import BreakerSettings, RetryPolicy
from etl_cli.model.schedule import ScheduleSpec
from etl_cli.model.streaming import StreamingSettings
from etl_cli.model.tracing import TracingSpec
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Kind, StageSpec
from etl_cli.plugins.checks import CheckSpec, ContractSpec, DeadLetterSpec

_COMMON_KEYS = {"name", "type", "description", "inputs", "input", "sensitive"}


@dataclass(frozen=True)
class SparkSettings:
    """The pipeline's ``spark:`` block."""

    master: str | None = None
    #: a Spark Connect server (``sc://host:port``) to run on instead of a master
    remote: str | None = None
    app_name: str | None = None
    conf: Mapping[str, Any] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineSpec:
    """A pipeline ready to plan: every stage, its settings, and where it was written."""

    name: str
    file: Path
    #: the project the pipeline belongs to (``etl-project.yaml``: environments, secret provider settings...)
    project: Project
    state_dir: Path
    env: str | None
    description: str | None
    vars: Mapping[str, Any]
    spark: SparkSettings
    stages: tuple[StageSpec, ...]
    #: where each key of the document was written, for errors that point at the user's line
    provenance: Provenance
    #: the ``streaming:`` settings when a source reads a stream (the pipeline runs as streaming queries)
    streaming: StreamingSettings | None = None
    #: the ``checks:``, in the order written
    checks: tuple[CheckSpec, ...] = ()
    #: the ``contract:`` of each source and transform that declares one, by stage name
    contracts: Mapping[str, ContractSpec] = field(default_factory=dict)
    #: the ``dead_letter:`` queue; None: rejected rows are not kept
    dead_letter: DeadLetterSpec | None = None
    #: the pipeline's ``retry:`` over the defaults (a stage's own is laid over it by :meth:`retry_for`)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: the ``circuit_breaker:`` settings, the same for every endpoint of a run
    circuit_breaker: BreakerSettings = field(default_factory=BreakerSettings)
    #: the ``metrics:`` exporter; None: no metrics
    metrics: MetricsSpec | None = None
    #: the ``monitoring:`` endpoint (/metrics, /healthz, /readyz); on by default for streaming pipelines
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)
    #: what each sink with a ``catalog:`` registers after it has committed, by sink name (docs/catalog.md)
    registrations: Mapping[str, Registration] = field(default_factory=dict)
    #: the ``lineage:`` settings (the project's, its environment's and the pipeline's); None: no OpenLineage events
    lineage: LineageSpec | None = None
    #: the ``tracing:`` block; None: none (OTEL_EXPORTER_OTLP_* may still turn tracing on)
    tracing: TracingSpec | None = None
    #: ``schedule:`` (the project's under the pipeline's); None: the pipeline is not scheduled
    schedule: ScheduleSpec | None = None
    #: ``depends_on:``: pipelines of the project this one runs after (besides those inferred from datasets)
    depends_on: tuple[str, ...] = ()
    #: ``tags:``: names ``--select tag:NAME`` picks the pipeline by
    tags: tuple[str, ...] = ()
    #: ``params:``: each run-time parameter's declaration and the value it has in this load (config/params.py)
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    #: ``checkpoints:``: how long the checkpoints of stages with ``checkpoint: true`` are kept
    checkpoints: CheckpointSettings = field(default_factory=CheckpointSettings)
    #: the project's row-level ``access:`` rules and ``principals:``, and the principal ``--as`` names (model/access.py)
    access: AccessSpec = field(default_factory=AccessSpec)

    @property
    def project_root(self) -> Path:
        """What relative paths of the pipeline are relative to."""
        return self.project.root

    def stage(self, name: str) -> StageSpec:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def contract(self, stage: str) -> ContractSpec | None:
        """The contract the stage named ``stage`` declares, or None."""
        return self.contracts.get(stage)

    def retry_for(self, stage: StageSpec) -> RetryPolicy:
        """How ``stage``'s external operations are retried: its own ``retry:`` over the pipeline's."""
        return self.retry.over(stage.option("retry"))

    @property
    def sinks(self) -> tuple[StageSpec, ...]:
        return tuple(s for s in self.stages if s.kind == "sink")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def stage_path(kind: Kind, index: int) -> DocPath:
    return (SECTION_OF_KIND[kind], index)


def build_stages(document: Mapping[str, Any], provenance: Provenance) -> tuple[StageSpec, ...]:
    stages: list[StageSpec] = []
    for kind in KINDS:
        for index, item in enumerate(document.get(SECTION_OF_KIND[kind]) or []):
            if kind == "sink":
                inputs: tuple[str, ...] = (item["input"],)
            else:
                inputs = tuple(item.get("inputs") or ())
            options = {k: v for k, v in item.items() if k not in _COMMON_KEYS}
            stages.append(
                StageSpec(
                    name=item["name"],
                    kind=kind,
                    type=item["type"],
                    inputs=inputs,
                    options=_freeze(options),
                    location=_stage_location(provenance, stage_path(kind, index)),
                    description=item.get("description"),
                    sensitive=tuple(item.get("sensitive") or ()),
                )
            )
    return tuple(stages)


def _stage_location(provenance: Provenance, path: DocPath) -> Location | None:
    """Where the user defines the stage: their own item (its ``name``) before the template's it extends.

    A stage the pipeline or an overlay changes is merged onto the template's item, which keeps the
    template's position; the ``name`` key is the user's, as they named the item to change it.
    """
    written = provenance.value_location(path)
    if written is None or written.file not in provenance.templates:
        return written
    name = provenance.info((*path, "name"))
    named = name.key_loc if name is not None else None
    return named if named is not None and named.line > 0 and named.file not in provenance.templates else written


def option_location(pipeline: PipelineSpec, stage: StageSpec, key: str) -> Location | None:
    """Where the user set ``key`` of ``stage``: the var it was built from, or the key's own line.

    None when only a template set it (or the stage is not one of the pipeline's): errors then
    point at the stage instead of a template line the user never wrote.
    """
    same_kind = [s.name for s in pipeline.stages if s.kind == stage.kind]
    if stage.name not in same_kind:
        return None
    return pipeline.provenance.user_location((*stage_path(stage.kind, same_kind.index(stage.name)), key))
