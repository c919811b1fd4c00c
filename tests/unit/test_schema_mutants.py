"""The keys every stage of a pipeline must have (etl_cli/model/schema.py ``_required``), found untested by mutation
testing (mutmut) in-process.

Pins what ``validate`` says of a stage without the key that connects it: a transform without ``inputs`` and a sink
without ``input`` are each a missing required key at the stage, with the key's description as hint; a source needs
neither. Messages and places are written by hand from the YAML below.
"""

from __future__ import annotations

from pathlib import Path

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.model.check import check_pipeline
from tests.unit.helpers import make_project, said

UNCONNECTED = """\
sources:
  - {name: a, type: csv, path: a.csv}
transforms:
  - {name: kept, type: filter, condition: id > 0}
sinks:
  - {name: out, type: parquet, path: out}
"""


def test_a_transform_needs_inputs_and_a_sink_its_input_while_a_source_needs_neither(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": UNCONNECTED, "a.csv": "id\n1\n"})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    assert [said(d) for d in diagnostics if d.severity == "error"] == [
        (
            "missing-key",
            "missing required key 'inputs' in transforms.kept",
            "Names of the sources or transforms this transform reads.",
            4,
            5,
        ),
        (
            "missing-key",
            "missing required key 'input' in sinks.out",
            "Name of the source or transform this sink writes.",
            6,
            5,
        ),
    ]
