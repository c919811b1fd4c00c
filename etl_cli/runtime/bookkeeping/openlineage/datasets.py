"""The input and output datasets of a run's events, with their schema, data source and column lineage facets.

A source's dataset is what it reads and a sink's what it writes, named by the OpenLineage
naming conventions (lineage/naming.py); a stage whose place has no name offline (a path
built from a secret, a JDBC query) is in no event. The schema is Spark's where the run
analysed the stage (the columns a source produced, the columns a sink was given), else the
declared one (a source's ``schema:``, a contract), else none. The column lineage of an
output is in columns.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    DatasetFacet,
    OutputDatasetFacet,
    column_lineage_dataset,
    datasource_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)

from etl_cli.lineage.model import DatasetName, LineageGraph
from etl_cli.plugins.api import StageSpec

#: a dataset's columns: name and type (None: the type is not known)
Columns = Sequence[tuple[str, str | None]]


@dataclass(frozen=True)
class StageDataset:
    """The dataset one source reads or one sink writes."""

    stage: StageSpec
    name: DatasetName


def stage_datasets(stages: Sequence[StageSpec], names: Mapping[str, DatasetName | None]) -> list[StageDataset]:
    """The named dataset of each stage, each dataset once (two sources reading one file are one input)."""
    found: dict[DatasetName, StageDataset] = {}
    for stage in stages:
        name = names.get(stage.name)
        if name is not None and name not in found:
            found[name] = StageDataset(stage, name)
    return list(found.values())


def input_dataset(dataset: StageDataset, columns: Columns | None, producer: str) -> InputDataset:
    return InputDataset(dataset.name.namespace, dataset.name.name, facets=_facets(dataset.name, columns, producer))


def output_dataset(
    dataset: StageDataset,
    columns: Columns | None,
    producer: str,
    lineage: column_lineage_dataset.ColumnLineageDatasetFacet | None,
    rows: int | None,
) -> OutputDataset:
    """An output with its facets; ``rows`` (a successful run's count of what the sink wrote) as outputStatistics."""
    facets = _facets(dataset.name, columns, producer)
    if lineage is not None:
        facets["columnLineage"] = lineage
    statistics: dict[str, OutputDatasetFacet] = {}
    if rows is not None:
        statistics["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows, producer=producer
        )
    return OutputDataset(dataset.name.namespace, dataset.name.name, facets=facets, outputFacets=statistics)


def _facets(name: DatasetName, columns: Columns | None, producer: str) -> dict[str, DatasetFacet]:
    # a namespace such as "file" is no URI on its own: "file://" is the scheme it stands for
    uri = name.namespace if "://" in name.namespace else f"{name.namespace}://"
    facets: dict[str, DatasetFacet] = {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(name=name.namespace, uri=uri, producer=producer)
    }
    if columns:
        fields = [schema_dataset.SchemaDatasetFacetFields(name=col, type=kind) for col, kind in columns]
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=fields, producer=producer)
    return facets


def declared_columns(graph: LineageGraph | None, node_id: str) -> Columns | None:
    """The columns (and the types known) the offline engine found for ``node_id``, or None."""
    if graph is None:
        return None
    try:
        node = graph.node(node_id)
    except KeyError:
        return None
    if node.columns is None:
        return None
    types = dict(node.types)
    return [(column, types.get(column)) for column in node.columns]
