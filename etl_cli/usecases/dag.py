"""Use cases of the project DAG: load it (``dag show``, ``dag run``), check it (``validate``), show it.

A project's pipelines are the ``pipeline.yaml`` files under ``<root>/pipelines`` (where
``create-pipeline`` writes them), or under the root when it has no such folder; hidden folders
are skipped. Loading them is offline: no JVM starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from etl_cli import app
from etl_cli.app import ValidationReport
from etl_cli.config.loader import load_pipeline
from etl_cli.config.project import PIPELINE_FILE, load_project
from etl_cli.diagnostics import Diagnostic, sorted_diagnostics
from etl_cli.errors import InvalidPipeline, Location, UsageError
from etl_cli.model.check import check_pipeline
from etl_cli.model.input_paths import INPUT_NOT_FOUND
from etl_cli.model.pipeline import PipelineSpec
from etl_cli.orchestration.dag import ProjectDag, build_dag, diagnose_dag, fed_inputs
from etl_cli.orchestration.dag_render import DagView, LastRun
from etl_cli.orchestration.selectors import select

#: the folder of a project that holds its pipelines, when there is one
PIPELINES_DIR = "pipelines"


def project_root(start: Path) -> Path:
    """The root of the project ``start`` (a folder or a file) is in; without ``etl-project.yaml``, the folder itself."""
    folder = start if start.is_dir() else start.parent
    return load_project(folder).root.resolve()


def project_pipeline_files(root: Path) -> list[Path]:
    """Every pipeline of the project at ``root``, sorted."""
    folder = root / PIPELINES_DIR if (root / PIPELINES_DIR).is_dir() else root
    found = (path for path in folder.rglob(PIPELINE_FILE) if path.is_file())
    return sorted(path for path in found if not any(part.startswith(".") for part in path.relative_to(root).parts))


@dataclass
class _Loaded:
    """The project's pipelines in one environment: the valid ones' specs, every diagnostic, the invalid ones' names."""

    specs: dict[Path, PipelineSpec]
    diagnostics: list[Diagnostic]
    invalid: dict[Path, str]


def _load_all(files: Sequence[Path], env: str | None, sets: Sequence[str]) -> _Loaded:
    loaded = _Loaded({}, [], {})
    for file in files:
        config = load_pipeline(file, env, sets)
        spec, diagnostics = check_pipeline(config, app.registry())
        loaded.diagnostics += diagnostics
        if spec is None:
            name = config.document.get("name") if isinstance(config.document, dict) else None
            loaded.invalid[file] = name if isinstance(name, str) else file.parent.name
        else:
            loaded.specs[file] = spec
    return loaded


def load_project_dag(
    start: Path, env: str | None, sets: Sequence[str] = ()
) -> tuple[ProjectDag, dict[str, PipelineSpec]]:
    """The DAG of the project ``start`` is in, and every pipeline's spec by name.

    Raises InvalidPipeline with every error (each pipeline's and the DAG's) when a pipeline or the DAG is
    invalid; warnings are ``validate``'s to show.
    """
    if not start.exists():
        raise UsageError(f"no such file or folder: {start}")
    root = project_root(start)
    loaded = _load_all(project_pipeline_files(root), env, sets)
    dag, problems = build_dag(root, list(loaded.specs.values()), loaded.invalid.values())
    errors = [d for d in [*loaded.diagnostics, *problems] if d.severity == "error"]
    if loaded.invalid:
        names = ", ".join(sorted(loaded.invalid.values()))
        raise InvalidPipeline(sorted_diagnostics(errors), f"pipelines of the project {root} are invalid: {names}")
    if errors:
        raise InvalidPipeline(sorted_diagnostics(errors), f"the pipelines of the project {root} do not make a DAG")
    return dag, {spec.name: spec for spec in loaded.specs.values()}


