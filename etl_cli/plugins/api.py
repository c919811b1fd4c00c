"""The small contract every plug-in implements.

A plug-in is one class: its ``type`` name, a docstring-like ``description``, the JSON
Schema of its options (which feeds the published pipeline schema, editors and the
wizard), and the method that does the work on Spark. Plug-in modules must not import
pyspark at module level: ``validate`` loads them to build the schema without a JVM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from etl_cli.errors import Location

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Kind = Literal["source", "transform", "sink"]
KINDS: tuple[Kind, ...] = ("source", "transform", "sink")
SECTION_OF_KIND: dict[Kind, str] = {"source": "sources", "transform": "transforms", "sink": "sinks"}


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


@dataclass
class RunContext:
    """What a plug-in may use while running: the session, where paths are relative to, the run."""

    spark: SparkSession
    project_root: Path
    run_id: str
    resolve: Callable[[Any], Any] = field(default=lambda value: value)

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

    kind: ClassVar[Kind]
    type: ClassVar[str]
    description: ClassVar[str] = ""
    options_schema: ClassVar[dict[str, Any]] = {}
    required_options: ClassVar[tuple[str, ...]] = ()
    maven_packages: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """Semantic checks JSON Schema cannot express (override when needed)."""
        return []


class Source(Plugin):
    kind: ClassVar[Kind] = "source"

    def read(self, ctx: RunContext, stage: StageSpec) -> DataFrame:
        raise NotImplementedError


class Transform(Plugin):
    kind: ClassVar[Kind] = "transform"
    #: the number of inputs the transform takes: exactly one, or at least ``min_inputs``
    single_input: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 1

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        raise NotImplementedError


class PendingWrite:
    """A sink's output written to a staging place, waiting to be made visible."""

    rows: int | None = None

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
