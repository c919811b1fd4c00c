"""A random source cheap enough to start once per generated cell.

Every cell of generated data gets its own stream, keyed by (seed, column, row index), so any
row can be made without the rows before it (the Spark path makes them in parallel, in any
split). ``random.Random`` costs about 10 µs to seed, which is most of the time at millions of
cells; a splitmix64 stream costs one multiplication chain per draw. Not for anything secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_T = TypeVar("_T")
#: ranges up to this size take one 64-bit draw (the modulo's bias stays below 2**-16)
_ONE_DRAW = 1 << 48


def mix64(value: int) -> int:
    """The splitmix64 finaliser: a 64-bit value whose bits all depend on every bit of ``value``."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def stream_key(*parts: object) -> int:
    """A 64-bit key for a named stream (seed, column name...), the same in every process and Python run."""
    text = "/".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class CellRandom:
    """The splitmix64 sequence from ``key``: the few draws a generator needs, named as in :mod:`random`."""

    __slots__ = ("_state",)

    def __init__(self, key: int):
        self._state = key & _MASK

    def _next(self) -> int:
        value = self._state = (self._state + _GOLDEN) & _MASK
        value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK  # mix64, inlined: the hottest call
        value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
        return value ^ (value >> 31)

    def random(self) -> float:
        """A float in [0, 1)."""
        return (self._next() >> 11) / (1 << 53)

    def randrange(self, size: int) -> int:
        """An integer in [0, size); ranges wider than 64 bits take several draws."""
        if size <= 0:
            raise ValueError("empty range")
        if size <= _ONE_DRAW:
            return self._next() % size
        bits, value = 0, 0
        while bits < size.bit_length() + 8:
            value = (value << 64) | self._next()
            bits += 64
        return value % size

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.randrange(high - low + 1)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def choice(self, values: Sequence[_T]) -> _T:
        return values[self.randrange(len(values))]
