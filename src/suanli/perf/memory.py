"""Memory per rank: weights, paged KV cache, activations and workspace; the largest batch that fits.

All functions broadcast over numpy arrays of parallel degrees and batch sizes.

* Weights per rank: attention and dense parts split by ``tp`` (replicated over
  attention-DP ranks), routed experts split over all ``tp x dp`` ranks of a
  stage (``E/ep`` experts, each sliced ``tp*dp/ep`` ways), layers split by
  ``pp``; embedding and LM head in BF16, split by ``tp``.
* KV cache per sequence and rank: ``layers/pp x ctx x`` the rank's share of a
  token's cache: GQA ``2 x max(kv_heads/tp, 1) x head_dim`` elements, MLA the
  whole latent ``kv_lora + rope`` (every TP rank keeps it). Pages of 64 tokens
  round each sequence up (paged attention).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from suanli.perf.ops import Dtypes, ModelShape, dtype_bytes

PAGE_TOKENS = 64


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def weight_bytes_per_rank(m: ModelShape, dtypes: Dtypes, tp: Any = 1, dp: Any = 1, ep: Any = 1, pp: Any = 1,
                          *, mtp_layers: int = 0) -> np.ndarray:
    """Weight bytes one rank holds (the busiest pipeline stage).

    >>> from suanli.perf.ops import ModelShape, Dtypes
    >>> m = ModelShape("d", layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, vocab=32000,
    ...                intermediate=28672)
    >>> round(float(weight_bytes_per_rank(m, Dtypes.of("bf16"))) / 1e9, 1)   # Llama-2-70B in BF16, GB
    138.0
    """
    tp, dp, ep, pp = _a(tp), _a(dp), _a(ep), _a(pp)
    wb = dtype_bytes(dtypes.weight)
    wbd = dtype_bytes(dtypes.dense) if (dtypes.dense and m.is_moe) else wb
    per_layer_dense = m.attn_params / tp * wbd
    dense_ffn = m.ffn_params(m.intermediate) * m.dense_layers / tp * wbd
    moe = 0.0
    if m.is_moe:
        moe = m.moe_layers * (m.experts * m.expert_params / (tp * dp) * wb
                              + m.shared_experts * m.expert_params / tp * wbd + m.hidden * m.experts * 2.0)
    layers_total = per_layer_dense * m.layers + dense_ffn + moe
    extra = 0.0
    if mtp_layers:
        extra = mtp_layers * (layers_total / m.layers + 2 * m.hidden * m.hidden * wb / tp)
    emb = m.embed_params * 2.0 / tp * (1 if m.tie_embeddings else 2)
    # with pp > 1 the first stage has the embedding, the last the head; count the larger share
    emb_stage = np.where(pp > 1, emb / (1 if m.tie_embeddings else 2), emb)
    return layers_total / pp + extra / pp + emb_stage


def kv_bytes_per_seq_rank(m: ModelShape, dtypes: Dtypes, ctx: Any, tp: Any = 1, pp: Any = 1) -> np.ndarray:
    """KV-cache bytes one sequence of ``ctx`` tokens takes on one rank (paged)."""
    ctx, tp, pp = _a(ctx), _a(tp), _a(pp)
    kvb = dtypes.kv_bytes()
    pages = np.ceil(ctx / PAGE_TOKENS) * PAGE_TOKENS
    if m.attention == "mla":
        per_tok_layer = (m.kv_lora_rank + m.qk_rope_head_dim) * kvb + (m.index_head_dim if m.index_topk else 0)
        full = pages * per_tok_layer * m.layers
    else:
        per_tok_layer = 2 * np.maximum(m.kv_heads / tp, 1.0) * m.head_dim * kvb
        n_slide = m.sliding_layers if m.sliding_window else 0
        slide_pages = np.minimum(pages, np.ceil(m.sliding_window / PAGE_TOKENS) * PAGE_TOKENS) if n_slide else 0
        full = per_tok_layer * (pages * (m.layers - n_slide) + slide_pages * n_slide)
    return full / pp


def activation_bytes_per_rank(m: ModelShape, tokens: Any, tp: Any = 1) -> np.ndarray:
    """Peak activation/workspace bytes for ``tokens`` tokens in one forward step on a rank."""
    tokens, tp = _a(tokens), _a(tp)
    inter = max(m.intermediate, m.moe_intermediate * max(m.top_k, 1))
    return tokens * (4 * m.hidden + 2 * inter / tp) * 2.0


@dataclass
class MemoryBreakdown:
    """Bytes per rank (arrays): weights, KV cache, activations and the engine's reserve."""

    weights: np.ndarray
    kv_cache: np.ndarray
    activations: np.ndarray
    reserve: np.ndarray
    capacity: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.weights + self.kv_cache + self.activations + self.reserve

    @property
    def fits(self) -> np.ndarray:
        return self.total <= self.capacity

    def to_dict(self, index: int | None = None) -> dict:
        def pick(x: np.ndarray) -> float:
            x = np.asarray(x)
            return float(x.flat[index] if index is not None and x.size > 1 else x.flat[0]) / 1e9

        return {
            "weights_gb": pick(self.weights), "kv_cache_gb": pick(self.kv_cache),
            "activations_gb": pick(self.activations), "reserve_gb": pick(self.reserve),
            "total_gb": pick(self.total), "capacity_gb": pick(self.capacity),
        }


