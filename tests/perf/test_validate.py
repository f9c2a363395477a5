"""Validation against the measured records, the CLI and the accuracy targets on microbenchmarks."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from suanli.perf.validate import predict_row, read_records, validate_file

DEV = Path(__file__).resolve().parents[2] / "data" / "validation" / "dev.csv"


@pytest.fixture(scope="module")
def report(catalog):
    return validate_file(DEV, catalog)


def test_every_row_predicted_or_skipped_with_reason(report):
    assert len(report.rows) == len(read_records(DEV))
    for r in report.rows:
        assert r.skipped == (r.predicted is None)
        if r.skipped:
            assert r.reason


def test_microbenchmarks_within_target(report):
    micro = [r for r in report.rows if r.kind in ("gemm", "memcopy", "allreduce", "alltoall")]
    s = report.summary(micro)
    assert s["n"] >= 12 and s["mape"] <= 0.15


def test_serving_error_is_recorded_not_hidden(report):
    s = report.summary([r for r in report.rows if r.kind in ("serve", "prefill", "decode")])
    assert s["n"] >= 50
    assert s["mape"] < 0.5  # the targets are judged by the accuracy report, this guards regressions


def test_train_rows_without_training_model_are_skipped(catalog, monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "suanli.perf.training":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    row = next(r for r in read_records(DEV) if r["kind"] == "train")
    from suanli.perf.validate import Skip

    with pytest.raises(Skip, match="training model not available"):
        predict_row(row, catalog)


def _app():
    from suanli.cli import predict, validate

    app = typer.Typer()
    app.add_typer(predict.app, name="predict")
    validate.register(app)
    return app


def test_cli_validate_json_keys():
    res = CliRunner().invoke(_app(), ["validate", str(DEV), "--kind", "gemm", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert {"rows", "summary"} <= set(d)
    assert {"id", "predicted", "measured", "ape", "skipped", "reason"} <= set(d["rows"][0])
    assert {"mape", "median_ape", "within_25", "n", "skipped"} <= set(d["summary"])


def test_cli_predict_serve_json():
    res = CliRunner().invoke(_app(), ["predict", "serve", "--hardware", "h200-sxm", "--chips", "8", "--model",
                                      "llama-3.1-70b", "--tpot-slo-ms", "50", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["config"]["tp"] >= 1
    # the CLI prints what the API predicts for the same request (an SLO switches the CLI to the
    # server scenario, where the SLO binds the p99), and the TPOT SLO holds
    from suanli.catalog import get_catalog
    from suanli.perf.search import Request, predict_serve

    api = predict_serve(get_catalog(), Request("h200-sxm", "llama-3.1-70b", chips=8, tpot_slo_ms=50,
                                               scenario="server"))
    assert d["metrics"]["output_tps_per_chip"] == pytest.approx(api.metrics["output_tps_per_chip"], rel=1e-9)
    assert 0 < d["metrics"]["tpot_ms"] <= d["metrics"]["tpot_p99_ms"] <= 50 + 1e-6


def test_cli_unknown_hardware_exits_2():
    res = CliRunner().invoke(_app(), ["predict", "decode", "--hardware", "h2000", "--model", "llama-3.1-8b"])
    assert res.exit_code == 2


def test_cli_compare_three_chips():
    res = CliRunner().invoke(_app(), ["compare", "--hardware", "h200-sxm,h20,ascend-910c", "--model", "deepseek-v3",
                                      "--tpot-slo-ms", "50", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert [r["hardware"] for r in d["results"]] == ["h200-sxm", "h20", "ascend-910c"]
    assert all("metrics" in r for r in d["results"])


def test_cli_pareto_and_prefill():
    app = _app()
    r1 = CliRunner().invoke(app, ["predict", "pareto", "--hardware", "mi300x", "--model", "llama-3.1-8b", "--chips", "1"])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(app, ["predict", "prefill", "--hardware", "h100-sxm", "--model", "deepseek-v3", "--chips",
                                  "32", "--ep", "32", "--dp", "32", "--tp", "1", "--isl", "4096", "--json"])
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["metrics"]["input_tps_per_chip"] > 1000


def test_microbenchmark_semantics_come_from_the_row(tmp_path):
    """A plain all-to-all splits `bytes` among ranks (nccl-tests busbw = bytes/t x (n-1)/n);
    an MoE dispatch (DeepEP) sends each token to top-k experts; a copy needs no buffer size."""
    from suanli.catalog import get_catalog
    from suanli.perf.validate import alltoall_fanout, validate_file

    cat = get_catalog()
    assert alltoall_fanout({"engine": "nccl"}, cat) == 1.0
    assert alltoall_fanout({"engine": "deepep"}, cat) == 8.0
    assert alltoall_fanout({"engine": "nccl", "model": "mixtral-8x7b"}, cat) == 2.0  # Mixtral routes top-2
    header = ("id,kind,hardware,chips,system,model,bytes,metric,value,source,date\n")
    p = tmp_path / "micro.csv"
    p.write_text(header
                 + "A,memcopy,h100-sxm,1,,,,tbps,2.9,x,2025-01-01\n"
                 + "B,alltoall,h100-sxm,8,hgx-8,,268435456,busbw_gbps,300,x,2025-01-01\n")
    rows = {r["id"]: r for r in validate_file(p, catalog=cat).to_dict()["rows"]}
    assert not rows["A"]["skipped"] and 2.0 < rows["A"]["predicted"] < 3.35  # below the 3.35 TB/s datasheet
    assert not rows["B"]["skipped"]
