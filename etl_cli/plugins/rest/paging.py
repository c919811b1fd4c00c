"""Records out of JSON bodies, page after page: dotted paths, the pagination styles, parallel pages.

**Dotted paths** (``records_path``, ``total_path``, ``cursor_path``, ``next_url_path`` and the
incremental ``cursor_path``) name a value in a JSON document: keys joined by dots
(``data.items``), a whole number indexes a list (``results.0.id``); ``$`` or an empty path is the
document itself; a key that contains a dot is written in brackets with quotes
(``meta["next.page"]``). No wildcards or filters: a path names one value.

**Pagination** (``paginate.type``), after the first request (the ``url`` with ``params``):

================  ===========================================================================
``none``          one request
``page_number``   ``page_param`` (``page``) = ``start`` (1), 2, ...; ``page_size`` sent as ``size_param``
                  when set. Stops after the last page of ``total_path`` (a page count) or
                  ``total_items_path`` (a record count, with ``page_size``), else at the first page with
                  no records (or fewer than ``page_size``).
``offset``        ``offset_param`` (``offset``) = 0, limit, 2·limit, ... and ``limit_param`` (``limit``)
                  = ``limit``. Stops at ``total_path`` (a record count), else at a page with fewer than
                  ``limit`` records.
``cursor``        the value at ``cursor_path`` in each body is sent as ``cursor_param`` (``cursor``) in the
                  next request; stops when it is missing, null or empty.
``link_header``   follows the ``Link: <...>; rel="next"`` header (RFC 8288) until there is none.
``next_url``      follows the URL at ``next_url_path`` in the body (relative ones against the current
                  URL) until it is missing, null or empty.
================  ===========================================================================

Every style also stops at ``max_pages``. With ``page_number`` or ``offset`` and a total in the
first body, the remaining pages are known up front and ``parallelism`` of them are fetched at
once (the host's rate limit still paces them); records keep the pages' order.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from etl_cli.errors import RunError
from etl_cli.plugins.api import OptionProblem
from etl_cli.plugins.rest.client import Params, Response, safe_url

PAGINATION_TYPES = ("none", "page_number", "offset", "cursor", "link_header", "next_url")
_KEYS: dict[str, tuple[str, ...]] = {
    "none": (),
    "page_number": ("page_param", "start", "page_size", "size_param", "total_path", "total_items_path"),
    "offset": ("offset_param", "limit_param", "limit", "total_path"),
    "cursor": ("cursor_path", "cursor_param"),
    "link_header": (),
    "next_url": ("next_url_path",),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "offset": ("limit",),
    "cursor": ("cursor_path",),
    "next_url": ("next_url_path",),
}
_NAME = {"type": "string", "minLength": 1}
_PATH = {"type": "string", "minLength": 1}

PAGINATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "description": "How to get the next page (docs/connectors/rest.md). Default: one request.",
    "properties": {
        "type": {"enum": list(PAGINATION_TYPES), "description": "The pagination style."},
        "page_param": {**_NAME, "default": "page", "description": "page_number: the page number's query parameter."},
        "start": {"type": "integer", "minimum": 0, "default": 1, "description": "page_number: the first page."},
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "description": "page_number: records per page, sent as size_param.",
        },
        "size_param": {**_NAME, "default": "per_page", "description": "page_number: the page size's query parameter."},
        "total_path": {
            **_PATH,
            "description": "Dotted path in the first body to the page count (page_number) or record count (offset).",
        },
        "total_items_path": {
            **_PATH,
            "description": "page_number: dotted path to the record count (needs page_size); instead of total_path.",
        },
        "offset_param": {**_NAME, "default": "offset", "description": "offset: the offset's query parameter."},
        "limit_param": {**_NAME, "default": "limit", "description": "offset: the page size's query parameter."},
        "limit": {"type": "integer", "minimum": 1, "description": "offset: records per page."},
        "cursor_path": {**_PATH, "description": "cursor: dotted path in the body to the next page's cursor."},
        "cursor_param": {**_NAME, "default": "cursor", "description": "cursor: the query parameter that sends it."},
        "next_url_path": {**_PATH, "description": "next_url: dotted path in the body to the next page's URL."},
    },
}

_SEGMENT = re.compile(r"""\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\]|([^.\[\]]+)""")


def parse_path(path: str) -> tuple[str, ...]:
    """The segments of a dotted path; a ValueError for one that is not written by the rules above."""
    text = path.strip()
    if text in ("", "$"):
        return ()
    text = text.removeprefix("$.")
    segments: list[str] = []
    position = 0
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise ValueError(f"{path!r} is not a dotted path (at character {position + 1})")
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        segments.append(quoted if quoted is not None else match.group(3))
        position = match.end()
        if position < len(text):
            if text[position] == ".":
                position += 1
                if position == len(text):
                    raise ValueError(f"{path!r} ends with a dot")
            elif text[position] != "[":
                raise ValueError(f"{path!r} is not a dotted path (at character {position + 1})")
    return tuple(segments)


_MISSING = object()


def select(document: Any, path: str | tuple[str, ...], default: Any = None) -> Any:
    """The value at ``path`` in ``document``, or ``default`` where the path leads nowhere."""
    segments = parse_path(path) if isinstance(path, str) else path
    current = document
    for segment in segments:
        if isinstance(current, Mapping):
            current = current.get(segment, _MISSING)
        elif isinstance(current, list) and re.fullmatch(r"-?[0-9]+", segment):
            index = int(segment)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            current = _MISSING
        if current is _MISSING:
            return default
    return current


def records_of(document: Any, path: str | None, url: str) -> list[dict[str, Any]]:
    """The records a body holds at ``path``: a list of objects (or one object, one record; null, none)."""
    found = document if path is None else select(document, path)
    if found is None:
        if path is not None and select(document, path, _MISSING) is _MISSING:
            raise RunError(
                f"the body of {safe_url(url)} has nothing at records_path {path!r}",
                hint="records_path is a dotted path from the top of the JSON body to the list of records",
            )
        return []
    if isinstance(found, Mapping):
        return [dict(found)]
    if isinstance(found, list):
        bad = next((item for item in found if not isinstance(item, Mapping)), None)
        if bad is not None:
            raise RunError(
                f"the records of {safe_url(url)} must be JSON objects, found {type(bad).__name__}: {str(bad)[:80]}"
            )
        return [dict(item) for item in found]
    where = f"at records_path {path!r}" if path else "(set records_path to the list of records)"
    raise RunError(f"the body of {safe_url(url)} holds a {type(found).__name__} {where}, not a list of records")


def pagination_problems(block: Any) -> list[OptionProblem]:
    """Keys the chosen ``paginate.type`` needs or does not take; paths that are not dotted paths."""
    if not isinstance(block, Mapping) or block.get("type") not in _KEYS:
        return []
    kind = str(block["type"])
    problems = [
        OptionProblem(("paginate",), f"pagination {kind} needs {key}")
        for key in _REQUIRED.get(kind, ())
        if key not in block
    ]
    problems += [
        OptionProblem(("paginate", key), f"{key} does not apply to pagination {kind}")
        for key in block
        if key != "type" and key not in _KEYS[kind]
    ]
    if kind == "page_number" and "total_items_path" in block:
        if "total_path" in block:
            problems.append(OptionProblem(("paginate", "total_items_path"), "give total_path or total_items_path"))
        if "page_size" not in block:
            problems.append(OptionProblem(("paginate", "total_items_path"), "total_items_path needs page_size"))
    for key in ("total_path", "total_items_path", "cursor_path", "next_url_path"):
        problems += path_problems(block.get(key), ("paginate", key))
    return problems


def path_problems(value: Any, where: tuple[str | int, ...]) -> list[OptionProblem]:
    if not isinstance(value, str):
        return []
    try:
        parse_path(value)
    except ValueError as exc:
        return [OptionProblem(where, str(exc), hint='write keys joined by dots: data.items, meta["next.page"]')]
    return []


@dataclass(frozen=True)
class Page:
    """One page's records, with the response they came in."""

    number: int
    records: list[dict[str, Any]]
    response: Response


