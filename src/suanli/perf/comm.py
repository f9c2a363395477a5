"""Collectives on scale-up domains and scale-out networks: latency + bytes / bandwidth.

Each function returns seconds for arrays of message sizes and group sizes
(they broadcast). Conventions follow nccl-tests: ``bytes`` is the buffer each
rank holds; all-reduce moves ``2 (n-1)/n x bytes`` per rank, all-gather and
reduce-scatter ``(n-1)/n x bytes`` (``bytes`` = the full gathered buffer).

Bandwidth per rank and direction is the system's scale-up figure inside one
domain (NVLink/NVSwitch, HCCS, UB, Infinity Fabric, PCIe) and the scale-out
NIC beyond it, times an efficiency measured per topology:

* switched fabrics (NVSwitch, the CloudMatrix 384 UB all-to-all fabric) give
  every rank its full link bandwidth to any group;
* a full mesh (Infinity Fabric, HCCS in an 8-card node) splits a rank's
  bandwidth over ``domain - 1`` point-to-point links, so a group of ``n``
  uses only ``(n-1)/(domain-1)`` of it;
* groups larger than a domain run hierarchically: reduce-scatter inside the
  domain, all-reduce of the ``1/d`` shard across domains, all-gather inside.

>>> from suanli.perf.hardware import HardwareSpec
>>> s = HardwareSpec.synthetic(scaleup_gbps=450.0)
>>> round(float(allreduce_time(s, 8 * 2**30, 8)) * 1e3, 2)   # ms for 8 GiB on 8 ranks
31.35
"""
from __future__ import annotations

from typing import Any

import numpy as np

from suanli.perf.hardware import HardwareSpec


