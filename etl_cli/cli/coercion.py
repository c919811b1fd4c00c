"""Command-line values of the plain kinds converted as Typer converts them, without importing pydantic.

Typer (0.29) converts every value, an absent one too, through a pydantic ``TypeAdapter`` it
builds the first time a parameter is processed; importing pydantic for that took longer than
the whole of ``etl-cli validate``'s own work (docs/benchmarks.md, CLI latency). Nearly every
option of etl-cli is a string, a path, a list of them, a flag or an enum choice, and those need
none of it: :class:`PlainValues` converts them with the same Typer functions Typer's adapters
call, and leaves anything else (a number, a wrong choice, any value that may need Typer's
words for an error) to Typer's own conversion, built only then.

This leans on Typer internals (``typer._coercion``, ``typer._param_types``); Typer is bounded
to one minor version in pyproject.toml, and tests/unit/test_cli_coercion.py compares the
results with Typer's own conversion, so an upgrade that changes them fails there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path


class _NotPlain(Exception):
    """The value is not one :class:`PlainValues` converts: Typer's conversion takes it."""


@dataclass(frozen=True)
class PlainValues(RuntimeParam):
    """A parameter's conversion: plain values here, any other through Typer's (pydantic) conversion."""

    descriptor: TypeDescriptor

    @classmethod
    def of(cls, descriptor: TypeDescriptor) -> PlainValues:
        return cls(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation, descriptor=descriptor)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return self._plain(value, param, ctx)
        except _NotPlain:
            return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def _plain(self, value: Any, param: Any, ctx: Any) -> Any:
        info = self.parameter_info
        if info.parser is not None or self.descriptor.file_annotation is not None:
            raise _NotPlain
        if get_origin(self.annotation) is list:
            (item_type,) = get_args(self.annotation)
            items = value if isinstance(value, (list, tuple)) else [value]
            return [self._leaf(item_type, item, param, ctx) for item in items]
        return self._leaf(self.annotation, value, param, ctx)

    def _leaf(self, annotation: Any, value: Any, param: Any, ctx: Any) -> Any:
        info = self.parameter_info
        if (annotation is str and type(value) is str) or (annotation is bool and type(value) is bool):
            return value
        if annotation is Path and info.path_type is None and (type(value) is str or isinstance(value, Path)):
            # what Typer's adapter does, with pydantic's str -> Path (which is Path(value)) done here
            path = value if isinstance(value, Path) else Path(value)
            return coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)
        if isinstance(annotation, type) and issubclass(annotation, Enum) and isinstance(value, (str, annotation)):
            try:
                return coerce_cli_choice(value, choices=tuple(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
            except ValueError:
                raise _NotPlain from None  # Typer words the error
        raise _NotPlain


def convert_plainly(command: Any, ctx: Any) -> None:
    """Give the parameters of ``command``, and of the subcommands of a group, :class:`PlainValues`.

    ``ctx`` is the context ``command`` runs under (or its parent's): its ``--help`` option,
    which click makes for each command on first use, is made here with it and converted too.
    A parameter whose conversion Typer built already keeps it; a group whose commands are built
    on demand (a ``LazyGroup``) converts each one itself when it builds it.
    """
    for param in [*command.params, _help_option(command, ctx)]:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", "unset") is None:
            param._runtime_param = PlainValues.of(descriptor)
    commands = getattr(command, "commands", None)
    if isinstance(commands, dict):
        for subcommand in commands.values():
            convert_plainly(subcommand, ctx)


def _help_option(command: Any, ctx: Any) -> Any:
    """The command's ``--help`` option, unless the command names its help options itself (then it waits for them)."""
    if "help_option_names" in (command.context_settings or {}):
        return None
    return command.get_help_option(ctx)
