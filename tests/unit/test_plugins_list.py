"""``etl-cli plugins list``: every built-in and installed plug-in, its package and version, and broken ones.

Installed plug-ins are real distributions: a ``.dist-info`` folder (METADATA, entry_points.txt) and a module,
as an installer leaves them, on the ``PYTHONPATH`` of an ``etl-cli`` subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tests.clihelp import REPO, etl_cli

BUILT_IN = {
    "source": [
        "csv", "delta", "geojson", "iceberg", "jdbc", "json", "kafka", "mongodb", "opensearch", "orc", "parquet",
        "redis", "rest",
    ],
    "transform": [
        "aggregate", "case", "cast", "decrypt", "deduplicate", "derive", "drop", "encrypt", "explode", "features",
        "fill_nulls", "filter", "flatten", "geo_distance", "geo_join", "geo_point", "geo_within", "join", "limit",
        "lookup", "mask", "ml_score", "pivot", "rename", "resample", "rolling", "sample", "select", "sort", "split",
        "sql", "text", "trend", "union", "unpivot", "window",
    ],
    "sink": [
        "csv", "delta", "iceberg", "jdbc", "json", "kafka", "mongodb", "opensearch", "orc", "parquet", "redis", "rest",
    ],
    "check": [
        "accepted_values", "expression", "freshness", "not_null", "range", "regex", "relationships", "row_count",
        "unique",
    ],
    "metrics": ["pushgateway", "textfile"],
    "secret_provider": ["aws", "env", "file", "keyring", "vault"],
}  # fmt: skip

UPPER = """
    from etl_cli.plugins.api import Transform

    class Upper(Transform):
        type = "upper"
        description = "Upper-cases a column."
