"""``etl-cli keys``: list, create and rotate the encryption keys of ``encrypt``/``decrypt``.

Nothing here prints key material: names, providers, versions and the files involved. The use
cases are in :mod:`etl_cli.usecases.keys`; this module parses and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from etl_cli.cli.options import EnvOpt, FormatOpt, TakesDebug, TextOrJson
from etl_cli.cli.output import stdout_console
from etl_cli.usecases import keys

keys_app = typer.Typer(
    name="keys",
    help="List, create and rotate the encryption keys of encrypt/decrypt (see docs/data-security.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_HERE = Path()
ProjectOpt = Annotated[
    Path, typer.Option("--project", "-C", help="A folder inside the project (default: the current folder).")
]
KeyArg = Annotated[str, typer.Argument(help="A key declared under keys: in etl-project.yaml.", metavar="KEY")]


@keys_app.command("list", cls=TakesDebug)
def list_keys(project: ProjectOpt = _HERE, output_format: FormatOpt = TextOrJson.text) -> None:
    """List the project's keys: provider, key-encryption key, key ring and data-key versions (offline)."""
    found = keys.list_keys(project)
    if output_format is TextOrJson.json:
        print(json.dumps(found, indent=2))
        return
    console = stdout_console()
    if not found:
        console.print("no keys: declare them under keys: in etl-project.yaml")
        return
    for entry in found:
        console.print(f"{escape(entry['name'])}  {entry['provider']}  {escape(entry['kek'])}")
        console.print(f"  key ring: {escape(entry['keyring'])}")
        if "error" in entry:
            console.print(f"  error: {escape(entry['error'])}")
        elif not entry["versions"]:
            console.print("  no data key yet (the first encrypt run, or etl-cli keys create, makes version 1)")
        for version in entry.get("versions", []):
            current = "  (current)" if version["version"] == entry["key_version"] else ""
            console.print(
                f"  v{version['version']}  wrapped by KEK {version['kek_version']}"
                f"  created {version['created']}{current}"
            )


@keys_app.command("create", cls=TakesDebug)
def create_key(
    key: KeyArg, env: EnvOpt = None, project: ProjectOpt = _HERE, output_format: FormatOpt = TextOrJson.text
) -> None:
    """Create what a key lacks: a local key file (provider local) and its key ring with data key version 1."""
    _show(keys.create_key(key, env, project), output_format)


@keys_app.command("rotate", cls=TakesDebug)
def rotate_key(
    key: KeyArg,
    kek: Annotated[
        bool, typer.Option("--kek/--no-kek", help="Rotate the key-encryption key and re-wrap every data key with it.")
    ] = True,
    dek: Annotated[
        bool, typer.Option("--dek/--no-dek", help="Start a new data-key version, used by later encrypt runs.")
    ] = True,
    env: EnvOpt = None,
    project: ProjectOpt = _HERE,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Rotate a key: a new KEK version re-wraps every data key, a new data-key version; old data stays readable."""
    _show(keys.rotate_key(key, env, project, kek=kek, dek=dek), output_format)


def _show(summary: dict[str, Any], output_format: TextOrJson) -> None:
    if output_format is TextOrJson.json:
        print(json.dumps(summary, indent=2))
        return
    console = stdout_console()
    lines = [f"key {escape(summary['name'])} ({summary['provider']})"]
    lines += [f"  created {escape(what)}" for what in summary.get("created", [])]
    if "kek_version" in summary:
        rewrapped = ", ".join(f"v{v}" for v in summary.get("rewrapped", []))
        lines.append(
            f"  key-encryption key now at {summary['kek_version']}; data keys re-wrapped: {rewrapped or 'none'}"
        )
    if "key_version" in summary:
        lines.append(f"  current data-key version: v{summary['key_version']}")
    for line in lines:
        console.print(line)
