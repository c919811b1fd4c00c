"""Column tags along the column lineage, and the project's ``policies:`` checked against them.

:func:`pipeline_tags` turns the lineage graph of a pipeline (:mod:`etl_cli.lineage.engine`)
into what :func:`etl_cli.model.tags.propagate` needs: for each stage, its output columns and
the input columns each one's value is made from. :func:`check_policies` is what ``validate``
reports: a tagged column reaching a sink a policy covers without the state the policy requires
is an error at the sink's ``file:line:col``, naming the column, its tag and the fix.
"""

from __future__ import annotations

from etl_cli.config.policies import PolicySpec
from etl_cli.config.project import PROJECT_FILE
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.lineage.engine import inputs_first, pipeline_lineage
from etl_cli.lineage.model import ROW_INFLUENCE, LineageGraph
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.tags import ColumnTags, PipelineTags, StageFlow, propagate
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.registry import Registry

POLICY_CODE = "policy-violation"


def pipeline_tags(spec: PipelineSpec, registry: Registry, graph: LineageGraph | None = None) -> PipelineTags:
    """The tagged columns of every stage of ``spec`` (etl_cli/model/tags.py says how tags travel)."""
    graph = graph if graph is not None else pipeline_lineage(spec, registry)
    stage_of = {node.id: node.stage for node in graph.nodes if node.pipeline == spec.name and node.stage}
    node_of = {stage: node_id for node_id, stage in stage_of.items()}
    values: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for edge in graph.edges:
        target, source = stage_of.get(edge.target.node), stage_of.get(edge.source.node)
        if target is None or source is None or edge.how in ROW_INFLUENCE:
            continue
        values.setdefault(target, {}).setdefault(edge.target.column, []).append((source, edge.source.column))
    flows = []
    for stage in inputs_first(spec.stages):
        node = graph.node(node_of[stage.name]) if stage.name in node_of else None
        columns = node.columns if node is not None else None
        flows.append(StageFlow(stage, columns, values.get(stage.name, {})))
    return propagate(flows, spec.contracts)


def check_policies(
    spec: PipelineSpec, registry: Registry, tags: PipelineTags | None = None, graph: LineageGraph | None = None
) -> list[Diagnostic]:
    """Each tagged column that reaches a sink a project policy covers, without the state it requires."""
    policies = spec.project.policies
    if not policies:
        return []
    found = _unknown_sink_types(policies, registry)
    tags = tags if tags is not None else pipeline_tags(spec, registry, graph)
    for sink in spec.sinks:
        for policy in (p for p in policies if p.applies_to(sink.name, sink.type)):
            for column, column_tags in sorted(tags.of(sink.name).items()):
                matched = column_tags.matches(policy.tags)
                if matched and not policy.allows(column_tags.states):
                    found.append(_violation(spec, sink, policy, column, column_tags, matched))
    return found


def _violation(spec: PipelineSpec, sink: StageSpec, policy: PolicySpec, column: str, tags: ColumnTags,
               matched: list[str]) -> Diagnostic:  # fmt: skip
    wanted = policy.require.replace("_", " ")
    state = f" (it is {', '.join(sorted(tags.states))})" if tags.states else ""
    message = (
        f"sink '{sink.name}' ({sink.type}) writes column '{column}' tagged {', '.join(matched)} unprotected{state}; "
        f"policy '{policy.name}' requires it {wanted}"
    )
    before = sink.inputs[0] if sink.inputs else "its input"
    fixes = []
    if policy.require != "encrypted" and _is_mask(spec, before):
        fixes.append(f"'{column}' to the columns of mask '{before}': {column}: {{method: hash, key: ...}}")
    elif policy.require != "encrypted":
        fixes.append(f"a mask transform between '{before}' and the sink: {{type: mask, inputs: [{before}], "
                     f"columns: {{{column}: hash}}}}")  # fmt: skip
    if policy.require != "masked":
        fixes.append(f"an encrypt transform: {{type: encrypt, inputs: [{before}], columns: [{column}], key: KEYNAME}}")
    hint = f"add {' or '.join(fixes)}; or drop the column before the sink (policy in {PROJECT_FILE})"
    return error(POLICY_CODE, message, sink.location, hint)


def _is_mask(spec: PipelineSpec, name: str) -> bool:
    return any(stage.name == name and stage.type == "mask" for stage in spec.stages)


def _unknown_sink_types(policies: tuple[PolicySpec, ...], registry: Registry) -> list[Diagnostic]:
    known = registry.types("sink")
    hint = f"sink types: {', '.join(known)}"
    return [
        warning(
            "unknown-sink-type",
            f"policy '{p.name}' names sink type '{kind}', which no sink plug-in provides",
            p.location,
            hint,
        )
        for p in policies
        for kind in p.sink_types
        if kind not in known
    ]
