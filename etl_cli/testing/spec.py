"""Test files beside a pipeline (``<pipeline folder>/tests/*.yaml``): their format, loading and checks.

A test file is checked against its own JSON Schema, so every mistake is reported at the
``file:line:col`` it was written, with a did-you-mean for a misspelt key; names of stages and
sources are checked against the pipeline by :func:`check_tests`, once the pipeline is known.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from etl_cli.config.nodes import Provenance, to_plain
from etl_cli.config.yaml_loader import YamlFileError, display_path, load_yaml_file
from etl_cli.diagnostics import Diagnostic, did_you_mean, error
from etl_cli.errors import ConfigError, Location
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.model.validation import SchemaChecker
from etl_cli.plugins.api import StageSpec
from etl_cli.plugins.registry import Registry
from etl_cli.testing.properties import (
    DEFAULT_EXAMPLES,
    DEFAULT_MAX_ROWS,
    TEST_KEYS,
    Property,
    parse_property,
    property_columns,
)

#: the folder of a pipeline that holds its test files
TESTS_FOLDER = "tests"
#: keys of ``expect:`` that are not stage names
RESERVED_EXPECT = ("checks", "dead_letters", "error")
FIXTURE_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
OUTCOMES = ("passed", "tolerated", "warned", "failed", "skipped")

_ROWS = {"type": "array", "items": {"type": "object"}, "description": "rows, each a mapping column: value"}
_GENERATED = {
    "type": "object",
    "additionalProperties": False,
    "required": ["generate"],
    "properties": {
        "generate": {"type": "integer", "minimum": 0, "description": "how many rows to generate"},
        "seed": {"type": "integer", "description": "the same seed gives the same rows"},
    },
}
_GIVEN = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rows": {"anyOf": [_ROWS, _GENERATED]},
        "file": {"type": "string", "description": "a CSV, JSON (lines) or Parquet file, relative to the test file"},
    },
    "oneOf": [{"required": ["rows"]}, {"required": ["file"]}],
}
_STAGE_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rows": _ROWS,
        "mode": {"enum": ["exact", "subset"], "description": "exact: these rows and no other; subset: at least"},
        "ordered": {"type": "boolean", "description": "compare rows in order (default: in any order)"},
        "columns": {"type": "array", "items": {"type": "string"}, "description": "compare only these columns"},
        "keys": {"type": "array", "items": {"type": "string"}, "description": "columns that identify a row"},
        "tolerance": {"type": "number", "minimum": 0, "description": "numbers this close are equal"},
        "snapshot": {"type": "boolean", "description": "compare with the stored snapshot"},
        "count": {"type": "integer", "minimum": 0, "description": "the number of rows"},
    },
}
_DEAD_LETTERS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "rows": {"type": "array", "items": {"type": "object"}},
    },
}
TEST_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["tests"],
    "properties": {
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    **TEST_KEYS,
                    "description": {"type": "string"},
                    "given": {"type": "object", "additionalProperties": _GIVEN},
                    "vars": {"type": "object"},
                    "params": {"type": "object"},
                    "env": {"type": "object", "additionalProperties": {"type": "string"}},
                    "expect": {
                        "type": "object",
                        "properties": {
                            "checks": {"type": "object", "additionalProperties": {"enum": list(OUTCOMES)}},
                            "dead_letters": _DEAD_LETTERS,
                            "error": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["stage"],
                                "properties": {"stage": {"type": "string"}, "contains": {"type": "string"}},
                            },
                        },
                        "additionalProperties": _STAGE_EXPECT,
                    },
                },
            },
        }
    },
}


@dataclass(frozen=True)
class Given:
    """The rows one source is replaced with."""

    source: str
    rows: tuple[Mapping[str, Any], ...] | None = None
    file: Path | None = None
    generate: int | None = None
    seed: int = 0
    location: Location | None = None


@dataclass(frozen=True)
class StageExpect:
    """What one stage (or sink: the rows it would write) must output."""

    stage: str
    rows: tuple[Mapping[str, Any], ...] | None = None
    subset: bool = False
    ordered: bool = False
    columns: tuple[str, ...] | None = None
    keys: tuple[str, ...] = ()
    tolerance: float = 0.0
    snapshot: bool = False
    count: int | None = None
    location: Location | None = None


@dataclass(frozen=True)
class ErrorExpect:
    stage: str
    contains: str | None = None
    location: Location | None = None


@dataclass(frozen=True)
class DeadLetterExpect:
    count: int | None = None
    rows: tuple[Mapping[str, Any], ...] | None = None
    location: Location | None = None


@dataclass(frozen=True)
class PipelineTest:
    """One test: given rows per source, optional vars/params/env, and what to expect."""

    name: str
    file: Path
    location: Location
    given: tuple[Given, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    stages: tuple[StageExpect, ...] = ()
    checks: Mapping[str, str] = field(default_factory=dict)
    checks_location: Location | None = None
    dead_letters: DeadLetterExpect | None = None
    error: ErrorExpect | None = None
    #: property checks (docs/testing.md#property-checks): judged on ``examples`` generated inputs
    properties: tuple[Property, ...] = ()
    examples: int = DEFAULT_EXAMPLES
    seed: int = 0
    max_rows: int = DEFAULT_MAX_ROWS

    @property
    def id(self) -> str:
        """``file::name``, as the summary and JUnit name the test."""
        return f"{display_path(self.file)}::{self.name}"


@dataclass(frozen=True)
class TestFile:
    """One test file: its tests, or the problems that stop it from loading."""

    __test__ = False  # not a pytest class

    path: Path
    tests: tuple[PipelineTest, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def find_test_files(pipeline_dir: Path) -> list[Path]:
    """The test files of the pipeline in ``pipeline_dir``, sorted (snapshots and fixtures are not test files)."""
    folder = pipeline_dir / TESTS_FOLDER
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml")) if folder.is_dir() else []


def load_test_file(path: Path) -> TestFile:
    """Load one test file; schema problems are diagnostics at their ``file:line:col``."""
    try:
        tree = load_yaml_file(path)
    except YamlFileError as exc:
        return TestFile(path, diagnostics=tuple(exc.diagnostics))
    document, provenance = to_plain(tree)
    problems = SchemaChecker(TEST_FILE_SCHEMA).check(document, provenance)
    if problems:
        return TestFile(path, diagnostics=tuple(problems))
    tests = [_test(path, i, item, provenance) for i, item in enumerate(document["tests"])]
    shapes = [d for i, item in enumerate(document["tests"]) for d in _shape(i, item, provenance)]
    return TestFile(path, tuple(tests), tuple(_duplicates(tests) + shapes))


def _shape(index: int, item: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """A test has either ``expect:`` (for the rows it gives) or ``properties:`` (for generated rows), not both."""
    at = provenance.key_location(("tests", index, "name"))
    found = [
        problem
        for number, entry in enumerate(item.get("properties", ()))
        for problem in parse_property(entry, provenance.key_location(("tests", index, "properties", number)))[1]
    ]
    if ("expect" in item) == ("properties" in item):
        both = "expect" in item
        found.append(
            error(
                "test-shape",
                f"test '{item['name']}' has {'both expect: and' if both else 'neither expect: nor'} properties:",
                at,
                "expect: judges the rows the test gives; properties: judge generated inputs: write two tests"
                if both
                else "add expect: (what the stages output) or properties: (what holds for generated inputs)",
            )
        )
    stray = [k for k in ("examples", "seed", "max_rows") if k in item and "properties" not in item]
    if stray:
        found.append(
            error(
                "test-shape",
                f"test '{item['name']}': {', '.join(stray)} only apply to properties:",
                at,
                "remove them, or state properties: for generated inputs",
            )
        )
    return found


def _duplicates(tests: Sequence[PipelineTest]) -> list[Diagnostic]:
    seen: set[str] = set()
    found = []
    for test in tests:
        if test.name in seen:
            found.append(error("duplicate-test", f"two tests are named '{test.name}'", test.location))
        seen.add(test.name)
    return found


def _test(path: Path, index: int, item: dict[str, Any], provenance: Provenance) -> PipelineTest:
    at = ("tests", index)

    def loc(*keys: str | int) -> Location | None:
        return provenance.key_location((*at, *keys))

    given = tuple(_given(path, name, value, loc("given", name)) for name, value in item.get("given", {}).items())
    expect = item.get("expect", {})
    properties = [parse_property(entry, loc("properties", i))[0] for i, entry in enumerate(item.get("properties", ()))]
    stages = tuple(
        _stage_expect(name, value, loc("expect", name)) for name, value in expect.items() if name not in RESERVED_EXPECT
    )
    letters = expect.get("dead_letters")
    failure = expect.get("error")
    return PipelineTest(
        name=item["name"],
        file=path,
        location=loc("name") or Location(display_path(path), 1, 1),
        given=given,
        vars=dict(item.get("vars", {})),
        params=dict(item.get("params", {})),
        env=dict(item.get("env", {})),
        stages=stages,
        checks=dict(expect.get("checks", {})),
        checks_location=loc("expect", "checks"),
        dead_letters=None
        if letters is None
        else DeadLetterExpect(letters.get("count"), _rows(letters.get("rows")), loc("expect", "dead_letters")),
        error=None
        if failure is None
        else ErrorExpect(failure["stage"], failure.get("contains"), loc("expect", "error", "stage")),
        properties=tuple(p for p in properties if p is not None),
        examples=item.get("examples", DEFAULT_EXAMPLES),
        seed=item.get("seed", 0),
        max_rows=item.get("max_rows", DEFAULT_MAX_ROWS),
    )


def _rows(value: Any) -> tuple[Mapping[str, Any], ...] | None:
    return None if value is None else tuple(dict(row) for row in value)


def _given(path: Path, source: str, value: dict[str, Any], at: Location | None) -> Given:
    rows = value.get("rows")
    if isinstance(rows, dict):
        return Given(source, generate=rows["generate"], seed=rows.get("seed", 0), location=at)
    # absolute: Spark reads it, in a JVM whose working folder need not be this process's (the warm engine's)
    file = (path.parent / value["file"]).absolute() if "file" in value else None
    return Given(source, rows=_rows(rows), file=file, location=at)


def _stage_expect(stage: str, value: dict[str, Any], at: Location | None) -> StageExpect:
    columns = value.get("columns")
    return StageExpect(
        stage=stage,
        rows=_rows(value.get("rows")),
        subset=value.get("mode") == "subset",
        ordered=bool(value.get("ordered", False)),
        columns=tuple(columns) if columns is not None else None,
        keys=tuple(value.get("keys", ())),
        tolerance=float(value.get("tolerance", 0.0)),
        snapshot=bool(value.get("snapshot", False)),
        count=value.get("count"),
        location=at,
    )


def check_tests(
    spec: PipelineSpec, file: TestFile, columns: Mapping[str, Sequence[str] | None] | None = None
) -> list[Diagnostic]:
    """What is wrong in ``file`` given the pipeline: unknown stages, sources, checks, columns.

    ``columns``: each stage's columns where they are known offline (see :func:`known_columns`).
    """
    found = list(file.diagnostics)
    stages = {s.name: s for s in spec.stages}
    sources = [s.name for s in spec.stages if s.kind == "source"]
    check_names = [c.name for c in spec.checks]
    for test in file.tests:
        for given in test.given:
            if given.source not in sources:
                found.append(_unknown("source", given.source, sources, given.location, "given"))
            else:
                found += _given_columns(spec, given)
            if given.file is not None:
                found += _fixture_file(given)
            if given.generate is not None and given.source in sources:
                found += _generatable(spec, given)
        for expect in test.stages:
            if expect.stage not in stages:
                found.append(_unknown("stage", expect.stage, list(stages), expect.location, "expect"))
                continue
            found += _expected_columns(expect, (columns or {}).get(expect.stage))
            if expect.rows is None and not expect.snapshot and expect.count is None:
                found.append(
                    error(
                        "empty-expectation",
                        f"expect.{expect.stage} says nothing to compare",
                        expect.location,
                        "give rows:, count: or snapshot: true",
                    )
                )
        for name in test.checks:
            if name not in check_names:
                found.append(_unknown("check", name, check_names, test.checks_location, "expect.checks"))
        if test.error is not None and test.error.stage not in stages:
            found.append(_unknown("stage", test.error.stage, list(stages), test.error.location, "expect.error"))
        found += _property_problems(spec, test, stages, columns or {})
        if test.dead_letters is not None and spec.dead_letter is None:
            found.append(
                error(
                    "no-dead-letter-queue",
                    "expect.dead_letters: the pipeline has no dead_letter queue, so a run keeps no dead letters",
                    test.dead_letters.location,
                    "declare dead_letter: in the pipeline, or remove dead_letters from the test",
                )
            )
    return found


def _property_problems(
    spec: PipelineSpec,
    test: PipelineTest,
    stages: Mapping[str, StageSpec],
    columns: Mapping[str, Sequence[str] | None],
) -> list[Diagnostic]:
    """Unknown stages and columns in ``properties:``, and sources the examples cannot generate or get as given."""
    found: list[Diagnostic] = []
    for prop in test.properties:
        unknown = [s for s in prop.stages if s not in stages]
        found += [_unknown("stage", s, list(stages), prop.location, "properties") for s in unknown]
        for stage, named in property_columns(prop).items():
            known = columns.get(stage)
            lowered = {c.lower() for c in known or ()}
            found += [
                error(
                    "unknown-column",
                    f"properties: stage '{stage}' has no column '{c}'",
                    prop.location,
                    did_you_mean(c, known or ()) or f"its columns: {', '.join(known or ())}",
                )
                for c in named
                if known is not None and stage not in unknown and c.lower() not in lowered
            ]
    if test.properties:
        found += _generated_sources(spec, test)
    return found


def _generated_sources(spec: PipelineSpec, test: PipelineTest) -> list[Diagnostic]:
    """In a property test every source without given rows is generated: it needs a declared schema."""
    from etl_cli.testing.generate import columns_for_source

    found = [
        error(
            "generate-in-property-test",
            f"given.{g.source}: a property test generates its sources' rows itself",
            g.location,
            "leave the source out of given: (max_rows: sets the largest row count), or give it fixed rows",
        )
        for g in test.given
        if g.generate is not None
    ]
    given = {g.source for g in test.given}
    for source in (s.name for s in spec.stages if s.kind == "source" and s.name not in given):
        try:
            columns_for_source(spec, source)
        except ConfigError as exc:
            found.append(
                error(
                    "cannot-generate",
                    f"properties: source '{source}' cannot be generated: {exc.message}",
                    test.location,
                    f"declare its schema, or give it fixed rows with given.{source}",
                )
            )
    return found


def _expected_columns(expect: StageExpect, known: Sequence[str] | None) -> list[Diagnostic]:
    """Columns an expectation names that the stage cannot have (when its columns are known offline)."""
    if known is None:
        return []
    named = dict.fromkeys([*expect.keys, *(expect.columns or ()), *(c for row in expect.rows or () for c in row)])
    lowered = {c.lower() for c in known}
    return [
        error(
            "unknown-column",
            f"expect.{expect.stage}: the stage has no column '{c}'",
            expect.location,
            did_you_mean(c, known) or f"its columns: {', '.join(known)}",
        )
        for c in named
        if c.lower() not in lowered
    ]


def _unknown(kind: str, name: str, known: Sequence[str], at: Location | None, where: str) -> Diagnostic:
    hint = did_you_mean(name, known) or (f"the pipeline's {kind}s: {', '.join(known)}" if known else None)
    return error(f"unknown-{kind}", f"{where}: the pipeline has no {kind} '{name}'", at, hint)


def _given_columns(spec: PipelineSpec, given: Given) -> list[Diagnostic]:
    """Inline rows naming a column the source's declared schema does not have."""
    declared = declared_columns(spec, given.source)
    if declared is None or given.rows is None:
        return []
    unknown = sorted({c for row in given.rows for c in row if c not in declared})
    return [
        error(
            "unknown-column",
            f"given.{given.source}: column '{c}' is not in the source's declared schema",
            given.location,
            did_you_mean(c, declared) or f"its columns: {', '.join(declared)}",
        )
        for c in unknown
    ]


