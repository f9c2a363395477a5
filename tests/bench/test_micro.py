"""CPU microbenchmarks: records in the validation format that pass the physical sanity checks."""
from __future__ import annotations

import csv
import json

import pytest

from suanli.bench.micro import check_physics, time_op

torch = pytest.importorskip("torch", reason="PyTorch absent: pip install 'suanli[bench]' (CI installs it)")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from typer.testing import CliRunner

    from suanli.cli.main import app

    out = tmp_path_factory.mktemp("micro") / "micro.csv"
    res = CliRunner().invoke(app, ["bench", "micro", "--device", "cpu", "--quick", "--check", "-o", str(out), "--json"])
    return res, out


def test_cpu_quick_run_is_physically_sane(quick_run):
    res, out = quick_run
    assert res.exit_code == 0, res.stdout + res.stderr
    d = json.loads(res.stdout)
    assert d["ok"] and all(c["ok"] for c in d["checks"])
    names = {c["check"] for c in d["checks"]}
    assert any("plateau" in n for n in names) and any("grows with size" in n for n in names)
    kinds = {r["kind"] for r in d["records"]}
    assert {"gemm", "memcopy", "attention"} <= kinds


def test_records_are_validation_rows(quick_run):
    from suanli.bench.records import COLUMNS
    from suanli.perf.validate import read_records

    _, out = quick_run
    rows = read_records(out)                      # the validator's own reader accepts the file
    assert list(rows[0])[: len(COLUMNS)] == list(COLUMNS)
    g = [r for r in rows if r["kind"] == "gemm"]
    for r in g:                                   # TFLOP/s = 2 M N K / t: a CPU reaches well under 10
        assert 0 < float(r["value"]) < 10
        assert r["metric"] == "tflops" and r["gemm_m"] and r["act_dtype"]
    assert any(int(r["gemm_m"]) == 1 for r in g)  # decode-shaped GEMMs are in the sweep
    assert all("torch" in r["notes"] and "machine" in r["notes"] for r in rows)
    with open(out, newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)


def test_peak_check_catches_impossible_figures(catalog):
    recs = [{"id": "x", "kind": "gemm", "hardware": "h200-sxm", "act_dtype": "bf16", "gemm_m": 8192, "gemm_n": 8192,
             "gemm_k": 8192, "metric": "tflops", "value": 2000.0}]
    peak = [c for c in check_physics(recs, catalog=catalog) if "peak" in c["check"]]
    assert peak and not peak[0]["ok"]            # 2000 TFLOP/s > the H200's 989 dense BF16
    recs[0]["value"] = 700.0
    assert all(c["ok"] for c in check_physics(recs, catalog=catalog))


def test_copy_without_plateau_fails():
    recs = [{"kind": "memcopy", "bytes": b, "metric": "tbps", "value": v, "hardware": "x"}
            for b, v in ((4096, 0.001), (2**20, 0.004), (2**24, 0.008))]   # still doubling: no plateau
    plateau = [c for c in check_physics(recs) if "plateau" in c["check"]][0]
    assert not plateau["ok"]


def test_timing_takes_the_median_of_synchronised_blocks():
    calls = {"fn": 0, "sync": 0}

    def fn():
        calls["fn"] += 1

    def sync():
        calls["sync"] += 1

    t = time_op(fn, sync, warmup=2, trials=5, min_block_s=0.0, max_inner=1)
    assert t.trials == 5 and t.inner == 1
    assert calls["fn"] == 2 + 1 + 5 and calls["sync"] == 1 + 1 + 5


def test_missing_torch_says_how_to_install(monkeypatch, run_cli):
    import builtins
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "torch":
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    code, out, err = run_cli("bench", "micro", "--device", "cpu", "--quick")
    assert code == 2
    assert "PyTorch is not installed" in err and "suanli[bench]" in err
    _ = builtins


def test_unknown_device_is_a_usage_error(run_cli):
    code, out, err = run_cli("bench", "micro", "--device", "tpu", "--json")
    assert code == 2
    assert json.loads(out)["message"].startswith("unknown --device")


@pytest.mark.slow
def test_collectives_over_two_cpu_ranks():
    """The multi-device path (one process per rank, torch.distributed), run on gloo with two CPU ranks."""
    from suanli.bench.micro import run_collectives

    skipped: list[str] = []
    recs = run_collectives("cpu", 2, (1024, 1 << 20), base={"hardware": "cpu-test", "chips": 1}, notes="test",
                           tag="CPU", skipped=skipped)
    assert not skipped, skipped
    assert {r["kind"] for r in recs} == {"allreduce", "alltoall"} and len(recs) == 8
    for kind in ("allreduce", "alltoall"):
        bw = {r["bytes"]: r["value"] for r in recs if r["kind"] == kind and r["metric"] == "busbw_gbps"}
        assert bw[1 << 20] > bw[1024] > 0           # a 1 KiB collective is latency-bound
        lat = [r for r in recs if r["kind"] == kind and r["metric"] == "latency_us"]
        assert all(r["value"] > 0 and r["chips"] == 2 for r in lat)


def test_gemm_trend_check_by_device():
    """An accelerator's GEMM rate must grow with size; a CPU's may fall a little (small GEMMs run from
    cache) but not collapse."""
    recs = [{"kind": "gemm", "act_dtype": "fp32", "gemm_m": n, "gemm_n": n, "gemm_k": n, "metric": "tflops",
             "value": v, "hardware": "x"} for n, v in ((128, 0.09), (512, 0.08), (1024, 0.07))]
    by = lambda cs: {c["check"].split(" (")[0]: c["ok"] for c in cs}  # noqa: E731
    assert by(check_physics(recs))["fp32 GEMM rate grows with size"] is False
    assert by(check_physics(recs, gemm_grows=False))["fp32 GEMM rate holds with size"] is True
    recs[-1]["value"] = 0.03
    assert by(check_physics(recs, gemm_grows=False))["fp32 GEMM rate holds with size"] is False
