"""Reading model architectures: a Hugging Face ``config.json`` into a :class:`~suanli.catalog.models.ModelArch`,
and the packaged models file (records that name a config and carry their sources).

How keys and variants are read is documented in :mod:`suanli.catalog.models`.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from suanli.catalog.load import LINE_KEY, packaged_text, read_yaml, validate_records
from suanli.catalog.models import AttentionKind, ModelArch, _FieldError, _Pos, _PosFloat
from suanli.catalog.schema import ID_PATTERN
from suanli.errors import DataError

__all__ = ["ModelRecord", "load_model_config", "load_models_file", "load_packaged_models"]


# --------------------------------------------------------------------------- reading configs
# config.json key for each field, to name the key a user must fix.
_HF_KEY = {
    "layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
    "kv_heads": "num_key_value_heads", "vocab": "vocab_size", "max_context": "max_position_embeddings",
    "intermediate": "intermediate_size", "experts": "num_experts", "top_k": "num_experts_per_tok",
    "shared_experts": "n_shared_experts", "moe_intermediate": "moe_intermediate_size",
    "mtp_layers": "num_nextn_predict_layers",
}
_ALIASES = {
    "hidden_size": ("n_embd", "d_model"),
    "num_hidden_layers": ("n_layer", "num_layers"),
    "num_attention_heads": ("n_head",),
    "max_position_embeddings": ("n_positions", "n_ctx", "seq_length"),
    "intermediate_size": ("n_inner", "ffn_hidden_size"),
    # ChatGLM2/3 (model_type chatglm): its own names for the same fields
    "vocab_size": ("padded_vocab_size",),
    "num_key_value_heads": ("multi_query_group_num",),
    "head_dim": ("kv_channels",),
}
_GATED_TYPES = frozenset({
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe",
    "deepseek_v2", "deepseek_v3", "deepseek_v32", "kimi_k2", "glm4_moe", "gpt_oss", "chatglm",
})
_PLAIN_MLP_TYPES = frozenset({"gpt2"})
_GATED_ACTS = frozenset({"silu", "swish", "swiglu"})
_MISSING: Any = object()


class _Reader:
    """Typed access to a config mapping; every problem is a DataError naming the key."""

    def __init__(self, cfg: Mapping[str, Any], file: str, record: str | None) -> None:
        self.cfg, self.file, self.record = cfg, file, record

    def error(self, key: str, reason: str, hint: str | None = None) -> DataError:
        return DataError(self.file, reason, record=self.record, field=key, hint=hint)

    def raw(self, key: str) -> Any:
        if self.cfg.get(key) is not None:
            return self.cfg[key]
        for alias in _ALIASES.get(key, ()):
            if self.cfg.get(alias) is not None:
                return self.cfg[alias]
        return None

    def int(self, key: str, default: Any = _MISSING, *, minimum: int = 1) -> Any:
        v = self.raw(key)
        if v is None:
            if default is _MISSING:
                hint = "text_config holds the language model: pass config['text_config']" \
                    if "text_config" in self.cfg else f"add {key!r} as in the model's Hugging Face config.json"
                raise self.error(key, "missing required key", hint)
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(key, f"must be an integer (got {v!r})")
        if v < minimum:
            raise self.error(key, f"must be >= {minimum} (got {v})")
        return v

    def first_int(self, keys: tuple[str, ...], default: Any = _MISSING, *, minimum: int = 1) -> Any:
        for k in keys:
            if self.raw(k) is not None:
                return self.int(k, minimum=minimum)
        if default is _MISSING:
            raise self.error(keys[0], f"missing required key (any of {', '.join(keys)})")
        return default

    def bool(self, key: str, default: bool) -> bool:
        v = self.cfg.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.error(key, f"must be true or false (got {v!r})")
        return v


def _count_moe_layers(r: _Reader, layers: int) -> int:
    cfg = r.cfg
    if "first_k_dense_replace" in cfg or "moe_layer_freq" in cfg:  # DeepSeek, Kimi, GLM
        key = "first_k_dense_replace"
        first = r.int(key, 0, minimum=0)
        freq = r.int("moe_layer_freq", 1)
        n = sum(1 for i in range(layers) if i >= first and i % freq == 0)
    elif "decoder_sparse_step" in cfg or "mlp_only_layers" in cfg:  # Qwen-MoE
        key = "decoder_sparse_step"
        step = r.int(key, 1)
        only = cfg.get("mlp_only_layers") or []
        if not isinstance(only, list) or not all(isinstance(i, int) and 0 <= i < layers for i in only):
            raise r.error("mlp_only_layers", f"must be a list of layer indices 0..{layers - 1} (got {only!r})")
        n = sum(1 for i in range(layers) if i not in only and (i + 1) % step == 0)
    else:
        return layers  # Mixtral, gpt-oss: every layer
    if n == 0:
        raise r.error(key, f"experts are configured but none of the {layers} layers is MoE")
    return n


def _count_sliding_layers(r: _Reader, layers: int) -> tuple[int, int | None]:
    cfg = r.cfg
    window = r.int("sliding_window", None)
    types = cfg.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or len(types) != layers or not all(isinstance(t, str) for t in types):
            raise r.error("layer_types", f"must list one string per layer ({layers}) (got {str(types)[:60]})")
        sliding = sum(t == "sliding_attention" for t in types)
    elif window is None or cfg.get("use_sliding_window") is False:
        sliding = 0
    elif "max_window_layers" in cfg:  # Qwen2 family: layers from max_window_layers on slide
        sliding = max(0, layers - r.int("max_window_layers", minimum=0))
    else:  # Mistral: every layer
        sliding = layers
    if sliding and window is None:
        raise r.error("sliding_window", "layer_types has sliding_attention layers but sliding_window is not set")
    return sliding, (window if sliding else None)


def _arch_fields(config: Mapping[str, Any], r: _Reader) -> dict[str, Any]:
    """Map a config.json to ModelArch fields (rules in the module docstring)."""
    model_type = config.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise r.error("model_type", f"must be a string (got {model_type!r})")
    act = str(config.get("hidden_act") or config.get("activation_function") or "").lower()
    if model_type in _GATED_TYPES:
        gated = True
    elif model_type in _PLAIN_MLP_TYPES:
        gated = False
    else:
        gated = act in _GATED_ACTS
        if model_type is not None:
            warnings.warn(
                f"{r.file}: model_type {model_type!r} is not one suanli knows; read with "
                f"{'Llama' if gated else 'GPT-2'} conventions (from hidden_act {act or 'unset'!r}). "
                "Check total_params against the model card.", stacklevel=4)

    hidden = r.int("hidden_size")
    layers = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    f: dict[str, Any] = {
        "model_type": model_type, "layers": layers, "hidden": hidden, "heads": heads, "kv_heads": kv_heads,
        "vocab": r.int("vocab_size"), "max_context": r.int("max_position_embeddings", None),
        "ffn_gated": gated, "norm": "rmsnorm" if gated else "layernorm", "learned_positions": not gated,
        "tie_word_embeddings": r.bool("tie_word_embeddings", not gated),
        "attention_bias": r.bool("attention_bias", not gated or model_type in ("qwen2", "qwen2_moe")),
        "mlp_bias": r.bool("mlp_bias", not gated or model_type == "gpt_oss"),
        "router_bias": model_type in ("gpt_oss", "glm4_moe") or config.get("topk_method") == "noaux_tc",
        "qk_norm": r.bool("use_qk_norm", model_type in ("qwen3", "qwen3_moe")),
        "attention_sinks": model_type == "gpt_oss",
        "mtp_layers": r.int("num_nextn_predict_layers", 0, minimum=0),
    }
    if f["learned_positions"] and f["max_context"] is None:
        raise r.error("max_position_embeddings", "needed for the learned position table of a GPT-style model")

    if config.get("kv_lora_rank") is not None:
        f["attention"] = "mla"
        for k in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
            f[k] = r.int(k)
        f["q_lora_rank"] = r.int("q_lora_rank", None)
        f["head_dim"] = f["qk_nope_head_dim"] + f["qk_rope_head_dim"]
    else:
        head_dim = r.int("head_dim", None)
        if head_dim is None:
            if hidden % heads:
                raise r.error("head_dim", f"hidden_size {hidden} is not a multiple of num_attention_heads {heads}",
                              "add the model's head_dim")
            head_dim = hidden // heads
        if kv_heads > heads or heads % kv_heads:
            raise r.error("num_key_value_heads", f"{heads} query heads are not a multiple of {kv_heads} KV heads")
        f["head_dim"] = head_dim
        f["attention"] = "mha" if kv_heads == heads else "gqa"

    index = [config.get(k) for k in ("index_n_heads", "index_head_dim", "index_topk")]
    if any(v is not None for v in index):
        for k in ("index_n_heads", "index_head_dim", "index_topk"):
            f[k] = r.int(k)

    experts = r.first_int(("n_routed_experts", "num_local_experts", "num_experts"), 0, minimum=0)
    if experts:
        f["experts"] = experts
        f["top_k"] = r.first_int(("num_experts_per_tok", "experts_per_token"))
        f["moe_intermediate"] = r.int("moe_intermediate_size", None) or r.int("intermediate_size")
        f["moe_layers"] = _count_moe_layers(r, layers)
        f["shared_experts"] = r.int("n_shared_experts", 0, minimum=0)
        shared_width = r.int("shared_expert_intermediate_size", None)  # Qwen2-MoE: one wide shared expert
        if shared_width:
            if shared_width % f["moe_intermediate"]:
                raise r.error("shared_expert_intermediate_size",
                              f"{shared_width} is not a multiple of the expert width {f['moe_intermediate']}")
            f["shared_experts"] = shared_width // f["moe_intermediate"]
    f["dense_layers"] = layers - f.get("moe_layers", 0)
    intermediate = r.int("intermediate_size", None)
    if intermediate is None and not gated:
        intermediate = 4 * hidden  # GPT-2's n_inner = None convention
    if f["dense_layers"] and intermediate is None:
        raise r.error("intermediate_size", "missing required key (the dense FFN width)")
    f["intermediate"] = intermediate
    f["sliding_layers"], f["sliding_window"] = _count_sliding_layers(r, layers)
    return f


def _arch_from_hf(config: Any, *, id: str, file: str, record: str | None,  # noqa: A002
                  meta: Mapping[str, Any], meta_file: str | None = None, meta_line: int | None = None) -> ModelArch:
    """Validate a config plus record metadata; an error names the config key, or the
    metadata field in ``meta_file`` when the problem is in the metadata."""
    if not isinstance(config, Mapping):
        raise DataError(file, f"a config.json must be a JSON object (got {type(config).__name__})", record=record)
    fields = _arch_fields(config, _Reader(config, file, record))
    notes = config.get("_notes")
    data = {"id": id, "config_file": file, "notes": notes if isinstance(notes, str) else None, **fields, **meta}
    try:
        return ModelArch.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, _FieldError):
            field, reason = cause.field, cause.reason
        else:
            field = ".".join(str(p) for p in err["loc"]) or "?"
            reason = f"{err['msg']} (got {err.get('input')!r})"
        hint = ModelArch.model_fields[field].description if field in ModelArch.model_fields else None
        if field in meta and meta_file is not None:
            raise DataError(meta_file, reason, record=record, field=field, line=meta_line, hint=hint) from None
        raise DataError(file, reason, record=record, field=_HF_KEY.get(field, field), hint=hint) from None


def _parse_json(text: str, file: str, record: str | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(file, f"not valid JSON: {exc.msg} (column {exc.colno})", record=record, line=exc.lineno,
                        hint="look for a trailing comma or a missing quote near that line") from None


def load_model_config(path: str | Path, *, id: str | None = None) -> ModelArch:  # noqa: A002
    """Read a Hugging Face ``config.json`` (or a folder holding one) into a :class:`ModelArch`.

    Parameters
    ----------
    path : str or Path
        A config.json file, or a folder containing ``config.json``.
    id : str, optional
        Catalog id; defaults to the file name without ``.json``, or the
        folder name for a file called ``config.json``, lower-cased.

    Returns
    -------
    ModelArch
        With ``source`` from the config's ``_source`` key, else the path.

    Raises
    ------
    suanli.errors.DataError
        Missing file; invalid JSON (with its line); a missing or invalid key
        (naming the file and the key, with a hint).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(str(p), "file not found", hint="give the path to a Hugging Face config.json") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(str(p), f"cannot read: {exc}") from None
    if id is None:
        id = (p.parent.name if p.stem == "config" and p.parent.name else p.stem).lower()  # noqa: A001
    config = _parse_json(text, str(p))
    source = config.get("_source") if isinstance(config, dict) else None
    return _arch_from_hf(config, id=id, file=str(p), record=None, meta={"source": source or str(p)})