def _generatable(spec: PipelineSpec, given: Given) -> list[Diagnostic]:
    """``rows: {generate: ...}`` on a source the generator cannot make rows for (no declared schema...)."""
    from etl_cli.testing.generate import columns_for_source

    try:
        columns_for_source(spec, given.source)
    except ConfigError as exc:
        return [error("cannot-generate", f"given.{given.source}: {exc.message}", given.location, exc.hint)]
    return []


def _fixture_file(given: Given) -> list[Diagnostic]:
    assert given.file is not None
    shown = display_path(given.file)
    if given.file.suffix.lower() not in FIXTURE_FORMATS:
        return [
            error(
                "fixture-format",
                f"given.{given.source}: cannot tell the format of {shown}",
                given.location,
                "name it .csv, .json, .jsonl or .parquet",
            )
        ]
    if not given.file.exists():
        return [error("fixture-not-found", f"given.{given.source}: no such file {shown}", given.location)]
    return []


def declared_columns(spec: PipelineSpec, source: str) -> list[str] | None:
    """The columns of the source's declared ``schema:`` mapping, or None when it declares none (or as DDL text)."""
    schema = next(s for s in spec.stages if s.name == source).option("schema")
    return list(schema) if isinstance(schema, Mapping) else None


def check_test_files(spec: PipelineSpec, registry: Registry) -> list[Diagnostic]:
    """What ``validate`` reports about the test files beside ``spec``'s pipeline file."""
    paths = find_test_files(spec.file.parent)
    columns = known_columns(spec, registry) if paths else {}
    found: list[Diagnostic] = []
    for path in paths:
        found += check_tests(spec, load_test_file(path), columns)
    return found


def known_columns(spec: PipelineSpec, registry: Registry) -> dict[str, Sequence[str] | None]:
    """Each stage's columns as column lineage knows them offline (None: unknown); a sink has its input's."""
    from etl_cli.lineage.engine import pipeline_lineage

    graph = pipeline_lineage(spec, registry)
    found: dict[str, Sequence[str] | None] = {n.stage: n.columns for n in graph.nodes if n.stage is not None}
    for sink in spec.sinks:
        found[sink.name] = found.get(sink.inputs[0]) if sink.inputs else None
    return found


def given_snippet(spec: PipelineSpec, stage: StageSpec, fixture: Path) -> str | None:
    """How a test file beside ``spec`` gives source ``stage`` the rows ``etl-debug save`` wrote to ``fixture``."""
    if stage.kind != "source":
        return None
    tests = spec.file.parent / TESTS_FOLDER
    relative = PurePath(os.path.relpath(fixture.resolve(), tests.resolve())).as_posix()
    return f"use it in a test file in {display_path(tests)}/:  given: {{{stage.name}: {{file: {relative}}}}}"
