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

from collections.abc import Iterator, Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from suanli.catalog.schema import DTYPE_BITS
from suanli.errors import ChoiceError

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
        from suanli.catalog.model_config import _arch_from_hf

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


# The readers live in model_config (they build ModelArch records); their names stay importable from here.
_READERS = frozenset({"ModelRecord", "load_model_config", "load_models_file", "load_packaged_models"})


def __getattr__(name: str) -> Any:
    if name in _READERS:
        from suanli.catalog import model_config

        return getattr(model_config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
