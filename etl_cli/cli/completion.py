"""What Tab completes beyond command and option names: pipeline paths, environments and stages.

The shell runs ``etl-cli`` on every Tab press (``--install-completion`` writes the script
that does it), with the words typed so far. Commands, options and choices complete through
Typer; these functions complete values, reading only the YAML files involved (see
:mod:`etl_cli.usecases.completion`). A completion must never get in the way: anything that
goes wrong (a broken pipeline, a path that does not exist yet) completes nothing rather
than printing an error into the user's command line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

#: a candidate, with what it is (zsh and fish show it next to the value)
Candidate = tuple[str, str]


def complete_pipeline(incomplete: str) -> list[str]:
    """Pipeline files, pipeline folders, and folders on the way to them."""
    from etl_cli.usecases.completion import pipeline_paths

    return _quietly(lambda: pipeline_paths(incomplete))


def complete_env(ctx: typer.Context) -> list[Candidate]:
    """The environments of the pipeline named before ``--env`` (else of the project around ``--project`` or here)."""
    from etl_cli.usecases.completion import environment_names

    return _quietly(lambda: environment_names(_pipeline(ctx), _project_dir(ctx)))


def complete_stage(ctx: typer.Context) -> list[Candidate]:
    """The stages of the pipeline named before, in the environment and with the ``--set`` given before."""
    from etl_cli.usecases.completion import stage_names

    pipeline = _pipeline(ctx)
    if pipeline is None:
        return []
    return _quietly(lambda: stage_names(pipeline, ctx.params.get("env"), ctx.params.get("sets") or ()))


def _quietly(candidates: Callable[[], Sequence[Any]]) -> list[Any]:
    """The candidates, or none when they cannot be found: a traceback would land in the user's command line."""
    try:
        return list(candidates())
    except Exception:  # completion offers what it can and never fails
        return []


def _pipeline(ctx: typer.Context) -> Path | None:
    """The pipeline named earlier on the command line (the first of several paths), if any."""
    value = ctx.params.get("pipeline") or ctx.params.get("paths")
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return Path(value) if value else None


def _project_dir(ctx: typer.Context) -> Path:
    return Path(ctx.params.get("project") or ".")
