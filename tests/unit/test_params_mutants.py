"""How ``params:`` declarations are read (config/params.py ``_declaration`` and ``_typed``), pinned where mutation
testing found them loose.

A declaration that is not a mapping, has no type or an unknown one is a string parameter; ``required:`` overrides
what a default implies; a text ``description:`` is kept. A default or choice is read by the parameter's type, also
when it is quoted; one of the wrong type, one that is a list, or a default outside the choices is a
``param-default`` error at its own value, with the exact message and hint a user reads.

How a value is read by its type (``parse_value``): the text of each error a wrong value gets, a value of any type
but ``string`` read without the spaces around it, a timestamp in UTC written with its offset. What a parameter without
a value stands for where nothing runs (``placeholder``): its first choice, else a value of its type (a string: its
name), also when its first choice was of the wrong type. And the hint of a ``--param`` naming no parameter that is not
close to one (``resolve_params``): the parameters declared, or how to declare one.

A declaration holding a ``${...}`` reference (``declared_params``) is a ``param-reference`` error at the reference,
with the hint to give a literal default and the value at run time; it is left out, and the declarations after it
are still read. Where each parameter's value comes from when no ``--param`` gives it (``resolve_params``): its
default, set at the default's line; a placeholder, set at the declaration, for a required parameter or one whose
default was not of its type; nothing (unset, at the declaration) for an optional one without a default; and for a
command that runs, a required parameter not given is a usage error saying where it is declared and how to give it.
"""

from __future__ import annotations

import pytest

from etl_cli.config.params import (
    ParamDecl,
    ParamValue,
    declared_params,
    parse_assignments,
    parse_value,
    placeholder,
    resolve_params,
)
from etl_cli.config.yaml_loader import load_yaml_text
from etl_cli.diagnostics import Diagnostic
from etl_cli.errors import Location, UsageError

from .helpers import column, said

FILE = "pipeline.yaml"


def declared(text: str) -> tuple[dict[str, ParamDecl], list[Diagnostic]]:
    """The parameters the ``params:`` block of a pipeline whose text is ``text`` declares, and the problems found."""
    tree = load_yaml_text(text, FILE)
    diagnostics: list[Diagnostic] = []
    return declared_params(tree.get("params"), diagnostics), diagnostics


def at(line: int, text: str, token: str) -> Location:
    return Location(FILE, line, column(text, token))


def test_a_declaration_that_is_not_a_mapping_is_a_required_string_parameter() -> None:
    decls, diagnostics = declared("params:\n  ds: date\n  n:\n")
    assert diagnostics == []
    assert decls == {
        "ds": ParamDecl("ds", "string", Location(FILE, 2, 3)),
        "n": ParamDecl("n", "string", Location(FILE, 3, 3)),
    }


def test_a_declaration_without_a_type_or_with_an_unknown_one_is_a_string_parameter() -> None:
    decls, diagnostics = declared("params:\n  a: {required: false}\n  b: {type: day}\n  c: {type: int}\n")
    assert diagnostics == []
    assert {name: decl.type for name, decl in decls.items()} == {"a": "string", "b": "string", "c": "int"}


def test_a_default_not_of_its_type_is_an_error_at_the_default_saying_how_to_write_one() -> None:
    line = "  n: {type: int, default: five}"
    decls, diagnostics = declared(f"params:\n{line}\n")
    assert [said(d) for d in diagnostics] == [
        (
            "param-default",
            "the default of parameter 'n' is not an int: 'five' is not a whole number",
            "write a whole number, e.g. 42",
            2,
            column(line, "five"),
        )
    ]
    assert (decls["n"].default, decls["n"].has_default, decls["n"].required) == (None, True, False)


def test_choices_are_read_by_the_type_and_a_wrong_one_is_an_error_at_that_choice() -> None:
    line = "  n: {type: int, choices: [1, 2, x]}"
    decls, diagnostics = declared(f"params:\n{line}\n")
    assert [said(d) for d in diagnostics] == [
        (
            "param-default",
            "the choice of parameter 'n' is not an int: 'x' is not a whole number",
            "write a whole number, e.g. 42",
            2,
            column(line, "x]"),
        )
    ]
    assert decls["n"].choices == (1, 2, None)


