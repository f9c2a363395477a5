"""Disaggregated deployments: split a chip budget into whole prefill and decode instances.

:func:`disagg_plan` picks the split that maximises output tokens/s for an open load;
:func:`disagg_plan_closed` does so for a fixed number of requests in flight (a closed loop),
where TTFT and throughput are solved together. Both take the vectorized evaluations of the
prefill and decode candidates (:func:`suanli.perf.serving.evaluate`) that
:func:`suanli.perf.search.predict_serve` computed.
"""
from __future__ import annotations

import numpy as np

from suanli.perf.serving import Evaluation


def _best_by_size(ev: Evaluation, ok: np.ndarray, rate: np.ndarray) -> dict[float, tuple[float, int]]:
    """``{chips per instance: (best rate, flat index)}`` over the feasible candidates of each size."""
    sizes = np.broadcast_to(ev.chips, np.shape(rate))
    r = np.where(ok, rate, -np.inf)
    best: dict[float, tuple[float, int]] = {}
    for c in np.unique(sizes[np.isfinite(r)]):
        masked = np.where(sizes == c, r, -np.inf)
        i = int(np.argmax(masked))
        if np.isfinite(masked.flat[i]):
            best[float(c)] = (float(masked.flat[i]), i)
    return best


def disagg_plan(pev: Evaluation, pok: np.ndarray, dev: Evaluation, dok: np.ndarray, chips: int,
                isl: float, osl: float) -> dict | None:
    """Best whole-instance split of ``chips`` into prefill and decode instances.

    For every feasible prefill instance size ``cp`` (its best input tokens/s)
    and decode instance size ``cd`` (its best output tokens/s), try every
    count ``n_p >= 1`` of prefill instances with ``n_d = (chips - n_p cp) // cd
    >= 1`` decode instances; the deployment delivers
    ``min(n_d * D_inst, n_p * P_inst * osl / isl)`` output tokens/s. Returns
    the best split, or ``None`` when one instance of each does not fit.
    """
    P = _best_by_size(pev, pok, np.asarray(pev.in_tps_instance))
    D = _best_by_size(dev, dok, np.asarray(dev.out_tps_instance))
    top: dict | None = None
    for cp, (p_inst, ip) in P.items():
        for cd, (d_inst, idx) in D.items():
            for n_p in range(1, int(chips // cp) + 1):
                n_d = int((chips - n_p * cp) // cd)
                if n_d < 1:
                    break
                out = min(n_d * d_inst, n_p * p_inst * osl / max(isl, 1.0)) / chips
                if top is None or out > top["output_tps_per_chip"]:
                    top = {"output_tps_per_chip": out, "prefill_index": ip, "decode_index": idx,
                           "prefill_instances": n_p, "decode_instances": n_d,
                           "prefill_chips": int(n_p * cp), "decode_chips": int(n_d * cd)}
    return top


def _closed_loop_ttft(service_s: float, cap: float, concurrency: float, decode_s: float) -> float:
    """TTFT of a closed loop: a prompt's service time plus the mean M/D/1 wait at the prefill
    utilisation ``rho = lambda / cap``, with ``lambda = concurrency / (TTFT + decode_s)`` (a fixed point)."""
    ttft = service_s
    for _ in range(30):
        rho = min(concurrency / (ttft + decode_s) / cap, 0.999)
        new = service_s + rho * service_s / (2.0 * (1.0 - rho))
        done = abs(new - ttft) < 1e-6 * max(ttft, 1e-9)
        ttft = new
        if done:
            break
    return ttft


def disagg_plan_closed(pev: Evaluation, pok: np.ndarray, dev: Evaluation, dok: np.ndarray, chips: int,
                       isl: float, osl: float, concurrency: float, *, waves: bool = False) -> dict | None:
    """Best whole-instance split of ``chips`` for a fixed number of requests in flight (closed loop).

    The ``concurrency`` requests sit on the ``n_d`` decode instances (column ``n_d - 1`` of the
    decode grid, see ``search._run(split_concurrency=True)``); each client waits TTFT for its prompt (and
    first token) and then ``osl - 1`` tokens at the decode TPOT, so the deployment delivers
    ``lambda = concurrency / (TTFT + (osl - 1) x TPOT)`` requests/s. TTFT is a prompt's service time on
    the prefill instances, ``isl / (n_p P)``, plus the mean M/D/1 wait at their utilisation
    ``rho = lambda isl / (n_p P)`` (``rho S / (2 (1 - rho))``); lambda and TTFT are solved together.
    The output is ``lambda x osl``, and never more than the prefill instances can feed.

    ``waves`` (fixed-length requests all sent at once, :func:`~suanli.perf.search.closed_waves`): each wave's
    ``concurrency`` prompts reach the prefill instances together, so TTFT is the mean wait through
    the wave's prefill ``T_pf = concurrency x isl / (n_p P)``, ``(T_pf + S) / 2``, and the rest of
    the burst falls on the decode (TPOT = decode step + ``T_pf / (2 osl)``), as for a prefill-first
    engine (:func:`~suanli.perf.serving.evaluate`). The burst repeats in every wave: SGLang's
    disaggregated Ascend runs of four waves measure a mean TTFT of 9.8 s and 10.2 s (their notes),
    where this gives 12.2 s and 13.2 s and one prompt's service 0.1 s.
    """
    P = _best_by_size(pev, pok, np.asarray(pev.in_tps_instance))
    rest = max(osl - 1.0, 0.0)                  # tokens after the first, at the decode TPOT
    dsize = np.broadcast_to(dev.chips, np.shape(dev.tpot_s))
    tpot = np.where(dok, np.asarray(dev.tpot_s), np.inf)
    ncol = tpot.shape[1]
    top: dict | None = None
    for cd in np.unique(dsize[np.isfinite(tpot)]):
        masked = np.where(dsize == cd, tpot, np.inf)           # fastest decode layout of this size per n_d
        best_rows = np.argmin(masked, axis=0)
        for cp, (p_inst, ip) in P.items():
            for n_p in range(1, int(chips // cp) + 1):
                n_d_max = min(int((chips - n_p * cp) // cd), ncol)
                for n_d in range(1, n_d_max + 1):
                    r = int(best_rows[n_d - 1])
                    t = float(masked[r, n_d - 1])
                    if not np.isfinite(t):
                        continue
                    cap = n_p * p_inst / max(isl, 1.0)           # requests/s the prefill instances can take
                    one = isl / (n_p * p_inst)                  # a prompt's service time
                    if waves:
                        t_pf = concurrency * one
                        ttft = 0.5 * (t_pf + one)
                        tpot_w = t + 0.5 * t_pf / max(osl, 1.0)
                    else:
                        ttft = _closed_loop_ttft(one, cap, concurrency, rest * t)
                        tpot_w = t
                    lam = min(concurrency / (ttft + rest * tpot_w), cap)
                    out = lam * osl / chips
                    if top is None or out > top["output_tps_per_chip"]:
                        top = {"output_tps_per_chip": out, "prefill_index": ip,
                               "decode_index": int(np.ravel_multi_index((r, n_d - 1), tpot.shape)),
                               "prefill_instances": n_p, "decode_instances": n_d, "ttft_s": ttft,
                               "tpot_s": tpot_w,
                               "prefill_chips": int(n_p * cp), "decode_chips": int(n_d * cd)}
    return top


__all__ = ["disagg_plan", "disagg_plan_closed"]
