"""The command line under bad input: every user error exits 2 with a message and a hint, never a traceback.

Each test pins a problem found by exercising the commands: what the user typed,
and what suanli must answer (status 2, what is wrong, how to fix it; with
``--json``, a JSON error object on stdout).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_CSV = ROOT / "data" / "validation" / "dev.csv"
SERVE = ("predict", "serve", "--hardware", "h200-sxm", "--model", "llama-3.1-70b", "--chips", "8")


def _user_error(code: int, out: str, err: str, *words: str) -> None:
    """Status 2, no traceback, and every word in the message or hint."""
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    text = " ".join((out + err).split())
    for w in words:
        assert w in text, (w, text)


def _json_error(out: str) -> dict:
    d = json.loads(out)
    assert set(d) >= {"error", "message", "hint"}
    return d


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("opt, value", [
    ("--chips", "0"), ("--chips", "-8"), ("--isl", "-5"), ("--isl", "0"), ("--isl", "nan"), ("--osl", "inf"),
    ("--tpot-slo-ms", "0"), ("--tpot-slo-ms", "-3"), ("--ttft-slo-ms", "nan"), ("--concurrency", "-1"),
    ("--tp", "0"),
])
def test_serve_rejects_non_positive_numbers(run_cli, opt, value):
    # before: --chips 0 said "no parallel layout fits 0 ranks", --isl -5 and --tpot-slo-ms 0 ran
    # (the zero SLO silently ignored), NaN SLOs claimed the model did not fit
    code, out, err = run_cli(*SERVE, opt, value)
    _user_error(code, out, err, f"{opt} must be a number > 0", "hint:")


def test_serve_bad_number_with_json_prints_json_error(run_cli):
    code, out, _ = run_cli(*SERVE, "--isl", "-5", "--json")
    assert code == 2
    assert "--isl" in _json_error(out)["message"]


@pytest.mark.parametrize("args", [
    ("predict", "prefill", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--batch-per-chip", "-1"),
    ("predict", "decode", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--batch-per-chip", "0"),
    ("predict", "decode", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--osl", "-1"),
    ("predict", "pareto", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--chips", "0"),
    ("compare", "-H", "h200-sxm,h20", "-m", "llama-3.1-70b", "--chips", "0"),
    ("compare", "-H", "h200-sxm,h20", "-m", "llama-3.1-70b", "--tpot-slo-ms", "0"),
    ("predict", "train", "-H", "h100-sxm", "-n", "8", "-m", "llama-3.1-8b", "--seq-len", "4096",
     "--global-batch", "64", "--mbs", "0"),
    ("predict", "train", "-H", "h100-sxm", "-n", "0", "-m", "llama-3.1-8b", "--seq-len", "4096",
     "--global-batch", "64"),
    ("plan", "train", "-m", "deepseek-v3", "--tokens", "nan", "-H", "h800-sxm", "-n", "2048"),
    ("plan", "train", "-m", "deepseek-v3", "--tokens", "inf", "-H", "h800-sxm", "-n", "2048"),
    ("plan", "train", "-m", "deepseek-v3", "--tokens", "-1", "-H", "h800-sxm", "-n", "2048"),
])
def test_other_commands_reject_non_positive_numbers(run_cli, args):
    # before: --batch-per-chip -1 predicted negative memory, --tokens nan printed a plan of NaN days,
    # --mbs 0 searched layouts with micro-batches of 0
    code, out, err = run_cli(*args)
    _user_error(code, out, err, "must be a number > 0", "hint:")


# --------------------------------------------------------------------------- choices and ids
@pytest.mark.parametrize("extra, words", [
    (("--kv-dtype", "xx"), ("unknown kv dtype 'xx'", "fp8")),          # was a ValueError traceback, exit 1
    (("--act-dtype", "xx"), ("unknown act dtype 'xx'",)),              # was silently run as bf16
    (("--scenario", "foo"), ("unknown --scenario 'foo'", "offline, server")),
    (("--engine", "vlm"), ("unknown engine 'vlm'", "did you mean: vllm")),   # was the default engine
    (("--spec-decode", "mtp9x"), ("--spec-decode", "mtp1")),
])
def test_serve_rejects_unknown_choices(run_cli, extra, words):
    code, out, err = run_cli(*SERVE, *extra)
    _user_error(code, out, err, *words)


def test_unknown_kv_dtype_json_is_an_error_object(run_cli):
    code, out, _ = run_cli(*SERVE, "--kv-dtype", "xx", "--json")
    assert code == 2
    assert _json_error(out)["message"] == "unknown kv dtype 'xx'"


def test_tp_that_does_not_divide_the_heads(run_cli):
    # before: --tp 3 on Llama-3.1-70B (64 heads) ran two TP3 instances
    code, out, err = run_cli(*SERVE, "--tp", "3")
    _user_error(code, out, err, "tp = 3 does not divide the 64 attention heads", "--tp 1 / 2 / 4 / 8")


def test_idle_chips_are_noted(run_cli):
    code, out, _ = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "12", "-m", "llama-3.1-70b", "--tp", "8")
    assert code == 0
    assert "8 of 12 chips used" in " ".join(out.split())


def test_system_of_another_chip_is_refused(run_cli):
    # before: H200 chips in a CloudMatrix 384 were predicted as if that made sense
    code, out, err = run_cli(*SERVE, "--system", "cloudmatrix-384")
    _user_error(code, out, err, "system 'cloudmatrix-384' holds ascend-910c, not h200-sxm", "hgx-h200")
    code, out, err = run_cli("predict", "train", "-H", "h100-sxm", "-n", "8", "-m", "llama-3.1-8b",
                             "--seq-len", "4096", "--global-batch", "64", "--system", "cloudmatrix-384")
    _user_error(code, out, err, "holds ascend-910c, not h100-sxm")


def test_system_of_the_chip_and_aliases_still_work(run_cli):
    for system in ("hgx-h200", "hgx-8"):
        code, out, _ = run_cli(*SERVE, "--system", system, "--json")
        assert code == 0, out
    code, out, _ = run_cli("predict", "serve", "-H", "ascend-910c", "-n", "16", "-m", "deepseek-v3",
                           "--system", "cloudmatrix-384", "--json")
    assert code == 0
    assert json.loads(out)["config"]["system"] == "cloudmatrix-384"


def test_system_id_given_as_hardware_says_so(run_cli):
    code, out, err = run_cli("predict", "serve", "--hardware", "hgx-h200", "--model", "llama-3.1-70b")
    _user_error(code, out, err, "unknown accelerator id 'hgx-h200'", "hgx-h200 is a system", "h200-sxm")
    code, out, err = run_cli("catalog", "show", "hgx-h200", "--json")
    assert code == 2
    assert "h200-sxm" in _json_error(out)["hint"]


def test_unknown_system_hint_names_a_command_that_exists(run_cli):
    # before: "run `suanli catalog systems list`", which looks up a system called 'list'
    code, out, err = run_cli(*SERVE, "--system", "zzzzzz")
    _user_error(code, out, err, "unknown system id 'zzzzzz'", "`suanli catalog systems`")
    assert "systems list" not in err


def test_chip_without_peaks_hint_uses_the_real_option(run_cli):
    code, out, err = run_cli("predict", "serve", "-H", "enflame-s60", "-m", "llama-3.1-70b")
    _user_error(code, out, err, "has no dense compute peak", "--catalog FILE", "overlay-made-up-chip.yaml")
    assert "suanli --catalog" not in err          # --catalog is a command option, not a root one


# --------------------------------------------------------------------------- SLOs nobody meets
@pytest.mark.parametrize("args, words", [
    (SERVE + ("--tpot-slo-ms", "0.001"), "no configuration meets the SLOs given"),
    (("predict", "decode", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--tpot-slo-ms", "0.01"),
     "no decode configuration meets the SLOs given"),
    (("predict", "prefill", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--ttft-slo-ms", "0.01"),
     "no prefill configuration meets the SLOs given"),
    (("predict", "pareto", "-H", "h200-sxm", "-m", "llama-3.1-70b", "--ttft-slo-ms", "0.01"),
     "no configuration meets the TTFT SLO given"),
])
def test_unmet_slo_is_not_reported_as_out_of_memory(run_cli, args, words):
    # before: the SLO mask was applied in place to the memory mask, so every unmet SLO
    # said "llama-3.1-70b does not fit on 8 x h200-sxm" (it fits with room to spare)
    code, out, err = run_cli(*args)
    _user_error(code, out, err, words, "hint:")
    assert "does not fit" not in err


def test_model_that_does_not_fit_still_says_so(run_cli):
    code, out, err = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "1", "-m", "deepseek-v3")
    # the weights are in fp8 already and the H200 has no FP4 units: int4 (weight-only) is the smaller format left
    _user_error(code, out, err, "does not fit on 1 x h200-sxm", "--chips", "(--weight-dtype int4)")
    code, out, err = run_cli("predict", "serve", "-H", "b200", "-n", "1", "-m", "deepseek-v3")
    _user_error(code, out, err, "does not fit on 1 x b200", "(--weight-dtype int4/fp4)")


def test_smallest_weight_format_offers_no_smaller_one(run_cli):
    code, out, err = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "1", "-m", "deepseek-v3",
                             "--weight-dtype", "int4")
    _user_error(code, out, err, "does not fit on 1 x h200-sxm", "int4 is already the smallest weight format")
    assert "--weight-dtype" not in err


def test_load_whose_kv_cache_does_not_fit_names_the_load(run_cli):
    # 12,360 Llama 2 70B requests of 222 + 274 tokens on 8 B200, one instance per chip: the weights (40 GB
    # in fp4) fit each chip, the KV cache does not. By hand: 80 layers x 8 KV heads x 128 x 2 (K, V) x 1 byte
    # (fp8) = 163,840 bytes per token; x 496 tokens x 12,360 requests = 1,004 GB.
    code, out, err = run_cli("predict", "serve", "-H", "b200", "-n", "8", "-m", "llama-2-70b", "--weight-dtype", "fp4",
                             "--kv-dtype", "fp8", "--isl", "222", "--osl", "274", "--scenario", "fixed",
                             "--concurrency", "12360", "--tp", "1", "--pp", "1")
    _user_error(code, out, err, "with 12,360 requests in flight", "about 1,004 GB in fp8", "40 GB in fp4",
                "--concurrency", "drop --tp/--pp")
    assert "--weight-dtype" not in err and "--kv-dtype" not in err   # fp4 weights, fp8 KV: nothing smaller to offer
    # left to the search, fewer copies of the weights make room for the same load
    code, out, err = run_cli("predict", "serve", "-H", "b200", "-n", "8", "-m", "llama-2-70b", "--weight-dtype", "fp4",
                             "--kv-dtype", "fp8", "--isl", "222", "--osl", "274", "--scenario", "fixed",
                             "--concurrency", "12360", "--json")
    assert code == 0, err
    assert json.loads(out)["config"]["batch_per_instance"] * json.loads(out)["config"]["instances"] == 12360


# --------------------------------------------------------------------------- usage errors under --json
@pytest.mark.parametrize("args, kind", [
    (("plan", "train", "-m", "deepseek-v3", "--tokens", "abc", "-H", "h800-sxm", "-n", "8", "--json"),
     "BadParameter"),
    (("catalog", "shwo", "h200-sxm", "--json"), "UsageError"),
    (("predict", "serve", "--hardware", "h200-sxm", "--json"), "MissingParameter"),
    (("predict", "serve", "--hardware", "h200-sxm", "--model", "x", "--chipz", "8", "--json"), "NoSuchOption"),
])
def test_usage_error_with_json_prints_a_json_error(run_cli, args, kind):
    code, out, err = run_cli(*args)
    assert code == 2
    d = _json_error(out)
    assert d["error"] == kind
    assert "--help" in d["hint"]
    assert "Traceback" not in err


def test_usage_error_without_json_keeps_typer_message(run_cli):
    code, out, err = run_cli("catalog", "show", "h200-sxm", "--jsn")
    assert code == 2
    assert out == ""
    assert "No such option" in err and "--json" in err


# --------------------------------------------------------------------------- compare
def test_compare_unknown_id_among_several_exits_2(run_cli):
    # before: the typo became a table row and the command exited 0 without the "did you mean"
    code, out, err = run_cli("compare", "-H", "h200-sxm,h2000", "-m", "llama-3.1-70b")
    _user_error(code, out, err, "unknown accelerator id 'h2000'", "did you mean", "h200-sxm")


def test_compare_empty_list(run_cli):
    code, out, err = run_cli("compare", "-H", ",", "-m", "llama-3.1-70b")
    _user_error(code, out, err, "--hardware names no accelerator")


def test_compare_chip_that_cannot_serve_keeps_its_row_and_hint(run_cli):
    code, out, err = run_cli("compare", "-H", "h200-sxm,enflame-s60", "-m", "llama-3.1-70b")
    assert code == 0
    assert "enflame-s60" in out
    assert "has no dense compute peak" in err and "hint:" in err


def test_compare_where_no_chip_can_exits_2_with_the_result(run_cli):
    code, out, err = run_cli("compare", "-H", "h200-sxm,h20", "-m", "llama-3.1-70b", "--tpot-slo-ms", "0.01",
                             "--json")
    assert code == 2
    d = json.loads(out)
    assert [r["hardware"] for r in d["results"]] == ["h200-sxm", "h20"]
    assert all("no configuration meets the SLOs" in r["error"] for r in d["results"])


# --------------------------------------------------------------------------- validate
def _csv(tmp_path: Path, rows: list[str], header: str | None = None) -> Path:
    head = header if header is not None else DEV_CSV.read_text(encoding="utf-8").splitlines()[0]
    p = tmp_path / "m.csv"
    p.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return p


def _dev_row(n: int = 1) -> str:
    return DEV_CSV.read_text(encoding="utf-8").splitlines()[n]


def test_validate_bad_rows_are_skipped_with_the_reason(run_cli, tmp_path):
    good = _dev_row()
    rid, rest = good.split(",", 1)
    cells = rest.split(",")

    def variant(new_id: str, **change: str) -> str:
        c = list(cells)
        cols = DEV_CSV.read_text(encoding="utf-8").splitlines()[0].split(",")[1:]
        for k, v in change.items():
            c[cols.index(k)] = v
        return ",".join([new_id, *c])

    p = _csv(tmp_path, [
        good,
        variant("BAD-HW", hardware="b2000"),
        variant("BAD-CHIPS", chips="abc"),
        variant("BAD-MODEL", model="deepseek-v9"),
        variant("BAD-KV", kv_dtype="xx"),
        variant("NO-PEAKS", hardware="enflame-s60"),
        variant("BAD-VALUE", value="n/a"),
        "SHORT,serve,h200-sxm,8",
    ])
    code, out, err = run_cli("validate", str(p), "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)["rows"]}
    assert not rows[rid]["skipped"]
    reasons = {k: r["reason"] for k, r in rows.items() if r["skipped"]}
    assert reasons == {
        "BAD-HW": "unknown accelerator id 'b2000'",
        "BAD-CHIPS": "chips is not a number ('abc')",          # was "no parallel layout fits 1 ranks"
        "BAD-MODEL": "unknown model id 'deepseek-v9'",
        "BAD-KV": "unknown kv dtype 'xx'",                    # was a traceback for the whole file
        "NO-PEAKS": "accelerator 'enflame-s60' has no dense compute peak in the catalog",
        "BAD-VALUE": "value is not a number ('n/a')",
        "SHORT": "no measured value",
    }
    code, out, err = run_cli("validate", str(p))
    assert code == 0
    assert "skipped because" in out


@pytest.mark.parametrize("content, words", [
    ("", "no records"),
    (None, "no records"),                                      # header only
    ("MISSING", "missing required column(s): metric"),
])
def test_validate_malformed_files(run_cli, tmp_path, content, words):
    head = DEV_CSV.read_text(encoding="utf-8").splitlines()[0]
    p = tmp_path / "m.csv"
    if content == "MISSING":
        p.write_text(head.replace(",metric,", ",") + "\n" + _dev_row() + "\n", encoding="utf-8")
    else:
        p.write_text(head + "\n" if content is None else content, encoding="utf-8")
    code, out, err = run_cli("validate", str(p), "--json")
    assert code == 2
    d = _json_error(out)
    assert words in d["message"] and d["file"] == str(p)


@pytest.mark.parametrize("args, words", [
    (("--kind", "servee"), "did you mean: serve"),
    (("--by", "vendr"), "cannot group by 'vendr'"),
    (("--folds", "-1"), "--folds must be >= 0"),
])
def test_validate_bad_options(run_cli, args, words):
    code, out, err = run_cli("validate", str(DEV_CSV), *args)
    _user_error(code, out, err, words)


def test_validate_progress_bar_only_on_a_terminal(run_cli, tmp_path, monkeypatch):
    import suanli.cli.validate as vcli
    from suanli.catalog import get_catalog
    from suanli.perf.validate import validate_file

    p = _csv(tmp_path, [_dev_row(i) for i in range(1, 6)])
    monkeypatch.setattr(vcli, "PROGRESS_MIN_ROWS", 1)
    # not a terminal (the test runner): no bar in the output
    code, out, _ = run_cli("validate", str(p))
    assert code == 0 and "predicting" not in out
    # the per-row path behind the bar gives the same report as validate_file
    cat = get_catalog()
    assert vcli._validate_with_progress(p, cat, None, "kind").to_dict() == validate_file(p, cat).to_dict()


# --------------------------------------------------------------------------- files
def test_perf_params_yaml_error_has_line_and_hint(run_cli, tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("maturity:\n  cuda: [1\n", encoding="utf-8")
    code, out, err = run_cli(*SERVE, "--perf-params", str(p), "--json")
    assert code == 2
    d = _json_error(out)
    assert d["line"] and "not valid YAML" in d["message"] and d["hint"]


def test_perf_params_unknown_key_is_refused(run_cli, tmp_path):
    # before: a misspelt top-level key was merged in and silently did nothing
    p = tmp_path / "params.yaml"
    p.write_text("maturty:\n  cann: {value: 0.8}\n", encoding="utf-8")
    code, out, err = run_cli(*SERVE, "--perf-params", str(p))
    _user_error(code, out, err, "unknown top-level key 'maturty'", "did you mean: maturity")


def test_scenario_file_with_yaml_error(run_cli, tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("id: my\nchanges:\n  - op: revoke\n   target: x\n", encoding="utf-8")
    code, out, err = run_cli("policy", "classify", "h20", "--scenario", str(p), "--json")
    assert code == 2
    d = _json_error(out)
    assert d["line"] == 4 and "not valid YAML" in d["message"]


# --------------------------------------------------------------------------- filters
@pytest.mark.parametrize("args, words", [
    (("catalog", "list", "--category", "chp"), "did you mean: chip"),
    (("policy", "rules", "list", "--side", "xx"), "one of us, cn"),
    (("policy", "rules", "list", "--status", "revokd"), "did you mean: revoked"),
])
def test_unknown_filter_values(run_cli, args, words):
    # before: an unknown --category / --side / --status listed nothing and exited 0
    code, out, err = run_cli(*args)
    _user_error(code, out, err, words)


def test_known_filter_values_still_work(run_cli):
    code, out, _ = run_cli("catalog", "list", "--category", "Chip", "--json")
    assert code == 0 and json.loads(out)["n"] > 0
    code, out, _ = run_cli("policy", "rules", "list", "--status", "revoked", "--json")
    assert code == 0 and json.loads(out)["n"] == 0


# --------------------------------------------------------------------------- every command
def _leaves():
    import typer

    from suanli.cli.main import app

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, path + (name,))
        else:
            yield path, cmd

    return list(walk(typer.main.get_command(app), ()))


def test_every_command_has_json_and_examples():
    leaves = _leaves()
    assert len(leaves) >= 23
    for path, cmd in leaves:
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert "--json" in opts, path
        assert "Examples" in (cmd.help or ""), path


def test_predict_serve_fixed_scenario_waves(run_cli):
    """--scenario fixed: a benchmark client holding --concurrency fixed-length requests sent at once. On a
    disaggregated deployment the wave reaches the prefill chips together: TTFT = (C + 1) prompts' service / 2."""
    C, isl = 128, 3500
    args = ("predict", "serve", "-H", "ascend-910c", "-n", "16", "-m", "deepseek-v3", "--weight-dtype", "int4",
            "--disagg", "--isl", str(isl), "--osl", "1500", "--concurrency", str(C), "--scenario", "fixed", "--json")
    code, out, _ = run_cli(*args)
    assert code == 0, out
    d = json.loads(out)
    m, c = d["metrics"], d["config"]
    one_s = isl / (m["prefill_input_tps_per_chip"] * c["prefill_chips"])
    assert m["ttft_ms"] / 1e3 == pytest.approx(0.5 * (C + 1) * one_s, rel=1e-6)
    code, _, err = run_cli("predict", "serve", "-H", "ascend-910c", "-n", "16", "-m", "deepseek-v3",
                           "--scenario", "fixed")
    assert code == 2 and "needs a concurrency" in err


def test_requests_past_the_context_window_warn(run_cli):
    # Llama 3.1 8B's config.json: max_position_embeddings 131,072; 200,000 + 1,024 tokens run past it
    code, out, err = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "1", "-m", "llama-3.1-8b", "--isl", "200000",
                             "--json")
    assert code == 0, err
    w = [x for x in json.loads(out)["warnings"] if "context window" in x]
    assert len(w) == 1 and "201,024 tokens" in w[0] and "131,072" in w[0] and "extrapolates" in w[0]
    code, out, err = run_cli("predict", "serve", "-H", "h200-sxm", "-n", "1", "-m", "llama-3.1-8b", "--isl", "100000",
                             "--json")
    assert code == 0 and not any("context window" in x for x in json.loads(out)["warnings"])
