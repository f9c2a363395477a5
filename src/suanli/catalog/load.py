"""Read YAML data files into validated records, with file/line/field in every error.

This is the one place in the catalog that does I/O. Files are YAML mappings of
``kind: [records]``; each record is validated by its pydantic schema and a
failure becomes a :class:`~suanli.errors.DataError` naming the file, the line,
the record id and the field.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from suanli.errors import DataError

LINE_KEY = "__line__"
FIELD_LINES_KEY = "__field_lines__"  # line of each key of a mapping
T = TypeVar("T", bound=BaseModel)


@functools.cache
def _line_loader() -> type:
    """A safe loader that records the 1-based line of every mapping (PyYAML loads on the first parse:
    a catalog read from the cache never needs it)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when the wheel has it: ~5x faster

    class _LineLoader(base):  # type: ignore[misc,valid-type]
        pass

    def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
        mapping = loader.construct_mapping(node, deep=True)
        mapping[LINE_KEY] = node.start_mark.line + 1
        mapping[FIELD_LINES_KEY] = {k.value: k.start_mark.line + 1 for k, _ in node.value
                                    if isinstance(k, yaml.ScalarNode)}
        return mapping

    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    return _LineLoader


def strip_lines(obj: Any) -> Any:
    """Remove the line markers the loader adds (recursively)."""
    if isinstance(obj, dict):
        return {k: strip_lines(v) for k, v in obj.items() if k not in (LINE_KEY, FIELD_LINES_KEY)}
    if isinstance(obj, list):
        return [strip_lines(v) for v in obj]
    return obj


def read_text(path: str | Path, *, hint: str | None = None) -> str:
    """The text of a user's file (UTF-8, a byte-order mark allowed); every failure is a :class:`DataError`.

    The one reader for files users hand to suanli (overlays, scenarios,
    parameters, measurement CSVs): a missing file, a folder, an unreadable
    file or bytes that are not UTF-8 give one line naming the file (and the
    line of the first bad byte), never a traceback.
    """
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found", hint=hint or "check the path") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a file", hint=hint or "give the path of a file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read: {exc.strerror or exc}", hint=hint or "check the path") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", line=line,
                        hint="save the file as UTF-8 (a binary or a file in another encoding cannot be read)") from None


def read_yaml(path: str | Path, text: str | None = None) -> Any:
    """Parse a YAML file, keeping line numbers; unreadable files and syntax errors become DataError."""
    path = str(path)
    if text is None:
        text = read_text(path, hint="check the path given to --catalog or SUANLI_CATALOG")
    import yaml

    try:
        return yaml.load(text, Loader=_line_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise DataError(path, f"not valid YAML: {getattr(exc, 'problem', exc)}", line=line,
                        hint="check indentation and quoting near that line") from None


def packaged_text(package: str, name: str) -> tuple[str, str]:
    """(display path, text) of a data file shipped inside the package."""
    from importlib import resources  # loaded on the first read: a catalog from the cache reads no data file

    ref = resources.files(package).joinpath("data", name)
    return f"{package.replace('.', '/')}/data/{name}", ref.read_text(encoding="utf-8")


def validate_records(
    schema: type[T], raw: Iterable[Any], *, file: str, kind: str, seen: dict[str, str] | None = None
) -> list[T]:
    """Validate raw records against ``schema``; ids must be unique within ``seen``."""
    out: list[T] = []
    seen = {} if seen is None else seen
    if not isinstance(raw, list):
        raise DataError(file, f"'{kind}' must be a list of records", hint=f"write `{kind}:` then `- id: ...` items")
    for item in raw:
        line = item.get(LINE_KEY) if isinstance(item, dict) else None
        if not isinstance(item, dict):
            raise DataError(file, f"each {kind} record must be a mapping (got {type(item).__name__})", line=line)
        rid = item.get("id")
        try:
            rec = schema.model_validate(strip_lines(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or None
            field_line = _field_line(item, err["loc"]) or line
            more = more_problems(exc.errors(), lambda loc: _field_line(item, loc) or line)
            msg = err["msg"].removeprefix("Value error, ")
            got = "" if "(got " in msg else f" (got {_short(err.get('input'))})"
            raise DataError(
                file, f"{msg}{got}{more}", record=rid, field=loc,
                line=field_line, hint=_hint(schema, err),
            ) from None
        if rec.id in seen:
            raise DataError(file, f"duplicate id (first defined in {seen[rec.id]})", record=rec.id, line=line,
                            hint="ids must be unique; to change a record use an overlay file")
        seen[rec.id] = file
        out.append(rec)
    return out


def more_problems(errors: Iterable[Any], line_of: Callable[[tuple], int | None], shown: int = 4) -> str:
    """The validation problems after the first, each with its field and line, for one message.

    >>> errs = [{"loc": ("a",), "msg": "Field required"}, {"loc": ("b", 0), "msg": "Value error, too big"}]
    >>> more_problems(errs, lambda loc: 7)
    " (also field 'b.0', line 7: too big)"
    """
    rest = list(errors[1:])
    if not rest:
        return ""
    parts = []
    for e in rest[:shown]:
        ln = line_of(tuple(e["loc"]))
        parts.append(f"field {'.'.join(str(p) for p in e['loc']) or '(document)'!r}" + (f", line {ln}" if ln else "")
                     + ": " + e["msg"].removeprefix("Value error, "))
    tail = f"; and {len(rest) - shown} more" if len(rest) > shown else ""
    return f" (also {'; '.join(parts)}{tail})"


def _field_line(item: dict, loc: tuple) -> int | None:
    node: Any = item
    line = None
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = (node.get(FIELD_LINES_KEY) or {}).get(part, line)
            node = node[part]
            if isinstance(node, dict) and LINE_KEY in node:
                line = node[LINE_KEY]
        else:
            break
    return line


def _short(v: Any) -> str:
    if isinstance(v, dict):
        v = strip_lines(v)
    s = repr(v)
    return s if len(s) < 80 else s[:77] + "..."


def _hint(schema: type[BaseModel], err: dict) -> str | None:
    t = err.get("type", "")
    field = str(err["loc"][0]) if err["loc"] else ""
    if t == "extra_forbidden":
        names = ", ".join(sorted(schema.model_fields))
        return f"unknown field {field!r}; known fields: {names}"
    if t == "missing":
        return f"add the required field {field!r}"
    if field in schema.model_fields and schema.model_fields[field].description:
        return schema.model_fields[field].description
    return None
