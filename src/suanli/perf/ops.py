"""FLOPs and bytes of every operator of a decoder layer, per rank and per step.

An *operator* here is one kernel group of a transformer decoder layer: the
attention projections, the attention core (MHA, GQA, sliding-window or MLA),
the dense FFN, the MoE router, routed and shared experts, norms and residuals,
and the embedding / LM head. For each, :func:`step_ops` returns the floating
point operations, the weight bytes and the other bytes (activations, KV cache)
that **one rank** moves in **one step** of a pipeline stage, for arrays of
parallel configurations. Every numeric argument may be a numpy array; all
broadcast together.

Conventions
-----------
* A *rank* is a device as the software sees it (an Ascend 910C package holds
  two). ``tp`` ranks shard a layer; ``dp`` ranks run attention data-parallel
  (DeepSeek-style, 1 = off); the MoE spans the ``tp x dp`` ranks of a stage,
  ``ep`` of them holding distinct experts (expert-TP = ``tp*dp/ep``); ``pp``
  stages split the layers.
* ``seqs`` sequences of one micro-batch are in flight per stage; each brings
  ``q`` new tokens per step (1 in decode, 1 + drafts with speculative
  decoding, the chunk length in prefill) on top of ``ctx`` tokens of context.
* A matmul of ``M`` tokens by a ``K x N`` weight costs ``2 M K N`` FLOPs and
  reads ``K N`` weight elements once.

Formulas
--------
* MoE experts touched by ``T`` routed tokens with top-``k`` over ``E``
  experts under uniform routing: ``E (1 - (1 - k/E)^T)``; the busiest of the
  ``ep`` ranks gets ``imbalance`` x the mean load.
* Causal attention over a chunk of ``q`` tokens after ``c0`` cached ones:
  ``2 q (c0 + q/2) (d_qk + d_v)`` FLOPs per head.
* MLA decode uses weight absorption (FlashMLA): per head and cached token
  ``2 (kv_lora + rope) + 2 kv_lora`` FLOPs over the latent, and the cache
  read is the latent ``(kv_lora + rope)`` per token and layer, not split by TP.

>>> import numpy as np
>>> expected_experts(256, 8, np.array([1, 32, 4096])).round(1)
array([  8. , 163.3, 256. ])
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

#: Bytes per stored element. ``fp4`` and ``int4`` include their block scales
#: (NVFP4: one FP8 scale per 16 values; group-wise int4: one BF16 per 128). FP8 and
#: INT8 weights carry one FP32 scale per 128 x 128 block (DeepSeek-V3's format;
#: per-tensor or per-channel scales, as in NVIDIA's FP8 checkpoints, are smaller still).
DTYPE_BYTES: dict[str, float] = {
    "fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0 + 4 / 128**2, "int8": 1.0 + 4 / 128**2,
    "int4": 0.5 + 2 / 128, "w4a16": 0.5 + 2 / 128, "fp4": 0.5 + 1 / 16,
}
#: Compute format a weight format runs in when no ``act_dtype`` is given.
DEFAULT_ACT: dict[str, str] = {
    "bf16": "bf16", "fp16": "bf16", "fp8": "fp8", "int8": "int8", "int4": "bf16", "w4a16": "bf16", "fp4": "fp4",
}


def kv_dtype_bytes(dtype: str) -> float:
    """Bytes per KV-cache element (per-tensor scales, so none added).

    >>> kv_dtype_bytes("fp8"), kv_dtype_bytes("bf16")
    (1.0, 2.0)
    """
    return {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5625}.get(dtype) or dtype_bytes(dtype)


def dtype_bytes(dtype: str) -> float:
    """Bytes per element of a storage format (scales included).

    >>> dtype_bytes("bf16"), round(dtype_bytes("fp4"), 4)
    (2.0, 0.5625)
    """
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; one of {', '.join(DTYPE_BYTES)}") from None


@dataclass(frozen=True)
class ModelShape:
    """The architecture numbers the operator counts need (one per model).

    Build it from a catalog :class:`~suanli.catalog.models.ModelArch` with
    :meth:`from_arch`. ``attention`` is ``'mha'``, ``'gqa'`` or ``'mla'``.
    """

    id: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    intermediate: int
    attention: str = "gqa"
    experts: int = 0
    top_k: int = 0
    shared_experts: int = 0
    moe_intermediate: int = 0
    dense_layers: int = 0          # layers with a dense FFN (all layers when experts == 0)
    moe_layers: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int = 0
    sliding_layers: int = 0
    ffn_gated: bool = True
    mtp_layers: int = 0
    index_topk: int = 0            # DeepSeek sparse attention (V3.2): tokens each query attends
    index_heads: int = 0
    index_head_dim: int = 0
    tie_embeddings: bool = False

    @classmethod
    def from_arch(cls, arch: Any) -> ModelShape:
        """Read a catalog ``ModelArch`` (or any object with the same attribute names)."""
        def g(name: str, default: Any = 0) -> Any:
            v = getattr(arch, name, default)
            return default if v is None else v

        layers = int(g("layers"))
        experts = int(g("experts"))
        moe_layers = int(g("moe_layers", 0)) if experts else 0
        if experts and not moe_layers:
            moe_layers = layers - int(g("dense_layers", 0))
        dense_layers = layers - moe_layers
        heads = int(g("heads"))
        hidden = int(g("hidden"))
        attention = str(g("attention", "gqa"))
        head_dim = int(g("head_dim", 0)) or hidden // heads
        sliding_layers = int(g("sliding_layers", 0))
        window = int(g("sliding_window", 0))
        if window and not sliding_layers:
            sliding_layers = 0  # a window without sliding layers listed applies to none
        return cls(
            id=str(g("id", "model")), layers=layers, hidden=hidden, heads=heads,
            kv_heads=int(g("kv_heads", heads)) or heads, head_dim=head_dim, vocab=int(g("vocab")),
            intermediate=int(g("intermediate")), attention=attention, experts=experts,
            top_k=int(g("top_k")), shared_experts=int(g("shared_experts")),
            moe_intermediate=int(g("moe_intermediate")) or int(g("intermediate")),
            dense_layers=dense_layers, moe_layers=moe_layers, q_lora_rank=int(g("q_lora_rank")),
            kv_lora_rank=int(g("kv_lora_rank")), qk_nope_head_dim=int(g("qk_nope_head_dim")),
            qk_rope_head_dim=int(g("qk_rope_head_dim")), v_head_dim=int(g("v_head_dim")) or head_dim,
            sliding_window=window, sliding_layers=sliding_layers if window else 0,
            ffn_gated=bool(g("ffn_gated", True)), mtp_layers=int(g("mtp_layers")),
            index_topk=int(g("index_topk")), index_heads=int(g("index_n_heads", g("index_heads"))),
            index_head_dim=int(g("index_head_dim")), tie_embeddings=bool(g("tie_word_embeddings", g("tie_embeddings", False))),
        )

    def __post_init__(self) -> None:
        if not self.experts and not self.dense_layers and not self.moe_layers:
            object.__setattr__(self, "dense_layers", self.layers)
        if self.experts and not self.moe_layers:
            object.__setattr__(self, "moe_layers", self.layers - self.dense_layers)

    # --- parameter counts (elements) -----------------------------------------
    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def attn_params(self) -> int:
        """Weights of one layer's attention projections (q, k, v, o or the MLA set)."""
        h, H = self.hidden, self.heads
        if self.attention == "mla":
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            q = (h * self.q_lora_rank + self.q_lora_rank * H * qk) if self.q_lora_rank else h * H * qk
            kv = h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank * H * (
                self.qk_nope_head_dim + self.v_head_dim)
            o = H * self.v_head_dim * h
            idx = ((self.q_lora_rank or h) * self.index_heads * self.index_head_dim + h * self.index_head_dim
                   + h * self.index_heads) if self.index_topk else 0
            return q + kv + o + idx
        d = self.head_dim
        return h * H * d + 2 * h * self.kv_heads * d + H * d * h

    def attn_k_parts(self, tp: Any) -> tuple:
        """(FLOP share, K per rank) of the attention projections: a column-parallel matrix reads
        the hidden state (or a LoRA rank), the row-parallel output projection ``heads x dim / tp``."""
        h, H = self.hidden, self.heads
        if self.attention == "mla":
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            parts = [(h * (self.kv_lora_rank + self.qk_rope_head_dim), h),
                     (self.kv_lora_rank * H * (self.qk_nope_head_dim + self.v_head_dim), self.kv_lora_rank),
                     (H * self.v_head_dim * h, H * self.v_head_dim / tp)]
            parts += ([(h * self.q_lora_rank, h), (self.q_lora_rank * H * qk, self.q_lora_rank)]
                      if self.q_lora_rank else [(h * H * qk, h)])
        else:
            d = self.head_dim
            parts = [(h * (H + 2 * self.kv_heads) * d, h), (H * d * h, H * d / tp)]
        tot = sum(w for w, _ in parts)
        return tuple((w / tot, k) for w, k in parts)

    def ffn_k_parts(self, inter_rank: Any) -> tuple:
        """(FLOP share, K per rank) of an FFN: gate and up read the hidden state, down the width."""
        n_in = 2 if self.ffn_gated else 1
        return ((n_in / (n_in + 1), self.hidden), (1 / (n_in + 1), inter_rank))

    def ffn_params(self, inter: int) -> int:
        """Weights of one FFN of width ``inter`` (SwiGLU: three matrices; else two)."""
        return (3 if self.ffn_gated else 2) * self.hidden * inter

    @property
    def expert_params(self) -> int:
        return self.ffn_params(self.moe_intermediate)

    @property
    def embed_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def total_params(self) -> int:
        """All weights of the main model (MTP layers excluded)."""
        per_attn = self.attn_params * self.layers
        dense = self.ffn_params(self.intermediate) * self.dense_layers
        moe = self.moe_layers * ((self.experts + self.shared_experts) * self.expert_params + self.hidden * self.experts)
        emb = self.embed_params * (1 if self.tie_embeddings else 2)
        return per_attn + dense + moe + emb

    @property
    def active_params(self) -> int:
        """Weights one token uses (top-k routed experts plus shared ones)."""
        per_attn = self.attn_params * self.layers
        dense = self.ffn_params(self.intermediate) * self.dense_layers
        moe = self.moe_layers * ((self.top_k + self.shared_experts) * self.expert_params + self.hidden * self.experts)
        return per_attn + dense + moe + self.embed_params * (1 if self.tie_embeddings else 2)

    def kv_elems_per_token_layer(self) -> int:
        """KV-cache elements per token and (full-attention) layer, whole model width."""
        if self.attention == "mla":
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.kv_heads * self.head_dim

    def kv_bytes_per_token(self, kv_dtype: str = "bf16") -> float:
        """KV-cache bytes per token over all layers (sliding layers counted in full).

        >>> from suanli.perf.ops import ModelShape
        >>> s = ModelShape("x", layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=128, vocab=1,
        ...                intermediate=1, attention="mla", kv_lora_rank=512, qk_rope_head_dim=64)
        >>> s.kv_bytes_per_token("bf16")
        70272.0
        """
        return self.layers * self.kv_elems_per_token_layer() * kv_dtype_bytes(kv_dtype)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def expected_experts(experts: int, top_k: int, tokens: Any) -> np.ndarray:
    """Expected distinct experts touched by ``tokens`` tokens under uniform top-k routing.

    ``E (1 - (1 - k/E)^T)``; 0 when there are no experts.
    """
    t = np.asarray(tokens, dtype=float)
    if experts <= 0:
        return np.zeros_like(t)
    return experts * (1.0 - (1.0 - top_k / experts) ** np.maximum(t, 0.0))


