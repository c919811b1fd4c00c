"""Selectors in the dbt style: which pipelines of the project DAG a command is about.

- ``name``: that pipeline; ``name+``: and everything downstream of it; ``+name``: and
  everything upstream of it; ``+name+``: both
- ``tag:x``: the pipelines tagged ``x`` (``+``/``+`` work around it too)
- ``path:pipelines/finance``: the pipelines in that folder or below (relative to the project root)

Several selectors select the union; ``exclude`` (the same syntax) takes pipelines out again.
A name, tag or path that selects nothing is a usage error with a did-you-mean: a typo must not
silently run nothing, or everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import UsageError
from etl_cli.orchestration.dag import ProjectDag

TAG = "tag:"
PATH = "path:"


@dataclass(frozen=True)
class Selector:
    """One selector, parsed: what it names and whether it takes upstream and downstream along."""

    text: str
    #: "name", "tag" or "path"
    method: str
    value: str
    upstream: bool
    downstream: bool

    @classmethod
    def parse(cls, text: str) -> Selector:
        body = text.strip()
        upstream, downstream = body.startswith("+"), body.endswith("+") and len(body) > 1
        body = body[1 if upstream else 0 : len(body) - 1 if downstream else len(body)]
        method, value = "name", body
        for prefix in (TAG, PATH):
            if body.startswith(prefix):
                method, value = prefix[:-1], body[len(prefix) :]
        if not value or "+" in value:
            raise UsageError(
                f"'{text}' is not a selector",
                hint="write name, name+, +name, +name+, tag:NAME or path:FOLDER (docs/orchestration.md#selectors)",
            )
        return cls(text, method, value, upstream, downstream)


def select(dag: ProjectDag, selectors: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """The pipelines ``selectors`` pick minus those ``exclude`` picks, in the DAG's order; no selectors: all."""
    chosen = _union(dag, selectors) if selectors else set(dag.pipelines)
    chosen -= _union(dag, exclude)
    return [name for name in dag.order() if name in chosen]


def _union(dag: ProjectDag, selectors: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in selectors:
        found |= _pick(dag, Selector.parse(text))
    return found


def _pick(dag: ProjectDag, selector: Selector) -> set[str]:
    seeds = _seeds(dag, selector)
    picked = set(seeds)
    if selector.upstream:
        picked |= _reach(seeds, dag.upstream_of)
    if selector.downstream:
        picked |= _reach(seeds, dag.downstream_of)
    return picked


def _seeds(dag: ProjectDag, selector: Selector) -> set[str]:
    """The pipelines the selector names before ``+`` widens it; none is an error."""
    if selector.method == "name":
        if selector.value in dag.pipelines:
            return {selector.value}
        raise _unknown(selector, "no pipeline named", dag.pipelines)
    if selector.method == "tag":
        tagged = {name for name, pipeline in dag.pipelines.items() if selector.value in pipeline.tags}
        if tagged:
            return tagged
        raise _unknown(selector, "no pipeline is tagged", {t for p in dag.pipelines.values() for t in p.tags})
    prefix = PurePosixPath(selector.value.strip("/") or ".")
    within = {name for name, pipeline in dag.pipelines.items() if _under(PurePosixPath(pipeline.folder), prefix)}
    if within:
        return within
    folders = {str(parent) for p in dag.pipelines.values() for parent in PurePosixPath(p.folder).parents}
    folders |= {p.folder for p in dag.pipelines.values()}
    raise _unknown(selector, "no pipeline in the folder", folders - {"."})


def _under(folder: PurePosixPath, prefix: PurePosixPath) -> bool:
    return str(prefix) == "." or folder == prefix or prefix in folder.parents


def _unknown(selector: Selector, what: str, choices: Iterable[str]) -> UsageError:
    known = sorted(choices)
    hint = did_you_mean(selector.value, known)
    if hint is None:
        hint = f"choose one of: {', '.join(known)}" if known else "the project has none"
    return UsageError(f"selector '{selector.text}': {what} '{selector.value}'", hint=hint)


def _reach(seeds: Iterable[str], step: Callable[[str], frozenset[str]]) -> set[str]:
    """Everything ``step`` leads to from ``seeds``, transitively (the seeds excluded unless reached again)."""
    found: set[str] = set()
    todo = list(seeds)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in found:
                found.add(nxt)
                todo.append(nxt)
    return found
