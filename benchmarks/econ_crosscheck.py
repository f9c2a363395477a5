"""Cross-checks of suanli's cost per million tokens against published figures (recorded in docs/economics.md).

1. InferenceX (SemiAnalysis) DeepSeek-R1 $/Mtok on B200, H100 and H200, with SemiAnalysis' owning-cost
   tiers as the chip-hour rate and suanli's own predicted throughput at the same interactivity.
2. DeepSeek's published production day (2 USD per H800-hour, 73.7k input / 14.8k output tokens/s per node),
   with the published throughputs and with suanli's predicted ones.

Writes benchmarks/results/econ_crosscheck.json. Run: .venv/bin/python benchmarks/econ_crosscheck.py
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from suanli.catalog import get_catalog
from suanli.econ import tco
from suanli.econ.cost import serving_cost
from suanli.econ.prices import load_pricebook
from suanli.perf.search import Request, predict_phase

OUT = Path(__file__).parent / "results" / "econ_crosscheck.json"

# (label, hardware, chips, isl, osl, tok/s per user, published USD/Mtok, published tok/s/GPU, source)
INFERENCEX = [
    ("DeepSeek-R1 FP8 8k/1k at 23 tok/s/user", "b200", 8, 8192, 1024, 23, 0.092, 5857,
     "https://inferencex.semianalysis.com/compare/deepseek-r1-b200-vs-mi300x"),
    ("DeepSeek-R1 FP8 8k/1k at 75 tok/s/user", "b200", 8, 8192, 1024, 75, 0.226, 2558,
     "https://inferencex.semianalysis.com/zh/compare/deepseek-r1-b200-vs-gb200"),
    ("DeepSeek-R1 FP8 1k/1k at 42 tok/s/user", "h100-sxm", 16, 1024, 1024, 42, 1.365, 266,
     "https://inferencex.semianalysis.com/zh/compare/deepseek-r1-b200-vs-h100"),
    ("DeepSeek-R1 FP8 1k/1k at 42 tok/s/user", "b200", 8, 1024, 1024, 42, 0.113, 4792,
     "https://inferencex.semianalysis.com/zh/compare/deepseek-r1-b200-vs-h100"),
    ("DeepSeek-R1 on HGX H200 (NVIDIA's reading of InferenceX v2, setting not stated; 1k/1k at 42 assumed)",
     "h200-sxm", 8, 1024, 1024, 42, 4.20, 90, "https://en.theblockbeats.news/flash/343757"),
]
TIERS = ("semianalysis-own-hyperscaler-2026-07", "semianalysis-own-hyperscaler-2025-08")


def inferencex_rows(cat) -> list[dict]:
    book = load_pricebook()
    rows = []
    for label, hw, chips, isl, osl, tpu, pub, pub_tps, src in INFERENCEX:
        tpot = 1000.0 / tpu
        row = {"setting": label, "hardware": hw, "chips": chips, "isl": isl, "osl": osl, "tpot_slo_ms": tpot,
               "published_usd_per_mtok_total": pub, "published_tps_per_gpu": pub_tps, "source": src}
        # the rate the published figure implies: $/Mtok x tok/s x 3600 / 1e6 (total tokens)
        row["implied_usd_per_gpu_hour"] = pub * pub_tps * 3600 / 1e6
        for tier in TIERS:
            rate = book.tier(tier).rates.get(hw)
            if rate is None:
                continue
            c = serving_cost(hw, "deepseek-v3", chips, request={"isl": isl, "osl": osl, "tpot_slo_ms": tpot,
                                                                 "scenario": "offline"},
                             inputs={"tier": tier}, currency="USD", catalog=cat, date="2026-07-01")
            # InferenceX prices total tokens against throughput per GPU at the interactivity
            pred_total = c.throughput["total"]
            try:  # the same with one MTP draft token, as the fastest published runs use
                m = serving_cost(hw, "deepseek-v3", chips, request={"isl": isl, "osl": osl, "tpot_slo_ms": tpot,
                                                                     "scenario": "offline", "spec_decode": "mtp1"},
                                 inputs={"tier": tier}, currency="USD", catalog=cat, date="2026-07-01")
                mtp = {"predicted_total_tps_per_gpu": m.throughput["total"],
                       "suanli_usd_per_mtok_total": m.per_mtok["total"],
                       "ratio_to_published": m.per_mtok["total"] / pub}
            except Exception as exc:  # noqa: BLE001 - recorded, not fatal
                mtp = {"error": str(exc)}
            row[tier] = {"usd_per_gpu_hour": rate, "predicted_total_tps_per_gpu": pred_total, "with_mtp1": mtp,
                         "predicted_output_tps_per_gpu": c.throughput["output"],
                         "suanli_usd_per_mtok_total": c.per_mtok["total"],
                         "band": c.per_mtok_band["total"] if c.per_mtok_band else None,
                         "ratio_to_published": c.per_mtok["total"] / pub,
                         "with_published_throughput": float(tco.cost_per_mtok(rate, pub_tps))}
        rows.append(row)
    return rows


def deepseek_rows(cat) -> dict:
    inp, out = 608e9 / 86400, 168e9 / 86400
    nodes = float(tco.pooled_chips(inp, out, 73.7e3, 14.8e3))
    day = nodes * 8 * 2.0 * 24
    res = {"published": {"nodes_avg": 226.75, "usd_per_day": 87072, "usd_per_mtok_total": 0.112,
                         "source": "https://github.com/deepseek-ai/open-infra-index/blob/main/202502OpenSourceWeek/"
                                   "day_6_one_more_thing_deepseekV3R1_inference_system_overview.md"},
           "with_published_throughput": {"nodes": nodes, "usd_per_day": day,
                                         "usd_per_mtok_total": day / (608e9 + 168e9) * 1e6}}
    # suanli's own prediction of one H800 prefill node and one decode node at DeepSeek's published layout:
    # prefill EP32 (4 nodes), decode EP144 (18 nodes), ~20 tokens/s per user (TPOT 50 ms), prompts of
    # ~1.1k tokens after 56% cache hits (608 bn input / 168 bn output = 3.6 input per output; average
    # output ~1k tokens assumed)
    pre = predict_phase(cat, Request(hardware="h800-sxm", model="deepseek-v3", chips=32, isl=3620, osl=1000,
                                     ttft_slo_ms=5000), "prefill")
    dec = predict_phase(cat, Request(hardware="h800-sxm", model="deepseek-v3", chips=144, isl=3620, osl=1000,
                                     tpot_slo_ms=50), "decode")
    p_node = float(pre.metrics["input_tps_per_chip"]) * 8
    d_node = float(dec.metrics["output_tps_per_chip"]) * 8
    # the published input figure counts cache hits, which cost no prefill compute: 43.7% of it is computed
    p_node_incl_hits = p_node / (1 - 0.563)
    nodes_s = float(tco.pooled_chips(inp, out, p_node_incl_hits, d_node))
    day_s = nodes_s * 8 * 2.0 * 24
    res["suanli_predicted"] = {"prefill_tps_per_node_computed": p_node,
                               "prefill_tps_per_node_incl_cache_hits": p_node_incl_hits,
                               "decode_tps_per_node": d_node, "nodes": nodes_s, "usd_per_day": day_s,
                               "usd_per_mtok_total": day_s / (608e9 + 168e9) * 1e6,
                               "ratio_to_published": day_s / (608e9 + 168e9) * 1e6 / 0.112}
    return res


def main() -> None:
    cat = get_catalog()
    t0 = time.perf_counter()
    out = {"machine": f"{platform.node()} ({platform.machine()}, {platform.python_version()})",
           "date": time.strftime("%Y-%m-%d"), "inferencex": inferencex_rows(cat), "deepseek": deepseek_rows(cat)}
    out["wall_s"] = time.perf_counter() - t0
    OUT.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
