"""Corrections to measurement records that their own sources contradict (``data/record_errata.yaml``).

A published table can carry a wrong cell: a run recorded as FP8 whose log says NVFP4.
Such a record is not edited in the shared file; an erratum here names it (id and the
start of its ``source``), the values it holds (``was``) and the right ones (``now``),
with the evidence. :func:`correct` applies the errata to records as they are read
(:func:`suanli.perf.validate.records_from_text`, the one reader of record files), and
only to a record that matches all three, so a record fixed upstream, another file's
row with the same id or a row with other values is left alone. The corrected record
says so in its ``notes``; :func:`in_force` lists what was corrected for the reports.

>>> rows = [{"id": "MLT-018", "source": "mlcommons/training_results_v5.1:Nebius/results/nebius_b300_n1/"
...          "llama2_70b_lora/result_*.txt", "weight_dtype": "fp8", "act_dtype": "fp8", "notes": "x"}]
>>> [e.id for e in correct(rows)], rows[0]["act_dtype"], rows[0]["notes"].startswith("x; suanli erratum")
(['MLT-018'], 'fp4', True)
>>> correct(rows)  # already corrected: nothing to do
[]
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from suanli.errors import DataError

#: How a corrected record's notes begin the sentence that says so (and how the reports find it).
NOTE_MARK = "suanli erratum:"

#: Columns an erratum may correct: a record's configuration, never its measured value or identity.
CORRECTABLE = ("hardware", "chips", "system", "model", "weight_dtype", "act_dtype", "kv_dtype", "tp", "pp", "ep",
               "dp", "cp", "attn_dp", "disagg", "spec_decode", "isl", "osl", "concurrency", "batch_per_chip",
               "scenario", "seq_len", "global_batch", "engine", "max_batch_per_rank", "max_num_tokens",
               "max_seq_len", "isl_cv", "osl_cv", "osl_p99", "dataset")


class Erratum(BaseModel):
    """One record's correction: which record, what it holds, what is right, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    source: str = Field(min_length=1, description="start of the record's `source` cell")
    was: dict[str, str]
    now: dict[str, str]
    evidence: str = Field(min_length=20, description="where the right values are read, cited")

    @field_validator("was", "now", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _same_columns(self) -> Erratum:
        if not self.now:
            raise ValueError("`now` names no column")
        if set(self.was) != set(self.now):
            raise ValueError(f"`was` and `now` must name the same columns (was: {sorted(self.was)}, "
                             f"now: {sorted(self.now)})")
        bad = sorted(set(self.now) - set(CORRECTABLE))
        if bad:
            raise ValueError(f"column(s) {', '.join(bad)} cannot be corrected here (configuration columns only: "
                             "a measured value or a record's identity is fixed at its source)")
        same = [k for k in self.now if self.was[k] == self.now[k]]
        if same:
            raise ValueError(f"`now` repeats `was` for {', '.join(same)}")
        return self

    def matches(self, row: dict) -> bool:
        """True when ``row`` is this erratum's record and still holds the ``was`` values."""
        return self._record_with(row, self.was)

    def holds_in(self, row: dict) -> bool:
        """True when ``row`` is this erratum's record and holds the ``now`` values (corrected)."""
        return self._record_with(row, self.now)

    def _record_with(self, row: dict, values: dict[str, str]) -> bool:
        return ((row.get("id") or "").strip() == self.id
                and (row.get("source") or "").strip().startswith(self.source)
                and all(_norm(row.get(k)) == _norm(v) for k, v in values.items()))

    def summary(self) -> str:
        return ", ".join(f"{k} {self.was[k]} -> {self.now[k]}" for k in self.now)


def _norm(v: Any) -> str:
    return str("" if v is None else v).strip().lower()


def parse_errata(text: str, path: str = "suanli/perf/data/record_errata.yaml") -> tuple[Erratum, ...]:
    """Errata from YAML text, validated; a bad entry is a DataError naming its line and field."""
    from suanli.catalog.load import FIELD_LINES_KEY, LINE_KEY, read_yaml, strip_lines

    doc = read_yaml(path, text)
    raw = doc.get("errata") if isinstance(doc, dict) else None
    if not isinstance(raw, list):
        raise DataError(path, "expected a top-level 'errata:' list", hint="see the comment at the top of the file")
    out: list[Erratum] = []
    seen: set[str] = set()
    for item in raw:
        line = item.get(LINE_KEY) if isinstance(item, dict) else None
        try:
            e = Erratum.model_validate(strip_lines(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(map(str, err["loc"]))
            lines = item.get(FIELD_LINES_KEY, {}) if isinstance(item, dict) else {}
            raise DataError(path, f"{where + ': ' if where else ''}{err['msg']}",
                            line=lines.get(err["loc"][0]) if err["loc"] else line,
                            hint="an erratum has id, source, was, now and evidence; was/now name the same "
                                 "configuration columns") from None
        if e.id in seen:
            raise DataError(path, f"two errata for record {e.id!r}", line=line, hint="merge them into one entry")
        seen.add(e.id)
        out.append(e)
    return tuple(out)


@lru_cache(maxsize=1)
def errata() -> tuple[Erratum, ...]:
    """The packaged errata, validated."""
    from suanli.catalog.load import packaged_text

    path, text = packaged_text("suanli.perf", "record_errata.yaml")
    return parse_errata(text, path)


def correct(rows: list[dict], table: tuple[Erratum, ...] | None = None) -> list[Erratum]:
    """Apply the errata to ``rows`` in place; returns the ones applied. Each corrected row's notes say so."""
    table = errata() if table is None else table
    by_id = {e.id: e for e in table}
    applied = []
    for r in rows:
        e = by_id.get((r.get("id") or "").strip())
        if e is None or not e.matches(r):
            continue
        for k, v in e.now.items():
            r[k] = v
        note = f"{NOTE_MARK} {e.summary()} (suanli/perf/data/record_errata.yaml)"
        r["notes"] = f"{r['notes']}; {note}" if (r.get("notes") or "").strip() else note
        applied.append(e)
    return applied


def in_force(rows: list[dict], table: tuple[Erratum, ...] | None = None) -> list[Erratum]:
    """The errata :func:`correct` applied to records among ``rows`` (the reports list these).

    A record that already held the right values (fixed at its source) was not corrected and is not listed.
    """
    table = errata() if table is None else table
    return [e for e in table
            if any(e.holds_in(r) and f"{NOTE_MARK} {e.summary()}" in (r.get("notes") or "") for r in rows)]


def errata_md(rows: list[dict], table: tuple[Erratum, ...] | None = None) -> list[str]:
    """A report section listing the corrections in force (empty when none)."""
    found = in_force(rows, table)
    if not found:
        return []
    L = ["## Corrections to the records", "",
         "Records whose own published artefacts contradict a column are read with that column corrected "
         "(`src/suanli/perf/data/record_errata.yaml`; the record file itself is unchanged).", "",
         "| record | corrected | evidence |", "|---|---|---|"]
    for e in found:
        L.append(f"| {e.id} | {e.summary()} | {' '.join(e.evidence.split())} |")
    L.append("")
    return L


__all__ = ["CORRECTABLE", "NOTE_MARK", "Erratum", "correct", "errata", "errata_md", "in_force", "parse_errata"]
