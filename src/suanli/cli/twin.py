"""`suanli twin`: an OpenAI-compatible server that answers at the speed suanli predicts for given hardware."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from suanli.cli.common import CATALOG_OPTION, JSON_OPTION, console, guarded, print_json, table
from suanli.errors import SuanliError

app = typer.Typer(help="Digital twin: serve a model at the latency suanli predicts for hardware you do not have.",
                  no_args_is_help=True)

HW = typer.Option(..., "--hardware", "-H", help="Accelerator id, e.g. h200-sxm, ascend-910c.")
MODEL = typer.Option(..., "--model", "-m", help="Model id (e.g. llama-3.1-8b) or path to a config.json.")
CHIPS = typer.Option(1, "--chips", "-n", help="Accelerators of the one model instance served.")
ENGINE = typer.Option(None, "--engine", help="Engine whose host overheads apply: trt-llm, vllm, sglang.")
WD = typer.Option("bf16", "--weight-dtype", help="bf16, fp16, fp8, int8, int4, fp4.")


def _build(hardware: str, model: str, chips: int, engine: Optional[str], weight_dtype: str, tp: Optional[int],
           ep: Optional[int], max_batch: Optional[int], max_num_tokens: Optional[int],
           catalog: Optional[list[Path]], perf_params: Optional[Path], admit_window_ms: Optional[float] = None):
    from suanli.bench.twin import TwinModel
    from suanli.catalog import get_catalog
    from suanli.cli.common import check_positive
    from suanli.perf.hardware import load_params

    check_positive(chips=chips, tp=tp, ep=ep, max_batch=max_batch, max_num_tokens=max_num_tokens)
    cat = get_catalog(tuple(catalog or ()))
    params = load_params(perf_params) if perf_params else None
    if engine:
        from suanli.cli.common import check_choice

        engines = [e for e in (params or load_params()).get("engines", {}) if e != "default"]
        check_choice("--engine", engine, engines, hint=f"one of {', '.join(engines)}, or leave --engine out")
    return TwinModel.build(cat, hardware, model, chips, engine=engine, weight_dtype=weight_dtype, tp=tp, ep=ep,
                           max_batch=max_batch, max_num_tokens=max_num_tokens, params=params,
                           admit_window_ms=admit_window_ms)


@app.command("serve")
@guarded
def serve(
    hardware: str = HW, model: str = MODEL, chips: int = CHIPS, engine: Optional[str] = ENGINE,
    weight_dtype: str = WD,
    tp: Optional[int] = typer.Option(None, "--tp", help="Tensor parallelism (default: every rank)."),
    ep: Optional[int] = typer.Option(None, "--ep", help="Expert parallelism (default: every rank for MoE)."),
    max_batch: Optional[int] = typer.Option(None, "--max-batch", help="Sequences in flight at most (default: what fits, <= 256)."),
    max_num_tokens: Optional[int] = typer.Option(None, "--max-num-tokens", help="Tokens per step at most (default 8192)."),
    max_queue: int = typer.Option(1024, "--max-queue", help="Waiting requests at most; more get HTTP 429."),
    admit_window_ms: float = typer.Option(10.0, "--admit-window-ms", help="When idle, wait this long after a first request so a burst starts together (0: none)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default loopback only)."),
    port: int = typer.Option(8000, "--port", "-p", help="TCP port."),
    served_name: Optional[str] = typer.Option(None, "--served-model-name", help="Model name clients use (default: the model id)."),
    perf_params: Optional[Path] = typer.Option(None, "--perf-params", help="YAML overriding model parameters."),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Serve /v1/models, /v1/completions and /v1/chat/completions (streaming) at predicted speed.

    Requests are batched continuously (chunked prefill); each step lasts what
    suanli's performance model predicts for its batch on that hardware.
    GET /twin shows the configuration, GET /twin/expected?concurrency=8&isl=1024&osl=256
    the TTFT and TPOT the twin's schedule gives for a closed-loop load.

    Examples:
      suanli twin serve --hardware ascend-910b3 --model llama-3.1-8b --port 8000
      suanli twin serve -H h20 -m qwen3-32b -n 2 --engine vllm --weight-dtype fp8
      suanli bench serve --url http://127.0.0.1:8000/v1 --model llama-3.1-8b -c 1,8
    """
    from suanli.bench.twin import serve as run

    if not (0 < port < 65536):
        raise SuanliError(f"--port must be 1-65535 (got {port})", hint="e.g. --port 8000")
    if max_queue < 1:
        raise SuanliError(f"--max-queue must be >= 1 (got {max_queue})")
    tw = _build(hardware, model, chips, engine, weight_dtype, tp, ep, max_batch, max_num_tokens, catalog, perf_params,
                admit_window_ms)
    info = {**tw.to_dict(), "url": f"http://{host}:{port}/v1", "served_model_name": served_name or tw.model}
    if json_out:
        print_json(info)
    else:
        console.print(table("suanli twin", ["setting", "value"],
                            [[k, str(v)] for k, v in info.items() if k != "warnings"]))
        for w in tw.warnings:
            console.print(f"[yellow]warning:[/] {w}")
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"[yellow]note:[/] listening on {host}, not loopback only")
    run(tw, host=host, port=port, served_name=served_name, max_queue=max_queue)


@app.command("expected")
@guarded
def expected(
    hardware: str = HW, model: str = MODEL, chips: int = CHIPS, engine: Optional[str] = ENGINE,
    weight_dtype: str = WD,
    concurrency: str = typer.Option("1,8,32", "--concurrency", "-c", help="Comma-separated closed-loop streams."),
    isl: int = typer.Option(1024, "--isl", help="Input tokens per request."),
    osl: int = typer.Option(256, "--osl", help="Output tokens per request."),
    requests: Optional[int] = typer.Option(None, "--requests", help="Measured requests per level (default 2 x concurrency)."),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """TTFT, TPOT and throughput the twin's schedule gives for a closed-loop load (virtual time, instant).

    Examples:
      suanli twin expected -H ascend-910b3 -m llama-3.1-8b -c 1,32 --isl 1024 --osl 256
      suanli twin expected -H h20 -m qwen3-32b -n 2 --json
    """
    from suanli.bench.twin import simulate

    try:
        levels = [int(x) for x in concurrency.split(",") if x.strip()]
    except ValueError:
        raise SuanliError(f"cannot read --concurrency {concurrency!r}", hint="e.g. --concurrency 1,8,32") from None
    if not levels or min(levels) < 1 or isl < 1 or osl < 1 or (requests is not None and requests < 1):
        raise SuanliError("--concurrency, --isl, --osl and --requests must be >= 1", hint="e.g. -c 1,8,32 --isl 1024")
    tw = _build(hardware, model, chips, engine, weight_dtype, None, None, None, None, catalog, None)
    out = [simulate(tw, c, isl, osl, requests=requests).to_dict() for c in levels]
    if json_out:
        print_json({"twin": tw.to_dict(), "expected": out})
        return
    console.print(table(f"{tw.model} on {chips} x {tw.hardware} (twin schedule, isl {isl}, osl {osl})",
                        ["concurrency", "TTFT ms", "TPOT ms", "E2E s", "out tok/s"],
                        [[e["concurrency"], e["ttft_ms"], e["tpot_ms"], e["e2e_latency_s"], e["output_tps"]] for e in out]))
