"""`suanli catalog` and `suanli models` from the command line, JSON and tables."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "overlay-made-up-chip.yaml"


def test_show_h200_json(run_cli):
    code, out, _ = run_cli("catalog", "show", "h200-sxm", "--json")
    assert code == 0
    d = json.loads(out)
    acc = d["accelerator"]
    assert acc["bf16_tflops"]["value"] == pytest.approx(989.4)
    assert acc["mem_capacity_gb"]["value"] == 141
    assert acc["mem_bw_tbps"]["value"] == pytest.approx(4.8)
    for f in ("bf16_tflops", "mem_capacity_gb", "mem_bw_tbps"):
        assert acc[f]["source"] and acc[f]["confidence"]
    assert abs(d["derived"]["tpp"]["value"] - 15832) <= 1
    assert "hgx-h200" in d["systems"]


def test_list_json_has_every_id(run_cli):
    code, out, _ = run_cli("catalog", "list", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["n"] == len(d["accelerators"]) >= 70


def test_list_filters(run_cli):
    code, out, _ = run_cli("catalog", "list", "--vendor", "huawei", "--category", "chip", "--json")
    ids = {a["id"] for a in json.loads(out)["accelerators"]}
    assert "ascend-910c" in ids and "h200-sxm" not in ids and "cloudmatrix-384" not in ids


def test_compare_json_ratios(run_cli):
    code, out, _ = run_cli("catalog", "compare", "h200-sxm", "h20", "ascend-910c", "--json")
    assert code == 0
    m = json.loads(out)["metrics"]
    # H20 dense BF16 148 / H200 989.4 = 15.0% (the article's 7.5% compares dense with sparse)
    assert m["bf16_tflops"]["ratio"]["h20"] == pytest.approx(148 / 989.4)
    assert m["mem_bw_tbps"]["ratio"]["h20"] == pytest.approx(4.0 / 4.8)
    assert m["fp8_tflops"]["values"]["ascend-910c"] is None  # no FP8 on 910C: unknown, not zero
    assert m["fp8_tflops"]["ratio"]["ascend-910c"] is None


def test_compare_table(run_cli):
    code, out, _ = run_cli("catalog", "compare", "h200-sxm", "h20", "h100-sxm", "ascend-910c")
    assert code == 0 and "ascend-910c" in out and "bf16_tflops" in out


def test_show_table(run_cli):
    code, out, _ = run_cli("catalog", "show", "ascend-910c")
    assert code == 0 and "780" in out and "alternatives" in out


def test_unknown_id_exits_2_with_suggestion(run_cli):
    code, out, err = run_cli("catalog", "show", "h2000")
    assert code == 2
    assert "did you mean" in err and "h20" in err


def test_unknown_id_json_error(run_cli):
    code, out, _ = run_cli("catalog", "show", "h2000", "--json")
    assert code == 2
    d = json.loads(out)
    assert d["error"] == "UnknownIdError" and d["suggestions"]


def test_overlay_option(run_cli):
    code, out, _ = run_cli("catalog", "show", "xyz-1000", "--catalog", str(EXAMPLE), "--json")
    assert code == 0 and json.loads(out)["accelerator"]["fp8_tflops"]["value"] == 800


def test_systems(run_cli):
    code, out, _ = run_cli("catalog", "systems", "--json")
    ids = {s["id"] for s in json.loads(out)["systems"]}
    assert {"gb200-nvl72", "gb300-nvl72", "cloudmatrix-384", "hgx-h200", "atlas-800-a2", "pcie-8"} <= ids
    code, out, _ = run_cli("catalog", "systems", "cloudmatrix-384")
    assert code == 0 and "384" in out


def test_models_show_deepseek(run_cli):
    code, out, _ = run_cli("models", "show", "deepseek-v3", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["total_params_b"] == pytest.approx(671, rel=0.03)
    assert d["active_params_b"] == pytest.approx(37, rel=0.05)
    # MLA caches the latent: 61 layers x (512 + 64) x 2 bytes = 70,272 B/token in BF16
    assert d["kv_bytes_per_token"]["bf16"] == 61 * 576 * 2
    assert d["kv_bytes_per_token"]["fp8"] == 61 * 576


def test_models_list_and_unknown(run_cli):
    code, out, _ = run_cli("models", "list", "--json")
    assert code == 0 and json.loads(out)["n"] >= 15
    code, _, err = run_cli("models", "show", "llama-4")
    assert code == 2 and "did you mean" in err


def test_python_m_entry_point():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "suanli", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("suanli ")


def test_models_show_from_config_file(run_cli, tmp_path):
    cfg = tmp_path / "config.json"
    # A small Llama-style model: 2 layers, hidden 256, 4 heads, 2 KV heads.
    cfg.write_text(json.dumps({"model_type": "llama", "hidden_size": 256, "intermediate_size": 512,
                               "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                               "vocab_size": 1000}))
    code, out, _ = run_cli("models", "show", "--model-config", str(cfg), "--json")
    assert code == 0, out
    d = json.loads(out)
    # KV bytes/token in bf16 = 2 (K,V) x 2 layers x 2 kv heads x 64 head_dim x 2 bytes = 1024
    assert d["kv_bytes_per_token"]["bf16"] == 1024
    code, _, err = run_cli("models", "show", "--model-config", str(tmp_path / "missing.json"))
    assert code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  \"hidden_size\": 12,\n")
    code, _, err = run_cli("models", "show", "--model-config", str(bad))
    assert code == 2 and "bad.json" in err
