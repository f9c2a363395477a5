"""The DuckDB results store: save, read back, compare, export; a crash mid-write leaves no half run."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from suanli.errors import SuanliError
from suanli.store import RunStore


def test_save_list_show_compare_export(tmp_path):
    path = tmp_path / "runs.duckdb"
    with RunStore(path) as s:
        a = s.save("risk", "a", inputs={"seed": 1}, outputs={"x": [1.0, float("nan")]}, metrics={"m": 2.0},
                   per_sample={"per_mtok": np.arange(4.0)}, headline={"p50": 3.0, "p_unmet": 0.1}, seed=1)
        b = s.save("fleet", "b", inputs={}, outputs={}, metrics={"m": 5.0})
    with RunStore(path, read_only=True) as s:
        rows = s.list()
        assert [r["run_id"] for r in rows] == [b, a]
        got = s.get(a)
        assert got["inputs"] == {"seed": 1} and got["outputs"]["x"] == [1.0, None] and got["metrics"] == {"m": 2.0}
        assert got["per_mtok_p50"] == 3.0 and got["versions"]["suanli"]
        cmp_ = s.compare([a, b])
        assert cmp_ == [{"metric": "m", a: 2.0, b: 5.0}]
        out = s.export(tmp_path / "s.csv", "csv", a, "samples")
        assert out.read_text().count("\n") == 5
        s.export(tmp_path / "r.parquet", "parquet")
        assert s.get("latest")["run_id"] == b
        with pytest.raises(SuanliError, match="no run"):
            s.get("nope")
        with pytest.raises(SuanliError, match="ambiguous"):
            s.get("20")


def test_failed_write_rolls_back(tmp_path):
    path = tmp_path / "runs.duckdb"
    with RunStore(path) as s:
        # the per-sample values fail to convert after the run row is written: the whole run is rolled back
        with pytest.raises(ValueError):
            s.save("risk", "x", inputs={}, outputs={}, per_sample={"v": np.array(["a", "b"])})
        assert s.list() == []
        s.save("risk", "y", inputs={}, outputs={})
        assert [r["name"] for r in s.list()] == ["y"]


def test_crash_mid_write_leaves_the_store_readable(tmp_path):
    path = tmp_path / "runs.duckdb"
    with RunStore(path) as s:
        s.save("fleet", "kept", inputs={}, outputs={})
    # a process that dies inside save(), after the run row is inserted, before the commit
    code = textwrap.dedent(f"""
        import os, numpy as np
        from suanli.store import RunStore
        class Die:
            def __array__(self, dtype=None, copy=None):
                os._exit(3)
        s = RunStore({str(path)!r})
        s.save("risk", "half", inputs={{}}, outputs={{}}, per_sample={{"v": Die()}})
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 3
    with RunStore(path, read_only=True) as s:
        assert [x["name"] for x in s.list()] == ["kept"]


def test_store_errors(tmp_path):
    with pytest.raises(SuanliError, match="no results store"):
        RunStore(tmp_path / "none.duckdb", read_only=True)
    with pytest.raises(SuanliError, match="folder"):
        RunStore(tmp_path)
    with RunStore(tmp_path / "r.duckdb") as s:
        with pytest.raises(SuanliError, match="format"):
            s.export(tmp_path / "x.txt", "txt")
        with pytest.raises(SuanliError, match="does not exist"):
            s.export(tmp_path / "no" / "x.csv", "csv")
