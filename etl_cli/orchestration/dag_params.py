"""``dag run --param NAME=VALUE``: which values each child ``etl-cli run`` gets, checked before anything runs.

A child is given exactly the parameters its pipeline declares, because ``run`` refuses a ``--param`` its
pipeline does not declare. Every value is checked here against every selected pipeline that declares it
(config/params.py reads it, as the child will), and every required parameter must be given: otherwise a
mistake would show up only as a failed child, after its upstream had already run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from etl_cli.config.params import EXPECTED, PLACEHOLDER, ParamDecl, parse_assignments, resolve_params
from etl_cli.diagnostics import did_you_mean
from etl_cli.errors import UsageError

#: each selected pipeline's declared parameters, by pipeline name then parameter name
Declared = Mapping[str, Mapping[str, ParamDecl]]


def given_params(assignments: Sequence[str]) -> tuple[str, ...]:
    """``--param`` options as ``NAME=VALUE``, one per name (the last one given wins, as for ``run``)."""
    return tuple(f"{name}={value}" for name, value in parse_assignments(assignments).items())


def child_params(
    declared: Declared, assignments: Sequence[str], *, strict_names: bool = True
) -> dict[str, tuple[str, ...]]:
    """The ``--param NAME=VALUE`` each pipeline's child gets: those of ``assignments`` it declares.

    Raises UsageError, naming the pipelines, for a value not of its parameter's type (or choices), a
    required parameter not given, and (with ``strict_names``) a name no pipeline of ``declared`` has.
    A resume turns ``strict_names`` off: a name only the pipelines that succeeded declare is not needed.
    """
    given = parse_assignments(assignments)
    if strict_names:
        _check_names(given, declared)
    split: dict[str, tuple[str, ...]] = {}
    refused: list[tuple[str, UsageError]] = []
    missing: dict[str, list[tuple[str, ParamDecl]]] = {}
    for pipeline, decls in declared.items():
        own = {name: value for name, value in given.items() if name in decls}
        try:
            values = resolve_params(decls, own, require=False, pipeline=f"pipeline {pipeline}")
        except UsageError as error:
            refused.append((pipeline, error))
            continue
        for name, value in values.items():
            if value.source == PLACEHOLDER and value.decl.required:
                missing.setdefault(name, []).append((pipeline, value.decl))
        split[pipeline] = tuple(f"{name}={value}" for name, value in own.items())
    if refused:
        raise _refused(refused)
    if missing:
        raise _missing(missing)
    return split


def _check_names(given: Mapping[str, str], declared: Declared) -> None:
    names = sorted({name for decls in declared.values() for name in decls})
    for name in given:
        if name not in names:
            hint = did_you_mean(name, names) or (
                f"the selected pipelines declare: {', '.join(names)}"
                if names
                else "the selected pipelines declare no parameters"
            )
            raise UsageError(f"--param {name}: no selected pipeline declares a parameter '{name}'", hint=hint)


def _refused(refused: Sequence[tuple[str, UsageError]]) -> UsageError:
    """One error for every pipeline that refused a value, each with the reason its declaration gives."""
    if len(refused) == 1:
        pipeline, error = refused[0]
        return UsageError(f"pipeline {pipeline}: {error.message}", hint=error.hint)
    lines = [f"the --param values do not suit {len(refused)} selected pipelines:"]
    lines += [f"  pipeline {pipeline}: {error.message}" for pipeline, error in refused]
    return UsageError("\n".join(lines), hint=refused[0][1].hint)


def _missing(missing: Mapping[str, Sequence[tuple[str, ParamDecl]]]) -> UsageError:
    """One error naming every required parameter not given and the pipelines that declare it."""
    lines = []
    for name, needing in missing.items():
        pipelines = ", ".join(pipeline for pipeline, _ in needing)
        places = ", ".join(str(decl.loc) for _, decl in needing)
        noun = "pipeline" if len(needing) == 1 else "pipelines"
        lines.append(
            f"parameter '{name}' is required by {noun} {pipelines} and no --param {name}=VALUE was given "
            f"(declared at {places})"
        )
    wanted = [f"--param {name}=VALUE ({EXPECTED[needing[0][1].type]})" for name, needing in missing.items()]
    return UsageError("\n".join(lines), hint="add " + " and ".join(wanted))
