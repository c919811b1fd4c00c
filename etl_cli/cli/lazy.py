"""Commands whose module is imported only when they are used, so that every other command starts fast.

A command module brings its libraries with it (Spark's use cases, the wizard, the secret
providers, rich tables), and ``etl-cli validate`` or ``etl-cli --help`` needs none of them.
A :class:`LazyGroup` offers such commands from a :class:`LazySpec` (module, attribute, and
the summary the command list shows): its ``commands`` mapping imports a module and builds
the command the first time the command is looked up (to run it, show its ``--help`` or
complete its arguments), while the command list and the completion of command names show
the summary and import nothing.

The summary is written beside the spec, not read from the module (that would import it);
tests/unit/test_cli_lazy.py checks that it is the real command's.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from etl_cli.cli.coercion import convert_plainly


@dataclass(frozen=True)
class LazySpec:
    """Where a command lives and what the command list says of it."""

    name: str
    #: ``module:attribute``: a command function, or a ``typer.Typer`` of subcommands
    target: str
    #: the first paragraph of the command's help, as ``etl-cli --help`` lists it
    summary: str
    #: the command class a command function is registered with (``cli.command(cls=...)``)
    cls: type[TyperCommand] | None = None

    def build(self) -> Any:
        """Import the target and build its click command exactly as ``cli.command``/``cli.add_typer`` would."""
        module, _, attribute = self.target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=self.name)
        else:
            holder.command(self.name, cls=self.cls)(target)
        return typer.main.get_group(holder).commands[self.name]

    def stand_in(self) -> TyperCommand:
        """A command that only lists: its name and summary."""
        return TyperCommand(name=self.name, help=self.summary, rich_markup_mode=None)


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands by name, in order: the built ones, then the lazy ones, each built when first looked up."""

    def __init__(self, built: MutableMapping[str, Any], specs: tuple[LazySpec, ...]) -> None:
        self._built = dict(built)
        self._specs = {spec.name: spec for spec in specs if spec.name not in self._built}
        self._order = [*self._built, *self._specs]

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._specs[name].build()  # KeyError for a name that is no command
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        self._order.remove(name)
        self._built.pop(name, None)
        self._specs.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def listed(self, name: str) -> Any:
        """The command as a list shows it: the built one, else the stand-in of its spec (nothing imported)."""
        if name in self._built:
            return self._built[name]
        return self._specs[name].stand_in() if name in self._specs else None


class LazyGroup(TyperGroup):
    """A command group that also offers the commands of ``lazy_commands``, after its own.

    Its options and those of the commands it hands out are converted without pydantic where
    they can be (:mod:`etl_cli.cli.coercion`): the other half of a fast start.
    """

    lazy_commands: ClassVar[tuple[LazySpec, ...]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = LazyCommands(self.commands, self.lazy_commands)
        self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands = self.commands
        if self._listing and isinstance(commands, LazyCommands):
            return commands.listed(cmd_name)
        command = commands.get(cmd_name)
        if command is not None:
            convert_plainly(command, ctx)
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        convert_plainly(self, ctx)  # here, not in __init__: Typer adds the completion options to a group it has built
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        """The names alone, so that listing them builds no command."""
        return list(self.commands)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of ``--help``: summaries, no command module imported for it."""
        with self._summaries():
            super().format_commands(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        """Completing a command name offers the names and summaries, no command module imported for it."""
        with self._summaries():
            return super().shell_complete(ctx, incomplete)

    @contextmanager
    def _summaries(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False
