"""What the studio's HTTP API answers, as JSON-ready dicts (the routes are in :mod:`etl_cli.studio.server`).

Every answer is made by the project's own code: the pipelines of a project and its DAG
(:mod:`etl_cli.usecases.dag`), loading with provenance and validation (:mod:`etl_cli.studio.workbench`
over :mod:`etl_cli.config.loader` and :func:`etl_cli.app.validate`), the plug-in registry and the
published JSON Schema (:mod:`etl_cli.model.schema`), the run history, the layered layout of the
lineage pictures, the wizard's writer for new pipelines, and debug stepping for a stage's rows.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etl_cli.config.overlay import NAMED_SECTIONS
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import EtlError, InvalidPipeline
from etl_cli.lineage.layout import CHAR_WIDTH, LAYER_GAP, MARGIN, MAX_WIDTH, MIN_WIDTH, NODE_GAP, TEXT_PADDING, layered
from etl_cli.model.credentials import is_credential_key, secret_references
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND, PluginKind
from etl_cli.secrets.redaction import MASK
from etl_cli.studio.workbench import Loaded, Places, load

#: the height of a stage's box in the layout
BOX_HEIGHT = 48
_STAGE_KEYS = {"name", "type", "input", "inputs"}


class StudioError(Exception):
    """A request the studio refuses: the HTTP status, a message and, maybe, a hint or problems."""

    def __init__(
        self, status: int, message: str, hint: str | None = None, problems: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.problems = problems

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "hint": self.hint}
        if self.problems is not None:
            body["problems"] = self.problems
        return body


def refused(exc: EtlError) -> StudioError:
    """An error of the layers below as a 400 answer (an invalid pipeline lists its problems)."""
    problems = None
    if isinstance(exc, InvalidPipeline):
        problems = [_problem(d, None, Places(Path.cwd())) for d in exc.diagnostics]
    return StudioError(400, exc.message, exc.hint, problems)


class Studio:
    """The project the studio serves, and the one engine and the runs it started."""

    def __init__(self, start: Path):
        from etl_cli.usecases.dag import project_root

        self.root = project_root(start)
        self._inspector: Any = None
        self._runs: Any = None
        self._lock = threading.Lock()

    # -- the project

    def pipeline_files(self) -> list[Path]:
        from etl_cli.usecases.dag import project_pipeline_files

        return project_pipeline_files(self.root)

    def pipeline_file(self, file: Any) -> Path:
        """The pipeline ``file`` (relative to the root) names; only the project's pipelines are served."""
        if not isinstance(file, str) or not file:
            raise StudioError(400, "say which pipeline: 'file', relative to the project root")
        wanted = (self.root / file).resolve()
        for path in self.pipeline_files():
            if path.resolve() == wanted or path.resolve().parent == wanted:
                return path
        raise StudioError(404, f"no pipeline {file} in the project {self.root}")

    def relative(self, path: Path) -> str:
        return Places(self.root).relative(str(path))

    def project(self) -> dict[str, Any]:
        """Every pipeline with its default environment and last run, the project DAG, the environments."""
        from etl_cli.config.loader import overlay_envs
        from etl_cli.config.project import load_project

        project = load_project(self.root)
        pipelines = []
        for file in self.pipeline_files():
            name = _pipeline_name(file)
            try:
                env_default = project.choose_env(None, overlay_envs(file))
            except EtlError:
                env_default = None
            pipelines.append(
                {
                    "name": name,
                    "file": self.relative(file),
                    "env_default": env_default,
                    "last_run": self._last_run(project.run_state_dir(), name),
                }
            )
        return {
            "name": project.name,
            "root": str(self.root),
            "pipelines": pipelines,
            "dag": self._dag(),
            "envs": list(project.environments),
        }

    def _last_run(self, state_dir: Path, pipeline: str) -> dict[str, Any] | None:
        from etl_cli.runtime.bookkeeping.history import History, HistoryError

        try:
            rows = History(state_dir).runs(pipeline=pipeline, limit=1)
        except HistoryError:
            return None
        if not rows:
            return None
        row = rows[0]
        return {
            "run_id": row.run_id,
            "status": row.status,
            "started": row.started_at,
            "finished": row.ended_at,
            "exit_code": row.exit_code,
        }

    def _dag(self) -> dict[str, Any] | None:
        """The project DAG (``etl-cli dag show --format json``), or None when the pipelines do not make one."""
        from etl_cli.orchestration.dag_render import to_json
        from etl_cli.usecases.dag import DagShowRequest, dag_view

        try:
            shown = to_json(dag_view(DagShowRequest(self.root)))
        except EtlError:
            return None
        nodes = [{"id": p["name"], "file": p["file"]} for p in shown["pipelines"]]
        edges = [
            {"from": e["upstream"], "to": e["downstream"], "why": _why(e["reason"], e.get("dataset"))}
            for e in shown["edges"]
        ]
        return {"nodes": nodes, "edges": edges}

    # -- plug-ins

    def plugins(self) -> dict[str, Any]:
        """Each stage and check type: its description and the JSON Schema of an item of that type."""
        from etl_cli import app
        from etl_cli.model.schema import build_schema

        registry = app.registry()
        defs = build_schema(registry)["$defs"]
        answer: dict[str, Any] = {}
        kinds: tuple[PluginKind, ...] = (*KINDS, "check")
        for kind in kinds:
            answer[kind] = [
                {"type": plugin.type, "doc": plugin.description, "schema": _marked(defs.get(f"{kind}.{plugin.type}"))}
                for plugin in registry.plugins(kind)
            ]
        return answer

    # -- one pipeline

    def pipeline(self, file: Any, env: Any) -> dict[str, Any]:
        path = self.pipeline_file(file)
        try:
            loaded = load(self.root, path, _env(env))
        except EtlError as exc:
            raise refused(exc) from None
        return self.view(path, loaded)

    def view(self, path: Path, loaded: Loaded, texts: Mapping[Path, str] | None = None) -> dict[str, Any]:
        """The pipeline shape of the API: stages, edges, layout, problems, the text of each file."""
        document = loaded.config.document if isinstance(loaded.config.document, dict) else {}
        stages = _stages(document, loaded, self)
        edges = [{"from": i, "to": s["id"]} for s in stages for i in s["inputs"]]
        owner = _owners(document, loaded)
        problems = [_problem(d, owner, Places(self.root)) for d in loaded.diagnostics]
        given = {p.resolve(): t for p, t in (texts or {}).items()}
        yaml_texts = {}
        for file in loaded.files:
            real = file.resolve()
            if real in given:
                yaml_texts[self.relative(file)] = given[real]
            elif real.is_file():
                yaml_texts[self.relative(file)] = real.read_text(encoding="utf-8")
        return {
            "file": self.relative(path),
            "env": loaded.config.env,
            "stages": stages,
            "edges": edges,
            "layout": _layout([s["id"] for s in stages], [(e["from"], e["to"]) for e in edges]),
            "problems": problems,
            "yaml": yaml_texts,
        }

    def check(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The pipeline with ``edits`` applied, validated; nothing written."""
        path, outcome = self._edited(body)
        return self._edited_view(path, outcome)

    def save(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Write the edited files when the result is valid (each atomically); 409 with the problems otherwise."""
        from etl_cli.studio.edits import write_atomically

        with self._lock:  # two saves at once would each start from the files as they were
            path, outcome = self._edited(body)
            view = self._edited_view(path, outcome)
            if outcome.refused or any(p["severity"] == "error" for p in view["problems"]):
                return 409, {"problems": view["problems"], "written": []}
            for file, text in outcome.texts.items():
                write_atomically(file, text)
        view["written"] = [self.relative(file) for file in outcome.texts]
        return 200, view

    def _edited(self, body: Mapping[str, Any]) -> tuple[Path, Any]:
        from etl_cli.studio.edits import apply_edits

        path = self.pipeline_file(body.get("file"))
        edits = body.get("edits") or []
        if not isinstance(edits, list) or not all(isinstance(e, dict) for e in edits):
            raise StudioError(400, "'edits' must be a list of edit objects")
        try:
            return path, apply_edits(self.root, path, _env(body.get("env")), edits)
        except EtlError as exc:
            raise refused(exc) from None

    def _edited_view(self, path: Path, outcome: Any) -> dict[str, Any]:
        view = self.view(path, outcome.loaded, outcome.texts)
        view["problems"] = [
            {**_problem(diagnostic, {}, Places(self.root)), "stage": stage} for diagnostic, stage in outcome.refused
        ] + view["problems"]
        view["changed"] = [self.relative(file) for file in outcome.texts]
        return view

    def new_pipeline(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new pipeline written by the wizard's code (``create-pipeline``), from a template or minimal."""
        from etl_cli import app
        from etl_cli.authoring.create import create_pipeline
        from etl_cli.authoring.interview import NO_TEMPLATE
        from etl_cli.authoring.questions import Answers
        from etl_cli.config.project import load_project
        from etl_cli.usecases.dag import PIPELINES_DIR

        name, template = body.get("name"), body.get("template")
        if not isinstance(name, str) or not name:
            raise StudioError(400, "say the new pipeline's 'name'")
        answers: dict[str, Any] = {"name": name, "template": template or NO_TEMPLATE, "transforms": [], "checks": []}
        answers["test"] = False
        if not template:  # one source, one sink: the person edits it into their own in the studio
            answers.update({"source.type": "csv", "source.path": f"data/{name}.csv", "sink.type": "parquet"})
        extra = body.get("answers") or {}
        if not isinstance(extra, dict):
            raise StudioError(400, "'answers' must be an object of create-pipeline answers")
        answers.update(extra)
        project = load_project(self.root)
        with self._lock:
            try:
                created = create_pipeline(project, app.registry(), Answers(answers, None), self.root / PIPELINES_DIR)
            except EtlError as exc:
                raise refused(exc) from None
        pipeline = next(f for f in created.files if f.name == "pipeline.yaml")
        return {"file": self.relative(pipeline), "files": [self.relative(f) for f in created.files]}

    # -- the engine and runs

    def inspect(self, body: Mapping[str, Any]) -> dict[str, Any]:
        from etl_cli.studio.inspect import Inspector

        path = self.pipeline_file(body.get("file"))
        stage, limit, sample = body.get("stage"), body.get("limit", 20), body.get("sample")
        if not isinstance(stage, str):
            raise StudioError(400, "say which 'stage' to inspect")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1000:
            raise StudioError(400, "'limit' must be a number of rows from 0 to 1000")
        if sample is not None and (not isinstance(sample, int) or isinstance(sample, bool) or sample < 1):
            raise StudioError(400, "'sample' must be a positive number of rows, or null")
        with self._lock:
            if self._inspector is None:
                self._inspector = Inspector()
        try:
            answer: dict[str, Any] = self._inspector.inspect(path, _env(body.get("env")), stage, limit, sample)
            return answer
        except KeyError:
            raise StudioError(404, f"no stage named '{stage}'") from None
        except EtlError as exc:
            raise refused(exc) from None

    def runs(self) -> Any:
        from etl_cli.studio.runs import Runs

        with self._lock:
            if self._runs is None:
                self._runs = Runs(self.root)
            return self._runs

    def start_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        path = self.pipeline_file(body.get("file"))
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise StudioError(400, "'params' must be an object of parameter values")
        try:
            return {"run_id": self.runs().start(path, _env(body.get("env")), params)}
        except EtlError as exc:
            raise refused(exc) from None

    def run_status(self, run_id: str) -> dict[str, Any]:
        found = self.runs().status(run_id)
        if found is None:
            raise StudioError(404, f"no run {run_id} was started by this studio")
        return found

    def close(self) -> None:
        """Stop the engine and the runs still going (each by its own process id)."""
        if self._runs is not None:
            self._runs.stop_all()
        if self._inspector is not None:
            self._inspector.stop()


# --------------------------------------------------------------------------- helpers


def _env(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StudioError(400, "'env' must be an environment name")
    return value


def _pipeline_name(file: Path) -> str:
    """The pipeline's ``name`` as its file writes it (the folder's name when it cannot be read)."""
    from etl_cli.config.yaml_loader import YamlFileError, load_yaml_file

    try:
        tree = load_yaml_file(file)
    except YamlFileError:
        return file.parent.name
    node = tree.get("name") if tree.is_mapping else None
    return node.value if node is not None and isinstance(node.value, str) else file.parent.name


def _why(reason: str, dataset: str | None) -> str:
    return f"{reason}: {dataset}" if dataset else reason


def _marked(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The schema with ``x-secret: true`` on each option that holds a credential (entered as ``${secret:...}``)."""
    if schema is None:
        return None
    properties = {
        key: ({**value, "x-secret": True} if is_credential_key(key) and isinstance(value, dict) else value)
        for key, value in schema.get("properties", {}).items()
    }
    return {**schema, "properties": properties}


def _stages(document: Mapping[str, Any], loaded: Loaded, studio: Studio) -> list[dict[str, Any]]:
    stages = []
    for kind in KINDS:
        section = SECTION_OF_KIND[kind]
        items = document.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            if kind == "sink":
                inputs = [item["input"]] if isinstance(item.get("input"), str) else []
            else:
                given = item.get("inputs")
                inputs = [i for i in given if isinstance(i, str)] if isinstance(given, list) else []
            options = {k: _shown(k, v) for k, v in item.items() if k not in _STAGE_KEYS}
            stages.append(
                {
                    "id": item["name"],
                    "kind": kind,
                    "type": item.get("type"),
                    "inputs": inputs,
                    "options": options,
                    "origin": _origin(loaded, section, index, studio),
                }
            )
    return stages


def _shown(key: str, value: Any) -> Any:
    """An option as the page may show it: a credential only as the ``${secret:...}`` reference written."""
    if isinstance(value, dict):
        return {k: _shown(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(key, v) for v in value]
    if is_credential_key(key) and isinstance(value, str) and value:
        return value if any(True for _ in secret_references(value)) else MASK
    return value


def _origin(loaded: Loaded, section: str, index: int, studio: Studio) -> dict[str, Any] | None:
    """Where the stage is written: the user's own item (its ``name``) before a template's it extends."""
    provenance = loaded.config.provenance
    where = provenance.value_location((section, index))
    name = provenance.info((section, index, "name"))
    named = name.key_loc if name is not None else None
    if where is not None and where.file in provenance.templates and named is not None and named.line > 0:
        where = named if named.file not in provenance.templates else where
    if where is None:
        return None
    return {"file": studio.relative(Path(where.file)), "line": where.line, "col": where.column}


def _owners(document: Mapping[str, Any], loaded: Loaded) -> dict[tuple[str, int], str]:
    """(real file, line) → the stage written there, from every key and value of each stage's item."""
    owner: dict[tuple[str, int], str] = {}
    names = {
        (section, index): item.get("name")
        for section in (*SECTION_OF_KIND.values(), *(NAMED_SECTIONS - set(SECTION_OF_KIND.values())))
        for index, item in enumerate(document.get(section) or [])
        if isinstance(item, dict)
    }
    for path, info in loaded.config.provenance.entries.items():
        if len(path) < 2 or (path[0], path[1]) not in names or path[0] == "checks":
            continue
        stage = names[(str(path[0]), int(path[1]))]
        if not isinstance(stage, str):
            continue
        for where in (info.loc, info.key_loc):
            if where is not None and where.line > 0:
                owner.setdefault((str(loaded.places.real(where.file).resolve()), where.line), stage)
    for index, check in enumerate(document.get("checks") or []):  # a check's problem shows on the stage it checks
        target = check.get("stage") or check.get("to") if isinstance(check, dict) else None
        if not isinstance(target, str):
            continue
        for path, info in loaded.config.provenance.entries.items():
            if path[:2] == ("checks", index):
                for where in (info.loc, info.key_loc):
                    if where is not None and where.line > 0:
                        owner.setdefault((str(loaded.places.real(where.file).resolve()), where.line), target)
    return owner


def _problem(diagnostic: Diagnostic, owner: Mapping[tuple[str, int], str] | None, places: Places) -> dict[str, Any]:
    where = diagnostic.location
    file = places.relative(where.file) if where is not None and where.file else None
    stage = None
    if owner and where is not None and where.line > 0:
        stage = owner.get((str(places.real(where.file).resolve()), where.line))
    return {
        "severity": diagnostic.severity,
        "code": diagnostic.code,
        "message": diagnostic.message,
        "file": file,
        "line": where.line if where is not None else None,
        "col": where.column if where is not None else None,
        "stage": stage,
        "hint": diagnostic.hint,
    }


def _layout(ids: list[str], links: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Boxes left to right in layers (the lineage pictures' layout), each as wide as its name needs."""
    known = set(ids)
    layers = layered(ids, [(a, b) for a, b in links if a in known and b in known and a != b])
    widths = {i: min(MAX_WIDTH, max(MIN_WIDTH, len(i) * CHAR_WIDTH + TEXT_PADDING)) for i in ids}
    boxes: dict[str, dict[str, float]] = {}
    x = float(MARGIN)
    for layer in layers:
        width = max((widths[i] for i in layer), default=MIN_WIDTH)
        for position, stage in enumerate(layer):
            y = MARGIN + position * (BOX_HEIGHT + NODE_GAP)
            boxes[stage] = {"x": x, "y": float(y), "w": float(width), "h": float(BOX_HEIGHT)}
        x += width + LAYER_GAP
    return boxes
