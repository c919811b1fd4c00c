"""Where the relative paths of the pipeline being created will start, and whether an input answered is there.

Nothing here restates the rule: the folder comes from :func:`etl_cli.config.project.load_project` on the
pipeline's folder, the very call the loader makes (the nearest ``etl-project.yaml`` at or above it, else the
pipeline's own folder); the words from :meth:`Project.relative_paths_rule`, and the check from ``validate``'s
own :func:`etl_cli.model.input_paths.missing_input`. What the wizard says is what ``validate`` and ``run`` do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl_cli.config.project import Project, load_project
from etl_cli.model.input_paths import missing_input
from etl_cli.plugins.api import resolve_path


@dataclass(frozen=True)
class PathRoot:
    """The project a pipeline folder belongs to, as the loader will find it."""

    project: Project

    @classmethod
    def of(cls, pipeline_folder: Path) -> PathRoot:
        return cls(load_project(pipeline_folder))

    @property
    def folder(self) -> Path:
        """The folder the pipeline's relative paths start at."""
        return self.project.root

    def describe(self) -> str:
        return self.project.relative_paths_rule()

    def missing_input(self, value: Any) -> str | None:
        """A warning when a local input path answered is not there (yet: data may arrive later), or None."""
        for path in value if isinstance(value, list) else [value]:
            problem = missing_input(self._normalized(path), self.folder) if isinstance(path, str) else None
            if problem is not None:
                return f"the pipeline reads {problem}; {self.describe()}{self._elsewhere(path)}"
        return None

    def _normalized(self, path: str) -> str:
        """``path`` resolved with its ``..`` taken out: the pipeline's folder, which they may climb out of, is
        only written at the end."""
        resolved = resolve_path(path, self.folder)
        return os.path.normpath(resolved) if Path(resolved).is_absolute() else resolved

    def _elsewhere(self, path: str) -> str:
        """The answer that would work, when ``path`` names a file relative to the current folder instead."""
        here = Path.cwd() / path
        if Path(path).is_absolute() or missing_input(str(here), self.folder) is not None:
            return ""
        return f"; it exists relative to the current folder: answer {os.path.relpath(here, self.folder)}"
