"""The Ray backend: chunks run as Ray tasks on a local Ray (started on demand) or an existing cluster.

``address=None`` starts a local Ray with ``workers`` CPUs (all cores if not
given); ``address="ray://HOST:10001"`` or ``"auto"`` joins a running
cluster. Shared inputs are put in the object store once. Results come back
in chunk order, so a seeded run equals the local backend's.
"""
from __future__ import annotations

from typing import Any, Callable

from suanli.errors import SuanliError

INSTALL_HINT = "install the Ray extra: pip install 'suanli[ray]' (or pip install 'ray>=2.9')"


def _ray():
    try:
        import ray
    except ModuleNotFoundError:
        raise SuanliError("the ray backend needs Ray, which is not installed", hint=INSTALL_HINT) from None
    return ray


def ensure_ray(address: str | None = None, workers: int | None = None) -> Any:
    """Connect to (or start) Ray once per process."""
    ray = _ray()
    if not ray.is_initialized():
        kw: dict[str, Any] = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False,
                              "configure_logging": False}
        if address:
            kw["address"] = address
        else:
            kw["num_cpus"] = workers
            # a local Ray listens on loopback only
            kw["_node_ip_address"] = "127.0.0.1"
        try:
            ray.init(**kw)
        except Exception as exc:  # connection refused, bad address...
            raise SuanliError(f"cannot start or join Ray ({type(exc).__name__}: {exc})",
                              hint="check --ray-address (e.g. ray://HOST:10001 or auto), or use --backend local"
                              ) from None
    return ray


def run_ray(fn: Callable, shared: tuple, chunks: list, *, address: str | None = None, workers: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[Any]:
    ray = ensure_ray(address, workers)
    task = ray.remote(num_cpus=1)(fn)
    refs_shared = [ray.put(x) for x in shared]
    pending = [task.remote(*refs_shared, c) for c in chunks]
    index = {r: i for i, r in enumerate(pending)}
    results: list[Any] = [None] * len(pending)
    done = 0
    remaining = list(pending)
    while remaining:
        ready, remaining = ray.wait(remaining, num_returns=1)
        for r in ready:
            results[index[r]] = ray.get(r)
            done += 1
            if progress:
                progress(done, len(pending))
    return results


def shutdown() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()
