"""Small projects of pipelines that feed each other, written into a temporary folder for the project DAG's tests.

Each pipeline reads CSV files and writes Parquet; what it reads and writes is written by hand in the
test, so the expected edges are known without running the code under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from etl_cli import app
from etl_cli.model.pipeline import PipelineSpec
from tests.unit.helpers import make_project, write


def pipeline_yaml(
    name: str,
    reads: Sequence[str] = (),
    writes: Sequence[str] = (),
    depends_on: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> str:
    """A pipeline ``name`` whose sources read ``reads`` and whose sinks write ``writes`` (paths as written).

    Lines: 1 ``name``; then ``depends_on`` and ``tags`` when given, one line each; then ``sources:`` and three
    lines per source, its ``path`` last; then ``sinks:`` and four lines per sink, its ``path`` last.
    """
    lines = [f"name: {name}"]
    if depends_on is not None:
        lines.append(f"depends_on: [{', '.join(depends_on)}]")
    if tags is not None:
        lines.append(f"tags: [{', '.join(tags)}]")
    lines.append("sources:")
    for index, path in enumerate(reads or [f"data/{name}.csv"]):
        lines += [f"  - name: in{index}", "    type: csv", f"    path: {path}"]
    lines.append("sinks:")
    for index, path in enumerate(writes or [f"out/{name}"]):
        lines += [f"  - name: out{index}", "    type: parquet", "    input: in0", f"    path: {path}"]
    return "\n".join(lines) + "\n"


def project(root: Path, pipelines: dict[str, str]) -> Path:
    """A project at ``root`` with each pipeline at ``pipelines/<folder>/pipeline.yaml`` (folder: the dict's key)."""
    make_project(root, project="name: shop\ndefault_env: dev\nenvironments:\n  dev: {}\n")
    for folder, text in pipelines.items():
        write(root, f"pipelines/{folder}/pipeline.yaml", text)
    return root


def specs(root: Path) -> list[PipelineSpec]:
    """The specs of every pipeline of the project at ``root``, in folder order."""
    files = sorted((root / "pipelines").rglob("pipeline.yaml"))
    return [app.load_spec(file, None)[1] for file in files]
