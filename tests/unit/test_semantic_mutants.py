"""What the semantic rules say of a merged pipeline (etl_cli/model/semantic.py: ``_items``, ``_unique_names``,
``_references``, ``_dangling_references``, ``_cycles``, ``_unused`` and ``_sinks``, through ``check_semantics``), pinned
where mutation testing found them loose.

Only entries with a string name are stages. A name used twice is an error at the second name, saying the kind and place
of the first. An input is checked at that very entry: a transform reading itself (``self-reference``, and not also a
cycle), reading a sink (``input-is-sink``, a sink reading itself included), or naming nothing (``unknown-input``,
hinting the defined stages, or "define a source first" when there are none). Transforms reading each other in a loop
are one ``cycle`` error at the ``inputs:`` of the first of the loop, the loop written in reading order. A source or
transform nothing reads is a warning (``unused-stage``) at its name, but not while an input is unresolved. An empty
``sinks:`` list is an error at its key; two sinks writing one ``path`` are an error at each later path naming the first
writer (sources sharing a path are not). Each diagnostic is asserted whole: severity, code, message, place and hint,
and each list whole, in order. No JVM: plain documents with their YAML places.
"""

from __future__ import annotations

import pytest

from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.model.semantic import check_semantics

Said = tuple[str, str, str, tuple[int, int] | None, str | None]

SINK_HINT = "read the stage that sink writes instead"


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


def test_a_name_used_twice_is_an_error_at_the_second_name_saying_where_and_what_the_first_is() -> None:
    text = """\
sources:
  - {name: raw, type: csv}
  - {name: raw, type: json}
transforms:
  - {name: clean, type: filter, inputs: [raw]}
sinks:
  - {name: clean, type: parquet, input: clean}
"""
    shared = "names are shared by sources, transforms and sinks; the first is at p.yaml"
    assert semantics(text) == [
        ("error", "duplicate-name", "source name 'raw' is already used by a source", (3, 12), f"{shared}:2:12"),
        ("error", "duplicate-name", "sink name 'clean' is already used by a transform", (7, 12), f"{shared}:5:12"),
    ]


def test_entries_without_a_string_name_are_not_stages() -> None:
    text = """\
sources:
  - {type: csv}
  - {name: 7, type: csv}
  - just text
  - {name: raw, type: csv}
sinks:
  - {name: out, type: parquet, input: raw}
"""
    # the schema reports these entries; the semantic rules neither see them nor fail on them
    assert semantics(text) == []


def test_a_transform_reading_itself_is_one_self_reference_while_a_sink_reading_itself_reads_a_sink() -> None:
    text = """\
sources:
  - {name: raw, type: csv}
transforms:
  - name: loop
    type: union
    inputs: [raw, loop]
sinks:
  - {name: out, type: parquet, input: loop}
  - {name: echo, type: parquet, input: echo}
"""
    # a transform reading itself is not also reported as a one-stage cycle
    assert semantics(text) == [
        ("error", "self-reference", "transform 'loop' reads itself", (6, 19), None),
        ("error", "input-is-sink", "sink 'echo' reads 'echo', which is a sink", (9, 40), SINK_HINT),
    ]


def test_reading_a_sink_is_an_error_at_that_input_with_the_hint_to_read_what_the_sink_writes() -> None:
    text = """\
sources:
  - {name: raw, type: csv}
transforms:
  - name: again
    type: filter
    inputs:
      - out
sinks:
  - {name: out, type: parquet, input: raw}
  - {name: copy, type: parquet, input: out}
"""
    assert semantics(text) == [
        ("error", "input-is-sink", "transform 'again' reads 'out', which is a sink", (7, 9), SINK_HINT),
        ("error", "input-is-sink", "sink 'copy' reads 'out', which is a sink", (10, 40), SINK_HINT),
    ]


def test_an_input_naming_nothing_when_no_stage_is_defined_asks_for_a_source_first() -> None:
    text = """\
sinks:
  - {name: out, type: parquet, input: ghost}
"""
    assert semantics(text) == [
        ("error", "unknown-input", "sink 'out' reads 'ghost', which is not defined", (2, 39), "define a source first")
    ]


def test_transforms_reading_each_other_in_a_loop_are_one_error_at_the_inputs_of_the_first_in_the_loop() -> None:
    text = """\
sources:
  - {name: raw, type: csv}
transforms:
  - name: a
    type: union
    inputs: [raw, c]
  - name: b
    type: filter
    inputs:
      - a
  - name: c
    type: filter
    inputs:
      - b
sinks:
  - {name: out, type: parquet, input: c}
"""
    # each transform of the loop reads the next one
    assert semantics(text) == [
        (
            "error",
            "cycle",
            "transforms read each other in a loop: a -> c -> b -> a",
            (6, 13),
            "a transform may only read stages that do not depend on it",
        )
    ]


@pytest.mark.parametrize(
    ("sinks", "said"),
    [
        (
            "sinks: []\n",
            [
                (
                    "error",
                    "no-sinks",
                    "the pipeline has no sinks, so a run would write nothing",
                    (2, 1),
                    "add a sink that writes one of the transforms",
                )
            ],
        ),
        ("sinks: {}\n", []),  # not a list: the schema's business
        ("", []),  # no sinks: section at all: the schema's business too
    ],
)
def test_only_an_empty_list_of_sinks_is_a_no_sinks_error_at_its_key(sinks: str, said: list[Said]) -> None:
    assert semantics("transforms: []\n" + sinks) == said


def test_sinks_writing_the_same_path_are_errors_at_each_later_path_naming_the_first_writer() -> None:
    text = """\
sources:
  - {name: raw, type: csv, path: data/in}
  - {name: more, type: csv, path: data/in}
transforms:
  - {name: t, type: union, inputs: [raw, more], path: out/a}
sinks:
  - {name: feed, type: kafka, input: t, topic: x}
  - {name: first, type: parquet, input: t, path: out/a}
  - {name: other, type: parquet, input: t, path: out/b}
  - {name: second, type: parquet, input: t, path: out/a}
  - {name: third, type: json, input: t, path: out/a}
  - {name: fourth, type: json, input: t, path: data/in}
"""
    # only sinks write: sources reading one path, or a sink writing what a source reads, are no conflict
    other = "the other one is at p.yaml:8:50"
    assert semantics(text) == [
        ("error", "duplicate-target", "sinks 'first' and 'second' both write out/a", (10, 51), other),
        ("error", "duplicate-target", "sinks 'first' and 'third' both write out/a", (11, 47), other),
    ]
