"""The small contract every plug-in implements.

A plug-in is one class: its ``type`` name, a docstring-like ``description``, the JSON
Schema of its options (which feeds the published pipeline schema, editors and the
wizard), and the method that does the work on Spark. Plug-in modules must not import
pyspark at module level: ``validate`` loads them to build the schema without a JVM.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar

from etl_cli.errors import Location

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import DataStreamWriter

Kind = Literal["source", "transform", "sink"]
KINDS: tuple[Kind, ...] = ("source", "transform", "sink")
SECTION_OF_KIND: dict[Kind, str] = {"source": "sources", "transform": "transforms", "sink": "sinks"}
#: every kind the registry holds: the stage kinds, data-quality checks (``checks:``), metrics exporters
#: (``metrics:``) and secret providers (``secrets:`` in etl-project.yaml), which are not stages
PluginKind = Literal["source", "transform", "sink", "check", "metrics", "secret_provider"]
PLUGIN_KINDS: tuple[PluginKind, ...] = (*KINDS, "check", "metrics", "secret_provider")


@dataclass(frozen=True)
class StageSpec:
    """One named stage of a pipeline as written in YAML, after merging and validation."""

    name: str
    kind: Kind
    type: str
    inputs: tuple[str, ...]
    options: Mapping[str, Any]
    location: Location | None = None
    description: str | None = None
    #: columns whose values ``debug`` never prints (the stage's ``sensitive:`` list)
    sensitive: tuple[str, ...] = ()

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}' ({self.type})"


@dataclass(frozen=True)
class OptionProblem:
    """A problem a plug-in found in its own options, relative to the stage."""

    key_path: tuple[str | int, ...]
    message: str
    hint: str | None = None
    #: set for a problem that is only a warning (the pipeline still runs): the code it is reported under
    warning_code: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """One ``retry:`` block. Waits grow ``initial_delay * multiplier**n`` up to ``max_delay``, plus jitter.

    It sits here, below the pipeline model, so that plug-ins retrying their own requests (the REST
    connector) follow the same settings as the runtime; :mod:`etl_cli.model.resilience` exports it.
    """

    attempts: int = 3
    initial_delay: float = 1.0
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 1.0

    @classmethod
    def layered(cls, *layers: Mapping[str, Any] | None) -> RetryPolicy:
        """The defaults, overridden by each layer in turn (pipeline ``retry:``, then the stage's)."""
        policy = cls()
        for layer in layers:
            policy = policy.over(layer)
        return policy

    def over(self, layer: Mapping[str, Any] | None) -> RetryPolicy:
        """This policy with what ``layer`` (a ``retry:`` block, or None) sets instead."""
        if not layer:
            return self
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in layer.items() if k in names})

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay) + rand() * self.jitter


def stage_retry(stage: StageSpec) -> RetryPolicy:
    """The stage's own ``retry:`` over the defaults (where a run knows no pipeline-level ``retry:``)."""
    return RetryPolicy().over(stage.option("retry"))


class StateStore(Protocol):
    """What a stage keeps between runs of its pipeline and environment (an incremental source's watermark)."""

    #: ``run --full-refresh``: stages ignore what they kept and start over
    full_refresh: bool

    def get(self, stage: str) -> Mapping[str, Any] | None:
        """What ``stage`` kept after the last successful run (None at first, or after a full refresh)."""

    def save_on_success(self, stage: str, value: Mapping[str, Any]) -> None:
        """Keep ``value`` for ``stage``, written only once every sink of this run has committed."""


@dataclass(frozen=True)
class DataKeys:
    """The data keys (DEKs) of one entry of the project's ``keys:``, unwrapped for one run (never printed).

    ``keys`` holds each version's 32 key bytes; values are encrypted with ``current`` and decrypted
    with the version their header names (docs/data-security.md).
    """

    name: str
    provider: str
    current: int
    keys: Mapping[int, bytes] = field(repr=False, compare=False)


