"""The error band a prediction carries, and its extrapolation warnings.

The bands come from the accuracy report (``perf/data/error_bands.yaml``, written by ``suanli validate
--bands``): the conformal 80% quantile of the held-out errors of the prediction's hardware family
and kind. A family with too few serving measurements for a band of its own, an engine with no
serving measurement, or a model with none on the chip's vendor (its layer shapes and kernels there
unchecked) takes the widest band of the validation set, or the band of the serving errors with a
whole engine (model) held out where that is wider; a chip with its own calibration carries that
calibration's band.
"""
from __future__ import annotations

import numpy as np

from suanli.perf.hardware import HardwareSpec, _packaged_optional
from suanli.perf.serving import ErrorBand, Prediction
from suanli.perf.validate import SERVING_KINDS


def _widest(bands: dict, note: str, *unseen: str) -> ErrorBand:
    """The band of an extrapolation: the widest of the family bands and of the errors with each
    ``unseen`` kind (``engine``, ``model``) held out whole, where the bands file has them."""
    cands = [bands["widest"]] + [u for k in unseen if (u := (bands.get("unseen") or {}).get(k))]
    w = max(cands, key=lambda g: g.get("p80") or 0.0)
    if w is not bands["widest"]:
        note = note.replace("the widest band of the validation set", f"the band of the validation set's {w['group']}")
    return ErrorBand(w.get("mape"), int(w.get("n", 0)), w.get("group", "widest"), p80=w.get("p80"),
                     coverage=w.get("coverage"), note=note)


def _whose(band: ErrorBand | None, widest: dict) -> str:
    if band is not None and band.group != widest.get("group"):
        return f"that of the validation set's {band.group}"
    return f"the widest of the validation set ({widest.get('group')})"


def band_for(hw: HardwareSpec, kind: str, engine: str | None = None,
             model: str | None = None) -> tuple[ErrorBand | None, list[str]]:
    """Error band of the hardware family and kind (see the module docstring), and extrapolation warnings."""
    bands = _packaged_optional("error_bands.yaml")
    warns: list[str] = []
    groups = bands.get("groups", {})
    serving = kind in SERVING_KINDS
    widest = bands.get("widest")

    def unmeasured(value: str | None, listed: str) -> bool:
        known = bands.get(listed)
        return bool(serving and value and widest and known is not None and value not in known)

    unmeasured_engine = unmeasured(engine and engine.lower(), "measured_engines")
    unmeasured_family = unmeasured(hw.family, "measured_families")
    unmeasured_model = unmeasured(model, "measured_models")
    by_vendor = bands.get("measured_model_vendors") or {}
    other_vendor = bool(serving and widest and model and not unmeasured_model and model in by_vendor
                        and hw.vendor not in by_vendor[model])
    where = f" on {hw.vendor} chips" if other_vendor else ""
    unmeasured_model = unmeasured_model or other_vendor
    band = None
    if unmeasured_engine:
        band = _widest(bands, f"no serving measurement with the {engine} engine: the widest band of the validation set",
                       "engine", *(("model",) if unmeasured_model else ()))
        warns.append(f"extrapolation: no serving measurement with the {engine} engine (its host cost per request "
                     f"is an estimate); the band is {_whose(band, widest)}")
    elif unmeasured_family:
        band = _widest(bands, f"too few serving measurements of the {hw.family} family for a band of its own: "
                              "the widest band of the validation set", *(("model",) if unmeasured_model else ()))
        warns.append(f"extrapolation: too few serving measurements of the {hw.family} family for an error band of "
                     f"its own; the band is {_whose(band, widest)}")
    elif unmeasured_model:
        band = _widest(bands, f"no serving measurement of {model}{where}: the widest band of the validation set",
                       "model")
    else:
        keys = [f"family={hw.family}|kind={kind}"] + ([f"family={hw.family}|kind=serving"] if serving else []) \
            + [f"vendor={hw.vendor}|kind={kind}"] + ([f"vendor={hw.vendor}|kind=serving"] if serving else []) \
            + [f"kind={kind}"] + (["kind=serving"] if serving else []) + ["all"]
        for key in keys:
            g = groups.get(key)
            if g and g.get("mape") is not None:
                band = ErrorBand(g["mape"], int(g.get("n", 0)), key, p80=g.get("p80"), coverage=g.get("coverage"))
                break
    if unmeasured_model:
        warns.append(f"extrapolation: no serving measurement of {model}{where} in the validation set (its layer "
                     f"shapes and kernels are not checked{' there' if where else ''}); the band is "
                     f"{_whose(band, widest)}")
    measured = set(bands.get("measured_stacks", []))
    if measured and hw.stack not in measured:
        warns.append(f"extrapolation: no serving measurement on the {hw.stack} stack; the {hw.stack} "
                     f"software-maturity factor is an estimate")
    if bands.get("measured_vendors") and hw.vendor not in bands["measured_vendors"]:
        warns.append(f"extrapolation: no measurement of any {hw.vendor} chip in the validation set")
    if hw.estimates:
        warns.append("figures of estimate confidence: " + ", ".join(hw.estimates))
    if getattr(hw, "calibration", None) is not None:  # the chip's own measurements (suanli calibrate)
        from suanli.perf.chipcal import calibrated_band

        cal_band, more = calibrated_band(hw.calibration, band, kind)
        warns += more
        if not (unmeasured_engine or unmeasured_model):  # an unmeasured engine or model keeps the widest band
            band = cal_band
    return band, warns


def with_band(pred: Prediction, band: ErrorBand | None, metric: str) -> None:
    """Set the band's low / high around the prediction: ``v e^-p80 .. v e^p80`` (or +-MAPE without p80)."""
    if band is None:
        return
    v = pred.metrics.get(metric)
    if v is not None and band.p80 is not None:
        band.low, band.high = v * float(np.exp(-band.p80)), v * float(np.exp(band.p80))
    elif v is not None and band.mape is not None:
        band.low, band.high = v * (1 - band.mape), v * (1 + band.mape)
    band.metric = metric if v is not None else None
    pred.error_band = band


__all__ = ["band_for", "with_band"]
