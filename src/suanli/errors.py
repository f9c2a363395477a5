"""Errors that suanli raises for bad input, each saying what, where and how to fix."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class SuanliError(Exception):
    """Base class: an error a user can fix (the CLI exits with status 2)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class UnknownIdError(SuanliError, KeyError):
    """An id that is not in the catalog; carries close matches."""

    def __init__(self, kind: str, key: str, known: Iterable[str]) -> None:
        known = list(known)
        self.kind = kind
        self.key = key
        self.suggestions = suggest(key, known)
        hint = (
            "did you mean: " + ", ".join(self.suggestions)
            if self.suggestions
            else f"run `suanli {list_command(kind)}` to see the {len(known)} known ids"
        )
        super().__init__(f"unknown {kind} id {key!r}", hint=hint)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(kind=self.kind, id=self.key, suggestions=self.suggestions)
        return d


class ChoiceError(SuanliError, ValueError):
    """A value that is not one of the known choices (a dtype, a method); carries close matches."""

    def __init__(self, what: str, value: object, known: Iterable[str]) -> None:
        known = list(known)
        close = suggest(str(value), known)
        super().__init__(f"unknown {what} {value!r}",
                         hint=("did you mean: " + ", ".join(close) + "; " if close else "") + "one of " + ", ".join(known))


class DataError(SuanliError, ValueError):
    """A data file (catalog, rules, scenario, overlay) that fails validation."""

    def __init__(
        self,
        file: str,
        reason: str,
        *,
        record: str | None = None,
        field: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.file, self.record, self.field, self.line, self.reason = file, record, field, line, reason
        where = str(file) + (f":{line}" if line else "")
        if record is not None:
            where += f": record {record!r}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}", hint=hint)

    def to_dict(self) -> dict:
        d = super().to_dict()
        d.update(file=str(self.file), record=self.record, field=self.field, line=self.line, reason=self.reason)
        return d


def kind_command(kind: str) -> str:
    return {"accelerator": "catalog", "system": "catalog systems", "model": "models"}.get(kind, kind)


def list_command(kind: str) -> str:
    """The command that lists the known ids of ``kind``.

    >>> list_command("system"), list_command("model")
    ('catalog systems', 'models list')
    """
    return "catalog systems" if kind == "system" else f"{kind_command(kind)} list"


def suggest(key: str, known: Iterable[str], n: int = 5) -> list[str]:
    """Close matches for a mistyped id.

    >>> m = suggest("h2000", ["h200-sxm", "h20", "h100-sxm", "ascend-910c"])
    >>> "h200-sxm" in m and "h20" in m and "ascend-910c" not in m
    True
    """
    known = list(known)
    key_l = key.lower()
    scored = []
    for k in known:
        r = difflib.SequenceMatcher(None, key_l, k.lower()).ratio()
        if key_l in k.lower() or k.lower() in key_l:
            r += 0.3
        scored.append((r, k))
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [k for r, k in scored[:n] if r >= 0.5]
