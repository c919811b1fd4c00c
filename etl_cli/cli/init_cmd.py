"""``etl-cli init``: scaffold a project (etl_cli/authoring/scaffold.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from etl_cli.cli.output import stdout_console
from etl_cli.usecases.init import EXAMPLE, scaffold_project


def init_command(
    folder: Annotated[Path, typer.Argument(help="The project folder (created if missing).", metavar="DIR")] = Path("."),
    name: Annotated[str | None, typer.Option("--name", help="The project's name (default: the folder's).")] = None,
) -> None:
    """Create a project: etl-project.yaml (dev, staging, prod), an example pipeline that runs, templates/, .gitignore.

    A folder that already holds etl-project.yaml is refused (exit 2); a file already there is never overwritten.
    """
    done = scaffold_project(folder, name)
    console = stdout_console()
    for path in done.written:
        console.print(f"created {escape(str(path))}")
    for path in done.kept:
        console.print(f"kept    {escape(str(path))} (it was there; not overwritten)")
    where = "" if folder == Path(".") else f"cd {escape(str(folder))} && "
    console.print(f"\nproject '{escape(done.name)}' is ready; try:  {where}etl-cli run pipelines/{EXAMPLE}")