# --------------------------------------------------------------------------- the registry
class ModelRecord(BaseModel):
    """One entry of ``models.yaml``: which config.json, plus what a config does not say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="catalog id: lower case, digits, '.', '-', '_'")
    hf_repo: str | None = Field(None, description="Hugging Face repository, or null")
    config: str = Field(pattern=r"^[\w.\-]+\.json$", description="config.json file name in the models/ folder")
    license: str | None = None
    release_date: date | None = Field(None, description="first public release, YYYY-MM-DD")
    source: str = Field(description="where the config values and reference counts come from")
    reference_total_params_b: _PosFloat | None = Field(None, description="publisher's total parameters, billions")
    reference_active_params_b: _PosFloat | None = Field(None, description="publisher's active parameters, billions")
    reference_active_includes_embedding: bool | None = Field(
        None, description="whether the publisher's active count includes the input-embedding table")
    attention: AttentionKind | None = Field(None, description="mha, gqa or mla; checked against the config")
    finetune: Literal["lora"] | None = Field(None, description="null, or lora for a LoRA fine-tuning workload")
    lora_rank: _Pos | None = Field(None, description="LoRA rank (with finetune: lora)")
    lora_targets: tuple[str, ...] = Field((), description="projections with LoRA adapters (with finetune: lora)")
    notes: str | None = None


def _load_models(file: str, doc: Any, read_config: Callable[[str], tuple[str, str]]) -> dict[str, ModelArch]:
    """Validate a models.yaml document; ``read_config(name)`` gives (display path, text)."""
    if not isinstance(doc, dict) or "models" not in doc:
        raise DataError(file, "expected a top-level 'models:' list", hint="write `models:` then `- id: ...` items")
    raw = doc["models"]
    records = validate_records(ModelRecord, raw, file=file, kind="models")
    out: dict[str, ModelArch] = {}
    for item, rec in zip(raw, records, strict=True):
        line = item.get(LINE_KEY)
        try:
            cfg_file, text = read_config(rec.config)
        except FileNotFoundError:
            raise DataError(file, f"config file {rec.config!r} not found", record=rec.id, field="config", line=line,
                            hint="config names a file in the models/ folder next to this file") from None
        meta = rec.model_dump(exclude={"config", "attention"}, exclude_none=True)
        arch = _arch_from_hf(_parse_json(text, cfg_file, rec.id), id=rec.id, file=cfg_file, record=rec.id,
                             meta=meta, meta_file=file, meta_line=line)
        if rec.attention is not None and rec.attention != arch.attention:
            raise DataError(file, f"declared {rec.attention!r} but {rec.config} describes {arch.attention!r} attention "
                            f"({arch.heads} query heads, {arch.kv_heads} KV heads)", record=rec.id, field="attention",
                            line=line, hint="fix the declaration or the config file")
        out[rec.id] = arch
    return out


def load_models_file(path: str | Path) -> dict[str, ModelArch]:
    """Read a ``models.yaml`` from disk, with config files in the ``models/`` folder beside it.

    The format is the packaged one (see :class:`ModelRecord`). Errors name the
    file, the record id and the field.
    """
    path = Path(path)

    def read(name: str) -> tuple[str, str]:
        cfg = path.parent / "models" / name
        return str(cfg), cfg.read_text(encoding="utf-8")

    return _load_models(str(path), read_yaml(path), read)


@cache
def _packaged_models() -> tuple[tuple[str, ModelArch], ...]:
    file, text = packaged_text(_PACKAGE, "models.yaml")
    models = _load_models(file, read_yaml(file, text), lambda name: packaged_text(_PACKAGE, f"models/{name}"))
    return tuple(models.items())


_PACKAGE = "suanli.catalog"


def load_packaged_models() -> dict[str, ModelArch]:
    """The models shipped with suanli (``data/models.yaml`` + ``data/models/*.json``), by id.

    Read through :mod:`importlib.resources` once per process; each call returns
    a new dict of the same (immutable) records.
    """
    return dict(_packaged_models())
