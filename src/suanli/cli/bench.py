"""`suanli bench`: measure what you have (microbenchmarks with PyTorch; a serving load generator).

Both commands write measurement records (``-o records.csv``) in the validation
format, ready for ``suanli validate`` and ``suanli calibrate``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from suanli.cli.common import (
    CATALOG_OPTION, JSON_OPTION, check_choice, console, err_console, guarded, print_json, table,
)
from suanli.errors import SuanliError

app = typer.Typer(help="Measure hardware and serving endpoints; write measurement records for calibration.",
                  no_args_is_help=True)


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


@app.command("micro")
@guarded
def micro(
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, npu (Ascend), musa (Moore Threads), xpu, mlu (Cambricon)."),
    hardware: Optional[str] = typer.Option(None, "--hardware", "-H",
                                           help="Accelerator id the records name (default: from the device name); "
                                                "a catalog id also checks figures against its peaks."),
    quick: bool = typer.Option(False, "--quick", help="Short sweeps (CI: about 15 s on a 2-core CPU)."),
    dtypes: Optional[str] = typer.Option(None, "--dtypes", help="Comma-separated matmul formats (default: all the device supports)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the records here (CSV)."),
    check: bool = typer.Option(False, "--check", help="Exit 1 when a physical sanity check fails."),
    catalog: Optional[list[Path]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Microbenchmarks: matmul sweeps per dtype (incl. decode shapes), memory copy, attention, collectives.

    Timing: warm-up, device synchronisation, repeated blocks; median and p10-p90
    spread. Needs PyTorch (pip install 'suanli[bench]') and, for Ascend, Moore
    Threads or Cambricon, the vendor's plug-in (torch_npu, torch_musa, torch_mlu).

    Examples:
      suanli bench micro --device cpu --quick -o benchmarks/results/micro-cpu.csv
      suanli bench micro --device cuda --hardware h200-sxm -o h200.csv
      suanli bench micro --device npu --hardware ascend-910b3 --dtypes bf16,int8 --json
    """
    from suanli.bench.micro import DEVICES, run_micro
    from suanli.bench.records import write_records
    from suanli.catalog import get_catalog

    check_choice("--device", device, DEVICES)
    cat = get_catalog(tuple(catalog or ()))
    if hardware and hardware not in cat.accelerators and _looks_like_id(hardware, cat):
        cat.accelerator(hardware)  # a near miss of a catalog id is a typo: stop with its "did you mean"
    dts = tuple(d.strip() for d in dtypes.split(",") if d.strip()) if dtypes else None
    if json_out or not err_console.is_terminal:
        res = run_micro(device, hardware=hardware, quick=quick, dtypes=dts, catalog=cat)
    else:
        with _progress() as bar:
            task = bar.add_task("benchmarks", total=None)

            def prog(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=label)

            res = run_micro(device, hardware=hardware, quick=quick, dtypes=dts, catalog=cat, progress=prog)
    if output:
        write_records(res.records, output)
    if json_out:
        print_json(res.to_dict())
    else:
        rows = []
        for r in res.records:
            shape = (f"{r['gemm_m']}x{r['gemm_n']}x{r['gemm_k']}" if r["kind"] == "gemm" else
                     f"{r['bytes']:,} B" if r.get("bytes") else f"b{r.get('batch_per_chip')} q{r.get('isl')} kv{r.get('seq_len')}")
            rows.append([r["id"], r["kind"], r.get("act_dtype") or "", shape, r["metric"], r["value"]])
        console.print(table(f"{res.device.name} ({res.device.device}) — {len(res.records)} records in {res.seconds:.1f} s",
                            ["id", "kind", "dtype", "shape / size", "metric", "value"], rows))
        console.print(table("Physical sanity", ["check", "ok", "detail"],
                            [[c["check"], "yes" if c["ok"] else "[red]NO[/]", c["detail"]] for c in res.checks]))
        for s in res.skipped:
            console.print(f"[yellow]skipped:[/] {s}")
        console.print(f"[dim]{res.device.notes()}[/]")
        if output:
            console.print(f"wrote {len(res.records)} records to {output}")
    if check and not res.ok:
        raise typer.Exit(1)


def _looks_like_id(hardware: str, cat: Any) -> bool:
    """A --hardware close to a catalog id is probably a typo of it; a free name (cpu-epyc) is not."""
    from suanli.errors import suggest

    return bool(suggest(hardware, list(cat.accelerators)))


