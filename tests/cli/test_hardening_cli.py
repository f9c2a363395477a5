"""The CLI gives every input a clear answer: exit 0 with finite numbers, or exit 2 with one line (JSON under --json)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

SERVE = ["predict", "serve", "-H", "h100-sxm", "-m", "llama-3.1-8b"]


def _numbers(obj) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return []


def _check_answer(code: int, out: str, err: str) -> None:
    """Exit 0 with a finite result, or exit 2 with a JSON error object; never a traceback."""
    assert "Traceback" not in out + err
    assert code in (0, 2), (code, out[-500:], err[-500:])
    doc = json.loads(out)
    if code == 0:
        assert "error" not in doc
        m = doc.get("metrics", {})
        assert m and all(v is None or math.isfinite(v) for v in _numbers(m)), m
        assert m["output_tps_per_chip"] > 0 and m["ttft_ms"] is not None
    else:
        assert doc["error"] and doc["message"] and "\n" not in doc["message"]


# --------------------------------------------------------------------------- the fuzz tests (acceptance)
EXTREME = st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e-300", "1e300", "0.5", "1", "2.5", "3",
                           "99999999999999999999", "1e7", "abc", "", "1e6"])


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opts=st.dictionaries(st.sampled_from(["--chips", "--isl", "--osl", "--tpot-slo-ms", "--ttft-slo-ms",
                                             "--concurrency", "--arrival-rate", "--tp", "--pp", "--dp"]),
                            EXTREME, min_size=1, max_size=3))
def test_fuzz_serve_numeric_options(run_cli, opts):
    args = [*SERVE]
    for k, v in opts.items():
        args += [k, v]
    _check_answer(*run_cli(*args, "--json"))


FIELD_VALUES = st.sampled_from([".nan", ".inf", "-.inf", "0", "-1", "1.0e-300", "1.0e+300", "1", "1.0e+6",
                                "'x'", "[1, 2]", "{value: .nan}", "{value: 5, low: 9, high: 1}"])


@settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["bf16_tflops", "fp8_tflops", "mem_bw_tbps", "mem_capacity_gb", "tdp_w",
                              "scaleup_bw_gbps", "int8_tops"]), value=FIELD_VALUES,
       command=st.sampled_from(["serve", "show", "classify"]))
def test_fuzz_overlay_fields(run_cli, tmp_path_factory, field, value, command):
    p = tmp_path_factory.mktemp("ov") / "overlay.yaml"
    p.write_text(f"accelerators:\n  - id: h100-sxm\n    {field}: {value}\n", encoding="utf-8")
    args = {"serve": [*SERVE], "show": ["catalog", "show", "h100-sxm"],
            "classify": ["policy", "classify", "h100-sxm"]}[command]
    code, out, err = run_cli(*args, "--catalog", str(p), "--json")
    assert "Traceback" not in out + err and code in (0, 2), (code, out[-300:], err[-300:])
    doc = json.loads(out)
    if code == 2:
        assert doc["message"] and "\n" not in doc["message"]
    elif command == "serve":
        _check_answer(code, out, err)


# --------------------------------------------------------------------------- items 1, 2, 12: serve and compare
def test_cli_and_python_api_agree_and_state_the_defaults(run_cli):
    import suanli

    code, out, _ = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "8", "-m", "llama-3.1-70b", "--tpot-slo-ms",
                           "50", "--json")
    assert code == 0
    d = json.loads(out)
    api = suanli.predict_serve("h200-sxm", "llama-3.1-70b", 8, tpot_slo_ms=50)
    assert d["metrics"]["output_tps_per_chip"] == pytest.approx(api.metrics["output_tps_per_chip"])
    assert d["config"]["scenario"] == "server" and d["config"]["defaults"]
    code, out, _ = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "8", "-m", "llama-3.1-70b", "--tpot-slo-ms",
                           "50", "--scenario", "offline", "--json")
    assert json.loads(out)["config"]["scenario"] == "offline"  # an explicit choice is respected
    code, out, _ = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "8", "-m", "llama-3.1-70b", "--tpot-slo-ms", "75")
    assert "scenario: server" in out and "default:" in out and "TTFT p99 limit 6000 ms" in out


def test_compare_keeps_systems_dedupes_and_shows_p99(run_cli):
    code, out, _ = run_cli("compare", "-H", "cloudmatrix-384,h20,H20", "-m", "llama-3.1-70b", "-n", "24",
                           "--tpot-slo-ms", "75", "--json")
    assert code == 0
    d = json.loads(out)
    assert [r["hardware"] for r in d["results"]] == ["cloudmatrix-384", "h20"]
    cm = d["results"][0]
    assert cm["chip"] == "ascend-910c" and cm["config"]["system"] == "cloudmatrix-384"
    assert all("ttft_p99_ms" in r["metrics"] for r in d["results"]) and d["scenario"] == "server"
    assert d["notes"] and "2 times" in d["notes"][0]
    code, out, _ = run_cli("compare", "-H", "h20,h200-sxm", "-m", "llama-3.1-70b", "--tpot-slo-ms", "75")
    assert "TTFT p99 ms" in out


def test_serve_title_names_the_chip_and_the_system(run_cli):
    code, out, _ = run_cli("predict", "serve", "-H", "cloudmatrix-384", "-n", "8", "-m", "llama-3.1-70b")
    assert code == 0 and "8 x ascend-910c in cloudmatrix-384" in " ".join(out.split())


@pytest.mark.parametrize("args,words", [
    (["--spec-decode", "foo"], "unknown spec_decode"),
    (["--spec-decode", "mtp0"], "drafts no token"),
    (["--spec-decode", "mtp99"], "more than"),
    (["--kv-dtype", "fp4"], "not supported"),
    (["--act-dtype", "int4"], "not supported"),
    (["--concurrency", "5"], None),
    (["--osl", "0.5"], "osl must be"),
    (["--chips", "99999999999999999999"], "chips must be"),
])
def test_serve_refuses_what_is_not_supported(run_cli, args, words):
    extra = ["--batch-per-chip", "3"] if args[0] == "--concurrency" else []
    cmd = "decode" if extra else "serve"
    code, out, _ = run_cli("predict", cmd, "-H", "h200-sxm", "-m", "llama-3.1-70b", *args, *extra, "--json")
    assert code == 2
    msg = json.loads(out)["message"]
    assert words is None or words in msg


def test_uppercase_ids_and_dtypes_are_accepted(run_cli):
    code, out, _ = run_cli("predict", "serve", "-H", "H200-SXM", "-m", "Llama-3.1-8B", "--weight-dtype", "FP8",
                           "--json")
    assert code == 0 and json.loads(out)["hardware"] == "h200-sxm"


@pytest.mark.parametrize("cmd", [["predict", "decode"], ["predict", "pareto"], ["compare"]])
def test_huge_chip_counts_are_refused_everywhere(run_cli, cmd):
    hw = ["-H", "h200-sxm"]
    code, out, _ = run_cli(*cmd, *hw, "-m", "llama-3.1-70b", "-n", "99999999999999999999", "--json")
    assert code == 2 and "chips must be" in json.loads(out)["message"]


def test_train_with_a_huge_chip_count_answers_at_once(run_cli):
    code, out, _ = run_cli("predict", "train", "-H", "h100-sxm", "-n", "1000000000", "-m", "llama-3.1-405b",
                           "--seq-len", "8192", "--global-batch", "2048", "--json")
    assert code == 2 and "chips must be" in json.loads(out)["message"]


# --------------------------------------------------------------------------- items 4, 9: figures from data
def test_policy_classify_on_an_infinite_overlay_figure_is_one_line(run_cli, tmp_path):
    p = tmp_path / "inf.yaml"
    p.write_text("accelerators:\n  - id: h20\n    bf16_tflops: .inf\n", encoding="utf-8")
    code, out, err = run_cli("policy", "classify", "h20", "--catalog", str(p))
    assert code == 2 and "Traceback" not in out + err and "inf.yaml:3" in " ".join(err.split())


def test_serve_on_a_zero_bandwidth_overlay_is_refused(run_cli, tmp_path):
    p = tmp_path / "zero.yaml"
    p.write_text("accelerators:\n  - id: h20\n    mem_bw_tbps: 0\n", encoding="utf-8")
    code, out, _ = run_cli("predict", "serve", "-H", "h20", "-m", "llama-3.1-8b", "--catalog", str(p), "--json")
    assert code == 2 and json.loads(out)["field"].startswith("mem_bw_tbps")


# --------------------------------------------------------------------------- items 7, 10: validate
CSV_HEAD = "id,kind,hardware,chips,metric,value,gemm_m,gemm_n,gemm_k,weight_dtype,act_dtype\n"
ROW = "{id},gemm,h100-sxm,1,tflops,{v},8192,8192,8192,bf16,bf16\n"


def test_validate_accepts_a_bom_and_skips_nan_with_its_reason(run_cli, tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes(("\ufeff" + CSV_HEAD + ROW.format(id="A", v="600") + ROW.format(id="B", v="nan")).encode())
    code, out, _ = run_cli("validate", str(p), "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)["rows"]}
    assert rows["A"]["predicted"] is not None
    assert rows["B"]["skipped"] and "nan" in rows["B"]["reason"]


def test_validate_with_every_row_skipped_exits_2(run_cli, tmp_path):
    p = tmp_path / "none.csv"
    p.write_text(CSV_HEAD + ROW.format(id="A", v="nan"), encoding="utf-8")
    code, _, err = run_cli("validate", str(p))
    assert code == 2 and "could be predicted" in " ".join(err.split())


def test_validate_checks_the_report_path_first(run_cli, tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text(CSV_HEAD + ROW.format(id="A", v="600"), encoding="utf-8")
    code, _, err = run_cli("validate", str(p), "--report", str(tmp_path))
    assert code == 2 and "is a folder" in err
    code, _, err = run_cli("validate", str(p), "--report", str(tmp_path / "no" / "such" / "x.md"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "no").exists()


def test_validate_non_utf8_is_one_line(run_cli, tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"id,kind\n\xff\xfe\n")
    code, out, _ = run_cli("validate", str(p), "--json")
    assert code == 2 and "not UTF-8" in json.loads(out)["message"]


# --------------------------------------------------------------------------- items 12, 13, 14
def test_catalog_list_unknown_vendor_exits_2(run_cli):
    code, out, _ = run_cli("catalog", "list", "--vendor", "nosuch", "--json")
    assert code == 2 and "Huawei" in json.loads(out)["hint"]
    code, out, _ = run_cli("catalog", "list", "--vendor", "HUAWEI", "--json")
    assert code == 0 and json.loads(out)["n"] > 0


def test_policy_header_names_the_buyer_headquarters(run_cli):
    code, out, _ = run_cli("policy", "classify", "h200-sxm", "--dest", "DE")
    text = " ".join(out.split())
    assert code == 0 and "headquartered in CN" in text and "--buyer foreign-hq" in text
    code, out, _ = run_cli("policy", "classify", "h200-sxm", "--dest", "DE", "--json")
    d = json.loads(out)
    assert d["buyer_hq"] == "CN" and d["non_chinese_buyer"]["buyer"] == "foreign-hq"
    # a buyer headquartered outside China in Germany needs no licence for an H200; a Chinese one does
    assert d["license_required"] != d["non_chinese_buyer"]["license_required"]


def test_version_answers_without_loading_the_command_tree():
    out = subprocess.run([sys.executable, "-c", "import sys; sys.argv=['suanli','--version'];"
                          "from suanli.cli import main; main(); print('typer' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0].startswith("suanli ") and out[1] == "False"


def test_startup_benchmark_exists_with_results():
    root = Path(__file__).resolve().parents[2]
    assert (root / "benchmarks" / "startup.py").exists()
    assert (root / "benchmarks" / "results" / "startup.md").exists()


def test_validate_predicts_repeated_configurations_once(tmp_path, catalog):
    """Rows that differ only in id and measured value share one prediction, and get the same one."""
    from suanli.perf import validate as v

    rows = [{"id": f"R{i}", "kind": "gemm", "hardware": "h100-sxm", "chips": "1", "metric": "tflops",
             "value": str(500 + i), "gemm_m": "8192", "gemm_n": "8192", "gemm_k": "8192", "weight_dtype": "bf16",
             "act_dtype": "bf16"} for i in range(50)]
    calls = []
    real = v.predict_row

    def counting(row, cat, p):
        calls.append(row["id"])
        return real(row, cat, p)

    import pytest as _pytest

    mp = _pytest.MonkeyPatch()
    mp.setattr(v, "predict_row", counting)
    try:
        rep = v.validate_records(rows, catalog)
    finally:
        mp.undo()
    assert len(calls) == 1 and len({r.predicted for r in rep.rows}) == 1
    assert rep.rows[0].predicted == v.validate_records(rows[:1], catalog).rows[0].predicted
    assert [r.ape for r in rep.rows][:2] != [None, None]


def test_validate_table_of_a_long_file_shows_the_worst_rows(run_cli, tmp_path, monkeypatch):
    import suanli.cli.validate as cv

    monkeypatch.setattr(cv, "TABLE_MAX_ROWS", 4)
    p = tmp_path / "long.csv"
    p.write_text(CSV_HEAD + "".join(ROW.format(id=f"R{i}", v=str(100 * (i + 1))) for i in range(10)),
                 encoding="utf-8")
    code, out, _ = run_cli("validate", str(p))
    text = " ".join(out.split())
    assert code == 0 and "largest errors" in text and "--json lists every row" in text
    assert "R0 " in text  # measured 100 TFLOPS: the largest error


COMMANDS = {
    "decode": (["predict", "decode", "-H", "h100-sxm", "-m", "llama-3.1-8b"],
               ["--chips", "--isl", "--osl", "--batch-per-chip", "--concurrency", "--tpot-slo-ms", "--tp"]),
    "prefill": (["predict", "prefill", "-H", "h100-sxm", "-m", "llama-3.1-8b"],
                ["--chips", "--isl", "--batch-per-chip", "--ttft-slo-ms", "--tp", "--pp"]),
    "pareto": (["predict", "pareto", "-H", "h100-sxm", "-m", "llama-3.1-8b"], ["--chips", "--isl", "--osl",
                                                                              "--ttft-slo-ms"]),
    "compare": (["compare", "-H", "h100-sxm,h20", "-m", "llama-3.1-8b"], ["--chips", "--isl", "--osl",
                                                                          "--tpot-slo-ms", "--ttft-slo-ms"]),
    "train": (["predict", "train", "-H", "h100-sxm", "-m", "llama-3.1-8b", "-n", "64", "--seq-len", "4096",
               "--global-batch", "256"], ["--chips", "--seq-len", "--global-batch", "--tp", "--pp", "--mbs"]),
    "plan-train": (["plan", "train", "-H", "h100-sxm", "-m", "llama-3.1-8b", "-n", "64", "--tokens", "1e12"],
                   ["--chips", "--tokens", "--seq-len", "--global-batch"]),
}


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), name=st.sampled_from(sorted(COMMANDS)))
def test_fuzz_numeric_options_of_every_prediction_command(run_cli, data, name):
    base, options = COMMANDS[name]
    opts = data.draw(st.dictionaries(st.sampled_from(options), EXTREME, min_size=1, max_size=2))
    args = [*base]
    for k, v in opts.items():
        args += [k, v]
    code, out, err = run_cli(*args, "--json")
    assert "Traceback" not in out + err and code in (0, 2), (args, code, out[-300:], err[-300:])
    doc = json.loads(out)
    if code == 2:
        assert doc.get("message") or any("error" in r for r in doc.get("results", [])), doc
    else:
        nums = _numbers(doc)
        assert nums and all(math.isfinite(x) for x in nums), args


def test_validate_all_skipped_json_carries_the_error(run_cli, tmp_path):
    p = tmp_path / "none.csv"
    p.write_text(CSV_HEAD + ROW.format(id="A", v="nan"), encoding="utf-8")
    code, out, _ = run_cli("validate", str(p), "--json")
    d = json.loads(out)
    assert code == 2 and d["error"] and "could be predicted" in d["message"] and d["rows"][0]["skipped"]
