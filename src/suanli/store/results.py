"""Runs saved in an embedded DuckDB file: inputs beside outputs, versions, timings, per-sample arrays.

One table per kind of record: ``runs`` (one row per run, inputs and outputs
as JSON, headline figures as typed columns), ``metrics`` (name/value pairs
for comparing runs) and ``samples`` (per-sample values of risk runs). A run
is written in one transaction when it has finished, so a crash mid-run
leaves the store as it was: readable, with no half-written run.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from suanli.errors import SuanliError
from suanli.jsonable import jsonable

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    name VARCHAR,
    created TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    currency VARCHAR,
    seed BIGINT,
    samples BIGINT,
    backend VARCHAR,
    per_mtok_p10 DOUBLE,
    per_mtok_p50 DOUBLE,
    per_mtok_p90 DOUBLE,
    p_unmet DOUBLE,
    wall_s DOUBLE,
    inputs JSON,
    outputs JSON,
    versions JSON,
    timings JSON
);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value DOUBLE);
CREATE TABLE IF NOT EXISTS samples (run_id VARCHAR NOT NULL, i BIGINT NOT NULL, name VARCHAR NOT NULL, value DOUBLE);
"""


def default_store_path() -> Path:
    """``SUANLI_STORE`` if set, else ``~/.suanli/runs.duckdb``."""
    env = os.environ.get("SUANLI_STORE")
    return Path(env) if env else Path.home() / ".suanli" / "runs.duckdb"


def to_json(obj: Any) -> str:
    return json.dumps(jsonable(obj), default=str, allow_nan=False)


