"""`suanli predict`: serving performance of a model on an accelerator (serve, prefill, decode, pareto).

Thin shell over :mod:`suanli.perf.search`: options become a
:class:`~suanli.perf.search.Request`; ``--json`` prints the result's ``to_dict()``.
Heavy modules are imported inside the commands so that start-up stays fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from suanli.cli.common import (
    CATALOG_OPTION, JSON_OPTION, band_rows, check_choice, check_positive, check_system, console, fmt, guarded, print_json, table,
)

app = typer.Typer(help="Predict serving performance: best configuration, prefill, decode, Pareto curve.",
                  no_args_is_help=True)

HW = typer.Option(..., "--hardware", "-H", help="Accelerator id, e.g. h200-sxm, ascend-910c.")
MODEL = typer.Option(..., "--model", "-m", help="Model id (e.g. deepseek-v3) or path to a config.json.")
CHIPS = typer.Option(8, "--chips", "-n", help="Accelerators (a package counts once).")
ISL = typer.Option(1024.0, "--isl", help="Mean input tokens per request.")
OSL = typer.Option(1024.0, "--osl", help="Mean output tokens per request.")
WD = typer.Option("fp8", "--weight-dtype", help="bf16, fp16, fp8, int8, int4, w4a16, fp4 (falls back where unsupported).")
AD = typer.Option(None, "--act-dtype", help="Matmul compute format (default follows the weights).")
KD = typer.Option(None, "--kv-dtype", help="KV-cache format: bf16, fp16, fp8, int8 (default: fp8 with fp8/fp4 weights, else bf16).")
SYSTEM = typer.Option(None, "--system", help="System id or hgx-8 (default: the chip's usual box).")
ENGINE = typer.Option(None, "--engine", help="Serving engine: trt-llm, vllm, sglang (others: add under engines with --perf-params).")
TP = typer.Option(None, "--tp", help="Fix tensor parallelism (default: searched).")
PP = typer.Option(None, "--pp", help="Fix pipeline parallelism.")
EP = typer.Option(None, "--ep", help="Fix expert parallelism.")
DP = typer.Option(None, "--dp", help="Fix attention data parallelism (DeepSeek-style).")
SPEC = typer.Option(None, "--spec-decode", help="Speculative decoding: mtpN (the model's MTP head) or eagleN, N = 1-8 draft tokens; or none.")
PARAMS = typer.Option(None, "--perf-params", help="YAML overriding model parameters (efficiencies, maturity...).")
ISL_CV = typer.Option(0.0, "--isl-cv", help="Spread of input lengths, std / mean (0: all requests the same).")
OSL_CV = typer.Option(0.0, "--osl-cv", help="Spread of output lengths, std / mean (e.g. 1.1 for MLPerf DeepSeek-R1).")
OSL_MAX = typer.Option(None, "--osl-max", help="Longest output (a benchmark's cap), tokens.")
LENGTHS = typer.Option(None, "--lengths", help="CSV of requests (columns isl,osl in tokens): sets --isl/--osl and "
                                               "their spread from the data.")
MAX_BATCH = typer.Option(None, "--max-batch-per-rank", help="Engine cap on sequences per rank (default: the engine's).")
MAX_TOKENS = typer.Option(None, "--max-num-tokens", help="Engine cap on tokens per step per rank (default: the engine's).")
CHUNKED = typer.Option(None, "--chunked-prefill/--no-chunked-prefill", help="Chunked prefill (default: the engine's).")
MIXED = typer.Option(None, "--mixed-chunk/--no-mixed-chunk",
                     help="Prompt chunks ride in decode steps; --no-mixed-chunk: prompts run first in prefill-only "
                          "batches and decoding waits; with attention DP the ranks' steps mix either way (default: the engine's profile).")
MAX_SEQ = typer.Option(None, "--max-seq-len", help="Engine cap on input + output tokens of one request.")
STREAM = typer.Option(None, "--stream-interval", min=1,
                      help="Steps between two responses to a streaming client (server and fixed scenarios; "
                           "default 1: every token). TensorRT-LLM with attention DP handles every rank's responses "
                           "on one rank, so a larger interval cuts that host work.")


def _lengths(path: Optional[Path], kw: dict) -> dict:
    """``kw`` with isl/osl and their spread taken from a CSV of request lengths, when one is given."""
    if path is None:
        return kw
    from suanli.catalog.load import read_text
    from suanli.perf.lengths import parse_lengths_csv

    stats = parse_lengths_csv(read_text(path, hint="a CSV with columns isl,osl (tokens per request)"), str(path))
    return {**kw, **stats}


def _catalog(paths: Optional[list[Path]]) -> Any:
    from suanli.catalog import get_catalog

    return get_catalog(tuple(paths or ()))


def _params(path: Optional[Path]) -> Any:
    from suanli.perf.hardware import load_params

    return load_params(path) if path else None


def _request(cat: Any, params: Any, **kw: Any) -> Any:
    """The search request, after checking every option a user can get wrong (SuanliError, exit 2)."""
    from suanli.perf.hardware import load_params
    from suanli.perf.search import Request

    check_positive(**{k: kw.get(k) for k in ("chips", "isl", "osl", "ttft_slo_ms", "tpot_slo_ms", "concurrency",
                                            "batch_per_chip", "tp", "pp", "ep", "dp", "arrival_rate")})
    cat.model(kw["model"])           # unknown ids first, with their "did you mean"
    check_system(cat, kw["hardware"], kw.get("system"))
    if kw.get("engine"):
        engines = [e for e in (params or load_params()).get("engines", {}) if e != "default"]
        check_choice("engine", kw["engine"].strip().lower(), engines,
                     hint=f"one of {', '.join(engines)} (add others under 'engines' with --perf-params), "
                          "or leave --engine out")
    return Request(**{k: v for k, v in kw.items() if v is not None})


def _where(pred: Any, given: str) -> str:
    """``8 x ascend-910c in cloudmatrix-384``: the chips computed, and the system when the id given was one."""
    system = pred.config.get("system")
    chip = f"{pred.chips} x {pred.hardware}"
    return f"{chip} in {system}" if system and given.lower() == system else chip


def _show(pred: Any, title: str) -> None:
    m, c = pred.metrics, pred.config
    rows = [
        ("output tokens/s per chip", m["output_tps_per_chip"]),
        ("input tokens/s per chip", m["input_tps_per_chip"]),
        ("TTFT ms", m["ttft_ms"]),
        ("TPOT ms", m["tpot_ms"]),
        ("tokens/s per user", m["tps_per_user"]),
    ]
    if "ttft_p99_ms" in m:  # server scenario: the SLOs hold at p99 under Poisson arrivals
        rows += [("TTFT p99 ms", m["ttft_p99_ms"]), ("TPOT p99 ms", m["tpot_p99_ms"]),
                 ("requests/s per instance", m.get("requests_per_s_per_instance")),
                 ("load (share of the instance's max)", c.get("server_utilization"))]
    rows += band_rows(pred.error_band)
    console.print(table(title, ["metric", "value"], rows))
    if c.get("scenario"):
        slos = [f"{k} {c['slo_basis']} <= {fmt(c[f'{k.lower()}_slo_ms'])} ms" for k in ("TTFT", "TPOT")
                if c.get(f"{k.lower()}_slo_ms") is not None]
        every = c.get("stream_interval") or 1
        console.print(f"[bold]scenario[/]: {c['scenario']}" + (f"; SLOs: {', '.join(slos)}" if slos else "")
                      + (("; clients take each token as it is made (streamed responses)" if every == 1 else
                          f"; clients get a streamed response every {every} steps")
                         if c.get("streamed_responses") else ""))
    for d in c.get("defaults") or []:
        console.print(f"[dim]default:[/] {d}", highlight=False)
    ln, lim = c.get("lengths") or {}, c.get("engine_limits") or {}
    if ln:
        console.print(f"[bold]lengths[/]: isl cv {fmt(ln['isl_cv'])}, osl cv {fmt(ln['osl_cv'])}"
                      + (f", osl max {fmt(ln['osl_max'])}" if ln.get("osl_max") else "")
                      + f"; decode reads {fmt(ln['decode_ctx'])} tokens of context per request, "
                      + (f"KV held {fmt(ln['kv_tokens'])} tokens per request on average (staggered requests), "
                         f"and room for {fmt(ln['kv_spread'])} x sqrt(n) more requests' worth "
                         "at the 99th percentile"
                         if ln.get("kv_rule") == "staggered" else
                         f"KV held {fmt(ln['kv_tokens'])} tokens per request (fixed lengths run in waves: each "
                         "at its final length)"), highlight=False)
    if lim:
        src = lim.get("source", {})
        console.print("[bold]engine limits[/]: " + ", ".join(f"{k} {fmt(lim[k]) if not isinstance(lim[k], bool) else lim[k]}"
                                                            f" ({src.get(k, '')})"
                                                            for k in ("max_batch_per_rank", "max_num_tokens",
                                                                      "chunked_prefill", "mixed_chunk")
                                                            if k in lim), highlight=False)
    cfg = ", ".join(f"{k}={fmt(c[k])}" for k in ("tp", "pp", "ep", "dp", "instances", "batch_per_chip", "accept_length")
                    if k in c)
    console.print(f"[bold]configuration[/]: {cfg}; dtypes {c.get('dtypes')}; system {c.get('system')}")
    if not c.get("disagg") and c.get("chips_used") is not None and c["chips_used"] < pred.chips:
        console.print(f"[yellow]note:[/] {fmt(c['chips_used'])} of {pred.chips} chips used (whole instances of "
                      f"{fmt(c['chips_used'] / max(c.get('instances') or 1, 1))} chips); tokens/s per chip counts the idle ones")
    if c.get("disagg"):
        console.print(f"[bold]disaggregated[/]: prefill share {c['prefill_share']:.2f} "
                      f"(P:D chips {c.get('prefill_chips')}:{c.get('decode_chips')}), prefill {c.get('prefill')}")
    for phase, b in pred.bottleneck.items():
        sh = pred.shares.get(phase, {})
        console.print(f"[bold]{phase} bottleneck[/]: {b}  " + "  ".join(f"{k} {100 * v:.0f}%" for k, v in sh.items()))
    mem = pred.memory
    console.print("[bold]memory per rank[/]: " + ", ".join(f"{k.removesuffix('_gb')} {v:.1f} GB" for k, v in mem.items()))
    for w in pred.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"[dim]{pred.candidates} configurations evaluated in {pred.search_ms:.0f} ms[/]")


@app.command("serve")
@guarded
def serve(
    hardware: str = HW, model: str = MODEL, chips: int = CHIPS, isl: float = ISL, osl: float = OSL,
    weight_dtype: str = WD, act_dtype: Optional[str] = AD, kv_dtype: Optional[str] = KD,
    ttft_slo_ms: Optional[float] = typer.Option(None, "--ttft-slo-ms", help="Time-to-first-token limit."),
    tpot_slo_ms: Optional[float] = typer.Option(None, "--tpot-slo-ms", help="Time-per-output-token limit."),
    concurrency: Optional[float] = typer.Option(None, "--concurrency", help="Requests in flight across all chips."),
    disagg: bool = typer.Option(False, "--disagg", help="Prefill/decode disaggregation at the best P:D ratio."),
    scenario: Optional[str] = typer.Option(
        None, "--scenario", help="offline (max throughput; SLOs on the mean), server (Poisson arrivals; SLOs at p99) "
                                 "or fixed (a benchmark client holding --concurrency requests; fixed-length requests "
                                 "sent at once move in waves). Server and fixed clients stream each token; offline "
                                 "returns whole outputs. Default: server when an SLO or --arrival-rate is given, "
                                 "else offline."),
    arrival_rate: Optional[float] = typer.Option(
        None, "--arrival-rate", help="Requests/s arriving across all chips (Poisson): p99 latencies at this load."),
    system: Optional[str] = SYSTEM, engine: Optional[str] = ENGINE, tp: Optional[int] = TP, pp: Optional[int] = PP,
    ep: Optional[int] = EP, dp: Optional[int] = DP, spec_decode: Optional[str] = SPEC,
    isl_cv: float = ISL_CV, osl_cv: float = OSL_CV, osl_max: Optional[float] = OSL_MAX,
    lengths: Optional[Path] = LENGTHS, max_batch_per_rank: Optional[int] = MAX_BATCH,
    max_num_tokens: Optional[int] = MAX_TOKENS, chunked_prefill: Optional[bool] = CHUNKED, mixed_chunk: Optional[bool] = MIXED,
    max_seq_len: Optional[int] = MAX_SEQ, stream_interval: Optional[int] = STREAM,
    perf_params: Optional[Path] = PARAMS, catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION,
) -> None:
    """Best serving configuration: tokens/s per chip, TTFT, TPOT, memory, bottlenecks, error band.

    Request lengths vary in real workloads: --isl-cv/--osl-cv/--osl-max (or
    --lengths FILE, one request per row) make decode read the token-weighted
    context and size the KV cache for the long requests. Engine limits
    (--max-batch-per-rank, --max-num-tokens, --no-chunked-prefill) default to
    the --engine's profile.

    Settings you leave out (tp, pp, ep, dp, batch) are searched. The scenario
    defaults to server (Poisson arrivals, SLOs at p99, TTFT p99 limited to 6 s
    when no --ttft-slo-ms is given) when an SLO or --arrival-rate is given, else
    offline; an explicit --scenario is respected. The defaults applied are
    printed. With --arrival-rate the load is given: the configuration with the
    lowest p99 TPOT that keeps up is shown.

    Examples:
      suanli predict serve --hardware h200-sxm --chips 16 --model deepseek-v3 --ttft-slo-ms 2000 --tpot-slo-ms 50
      suanli predict serve -H h200-sxm -n 8 -m llama-3.1-70b --arrival-rate 20 --ttft-slo-ms 2000
      suanli predict serve -H ascend-910c -n 16 -m deepseek-v3 --weight-dtype int8 --disagg --json
      suanli predict serve -H ascend-910c -n 16 -m deepseek-v3 --weight-dtype int4 --disagg --isl 3500 --osl 1500 --concurrency 384 --scenario fixed
      suanli predict serve -H b200 -n 8 -m deepseek-v3 --weight-dtype fp4 --isl 804 --osl 3736 --osl-cv 1.11 --osl-max 20000 --engine trt-llm --max-batch-per-rank 512
      suanli predict serve -H gb200 -n 72 -m deepseek-v3 --weight-dtype fp4 --engine trt-llm --tp 1 --ep 8 --dp 8 --ttft-slo-ms 2000 --tpot-slo-ms 80 --stream-interval 4
    """
    from suanli.perf.search import predict_serve

    check_choice("--scenario", scenario.lower() if scenario else None, ("offline", "server", "fixed"))
    cat, params = _catalog(catalog), _params(perf_params)
    req = _request(cat, params, hardware=hardware, model=model, chips=chips, weight_dtype=weight_dtype,
                   act_dtype=act_dtype, kv_dtype=kv_dtype, ttft_slo_ms=ttft_slo_ms, tpot_slo_ms=tpot_slo_ms,
                   concurrency=concurrency, disagg=disagg, scenario=scenario, system=system, engine=engine,
                   tp=tp, pp=pp, ep=ep, dp=dp, spec_decode=spec_decode, attn_dp=True if dp else None,
                   arrival_rate=arrival_rate,
                   **_lengths(lengths, dict(isl=isl, osl=osl, isl_cv=isl_cv, osl_cv=osl_cv, osl_max=osl_max)),
                   max_batch_per_rank=max_batch_per_rank, max_num_tokens=max_num_tokens,
                   chunked_prefill=chunked_prefill, mixed_chunk=mixed_chunk, max_seq_len=max_seq_len,
                   stream_interval=stream_interval)
    isl, osl = req.isl, req.osl
    pred = predict_serve(cat, req, params=params)
    if json_out:
        print_json(pred.to_dict())
        return
    _show(pred, f"{model} on {_where(pred, hardware)} (isl {isl:g}, osl {osl:g})")


def _phase(kind: str, **kw: Any) -> None:
    from suanli.perf.search import predict_phase

    json_out = kw.pop("json_out")
    catalog = kw.pop("catalog")
    perf_params = kw.pop("perf_params")
    if kw.get("dp"):
        kw["attn_dp"] = True
    cat, params = _catalog(catalog), _params(perf_params)
    req = _request(cat, params, scenario="fixed", **kw)
    pred = predict_phase(cat, req, kind, params=params)
    if json_out:
        print_json(pred.to_dict())
        return
    _show(pred, f"{kind}: {kw['model']} on {_where(pred, kw['hardware'])}")


@app.command("prefill")
@guarded
def prefill(
    hardware: str = HW, model: str = MODEL, chips: int = CHIPS, isl: float = ISL,
    weight_dtype: str = WD, act_dtype: Optional[str] = AD, kv_dtype: Optional[str] = KD,
    batch_per_chip: Optional[float] = typer.Option(None, "--batch-per-chip", help="Prompt tokens per step per chip."),
    ttft_slo_ms: Optional[float] = typer.Option(None, "--ttft-slo-ms", help="Time-to-first-token limit."),
    system: Optional[str] = SYSTEM, engine: Optional[str] = ENGINE, tp: Optional[int] = TP, pp: Optional[int] = PP,
    ep: Optional[int] = EP, dp: Optional[int] = DP, perf_params: Optional[Path] = PARAMS,
    isl_cv: float = ISL_CV, max_num_tokens: Optional[int] = MAX_TOKENS, chunked_prefill: Optional[bool] = CHUNKED, mixed_chunk: Optional[bool] = MIXED,
    max_seq_len: Optional[int] = MAX_SEQ,
    catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION,
) -> None:
    """Prefill-only instance: input tokens/s per chip at fixed settings (free ones searched).

    --isl-cv spreads the prompt lengths (attention spans the token-weighted prompt length);
    --max-num-tokens / --no-chunked-prefill / --max-seq-len override the engine's limits.

    Examples:
      suanli predict prefill --hardware h200-sxm --chips 8 --model llama-3.1-70b --isl 4096
      suanli predict prefill -H h20 -n 8 -m deepseek-v3 --tp 8 --ttft-slo-ms 1000 --json
      suanli predict prefill -H ascend-910c -n 16 -m deepseek-v3 --weight-dtype int8 --isl 3500 --isl-cv 0.4
    """
    _phase("prefill", hardware=hardware, model=model, chips=chips, isl=isl, osl=1.0, weight_dtype=weight_dtype,
           act_dtype=act_dtype, kv_dtype=kv_dtype, batch_per_chip=batch_per_chip, ttft_slo_ms=ttft_slo_ms,
           system=system, engine=engine, tp=tp, pp=pp, ep=ep, dp=dp, perf_params=perf_params, catalog=catalog,
           isl_cv=isl_cv, max_num_tokens=max_num_tokens, chunked_prefill=chunked_prefill, mixed_chunk=mixed_chunk, max_seq_len=max_seq_len,
           json_out=json_out)


@app.command("decode")
@guarded
def decode(
    hardware: str = HW, model: str = MODEL, chips: int = CHIPS, isl: float = ISL, osl: float = OSL,
    weight_dtype: str = WD, act_dtype: Optional[str] = AD, kv_dtype: Optional[str] = KD,
    batch_per_chip: Optional[float] = typer.Option(None, "--batch-per-chip", help="Sequences in flight per chip."),
    concurrency: Optional[float] = typer.Option(None, "--concurrency", help="Sequences in flight across all chips."),
    tpot_slo_ms: Optional[float] = typer.Option(None, "--tpot-slo-ms", help="Time-per-output-token limit."),
    system: Optional[str] = SYSTEM, engine: Optional[str] = ENGINE, tp: Optional[int] = TP, pp: Optional[int] = PP,
    ep: Optional[int] = EP, dp: Optional[int] = DP, spec_decode: Optional[str] = SPEC,
    isl_cv: float = ISL_CV, osl_cv: float = OSL_CV, osl_max: Optional[float] = OSL_MAX,
    lengths: Optional[Path] = LENGTHS, max_batch_per_rank: Optional[int] = MAX_BATCH,
    max_num_tokens: Optional[int] = MAX_TOKENS, max_seq_len: Optional[int] = MAX_SEQ,
    perf_params: Optional[Path] = PARAMS, catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION,
) -> None:
    """Decode-only instance: output tokens/s per chip and TPOT at fixed settings (free ones searched).

    --isl-cv/--osl-cv/--osl-max (or --lengths FILE) make decode read the token-weighted context and
    size the KV cache for the long requests; --max-batch-per-rank / --max-num-tokens / --max-seq-len
    override the engine's limits (the search never exceeds them).

    Examples:
      suanli predict decode --hardware ascend-910c --chips 16 --model deepseek-v3 --weight-dtype int8
      suanli predict decode -H h200-sxm -n 8 -m llama-3.1-70b --batch-per-chip 32 --json
      suanli predict decode -H b200 -n 8 -m deepseek-v3 --weight-dtype fp4 --osl 3886 --osl-cv 1.11 --osl-max 20000
    """
    _phase("decode", hardware=hardware, model=model, chips=chips, weight_dtype=weight_dtype,
           act_dtype=act_dtype, kv_dtype=kv_dtype, batch_per_chip=batch_per_chip, concurrency=concurrency,
           tpot_slo_ms=tpot_slo_ms, system=system, engine=engine, tp=tp, pp=pp, ep=ep, dp=dp,
           spec_decode=spec_decode, perf_params=perf_params, catalog=catalog, json_out=json_out,
           **_lengths(lengths, dict(isl=isl, osl=osl, isl_cv=isl_cv, osl_cv=osl_cv, osl_max=osl_max)),
           max_batch_per_rank=max_batch_per_rank, max_num_tokens=max_num_tokens, max_seq_len=max_seq_len)


@app.command("pareto")
@guarded
def pareto_cmd(
    hardware: str = HW, model: str = MODEL, chips: int = CHIPS, isl: float = ISL, osl: float = OSL,
    weight_dtype: str = WD, act_dtype: Optional[str] = AD, kv_dtype: Optional[str] = KD,
    ttft_slo_ms: Optional[float] = typer.Option(None, "--ttft-slo-ms", help="Time-to-first-token limit."),
    disagg: bool = typer.Option(False, "--disagg", help="Decode instances of a disaggregated deployment."),
    system: Optional[str] = SYSTEM, engine: Optional[str] = ENGINE, spec_decode: Optional[str] = SPEC,
    isl_cv: float = ISL_CV, osl_cv: float = OSL_CV, osl_max: Optional[float] = OSL_MAX,
    lengths: Optional[Path] = LENGTHS, max_batch_per_rank: Optional[int] = MAX_BATCH,
    max_num_tokens: Optional[int] = MAX_TOKENS, chunked_prefill: Optional[bool] = CHUNKED, mixed_chunk: Optional[bool] = MIXED,
    max_seq_len: Optional[int] = MAX_SEQ,
    perf_params: Optional[Path] = PARAMS, catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION,
) -> None:
    """Pareto curve: output tokens/s per chip against tokens/s per user.

    Length spread (--isl-cv/--osl-cv/--osl-max or --lengths FILE) and engine limits
    (--max-batch-per-rank, --max-num-tokens, --no-chunked-prefill, --max-seq-len) as for `predict serve`.

    Examples:
      suanli predict pareto --hardware h20 --chips 16 --model deepseek-v3
      suanli predict pareto -H h200-sxm -n 8 -m llama-3.1-70b --ttft-slo-ms 2000 --json
      suanli predict pareto -H b200 -n 8 -m deepseek-v3 --weight-dtype fp4 --osl-cv 1.1 --max-batch-per-rank 512
    """
    from suanli.perf.search import pareto

    cat, params = _catalog(catalog), _params(perf_params)
    req = _request(cat, params, hardware=hardware, model=model, chips=chips, weight_dtype=weight_dtype,
                   act_dtype=act_dtype, kv_dtype=kv_dtype, ttft_slo_ms=ttft_slo_ms, disagg=disagg, system=system,
                   engine=engine, spec_decode=spec_decode,
                   **_lengths(lengths, dict(isl=isl, osl=osl, isl_cv=isl_cv, osl_cv=osl_cv, osl_max=osl_max)),
                   max_batch_per_rank=max_batch_per_rank, max_num_tokens=max_num_tokens,
                   chunked_prefill=chunked_prefill, mixed_chunk=mixed_chunk, max_seq_len=max_seq_len)
    curve = pareto(cat, req, params=params)
    if json_out:
        print_json(curve.to_dict())
        return
    cols = ["tokens/s/user", "out tok/s/chip", "TPOT ms", "TTFT ms", "tp", "pp", "ep", "dp", "batch"]
    console.print(table(f"Pareto: {model} on {chips} x {hardware}", cols,
                        [[p["tps_per_user"], p["output_tps_per_chip"], p["tpot_ms"], p["ttft_ms"], p["tp"], p["pp"],
                          p["ep"], p["dp"], p["batch"]] for p in curve.points]))
    for w in curve.warnings:
        console.print(f"[yellow]warning:[/] {w}")
