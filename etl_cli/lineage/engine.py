"""The column lineage of one pipeline, from its typed model, without Spark.

Stages are visited inputs first. A source's columns come from what the pipeline declares
(:mod:`etl_cli.lineage.schemas`); a transform's from the query its plug-in gives
(:meth:`~etl_cli.plugins.api.Transform.column_lineage`), read by
:mod:`etl_cli.lineage.expressions`; a sink has its input's columns. A source or sink with a
dataset name (:mod:`etl_cli.lineage.naming`) is tied to the dataset's node by identity edges,
column by column, which is where pipelines meet (:mod:`etl_cli.lineage.project`).

Between two columns there is one edge, the strongest relation (a value relation before any
row influence): a column that is both selected and filtered on is an identity, not a filter.
What is not known offline is an :class:`~etl_cli.lineage.model.Unknown` on the stage that
causes it, not on every stage downstream of it.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping, Sequence

from etl_cli.errors import ConfigError
from etl_cli.lineage.expressions import UNKNOWN_STAR, QueryLineage, Use, query_lineage
from etl_cli.lineage.model import ColumnEdge, ColumnRef, DatasetName, LineageGraph, Node, Unknown
from etl_cli.lineage.naming import dataset_name
from etl_cli.lineage.schemas import Column, contract_columns, source_columns
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.plugins.api import Influence, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import Registry
from etl_cli.plugins.spark_types import quote

ANALYZE_HINT = "declare the source's schema, or run `etl-cli lineage --analyze` (uses Spark's analysis)"
#: one edge per pair of columns: the relation ranked highest here
_RANK = ("order", "filter", "group_by", "join_key", "identity", "expression", "window", "aggregation")


def pipeline_lineage(
    spec: PipelineSpec,
    registry: Registry,
    known_schemas: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    *,
    dataset_columns: Mapping[DatasetName, Sequence[str]] | None = None,
) -> LineageGraph:
    """Every stage's columns and the input columns each is made from, and how.

    ``known_schemas``: stage name → [(column, Spark type)] that completes what is unknown
    offline (Spark's analysis); ``dataset_columns``: the columns other pipelines write to a
    dataset, for the sources that read it without declaring a schema.
    """
    builder = _Builder(spec, registry, known_schemas or {}, dataset_columns or {})
    for stage in inputs_first(spec.stages):
        builder.add(stage)
    return builder.graph()


def inputs_first(stages: Sequence[StageSpec]) -> list[StageSpec]:
    """``stages`` ordered so each comes after the stages it reads."""
    by_name = {stage.name: stage for stage in stages}
    order = graphlib.TopologicalSorter({s.name: [i for i in s.inputs if i in by_name] for s in stages})
    return [by_name[name] for name in order.static_order()]


class _Builder:
    """Collects one pipeline's nodes, edges and unknowns, stage by stage."""

    def __init__(self, spec: PipelineSpec, registry: Registry, analyzed: Mapping[str, Sequence[tuple[str, str]]],
                 written: Mapping[DatasetName, Sequence[str]]):  # fmt: skip
        self.spec, self.registry, self.analyzed, self.written = spec, registry, analyzed, written
        self.columns: dict[str, list[Column] | None] = {}
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[ColumnRef, ColumnRef], ColumnEdge] = {}
        self.unknowns: list[Unknown] = []
        #: transforms whose output is their one input of unknown columns, and more: (that input, row influences)
        self.passing: dict[str, tuple[str, list[Use]]] = {}

    def node_id(self, stage: str) -> str:
        return f"{self.spec.name}.{stage}"

    def add(self, stage: StageSpec) -> None:
        if stage.kind == "source":
            self._source(stage)
        elif stage.kind == "transform":
            self._transform(stage)
        else:
            self._sink(stage)

    def graph(self) -> LineageGraph:
        self._columns_passed_through()
        self._columns_read_from_unknown_sources()
        return LineageGraph(tuple(self.nodes.values()), tuple(self.edges.values()), tuple(self.unknowns))

    # ------------------------------------------------------------------ stages

    def _source(self, stage: StageSpec) -> None:
        dataset = dataset_name(stage, self.spec.project_root)
        written = self.written.get(dataset) if dataset else None
        columns = source_columns(stage, self.spec.contract(stage.name), self.analyzed.get(stage.name), written)
        self._node(stage, columns, dataset)
        if columns is None:
            self._unknown(stage, f"the columns of source '{stage.name}' ({stage.type}) are not declared", ANALYZE_HINT)
        if dataset is not None:
            self._dataset(dataset, columns)
            for name in _names(columns) or ():
                self._edge(ColumnRef(dataset.node_id, name), ColumnRef(self.node_id(stage.name), name), "identity")

    def _transform(self, stage: StageSpec) -> None:
        inputs = {name: _names(self.columns.get(name)) for name in stage.inputs}
        lineage = self._declared_lineage(stage, inputs)
        if lineage is None:
            self._node(stage, self._analyzed(stage))
            return
        found = query_lineage(lineage.query, inputs)
        rows = found.rows + [use for influence in lineage.rows for use in _influence_uses(influence, inputs)]
        columns = self._transform_columns(stage, found)
        self._node(stage, columns)
        unknown_inputs = [name for name, known in inputs.items() if known is None]
        if columns is None and found.columns is None and len(unknown_inputs) == 1:
            self.passing[stage.name] = (unknown_inputs[0], rows)
        problems = [p for p in found.problems if not (p.endswith(UNKNOWN_STAR) and None in inputs.values())]
        if problems:
            self._unknown(stage, "; ".join(problems), _problem_hint(found))
        targets = _names(columns) or list(found.values)
        for target in targets:
            for use in found.values.get(_match(target, found.values), []):
                self._use_edge(use, stage, target, inputs)
            for use in rows:
                self._use_edge(use, stage, target, inputs)

    def _sink(self, stage: StageSpec) -> None:
        columns = self.columns.get(stage.inputs[0])
        dataset = dataset_name(stage, self.spec.project_root)
        self._node(stage, columns, dataset)
        for name in _names(columns) or ():
            sink_ref = ColumnRef(self.node_id(stage.name), name)
            self._edge(ColumnRef(self.node_id(stage.inputs[0]), name), sink_ref, "identity")
            if dataset is not None:
                self._edge(sink_ref, ColumnRef(dataset.node_id, name), "identity")
        if dataset is not None:
            self._dataset(dataset, columns)

    # ------------------------------------------------------------------ transforms

    def _declared_lineage(self, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage | None:
        """The plug-in's lineage of ``stage``, or None (recorded as unknown) when it declares none."""
        try:
            plugin = self.registry.get_as(Transform, stage.type)
        except ConfigError as error:
            self._unknown(stage, error.message, error.hint or "install the plug-in that provides it")
            return None
        lineage = plugin.column_lineage(stage, inputs)
        if lineage is None:
            hint = f"{ANALYZE_HINT}; the plug-in's author can give it a column_lineage method (docs/lineage.md)"
            self._unknown(stage, f"transform type '{stage.type}' does not declare its column lineage", hint)
        return lineage

    def _transform_columns(self, stage: StageSpec, found: QueryLineage) -> list[Column] | None:
        """The stage's output: Spark's analysis, else the query's columns narrowed or completed by a contract."""
        analyzed = self._analyzed(stage)
        if analyzed is not None:
            return analyzed
        contract = self.spec.contract(stage.name)
        fixed = contract_columns(contract)
        if found.columns is None:
            return fixed
        if fixed is not None and contract is not None and contract.policy == "allow_extra":
            return fixed
        return [(name, self._kept_type(found.values.get(name, []))) for name in found.columns]

    def _kept_type(self, uses: Sequence[Use]) -> str | None:
        """The type of a column that is one input column as it is; None for anything computed."""
        if len(uses) != 1 or uses[0].how != "identity":
            return None
        return dict(self.columns.get(uses[0].table) or ()).get(uses[0].column)

    def _analyzed(self, stage: StageSpec) -> list[Column] | None:
        analyzed = self.analyzed.get(stage.name)
        return [(name, kind) for name, kind in analyzed] if analyzed is not None else None

    def _use_edge(self, use: Use, stage: StageSpec, target: str, inputs: Mapping[str, Sequence[str] | None]) -> None:
        if use.table in inputs:
            self._edge(ColumnRef(self.node_id(use.table), use.column), ColumnRef(self.node_id(stage.name), target),
                       use.how, use.expression)  # fmt: skip

    # ------------------------------------------------------------------ graph parts

    def _node(self, stage: StageSpec, columns: list[Column] | None, dataset: DatasetName | None = None) -> None:
        self.columns[stage.name] = columns
        self.nodes[self.node_id(stage.name)] = Node(
            id=self.node_id(stage.name),
            kind=stage.kind,
            pipeline=self.spec.name,
            stage=stage.name,
            type=stage.type,
            columns=tuple(name for name, _ in columns) if columns is not None else None,
            location=str(stage.location) if stage.location else None,
            dataset=dataset,
            types=tuple((name, kind) for name, kind in columns or () if kind),
        )

    def _dataset(self, dataset: DatasetName, columns: list[Column] | None) -> None:
        """The dataset's node; the first stage that knows its columns gives them."""
        known = self.nodes.get(dataset.node_id)
        if known is not None and known.columns is not None:
            return
        self.nodes[dataset.node_id] = Node(
            id=dataset.node_id, kind="dataset", pipeline=None, stage=None, type=None,
            columns=tuple(name for name, _ in columns) if columns is not None else None, dataset=dataset,
            types=tuple((name, kind) for name, kind in columns or () if kind),
        )  # fmt: skip

    def _edge(self, source: ColumnRef, target: ColumnRef, how: str, expression: str | None = None) -> None:
        """Keep the strongest relation between two columns (module doc)."""
        known = self.edges.get((source, target))
        if known is None or _RANK.index(how) > _RANK.index(known.how):
            self.edges[(source, target)] = ColumnEdge(source, target, how, expression)

    def _unknown(self, stage: StageSpec, reason: str, hint: str) -> None:
        self.unknowns.append(Unknown(self.node_id(stage.name), reason, hint))

    def _columns_passed_through(self) -> None:
        """A column read from a transform that passes on an input of unknown columns (``SELECT *``) and does not
        make it itself comes from that input, under the transform's row influences; latest stages first, so a
        column is followed back through a chain of them."""
        for stage in reversed(list(self.passing)):
            source, rows = self.passing[stage]
            node = self.node_id(stage)
            made = {e.target.column for e in self.edges.values() if e.target.node == node}
            read = dict.fromkeys(e.source.column for e in self.edges.values() if e.source.node == node)
            for name in (name for name in read if name not in made):
                target = ColumnRef(node, name)
                self._edge(ColumnRef(self.node_id(source), name), target, "identity")
                for use in rows:
                    self._edge(ColumnRef(self.node_id(use.table), use.column), target, use.how, use.expression)

    def _columns_read_from_unknown_sources(self) -> None:
        """A column read from a source of unknown columns can only come from its dataset's column of that name."""
        for node in list(self.nodes.values()):
            if node.kind != "source" or node.columns is not None or node.dataset is None:
                continue
            named = dict.fromkeys(e.source.column for e in self.edges.values() if e.source.node == node.id)
            for name in named:
                self._edge(ColumnRef(node.dataset.node_id, name), ColumnRef(node.id, name), "identity")


def _names(columns: Sequence[Column] | None) -> list[str] | None:
    return [name for name, _ in columns] if columns is not None else None


def _match(name: str, names: Mapping[str, object]) -> str:
    """``name`` as spelled among ``names`` (Spark matches names without regard to case)."""
    return next((known for known in names if known.lower() == name.lower()), name)


def _influence_uses(influence: Influence, inputs: Mapping[str, Sequence[str] | None]) -> list[Use]:
    """The input columns of a declared row influence, read as a clause of a query over the inputs."""
    tables = " CROSS JOIN ".join(quote(name) for name in inputs)
    clause = "ORDER BY" if influence.how == "order" else "WHERE"
    found = query_lineage(f"SELECT 1 AS one FROM {tables} {clause} {influence.expression}", inputs)
    return [Use(use.table, use.column, influence.how, influence.expression) for use in found.rows]


def _problem_hint(found: QueryLineage) -> str:
    if found.columns is None:
        return ANALYZE_HINT
    return "check the stage's SQL against its inputs' columns; `etl-cli dry-run` shows Spark's own analysis"
