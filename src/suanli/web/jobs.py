"""Long runs (fleet plans, risk) in the background: a job id, its progress, and its result when done.

Jobs run on a small thread pool (the engines release the GIL in HiGHS and
numpy); at most :data:`MAX_QUEUED` wait, and the last :data:`KEEP` finished
jobs are kept in memory. A finished plan is saved in the results store
(DuckDB) unless the request says not to; the run id is in the job.
"""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from suanli.errors import SuanliError

MAX_QUEUED = 8
KEEP = 64


@dataclass
class Job:
    id: str
    kind: str
    name: str
    status: str = "queued"            # queued | running | done | failed
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: list[str] = field(default_factory=list)
    fraction: float | None = None
    result: dict | None = None
    error: dict | None = None
    run_id: str | None = None

    def to_dict(self, *, with_result: bool = True) -> dict:
        d = {"id": self.id, "kind": self.kind, "name": self.name, "status": self.status,
             "created": self.created, "started": self.started, "finished": self.finished,
             "progress": self.progress[-20:], "fraction": self.fraction, "error": self.error, "run_id": self.run_id}
        if with_result:
            d["result"] = self.result
        return d


class JobManager:
    """Submit work, follow its progress, fetch its result."""

    def __init__(self, workers: int = 1, store_path: str | None = None, store: bool = True) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suanli-job")
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.store_lock = threading.Lock()
        self.store_path = store_path
        self.store_enabled = store

    def submit(self, kind: str, name: str, work: Callable[[Job], dict],
               save: Callable[[Any, dict], str | None] | None = None) -> Job:
        with self.lock:
            waiting = sum(j.status in ("queued", "running") for j in self.jobs.values())
            if waiting >= MAX_QUEUED:
                raise SuanliError(f"{waiting} jobs are already queued or running",
                                  hint="wait for one to finish (GET /api/v1/jobs)")
            job = Job(uuid.uuid4().hex[:12], kind, name)
            self.jobs[job.id] = job
            done = [j for j in self.jobs.values() if j.status in ("done", "failed")]
            for old in sorted(done, key=lambda j: j.created)[:max(0, len(done) - KEEP)]:
                del self.jobs[old.id]
        self.pool.submit(self._run, job, work, save)
        return job

    def _run(self, job: Job, work: Callable[[Job], dict], save: Callable | None) -> None:
        job.status, job.started = "running", time.time()
        try:
            result = work(job)
            if save is not None and self.store_enabled:
                job.progress.append("saving the run in the results store")
                with self.store_lock:
                    from suanli.store import RunStore

                    with RunStore(self.store_path) as s:
                        job.run_id = save(s, result)
            from suanli.web.service import jsonable

            result = jsonable(strip_private(result))
            result["run_id"] = job.run_id
            job.result, job.status, job.fraction = result, "done", 1.0
        except SuanliError as exc:
            job.error, job.status = exc.to_dict(), "failed"
        except Exception as exc:  # noqa: BLE001 - a failed job reports, the server goes on
            job.error, job.status = {"error": type(exc).__name__, "message": str(exc), "hint": None}, "failed"
        finally:
            job.finished = time.time()

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            from suanli.errors import UnknownIdError

            raise UnknownIdError("job", job_id, list(self.jobs))
        return job

    def list(self) -> list[dict]:
        return [j.to_dict(with_result=False) for j in sorted(self.jobs.values(), key=lambda j: -j.created)]

    def runs(self, kind: str | None, limit: int) -> list[dict]:
        from suanli.store import RunStore

        with self.store_lock, RunStore(self.store_path) as s:
            return s.list(kind, limit)

    def run(self, run_id: str) -> dict:
        from suanli.store import RunStore

        with self.store_lock, RunStore(self.store_path) as s:
            return s.get(run_id)


# --------------------------------------------------------------------------- the work itself
def fleet_work(sc: Any, tornado: bool) -> Callable[[Job], dict]:
    def work(job: Job) -> dict:
        from suanli.plan import plan_fleet

        def progress(msg: str) -> None:
            job.progress.append(msg)
            if msg.startswith("tornado ") and "/" in msg:
                i, n = msg.split()[1].rstrip(":").split("/")
                job.fraction = 0.3 + 0.7 * int(i) / max(int(n), 1)
            elif job.fraction is None:
                job.fraction = 0.05

        study = plan_fleet(sc, tornado=tornado, progress=progress)
        d = study.to_dict()
        d["_study"] = study  # removed before the result is served (used to save the run)
        return d

    return work


def save_fleet(store: Any, d: dict) -> str | None:
    study = d.pop("_study")
    p = study.plan
    metrics = {"per_mtok_output": p.per_mtok.get("output"), "per_mtok_total": p.per_mtok.get("total"),
               "present_value_all": p.cost["present_value"].get("all")}
    return store.save("fleet", p.name, inputs=study.scenario, outputs=d, timings=study.timings, currency=p.currency,
                      headline={"p50": p.per_mtok.get("output_incl_unmet")},
                      metrics={k: v for k, v in metrics.items() if v is not None})


def risk_work(sc: Any, samples: int, seed: int, mode: str) -> Callable[[Job], dict]:
    def work(job: Job) -> dict:
        from suanli.plan import plan_risk

        def progress(done: Any = None, *rest: Any) -> None:
            if isinstance(done, (int, float)):
                job.fraction = min(1.0, float(done) / samples)
                job.progress.append(f"{int(done)}/{samples} samples")
            elif done is not None:
                job.progress.append(str(done))

        job.progress.append(f"solving the plan, then {samples} samples ({mode})")
        res = plan_risk(sc, samples=samples, seed=seed, mode=mode, progress=progress)
        d = res.to_dict()
        d["_res"] = res
        return d

    return work


def save_risk(store: Any, d: dict) -> str | None:
    res = d.pop("_res")
    return store.save("risk", res.name, inputs={"samples": res.samples, "seed": res.seed, "mode": res.mode},
                      outputs=d, timings=res.timings, currency=res.currency, seed=res.seed, samples=res.samples,
                      backend="local", headline={**res.per_mtok, "p_unmet": res.p_unmet},
                      metrics={f"per_mtok_{k}": v for k, v in res.per_mtok.items()}, per_sample=res.per_sample)


def strip_private(d: dict) -> dict:
    return {k: v for k, v in d.items() if not k.startswith("_")}
