"""Terminal output fit to read: 80 columns (or a pipe), names wrap and numbers never do; CSV where users pipe."""
from __future__ import annotations

import csv
import io
import json
import math
import re

import pytest


@pytest.fixture()
def narrow():
    from suanli.cli import common

    old = common.console.width
    common.console.width = 80
    yield
    common.console.width = old


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,]*\.?\d*", text)


def test_compare_fits_80_columns_with_whole_numbers(run_cli, narrow):
    code, out, _ = run_cli("compare", "-H", "h200-sxm,h20,ascend-910c", "-m", "llama-3.1-70b", "--chips", "8")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    code, js, _ = run_cli("compare", "-H", "h200-sxm,h20,ascend-910c", "-m", "llama-3.1-70b", "--chips", "8",
                          "--json")
    for r in json.loads(js)["results"]:
        v = r["metrics"]["output_tps_per_chip"]
        shown = f"{v:,.0f}" if v >= 1e4 else f"{v:.4g}"
        assert shown in out  # on one line, not folded


@pytest.mark.parametrize("args", [
    ("catalog", "compare", "h200-sxm", "h20", "h100-sxm", "ascend-910c"),
    ("catalog", "list", "--vendor", "nvidia"),
    ("policy", "timeline", "h100-sxm", "h800-sxm", "h20", "h200-sxm", "b200", "--dest", "CN"),
])
def test_wide_tables_fit_80_columns(run_cli, narrow, args):
    code, out, _ = run_cli(*args)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    # every TPP and date shown whole: 15,831 (H200) and the April 2025 letters
    if args[1] == "compare":
        assert "15,831" in out
    if args[1] == "timeline":
        assert "2025-04-09" in out


def test_csv_equals_json(run_cli):
    code, out, _ = run_cli("catalog", "compare", "h200-sxm", "h20", "--format", "csv")
    assert code == 0
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(out))}
    code, js, _ = run_cli("catalog", "compare", "h200-sxm", "h20", "--json")
    m = json.loads(js)["metrics"]
    assert float(rows["bf16_tflops"]["h20"]) == m["bf16_tflops"]["values"]["h20"] == 148
    assert float(rows["bf16_tflops"]["h20/h200-sxm"]) == pytest.approx(148 / 989.4)
    code, out, _ = run_cli("policy", "timeline", "h20", "--format", "csv")
    first_licence = next(r for r in csv.DictReader(io.StringIO(out)) if r["license_required"] == "True")
    assert first_licence["from"] == "2025-04-09"
    code, out, _ = run_cli("catalog", "list", "--format", "json")
    assert json.loads(out)["n"] > 50
    code, _, err = run_cli("catalog", "list", "--format", "xml")
    assert code == 2 and "one of table, csv, json" in err


def test_compare_csv_equals_json(run_cli):
    args = ("compare", "-H", "h200-sxm,h20", "-m", "llama-3.1-70b", "--chips", "8")
    code, out, _ = run_cli(*args, "--format", "csv")
    assert code == 0
    rows = {r["hardware"]: r for r in csv.DictReader(io.StringIO(out))}
    code, js, _ = run_cli(*args, "--json")
    for r in json.loads(js)["results"]:
        assert float(rows[r["hardware"]]["output_tps_per_chip"]) == pytest.approx(r["metrics"]["output_tps_per_chip"])


def test_predict_table_keeps_its_names_and_shows_the_80_percent_band(run_cli, narrow, calibrated_910c):
    """A long band text wraps; it does not squeeze the metric names out of an 80-column table."""
    args = ("predict", "serve", "-H", "h200-sxm", "-m", "deepseek-v3", "-n", "16")
    code, out, _ = run_cli(*args)
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80
    assert "output tokens/s per chip" in out and "error band (80%, held out)" in out
    code, js, _ = run_cli(*args, "--json")
    eb = json.loads(js)["error_band"]
    assert eb["metric"] == "output_tps_per_chip" and eb["label"] in out
    v = json.loads(js)["metrics"]["output_tps_per_chip"]
    assert eb["low"] == pytest.approx(v * math.exp(-eb["p80"])) and eb["high"] == pytest.approx(v * math.exp(eb["p80"]))
    code, out, _ = run_cli("predict", "decode", "-H", "ascend-910c", "-m", "deepseek-v3", "-n", "16",
                           "--tpot-slo-ms", "50", "--catalog", str(calibrated_910c))
    assert code == 0 and "output tokens/s per chip" in out and "calibration of ascend-910c" in out


def test_numberish_cells():
    from suanli.cli.common import _numberish

    assert _numberish("1,234") and _numberish("±10%") and _numberish("1,234 (5%)")
    assert not _numberish("±16% (calibration of ascend-910c (serving, out-of-fold), n=34)")