def _a(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _link_share(spec: HardwareSpec, n: np.ndarray) -> np.ndarray:
    """Share of a rank's scale-up bandwidth a group of ``n`` ranks inside one domain can use."""
    if spec.topology == "mesh" and spec.domain_ranks > 2:
        # ranks of one package (Ascend 910C dies) sit on the same mesh port set; a group inside one
        # package talks over the package's own die-to-die link, not over one mesh link
        rpc = max(spec.ranks_per_chip, 1)
        d = spec.domain_ranks / rpc
        chips = np.maximum(n / rpc, 1.0)
        share = np.clip((chips - 1) / max(d - 1, 1), 1.0 / max(d - 1, 1), 1.0)
        return np.where(n <= rpc, 1.0, share) if rpc > 1 else share
    return np.ones_like(n)


def _ar_eff(spec: HardwareSpec) -> float:
    return float(spec.comm["allreduce_eff"].get(spec.topology, 0.7))


def _ar_lat(spec: HardwareSpec) -> float:
    return float(spec.comm["allreduce_latency_us"].get(spec.topology, 20.0)) * 1e-6


def allreduce_busbw(spec: HardwareSpec, n: Any) -> np.ndarray:
    """Achieved bus bandwidth (bytes/s) of a large all-reduce over ``n`` ranks in one domain.

    The ring's bus bandwidth is a share of the link whatever ``n``; on a switch that reduces
    in-network (NVLS) the algorithm bandwidth is, so the bus bandwidth grows as ``2 (n-1)/n``
    (a 4-GPU tray gets 1.5x, the 72-GPU domain 1.97x); NCCL takes the faster.

    >>> from suanli.perf.hardware import HardwareSpec
    >>> s = HardwareSpec.synthetic(scaleup_gbps=900.0)
    >>> [round(float(allreduce_busbw(s, n)) / 1e9) for n in (4, 8, 72)]
    [822, 959, 1081]
    """
    n = _a(n)
    ring = _a(spec.scaleup_gbps) * 1e9 * _ar_eff(spec) * _link_share(spec, n)
    nv = spec.comm.get("allreduce_nvls") or {}
    if spec.topology == "switched" and spec.family in (nv.get("families") or ()):
        nvls = _a(spec.scaleup_gbps) * 1e9 * float(nv["algbw_eff"]) * 2 * (n - 1) / np.maximum(n, 1)
        return np.maximum(ring, nvls)
    return ring


def allreduce_time(spec: HardwareSpec, nbytes: Any, n: Any) -> np.ndarray:
    """Seconds for an all-reduce of ``nbytes`` per rank over ``n`` ranks (0 when n <= 1)."""
    b, n = _a(nbytes), _a(n)
    d = np.minimum(n, spec.domain_ranks)
    intra = _ar_lat(spec) + 2 * (d - 1) / np.maximum(d, 1) * b / allreduce_busbw(spec, d)
    g = n / d                                       # domains in the group
    so = _a(spec.scaleout_gbps) * 1e9 * float(spec.comm["alltoall_eff_scaleout"])
    inter = np.where(g > 1, spec.comm["alltoall_latency_us_scaleout"] * 1e-6
                     + 2 * (g - 1) / np.maximum(g, 1) * (b / d) / so, 0.0)
    return np.where(n > 1, intra + inter, 0.0)


def allgather_time(spec: HardwareSpec, nbytes: Any, n: Any) -> np.ndarray:
    """Seconds for an all-gather producing ``nbytes`` per rank over ``n`` ranks."""
    b, n = _a(nbytes), _a(n)
    d = np.minimum(n, spec.domain_ranks)
    intra = _ar_lat(spec) + (d - 1) / np.maximum(d, 1) * b / allreduce_busbw(spec, d)
    g = n / d
    so = _a(spec.scaleout_gbps) * 1e9 * float(spec.comm["alltoall_eff_scaleout"])
    inter = np.where(g > 1, spec.comm["alltoall_latency_us_scaleout"] * 1e-6 + (g - 1) / np.maximum(g, 1) * (b / d) / so, 0.0)
    return np.where(n > 1, intra + inter, 0.0)


reduce_scatter_time = allgather_time  # same traffic, opposite direction


def alltoall_time(spec: HardwareSpec, nbytes: Any, n: Any) -> np.ndarray:
    """Seconds for an all-to-all where each rank sends ``nbytes`` in total over ``n`` ranks.

    Traffic to ranks of the same domain goes over scale-up links, the rest over
    the NICs; both run at once, so the slower part sets the time. A fixed
    latency (launch, synchronisation, RDMA round trips) is added; it is the
    scale-out one once any traffic leaves the domain.
    """
    b, n = _a(nbytes), _a(n)
    d, up, so, lat = _alltoall_links(spec, n)
    t_in = b * (d - 1) / np.maximum(n, 1) / up
    t_out = b * (n - d) / np.maximum(n, 1) / so
    return np.where(n > 1, lat + np.maximum(t_in, t_out), 0.0)


def _alltoall_links(spec: HardwareSpec, n: np.ndarray) -> tuple[np.ndarray, ...]:
    """Ranks of an ``n``-rank all-to-all inside one domain, the achieved scale-up and scale-out
    rates per rank (bytes/s), and the fixed latency (the scale-out one once traffic leaves the domain)."""
    d = np.minimum(n, spec.domain_ranks)
    up = _a(spec.scaleup_gbps) * 1e9 * float(spec.comm["alltoall_eff_scaleup"]) * _link_share(spec, d)
    so = _a(spec.scaleout_gbps) * 1e9 * float(spec.comm["alltoall_eff_scaleout"])
    lat = np.where(n > d, spec.comm["alltoall_latency_us_scaleout"], spec.comm["alltoall_latency_us_scaleup"]) * 1e-6
    return d, up, so, lat


def alltoall_per_node_time(spec: HardwareSpec, token_bytes: Any, k: Any, n: Any) -> np.ndarray:
    """Seconds for an MoE dispatch (or combine) that sends each token once to every other domain
    holding one of its ``k`` experts and forwards it there over the scale-up links (DeepEP's normal
    kernels), where :func:`alltoall_time` sends one copy per expert. ``token_bytes``: the rank's
    tokens x hidden x bytes.

    With the experts spread evenly over ``n / d`` domains of ``d`` ranks, a given domain holds at
    least one of a token's ``k`` experts with probability ``1 - (1 - d/n)^k`` (routing taken as
    uniform: DeepSeek-V3's group-limited routing, at most 4 nodes a token, lowers it further), so a
    token crosses the NICs ``(n/d - 1) (1 - (1 - d/n)^k)`` times: 2.7 where one copy per expert is
    6 (EP32 over 4 nodes, top-8). Every copy still reaches its expert's rank: ``k (d - 1) / d`` of
    the token over the scale-up links (directly, or forwarded by the rank that received it).

    >>> from suanli.perf.hardware import HardwareSpec
    >>> hw = HardwareSpec.synthetic(scaleup_gbps=450.0, scaleout_gbps=50.0, domain_ranks=8)
    >>> round(float(alltoall_per_node_time(hw, 1e9, 8, 32) / alltoall_time(hw, 8e9, 32)), 2)
    0.45
    """
    b, k, n = _a(token_bytes), _a(k), _a(n)
    d, up, so, lat = _alltoall_links(spec, n)
    reached = 1.0 - (1.0 - d / np.maximum(n, 1.0)) ** k
    t_in = b * k * (d - 1) / np.maximum(d, 1) / up
    t_out = b * (n / np.maximum(d, 1) - 1.0) * reached / so
    return np.where(n > 1, lat + np.maximum(t_in, t_out), 0.0)


def p2p_time(spec: HardwareSpec, nbytes: Any, *, cross_domain: Any = False) -> np.ndarray:
    """Seconds for a send/recv of ``nbytes`` between two ranks (pipeline stages, KV transfer)."""
    b = _a(nbytes)
    bw = np.where(cross_domain, _a(spec.scaleout_gbps) * 1e9 * float(spec.comm["alltoall_eff_scaleout"]),
                  _a(spec.scaleup_gbps) * 1e9 * float(spec.comm["alltoall_eff_scaleup"]))
    return float(spec.comm["p2p_latency_us"]) * 1e-6 + b / bw


def exposed(comm: Any, compute: Any, overlap: Any) -> np.ndarray:
    """Communication left on the critical path when a share ``overlap`` of it can hide behind compute.

    ``max(comm - overlap x min(comm, compute), (1 - overlap) x comm)``: with two-batch
    overlap one micro-batch's dispatch/combine runs while the other computes.

    >>> float(exposed(10.0, 8.0, 0.0)), float(exposed(10.0, 8.0, 1.0)), float(exposed(4.0, 8.0, 1.0))
    (10.0, 2.0, 0.0)
    """
    c, k, o = _a(comm), _a(compute), _a(overlap)
    return c - o * np.minimum(c, k)