Fetch = Callable[[str, Params], Response]

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)


def next_link(header: str | None) -> str | None:
    """The target of the ``rel="next"`` link of a ``Link`` header (RFC 8288), or None."""
    if not header:
        return None
    for match in _LINK.finditer(header):
        for rel in _REL.finditer(match.group(2) or ""):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def _count(value: Any, what: str, url: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RunError(f"the body of {safe_url(url)} holds {value!r} at {what}, not a whole number") from None
    return max(0, number)


class Pager:
    """The pages of one listing, as the ``paginate:`` block says to walk them."""

    def __init__(
        self,
        paginate: Mapping[str, Any] | None,
        records_path: str | None,
        *,
        max_pages: int | None = None,
        parallelism: int = 1,
    ):
        self.options = dict(paginate or {"type": "none"})
        self.kind = str(self.options.get("type", "none"))
        self.records_path = records_path
        self.max_pages = max_pages
        self.parallelism = max(1, parallelism)

    def pages(self, fetch: Fetch, url: str, params: Params = ()) -> Iterator[Page]:
        walk = getattr(self, f"_{self.kind}")
        for count, page in enumerate(walk(fetch, url, list(params)), start=1):
            yield page
            if self.max_pages is not None and count >= self.max_pages:
                return

    def _page(self, number: int, response: Response) -> Page:
        return Page(number, records_of(response.json(), self.records_path, response.url), response)

    def _within(self, pages: int) -> int:
        return pages if self.max_pages is None else min(pages, self.max_pages)

    # ------------------------------------------------------------------ the styles

    def _none(self, fetch: Fetch, url: str, params: list[tuple[str, str]]) -> Iterator[Page]:
        yield self._page(1, fetch(url, params))

    def _page_number(self, fetch: Fetch, url: str, params: list[tuple[str, str]]) -> Iterator[Page]:
        o = self.options
        start, size = int(o.get("start", 1)), o.get("page_size")
        page_param = str(o.get("page_param", "page"))
        base = [*params, (str(o.get("size_param", "per_page")), str(size))] if size else params

        def request(number: int) -> Page:
            return self._page(number, fetch(url, [*base, (page_param, str(number))]))

        first = request(start)
        yield first
        pages = self._total_pages(first)
        if pages is not None:
            yield from self._parallel(request, range(start + 1, start + self._within(pages)))
            return
        page, number = first, start
        while page.records and not (size and len(page.records) < int(size)):
            number += 1
            page = request(number)
            yield page

    def _total_pages(self, first: Page) -> int | None:
        o = self.options
        body = first.response.json()
        if "total_path" in o:
            return _count(select(body, o["total_path"]), f"total_path {o['total_path']!r}", first.response.url)
        if "total_items_path" in o:
            items = _count(select(body, o["total_items_path"]), "total_items_path", first.response.url)
            return -(-items // int(o["page_size"]))
        return None

    def _offset(self, fetch: Fetch, url: str, params: list[tuple[str, str]]) -> Iterator[Page]:
        o = self.options
        limit = int(o["limit"])
        offset_param, limit_param = str(o.get("offset_param", "offset")), str(o.get("limit_param", "limit"))

        def request(number: int) -> Page:
            query = [*params, (offset_param, str(number * limit)), (limit_param, str(limit))]
            return self._page(number, fetch(url, query))

        first = request(0)
        yield first
        if "total_path" in o:
            total = _count(select(first.response.json(), o["total_path"]), "total_path", first.response.url)
            yield from self._parallel(request, range(1, self._within(-(-total // limit))))
            return
        page, number = first, 0
        while len(page.records) >= limit:
            number += 1
            page = request(number)
            yield page

    def _cursor(self, fetch: Fetch, url: str, params: list[tuple[str, str]]) -> Iterator[Page]:
        o = self.options
        param = str(o.get("cursor_param", "cursor"))
        page, number = self._page(1, fetch(url, params)), 1
        yield page
        while (cursor := select(page.response.json(), o["cursor_path"])) not in (None, ""):
            number += 1
            page = self._page(number, fetch(url, [*params, (param, str(cursor))]))
            yield page

    def _link_header(self, fetch: Fetch, url: str, params: list[tuple[str, str]]) -> Iterator[Page]:
        page, number = self._page(1, fetch(url, params)), 1
        yield page
        while (target := next_link(page.response.header("link"))) is not None:
            number += 1
            page = self._page(number, fetch(urllib.parse.urljoin(page.response.url, target), []))
            yield page

    def _next_url(self, fetch: Fetch, url: str, params: list[tuple[str, str]]) -> Iterator[Page]:
        path = self.options["next_url_path"]
        page, number = self._page(1, fetch(url, params)), 1
        yield page
        while (target := select(page.response.json(), path)) not in (None, ""):
            number += 1
            page = self._page(number, fetch(urllib.parse.urljoin(page.response.url, str(target)), []))
            yield page

    def _parallel(self, request: Callable[[int], Page], numbers: range) -> Iterator[Page]:
        """The pages ``numbers``, ``parallelism`` at a time, in order."""
        if self.parallelism == 1 or len(numbers) <= 1:
            for number in numbers:
                yield request(number)
            return
        with ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="etl-rest") as pool:
            # at most a window of pages in flight, so a failure stops the listing soon and memory stays bounded
            window = self.parallelism * 2
            pending = [pool.submit(request, n) for n in numbers[:window]]
            following = iter(numbers[window:])
            try:
                while pending:
                    page = pending.pop(0).result()
                    if (upcoming := next(following, None)) is not None:
                        pending.append(pool.submit(request, upcoming))
                    yield page
            finally:
                for future in pending:
                    future.cancel()
