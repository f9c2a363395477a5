"""`suanli cost`: cost per chip-hour and per million tokens of serving a model; `cost compare` for several chips.

Thin shell over :mod:`suanli.econ.cost`; every economics input can be set
with ``--set NAME=VALUE`` (repeatable) or ``--econ FILE`` (YAML), validated by
:class:`suanli.econ.inputs.EconInputs` as the REST API and Python do.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from suanli.cli.common import CATALOG_OPTION, JSON_OPTION, check_positive, console, fmt, guarded, print_json, table
from suanli.errors import SuanliError

EXAMPLES = (
    "Examples:\n\n"
    "  suanli cost --hardware h200-sxm --model deepseek-v3 --chips 16 --tpot-slo-ms 50\n\n"
    "  suanli cost --hardware ascend-910c --system cloudmatrix-384 --chips 64 --model deepseek-v3 --site guizhou\n\n"
    "  suanli cost --hardware h200-sxm --model deepseek-v3 --rent 2.9 --rent-currency USD\n\n"
    "  suanli cost --hardware b200 --model deepseek-v3 --tier semianalysis-own-hyperscaler-2026-07 --currency USD\n\n"
    "  suanli cost --hardware h20 --model deepseek-v3 --set pue=1.4 --set life_years=5\n\n"
    "  suanli cost compare --hardware h200-sxm,h20,ascend-910c --model deepseek-v3 --tpot-slo-ms 50"
)

app = typer.Typer(help="Cost per chip-hour and per million tokens (own or rent), levy, power, subsidy, TCO, "
                       "break-even.\n\n" + EXAMPLES, invoke_without_command=True, no_args_is_help=False)

HW = typer.Option(None, "--hardware", "-H", help="Accelerator id, e.g. h200-sxm.")
MODEL = typer.Option(None, "--model", "-m", help="Model id, e.g. deepseek-v3.")
CHIPS = typer.Option(16, "--chips", "-n", help="Accelerators in the deployment the throughput is predicted for.")
SYSTEM = typer.Option(None, "--system", help="System id (default: the chip's standard node).")
ISL = typer.Option(1024.0, "--isl", help="Input tokens per request.")
OSL = typer.Option(1024.0, "--osl", help="Output tokens per request.")
TPOT = typer.Option(50.0, "--tpot-slo-ms", help="Time-per-output-token limit, ms (default 50).")
TTFT = typer.Option(None, "--ttft-slo-ms", help="Time-to-first-token limit, ms.")
WD = typer.Option("fp8", "--weight-dtype", help="Weight format.")
BUYER = typer.Option("private", "--buyer", help="Buyer type: private, state-funded, soe, foreign-hq ...")
SITE = typer.Option("national-average", "--site", help="Data-centre site: guizhou, inner-mongolia, gansu, ningxia, "
                                                        "national-average.")
DATE = typer.Option(None, "--date", help="Date for prices, FX and policy (default: the price book's as-of date).")
CUR = typer.Option("CNY", "--currency", help="Output currency: CNY or USD.")
RENT = typer.Option(None, "--rent", help="Rent instead of buy, at this rate per accelerator-hour.")
RENT_CUR = typer.Option("USD", "--rent-currency", help="Currency of --rent (USD or CNY).")
TIER = typer.Option(None, "--tier", help="Use a published owning-cost tier as the chip-hour cost "
                                         "(e.g. semianalysis-own-hyperscaler-2026-07).")
SETS = typer.Option(None, "--set", help="Override an economics input, NAME=VALUE (repeatable; see --econ-inputs).")
ECON = typer.Option(None, "--econ", help="YAML file of economics inputs (the fields --set takes).")
SCEN = typer.Option(None, "--policy-scenario", help="Policy scenario (suanli policy scenarios list), e.g. "
                                                    "remote-access-security-act@2027-01-01.")
SERVING = typer.Option(None, "--scenario", help="Serving scenario of the throughput: offline or server (as in "
                                                "predict serve; default: server when an SLO is given).")
SPEC = typer.Option(None, "--spec-decode", help="Speculative decoding, e.g. mtp1, mtp3.")
ENGINE = typer.Option(None, "--engine", help="Serving engine profile: trt-llm, vllm, sglang, mindie.")
LIST_INPUTS = typer.Option(False, "--econ-inputs", help="List every economics input, its unit and default, and exit.")


def _inputs(sets: Optional[list[str]], econ: Optional[Path], rent: Optional[float], rent_cur: str,
            tier: Optional[str]) -> Any:
    from suanli.econ.inputs import parse_assignments, parse_inputs

    vals: dict[str, Any] = {}
    if econ is not None:
        vals.update(_econ_file(econ))
    vals.update(parse_assignments(sets))
    if rent is not None:
        vals.update(rent=rent, rent_currency=rent_cur.upper())
    if tier is not None:
        vals["tier"] = tier
    return parse_inputs(vals, where="--set" if sets else "economics input")


def _econ_file(path: Path) -> dict:
    from pydantic import ValidationError

    from suanli.catalog.load import read_text, read_yaml, strip_lines
    from suanli.econ.inputs import EconInputs
    from suanli.econ.validation import pydantic_error
    from suanli.errors import DataError

    raw = read_yaml(str(path), read_text(path, hint="a YAML file of economics inputs"))
    if not isinstance(raw, dict):
        raise DataError(str(path), "must be a mapping of input names to values", hint="e.g. pue: 1.3")
    try:
        EconInputs.model_validate(strip_lines(raw))
    except ValidationError as exc:
        raise pydantic_error(exc, raw, str(path), hint="run `suanli cost --econ-inputs` for the names") from None
    return strip_lines(raw)


def _request(isl: float, osl: float, tpot: Optional[float], ttft: Optional[float], wd: str,
             system: Optional[str], serving: Optional[str] = None, spec: Optional[str] = None,
             engine: Optional[str] = None) -> dict:
    from suanli.cli.common import check_choice

    check_positive(isl=isl, osl=osl, tpot_slo_ms=tpot, ttft_slo_ms=ttft)
    check_choice("--scenario", serving.lower() if serving else None, ("offline", "server"))
    r: dict[str, Any] = {"isl": isl, "osl": osl, "tpot_slo_ms": tpot, "weight_dtype": wd}
    for k, v in (("ttft_slo_ms", ttft), ("system", system), ("scenario", serving.lower() if serving else None),
                 ("spec_decode", spec), ("engine", engine)):
        if v is not None:
            r[k] = v
    return r


def _show_inputs_list() -> None:
    from suanli.econ.inputs import EconInputs
    from suanli.econ.prices import load_pricebook

    book = load_pricebook()
    rows = []
    for name, f in EconInputs.model_fields.items():
        d = book.defaults.get(name)
        rows.append([name, f.description or "", fmt(d.value) if d else "(from data)", d.source if d else ""])
    console.print(table("Economics inputs (--set NAME=VALUE)", ["input", "meaning", "default", "source"], rows))


@app.callback()
@guarded
def cost_cmd(
    ctx: typer.Context,
    hardware: Optional[str] = HW, model: Optional[str] = MODEL, chips: int = CHIPS, system: Optional[str] = SYSTEM,
    isl: float = ISL, osl: float = OSL, tpot_slo_ms: Optional[float] = TPOT, ttft_slo_ms: Optional[float] = TTFT,
    weight_dtype: str = WD, buyer: str = BUYER, site: str = SITE, date: Optional[str] = DATE, currency: str = CUR,
    rent: Optional[float] = RENT, rent_currency: str = RENT_CUR, tier: Optional[str] = TIER,
    sets: Optional[list[str]] = SETS, econ: Optional[Path] = ECON, scenario: Optional[str] = SCEN,
    serving: Optional[str] = SERVING, spec_decode: Optional[str] = SPEC, engine: Optional[str] = ENGINE,
    econ_inputs: bool = LIST_INPUTS, catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION,
) -> None:
    """Cost of serving MODEL on HARDWARE: per chip-hour and per million input, output and total tokens."""
    if ctx.invoked_subcommand is not None:
        return
    if econ_inputs:
        _show_inputs_list()
        return
    if not hardware or not model:
        raise SuanliError("give --hardware and --model", hint="e.g. suanli cost --hardware h200-sxm --model deepseek-v3")
    from suanli.catalog import get_catalog
    from suanli.econ.cost import serving_cost

    check_positive(chips=chips)
    cat = get_catalog(catalog or ())
    x = _inputs(sets, econ, rent, rent_currency, tier)
    res = serving_cost(hardware, model, chips, request=_request(isl, osl, tpot_slo_ms, ttft_slo_ms, weight_dtype,
                                                                 system, serving, spec_decode, engine),
                       buyer=buyer, site=site, date=date, scenario=scenario, currency=currency.upper(), inputs=x,
                       catalog=cat)
    if json_out:
        print_json(res.to_dict())
        return
    _render(res)


def _render(r: Any) -> None:
    ch = r.chip_hour
    cur = r.currency
    console.print(f"[bold]{r.model} on {r.chips} x {r.hardware}[/] ({ch.system or 'chip'}), {ch.mode}, in {cur} "
                  f"at {ch.fx_cny_per_usd:.4g} CNY/USD", highlight=False)
    rows = [[k.replace("_", " "), v] for k, v in ch.parts.items()] + [["total per chip-hour", ch.per_chip_hour]]
    console.print(table(f"Cost per chip-hour ({cur})", ["part", cur], rows))
    if ch.capex_per_chip:
        console.print(table(f"Capex per chip ({cur})", ["part", cur],
                            [[k.replace("_", " "), v] for k, v in ch.capex_per_chip.items()]))
    band = r.per_mtok_band or {}
    rows = []
    for k in ("output", "input", "total"):
        b = band.get(k)
        rows.append([f"per M {k} tokens" + (" (all cost on them)" if k != "total" else ""), r.per_mtok[k],
                     f"{fmt(b[0])} - {fmt(b[1])}" if b else "—", r.throughput[k]])
    console.print(table(f"Cost per million tokens ({cur})", ["", cur, "error band", "tok/s per chip"], rows))
    if r.energy:
        console.print(table("Energy", ["", "value"], [
            ["tokens per kWh (all, at the wall)", r.energy["tokens_per_kwh"]],
            ["output tokens per kWh", r.energy["output_tokens_per_kwh"]],
            ["tokens/s per MW of facility power", r.energy["tps_per_mw"]],
            ["facility kW per chip (IT x PUE)", r.energy["kw_per_chip_facility"]]]))
    t = r.tco
    console.print(table(f"TCO over {fmt(t['horizon_years'])} years, {t['chips']} chips ({cur})", ["", cur], [
        ["total", t["total"]], ["upfront capex", t["capex_upfront"]], ["tokens served", t["tokens_total"]]]))
    if r.break_even:
        be = r.break_even
        console.print(table(f"Against {be['api'].get('name', 'the API price')}", ["", "value"], [
            [f"API price in / out per M tokens ({cur})", f"{fmt(be['input_per_mtok'])} / {fmt(be['output_per_mtok'])}"],
            [f"revenue per chip-hour ({cur})", be["revenue_per_chip_hour"]],
            [f"margin per chip-hour ({cur})", be["margin_per_chip_hour"]],
            ["break-even utilisation", f"{be['break_even_utilisation']:.1%}" if be["break_even_utilisation"] else "—"],
        ]))
    a = ch.access
    if a:
        console.print(f"access ({a.buyer} buyer, {a.destination}, {a.date}): US review {a.us_review}, China "
                      f"{a.china_access}, levy {a.fee_fraction:.0%}, power subsidy {a.power_subsidy_fraction:.0%}"
                      + (f"; volume cap: {a.volume_cap}" if a.volume_cap else ""), highlight=False)
    _sources(ch.inputs)
    for w in r.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)


def _sources(inputs: dict) -> None:
    rows = []
    for k, v in inputs.items():
        src = v.get("source", "")
        rows.append([k, fmt(v.get("value")) + (f" {v['currency']}" if v.get("currency") else ""),
                     v.get("confidence", ""), src if len(src) <= 70 else src[:67] + "..."])
    console.print(table("Inputs used (defaults with their sources)", ["input", "value", "conf.", "source"], rows))


@app.command("compare")
@guarded
def compare_cmd(
    hardware: str = typer.Option(..., "--hardware", "-H", help="Comma-separated accelerator ids."),
    model: str = typer.Option(..., "--model", "-m", help="Model id."),
    chips: int = CHIPS, isl: float = ISL, osl: float = OSL, tpot_slo_ms: Optional[float] = TPOT,
    ttft_slo_ms: Optional[float] = TTFT, weight_dtype: str = WD, buyer: str = BUYER, site: str = SITE,
    date: Optional[str] = DATE, currency: str = CUR, sets: Optional[list[str]] = SETS,
    econ: Optional[Path] = ECON, scenario: Optional[str] = SCEN, serving: Optional[str] = SERVING,
    spec_decode: Optional[str] = SPEC, engine: Optional[str] = ENGINE,
    catalog: Optional[list[Path]] = CATALOG_OPTION, json_out: bool = JSON_OPTION,
) -> None:
    """The buyer's question in one table: yuan per million tokens, levy, power, subsidy and access, per chip.

    Examples:

      suanli cost compare --hardware h200-sxm,h20,ascend-910c --model deepseek-v3 --tpot-slo-ms 50
    """
    from suanli.catalog import get_catalog
    from suanli.econ.cost import compare

    ids = [h.strip() for h in hardware.split(",") if h.strip()]
    if not ids:
        raise SuanliError("--hardware is empty", hint="e.g. --hardware h200-sxm,h20,ascend-910c")
    if len(set(ids)) != len(ids):
        raise SuanliError("--hardware names an id twice", hint="give each chip once")
    check_positive(chips=chips)
    cat = get_catalog(catalog or ())
    x = _inputs(sets, econ, None, "USD", None)
    rows = compare(ids, model, chips, request=_request(isl, osl, tpot_slo_ms, ttft_slo_ms, weight_dtype, None, serving,
                                                       spec_decode, engine),
                   buyer=buyer, site=site, date=date, scenario=scenario, currency=currency.upper(), inputs=x,
                   catalog=cat)
    if json_out:
        print_json([r if isinstance(r, dict) else r.to_dict() for r in rows])
        return
    cur = currency.upper()
    sym = "¥" if cur == "CNY" else "$"
    from rich import box
    from rich.table import Table

    t = Table(title=f"{model}, {chips} chips, TPOT <= {fmt(tpot_slo_ms)} ms, {buyer} buyer, {site} ({cur})",
              box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("chip", overflow="fold", min_width=min(max(len(i) for i in ids), 16))
    for c in ("buy?", "levy", "subs", "kW", f"{sym}/h", "tok/s", f"{sym}/M out", f"{sym}/M all"):
        t.add_column(c, justify="right", no_wrap=True)
    notes = []
    for r in rows:
        if isinstance(r, dict):
            t.add_row(r["hardware"], *["—"] * 8)
            notes.append(f"{r['hardware']}: {r['error']}" + (f" ({r['hint']})" if r.get("hint") else ""))
            continue
        ch, a = r.chip_hour, r.chip_hour.access
        band = r.per_mtok_band.get("output") if r.per_mtok_band else None
        t.add_row(r.hardware, ("yes" if a.allowed else "no") if a else "—", f"{a.fee_fraction:.0%}" if a else "—",
                  f"{a.power_subsidy_fraction:.0%}" if a else "—",
                  fmt(ch.kw_per_chip * ch.pue, 3) if ch.kw_per_chip else "—", fmt(ch.per_chip_hour, 3),
                  fmt(r.throughput["output"], 4), fmt(r.per_mtok["output"], 3) + (f" ×÷{band[1] / r.per_mtok['output']:.2f}" if band else ""),
                  fmt(r.per_mtok["total"], 3))
        notes += [f"{r.hardware}: {w}" for w in r.warnings]
    console.print(t)
    console.print(f"buy?: may this buyer get it (US review and Chinese measures); levy: export levy charged to the "
                  f"buyer; subs: share of the power bill subsidised at the site; kW: facility power per chip (IT x PUE); "
                  f"{sym}/h: cost per chip-hour; tok/s: "
                  "output tokens/s per chip at the SLO; ×÷f: the cost's 80% band (price / f to price x f) from the "
                  "performance model's error band on throughput; "
                  f"{sym}/M out: all cost on output tokens; {sym}/M all: per million input + output tokens. Owning cost; "
                  "--rent or --tier for others.", style="dim", highlight=False)
    for n in dict.fromkeys(notes):
        console.print(f"[yellow]note:[/] {n}", highlight=False)