def versions() -> dict[str, str]:
    """Versions of suanli and the libraries whose numbers a run depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("suanli", "numpy", "highspy", "duckdb", "pydantic", "ray"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


class RunStore:
    """A DuckDB file of runs. Open it per command (``with RunStore(path) as s``)."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        import duckdb

        self.path = Path(path) if path else default_store_path()
        if self.path.exists() and self.path.is_dir():
            raise SuanliError(f"store {self.path} is a folder", hint="give a file path, e.g. --store runs.duckdb")
        if read_only and not self.path.exists():
            raise SuanliError(f"no results store at {self.path}",
                              hint="run `suanli plan fleet SCENARIO` first, or give --store PATH")
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SuanliError(f"cannot create the folder of store {self.path}: {exc.strerror}",
                                  hint="give --store PATH in a writable folder") from None
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise SuanliError(f"cannot open results store {self.path}: {str(exc).splitlines()[0]}",
                              hint="another suanli process may hold it; wait, or give another --store PATH") from None
        if not read_only:
            self.con.execute(SCHEMA)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # ------------------------------------------------------------------ write
    def save(self, kind: str, name: str, *, inputs: Any, outputs: Any, timings: dict | None = None,
             currency: str | None = None, seed: int | None = None, samples: int | None = None,
             backend: str | None = None, headline: dict | None = None, metrics: dict[str, float] | None = None,
             per_sample: dict[str, np.ndarray] | None = None, status: str = "complete") -> str:
        """Write one finished run atomically; returns its id."""
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        h = headline or {}
        timings = timings or {}
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, kind, name, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), status, currency, seed,
                 samples, backend, _f(h.get("p10")), _f(h.get("p50")), _f(h.get("p90")), _f(h.get("p_unmet")),
                 _f(timings.get("wall_s")), to_json(inputs), to_json(outputs), to_json(versions()), to_json(timings)])
            if metrics:
                con.executemany("INSERT INTO metrics VALUES (?, ?, ?)",
                                [[run_id, k, _f(v)] for k, v in metrics.items()])
            if per_sample:
                import pandas as pd

                frames = []
                for k, v in per_sample.items():
                    v = np.asarray(v, dtype=float)
                    if v.ndim != 1:
                        continue
                    frames.append(pd.DataFrame({"run_id": run_id, "i": np.arange(v.size, dtype=np.int64),
                                                "name": k, "value": v}))
                if frames:
                    df = pd.concat(frames, ignore_index=True)  # noqa: F841 - read by DuckDB by name
                    con.execute("INSERT INTO samples SELECT run_id, i, name, value FROM df")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return run_id

    # ------------------------------------------------------------------ read
    def list(self, kind: str | None = None, limit: int = 50) -> list[dict]:
        q = ("SELECT run_id, kind, name, created, status, currency, samples, backend, per_mtok_p10, per_mtok_p50, "
             "per_mtok_p90, p_unmet, wall_s FROM runs")
        args: list[Any] = []
        if kind:
            q += " WHERE kind = ?"
            args.append(kind)
        q += " ORDER BY created DESC LIMIT ?"
        args.append(int(limit))
        return self._rows(q, args)

    def resolve(self, run_id: str) -> str:
        """A full run id from a unique prefix (or ``latest``)."""
        if run_id == "latest":
            rows = self._rows("SELECT run_id FROM runs ORDER BY created DESC LIMIT 1", [])
        else:
            rows = self._rows("SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY created", [run_id + "%"])
        if not rows:
            raise SuanliError(f"no run {run_id!r} in {self.path}", hint="see `suanli runs list`")
        if len(rows) > 1:
            raise SuanliError(f"run id {run_id!r} is ambiguous ({len(rows)} runs)", hint="give more characters")
        return rows[0]["run_id"]

    def get(self, run_id: str) -> dict:
        rid = self.resolve(run_id)
        row = self._rows("SELECT * FROM runs WHERE run_id = ?", [rid])[0]
        for k in ("inputs", "outputs", "versions", "timings"):
            row[k] = json.loads(row[k]) if row[k] else None
        row["metrics"] = {r["name"]: r["value"] for r in
                          self._rows("SELECT name, value FROM metrics WHERE run_id = ?", [rid])}
        return row

    def compare(self, run_ids: list[str]) -> list[dict]:
        """Metrics of several runs side by side: one row per metric, one column per run."""
        ids = [self.resolve(r) for r in run_ids]
        out: dict[str, dict] = {}
        for rid in ids:
            for r in self._rows("SELECT name, value FROM metrics WHERE run_id = ?", [rid]):
                out.setdefault(r["name"], {"metric": r["name"]})[rid] = r["value"]
        return list(out.values())

    def export(self, path: str | Path, fmt: str = "parquet", run_id: str | None = None, table: str = "runs") -> Path:
        """Write a table (runs, metrics or samples), for one run or all, to Parquet or CSV."""
        if fmt not in ("parquet", "csv"):
            raise SuanliError(f"unknown export format {fmt!r}", hint="use parquet or csv")
        if table not in ("runs", "metrics", "samples"):
            raise SuanliError(f"unknown table {table!r}", hint="runs, metrics or samples")
        path = Path(path)
        if path.is_dir():
            raise SuanliError(f"{path} is a folder", hint="give a file name, e.g. runs.parquet")
        if not path.parent.exists():
            raise SuanliError(f"folder {path.parent} does not exist", hint="create it first or choose another path")
        where = ""
        if run_id:
            rid = self.resolve(run_id)
            where = f" WHERE run_id = '{rid}'"  # rid comes from the store itself
        opts = "(FORMAT PARQUET)" if fmt == "parquet" else "(FORMAT CSV, HEADER)"
        tmp = path.with_name(path.name + ".part")
        self.con.execute(f"COPY (SELECT * FROM {table}{where}) TO '{_sql_path(tmp)}' {opts}")
        tmp.replace(path)
        return path

    def _rows(self, q: str, args: list) -> list[dict]:
        cur = self.con.execute(q, args)
        cols = [d[0] for d in cur.description]
        return [{c: (v.isoformat() if isinstance(v, dt.datetime) else v) for c, v in zip(cols, r)}
                for r in cur.fetchall()]


def _f(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


__all__ = ["RunStore", "default_store_path", "to_json", "versions"]