"""


def install(site: Path, name: str, dist_version: str, entry_points: str, module: str = "", text: str = "") -> Path:
    """Put distribution ``name`` in ``site`` as an installer would: its dist-info and (if given) its module."""
    info = site / f"{name.replace('-', '_')}-{dist_version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {dist_version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points).lstrip(), encoding="utf-8")
    if module:
        (site / f"{module}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return site


def plugins_list(*args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    return etl_cli("plugins", "list", *args, env={"PYTHONPATH": str(site)} if site else None)


def listing(*args: str, site: Path | None = None) -> dict[str, Any]:
    result = plugins_list("--format", "json", *args, site=site)
    listed: dict[str, Any] = json.loads(result.stdout)
    return listed


def row(listed: dict[str, Any], kind: str, type_name: str) -> dict[str, Any]:
    (found,) = [p for p in listed["plugins"] if (p["kind"], p["type"]) == (kind, type_name)]
    return found


# --- built-ins ---------------------------------------------------------------------------------------------


def test_every_built_in_plugin_of_every_kind_is_listed() -> None:
    listed = listing()
    built_in: dict[str, list[str]] = {}
    for plugin in listed["plugins"]:
        if plugin["origin"] == "built-in":
            built_in.setdefault(plugin["kind"], []).append(plugin["type"])
    assert built_in == BUILT_IN


def test_a_built_in_plugin_comes_from_the_etl_cli_package_at_its_installed_version() -> None:
    csv = row(listing(), "source", "csv")
    assert (csv["package"], csv["version"], csv["origin"], csv["entry_point"]) == (
        "etl-cli", version("etl-cli"), "built-in", None,
    )  # fmt: skip


def test_the_json_listing_carries_each_plugins_description() -> None:
    assert row(listing(), "transform", "filter")["description"] == (
        "Keep the rows for which a SQL condition is true (rows where it is null are dropped too)."
    )


def test_kind_lists_only_the_plugins_of_that_kind() -> None:
    listed = listing("--kind", "secret_provider")
    assert [(p["kind"], p["type"]) for p in listed["plugins"]] == [
        ("secret_provider", name) for name in ["aws", "env", "file", "keyring", "vault"]
    ]


def test_an_unknown_kind_is_a_usage_error_naming_the_kinds() -> None:
    result = plugins_list("--kind", "transforms")
    assert result.returncode == 2
    assert "'transforms' is not one of 'source', 'transform', 'sink', 'check', 'metrics', 'secret_provider'" in (
        " ".join(result.stderr.split())
    )


def test_the_text_listing_has_one_line_per_plugin_with_kind_type_package_version_and_origin() -> None:
    result = plugins_list("--kind", "metrics")
    assert result.returncode == 0
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["KIND", "TYPE", "PACKAGE", "VERSION", "FROM"],
        ["metrics", "pushgateway", "etl-cli", version("etl-cli"), "built-in"],
        ["metrics", "textfile", "etl-cli", version("etl-cli"), "built-in"],
    ]


def test_listing_plugins_starts_no_jvm() -> None:
    code = (
        "import sys\n"
        "from etl_cli.cli.main import main\n"
        "try:\n"
        "    main(['plugins', 'list'])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.splitlines()[-1] == "0 []"


# --- installed plug-ins ------------------------------------------------------------------------------------


def test_an_installed_plugin_is_listed_with_its_distribution_version_and_entry_point(tmp_path: Path) -> None:
    site = install(tmp_path, "acme-etl", "2.3.1", "[etl_cli.plugins]\nupper = acme_etl:Upper\n", "acme_etl", UPPER)
    upper = row(listing(site=site), "transform", "upper")
    assert (upper["package"], upper["version"], upper["origin"], upper["entry_point"]) == (
        "acme-etl", "2.3.1", "entry point", "etl_cli.plugins:upper",
    )  # fmt: skip


def test_the_text_listing_names_the_entry_point_an_installed_plugin_came_from(tmp_path: Path) -> None:
    site = install(tmp_path, "acme-etl", "2.3.1", "[etl_cli.plugins]\nupper = acme_etl:Upper\n", "acme_etl", UPPER)
    lines = [line.split() for line in plugins_list("--kind", "transform", site=site).stdout.splitlines()]
    assert ["transform", "upper", "acme-etl", "2.3.1", "entry", "point", "etl_cli.plugins:upper"] in lines


def test_an_entry_point_may_give_a_list_of_plugins(tmp_path: Path) -> None:
    text = UPPER + "\n    class Lower(Upper):\n        type = 'lower'\n\n    PLUGINS = [Upper, Lower]\n"
    site = install(tmp_path, "acme-etl", "2.3.1", "[etl_cli.plugins]\ncase = acme_etl:PLUGINS\n", "acme_etl", text)
    listed = listing("--kind", "transform", site=site)
    assert [(p["type"], p["entry_point"]) for p in listed["plugins"] if p["package"] == "acme-etl"] == [
        ("lower", "etl_cli.plugins:case"), ("upper", "etl_cli.plugins:case"),
    ]  # fmt: skip


def test_a_secret_provider_from_the_secret_providers_group_is_listed(tmp_path: Path) -> None:
    text = """
        from etl_cli.secrets.provider import SecretProvider

        class Safe(SecretProvider):
            type = "safe"
    """
    entry_points = "[etl_cli.secret_providers]\nsafe = acme_safe:Safe\n"
    safe = row(
        listing(site=install(tmp_path, "acme-safe", "0.4.0", entry_points, "acme_safe", text)),
        "secret_provider",
        "safe",
    )
    assert (safe["package"], safe["version"], safe["entry_point"]) == (
        "acme-safe", "0.4.0", "etl_cli.secret_providers:safe",
    )  # fmt: skip


# --- plug-ins that fail to load ----------------------------------------------------------------------------


def broken_site(tmp_path: Path) -> Path:
    return install(tmp_path, "broken-plugin", "1.0", "[etl_cli.plugins]\nbroken = broken_plugin:Thing\n")


def test_a_plugin_that_fails_to_load_is_listed_with_its_error_beside_the_others(tmp_path: Path) -> None:
    listed = listing(site=broken_site(tmp_path))
    assert listed["failed"] == [
        {
            "entry_point": "etl_cli.plugins:broken",
            "value": "broken_plugin:Thing",
            "package": "broken-plugin",
            "version": "1.0",
            "error": "ModuleNotFoundError: No module named 'broken_plugin'",
        }
    ]
    assert row(listed, "source", "csv")["origin"] == "built-in"


def test_a_plugin_that_fails_to_load_makes_the_listing_exit_1_with_an_error_line(tmp_path: Path) -> None:
    result = plugins_list(site=broken_site(tmp_path))
    assert result.returncode == 1
    assert "failed to load:" in result.stdout
    assert (
        "  etl_cli.plugins:broken = broken_plugin:Thing (broken-plugin 1.0): "
        "ModuleNotFoundError: No module named 'broken_plugin'"
    ) in result.stdout.splitlines()
    assert result.stderr.startswith("error: 1 plug-in entry point failed to load")


def test_an_entry_point_that_gives_no_plugin_class_is_listed_as_failed(tmp_path: Path) -> None:
    site = install(tmp_path, "acme-etl", "2.3.1", "[etl_cli.plugins]\nodd = acme_etl:ODD\n", "acme_etl", "ODD = 42\n")
    (failed,) = listing(site=site)["failed"]
    assert failed["error"] == "it gives 42, which is not a plug-in class (a subclass of etl_cli.plugins.api.Plugin)"


def test_an_installed_plugin_whose_type_a_built_in_has_is_listed_as_failed(tmp_path: Path) -> None:
    text = UPPER.replace('"upper"', '"filter"')
    site = install(tmp_path, "acme-etl", "2.3.1", "[etl_cli.plugins]\nfilter = acme_etl:Upper\n", "acme_etl", text)
    listed = listing(site=site)
    (failed,) = listed["failed"]
    assert failed["error"] == (
        "transform type 'filter' registered twice: "
        "etl_cli.plugins.transforms.columns.FilterTransform and acme_etl.Upper"
    )
    assert row(listed, "transform", "filter")["origin"] == "built-in"


def test_validate_names_the_plugin_that_fails_to_load_and_its_package(tmp_path: Path) -> None:
    result = etl_cli(
        "validate", "pipelines/quickstart", env={"PYTHONPATH": str(broken_site(tmp_path)), "ETL_DEBUG": ""}
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[:2] == [
        "error: plug-in etl_cli.plugins:broken = broken_plugin:Thing (broken-plugin 1.0) failed to load: "
        "ModuleNotFoundError: No module named 'broken_plugin'",
        "  hint: fix or uninstall broken-plugin; `etl-cli plugins list` shows every plug-in and whether it loads",
    ]


def test_a_secret_provider_that_fails_to_load_stops_the_secrets_commands_with_its_package(tmp_path: Path) -> None:
    site = install(tmp_path, "acme-safe", "0.4.0", "[etl_cli.secret_providers]\nsafe = acme_safe:Safe\n")
    result = etl_cli("secrets", "list", "pipelines/quickstart", env={"PYTHONPATH": str(site), "ETL_DEBUG": ""})
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0] == (
        "error: plug-in etl_cli.secret_providers:safe = acme_safe:Safe (acme-safe 0.4.0) failed to load: "
        "ModuleNotFoundError: No module named 'acme_safe'"
    )