class KeyStore(Protocol):
    """Where ``encrypt``/``decrypt`` get their data keys (etl_cli/secrets/keys: wrapped by Vault, KMS or a file)."""

    def data_keys(self, name: str) -> DataKeys:
        """The data keys of key ``name``, unwrapped; the first use of a key creates its first version."""


@dataclass
class RunContext:
    """What a plug-in may use while running: the session, where paths are relative to, the run."""

    spark: SparkSession
    project_root: Path
    run_id: str
    resolve: Callable[[Any], Any] = field(default=lambda value: value)
    #: the run's state store; None when the run keeps no state
    state: StateStore | None = None
    #: :meth:`etl_cli.secrets.resolver.SecretResolver.with_rotation` of the run, when it has one
    rotation: Callable[..., Any] | None = None
    #: in a streaming run, the id of the micro-batch a sink is writing through ``stage_write`` (replayed
    #: with the same id and the same rows after a crash, so a sink can make the write idempotent)
    micro_batch: int | None = None
    #: where sinks keep the write-ahead journal of each publish, so a run killed while publishing is put
    #: right by the next one (docs/run.md); set only by callers holding the pipeline's run lock (None:
    #: publishing is still undone on a failure, but not after the process is killed)
    journal_dir: Path | None = None
    #: the name of the pipeline being run (recorded in the marker of each dataset a file sink publishes)
    pipeline: str | None = None
    #: the environment of the run (None: the default one); with ``pipeline``, what the run lock is taken for,
    #: so what names a run's leftovers (a JDBC staging table) for later runs of the same lock to clean up
    env: str | None = None
    #: the data keys of the project's ``keys:`` (``encrypt``/``decrypt``); None where nothing can reach them
    keys: KeyStore | None = None
    #: how a stage's own requests are retried: its ``retry:`` over the pipeline's (the executor sets
    #: :meth:`etl_cli.model.pipeline.PipelineSpec.retry_for`; by default the stage's alone over the defaults)
    retry_for: Callable[[StageSpec], RetryPolicy] = field(default=stage_retry)

    def with_rotation(
        self, action: Callable[[Callable[[Any], Any]], T], is_auth_failure: Callable[[BaseException], bool]
    ) -> T:
        """Run ``action(resolve)``; when it fails authentication, re-read its secrets once and run it again."""
        if self.rotation is None:
            return action(self.resolve)
        result: T = self.rotation(action, is_auth_failure)
        return result

    def path(self, value: str) -> str:
        """Resolve a path from YAML: URIs (``s3a://``, ``file:``) as they are, relative ones against the project."""
        return resolve_path(value, self.project_root)


def resolve_path(value: str, project_root: Path) -> str:
    """The rule of :meth:`RunContext.path`, for code that has no run (``effects`` in dry-run)."""
    if "://" in value or value.startswith("file:"):
        return value
    candidate = Path(value)
    return str(candidate if candidate.is_absolute() else (project_root / candidate))


@dataclass(frozen=True)
class Effect:
    """Something a run would change: a path written, a table upserted... (for ``dry-run``)."""

    stage: str
    action: str
    target: str
    mode: str
    details: Mapping[str, Any] = field(default_factory=dict)


