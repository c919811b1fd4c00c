"""``etl-cli engine start|stop|status``: a warm local Spark Connect server for the project (use case in
:mod:`etl_cli.usecases.engine`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from etl_cli.cli.options import FormatOpt, TakesDebug, TextOrJson

engine_app = typer.Typer(
    name="engine",
    help="Keep a warm local Spark (a Spark Connect server) for the project: commands skip the JVM's start.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ProjectArg = Annotated[
    Path,
    typer.Argument(help="The project's folder (or any folder or file inside it).", metavar="PROJECT"),
]


@engine_app.command("start", cls=TakesDebug)
def start_command(
    project: ProjectArg = Path("."),
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Loopback port (default: a free one).")
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option("--memory", metavar="SIZE", help="The engine's JVM heap, e.g. 4g (default: Spark's, 1g)."),
    ] = None,
    output_format: FormatOpt = TextOrJson.text,
) -> None:
    """Start the engine with the connector jars and settings of the project's pipelines; wait until it answers."""
    from etl_cli.usecases import engine

    info, needs = engine.start(project, port=port, memory=memory)
    if output_format is TextOrJson.json:
        print(json.dumps({**info.public(), "served": needs.served, "not_served": needs.not_served}, indent=2))
        return
    print(f"engine up at {info.address} (pid {info.pid}, Spark {info.spark_version})")
    if needs.served:
        print(f"pipelines that will use it: {', '.join(needs.served)}")
    for name, why in sorted(needs.not_served.items()):
        print(f"  {name} starts Spark in-process: {why}")


@engine_app.command("stop", cls=TakesDebug)
def stop_command(project: ProjectArg = Path(".")) -> None:
    """Stop the project's engine (its sessions end; commands start Spark in-process again)."""
    from etl_cli.usecases import engine

    info = engine.stop(project)
    print("engine stopped" if info is not None else "no engine was running")


@engine_app.command("status", cls=TakesDebug)
def status_command(project: ProjectArg = Path("."), output_format: FormatOpt = TextOrJson.text) -> None:
    """Whether the project's engine runs, where, since when and with which packages (exit 1 when it does not)."""
    from etl_cli.usecases import engine

    info = engine.status(project)
    if output_format is TextOrJson.json:
        print(json.dumps({"running": info is not None, **(info.public() if info else {})}, indent=2))
    elif info is None:
        print("no engine is running for this project")
    else:
        print(f"engine up at {info.address} (pid {info.pid}, Spark {info.spark_version}) since {info.started_at}")
        print(f"packages: {', '.join(info.packages) or 'none'}")
        if info.memory:
            print(f"memory: {info.memory}")
    raise typer.Exit(0 if info is not None else 1)
