"""``etl-cli init``: a new project, scaffolded by :mod:`etl_cli.authoring.scaffold`."""

from __future__ import annotations

from etl_cli.authoring.scaffold import EXAMPLE, Scaffold, scaffold_project

__all__ = ["EXAMPLE", "Scaffold", "scaffold_project"]
