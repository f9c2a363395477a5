"""YAML documents with line numbers, for data errors that name the file, line, record and field.

Every rule, scenario and vocabulary file of :mod:`suanli.policy` is read through
:func:`read_yaml_text`, and validated with :func:`validate_doc`, so a bad entry
becomes one :class:`~suanli.errors.DataError` however it was loaded (CLI, API or Python).

>>> doc = read_yaml_text("rules:\\n  - id: a\\n    side: us\\n", "example.yaml")
>>> doc.line(("rules", 0, "side"))
3
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from suanli.errors import DataError

PACKAGE = "suanli.policy"

# =============================================================================
# YAML with line numbers
# =============================================================================


@dataclass(frozen=True)
class YamlDoc:
    """Parsed YAML plus its node tree (for line numbers in errors)."""

    file: str
    data: Any
    node: Any

    def line(self, loc: Sequence[Any]) -> int | None:
        """1-based line of the deepest node that ``loc`` reaches (pydantic error locations)."""
        cur = self.node
        if cur is None:
            return None
        line = cur.start_mark.line + 1
        for key in loc:
            if isinstance(cur, yaml.MappingNode):
                nxt = None
                for k, v in cur.value:
                    if str(k.value) == str(key):
                        nxt, line = v, k.start_mark.line + 1
                        break
                if nxt is None:
                    continue  # union tags and the like
                cur = nxt
            elif isinstance(cur, yaml.SequenceNode):
                if isinstance(key, int) and 0 <= key < len(cur.value):
                    cur = cur.value[key]
                    line = cur.start_mark.line + 1
                else:
                    continue
            else:
                break
        return line


def read_yaml_text(text: str, file: str) -> YamlDoc:
    """Parse YAML text; syntax errors become :class:`DataError` with the line."""
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when available
        node = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(file, f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                        line=mark.line + 1 if mark else None,
                        hint="check indentation and quoting near that line") from None
    return YamlDoc(file, data, node)


def read_yaml_file(path: str | Path) -> YamlDoc:
    from suanli.catalog.load import read_text

    return read_yaml_text(read_text(path, hint="check the path"), str(path))


def _packaged(name: str) -> YamlDoc:
    ref = resources.files(PACKAGE).joinpath("data", name)
    return read_yaml_text(ref.read_text(encoding="utf-8"), f"suanli/policy/data/{name}")


def validate_doc(model: type[BaseModel], doc: YamlDoc, *, list_key: str | None = None) -> Any:
    """Validate a whole document against ``model``; the first error becomes a DataError."""
    if not isinstance(doc.data, dict):
        raise DataError(doc.file, "must be a YAML mapping at the top level",
                        hint="see the packaged files under suanli/policy/data for the format")
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise _data_error(exc, doc, list_key=list_key) from None


def _data_error(exc: ValidationError, doc: YamlDoc, *, list_key: str | None = None,
                prefix: Sequence[Any] = (), record: str | None = None) -> DataError:
    errs = exc.errors()
    # Prefer the most specific message: skip union-branch noise when a deeper one exists.
    err = max(errs, key=lambda e: len(e.get("loc", ())))
    loc = tuple(prefix) + tuple(err.get("loc", ()))
    rec = record
    field_loc = list(loc)
    if rec is None and len(loc) >= 2 and isinstance(doc.data, dict):
        top = doc.data.get(loc[0])
        if isinstance(top, list) and isinstance(loc[1], int) and loc[1] < len(top) and isinstance(top[loc[1]], dict):
            rec = str(top[loc[1]].get("id", f"#{loc[1] + 1}"))
            field_loc = list(loc[2:])
        elif isinstance(top, dict) and isinstance(loc[1], str):
            rec = loc[1]
            field_loc = list(loc[2:])
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    got = err.get("input")
    if err.get("type") not in ("missing",) and not isinstance(got, (dict, list)) and got is not None:
        msg += f" (got {got!r})"
    hint = None
    if err.get("type") == "extra_forbidden":
        hint = "remove the key or fix its spelling; see the packaged data files for the allowed keys"
    elif err.get("type") == "literal_error":
        hint = "use one of the values listed"
    return DataError(doc.file, msg, record=rec, field=".".join(str(x) for x in field_loc) or None,
                     line=doc.line(loc), hint=hint)
