"""Strings that match a regular expression, drawn from a seeded random source.

The base install must not need a test library (hypothesis' ``from_regex`` is a dev dependency,
``rstr`` is not locked), so this walks the parse tree of Python's own regex parser. It covers
what ``regex`` checks use in practice: literals, classes and ranges, ``\\d \\w \\s``, ``.``,
groups, alternation, repeats and anchors. Look-arounds, back-references and conditionals are
refused with a ValueError (the caller names the column and check).
"""

from __future__ import annotations

import importlib
import string
from typing import Any

from etl_cli.testing.cell_random import CellRandom

# the parser behind ``re`` (``re._parser`` since 3.11; the public ``sre_parse`` alias warns as deprecated)
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

#: an unbounded repeat (``*``, ``+``, ``{n,}``) adds at most this many items beyond its minimum
UNBOUNDED_EXTRA = 5
_PRINTABLE = string.ascii_letters + string.digits + " _-.,"
_CATEGORIES = {
    _c.CATEGORY_DIGIT: string.digits,
    _c.CATEGORY_NOT_DIGIT: string.ascii_letters + "_-",
    _c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    _c.CATEGORY_NOT_WORD: " -.,;:",
    _c.CATEGORY_SPACE: " ",
    _c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
}


#: a compiled pattern: ("chars", "abc") picks one character, ("seq", (...)) concatenates,
#: ("alt", (...)) picks one branch, ("rep", low, high, node) repeats
Node = tuple[Any, ...]


def regex_problem(pattern: str) -> str | None:
    """Why no string can be generated for ``pattern``; None when it can."""
    try:
        compile_pattern(pattern)
    except (ValueError, _c.error) as exc:  # re.error is a ValueError subclass on newer Pythons only
        return str(exc)
    return None


def compile_pattern(pattern: str) -> Node:
    """The plan :func:`sample` follows, parsed once per column rather than once per value (plain tuples: picklable)."""
    return _compile(_parser.parse(pattern))


def sample(node: Node, rng: CellRandom) -> str:
    """A string matching the compiled pattern in full (so also "somewhere", as ``regex`` checks test)."""
    out: list[str] = []
    _emit(node, rng, out)
    return "".join(out)


def _emit(node: Node, rng: CellRandom, out: list[str]) -> None:
    kind = node[0]
    if kind == "chars":
        out.append(rng.choice(node[1]))
    elif kind == "seq":
        for item in node[1]:
            _emit(item, rng, out)
    elif kind == "alt":
        _emit(rng.choice(node[1]), rng, out)
    else:
        for _ in range(rng.randint(node[1], node[2])):
            _emit(node[3], rng, out)


def _compile(tree: Any) -> Node:
    return ("seq", tuple(node for op, arg in tree if (node := _compile_item(op, arg)) is not None))


def _compile_item(op: Any, arg: Any) -> Node | None:
    if op in (_c.ASSERT, _c.ASSERT_NOT, _c.GROUPREF, _c.GROUPREF_EXISTS):
        raise ValueError(f"the generator cannot follow {str(op).lower()} in a pattern")
    if op == _c.LITERAL:
        return ("chars", chr(arg))
    if op == _c.NOT_LITERAL:
        return ("chars", "".join(ch for ch in _PRINTABLE if ord(ch) != arg))
    if op == _c.ANY:
        return ("chars", _PRINTABLE)
    if op == _c.IN:
        return ("chars", _choices(arg))
    if op == _c.SUBPATTERN:
        return _compile(arg[3])
    if op == _c.ATOMIC_GROUP:
        return _compile(arg)
    if op == _c.BRANCH:
        return ("alt", tuple(_compile(branch) for branch in arg[1]))
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        low, high, item = arg
        return ("rep", low, low + UNBOUNDED_EXTRA if high == _c.MAXREPEAT else high, _compile(item))
    # AT (anchors ^ $ \b): a generated string is the whole value, so they hold without output
    return None


def _choices(items: Any) -> str:
    if any(op == _c.NEGATE for op, _ in items):
        return _negated_choices(items)
    chars: list[str] = []
    for op, arg in items:
        if op == _c.LITERAL:
            chars.append(chr(arg))
        elif op == _c.RANGE:
            chars.extend(chr(code) for code in range(arg[0], arg[1] + 1))
        elif op == _c.CATEGORY:
            chars.extend(_CATEGORIES[arg])
    return "".join(dict.fromkeys(chars))


def _negated_choices(items: Any) -> str:
    excluded = _choices([item for item in items if item[0] != _c.NEGATE])
    allowed = "".join(ch for ch in _PRINTABLE if ch not in excluded)
    if not allowed:
        raise ValueError("the negated class excludes every character the generator uses")
    return allowed
