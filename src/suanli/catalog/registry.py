"""The catalog: packaged data plus user overlays, looked up by id.

``get_catalog()`` returns the packaged accelerators, systems and models, with
any overlay files (``--catalog PATH``, or ``SUANLI_CATALOG`` as an
``os.pathsep``-separated list) applied on top: a record whose id is new is
added; a record whose id exists replaces the fields it names.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suanli.catalog.links import pcie_table, pcie_unidir_gbps
from suanli.catalog.load import FIELD_LINES_KEY, LINE_KEY, packaged_text, read_yaml, strip_lines, validate_records
from suanli.catalog.schema import Accelerator, Figure, System
from suanli.errors import DataError, UnknownIdError

if TYPE_CHECKING:  # model architectures (numpy) load on first use: `catalog show` never needs them
    from suanli.catalog.models import ModelArch

ENV_VAR = "SUANLI_CATALOG"
OVERLAY_KINDS = ("accelerators", "systems", "models", "calibrations")


class _LazyModels(Mapping):
    """The packaged model architectures, read and validated on first access."""

    def __init__(self, load: Callable[[], Mapping[str, Any]]) -> None:
        self._load, self._data = load, None

    def _get(self) -> Mapping[str, Any]:
        if self._data is None:
            self._data = dict(self._load())
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _packaged_models() -> Mapping[str, Any]:
    from suanli.catalog.models import load_packaged_models

    return dict(load_packaged_models())


@dataclass(frozen=True)
class Catalog:
    """Typed, validated records by id. Build with :func:`get_catalog`."""

    accelerators: Mapping[str, Accelerator]
    systems: Mapping[str, System]
    models: Mapping[str, ModelArch]
    files: tuple[str, ...] = ()
    overridden: Mapping[str, str] = field(default_factory=dict)
    calibrations: Mapping[str, Any] = field(default_factory=dict)  # hardware id -> ChipCalibration

    # --- accelerators -------------------------------------------------------
    def accelerator(self, hardware: str) -> Accelerator:
        """The accelerator with this id (any case); :class:`UnknownIdError` with suggestions if none."""
        if not isinstance(hardware, str):
            raise UnknownIdError("accelerator", repr(hardware), self.accelerators)
        try:
            return self.accelerators[hardware.strip().lower()]
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
        system = system.strip().lower()
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
        aliases = sorted({a for s in self.systems.values() for a in s.aliases})
        err = UnknownIdError("system", system, list(self.systems) + aliases)
        if not err.suggestions:  # count the systems, not the aliases
            err.hint = (f"run `suanli catalog systems` to see the {len(self.systems)} known systems "
                        f"(aliases: {', '.join(aliases)})")
        raise err

    def default_system(self, hardware: str) -> System:
        """The system a chip most often comes in: its rack, its 8-chip node, or a generic node."""
        acc = self.accelerator(hardware)
        cands = [s for s in self.systems.values() if s.hardware == acc.id]
        if cands:
            return max(cands, key=lambda s: ("hgx-8" in s.aliases, -s.chips))
        return self.generic_node(hardware)

    def generic_node(self, hardware: str) -> System:
        """An 8-card server of this accelerator: its own links if listed, else PCIe of its generation.

        A card's link figure counts per direction: a bidirectional, aggregate (all links, both
        directions) or unstated figure is halved, as the vendors' node records read theirs. Without
        such a link the cards talk over PCIe at the rate their ``pcie_gen`` gives (``links.yaml``),
        else at the generic node's Gen4 x16.
        """
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
        pcie, why = pcie_unidir_gbps(acc.pcie_gen)
        link = base.scaleup_bw_unidir_gbps.value
        if pcie is not None and pcie != link:
            link = pcie
            upd["scaleup_bw_unidir_gbps"] = Figure(
                value=pcie, source=pcie_table().source, confidence="estimate",
                note=f"the card's host link ({acc.pcie_gen}), per direction" + (f"; {why}" if why else ""))
            upd["scaleup_fabric"] = f"PCIe {acc.pcie_gen} through a PCIe switch"
        fig = acc.scaleup_bw_gbps
        if fig.value is not None:
            own = fig.value if acc.scaleup_bw_direction == "unidirectional" else fig.value / 2
            if own > link:
                upd["scaleup_bw_unidir_gbps"] = Figure(
                    value=own, source=fig.source, confidence="estimate",
                    note=f"card links ({acc.scaleup_interconnect}); {acc.scaleup_bw_direction} figure "
                         f"{fig.value:g} GB/s taken per direction as "
                         + ("stated" if acc.scaleup_bw_direction == "unidirectional" else "half"),
                )
                upd["scaleup_fabric"] = acc.scaleup_interconnect or base.scaleup_fabric
                upd["scaleup_topology"] = "mesh"
        return base.model_copy(update=upd)

    # --- models ---------------------------------------------------------------
    def model(self, model: str) -> ModelArch:
        """A model by id (any case), or loaded from a path to a Hugging Face ``config.json``."""
        if model in self.models:
            return self.models[model]
        if model.strip().lower() in self.models:
            return self.models[model.strip().lower()]
        if model.endswith(".json") or os.sep in model or Path(model).is_file():
            from suanli.catalog.models import load_model_config

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


def load_catalog(overlays: Sequence[str | Path] = (), *, calibrated: bool = True) -> Catalog:
    """Read and validate the packaged data plus overlays (uncached).

    ``calibrated=False`` leaves out the packaged chip calibrations
    (``data/calibrated/``): the catalog as the family values alone predict it,
    which is what a calibration starts from (``benchmarks/calibration_oof.py``).
    """
    acc_path, acc_raw = _packaged_raw("accelerators.yaml", "accelerators")
    sys_path, sys_raw = _packaged_raw("systems.yaml", "systems")
    raw: dict[str, dict[str, tuple[str, dict]]] = {
        "accelerators": {r.get("id"): (acc_path, r) for r in acc_raw if isinstance(r, dict)},
        "systems": {r.get("id"): (sys_path, r) for r in sys_raw if isinstance(r, dict)},
    }
    # Validate the packaged files first so their own errors name their own file; each record once.
    valid: dict[str, dict[str, Any]] = {
        "accelerators": {r.id: r for r in validate_records(Accelerator, acc_raw, file=acc_path, kind="accelerators")},
        "systems": {r.id: r for r in validate_records(System, sys_raw, file=sys_path, kind="systems")},
    }
    models: Mapping[str, ModelArch] = _LazyModels(_packaged_models)
    files = [acc_path, sys_path]
    overridden: dict[str, str] = {}

    calibrations: dict[str, Any] = {}
    cal_files: dict[str, str] = {}
    for path in (_calibrated_paths() if calibrated else []) + _overlay_paths(overlays):
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
                valid[kind][rid] = validate_records(schema, [merged], file=path, kind=kind)[0]
                if kind == "accelerators":
                    _check_ranges(path, merged, valid[kind][rid])
                if rid in raw[kind]:
                    overridden[f"{kind}:{rid}"] = path
                raw[kind][rid] = (path, merged)
        for item in doc.get("models") or []:
            if isinstance(models, _LazyModels):
                models = dict(models)  # an overlay's models are validated now, with the packaged ones
            arch = _overlay_model(path, item)
            if arch.id in models:
                overridden[f"models:{arch.id}"] = path
            models[arch.id] = arch
        for item in doc.get("calibrations") or []:
            cal = _overlay_calibration(path, item)
            if cal.hardware in calibrations:
                overridden[f"calibrations:{cal.hardware}"] = path
            calibrations[cal.hardware] = cal
            cal_files[cal.hardware] = path

    accs, syss = valid["accelerators"], valid["systems"]
    for hid in calibrations:
        if hid not in accs:
            raise DataError(cal_files[hid], f"calibration of unknown accelerator {hid!r}", record=hid,
                            hint="add the accelerator record to the same overlay")
    for s in syss.values():
        if s.hardware is not None and s.hardware not in accs:
            f = raw["systems"][s.id][0]
            raise DataError(f, f"hardware {s.hardware!r} is not an accelerator id", record=s.id, field="hardware",
                            hint=f"did you mean: {', '.join(UnknownIdError('accelerator', s.hardware, accs).suggestions) or 'see suanli catalog list'}")
    return Catalog(accs, syss, models, tuple(files), overridden, calibrations)


def _calibrated_paths() -> list[str]:
    """The packaged calibration overlays (``data/calibrated/*.yaml``): defaults for the chips they name."""
    from importlib import resources

    d = resources.files("suanli.catalog").joinpath("data", "calibrated")
    if not d.is_dir():
        return []
    return sorted(str(f) for f in d.iterdir() if f.name.endswith((".yaml", ".yml")))


def _overlay_calibration(path: str, item: Any) -> Any:
    from pydantic import ValidationError

    from suanli.catalog.calibration import ChipCalibration

    line = item.get(LINE_KEY) if isinstance(item, dict) else None
    if not isinstance(item, dict):
        raise DataError(path, "each calibration must be a mapping", line=line)
    try:
        return ChipCalibration.model_validate(strip_lines(item))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DataError(path, f"{err['msg']}", record=item.get("hardware"), line=line,
                        field=".".join(str(p) for p in err["loc"]) or None,
                        hint="regenerate it with `suanli calibrate RECORDS.csv -o overlay.yaml`") from None


def _check_ranges(path: str, raw: dict, acc: Accelerator) -> None:
    """An overlay's figures must lie in the plausible range of their field (``data/checks.yaml``)."""
    from suanli.catalog.checks import field_range

    for name, fig in acc.figures().items():
        rng = field_range(name, acc.category)
        values = [fig.value] + [a.value for a in fig.alternatives]
        bad = [v for v in values if v is not None and rng is not None and not (rng[0] <= v <= rng[1])]
        if bad:
            line = (raw.get(FIELD_LINES_KEY) or {}).get(name) or raw.get(LINE_KEY)
            raise DataError(path, f"{bad[0]:g} is outside the plausible range [{rng[0]:g}, {rng[1]:g}] of this field",
                            record=acc.id, field=name, line=line,
                            hint="check the unit in the field name (e.g. mem_bw_tbps is TB/s, tdp_w is W)")


def _overlay_model(path: str, item: Any) -> ModelArch:
    from suanli.catalog.models import ModelArch, load_model_config

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


# --- on-disk cache of the packaged catalog ----------------------------------
#: Set to any value but ``0`` to read the packaged catalog from its YAML files on every start.
NO_CACHE_ENV = "SUANLI_NO_CACHE"
CACHE_FILE = "catalog.pickle"


def cache_path() -> Path:
    """Where the validated packaged catalog is kept: ``$XDG_CACHE_HOME/suanli`` (default ``~/.cache/suanli``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "suanli" / CACHE_FILE


def cache_enabled() -> bool:
    return os.environ.get(NO_CACHE_ENV, "") in ("", "0")


def cache_key(root: Path | None = None) -> str | None:
    """A hash of everything the validated packaged catalog depends on; ``None`` if it cannot be computed.

    The exact bytes of every file of the ``suanli.catalog`` package (its data,
    packaged calibrations and the code that validates them), the folder they
    were read from (the records name their files), and the suanli, pydantic,
    pydantic-core and Python versions. ``root`` is the package folder (tests
    hash a copy).
    """
    import hashlib
    import sys

    import pydantic
    import pydantic_core

    from suanli import __version__

    root = Path(__file__).resolve().parent if root is None else root
    if not root.is_dir():  # e.g. imported from a zip: no cache
        return None
    h = hashlib.sha256()
    for part in (__version__, pydantic.VERSION, pydantic_core.__version__, sys.version, str(root)):
        h.update(part.encode() + b"\0")
    try:
        files = sorted(f for f in root.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
        for f in files:
            data = f.read_bytes()
            h.update(f"{f.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return None
    return h.hexdigest()


def _read_cache(path: Path, key: str) -> Catalog | None:
    """The cached catalog if the file holds one for ``key``; ``None`` when missing, stale or unreadable."""
    import pickle

    try:
        with open(path, "rb") as f:
            if pickle.load(f) != key:  # the key is pickled first: a stale file is rejected before its records load
                return None
            payload = pickle.load(f)
        accs, syss = payload["accelerators"], payload["systems"]
        if not (all(isinstance(a, Accelerator) for a in accs.values())
                and all(isinstance(s, System) for s in syss.values())):
            return None
        return Catalog(accs, syss, _LazyModels(_packaged_models), tuple(payload["files"]),
                       dict(payload["overridden"]), dict(payload["calibrations"]))
    except Exception:  # noqa: BLE001 - any damage to the file (truncated, garbage, old classes) means: rebuild
        return None


def _write_cache(path: Path, key: str, cat: Catalog) -> None:
    """Write the catalog atomically (temporary file, then rename); a failure leaves no cache, never an error."""
    import pickle
    import tempfile

    if not isinstance(cat.models, _LazyModels):  # packaged models are read on use, never cached
        return
    payload = {"accelerators": dict(cat.accelerators), "systems": dict(cat.systems), "files": cat.files,
               "overridden": dict(cat.overridden), "calibrations": dict(cat.calibrations)}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{CACHE_FILE}.", delete=False) as f:
            tmp = f.name
            pickle.dump(key, f, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
    except Exception:  # noqa: BLE001 - a read-only or full disk, or an unpicklable record: run without a cache
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def packaged_catalog() -> Catalog:
    """The packaged catalog (no overlays), from the on-disk cache when it is current.

    The cache is written only after a full load has validated every record, and
    its key covers every byte the result depends on, so it never hides a
    validation error; overlays (``--catalog``, ``SUANLI_CATALOG``) never use it.
    """
    if not cache_enabled():
        return load_catalog(())
    key = cache_key()
    if key is None:
        return load_catalog(())
    path = cache_path()
    cat = _read_cache(path, key)
    if cat is None:
        cat = load_catalog(())
        _write_cache(path, key, cat)
    return cat


@lru_cache(maxsize=16)
def _cached(paths: tuple[str, ...], env: str) -> Catalog:
    if not paths and not env:
        return packaged_catalog()
    return load_catalog(paths)


def get_catalog(overlays: str | Path | Sequence[str | Path] = ()) -> Catalog:
    """The catalog with overlays applied; cached per (overlays, SUANLI_CATALOG).

    ``overlays`` is one path (file or folder) or a sequence of them.
    """
    if isinstance(overlays, (str, Path)):
        overlays = (overlays,)
    elif overlays is None:
        overlays = ()
    return _cached(tuple(str(p) for p in overlays), os.environ.get(ENV_VAR, ""))