@dataclass
class DagFindings:
    """What the project DAG adds to ``validate``'s reports, by pipeline file (resolved)."""

    #: the DAG's problems (unknown dependencies, cycles, conflicts)
    problems: dict[Path, list[Diagnostic]] = field(default_factory=dict)
    #: where a pipeline reads what another one writes: no "input not found" there, the writer runs first
    fed: dict[Path, set[Location]] = field(default_factory=dict)


def dag_diagnostics(
    folders: Sequence[Path], pipeline_files: Sequence[Path], env: str | None, sets: Sequence[str] = ()
) -> DagFindings:
    """The findings of the DAG of each project ``folders`` are in, for ``pipeline_files`` (resolved), in ``env``.

    A project's DAG is made of every pipeline of it (a ``depends_on`` may name one outside the files
    validated) and of those of ``pipeline_files`` under its root; only their findings are returned.
    """
    wanted = {file.resolve() for file in pipeline_files}
    found = DagFindings()
    for root in dict.fromkeys(project_root(folder) for folder in folders):
        inside = sorted(file for file in wanted if file.is_relative_to(root))
        files = list(dict.fromkeys([*(file.resolve() for file in project_pipeline_files(root)), *inside]))
        loaded = _load_all(files, env, sets)
        specs = list(loaded.specs.values())
        _, problems = diagnose_dag(root, specs, loaded.invalid.values())
        for file, diagnostic in problems:
            if file.resolve() in wanted:
                found.problems.setdefault(file.resolve(), []).append(diagnostic)
        for file, places in fed_inputs(root, specs).items():
            found.fed.setdefault(file, set()).update(places)
    return found


def add_dag_diagnostics(reports: Sequence[ValidationReport], folders: Sequence[Path], sets: Sequence[str] = ()) -> None:
    """Add the problems of the DAGs of the projects ``folders`` are in to ``validate``'s reports (per environment),
    each to the report of the pipeline it is about."""
    for env in dict.fromkeys(report.env for report in reports):
        chosen = [report for report in reports if report.env == env]
        found = dag_diagnostics(folders, [Path(report.pipeline) for report in chosen], env, sets)
        for report in chosen:
            file = Path(report.pipeline).resolve()
            fed = found.fed.get(file, set())
            kept = [d for d in report.diagnostics if not (d.code == INPUT_NOT_FOUND and d.location in fed)]
            extra = found.problems.get(file, [])
            if extra or len(kept) != len(report.diagnostics):
                report.diagnostics = sorted_diagnostics([*kept, *extra])


@dataclass(frozen=True)
class DagShowRequest:
    """What ``etl-cli dag show`` was asked: the project (any folder or file in it) and the selection."""

    start: Path
    env: str | None = None
    sets: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def dag_view(request: DagShowRequest) -> DagView:
    """The selected pipelines of the project in run order, with how each one's latest run in the environment went."""
    dag, specs = load_project_dag(request.start, request.env, request.sets)
    selected = tuple(select(dag, request.selectors, request.exclude))
    first = next(iter(specs.values()), None)
    last_runs = _last_runs(first.state_dir, first.env) if first is not None else {}
    name = first.project.name if first is not None else dag.root.name
    runs = {pipeline: run for pipeline, run in last_runs.items() if pipeline in dag.pipelines}
    return DagView(dag, selected, runs, f"DAG of {name}", first.env if first is not None else None)


def _last_runs(state_dir: Path, env: str | None) -> dict[str, LastRun]:
    """The latest recorded run of each pipeline in ``env`` (the run history, ``etl-cli runs``); none when unreadable.

    The status only colours the picture: a history that cannot be read leaves every pipeline "never run"
    rather than failing the command.
    """
    from etl_cli.runtime.bookkeeping.history import DEFAULT_ENV, History, HistoryError

    try:
        rows = History(state_dir).runs(env=env or DEFAULT_ENV)
    except HistoryError:
        return {}
    latest: dict[str, LastRun] = {}
    for row in rows:
        if row.pipeline not in latest:
            latest[row.pipeline] = LastRun(
                row.run_id, row.status, row.env, row.started_at, row.duration_s, row.exit_code
            )
    return latest