@app.command("serve")
@guarded
def serve(
    url: str = typer.Option(..., "--url", help="Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."),
    model: str = typer.Option(..., "--model", "-m", help="Model name the server knows (its /v1/models id)."),
    isl: int = typer.Option(1024, "--isl", help="Mean input tokens per request."),
    osl: int = typer.Option(256, "--osl", help="Output tokens per request (max_tokens, end of sequence ignored)."),
    isl_cv: float = typer.Option(0.0, "--isl-cv", help="Coefficient of variation of input lengths (log-normal; 0 = fixed)."),
    osl_cv: float = typer.Option(0.0, "--osl-cv", help="Coefficient of variation of output lengths."),
    lengths: Optional[Path] = typer.Option(None, "--lengths", help="CSV with columns isl,osl: one request per row, cycled."),
    concurrency: str = typer.Option("1,8,32", "--concurrency", "-c", help="Comma-separated streams in flight, one level each."),
    request_rate: Optional[float] = typer.Option(None, "--request-rate", help="Poisson arrivals per second (default: closed loop)."),
    duration: float = typer.Option(120.0, "--duration", help="Seconds at most per level."),
    requests: Optional[int] = typer.Option(None, "--requests", help="Measured requests per level (default: max(2 x concurrency, 10))."),
    warmup: Optional[int] = typer.Option(None, "--warmup", help="Requests per level left out (default: one per stream)."),
    chat: bool = typer.Option(False, "--chat", help="Use /chat/completions instead of /completions."),
    hardware: str = typer.Option("unknown", "--hardware", "-H", help="Accelerator id the records name."),
    chips: int = typer.Option(1, "--chips", "-n", help="Accelerators behind the endpoint (for tokens/s per chip)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Serving engine the records name (vllm, sglang, mindie ...)."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds before one request counts as failed."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="OPENAI_API_KEY", help="Bearer token, if the server needs one."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write kind=serve records here (CSV)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Load an OpenAI-compatible endpoint: TTFT, TPOT, inter-token and end-to-end latency, throughput.

    Each level runs its streams until --requests measured requests or
    --duration seconds; errors are counted, not fatal.

    Examples:
      suanli bench serve --url http://127.0.0.1:8000/v1 --model llama-3.1-8b --isl 1024 --osl 256 -c 1,8,32
      suanli bench serve --url http://127.0.0.1:8000/v1 -m qwen3-32b --lengths lengths.csv --request-rate 4 -c 64
      suanli bench serve --url http://127.0.0.1:8000/v1 -m deepseek-v3 -H ascend-910c -n 16 --engine sglang -o serve.csv --json
    """
    from suanli.bench.records import write_records
    from suanli.bench.serving_load import LoadSpec, read_lengths, run_load

    try:
        levels = tuple(int(x) for x in concurrency.split(",") if x.strip())
    except ValueError:
        raise SuanliError(f"cannot read --concurrency {concurrency!r}", hint="e.g. --concurrency 1,8,32") from None
    spec = LoadSpec(url=url, model=model, isl=isl, osl=osl, isl_cv=isl_cv, osl_cv=osl_cv,
                    lengths=read_lengths(lengths) if lengths else (), concurrency=levels, request_rate=request_rate,
                    duration_s=duration, requests=requests, warmup=warmup, chat=chat, timeout_s=timeout,
                    api_key=api_key, hardware=hardware, chips=chips, engine=engine)
    if json_out or not err_console.is_terminal:
        res = run_load(spec)
    else:
        with _progress() as bar:
            task = bar.add_task("requests", total=None)

            def prog(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=label)

            res = run_load(spec, progress=prog)
    if output:
        write_records(res.records(), output)
    sums = res.summaries()
    if json_out:
        print_json(res.to_dict())
    else:
        rows = []
        for s in sums:
            t, p, e = s["ttft_ms"], s["tpot_ms"], s["e2e_latency_s"]
            rows.append([s["concurrency"], f"{s['ok']}/{s['requests']}", s["errors"], t["mean"], t["p99"], p["mean"],
                         p["p99"], s["itl_ms"]["p99"], e["mean"], s["output_tps"], s["completion_tokens_mean"]])
        console.print(table(f"{model} at {url} (isl {isl}, osl {osl}" + (f", {request_rate:g} req/s" if request_rate else "")
                            + ")", ["concurrency", "ok", "errors", "TTFT ms", "TTFT p99", "TPOT ms", "TPOT p99",
                                    "ITL p99 ms", "E2E s", "out tok/s", "out tokens"], rows))
        for s in sums:
            for e in s["error_samples"]:
                console.print(f"[yellow]concurrency {s['concurrency']} error:[/] {e}")
            if s["usage_from_server"] is False:
                console.print(f"[yellow]concurrency {s['concurrency']}:[/] the server sent no usage; "
                              "tokens counted as content chunks")
        if output:
            console.print(f"wrote {len(res.records())} records to {output}")
    if all(s["ok"] == 0 for s in sums):
        if not json_out:
            err_console.print("[bold red]error:[/] no request succeeded", highlight=False)
        raise typer.Exit(2)
