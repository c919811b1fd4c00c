"""``etl-cli plugins list``: the plug-ins etl-cli knows and where each comes from (use case in
:mod:`etl_cli.usecases.plugins`).

The text listing is plain aligned columns, never cut, so it reads the same on a terminal, in a pipe and in a log.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson
from etl_cli.errors import ConfigError
from etl_cli.usecases.plugins import PluginInfo, PluginListing, list_plugins

plugins_app = typer.Typer(
    name="plugins",
    help="List the plug-ins etl-cli knows: built-in and installed ones (see docs/plugins.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Kind(StrEnum):
    """The plug-in kinds (etl_cli.plugins.api.PLUGIN_KINDS), as --kind takes them."""

    source = "source"
    transform = "transform"
    sink = "sink"
    check = "check"
    metrics = "metrics"
    secret_provider = "secret_provider"


KindOpt = Annotated[Kind | None, typer.Option("--kind", "-k", help="Only plug-ins of this kind.")]
HEADER = ("KIND", "TYPE", "PACKAGE", "VERSION", "FROM")


@plugins_app.command("list", cls=TakesDebug)
def list_command(kind: KindOpt = None, output_format: FormatOpt = TextOrJson.text) -> None:
    """Every built-in and installed plug-in: kind, type, package, version and the entry point it came from.

    Exits 1 when an installed plug-in fails to load (it is listed with its error; the others still are).
    Starts no JVM.
    """
    listing = list_plugins(kind.value if kind else None)
    if output_format is TextOrJson.json:
        print(json.dumps(listing.to_json(), indent=2))
    else:
        _print_text(listing)
    if listing.failed:
        count, names = len(listing.failed), ", ".join(failure.label for failure in listing.failed)
        raise ConfigError(
            f"{count} plug-in entry point{'s' if count > 1 else ''} failed to load: {names}",
            hint="fix or uninstall the package that declares it (the listing shows each error)",
        )


def _print_text(listing: PluginListing) -> None:
    rows = [HEADER, *(_row(plugin) for plugin in listing.plugins)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]))
    if listing.failed:
        print("failed to load:")
        for failure in listing.failed:
            print(f"  {failure.label}: {failure.error}")


def _row(plugin: PluginInfo) -> tuple[str, str, str, str, str]:
    origin = f"{plugin.origin} {plugin.entry_point}" if plugin.entry_point else plugin.origin
    return plugin.kind, plugin.type, plugin.package or "-", plugin.version or "-", origin
