"""The catalog: packaged data plus user overlays, looked up by id.

``get_catalog()`` returns the packaged accelerators, systems and models, with
any overlay files (``--catalog PATH``, or ``SUANLI_CATALOG`` as an
``os.pathsep``-separated list) applied on top: a record whose id is new is
added; a record whose id exists replaces the fields it names.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from suanli.catalog.load import FIELD_LINES_KEY, LINE_KEY, packaged_text, read_yaml, strip_lines, validate_records
from suanli.catalog.models import ModelArch, load_model_config, load_packaged_models
from suanli.catalog.schema import Accelerator, Figure, System
from suanli.errors import DataError, UnknownIdError

ENV_VAR = "SUANLI_CATALOG"
OVERLAY_KINDS = ("accelerators", "systems", "models")


@dataclass(frozen=True)
class Catalog:
    """Typed, validated records by id. Build with :func:`get_catalog`."""

    accelerators: Mapping[str, Accelerator]
    systems: Mapping[str, System]
    models: Mapping[str, ModelArch]
    files: tuple[str, ...] = ()
    overridden: Mapping[str, str] = field(default_factory=dict)

    # --- accelerators -------------------------------------------------------
    def accelerator(self, hardware: str) -> Accelerator:
        """The accelerator with this id; :class:`UnknownIdError` with suggestions if none."""
        try:
            return self.accelerators[hardware]
        except KeyError:
            err = UnknownIdError("accelerator", hardware, self.accelerators)
            sysrec = self.systems.get(hardware)
            if sysrec is not None and sysrec.hardware:
                err.hint = (f"{hardware} is a system ({sysrec.chips} x {sysrec.hardware}): give the accelerator "
                            f"{sysrec.hardware} (with system {hardware} where a command takes one)")
            raise err from None

    def accelerator_ids(self) -> list[str]:
        return list(self.accelerators)

    def list_accelerators(self, vendor: str | None = None, category: str | None = None) -> list[Accelerator]:
        """Accelerators filtered by vendor and category (case-insensitive, substring for vendor)."""
        out = []
        for acc in self.accelerators.values():
            if vendor and vendor.lower() not in acc.vendor.lower():
                continue
            if category and category.lower() != acc.category:
                continue
            out.append(acc)
        return out

    # --- systems --------------------------------------------------------------
    def system(self, system: str, hardware: str | None = None) -> System:
        """A system by id, or by alias (``hgx-8``) for the given hardware.

        An alias with no system of that hardware gives a generic 8-card node
        built from the accelerator's own links (estimate confidence).
        """
        if system in self.systems:
            return self.systems[system]
        aliased = [s for s in self.systems.values() if system in s.aliases]
        if aliased:
            if hardware is None:
                raise UnknownIdError("system", system, self.systems) from None
            for s in aliased:
                if s.hardware == hardware:
                    return s
            return self.generic_node(hardware)
        raise UnknownIdError("system", system, list(self.systems) + sorted({a for s in self.systems.values() for a in s.aliases}))

    def default_system(self, hardware: str) -> System:
        """The system a chip most often comes in: its rack, its 8-chip node, or a generic node."""
        acc = self.accelerator(hardware)
        cands = [s for s in self.systems.values() if s.hardware == acc.id]
        if cands:
            return max(cands, key=lambda s: ("hgx-8" in s.aliases, -s.chips))
        return self.generic_node(hardware)

    def generic_node(self, hardware: str) -> System:
        """An 8-card server of this accelerator: its own links if listed, else PCIe."""
        acc = self.accelerator(hardware)
        base = self.systems["pcie-8"]
        upd: dict[str, Any] = {
            "id": f"pcie-8-{acc.id}",
            "name": f"{base.name} with {acc.name}",
            "hardware": acc.id,
            "aliases": ("hgx-8",),
            "confidence": "estimate",
            "sources": base.sources + acc.sources,
        }
        own = acc.scaleup_bw_unidir_gbps
        if own is not None and acc.scaleup_bw_direction != "aggregate" and own > base.scaleup_bw_unidir_gbps.value:
            upd["scaleup_bw_unidir_gbps"] = Figure(
                value=own if acc.scaleup_bw_direction != "unstated" else own / 2,
                source=acc.scaleup_bw_gbps.source, confidence="estimate",
                note=f"card links ({acc.scaleup_interconnect}); {acc.scaleup_bw_direction} figure "
                     f"{acc.scaleup_bw_gbps.value:g} GB/s taken per direction as "
                     + ("stated" if acc.scaleup_bw_direction == "unidirectional" else "half"),
            )
            upd["scaleup_fabric"] = acc.scaleup_interconnect or base.scaleup_fabric
            upd["scaleup_topology"] = "mesh"
        return base.model_copy(update=upd)

    # --- models ---------------------------------------------------------------
    def model(self, model: str) -> ModelArch:
        """A model by id, or loaded from a path to a Hugging Face ``config.json``."""
        if model in self.models:
            return self.models[model]
        if model.endswith(".json") or os.sep in model or Path(model).is_file():
            return load_model_config(model)
        raise UnknownIdError("model", model, self.models)

    def model_ids(self) -> list[str]:
        return list(self.models)


# ---------------------------------------------------------------------------
def _packaged_raw(name: str, kind: str) -> tuple[str, list]:
    path, text = packaged_text("suanli.catalog", name)
    doc = read_yaml(path, text)
    if not isinstance(doc, dict) or kind not in doc:
        raise DataError(path, f"expected a top-level '{kind}:' list")
    return path, doc[kind]


def _merge(base: dict, upd: dict) -> dict:
    out = dict(base)
    for k, v in upd.items():
        if k in (LINE_KEY, FIELD_LINES_KEY):
            continue
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**strip_lines(out[k]), **v}
        else:
            out[k] = v
    out[LINE_KEY] = upd.get(LINE_KEY)
    # lines point into the overlay: a field the overlay does not name has no line there
    out[FIELD_LINES_KEY] = dict(upd.get(FIELD_LINES_KEY) or {})
    return out


def _overlay_paths(overlays: Sequence[str | Path]) -> list[str]:
    env = os.environ.get(ENV_VAR, "")
    paths = [p for p in env.split(os.pathsep) if p.strip()]
    paths += [str(p) for p in overlays]
    out: list[str] = []
    for p in paths:
        pp = Path(p)
        if pp.is_dir():
            out += sorted(str(f) for f in pp.iterdir() if f.suffix in (".yaml", ".yml"))
        else:
            out.append(str(pp))
    return out


def load_catalog(overlays: Sequence[str | Path] = ()) -> Catalog:
    """Read and validate the packaged data plus overlays (uncached)."""
    acc_path, acc_raw = _packaged_raw("accelerators.yaml", "accelerators")
    sys_path, sys_raw = _packaged_raw("systems.yaml", "systems")
    raw: dict[str, dict[str, tuple[str, dict]]] = {
        "accelerators": {r.get("id"): (acc_path, r) for r in acc_raw if isinstance(r, dict)},
        "systems": {r.get("id"): (sys_path, r) for r in sys_raw if isinstance(r, dict)},
    }
    # Validate the packaged files first so their own errors name their own file.
    validate_records(Accelerator, acc_raw, file=acc_path, kind="accelerators")
    validate_records(System, sys_raw, file=sys_path, kind="systems")
    models: dict[str, ModelArch] = dict(load_packaged_models())
    files = [acc_path, sys_path]
    overridden: dict[str, str] = {}

    for path in _overlay_paths(overlays):
        doc = read_yaml(path)
        files.append(path)
        if not isinstance(doc, dict) or not any(k in doc for k in OVERLAY_KINDS):
            raise DataError(path, f"an overlay needs at least one of {', '.join(OVERLAY_KINDS)} as a top-level list",
                            hint="see examples/overlay-made-up-chip.yaml")
        unknown = [k for k in doc if k not in OVERLAY_KINDS and k not in (LINE_KEY, FIELD_LINES_KEY)]
        if unknown:
            raise DataError(path, f"unknown top-level key {unknown[0]!r}", hint=f"use {', '.join(OVERLAY_KINDS)}")
        for kind in ("accelerators", "systems"):
            items = doc.get(kind) or []
            if not isinstance(items, list):
                raise DataError(path, f"'{kind}' must be a list of records")
            schema = Accelerator if kind == "accelerators" else System
            for item in items:
                if not isinstance(item, dict) or "id" not in item:
                    raise DataError(path, "each record needs an 'id'", line=item.get(LINE_KEY) if isinstance(item, dict) else None)
                rid = item["id"]
                merged = _merge(raw[kind][rid][1], item) if rid in raw[kind] else item
                validate_records(schema, [merged], file=path, kind=kind)
                if rid in raw[kind]:
                    overridden[f"{kind}:{rid}"] = path
                raw[kind][rid] = (path, merged)
        for item in doc.get("models") or []:
            arch = _overlay_model(path, item)
            if arch.id in models:
                overridden[f"models:{arch.id}"] = path
            models[arch.id] = arch

    accs = {rid: validate_records(Accelerator, [r], file=f, kind="accelerators")[0] for rid, (f, r) in raw["accelerators"].items()}
    syss = {rid: validate_records(System, [r], file=f, kind="systems")[0] for rid, (f, r) in raw["systems"].items()}
    for s in syss.values():
        if s.hardware is not None and s.hardware not in accs:
            f = raw["systems"][s.id][0]
            raise DataError(f, f"hardware {s.hardware!r} is not an accelerator id", record=s.id, field="hardware",
                            hint=f"did you mean: {', '.join(UnknownIdError('accelerator', s.hardware, accs).suggestions) or 'see suanli catalog list'}")
    return Catalog(accs, syss, models, tuple(files), overridden)


def _overlay_model(path: str, item: Any) -> ModelArch:
    if not isinstance(item, dict) or "id" not in item:
        raise DataError(path, "each model record needs an 'id'", line=item.get(LINE_KEY) if isinstance(item, dict) else None)
    item = strip_lines(item)
    if "config_file" in item:
        cfg = Path(item["config_file"])
        if not cfg.is_absolute():
            cfg = Path(path).parent / cfg
        arch = load_model_config(cfg, id=item["id"])
    elif "config" in item:
        arch = ModelArch.from_hf_config(item["config"], id=item["id"], source=item.get("source"), file=path)
    else:
        raise DataError(path, "a model record needs 'config' (inline HF config) or 'config_file'", record=item["id"])
    meta = {k: item[k] for k in ("source", "license", "hf_repo", "notes") if k in item}
    return arch.model_copy(update=meta) if meta else arch


@lru_cache(maxsize=16)
def _cached(paths: tuple[str, ...], env: str) -> Catalog:
    return load_catalog(paths)


def get_catalog(overlays: Sequence[str | Path] = ()) -> Catalog:
    """The catalog with overlays applied; cached per (overlays, SUANLI_CATALOG)."""
    return _cached(tuple(str(p) for p in overlays), os.environ.get(ENV_VAR, ""))
