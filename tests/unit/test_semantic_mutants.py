"""What the semantic rules say of stages that are never read and of inputs that name nothing (etl_cli/model/semantic.py:
``_unused`` and ``_references``, through ``check_semantics``), pinned where mutation testing found them loose.

A source or transform no transform or sink reads is a warning (``unused-stage``) at its name, with the hint to remove
it or read it; a sink never is. An input of a transform that names no stage is an error at that very entry of its
``inputs:`` list (not at the transform), and then no stage is called unused. Each diagnostic is asserted whole:
severity, code, message, place and hint. No JVM: plain documents with their YAML places.
"""

from __future__ import annotations

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.model.semantic import check_semantics

Said = tuple[str, str, str, tuple[int, int] | None, str | None]


def semantics(text: str) -> list[Said]:
    """Severity, code, message, (line, column) and hint of each semantic problem of the pipeline ``text``."""
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    return [
        (d.severity, d.code, d.message, (d.location.line, d.location.column) if d.location else None, d.hint)
        for d in check_semantics(document, provenance)
    ]


def test_sources_and_transforms_nothing_reads_are_warnings_at_their_names() -> None:
    text = """\
sources:
  - name: raw
    type: csv
  - name: spare
    type: csv
transforms:
  - name: used
    type: filter
    inputs: [raw]
  - name: idle
    type: filter
    inputs: [raw]
sinks:
  - {name: out, type: parquet, input: used}
"""
    hint = "remove it or read it from a sink"
    assert semantics(text) == [
        ("warning", "unused-stage", "source 'spare' is never read by a transform or sink", (4, 11), hint),
        ("warning", "unused-stage", "transform 'idle' is never read by a transform or sink", (10, 11), hint),
    ]


def test_an_input_naming_no_stage_is_an_error_at_that_entry_of_the_inputs_list() -> None:
    text = """\
sources:
  - {name: raw, type: csv}
  - {name: spare, type: csv}
transforms:
  - name: joined
    type: union
    inputs:
      - raw
      - ghost
sinks:
  - {name: out, type: parquet, input: joined}
"""
    # the dangling input is the only problem: the unused source is not reported while an input is unresolved
    assert semantics(text) == [
        (
            "error",
            "unknown-input",
            "transform 'joined' reads 'ghost', which is not defined",
            (9, 9),
            "defined sources and transforms: raw, spare, joined",
        )
    ]
