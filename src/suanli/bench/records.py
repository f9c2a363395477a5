"""Measurement records as the validation format has them: columns, writing, reading back.

A record is a ``dict`` of column -> value (numbers or strings); missing columns
are written empty. The column order is the validation set's, so a file written
here can be appended to ``data/validation/dev.csv`` as is.

>>> import io
>>> buf = io.StringIO()
>>> _ = write_records([{"id": "x", "kind": "gemm", "hardware": "cpu", "chips": 1, "metric": "tflops",
...                 "value": 0.25}], buf)
>>> buf.getvalue().splitlines()[1].split(",")[:5]
['x', 'gemm', 'cpu', '1', '']
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

#: Columns of a measurement record, in the validation set's order (validation/SCHEMA.md).
COLUMNS: tuple[str, ...] = (
    "id", "kind", "hardware", "chips", "system", "model", "weight_dtype", "act_dtype", "kv_dtype", "tp", "pp", "ep",
    "dp", "attn_dp", "disagg", "spec_decode", "isl", "osl", "concurrency", "batch_per_chip", "scenario",
    "ttft_slo_ms", "tpot_slo_ms", "seq_len", "global_batch", "gemm_m", "gemm_n", "gemm_k", "bytes", "metric",
    "value", "engine", "source", "date", "trust", "notes", "cp", "max_batch_per_rank", "max_num_tokens",
    "max_seq_len", "isl_cv", "osl_cv", "osl_p99", "dataset",
)

#: Record kinds suanli's benchmarks write beyond validation/SCHEMA.md's: ``attention`` (an SDPA kernel,
#: metric ``tflops`` at prefill shapes, ``tbps`` of KV-cache read at decode shapes). ``suanli validate``
#: skips them; ``suanli calibrate`` fits the attention efficiency on the prefill ones.
EXTRA_KINDS = ("attention",)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        return f"{v:.6g}"
    return str(v)


def write_records(records: Iterable[dict], out: str | Path | IO[str]) -> int:
    """Write records as CSV (validation columns first, any extra columns after); returns the row count."""
    records = list(records)
    extra = [k for r in records for k in r if k not in COLUMNS]
    cols = list(COLUMNS) + list(dict.fromkeys(extra))
    fh: IO[str]
    if isinstance(out, (str, Path)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fh = open(out, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed below
        close = True
    else:
        fh, close = out, False
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for r in records:
            w.writerow([_cell(r.get(c)) for c in cols])
    finally:
        if close:
            fh.close()
    return len(records)


def records_csv(records: Iterable[dict]) -> str:
    """The records as CSV text."""
    buf = io.StringIO()
    write_records(records, buf)
    return buf.getvalue()
