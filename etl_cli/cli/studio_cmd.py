"""``etl-cli studio``: the local web page over the project's pipelines (:mod:`etl_cli.studio`, docs/studio.md).

The web libraries are the ``studio`` extra: without them the command says how to install them
(exit 2) and nothing else is imported, so every other command works without them.
"""

from __future__ import annotations

import importlib.util
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.errors import UsageError

#: the distributions of the ``studio`` extra, by the module they are imported as
STUDIO_MODULES = ("starlette", "uvicorn", "ruamel.yaml")
INSTALL = "pip install 'etl-cli[studio]'"

ProjectArg = Annotated[
    Path, typer.Argument(metavar="PROJECT", help="The project, or a folder or file in it (default: here).")
]


def studio_command(
    project: ProjectArg = Path("."),
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, help="The port on 127.0.0.1 to serve on (0: a free one).", metavar="N"
        ),
    ] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default web browser.")] = False,
) -> None:
    """Serve a local web page to see, edit, inspect and run the project's pipelines (see docs/studio.md).

    It listens on 127.0.0.1 only and answers only requests carrying the access token in the URL it
    prints; Spark starts on the first inspection of a stage, not before. Stop it with Ctrl+C.
    """
    missing = [name for name in STUDIO_MODULES if not _importable(name)]
    if missing:
        raise UsageError(f"etl-cli studio needs {', '.join(missing)}, which are not installed", hint=INSTALL)
    from etl_cli.studio.api import Studio
    from etl_cli.studio.server import bind, new_token, serve, url

    if not project.exists():
        raise UsageError(f"no such file or folder: {project}")
    studio = Studio(project)
    try:
        sock = bind(port)
    except OSError as exc:
        problem = exc.strerror or exc
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {problem}", hint="choose another --port") from None
    token = new_token()
    address = url(sock, token)
    print(f"etl-cli studio: {studio.root}", flush=True)
    print(f"open {address}", flush=True)
    print("(only this URL is answered; Ctrl+C stops the studio)", file=sys.stderr, flush=True)
    if open_browser:
        webbrowser.open(address)
    serve(studio, sock, token)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