def memory_per_rank(m: ModelShape, dtypes: Dtypes, *, mem_gb: Any, seqs_per_rank: Any, ctx: Any,
                    step_tokens: Any, tp: Any = 1, dp: Any = 1, ep: Any = 1, pp: Any = 1,
                    serving: dict | None = None, mtp_layers: int = 0, spread: Any = 0.0) -> MemoryBreakdown:
    """Memory one rank needs with ``seqs_per_rank`` sequences of ``ctx`` tokens resident.

    ``spread`` sizes the KV for the spread of staggered contexts: ``n + spread x sqrt(n)``
    sequences' worth (``Lengths.kv_spread``; 0 = every sequence at ``ctx``).
    """
    s = serving or {}
    util = float(s.get("memory_util", 0.92))
    reserve = float(s.get("memory_reserve_gb", 4.0)) * 1e9
    w = weight_bytes_per_rank(m, dtypes, tp, dp, ep, pp, mtp_layers=mtp_layers)
    n = np.maximum(_a(seqs_per_rank), 0.0)
    kv = kv_bytes_per_seq_rank(m, dtypes, ctx, tp, pp) * (n + _a(spread) * np.sqrt(n))
    act = activation_bytes_per_rank(m, step_tokens, tp)
    cap = _a(mem_gb) * 1e9 * util
    return MemoryBreakdown(w, kv, act, np.broadcast_to(reserve, np.shape(w)).astype(float), np.broadcast_to(cap, np.shape(w)).astype(float))


def max_seqs_per_rank(m: ModelShape, dtypes: Dtypes, *, mem_gb: Any, ctx: Any, step_tokens: Any = 0,
                      tp: Any = 1, dp: Any = 1, ep: Any = 1, pp: Any = 1, serving: dict | None = None,
                      mtp_layers: int = 0, spread: Any = 0.0) -> np.ndarray:
    """Largest number of resident sequences per rank that fits (0 when the weights do not).

    With ``spread`` (see ``memory_per_rank``) the largest ``n`` with ``n + spread sqrt(n)`` sequences'
    worth of KV in the free memory ``q``: ``sqrt(n) = (sqrt(spread^2 + 4 q) - spread) / 2``.
    """
    mb = memory_per_rank(m, dtypes, mem_gb=mem_gb, seqs_per_rank=0.0, ctx=ctx, step_tokens=step_tokens,
                         tp=tp, dp=dp, ep=ep, pp=pp, serving=serving, mtp_layers=mtp_layers)
    free = mb.capacity - mb.weights - mb.activations - mb.reserve
    per = kv_bytes_per_seq_rank(m, dtypes, ctx, tp, pp)
    q = np.maximum(free / per, 0.0)
    a = _a(spread)
    root = (np.sqrt(a * a + 4 * q) - a) / 2
    return np.maximum(np.floor(np.where(a > 0, root * root, q)), 0.0)
