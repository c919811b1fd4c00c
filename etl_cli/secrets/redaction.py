"""One redactor: every resolved secret value is masked wherever text leaves the process.

It masks registered values in plain strings, in log records (:class:`RedactingFilter`)
and in exceptions (:meth:`Redactor.scrub_exception`, :meth:`Redactor.guard`). Besides
the value itself it masks the forms a value takes when embedded elsewhere: URL-encoded
(JDBC and HTTP URLs), JSON-escaped, and ``repr``-quoted.

Values shorter than :data:`MIN_MASKED_LENGTH` (6 characters) are not masked. Masking
is by substring, so a two-letter value would turn every word holding those letters
into noise ("table" → "t********le") and the gaps would show where its letters are:
little is hidden and much destroyed. Six characters rarely occur by chance inside
ordinary messages, while real credentials are longer (password policies ask for 8 or
more, keys and tokens have 16 and up); what is shorter is mostly an identifier kept
next to a credential (a user name, a port). The resolver warns once per run about each
such secret, naming its reference.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import quote, quote_plus

MASK = "********"
#: values shorter than this are not masked (see above)
MIN_MASKED_LENGTH = 6


class Redactor:
    """Holds the values to hide and masks them in text, log records and exceptions."""

    def __init__(self, mask: str = MASK) -> None:
        self.mask_text = mask
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, value: str) -> bool:
        """Mask ``value`` (and its encoded forms) from now on; False, masking nothing, when it is too short."""
        if not isinstance(value, str) or len(value) < MIN_MASKED_LENGTH:
            return False
        forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], repr(value)[1:-1]}
        with self._lock:
            before = len(self._values)
            self._values |= {f for f in forms if f}
            if len(self._values) != before:
                self._pattern = None
        return True

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __len__(self) -> int:
        return len(self._values)

    def mask(self, text: str) -> str:
        """``text`` with every registered value replaced by the mask."""
        pattern = self._compiled()
        if pattern is None or not isinstance(text, str):
            return text
        return pattern.sub(self.mask_text, text)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first, so a value containing another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern

    def scrub_exception(self, exc: BaseException) -> BaseException:
        """Mask values in ``exc``'s message, ``hint`` and notes, and in its causes, in place."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self._scrub_one(current)
            current = current.__cause__ or current.__context__
        return exc

    def _scrub_one(self, exc: BaseException) -> None:
        with suppress(AttributeError, TypeError):
            exc.args = tuple(self.mask(a) if isinstance(a, str) else a for a in exc.args)
        for attribute in ("message", "hint", "detail", "msg", "strerror", "filename"):
            value = getattr(exc, attribute, None)
            if isinstance(value, str):
                try:
                    setattr(exc, attribute, self.mask(value))
                except (AttributeError, TypeError):
                    continue
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [self.mask(n) if isinstance(n, str) else n for n in notes]

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Scrub any exception leaving the block, so no caller ever sees a value in it."""
        try:
            yield
        except BaseException as exc:
            self.scrub_exception(exc)
            raise

    def filter(self) -> RedactingFilter:
        """A logging filter that masks this redactor's values; add it to a handler."""
        return RedactingFilter(self)

    def install(self, logger: logging.Logger | None = None) -> RedactingFilter:
        """Add a masking filter to every handler of ``logger`` (default: the root logger)."""
        redacting = self.filter()
        for handler in (logger or logging.getLogger()).handlers:
            handler.addFilter(redacting)
        return redacting


class RedactingFilter(logging.Filter):
    """Masks secret values in a record's message, arguments, traceback and stack.

    A filter on a handler sees every record that handler emits, from any logger.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: mask the raw parts
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redactor.mask(message), None
        if record.exc_info and record.exc_info[1] is not None:
            self.redactor.scrub_exception(record.exc_info[1])
            record.exc_text = self.redactor.mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.redactor.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.mask(record.stack_info)
        return True