def experts_touched_per_rank(experts: int, top_k: int, tokens: Any, ep: Any, imbalance: Any = 1.0) -> np.ndarray:
    """Distinct experts a step's ``tokens`` touch on one of ``ep`` expert-parallel ranks (at most its share).

    ``imbalance`` scales the busiest rank's share over the even one.
    """
    ep = np.asarray(ep, dtype=float)
    return np.minimum(expected_experts(experts, top_k, tokens) / ep * imbalance, experts / ep)


@dataclass
class Op:
    """One operator group's work on one rank in one step (arrays broadcast).

    ``engine`` is ``'mm'`` (matrix engine at the compute dtype), ``'attn'``
    (attention core, BF16 matrix engine) or ``'vec'`` (memory-bound
    elementwise work). ``rows`` is the matmul M dimension that sets its
    efficiency; ``kernels`` counts launches, for the per-kernel latency.
    """

    name: str
    engine: str
    flops: np.ndarray
    weight_bytes: np.ndarray
    other_bytes: np.ndarray
    rows: Any = 1e9
    kernels: Any = 1.0
    dtype: str | None = None   # compute format when it differs from the step's act format
    k_parts: tuple = ()        # (FLOP share, contraction length K per rank) of its GEMMs

    @property
    def bytes(self) -> np.ndarray:
        return self.weight_bytes + self.other_bytes


