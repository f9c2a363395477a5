"""`suanli predict train` and `suanli plan train`: training step time, best layout, days and chip-hours."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import typer

from suanli.cli.common import (
    CATALOG_OPTION, JSON_OPTION, check_positive, check_system, console, fmt, guarded, print_json, table,
)

if TYPE_CHECKING:  # the training engine (numpy) loads when a command runs, not when the CLI starts
    from suanli.perf.training import TrainResult


def get_catalog(overlays: Any = ()) -> Any:
    from suanli.catalog import get_catalog as _get

    return _get(overlays)


def predict_train(*args: Any, **kw: Any) -> Any:
    from suanli.perf.training import predict_train as _predict_train

    return _predict_train(*args, **kw)


def plan_train(*args: Any, **kw: Any) -> Any:
    from suanli.perf.training import plan_train as _plan_train

    return _plan_train(*args, **kw)

plan_app = typer.Typer(help="Plan: a fleet for a scenario (fleet, risk, study, schema) or a training run (train).",
                       no_args_is_help=True)

_DTYPE_HELP = "Training precision: bf16, fp8 or fp4 (falls back towards bf16 where the chip lacks it); 'auto' tries all."


def _dtype(value: str) -> str | None:
    v = value.lower()
    return None if v == "auto" else v


def _render(r: TrainResult, title: str) -> None:
    lay = r.layout
    console.print(table(title, ["", "value"], [
        ["layout", lay.label()],
        ["system", r.system],
        ["step time (s)", r.step_time_s],
        ["tokens / s per chip", r.tps_per_chip],
        ["range (error band)", f"{fmt(r.tps_per_chip * (1 - r.error_band))} - {fmt(r.tps_per_chip * (1 + r.error_band))}"],
        ["MFU (vs dense " + lay.dtype + " peak)", f"{r.mfu:.1%}"],
        ["micro-batches per step", lay.microbatches],
        ["layouts searched / fit", f"{r.candidates} / {r.feasible}"],
    ]))
    ts = r.time_split
    sh = ts.shares()
    console.print(table("Time per step", ["part", "seconds", "share"], [
        ["compute", ts.compute_s, f"{sh['compute']:.1%}"],
        ["exposed communication", ts.comm_exposed_s, f"{sh['comm_exposed']:.1%}"],
        ["pipeline bubble", ts.bubble_s, f"{sh['bubble']:.1%}"],
        ["overhead", ts.overhead_s, f"{sh['overhead']:.1%}"],
    ] + [[f"  exposed {k.upper()}", v, ""] for k, v in ts.comm_detail.items() if not k.endswith("_total") and v > 0]))
    m = r.memory
    console.print(table("Memory per rank (GB)", ["part", "GB"], [
        ["weights", m.weights_gb], ["gradients", m.gradients_gb], ["optimizer states", m.optimizer_gb],
        ["activations", m.activations_gb], ["reserved", m.reserve_gb], ["total", m.total_gb], ["capacity", m.capacity_gb],
    ]))
    for w in r.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)


def register_predict(predict_app: typer.Typer) -> None:
    """Add the ``train`` command to the ``suanli predict`` group."""

    @predict_app.command("train")
    @guarded
    def train_cmd(
        hardware: str = typer.Option(..., "--hardware", "-H", help="Accelerator id, e.g. h800-sxm."),
        chips: int = typer.Option(..., "--chips", "-n", help="Accelerators (a 910C package counts once)."),
        model: str = typer.Option(..., "--model", "-m", help="Model id, e.g. llama-3.1-405b."),
        seq_len: int = typer.Option(..., "--seq-len", help="Training sequence length."),
        global_batch: int = typer.Option(..., "--global-batch", help="Global batch in sequences."),
        tp: Optional[int] = typer.Option(None, "--tp", help="Tensor-parallel degree (searched if omitted)."),
        pp: Optional[int] = typer.Option(None, "--pp", help="Pipeline-parallel degree."),
        ep: Optional[int] = typer.Option(None, "--ep", help="Expert-parallel degree (MoE)."),
        dp: Optional[int] = typer.Option(None, "--dp", help="Data-parallel degree."),
        cp: Optional[int] = typer.Option(None, "--cp", help="Context-parallel degree."),
        vpp: Optional[int] = typer.Option(None, "--vpp", help="Virtual pipeline stages (interleaved 1F1B)."),
        mbs: Optional[int] = typer.Option(None, "--mbs", help="Micro-batch size in sequences."),
        zero: Optional[int] = typer.Option(None, "--zero", help="ZeRO stage 0-3 (3 = FSDP)."),
        recompute: Optional[str] = typer.Option(None, "--recompute", help="Activation recomputation: none, selective or full (searched if omitted)."),
        schedule: Optional[str] = typer.Option(None, "--schedule", help="Pipeline schedule: 1f1b, interleaved or dualpipe (searched if omitted)."),
        dtype: str = typer.Option("bf16", "--dtype", help=_DTYPE_HELP),
        system: Optional[str] = typer.Option(None, "--system", help="System id, e.g. gb200-nvl72, cloudmatrix-384, hgx-8."),
        catalog: Optional[list[str]] = CATALOG_OPTION,
        json_out: bool = JSON_OPTION,
    ) -> None:
        """Step time, tokens/s per chip, MFU, memory and time split of a training step.

        Degrees you omit are searched: the fastest layout that fits in memory wins.

        Examples:
          suanli predict train --hardware h100-sxm --chips 1024 --model llama-3.1-405b --seq-len 8192 --global-batch 2048
          suanli predict train --hardware h800-sxm --chips 2048 --model deepseek-v3 --seq-len 4096 --global-batch 15360 --pp 16 --ep 64 --tp 1 --dtype fp8 --json
        """
        check_positive(chips=chips, seq_len=seq_len, global_batch=global_batch, tp=tp, pp=pp, ep=ep, dp=dp, cp=cp,
                       vpp=vpp, mbs=mbs)
        cat = get_catalog(catalog or ())
        check_system(cat, hardware, system)
        r = predict_train(hardware, model, chips=chips, seq_len=seq_len, global_batch=global_batch,
                          dtype=_dtype(dtype), tp=tp, pp=pp, dp=dp, ep=ep, cp=cp, vpp=vpp, mbs=mbs, zero=zero,
                          recompute=recompute, schedule=schedule, system=system, catalog=cat)
        if json_out:
            print_json(r.to_dict())
            return
        _render(r, f"Training {model} on {chips} x {hardware}, seq {seq_len}, batch {global_batch}")


@plan_app.command("train")
@guarded
def plan_train_cmd(
    model: str = typer.Option(..., "--model", "-m", help="Model id, e.g. deepseek-v3."),
    tokens: float = typer.Option(..., "--tokens", help="Token budget, e.g. 14.8e12."),
    hardware: str = typer.Option(..., "--hardware", "-H", help="Accelerator id, e.g. h800-sxm."),
    chips: int = typer.Option(..., "--chips", "-n", help="Accelerators in the job."),
    seq_len: int = typer.Option(4096, "--seq-len", help="Training sequence length."),
    global_batch: Optional[int] = typer.Option(None, "--global-batch", help="Global batch in sequences (default 4 per chip)."),
    dtype: str = typer.Option("fp8", "--dtype", help=_DTYPE_HELP),
    tp: Optional[int] = typer.Option(None, "--tp", help="Tensor-parallel degree (searched if omitted)."),
    pp: Optional[int] = typer.Option(None, "--pp", help="Pipeline-parallel degree."),
    ep: Optional[int] = typer.Option(None, "--ep", help="Expert-parallel degree."),
    cp: Optional[int] = typer.Option(None, "--cp", help="Context-parallel degree."),
    system: Optional[str] = typer.Option(None, "--system", help="System id, e.g. cloudmatrix-384."),
    catalog: Optional[list[str]] = CATALOG_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Wall-clock days, chip-hours and energy to train on a token budget, at the fastest layout.

    Examples:
      suanli plan train --model deepseek-v3 --tokens 14.8e12 --hardware h800-sxm --chips 2048
      suanli plan train --model deepseek-v3 --tokens 14.8e12 --hardware ascend-910c --chips 2048 --system cloudmatrix-384 --json
    """
    check_positive(tokens=tokens, chips=chips, seq_len=seq_len, global_batch=global_batch, tp=tp, pp=pp, ep=ep, cp=cp)
    cat = get_catalog(catalog or ())
    check_system(cat, hardware, system)
    pl = plan_train(model, tokens, hardware, chips, seq_len=seq_len, global_batch=global_batch, dtype=_dtype(dtype),
                    catalog=cat, system=system, tp=tp, pp=pp, ep=ep, cp=cp)
    if json_out:
        print_json(pl.to_dict())
        return
    r = pl.result
    console.print(table(f"Training {model} on {tokens:.3g} tokens with {chips} x {hardware}", ["", "value"], [
        ["layout", r.layout.label()],
        ["tokens / s per chip", r.tps_per_chip],
        ["MFU", f"{r.mfu:.1%}"],
        ["wall-clock days", pl.days],
        ["  range", f"{fmt(pl.days_range[0])} - {fmt(pl.days_range[1])}"],
        ["chip-hours", pl.chip_hours],
        ["  range", f"{fmt(pl.chip_hours_range[0])} - {fmt(pl.chip_hours_range[1])}"],
        ["chip-hours per trillion tokens", pl.chip_hours / (tokens / 1e12)],
        ["energy (MWh, IT)", pl.energy_mwh],
        ["power per chip (W)", f"{fmt(pl.power_w_per_chip)} ({pl.power_basis})"],
    ]))
    for w in r.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