class Plugin:
    """Base of every plug-in class."""

    kind: ClassVar[PluginKind]
    type: ClassVar[str]
    description: ClassVar[str] = ""
    options_schema: ClassVar[dict[str, Any]] = {}
    required_options: ClassVar[tuple[str, ...]] = ()
    maven_packages: ClassVar[tuple[str, ...]] = ()
    #: why the plug-in needs Spark's JVM in etl-cli's own process, which a Spark Connect session does not give
    #: (None: it works through DataFrames alone, over Connect too)
    needs_driver_jvm: ClassVar[str | None] = None

    @classmethod
    def packages_for(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        """Maven coordinates this stage needs, given its options (a JDBC driver chosen by the URL...)."""
        return cls.maven_packages

    @classmethod
    def session_settings_for(cls, options: Mapping[str, Any]) -> Mapping[str, str]:
        """Spark settings the session must start with for this stage (a table format's SQL extension and catalog).

        Collected from every stage of the plan before Spark starts: ``spark.sql.extensions`` values are joined,
        any other key set by two plug-ins to different values is an error, and the pipeline's ``spark.conf``
        wins over the rest.
        """
        return {}

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """Semantic checks JSON Schema cannot express (override when needed)."""
        return []

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """Why this stage cannot process a stream with these options (it reads a streaming source)."""
        return []

    @classmethod
    def connect_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """Why this stage cannot run over Spark Connect with these options (:attr:`needs_driver_jvm` says why)."""
        if not cls.needs_driver_jvm:
            return []
        return [
            OptionProblem(
                (),
                f"cannot run over Spark Connect: {cls.needs_driver_jvm}",
                "run this pipeline in-process or on a cluster (--master) instead of over Spark Connect (--remote)",
            )
        ]

    @classmethod
    def endpoint(cls, stage: StageSpec) -> str | None:
        """The system ``stage`` talks to, as the key of its circuit breaker (never with credentials).

        None (the default): the runtime names it from a JDBC ``url``, Kafka servers or a ``path``.
        """
        return None


class Source(Plugin):
    kind: ClassVar[Kind] = "source"

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        raise NotImplementedError

    @classmethod
    def is_streaming(cls, options: Mapping[str, Any]) -> bool:
        """Whether the stage reads a stream (its pipeline then runs as a streaming query)."""
        return False

    def read_stream(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        """A streaming DataFrame (``spark.readStream``), for stages where :meth:`is_streaming` holds."""
        raise NotImplementedError


@dataclass(frozen=True)
class Influence:
    """Input columns that decide which rows reach a transform's output (or their order), not their values."""

    #: Spark SQL over the inputs' columns (``status = 'paid'``, a key, ``updated_at DESC``)
    expression: str
    #: ``filter``, ``join_key``, ``group_by`` or ``order``
    how: str


@dataclass(frozen=True)
class StageLineage:
    """What a transform does to columns, for offline column-level lineage (``etl-cli lineage``, docs/lineage.md).

    ``query`` is a Spark SQL ``SELECT`` over the inputs, each a table named after its stage, that reads
    the same input columns to make the same output columns, in the same order, as the transform does:
    the lineage engine parses it (sqlglot, dialect spark) instead of running anything.
    """

    query: str
    #: row influences the query does not show (a deduplication's keys and order)
    rows: tuple[Influence, ...] = ()


class Transform(Plugin):
    kind: ClassVar[Kind] = "transform"
    #: the number of inputs the transform takes: exactly one, or at least ``min_inputs``
    single_input: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 1

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage | None:
        """How the output columns derive from the inputs' columns, given those (None: not known offline).

        None (the default): unknown, and ``etl-cli lineage`` says so; a transform whose output
        columns cannot be told without Spark may also return a query over ``*``.
        """
        return None

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        """Whether the output has exactly as many rows as the one input, whatever the data.

        The run then counts those rows once, after this stage, instead of also before it (every
        count is one more pass over the rows). Only answer True when it always holds.
        """
        return False

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        raise NotImplementedError


class PendingWrite:
    """A sink's output written to a staging place, waiting to be made visible."""

    rows: int | None = None
    #: rows the sink refused while staging (columns ``row``: the row as JSON, ``reason``), sent to the
    #: dead-letter queue when the pipeline has one; None when the sink cannot tell
    rejected: DataFrame | None = None
    #: how many rows :attr:`rejected` holds, when the sink counted them (``rows`` then excludes them: the
    #: sink was given ``rows + rows_rejected`` rows)
    rows_rejected: int | None = None
    #: a commit that cannot be undone once begun (produced messages): committed after every other sink
    irreversible: bool = False
    #: what the run results show of the write (target, mode, files added...), filled in while staging and committing
    details: Mapping[str, Any] = MappingProxyType({})

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class Sink(Plugin):
    kind: ClassVar[Kind] = "sink"
    modes: ClassVar[tuple[str, ...]] = ("overwrite", "append", "error", "ignore")
    default_mode: ClassVar[str] = "overwrite"

    def stage_write(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> PendingWrite:
        """Write ``df`` where readers cannot see it yet; :meth:`PendingWrite.commit` publishes it."""
        raise NotImplementedError

    def effects(self, stage: StageSpec, project_root: Path) -> list[Effect]:
        """What this sink would change, without touching anything."""
        return []

    def preflight(self, ctx: RunContext, stage: StageSpec) -> None:
        """Raise when writing ``stage`` would destroy what the sink must not (a folder etl-cli did not write).

        ``dry-run`` calls it to report, as errors, what only the target itself can tell.
        """

    def recover(self, ctx: RunContext, stage: StageSpec, live_run_ids: Collection[str]) -> list[str]:
        """Clean up what dead runs of this pipeline left for ``stage`` (staging tables...); say what was done.

        Called under the pipeline's run lock, before a run and by ``etl-cli recover``; runs whose id is
        not in ``live_run_ids`` are dead. File sinks need nothing here: their publishes are journaled.
        """
        return []

    #: modes in which :meth:`stream_writer` writes a stream natively (file sinks: append)
    streaming_modes: ClassVar[tuple[str, ...]] = ()
    #: modes in which writing each micro-batch with ``stage_write`` + ``commit`` (Spark's foreachBatch) is
    #: idempotent when Spark replays a batch after a crash (an upsert by key)
    micro_batch_modes: ClassVar[tuple[str, ...]] = ()
    #: whether :meth:`stream_writer` accepts Spark's update output mode (a window's row written again each time
    #: it changes, readers keeping the latest), as Kafka does; file sinks only append
    stream_updates: ClassVar[bool] = False

    def stream_writer(self, ctx: RunContext, stage: StageSpec, df: DataFrame) -> DataStreamWriter:
        """``df.writeStream`` set up for this sink; the runtime adds the checkpoint and trigger, then starts it."""
        raise NotImplementedError


#: the names of the labels the metrics carry themselves (docs/metrics.md), which ``labels:`` may not reuse
RESERVED_LABELS = (
    "job", "instance", "pipeline", "env", "stage", "kind", "status", "check", "type", "action", "outcome",
    "policy", "endpoint", "state", "sink", "operator", "topic", "partition",
)  # fmt: skip
LABEL_NAME: dict[str, Any] = {
    "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$",
    "not": {"enum": list(RESERVED_LABELS)},
    "description": "A Prometheus label name, not one the metrics use already: " + ", ".join(RESERVED_LABELS) + ".",
}


class MetricsSnapshot(Protocol):
    """What a run measured, ready for Prometheus (built by the runtime from the run results)."""

    #: labels that tell this pipeline's metrics apart from others': ``pipeline`` and ``env``
    identity: Mapping[str, str]

    def registry(self, labels: Mapping[str, str]) -> CollectorRegistry:
        """The metrics, each sample with ``labels`` added (pass ``identity`` where nothing else groups them)."""


class MetricsExporter(Plugin):
    """Sends a run's metrics somewhere Prometheus can scrape them (the pipeline's ``metrics:`` block)."""

    kind: ClassVar[PluginKind] = "metrics"

    def __init__(self, options: Mapping[str, Any], project_root: Path):
        self.options = options
        self.project_root = project_root

    def export(self, snapshot: MetricsSnapshot) -> str:
        """Send or write ``snapshot``; return where it went. Raise when that failed."""
        raise NotImplementedError