def test_a_default_outside_the_choices_is_an_error_at_the_default_naming_the_choices() -> None:
    line = "  c: {type: bool, default: true, choices: [false]}"
    second = "  d: {type: int, default: 3, choices: [1, 2]}"
    decls, diagnostics = declared(f"params:\n{line}\n{second}\n")
    assert [said(d) for d in diagnostics] == [
        (
            "param-default",
            "the default of parameter 'c' (true) is not one of its choices",
            "choose one of false",
            2,
            column(line, "true"),
        ),
        (
            "param-default",
            "the default of parameter 'd' (3) is not one of its choices",
            "choose one of 1, 2",
            3,
            column(second, "3"),
        ),
    ]
    assert (decls["d"].default, decls["d"].choices) == (3, (1, 2))


def test_a_default_that_is_a_list_is_an_error_at_it_saying_it_must_be_one_value() -> None:
    line = "  n: {type: int, default: [1, 2]}"
    decls, diagnostics = declared(f"params:\n{line}\n")
    assert [said(d) for d in diagnostics] == [
        ("param-default", "the default of parameter 'n' must be one value", None, 2, column(line, "[1"))
    ]
    assert decls["n"].default is None


def test_a_quoted_default_is_read_by_the_parameters_type() -> None:
    decls, diagnostics = declared("params:\n  n: {type: int, default: '5'}\n  s: {default: 'NO'}\n")
    assert diagnostics == []
    assert (decls["n"].default, decls["s"].default) == (5, "NO")


def test_required_true_holds_even_with_a_default_and_false_even_without_one() -> None:
    text = "params:\n  a: {type: int, default: 3, required: true}\n  b: {type: int, required: false}\n"
    text += "  c: {type: int, default: 3}\n  d: {type: int}\n"
    decls, diagnostics = declared(text)
    assert diagnostics == []
    assert {name: decl.required for name, decl in decls.items()} == {"a": True, "b": False, "c": False, "d": True}


def test_a_text_description_is_kept_and_any_other_dropped() -> None:
    decls, _ = declared("params:\n  ds: {type: date, description: the day to load}\n  n: {description: 5}\n")
    assert (decls["ds"].description, decls["n"].description) == ("the day to load", None)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("bool", "yes", "'yes' is neither true nor false"),
        ("float", "inf", "'inf' is not a finite number"),
        ("date", "2026-1-31", "'2026-1-31' is not written YYYY-MM-DD"),
        ("date", "2026-02-30", "'2026-02-30' is not a day of the calendar (day is out of range for month)"),
        ("timestamp", "2026-01-31", "'2026-01-31' is not written YYYY-MM-DDTHH:MM:SS"),
        (
            "timestamp",
            "2026-02-30T00:00:00",
            "'2026-02-30T00:00:00' is not a moment of the calendar (day is out of range for month)",
        ),
    ],
)
def test_a_value_not_of_its_type_says_why(kind: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_value(kind, text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", " 42 ", 42),
        ("bool", " True ", True),
        ("string", " a b ", " a b "),
        ("timestamp", "2026-01-31T06:00:00Z", "2026-01-31T06:00:00+00:00"),
    ],
)
def test_a_value_is_read_without_the_spaces_around_it_except_a_string(kind: str, text: str, value: object) -> None:
    assert parse_value(kind, text) == value


AT = Location(FILE, 2, 3)


@pytest.mark.parametrize(
    ("decl", "value"),
    [
        (ParamDecl("country", "string", AT, choices=("SE",)), "SE"),
        (ParamDecl("country", "string", AT, choices=("SE", "DK")), "SE"),
        # the first choice was not of its type (reported at its line): a value of the type stands for it
        (ParamDecl("n", "int", AT, choices=(None, 2)), 0),
        (ParamDecl("n", "int", AT), 0),
        (ParamDecl("ds", "date", AT), "1970-01-01"),
        (ParamDecl("region", "string", AT), "region"),
    ],
)
def test_a_parameter_without_a_value_stands_for_its_first_choice_else_a_value_of_its_type(
    decl: ParamDecl, value: object
) -> None:
    assert placeholder(decl) == value


