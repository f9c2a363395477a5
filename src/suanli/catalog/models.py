"""LLM architectures: a Hugging Face ``config.json`` in, a typed record out, sizes and costs derived.

:class:`ModelArch` holds the shape of a decoder-only transformer as the numbers
that performance models need (layers, widths, heads, experts, MLA ranks, sliding
windows), each with its unit in the field description. Everything else is
derived from those fields, never stored:

* parameter counts, total and activated per token, by category;
* KV-cache bytes per token and per sequence;
* weight bytes, total and read per token;
* forward FLOPs per token for prefill and decode, numpy-vectorized over context.

Counting conventions (used by every count here)
-----------------------------------------------
* ``total_params`` counts the input embedding (plus a learned position table
  where there is one), the LM head (not again when tied to the embedding),
  attention, FFNs, routers, norms and biases. It excludes multi-token
  prediction (MTP) layers, reported separately as ``mtp``, as DeepSeek's
  671B does.
* ``active_params`` is what one token's forward pass multiplies by: the same
  minus the input-embedding table (a token reads one row of it) and minus all
  routed experts except ``top_k`` per MoE layer. A tied LM head still counts
  here, as it is a matmul. Publishers differ on the embedding; the catalog
  records each one's convention next to its reference figure.

How a config is read
--------------------
Keys follow the transformers config classes (``hidden_size``,
``num_hidden_layers``, ...; GPT-2's ``n_embd``, ``n_layer``, ``n_head``,
``n_positions``, ``n_inner`` are accepted as aliases). Variants:

* head_dim: the ``head_dim`` key if present (Qwen3, gpt-oss, GLM), else
  ``hidden_size / num_attention_heads`` (Llama). For MLA it is the q.k width
  ``qk_nope_head_dim + qk_rope_head_dim``.
* attention: ``mla`` when ``kv_lora_rank`` is set (DeepSeek-V2/V3, Kimi K2);
  otherwise ``mha`` when ``num_key_value_heads`` equals the head count (or is
  absent), else ``gqa`` (MQA is GQA with one KV head).
* experts: ``n_routed_experts`` (DeepSeek, GLM), ``num_local_experts``
  (Mixtral, gpt-oss) or ``num_experts`` (Qwen-MoE); top-k from
  ``num_experts_per_tok`` / ``experts_per_token``; expert width from
  ``moe_intermediate_size``, else ``intermediate_size`` (Mixtral, gpt-oss).
* which layers are MoE: DeepSeek/GLM layer ``i`` is MoE when
  ``i >= first_k_dense_replace`` and ``i % moe_layer_freq == 0``; Qwen-MoE when
  ``i`` is not in ``mlp_only_layers`` and ``(i + 1) % decoder_sparse_step == 0``;
  otherwise every layer (Mixtral, gpt-oss).
* sliding window: ``layer_types`` counts ``sliding_attention`` layers
  (gpt-oss); without it, a non-null ``sliding_window`` applies to the layers
  from ``max_window_layers`` on (Qwen2 family) or to all layers (Mistral),
  unless ``use_sliding_window`` is false.
* ``ffn_gated`` (three FFN matrices, SwiGLU, versus two, GELU MLP): true for
  the Llama, Mistral/Mixtral, Qwen, DeepSeek, Kimi, GLM and gpt-oss model
  types; false for ``gpt2``; for a config without ``model_type`` or with
  another one, true when ``hidden_act`` is a SiLU/Swish variant and false
  otherwise (including no ``hidden_act``: the GPT-2/GPT-3 convention). Gated
  families default to RMSNorm, rotary positions, no biases and untied
  embeddings; non-gated ones to GPT-2's LayerNorm, learned positions, biases
  and tied embeddings. Explicit ``attention_bias``, ``mlp_bias`` and
  ``tie_word_embeddings`` keys win. An unknown ``model_type`` warns.

>>> cfg = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
...        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
...        "vocab_size": 128256, "max_position_embeddings": 131072}
>>> m = ModelArch.from_hf_config(cfg, id="llama-3.1-8b")
>>> m.attention, m.head_dim, m.ffn_gated
('gqa', 128, True)
>>> round(m.total_params / 1e9, 2)
8.03
>>> m.kv_bytes_per_token("bf16")  # 2 x 32 layers x 8 kv heads x 128 x 2 bytes
131072.0
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from suanli.catalog.load import LINE_KEY, packaged_text, read_yaml, validate_records
from suanli.catalog.schema import DTYPE_BITS, ID_PATTERN
from suanli.errors import ChoiceError, DataError

__all__ = [
    "DTYPE_BYTES",
    "PARAM_CATEGORIES",
    "ModelArch",
    "ModelRecord",
    "dtype_bytes",
    "load_model_config",
    "load_models_file",
    "load_packaged_models",
    "mean_attended_tokens",
]

AttentionKind = Literal["mha", "gqa", "mla"]
Phase = Literal["prefill", "decode"]
FloatOrArray = float | NDArray[np.float64]

# --------------------------------------------------------------------------- dtypes
#: Bytes per stored element: the catalog's dtype bit lengths / 8, plus int4 for
#: weight-only quantization. bf16/fp16 2, fp8/int8 1, fp4/int4 0.5, fp32 4.
DTYPE_BYTES: Mapping[str, float] = MappingProxyType(
    {**{name: bits / 8 for name, bits in DTYPE_BITS.items()}, "int4": 0.5}
)
# torch_dtype spellings found in config.json files.
_DTYPE_ALIASES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


def dtype_bytes(dtype: str) -> float:
    """Bytes per element of a dtype, from :data:`DTYPE_BYTES`.

    >>> dtype_bytes("bf16"), dtype_bytes("fp8"), dtype_bytes("int4"), dtype_bytes("bfloat16")
    (2.0, 1.0, 0.5, 2.0)
    """
    key = _DTYPE_ALIASES.get(dtype, dtype)
    try:
        return DTYPE_BYTES[key]
    except (KeyError, TypeError):
        raise ChoiceError("dtype", dtype, DTYPE_BYTES) from None


# --------------------------------------------------------------------------- context helpers
def _as_tokens(x: ArrayLike, *, name: str, minimum: int) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=float)
    if arr.size and (not np.all(np.isfinite(arr)) or np.min(arr) < minimum):
        bad = arr[~np.isfinite(arr) | (arr < minimum)].flat[0]
        raise ValueError(f"{name} must be a token count >= {minimum} (got {bad:g})")
    return arr


def _out(value: ArrayLike, like: ArrayLike) -> FloatOrArray:
    """A Python float for scalar input, a float array otherwise."""
    return float(value) if np.ndim(like) == 0 else np.asarray(value, dtype=float)


def _check_phase(phase: str) -> None:
    if phase not in ("prefill", "decode"):
        raise ValueError(f"phase must be 'prefill' or 'decode' (got {phase!r})")


def mean_attended_tokens(context_len: ArrayLike, phase: Phase = "decode", window: int | None = None) -> FloatOrArray:
    """Tokens one query attends to, on average over the tokens being computed.

    Parameters
    ----------
    context_len : int or array_like
        Decode: tokens in the KV cache including the new one. Prefill: prompt
        length ``isl`` (no prior cache). At least 1; arrays broadcast.
    phase : {"decode", "prefill"}
    window : int, optional
        A sliding window or a top-k selection (DSA); ``None`` is full causal attention.

    Returns
    -------
    float or ndarray
        Mean attended tokens per query (float for scalar input).

    Notes
    -----
    Decode: ``min(n, w)``. Prefill: token ``i`` attends to ``min(i, w)``
    tokens, so the mean over ``i = 1..n`` is ``(n + 1) / 2`` without a window
    and ``(m (m + 1) / 2 + (n - m) w) / n`` with ``m = min(n, w)``.

    Examples
    --------
    >>> mean_attended_tokens(4, "prefill")           # (1 + 2 + 3 + 4) / 4
    2.5
    >>> mean_attended_tokens(4, "prefill", window=2)  # (1 + 2 + 2 + 2) / 4
    1.75
    >>> mean_attended_tokens(np.array([1, 1000]), "decode", window=128)
    array([  1., 128.])
    """
    _check_phase(phase)
    n = _as_tokens(context_len, name="context_len", minimum=1)
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1 token (got {window})")
    if phase == "decode":
        a = n if window is None else np.minimum(n, window)
    elif window is None:
        a = (n + 1) / 2
    else:
        m = np.minimum(n, window)
        a = (m * (m + 1) / 2 + (n - m) * window) / n
    return _out(a, context_len)


# --------------------------------------------------------------------------- the record
#: Keys of :meth:`ModelArch.param_breakdown`, in display order.
PARAM_CATEGORIES = (
    "embedding", "lm_head", "attention", "dense_ffn", "routed_experts",
    "shared_experts", "router", "norms", "mtp",
)
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "qkv_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

_Pos = Annotated[int, Field(gt=0, strict=True)]
_NonNeg = Annotated[int, Field(ge=0, strict=True)]
_PosFloat = Annotated[float, Field(gt=0)]


class _FieldError(ValueError):
    """A consistency problem tied to one field (pydantic keeps it in the error's ctx)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


class ModelArch(BaseModel):
    """A decoder-only transformer's architecture, with provenance; derived sizes are methods.

    Build one with :meth:`from_hf_config`, :func:`load_model_config` or the
    packaged catalog (:func:`load_packaged_models`). All widths are element
    counts, all counts are per model unless the description says per layer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- identity and provenance
    id: str = Field(min_length=1, description="catalog id")
    model_type: str | None = Field(None, description="the config's model_type (None for GPT-3)")
    config_file: str | None = Field(None, description="the config.json this record was read from")
    hf_repo: str | None = Field(None, description="Hugging Face repository")
    source: str | None = Field(None, description="where the configuration was read")
    license: str | None = None
    release_date: date | None = None
    reference_total_params_b: _PosFloat | None = Field(None, description="publisher's total parameters, billions")
    reference_active_params_b: _PosFloat | None = Field(None, description="publisher's active parameters per token, billions")
    reference_active_includes_embedding: bool | None = Field(
        None, description="whether the publisher's active count includes the input-embedding table")
    finetune: Literal["lora"] | None = Field(None, description="fine-tuning method when the record is a fine-tuning workload")
    lora_rank: _Pos | None = Field(None, description="LoRA rank r (adapters A: in x r, B: r x out)")
    lora_targets: tuple[str, ...] = Field((), description=f"projections carrying LoRA adapters, of {', '.join(LORA_TARGETS)}")
    notes: str | None = None

    # -- core shape
    layers: _Pos = Field(description="decoder layers (excluding MTP layers)")
    hidden: _Pos = Field(description="residual width d_model")
    heads: _Pos = Field(description="query heads")
    kv_heads: _Pos = Field(description="key/value heads (nominal for MLA, where K/V come from a shared latent)")
    head_dim: _Pos = Field(description="q.k width per head (qk_nope + qk_rope for MLA); also the v width for MHA/GQA")
    vocab: _Pos = Field(description="vocabulary size")
    max_context: _Pos | None = Field(None, description="max_position_embeddings, tokens")
    attention: AttentionKind = Field(description="mha, gqa or mla")
    intermediate: _Pos | None = Field(None, description="dense-FFN width (used by the dense_layers)")
    ffn_gated: bool = Field(description="gated FFN (SwiGLU: gate, up, down = 3 matrices) vs plain MLP (2 matrices)")
    tie_word_embeddings: bool = Field(description="LM head shares the input-embedding matrix")
    norm: Literal["rmsnorm", "layernorm"] = Field("rmsnorm", description="layernorm has a bias vector too")
    attention_bias: bool = Field(False, description="biases on the q, k, v and output projections")
    mlp_bias: bool = Field(False, description="biases on FFN / expert projections")
    router_bias: bool = Field(False, description="a bias per expert in the router (gpt-oss; DeepSeek/GLM score correction)")
    qk_norm: bool = Field(False, description="per-head RMSNorm on q and k (Qwen3, GLM-4.5)")
    attention_sinks: bool = Field(False, description="one learned sink logit per head per layer (gpt-oss)")
    learned_positions: bool = Field(False, description="learned absolute position table of max_context rows (GPT-2/3)")

    # -- mixture of experts
    experts: _NonNeg = Field(0, description="routed experts per MoE layer")
    top_k: _NonNeg = Field(0, description="routed experts per token")
    shared_experts: _NonNeg = Field(0, description="always-active experts per MoE layer, each moe_intermediate wide")
    moe_intermediate: _Pos | None = Field(None, description="width of one expert's FFN")
    dense_layers: _NonNeg = Field(description="layers with a dense FFN")
    moe_layers: _NonNeg = Field(0, description="layers with a routed-expert FFN")

    # -- multi-head latent attention
    q_lora_rank: _Pos | None = Field(None, description="query compression rank (None: queries not compressed)")
    kv_lora_rank: _Pos | None = Field(None, description="KV latent width, cached per token per layer")
    qk_nope_head_dim: _Pos | None = Field(None, description="per-head q.k width without rotary")
    qk_rope_head_dim: _Pos | None = Field(None, description="rotary q.k width; the rotary key is cached, shared by heads")
    v_head_dim: _Pos | None = Field(None, description="per-head value width")

    # -- DeepSeek sparse attention (lightning indexer)
    index_n_heads: _Pos | None = Field(None, description="indexer heads")
    index_head_dim: _Pos | None = Field(None, description="indexer head width; indexer keys cached per token per layer")
    index_topk: _Pos | None = Field(None, description="tokens main attention reads per query")

    # -- sliding window, MTP
    sliding_window: _Pos | None = Field(None, description="window of the sliding-window layers, tokens")
    sliding_layers: _NonNeg = Field(0, description="layers with sliding-window attention")
    mtp_layers: _NonNeg = Field(0, description="multi-token-prediction layers (not in layers)")

    @model_validator(mode="after")
    def _consistent(self) -> ModelArch:
        for field, reason in self._problems():
            raise _FieldError(field, reason)
        return self

    def _problems(self) -> Iterator[tuple[str, str]]:
        mla_fields = ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
        if self.kv_heads > self.heads:
            yield "kv_heads", f"more KV heads ({self.kv_heads}) than query heads ({self.heads})"
        if self.attention == "mla":
            for f in mla_fields:
                if getattr(self, f) is None:
                    yield f, "required for MLA attention"
            if self.qk_nope_head_dim and self.qk_rope_head_dim and self.head_dim != self.qk_nope_head_dim + self.qk_rope_head_dim:
                yield "head_dim", "must equal qk_nope_head_dim + qk_rope_head_dim for MLA"
        else:
            for f in (*mla_fields, "q_lora_rank"):
                if getattr(self, f) is not None:
                    yield f, f"only meaningful for MLA attention (attention is {self.attention!r})"
            if self.heads % self.kv_heads:
                yield "kv_heads", f"query heads ({self.heads}) must be a multiple of KV heads ({self.kv_heads})"
            if (self.attention == "mha") != (self.kv_heads == self.heads):
                yield "attention", f"{self.attention!r} does not fit {self.heads} query heads and {self.kv_heads} KV heads"
        if self.dense_layers + self.moe_layers != self.layers:
            yield "moe_layers", f"dense_layers ({self.dense_layers}) + moe_layers ({self.moe_layers}) != layers ({self.layers})"
        if self.moe_layers:
            if not self.experts:
                yield "experts", "MoE layers need experts > 0"
            elif not 1 <= self.top_k <= self.experts:
                yield "top_k", f"must be between 1 and experts ({self.experts}) (got {self.top_k})"
            if self.moe_intermediate is None:
                yield "moe_intermediate", "required when there are MoE layers"
        elif self.experts or self.top_k or self.shared_experts:
            yield "moe_layers", "experts are set but no layer is MoE"
        if self.dense_layers and self.intermediate is None:
            yield "intermediate", "required when there are dense-FFN layers"
        if self.sliding_layers > self.layers:
            yield "sliding_layers", f"more than layers ({self.layers})"
        if (self.sliding_layers > 0) != (self.sliding_window is not None):
            yield "sliding_window", "set exactly when sliding_layers > 0"
        index = (self.index_n_heads, self.index_head_dim, self.index_topk)
        if any(v is not None for v in index):
            if any(v is None for v in index):
                yield "index_topk", "index_n_heads, index_head_dim and index_topk go together"
            if self.attention != "mla":
                yield "index_topk", "the DSA indexer is defined on MLA models only"
        if self.finetune is None and (self.lora_rank is not None or self.lora_targets):
            yield "lora_rank", "LoRA settings need finetune: lora"
        for t in self.lora_targets:
            if t not in LORA_TARGETS:
                yield "lora_targets", f"unknown projection {t!r}; known: {', '.join(LORA_TARGETS)}"
        if self.lora_targets and self.attention == "mla":
            yield "lora_targets", "LoRA adapter counts are defined for MHA/GQA projections only"
        if {"gate_proj", "up_proj", "down_proj"} & set(self.lora_targets) and self.moe_layers:
            yield "lora_targets", "FFN LoRA targets are defined for dense models only"
        if "qkv_proj" in self.lora_targets and {"q_proj", "k_proj", "v_proj"} & set(self.lora_targets):
            yield "lora_targets", "qkv_proj (fused) excludes q_proj, k_proj, v_proj"
        ref_t, ref_a = self.reference_total_params_b, self.reference_active_params_b
        if ref_t is not None and ref_a is not None and ref_a > ref_t:
            yield "reference_active_params_b", f"exceeds reference_total_params_b ({ref_a} > {ref_t})"

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_hf_config(
        cls, config: Mapping[str, Any], *, id: str, source: str | None = None, file: str | None = None,  # noqa: A002
    ) -> ModelArch:
        """Read a Hugging Face ``config.json`` mapping (rules in the module docstring).

        Parameters
        ----------
        config : mapping
            The parsed config.json. Keys the model does not use are ignored.
        id : str
            Catalog id of the result.
        source : str, optional
            Provenance; defaults to the config's ``_source`` key.
        file : str, optional
            Name of the file, used in error messages.

        Returns
        -------
        ModelArch

        Raises
        ------
        suanli.errors.DataError
            Naming the file and the config key (e.g. ``hidden_size``), with a hint.
        """
        if source is None and isinstance(config, Mapping):
            source = config.get("_source")
        return _arch_from_hf(config, id=id, file=file or "<config>", record=None, meta={"source": source})

    # ----------------------------------------------------------------- parameters
    def _norm_size(self, width: int) -> int:
        return width * (2 if self.norm == "layernorm" else 1)

    def _ffn_params(self, width: int) -> int:
        """One FFN (dense or one expert): 3 H I gated, 2 H I plain, plus biases."""
        h = self.hidden
        if self.ffn_gated:
            return 3 * h * width + ((2 * width + h) if self.mlp_bias else 0)
        return 2 * h * width + ((width + h) if self.mlp_bias else 0)

    def _attention_layer_params(self) -> int:
        """Projection weights, biases, sinks and DSA indexer of one layer (norms excluded)."""
        h = self.hidden
        if self.attention == "mla":
            assert self.kv_lora_rank and self.qk_nope_head_dim and self.qk_rope_head_dim and self.v_head_dim
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            q_in = self.q_lora_rank or h
            q = (h * self.q_lora_rank if self.q_lora_rank else 0) + q_in * self.heads * qk
            kv = h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank * self.heads * (
                self.qk_nope_head_dim + self.v_head_dim)
            o = self.heads * self.v_head_dim * h
            bias = ((self.q_lora_rank or 0) + self.kv_lora_rank + self.qk_rope_head_dim + h) if self.attention_bias else 0
            n = q + kv + o + bias
        else:
            q_width, kv_width = self.heads * self.head_dim, self.kv_heads * self.head_dim
            n = h * q_width + 2 * h * kv_width + q_width * h
            n += (q_width + 2 * kv_width + h) if self.attention_bias else 0
        n += self.heads if self.attention_sinks else 0
        if self.index_n_heads and self.index_head_dim:
            # wq_b (q latent -> heads x dim), wk (hidden -> dim), weights_proj (hidden -> heads)
            n += (self.q_lora_rank or h) * self.index_n_heads * self.index_head_dim
            n += h * self.index_head_dim + h * self.index_n_heads
        return n

    def _layer_norm_params(self) -> int:
        """Norms in one decoder layer: two residual-branch norms plus MLA / QK / indexer norms."""
        n = 2 * self._norm_size(self.hidden)
        if self.attention == "mla":
            n += (self.q_lora_rank or 0) + (self.kv_lora_rank or 0)
        if self.qk_norm:
            n += 2 * self.head_dim
        if self.index_head_dim:
            n += 2 * self.index_head_dim  # LayerNorm (weight and bias) on indexer keys
        return n

    def _moe_ffn_params(self, active: bool) -> tuple[int, int, int]:
        """(routed, shared, router) parameters of one MoE layer."""
        if not self.moe_layers or self.moe_intermediate is None:
            return 0, 0, 0
        expert = self._ffn_params(self.moe_intermediate)
        routed = (self.top_k if active else self.experts) * expert
        shared = self._ffn_params(self.shared_experts * self.moe_intermediate) if self.shared_experts else 0
        router = self.hidden * self.experts + (self.experts if self.router_bias else 0)
        return routed, shared, router

    def _mtp_layer_params(self, active: bool) -> int:
        """One MTP layer (DeepSeek-V3 / GLM layout) without its shared embedding and head.

        eh_proj (2H -> H) + three norms (enorm, hnorm, final) + one decoder
        layer, MoE when the model has MoE layers.
        """
        h = self.hidden
        ffn = sum(self._moe_ffn_params(active)) if self.moe_layers else self._ffn_params(self.intermediate or 0)
        return 2 * h * h + 3 * self._norm_size(h) + self._attention_layer_params() + self._layer_norm_params() + ffn

    def param_breakdown(self, kind: Literal["total", "active"] = "total") -> dict[str, int]:
        """Parameters by category, counting conventions as in the module docstring.

        Parameters
        ----------
        kind : {"total", "active"}
            ``active``: ``embedding`` is 0 (a token reads one row), ``lm_head``
            is ``vocab x hidden`` even when tied (it is a matmul), and
            ``routed_experts`` counts ``top_k`` experts per MoE layer.

        Returns
        -------
        dict of str to int
            Keys :data:`PARAM_CATEGORIES`. ``mtp`` (MTP layers without their
            shared embedding and head) is reported but is not part of
            :attr:`total_params` / :attr:`active_params`.

        Notes
        -----
        Per layer: attention ``H (heads + 2 kv_heads) d + heads d H`` (MHA/GQA);
        FFN ``3 H I`` gated or ``2 H I`` plain; router ``H E``; MLA
        ``H q_lora + q_lora heads (nope + rope) + H (kv_lora + rope)
        + kv_lora heads (nope + v) + heads v H`` (``q_lora`` absent: ``H heads (nope + rope)``).
        """
        if kind not in ("total", "active"):
            raise ValueError(f"kind must be 'total' or 'active' (got {kind!r})")
        active = kind == "active"
        h, v = self.hidden, self.vocab
        embedding = v * h + (self.max_context or 0) * h * self.learned_positions
        routed, shared, router = self._moe_ffn_params(active)
        return {
            "embedding": 0 if active else embedding,
            "lm_head": v * h if (active or not self.tie_word_embeddings) else 0,
            "attention": self.layers * self._attention_layer_params(),
            "dense_ffn": self.dense_layers * self._ffn_params(self.intermediate) if self.intermediate else 0,
            "routed_experts": self.moe_layers * routed,
            "shared_experts": self.moe_layers * shared,
            "router": self.moe_layers * router,
            "norms": self.layers * self._layer_norm_params() + self._norm_size(h),
            "mtp": self.mtp_layers * self._mtp_layer_params(active),
        }

    @property
    def total_params(self) -> int:
        """All parameters of the main model (MTP layers excluded)."""
        bd = self.param_breakdown("total")
        return sum(bd.values()) - bd["mtp"]

    @property
    def active_params(self) -> int:
        """Parameters one token's forward pass uses, without the input-embedding table or MTP."""
        bd = self.param_breakdown("active")
        return sum(bd.values()) - bd["mtp"]

    @property
    def matmul_params(self) -> int:
        """Active parameters that are matmul weights: active minus norms (biases counted, < 0.01%)."""
        return self.active_params - self.param_breakdown("active")["norms"]

    @property
    def lora_trainable_params(self) -> int | None:
        """LoRA adapter parameters: ``r x (in + out)`` per targeted projection per layer.

        A fused ``qkv_proj`` has one adapter of ``hidden -> (heads + 2 kv_heads) x head_dim``.
        None when no rank is set.
        """
        if self.lora_rank is None:
            return None
        h, q, kv, ff = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate or 0
        in_out = {
            "q_proj": h + q, "k_proj": h + kv, "v_proj": h + kv, "qkv_proj": h + q + 2 * kv,
            "o_proj": q + h, "gate_proj": h + ff, "up_proj": h + ff, "down_proj": ff + h,
        }
        return self.layers * self.lora_rank * sum(in_out[t] for t in self.lora_targets)

    def param_check(self) -> dict[str, Any]:
        """Computed counts next to the publisher's, in billions, with relative deviations.

        The active count compared follows the publisher's convention
        (``reference_active_includes_embedding``).
        """
        total_b = self.total_params / 1e9
        includes = bool(self.reference_active_includes_embedding)
        # The embedding table once: a tied LM head (already in active) is the same matrix.
        table = self.param_breakdown()["embedding"] - self.vocab * self.hidden * self.tie_word_embeddings
        active_b = (self.active_params + includes * table) / 1e9

        def dev(x: float, ref: float | None) -> float | None:
            return None if ref is None else x / ref - 1

        return {
            "total_params_b": total_b, "reference_total_params_b": self.reference_total_params_b,
            "total_deviation": dev(total_b, self.reference_total_params_b),
            "active_params_b": active_b, "reference_active_params_b": self.reference_active_params_b,
            "active_deviation": dev(active_b, self.reference_active_params_b),
            "active_includes_embedding": includes,
            "mtp_params_b": self.param_breakdown()["mtp"] / 1e9,
        }

    # ----------------------------------------------------------------- memory
    def _kv_elements_per_token_per_layer(self) -> int:
        if self.attention == "mla":
            assert self.kv_lora_rank and self.qk_rope_head_dim
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.kv_heads * self.head_dim

    def kv_bytes_per_token(self, kv_dtype: str = "bf16", *, index_dtype: str | None = None) -> float:
        """KV-cache bytes one token adds, summed over layers.

        Parameters
        ----------
        kv_dtype : str
            Cache dtype, a key of :data:`DTYPE_BYTES`.
        index_dtype : str, optional
            Dtype of DSA indexer keys; defaults to ``kv_dtype``. DeepSeek's
            reference code keeps them in FP8 plus one fp32 scale per 128 values
            (scales not modelled).

        Returns
        -------
        float
            Bytes per token.

        Notes
        -----
        * MHA/GQA: ``2 x layers x kv_heads x head_dim x bytes`` (K and V).
        * MLA: ``layers x (kv_lora_rank + qk_rope_head_dim) x bytes``, the latent
          and the rotary key shared by all heads.
        * DSA adds the indexer keys, ``layers x index_head_dim`` elements.

        Sliding-window layers cost the same per token; their cache stops
        growing at the window (see :meth:`kv_bytes_per_sequence`).

        Examples
        --------
        >>> mla = {"model_type": "deepseek_v3", "hidden_size": 7168, "num_hidden_layers": 61,
        ...        "num_attention_heads": 128, "vocab_size": 129280, "intermediate_size": 18432,
        ...        "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128}
        >>> m = ModelArch.from_hf_config(mla, id="mla")
        >>> m.kv_bytes_per_token("bf16"), m.kv_bytes_per_token("fp8")  # 61 x 576 x 2, 61 x 576 x 1
        (70272.0, 35136.0)
        """
        b = dtype_bytes(kv_dtype)
        n = self.layers * self._kv_elements_per_token_per_layer() * b
        if self.index_head_dim:
            n += self.layers * self.index_head_dim * dtype_bytes(index_dtype or kv_dtype)
        return float(n)

    def kv_bytes_per_sequence(
        self, context_len: ArrayLike, kv_dtype: str = "bf16", *, index_dtype: str | None = None,
    ) -> FloatOrArray:
        """KV-cache bytes of one sequence holding ``context_len`` tokens.

        Parameters
        ----------
        context_len : int or array_like
            Tokens in the sequence (prompt plus generated), >= 0; arrays broadcast.
        kv_dtype, index_dtype : str
            As in :meth:`kv_bytes_per_token`.

        Returns
        -------
        float or ndarray
            Bytes (float for scalar input).

        Notes
        -----
        ``bytes = b x ((layers - sliding_layers) x n + sliding_layers x min(n, w))``
        with ``b`` the per-layer per-token bytes: full-attention layers hold
        every token, sliding-window layers the last ``w``. DSA keeps every
        token (selection does not evict) plus the indexer keys.
        """
        n = _as_tokens(context_len, name="context_len", minimum=0)
        b = dtype_bytes(kv_dtype)
        cached = (self.layers - self.sliding_layers) * n
        if self.sliding_layers and self.sliding_window:
            cached = cached + self.sliding_layers * np.minimum(n, self.sliding_window)
        total = cached * self._kv_elements_per_token_per_layer() * b
        if self.index_head_dim:
            total = total + self.layers * n * self.index_head_dim * dtype_bytes(index_dtype or kv_dtype)
        return _out(total, context_len)

    def _weight_bytes(self, kind: Literal["total", "active"], weight_dtype: str, expert_dtype: str | None,
                      include_mtp: bool) -> float:
        bd = self.param_breakdown(kind)
        experts = bd["routed_experts"] + bd["shared_experts"]
        rest = sum(bd.values()) - experts - (0 if include_mtp else bd["mtp"])
        return float(rest * dtype_bytes(weight_dtype) + experts * dtype_bytes(expert_dtype or weight_dtype))

    def weight_bytes(self, weight_dtype: str = "bf16", *, expert_dtype: str | None = None,
                     include_mtp: bool = False) -> float:
        """Bytes of all weights: ``total_params x bytes(weight_dtype)``.

        Parameters
        ----------
        weight_dtype : str
            Dtype of the weights, a key of :data:`DTYPE_BYTES`.
        expert_dtype : str, optional
            A different dtype for routed and shared experts (gpt-oss ships
            MXFP4 experts and BF16 elsewhere; block scales are not modelled).
        include_mtp : bool
            Add the MTP layers (at ``weight_dtype``), loaded when serving with
            MTP speculative decoding.

        Returns
        -------
        float
            Bytes.
        """
        return self._weight_bytes("total", weight_dtype, expert_dtype, include_mtp)

    def active_weight_bytes(self, weight_dtype: str = "bf16", *, expert_dtype: str | None = None) -> float:
        """Weight bytes one token reads: ``active_params x bytes``.

        Parameters are as in :meth:`weight_bytes`. This is one token's read; a
        batch of tokens touches more distinct experts (see the perf models).
        """
        return self._weight_bytes("active", weight_dtype, expert_dtype, False)

    # ----------------------------------------------------------------- compute
    def _attention_flops_per_attended_token(self, phase: Phase) -> float:
        """Score + value FLOPs per layer (all heads) for one query and one attended token."""
        if self.attention != "mla":
            return 4.0 * self.heads * self.head_dim  # q.k (2 d) + p.v (2 d)
        assert self.kv_lora_rank and self.qk_nope_head_dim and self.qk_rope_head_dim and self.v_head_dim
        if phase == "decode":  # weights absorbed: q.k in the latent + rope space, p.v in the latent
            return float(self.heads * (2 * (self.kv_lora_rank + self.qk_rope_head_dim) + 2 * self.kv_lora_rank))
        return float(self.heads * (2 * (self.qk_nope_head_dim + self.qk_rope_head_dim) + 2 * self.v_head_dim))

    def attention_flops_per_token(self, context_len: ArrayLike, phase: Phase = "decode") -> FloatOrArray:
        """Attention score/value FLOPs per token (the part that grows with context).

        Parameters
        ----------
        context_len : int or array_like
            Decode: tokens in the KV cache including the new one. Prefill:
            the prompt length ``isl``. At least 1; arrays broadcast.
        phase : {"decode", "prefill"}

        Returns
        -------
        float or ndarray
            FLOPs per token (float for scalar input); for prefill, multiply by
            ``isl`` for the sequence, which grows as ``isl (isl + 1) / 2``.

        Notes
        -----
        ``per_layer(phase) x attended`` summed over layers, with ``attended``
        from :func:`mean_attended_tokens` (decode: ``context_len``; prefill:
        the causal mean ``(isl + 1) / 2``).

        * MHA/GQA: ``per_layer = 2 x 2 x heads x head_dim``.
        * MLA decode (weights absorbed, attention in the latent space):
          ``heads x (2 (kv_lora_rank + qk_rope) + 2 kv_lora_rank)``.
        * MLA prefill (non-absorbed): ``heads x (2 (qk_nope + qk_rope) + 2 v_head_dim)``.
        * Sliding-window layers attend to at most ``sliding_window`` tokens.
        * DSA: main attention reads at most ``index_topk`` tokens; the indexer
          scores every token, ``2 x index_n_heads x (index_head_dim + 1)`` per
          layer per token (q.k per head plus the weighted sum over heads).

        Softmax and masking are not counted.
        """
        _check_phase(phase)
        per = self._attention_flops_per_attended_token(phase)
        full = self.layers - self.sliding_layers
        flops = full * per * np.asarray(mean_attended_tokens(context_len, phase, window=self.index_topk))
        if self.sliding_layers:
            flops = flops + self.sliding_layers * per * np.asarray(
                mean_attended_tokens(context_len, phase, window=self.sliding_window))
        if self.index_n_heads and self.index_head_dim:
            indexer = 2 * self.index_n_heads * (self.index_head_dim + 1)
            flops = flops + self.layers * indexer * np.asarray(mean_attended_tokens(context_len, phase))
        return _out(flops, context_len)

    def flops_per_token(self, context_len: ArrayLike, phase: Phase = "decode") -> FloatOrArray:
        """Forward FLOPs per token: ``2 x matmul_params + attention_flops_per_token``.

        Parameters
        ----------
        context_len : int or array_like
            As in :meth:`attention_flops_per_token`; arrays in give arrays out.
        phase : {"decode", "prefill"}

        Returns
        -------
        float or ndarray
            Forward FLOPs per token.

        Notes
        -----
        ``matmul_params`` are the active parameters without norms: the input
        embedding is a lookup (not counted), the LM head is counted, MoE counts
        ``top_k`` routed experts plus shared experts and the router. For MLA,
        weight absorption moves the K/V up-projections to the query and output
        side without changing their count. MTP layers are not included. At
        short context this is ``~ 2 x active_params``.

        Examples
        --------
        A 2-layer, 4-head, 64-wide GPT: attention adds ``2 x 2 x 2 x 4 x 16 = 512``
        FLOPs per attended token, and a 9-token prompt attends to 5 on average.

        >>> cfg = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        ...        "vocab_size": 100, "max_position_embeddings": 32}
        >>> m = ModelArch.from_hf_config(cfg, id="tiny-gpt")  # GPT-2 conventions
        >>> m.flops_per_token(np.array([1, 9]), "prefill") - 2 * m.matmul_params
        array([ 512., 2560.])
        """
        return _out(2.0 * self.matmul_params + np.asarray(self.attention_flops_per_token(context_len, phase)),
                    context_len)

    # ----------------------------------------------------------------- display
    def summary(self) -> dict[str, Any]:
        """A small dict for tables: shape, parameter counts (billions), KV bytes per token in BF16."""
        moe = None
        if self.moe_layers:
            moe = f"{self.experts} experts" + (f" + {self.shared_experts} shared" if self.shared_experts else "") \
                + f", top-{self.top_k}, {self.moe_layers}/{self.layers} layers"
        sliding = f"{self.sliding_layers}/{self.layers} layers, window {self.sliding_window}" if self.sliding_layers else None
        return {
            "id": self.id,
            "attention": self.attention,
            "layers": self.layers,
            "hidden": self.hidden,
            "heads": f"{self.heads}q/{self.kv_heads}kv x {self.head_dim}",
            "moe": moe,
            "total_params_b": round(self.total_params / 1e9, 2),
            "active_params_b": round(self.active_params / 1e9, 2),
            "kv_bytes_per_token_bf16": self.kv_bytes_per_token("bf16"),
            "max_context": self.max_context,
            "sliding": sliding,
            "mtp_layers": self.mtp_layers,
            "finetune": self.finetune,
        }

    def to_dict(self) -> dict[str, Any]:
        """The stored fields as JSON-ready values; ``ModelArch.model_validate`` reads it back."""
        return self.model_dump(mode="json")


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
