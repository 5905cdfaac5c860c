"""The input boundary (ARCHITECTURE §3): every text from outside is checked before it reaches
the database or a JSON column, and every integer from outside goes through one ASCII-only
parser with explicit bounds.

Why: PostgreSQL cannot store NUL in text, and a ``\\u0000`` kept inside a JSON column breaks
every ``->>`` over its table; a lone surrogate cannot be encoded for the database at all;
``"²".isdigit()`` is True yet ``int("²")`` fails; and 2**31 overflows an ``integer`` column.

The rules:

- C0 control characters (U+0000 to U+001F) and DEL are refused everywhere, except tab, line
  feed and carriage return in a form field that allows multi-line text (a view declares those
  fields with ``@multiline("description", "quote-*")``; browsers send textarea line breaks as
  CR LF). Lone surrogates (U+D800 to U+DFFF) are refused everywhere.
- ``install_input_boundary(app)`` checks, before any view runs: the URL's path values, the query
  string (names and values), form fields (names and values, multipart too; uploaded files are
  checked by their importers), cookies and request headers. A refusal answers 400 with a
  message naming where the bad character was; nothing runs, nothing is stored.
- JSON bodies are checked by the view that reads them, with ``check_json`` (strings, keys,
  nesting depth).
- Integers: ``parse_int`` (raises) and ``optional_int`` (falls back), ASCII digits only,
  bounded; ``DB_INT_MAX`` is PostgreSQL ``integer``'s largest value. The URL converter
  ``int`` is replaced by ``BoundedInt`` with the same rules, so ``/x/2147483648`` is a 404.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter

log = logging.getLogger(__name__)

DB_INT_MAX = 2**31 - 1  # PostgreSQL integer; every id and count column is one
MAX_INT_DIGITS = 10
MAX_JSON_DEPTH = 32
_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f]")
_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ASCII_INT = re.compile(r"[+-]?[0-9]+")
# Headers may legitimately carry a tab (obs-fold leftovers); nothing else below U+0020.
_HEADER_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class InputError(ValueError):
    """Text or a number from outside that cannot be accepted. ``str(error)`` is a message
    for the person who sent it; ``where`` names the field, parameter, cookie or header."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


def bad_character(text: str, multiline: bool = False) -> str | None:
    """A description of the first refused character in ``text`` ("a control character
    (U+0000)", "a lone surrogate (U+D800)"), or None when ``text`` is acceptable."""
    match = (_MULTI_LINE if multiline else _SINGLE_LINE).search(text)
    if match:
        return f"a control character (U+{ord(match.group()):04X})"
    match = _SURROGATE.search(text)
    if match:
        return f"a lone surrogate (U+{ord(match.group()):04X})"
    return None


def check_text(text: str, where: str, multiline: bool = False) -> str:
    """``text`` unchanged when acceptable; raises InputError naming ``where`` otherwise."""
    found = bad_character(text, multiline)
    if found:
        raise InputError(f"{where} contains {found}, which we can't accept. "
                         "Please remove it and try again.", where)
    return text


def check_json(value, where: str = "the request", depth: int = 0):
    """Walk a decoded JSON value: every string and key must pass ``check_text`` (single line),
    and nesting may not exceed MAX_JSON_DEPTH. Returns ``value``; raises InputError."""
    if depth > MAX_JSON_DEPTH:
        raise InputError(f"{where} is nested too deeply.", where)
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key), where)
            check_json(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, where, depth + 1)
    return value


def parse_int(raw, low: int = 0, high: int = DB_INT_MAX, what: str = "number") -> int:
    """An integer from outside: ASCII digits with an optional sign, surrounding spaces
    ignored, ``low <= n <= high``. An int passes through the same bounds (bool does not).
    Raises InputError("<what> must be a whole number from <low> to <high>.")."""
    message = f"The {what} must be a whole number from {low:,} to {high:,}."
    if isinstance(raw, bool):
        raise InputError(message, what)
    if isinstance(raw, int):
        value = raw
    else:
        text = (raw or "").strip() if isinstance(raw, str) else ""
        if not _ASCII_INT.fullmatch(text) or len(text.lstrip("+-")) > MAX_INT_DIGITS:
            raise InputError(message, what)
        value = int(text)
    if not low <= value <= high:
        raise InputError(message, what)
    return value


def optional_int(raw, low: int = 0, high: int = DB_INT_MAX, default: int | None = None) -> int | None:
    """Like ``parse_int``, but anything unreadable or out of bounds gives ``default`` (for
    lenient query-string filters such as ``?page=``)."""
    try:
        return parse_int(raw, low, high)
    except InputError:
        return default


def parse_ids(raw: Iterable, limit: int = 1000) -> list[int]:
    """Distinct positive ids (1..DB_INT_MAX) from a list of texts, in order, ignoring the
    unreadable ones; at most ``limit``."""
    seen: dict[int, None] = {}
    for item in raw:
        value = optional_int(item, 1)
        if value is not None:
            seen.setdefault(value)
        if len(seen) >= limit:
            break
    return list(seen)


class BoundedInt(IntegerConverter):
    """The ``int`` URL converter, ASCII digits only and at most DB_INT_MAX (Werkzeug's
    accepts any Unicode decimal digit and has no upper bound)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=DB_INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


def multiline(*fields: str) -> Callable:
    """Declare the form fields of a view that may hold several lines (``fnmatch`` patterns,
    e.g. ``"note-*"``): in them tab, LF and CR pass the boundary."""

    def mark(view):
        view.multiline_fields = tuple(fields)
        return view

    return mark


def _multiline_fields() -> tuple[str, ...]:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "multiline_fields", ())


def check_request() -> None:
    """Check the current request's path values, query string, form, cookies and headers;
    raises InputError at the first refused character (see the module docstring)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str):
            check_text(value, "The address")
    for name, value in request.args.items(multi=True):
        check_text(name, "A query parameter's name")
        check_text(value, f"The parameter “{name[:40]}”")
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        allowed = _multiline_fields()
        for name, value in request.form.items(multi=True):
            check_text(name, "A form field's name")
            multi = any(fnmatchcase(name, pattern) for pattern in allowed)
            check_text(value, f"The field “{name[:40]}”", multiline=multi)
    for name, value in request.cookies.items():
        check_text(name, "A cookie's name")
        check_text(value, "A cookie")
    for name, value in request.headers.items():
        if _HEADER_BAD.search(value) or _SURROGATE.search(value):
            raise InputError(f"The header {name[:40]} contains a control character.", name)


def install_input_boundary(app: Flask, on_refusal: Callable[[InputError], object]) -> None:
    """Replace the ``int`` URL converter (must run before any blueprint is registered) and
    check every request before its view; ``on_refusal(error)`` builds the 400 answer."""
    app.url_map.converters["int"] = BoundedInt

    @app.before_request
    def _boundary():
        try:
            check_request()
        except InputError as error:
            log.warning("refused input on %s %s: %s", request.method, request.path[:200], error.where)
            return on_refusal(error)
        return None