@pytest.mark.parametrize(
    ("declared_names", "hint"),
    [
        (("ds", "country"), "its parameters: ds, country"),
        ((), "declare it under 'params:' in the pipeline"),
    ],
)
def test_a_param_naming_no_parameter_nor_a_close_one_lists_the_parameters_or_says_how_to_declare_one(
    declared_names: tuple[str, ...], hint: str
) -> None:
    decls = {name: ParamDecl(name, "string", AT) for name in declared_names}
    with pytest.raises(UsageError) as caught:
        resolve_params(decls, {"zzz": "1"}, require=False, pipeline="p")
    assert (caught.value.message, caught.value.hint) == ("--param zzz: p declares no parameter 'zzz'", hint)


def test_a_declaration_holding_a_reference_is_an_error_at_it_and_the_declarations_after_it_are_still_read() -> None:
    line = "  region: {default: '${env:REGION}'}"
    decls, diagnostics = declared(f"params:\n{line}\n  n: {{type: int}}\n")
    assert [said(d) for d in diagnostics] == [
        (
            "param-reference",
            "parameter 'region' is declared with a ${...} reference; a declaration is written as is",
            "give a literal default; set the value at run time with --param region=VALUE",
            2,
            column(line, "'${"),
        )
    ]
    assert decls == {"n": ParamDecl("n", "int", Location(FILE, 3, 3))}


DEFAULT_AT = Location(FILE, 2, 20)


@pytest.mark.parametrize(
    ("decl", "value", "source", "origin"),
    [
        (ParamDecl("n", "int", AT, 5, DEFAULT_AT, has_default=True, required=False), 5, "default", DEFAULT_AT),
        # the default was not an int (reported at its line): a placeholder stands for it
        (ParamDecl("n", "int", AT, None, DEFAULT_AT, has_default=True, required=False), 0, "placeholder", AT),
        (ParamDecl("ds", "date", AT), "1970-01-01", "placeholder", AT),
        (ParamDecl("n", "int", AT, required=False), None, "unset", AT),
    ],
    ids=["default", "default-not-of-its-type", "required", "optional"],
)
def test_a_parameter_not_given_takes_its_default_else_a_placeholder_else_nothing_each_set_at_its_line(
    decl: ParamDecl, value: object, source: str, origin: Location
) -> None:
    values = resolve_params({decl.name: decl}, {}, require=False, pipeline="p")
    assert values == {decl.name: ParamValue(decl, value, source, origin)}


def test_a_required_parameter_not_given_to_a_command_that_runs_says_where_it_is_declared_and_how_to_give_it() -> None:
    decls = {"ds": ParamDecl("ds", "date", AT)}
    with pytest.raises(UsageError) as caught:
        resolve_params(decls, {}, require=True, pipeline="p/pipeline.yaml")
    assert (caught.value.message, caught.value.hint) == (
        "parameter 'ds' of p/pipeline.yaml is required: it has no default and no --param ds=VALUE was given; "
        "it is declared at pipeline.yaml:2:3",
        "add --param ds=VALUE (YYYY-MM-DD, e.g. 2026-01-31)",
    )


def test_a_param_value_keeps_every_equals_sign_after_the_first_and_a_missing_one_is_refused_with_an_example() -> None:
    assert parse_assignments(["expr=a=b", " ds =2026-01-31", "ds=2026-02-01"]) == {"expr": "a=b", "ds": "2026-02-01"}
    for wrong in ("ds", "=x", " =x"):
        with pytest.raises(UsageError) as caught:
            parse_assignments([wrong])
        shown = (caught.value.message, caught.value.hint)
        assert shown == (f"--param expects NAME=VALUE, got '{wrong}'", "for example --param ds=2026-01-31")
