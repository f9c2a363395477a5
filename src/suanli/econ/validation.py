"""Turn a pydantic validation error on a YAML document into one DataError with file, line and field."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from suanli.catalog.load import FIELD_LINES_KEY, LINE_KEY, more_problems
from suanli.errors import DataError


def field_line(raw: Any, loc: tuple) -> int | None:
    """The line of the deepest key of ``loc`` that the raw (line-marked) document has."""
    node, line = raw, (raw.get(LINE_KEY) if isinstance(raw, dict) else None)
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = (node.get(FIELD_LINES_KEY) or {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if isinstance(node, dict) and node.get(LINE_KEY):
                line = node[LINE_KEY]
        else:
            break
    return line


def pydantic_error(exc: ValidationError, raw: Any, file: str, *, hint: str | None = None) -> DataError:
    """The first problem of ``exc`` as a DataError (file, line, dotted field, reason)."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    field = ".".join(str(p) for p in loc) or None
    more = more_problems(exc.errors(), lambda at: field_line(raw, at))
    got = err.get("input")
    got_s = "" if isinstance(got, dict) else f" (got {str(got)[:60]!r})" if got is not None else ""
    msg = err["msg"].removeprefix("Value error, ")
    return DataError(file, f"{msg}{got_s}{more}", field=field, line=field_line(raw, loc),
                     hint=hint or "see `suanli plan schema` for every field, its type and unit")
