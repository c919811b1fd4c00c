"""The RunEvents of one run: the job (the pipeline), the run, and the facets each state carries.

Every event of a run names the same job (the pipeline, in the lineage namespace) and run id,
with the job facets jobType (BATCH, or STREAMING when a source reads a stream; integration
``etl-cli``), sourceCodeLocation (the pipeline file) and documentation (its description),
and the run facets nominalTime (when the run started: etl-cli knows no schedule),
processing_engine (Spark and its version), tags (etl-cli's run id and environment) and
parent (the run that started this one, when given). FAIL adds errorMessage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    parent_run,
    processing_engine_run,
    source_code_location_job,
    tags_run,
)

from etl_cli import __version__
from etl_cli.model.lineage import ParentRun
from etl_cli.model.pipeline import PipelineSpec

#: who produced the events: etl-cli and its version (a URI, as the specification asks)
PRODUCER = f"urn:etl-cli:{__version__}"
INTEGRATION = "etl-cli"


@dataclass(frozen=True)
class RunIdentity:
    """What every event of one run repeats: its job, its run id, and where they come from."""

    namespace: str
    job: str
    run_id: str
    started_at: str
    job_facets: dict[str, JobFacet]
    #: the tags and the parent: run facets that do not change while the run goes on
    run_facets: dict[str, RunFacet]


def identity(
    spec: PipelineSpec, run_id: str, etl_run_id: str, started_at: str, parent: ParentRun | None
) -> RunIdentity:
    """The job and run of ``spec``'s run ``etl_run_id`` (``run_id``: its OpenLineage id, a UUID)."""
    assert spec.lineage is not None
    run_facets: dict[str, RunFacet] = {"tags": _tags(etl_run_id, spec.env)}
    if parent is not None:
        run_facets["parent"] = _parent(parent)
    return RunIdentity(spec.lineage.namespace, spec.name, run_id, started_at, _job_facets(spec), run_facets)


def run_event(
    state: RunState,
    run: RunIdentity,
    when: str,
    spark_version: str,
    inputs: Sequence[InputDataset] = (),
    outputs: Sequence[OutputDataset] = (),
    error: str | None = None,
) -> RunEvent:
    """The event of ``run`` entering ``state`` at ``when``; ``error`` becomes the errorMessage facet."""
    facets: dict[str, RunFacet] = {
        **run.run_facets,
        "nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime=run.started_at, producer=PRODUCER),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=spark_version, name="spark", openlineageAdapterVersion=__version__, producer=PRODUCER
        ),
    }
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run.run_id, facets=facets),
        job=Job(namespace=run.namespace, name=run.job, facets=dict(run.job_facets)),
        inputs=list(inputs),
        outputs=list(outputs),
        producer=PRODUCER,
    )


def _job_facets(spec: PipelineSpec) -> dict[str, JobFacet]:
    file = spec.file.resolve()
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="STREAMING" if spec.streaming is not None else "BATCH",
            integration=INTEGRATION,
            jobType="JOB",
            producer=PRODUCER,
        ),
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
            type="file", url=file.as_uri(), path=_relative(spec), producer=PRODUCER
        ),
    }
    if spec.description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=spec.description, producer=PRODUCER
        )
    return facets


def _relative(spec: PipelineSpec) -> str:
    """The pipeline file relative to the project root (the path teams know it by), else absolute."""
    file = spec.file.resolve()
    try:
        return str(file.relative_to(spec.project_root.resolve()))
    except ValueError:
        return str(file)


def _tags(etl_run_id: str, env: str | None) -> tags_run.TagsRunFacet:
    tags = [tags_run.TagsRunFacetFields(key="etl_cli.run_id", value=etl_run_id, source="ETL_CLI")]
    if env:
        tags.append(tags_run.TagsRunFacetFields(key="etl_cli.environment", value=env, source="ETL_CLI"))
    return tags_run.TagsRunFacet(tags=tags, producer=PRODUCER)


def _parent(parent: ParentRun) -> parent_run.ParentRunFacet:
    root = None
    if parent.root is not None:
        root = parent_run.Root(
            run=parent_run.RootRun(runId=parent.root.run_id),
            job=parent_run.RootJob(namespace=parent.root.namespace, name=parent.root.job),
        )
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent.run_id),
        job=parent_run.Job(namespace=parent.namespace, name=parent.job),
        root=root,
        producer=PRODUCER,
    )
