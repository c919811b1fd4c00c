"""``check_pipeline``: schema + semantic rules + plug-in rules → a PipelineSpec or diagnostics.

The one module that reads a loaded document: it validates it, then builds the typed, frozen
:class:`PipelineSpec` (every section parsed here, once) that everything below ``app`` reads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from etl_cli.config.loader import LoadedConfig
from etl_cli.diagnostics import Diagnostic, error, has_errors, warning
from etl_cli.model.access import access_of, check_access
from etl_cli.model.catalog import check_registrations, check_table_catalogs, registrations_of, resolve_table_catalogs
from etl_cli.model.checkpoints import CheckpointSettings
from etl_cli.model.cluster_paths import check_cluster_paths
from etl_cli.model.coerce import coerce_document
from etl_cli.model.credentials import check_literal_credentials, check_secret_placement
from etl_cli.model.input_paths import check_input_paths
from etl_cli.model.keys import check_keys
from etl_cli.model.lineage import check_lineage, lineage_of
from etl_cli.model.metrics import metrics_of
from etl_cli.model.monitoring import monitoring_of
from etl_cli.model.pipeline import PipelineSpec, SparkSettings, build_stages
from etl_cli.model.quality import checks_of, contracts_of, dead_letter_of
from etl_cli.model.quality_rules import check_quality
from etl_cli.model.resilience import BreakerSettings, RetryPolicy
from etl_cli.model.schedule import check_schedule, schedule_of
from etl_cli.model.schema import build_schema
from etl_cli.model.semantic import check_semantics
from etl_cli.model.sink_targets import check_sink_targets
from etl_cli.model.streaming import check_streaming, fill_streaming_defaults, is_streaming, streaming_settings
from etl_cli.model.tracing import check_tracing, tracing_of
from etl_cli.model.validation import SchemaChecker, describe_path
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, Sink
from etl_cli.plugins.registry import Registry


@lru_cache(maxsize=4)
def _checker_for(registry: Registry) -> tuple[dict[str, Any], SchemaChecker]:
    schema = build_schema(registry)
    return schema, SchemaChecker(schema)


def check_pipeline(loaded: LoadedConfig, registry: Registry) -> tuple[PipelineSpec | None, list[Diagnostic]]:
    """Validate a loaded pipeline; return the spec when there is no error, and every diagnostic."""
    document, diagnostics = check_document(loaded, registry)
    if document is None:
        return None, diagnostics
    return build_pipeline(document, loaded, registry), diagnostics


def check_document(loaded: LoadedConfig, registry: Registry) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """The validated document, values coerced and defaults filled (``render`` prints it), or None; every diagnostic."""
    diagnostics = list(loaded.diagnostics)
    if not loaded.document and has_errors(diagnostics):
        return None, diagnostics
    schema, checker = _checker_for(registry)
    document = coerce_document(loaded.document, schema, loaded.provenance)
    diagnostics += checker.check(document, loaded.provenance)
    if not _stage_sections_are_lists(document):
        return None, diagnostics  # the schema's errors say what the sections should be; the checks below walk them
    diagnostics += check_semantics(document, loaded.provenance)
    diagnostics += check_sink_targets(document, loaded, registry)
    diagnostics += check_input_paths(document, loaded, registry)
    diagnostics += check_cluster_paths(document, loaded, registry)
    diagnostics += check_literal_credentials(document, loaded.provenance, loaded.project.is_protected(loaded.env))
    diagnostics += check_secret_placement(document, loaded.provenance)
    diagnostics += _plugin_rules(document, loaded, registry)
    diagnostics += check_quality(document, loaded.provenance, registry)
    diagnostics += check_streaming(document, loaded.provenance, registry)
    diagnostics += check_registrations(document, loaded.project, loaded.provenance, registry)
    diagnostics += check_table_catalogs(document, loaded.project, loaded.provenance, registry)
    diagnostics += check_lineage(document, loaded.provenance)
    diagnostics += check_tracing(document, loaded.provenance)
    diagnostics += check_schedule(document, loaded.provenance, loaded.project)
    diagnostics += check_keys(document, loaded.project, loaded.env, loaded.provenance)
    diagnostics += check_access(loaded.project)
    if has_errors(diagnostics):
        return None, diagnostics
    fill_streaming_defaults(document, registry)
    _fill_defaults(document, registry)
    return document, diagnostics


def build_pipeline(document: dict[str, Any], loaded: LoadedConfig, registry: Registry) -> PipelineSpec:
    """The typed model of a validated ``document``: each section parsed once, here."""
    spark = document.get("spark") or {}
    provenance = loaded.provenance
    stages = resolve_table_catalogs(build_stages(document, provenance), loaded.project, registry)
    return PipelineSpec(
        name=document.get("name") or loaded.pipeline_file.resolve().parent.name,
        file=loaded.pipeline_file,
        project=loaded.project,
        state_dir=loaded.project.run_state_dir(),
        env=loaded.env,
        description=document.get("description"),
        vars=document.get("vars") or {},
        spark=SparkSettings(
            master=spark.get("master"),
            # the project's server, unless the pipeline names its own master or server
            remote=spark.get("remote") or (None if spark.get("master") else loaded.project.spark_remote),
            app_name=spark.get("app_name"),
            conf=spark.get("conf") or {},
            packages=tuple(spark.get("packages") or ()),
            jars=tuple(spark.get("jars") or ()),
        ),
        stages=stages,
        provenance=provenance,
        streaming=streaming_settings(document, registry),
        checks=checks_of(document, provenance),
        contracts=contracts_of(stages, provenance),
        dead_letter=dead_letter_of(document, provenance),
        retry=RetryPolicy.layered(document.get("retry")),
        circuit_breaker=BreakerSettings.from_options(document.get("circuit_breaker")),
        metrics=metrics_of(document, provenance, loaded.project.root),
        monitoring=monitoring_of(document, provenance, streaming=is_streaming(document, registry)),
        registrations=registrations_of(document, loaded.project, stages, registry),
        lineage=lineage_of(document, provenance, loaded.project),
        tracing=tracing_of(document, provenance),
        schedule=schedule_of(document, provenance, loaded.project),
        depends_on=tuple(document.get("depends_on") or ()),
        tags=tuple(document.get("tags") or ()),
        params=dict(loaded.params),
        checkpoints=CheckpointSettings.from_document(document),
        access=access_of(loaded.project),
    )


def _stage_sections_are_lists(document: dict[str, Any]) -> bool:
    sections = [*(SECTION_OF_KIND[kind] for kind in KINDS), "checks"]
    return all(isinstance(document.get(section) or [], list) for section in sections)


def _plugin_rules(document: dict[str, Any], loaded: LoadedConfig, registry: Registry) -> list[Diagnostic]:
    found = []
    for kind in KINDS:
        for index, item in enumerate(document.get(SECTION_OF_KIND[kind]) or []):
            if not isinstance(item, dict) or item.get("type") not in registry.types(kind):
                continue
            plugin = registry.get(kind, item["type"])
            for problem in plugin.check_options(item):
                path = (SECTION_OF_KIND[kind], index, *problem.key_path)
                found.append(
                    (error if problem.warning_code is None else warning)(
                        problem.warning_code or "invalid-option",
                        f"{describe_path(document, path)}: {problem.message}",
                        loaded.provenance.value_location(path),
                        problem.hint,
                    )
                )
    return found


def _fill_defaults(document: dict[str, Any], registry: Registry) -> None:
    for item in document.get("sinks") or []:
        plugin = registry.get("sink", item["type"])
        if issubclass(plugin, Sink):
            item.setdefault("mode", plugin.default_mode)
