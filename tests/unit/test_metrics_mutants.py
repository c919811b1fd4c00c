"""The JSON Schema of the ``metrics:`` block that ``metrics_schema`` builds from the metrics exporters.

That it is, key for key, what the published ``etl_cli/model/pipeline.schema.json`` holds is checked with the whole
schema by tests/unit/test_generated_files.py. Pinned here: its structure is the one the validator relies on (a
``type`` chosen from the exporters, one ``if``/``then`` branch per exporter pointing at a closed definition that
requires the exporter's own options); and validating pipelines with it reports what users read: the missing
``type`` or option, an unknown key, a wrong ``description``, an unknown exporter. And what ``metrics_of`` hands the
exporter: its options, without ``type`` and ``description``, with the place of the ``metrics:`` key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etl_cli.app import registry
from etl_cli.config.loader import load_pipeline
from etl_cli.config.nodes import to_plain
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.errors import Location
from etl_cli.model.check import check_pipeline
from etl_cli.model.metrics import MetricsSpec, metrics_of, metrics_schema
from tests.unit.helpers import make_project, said

HEAD = "sources:\n  - {name: a, type: csv, path: a.csv}\nsinks:\n  - {name: out, type: parquet, input: a, path: out}\n"


def built() -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``metrics`` property ``metrics_schema`` returns and the definitions it adds."""
    defs: dict[str, Any] = {}
    return metrics_schema(registry(), defs), defs


def errors(tmp_path: Path, metrics: str) -> list[tuple[str, str, str | None, int, int]]:
    """The errors of a pipeline whose ``metrics:`` block (from line 5) is ``metrics``."""
    make_project(tmp_path, {"p/pipeline.yaml": HEAD + metrics, "a.csv": "id\n1\n"})
    _, diagnostics = check_pipeline(load_pipeline(tmp_path / "p", None, environ={}), registry())
    return [said(d) for d in diagnostics if d.severity == "error"]


# its structure


def test_the_block_is_a_mapping_whose_type_is_one_of_the_exporters() -> None:
    prop, _ = built()
    assert set(prop) == {"type", "description", "required", "properties", "allOf"}
    assert prop["type"] == "object"
    assert prop["required"] == ["type"]
    assert prop["properties"] == {
        "type": {"enum": ["pushgateway", "textfile"], "description": "The exporter: pushgateway, textfile."}
    }
    assert prop["description"] == (
        "Where the run's metrics go (Prometheus): rows per stage, check results, dead letters, "
        "retries and circuit breakers, the run's outcome. See docs/metrics.md."
    )


def test_each_exporter_has_a_branch_chosen_by_its_type_that_points_at_its_definition() -> None:
    prop, defs = built()
    assert prop["allOf"] == [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"$ref": f"#/$defs/metrics.{name}"},
        }
        for name in ("pushgateway", "textfile")
    ]
    for branch in prop["allOf"]:
        assert branch["then"]["$ref"].removeprefix("#/$defs/") in defs


def test_each_definition_is_closed_and_requires_the_type_and_the_exporters_own_options() -> None:
    _, defs = built()
    plugins = {plugin.type: plugin for plugin in registry().plugins("metrics")}
    for name, option in (("pushgateway", "url"), ("textfile", "path")):
        definition = defs[f"metrics.{name}"]
        assert definition["type"] == "object"
        assert definition["title"] == f"metrics {name}"
        assert definition["additionalProperties"] is False
        assert definition["required"] == ["type", option]
        assert definition["properties"]["type"] == {"const": name}
        assert definition["properties"]["description"] == {
            "type": "string",
            "description": "What these metrics are for.",
        }
        assert option in definition["properties"]
        assert definition["description"] == plugins[name].description
    assert defs["metrics.pushgateway"]["description"].startswith("Push the run's metrics to a Prometheus Pushgateway")
    assert defs["metrics.textfile"]["description"].startswith("Write the run's metrics in Prometheus' text format")


# what validating a pipeline with it reports


def test_a_valid_block_with_a_description_passes(tmp_path: Path) -> None:
    assert errors(tmp_path, "metrics: {type: textfile, path: out.prom, description: for the on-call board}\n") == []


def test_a_block_without_a_type_is_missing_it(tmp_path: Path) -> None:
    assert errors(tmp_path, "metrics:\n  url: 'http://pg:9091'\n") == [
        ("missing-key", "missing required key 'type' in metrics", "The exporter: pushgateway, textfile.", 5, 1)
    ]


def test_a_block_that_is_not_a_mapping_is_a_wrong_type_said_once(tmp_path: Path) -> None:
    # every exporter's branch fails on it alike (a list has no type to tell them apart): one error, not one a branch
    assert errors(tmp_path, "metrics: [pushgateway]\n") == [
        ("wrong-type", "metrics must be a mapping (key: value), got ['pushgateway']", None, 5, 10)
    ]


def test_an_exporter_without_its_required_option_is_missing_it(tmp_path: Path) -> None:
    found = errors(tmp_path, "metrics:\n  type: textfile\n")
    assert found == [("missing-key", "missing required key 'path' in metrics", found[0][2], 5, 1)]
    assert found[0][2] and found[0][2].startswith("The file to write, ending in .prom")


def test_an_option_of_another_exporter_is_an_unknown_key(tmp_path: Path) -> None:
    assert errors(tmp_path, "metrics:\n  type: textfile\n  path: m.prom\n  url: 'http://pg:9091'\n") == [
        (
            "unknown-key",
            "unknown key 'url' in metrics",
            "allowed keys: type, description, path, labels, interval_s",
            8,
            3,
        )
    ]


def test_a_description_that_is_not_a_string_is_a_wrong_type(tmp_path: Path) -> None:
    assert errors(tmp_path, "metrics:\n  type: textfile\n  path: m.prom\n  description: [a]\n") == [
        ("wrong-type", "metrics.description must be a string, got ['a']", None, 8, 16)
    ]


def test_an_unknown_exporter_names_the_exporters(tmp_path: Path) -> None:
    assert errors(tmp_path, "metrics:\n  type: textfle\n") == [
        (
            "invalid-value",
            "invalid value 'textfle' for metrics.type; expected one of: pushgateway, textfile",
            "did you mean 'textfile'?",
            6,
            9,
        )
    ]


# what the pipeline model keeps of the block (``metrics_of``)


def test_the_exporter_gets_its_own_options_without_the_type_and_the_description() -> None:
    text = "name: p\nmetrics:\n  type: textfile\n  description: for the board\n  path: m.prom\n  labels: {team: a}\n"
    document, provenance = to_plain(load_yaml_text(text, "p.yaml"))
    assert metrics_of(document, provenance, Path("/p")) == MetricsSpec(
        "textfile", {"path": "m.prom", "labels": {"team": "a"}}, Path("/p"), Location("p.yaml", 2, 1)
    )