@dataclass(frozen=True)
class Dtypes:
    """Storage and compute formats: ``weight``, ``act`` (matmul compute) and ``kv``.

    ``dense`` is the format of the non-expert weights (attention, dense FFN,
    shared experts) when it differs: FP4 checkpoints of MoE models (NVFP4
    DeepSeek-R1) quantize the routed experts only and keep the rest in FP8.
    """

    weight: str = "bf16"
    act: str = "bf16"
    kv: str = "bf16"
    dense: str | None = None

    @classmethod
    def of(cls, weight: str = "bf16", act: str | None = None, kv: str | None = None) -> Dtypes:
        weight = "int4" if weight == "w4a16" else weight
        act = act or DEFAULT_ACT.get(weight, "bf16")
        kv = kv or ("bf16" if act not in ("fp8",) else "fp8")
        return cls(weight, act, kv, "fp8" if weight == "fp4" else None)

    def kv_bytes(self) -> float:
        return kv_dtype_bytes(self.kv)


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def step_ops(
    m: ModelShape,
    dtypes: Dtypes,
    *,
    seqs: Any,
    q: Any,
    ctx: Any,
    tp: Any = 1,
    dp: Any = 1,
    ep: Any = 1,
    pp: Any = 1,
    prefill: bool = False,
    imbalance: float = 1.0,
    lm_head: bool = True,
) -> list[Op]:
    """Operators one rank runs in one step of its pipeline stage.

    Parameters
    ----------
    m, dtypes
        Model shape and formats.
    seqs
        Sequences in the stage's micro-batch (whole instance, all ``dp`` groups).
    q
        New tokens per sequence this step (decode 1, speculative 1 + drafts,
        prefill the chunk).
    ctx
        Cached tokens before this step (decode: current context; prefill: 0
        for a whole prompt, the earlier chunks otherwise).
    tp, dp, ep, pp
        Tensor, attention-data, expert and pipeline parallel degrees.
    prefill
        True for prompt processing: MLA runs un-absorbed, attention is causal
        within the chunk, and only the last token of a finished prompt goes
        through the LM head.
    imbalance
        Busiest-to-mean expert-rank load ratio at ``ep`` (1 = perfect balance).
    lm_head
        Whether this stage runs the LM head (the last stage does).

    Returns
    -------
    list of :class:`Op`, per rank, for the ``layers / pp`` layers of one stage.
    """
    seqs, q, ctx = _a(seqs), _a(q), _a(ctx)
    tp, dp, ep, pp = _a(tp), _a(dp), _a(ep), _a(pp)
    wb, kvb = dtype_bytes(dtypes.weight), dtypes.kv_bytes()
    dense_dt = dtypes.dense if (dtypes.dense and m.is_moe) else None
    wbd = dtype_bytes(dense_dt) if dense_dt else wb
    ab = 2.0  # activations travel in BF16
    h = m.hidden
    group = tp * dp                         # ranks of one stage
    tok_rank = seqs * q / dp                # tokens through one attention group (and its dense parts)
    tok_stage = seqs * q                    # tokens routed through the stage's MoE
    L_stage = m.layers / pp
    frac_moe = (m.moe_layers / m.layers) if m.layers else 0.0
    L_moe = L_stage * frac_moe
    L_dense = L_stage - L_moe
    ops: list[Op] = []

    # --- attention projections ------------------------------------------------
    ap = m.attn_params / tp
    ops.append(Op("attn_proj", "mm", 2 * tok_rank * ap * L_stage, ap * wbd * L_stage,
                  tok_rank * (h + m.heads * max(m.head_dim, m.v_head_dim) / tp) * ab * 2 * L_stage,
                  rows=tok_rank, kernels=4 * L_stage, dtype=dense_dt, k_parts=m.attn_k_parts(tp)))

    # --- attention core ---------------------------------------------------------
    seq_rank = seqs / dp
    heads_r = m.heads / tp
    n_sliding = m.sliding_layers if m.sliding_window else 0
    full_frac = 1.0 - n_sliding / m.layers
    if m.attention == "mla":
        lat = m.kv_lora_rank + m.qk_rope_head_dim
        span = np.minimum(ctx + q, m.index_topk) if m.index_topk else ctx + q
        if prefill:
            # un-absorbed: up-project the chunk's latents, causal attention in head space
            qk = m.qk_nope_head_dim + m.qk_rope_head_dim
            eff_ctx = ctx + q / 2
            if m.index_topk:
                eff_ctx = np.minimum(eff_ctx, m.index_topk)
            fl = 2 * seq_rank * q * eff_ctx * heads_r * (qk + m.v_head_dim)
            fl = fl + 2 * seq_rank * (ctx + q) * m.kv_lora_rank * heads_r * (m.qk_nope_head_dim + m.v_head_dim) * (ctx > 0)
            kv = seq_rank * (ctx + q) * lat * kvb
        else:
            fl = 2 * seq_rank * q * span * heads_r * (lat + m.kv_lora_rank)
            kv = seq_rank * span * lat * kvb  # latent read whole by every TP rank
        if m.index_topk:  # lightning indexer scores every cached token (FP8)
            fl = fl + 2 * seq_rank * q * (ctx + q) * m.index_heads * m.index_head_dim
            kv = kv + seq_rank * (ctx + q) * m.index_head_dim * 1.0
        att_fl, att_kv = fl * L_stage, kv * L_stage
    else:
        kvh_r = np.maximum(m.kv_heads / tp, 1.0)
        d = m.head_dim
        if prefill:
            eff_full = ctx + q / 2
        else:
            eff_full = ctx + q
        eff_slide = np.minimum(eff_full, m.sliding_window) if n_sliding else eff_full
        per_layer_fl = lambda span: 4 * seq_rank * q * span * heads_r * d  # noqa: E731
        per_layer_kv = lambda span: seq_rank * span * 2 * kvh_r * d * kvb  # noqa: E731
        if prefill:  # flash attention streams K/V once per sequence chunk
            kv_span_full, kv_span_slide = ctx + q, np.minimum(ctx + q, m.sliding_window or 1e18)
        else:
            kv_span_full, kv_span_slide = eff_full, eff_slide
        att_fl = L_stage * (full_frac * per_layer_fl(eff_full) + (1 - full_frac) * per_layer_fl(eff_slide))
        att_kv = L_stage * (full_frac * per_layer_kv(kv_span_full) + (1 - full_frac) * per_layer_kv(kv_span_slide))
    kv_write = tok_rank * (m.kv_elems_per_token_layer() / (1 if m.attention == "mla" else tp)) * kvb * L_stage
    ops.append(Op("attention", "attn", att_fl, np.zeros_like(att_fl), att_kv + kv_write,
                  rows=np.maximum(q, 1.0) * (heads_r if m.attention == "mla" else 1.0),
                  kernels=2 * L_stage))

    # --- dense FFN --------------------------------------------------------------
    if L_dense is not None and np.any(L_dense > 0):
        fp = m.ffn_params(m.intermediate) / tp
        inter_r = m.intermediate / tp
        ops.append(Op("ffn", "mm", 2 * tok_rank * fp * L_dense, fp * wbd * L_dense,
                      tok_rank * (2 * h + 3 * inter_r) * ab * L_dense, rows=tok_rank, kernels=3 * L_dense,
                      dtype=dense_dt, k_parts=m.ffn_k_parts(inter_r)))

    # --- MoE: router, routed experts, shared experts -----------------------------
    if m.is_moe and m.moe_layers:
        E, k = m.experts, m.top_k
        router_p = h * E
        ops.append(Op("router", "vec", 2 * tok_rank * router_p * L_moe, router_p * 2.0 * L_moe,
                      tok_rank * (h + E) * ab * L_moe, rows=tok_rank, kernels=2 * L_moe))
        etp = group / ep                               # expert tensor parallelism
        lam = 1.0 + (imbalance - 1.0) * (1.0 - 1.0 / ep)
        touched = experts_touched_per_rank(E, k, tok_stage, ep, lam)  # distinct experts on the busiest rank
        ex_p = m.expert_params / etp
        tok_exp = tok_stage * k / ep * lam           # token-expert pairs on the busiest rank
        # GEMM rows of one touched expert: the tokens routed to it (at least one; averaging over
        # the untouched experts too would give a small batch a fraction of a row)
        rows = tok_exp / np.maximum(touched, 1e-12)
        ops.append(Op("experts", "mm", 2 * tok_exp * ex_p * L_moe, touched * ex_p * wb * L_moe,
                      tok_exp * (2 * h + 3 * m.moe_intermediate / etp) * ab * L_moe,
                      rows=rows, kernels=3 * L_moe, k_parts=m.ffn_k_parts(m.moe_intermediate / etp)))
        if m.shared_experts:
            sp = m.shared_experts * m.expert_params / tp
            ops.append(Op("shared_experts", "mm", 2 * tok_rank * sp * L_moe, sp * wbd * L_moe,
                          tok_rank * 2 * h * ab * L_moe, rows=tok_rank, kernels=3 * L_moe, dtype=dense_dt,
                          k_parts=m.ffn_k_parts(m.moe_intermediate / tp)))

    # --- norms, residuals, rotary, activation functions -------------------------
    ops.append(Op("norms", "vec", 10 * tok_rank * h * L_stage, 2 * h * 2.0 * L_stage,
                  tok_rank * h * ab * 6 * L_stage, rows=tok_rank, kernels=3 * L_stage))

    # --- embedding lookup and LM head -------------------------------------------
    ops.append(Op("embedding", "vec", np.zeros_like(tok_rank), np.zeros_like(tok_rank),
                  tok_rank * h * 2.0 / pp, rows=tok_rank, kernels=1.0 / pp))
    if lm_head:
        # the stage that runs the LM head (the last one) carries all of it: with pp > 1 it is the
        # busiest stage and sets the pace of the pipeline
        head_tok = seq_rank * (np.minimum(q, 1.0) if prefill else q)
        hp = m.embed_params / tp
        ops.append(Op("lm_head", "mm", 2 * head_tok * hp, hp * 2.0,
                      head_tok * m.vocab / tp * 4.0, rows=head_tok, kernels=2.0, k_parts=((1.0, h),)))
    return ops


def op_totals(ops: list[Op]) -> dict[str, np.ndarray]:
    """Sum FLOPs and bytes over operators: ``{'flops', 'weight_bytes', 'other_bytes'}``."""
    return {
        "flops": sum((o.flops for o in ops), np.asarray(0.0)),
        "weight_bytes": sum((o.weight_bytes for o in ops), np.asarray(0.0)),
        "other_bytes": sum((o.other_bytes for o in ops), np.asarray(0.0)),
    }
