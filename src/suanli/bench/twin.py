"""Digital twin: an OpenAI-compatible streaming server that answers at the speed suanli predicts.

The twin runs one model instance of ``chips`` x ``hardware`` with continuous
batching, as vLLM and SGLang do: every step holds the running sequences' next
token (decode) plus chunks of waiting prompts up to ``max_num_tokens``
(chunked prefill). A step lasts what :func:`suanli.perf.inference.step_time`
predicts for that mix on that hardware (weights read once, attention over each
sequence's context, communication and per-step overhead), and at its end each
decoding sequence gets one token and each prompt that finished its prefill its
first token. Client applications and capacity plans can so be tested against
the latency of hardware one does not have.

:class:`Scheduler` holds the batching logic and knows no clock: the server
(:func:`create_app`) runs it in real time, and :func:`simulate` in virtual
time, which is what the twin reports as its expected TTFT and TPOT for a load
(``GET /twin/expected``) and what the load generator is checked against.

Tokens are words: a prompt has as many tokens as whitespace-separated words
(chat messages: the words of their contents), and the twin emits ``max_tokens``
tokens (it ignores end of sequence, as benchmark clients ask real engines to).
"""
import asyncio
import itertools
import json
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suanli.errors import SuanliError

#: Defaults of the twin's engine settings (vLLM's are of the same order).
#: ``admit_window_ms``: when idle, the engine waits this long after the first arrival before its first step,
#: so that requests a client sends together (a burst, a closed loop's next wave) start together.
DEFAULTS = {"max_num_tokens": 8192, "max_batch": 256, "max_queue": 1024, "default_max_tokens": 256,
            "admit_window_ms": 10.0}


# --------------------------------------------------------------------------- the performance model
@dataclass
class TwinModel:
    """Step times of one model instance, from suanli's performance model (cached per step mix)."""

    hardware: str
    model: str
    chips: int
    engine: str | None
    tp: int
    ep: int
    max_batch: int
    max_num_tokens: int
    weight_dtype: str
    admit_window_s: float = DEFAULTS["admit_window_ms"] / 1e3
    warnings: list[str] = field(default_factory=list)
    _ctx: Any = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, catalog: Any, hardware: str, model: str, chips: int = 1, *, engine: str | None = None,
              weight_dtype: str = "bf16", tp: int | None = None, ep: int | None = None,
              max_batch: int | None = None, max_num_tokens: int | None = None, params: dict | None = None,
              ctx_len: int = 4096, admit_window_ms: float | None = None) -> "TwinModel":
        """Resolve hardware, model and formats as ``suanli predict`` does; check that the model fits.

        ``tp`` defaults to every rank of the instance, ``ep`` to every rank for an
        MoE model (1 for a dense one); ``max_batch`` to what fits in memory with
        sequences of ``ctx_len`` tokens (capped at 256).
        """
        from suanli.perf.memory import max_seqs_per_rank
        from suanli.perf.search import Request, prepare

        if chips < 1:
            raise SuanliError(f"--chips must be >= 1 (got {chips})", hint="e.g. --chips 8")
        req = Request(hardware=hardware, model=model, chips=chips, weight_dtype=weight_dtype, engine=engine,
                      scenario="fixed")
        ctx = prepare(catalog, req, params)
        ranks = int(chips * ctx.hw.ranks_per_chip)
        tp = int(tp or ranks)
        ep = int(ep or (ranks if ctx.model.is_moe else 1))
        if tp > ranks or ep > ranks:
            raise SuanliError(f"tp {tp} / ep {ep} exceed the {ranks} ranks of {chips} x {hardware}",
                              hint="leave --tp/--ep unset to use every rank")
        fit = float(max_seqs_per_rank(ctx.model, ctx.dtypes, mem_gb=ctx.hw.mem_gb, ctx=ctx_len, tp=tp, ep=ep,
                                      serving=ctx.hw.serving))
        if fit < 1:
            raise SuanliError(f"{model} does not fit on {chips} x {hardware} in {ctx.dtypes.weight} "
                              f"with a {ctx_len}-token sequence",
                              hint="add chips (--chips) or lower precision (--weight-dtype fp8/int8)")
        mb = int(max_batch or min(DEFAULTS["max_batch"], fit))
        tw = cls(hardware=ctx.hw.hardware, model=ctx.model.id, chips=chips, engine=engine, tp=tp, ep=ep,
                 max_batch=mb, max_num_tokens=int(max_num_tokens or DEFAULTS["max_num_tokens"]),
                 weight_dtype=ctx.dtypes.weight, warnings=list(dict.fromkeys(ctx.warnings)),
                 admit_window_s=(DEFAULTS["admit_window_ms"] if admit_window_ms is None else admit_window_ms) / 1e3)
        if not (0 <= tw.admit_window_s <= 1):
            raise SuanliError(f"--admit-window-ms must be between 0 and 1000 (got {admit_window_ms})")
        tw._ctx = ctx
        return tw

    def step_s(self, decode_seqs: int, ctx: float, prefill_tokens: int, prefill_len: float) -> float:
        """Seconds of one step with ``decode_seqs`` sequences at mean context ``ctx`` and ``prefill_tokens``."""
        # context and prompt length rounded to 1/32 octave: the cache stays small, the error < 2%
        key = (int(decode_seqs), _q(ctx), int(prefill_tokens), _q(prefill_len))
        t = self._cache.get(key)
        if t is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            t = self._cache[key] = self._step_exact(*key)
        return t

    def _step_exact(self, decode_seqs: int, ctx: float, prefill_tokens: int, prefill_len: float) -> float:
        from suanli.perf.inference import step_time

        c = self._ctx
        st = step_time(c.hw, c.model, c.dtypes, decode_seqs=decode_seqs, ctx=ctx, prefill_tokens=prefill_tokens,
                       prefill_len=max(prefill_len, 1.0), tp=self.tp, ep=self.ep)
        return float(st.total)

    def to_dict(self) -> dict:
        return {"hardware": self.hardware, "model": self.model, "chips": self.chips, "engine": self.engine,
                "tp": self.tp, "ep": self.ep, "max_batch": self.max_batch, "max_num_tokens": self.max_num_tokens,
                "weight_dtype": self.weight_dtype, "admit_window_ms": self.admit_window_s * 1e3,
                "warnings": self.warnings}


def _q(x: float) -> float:
    if x <= 32:
        return float(round(x))
    e = math.log2(x)
    return float(round(2 ** (round(e * 32) / 32)))


# --------------------------------------------------------------------------- scheduling (no clock)
@dataclass(eq=False)
class Seq:
    """One request in the engine."""

    rid: str
    prompt_tokens: int
    max_tokens: int
    arrival: float = 0.0
    prefilled: int = 0
    generated: int = 0
    first_token_at: float | None = None
    finished_at: float | None = None
    sink: Any = None          # the server's queue of events for this request

    @property
    def in_prefill(self) -> bool:
        return self.prefilled < self.prompt_tokens

    @property
    def done(self) -> bool:
        return self.generated >= self.max_tokens


@dataclass
class Step:
    """One engine step: its duration and the sequences that get a token at its end."""

    seconds: float
    decode: list[Seq]
    first: list[Seq]
    prefill_tokens: int


class Scheduler:
    """Continuous batching with chunked prefill: decodes first, then prompt chunks up to the token budget."""

    def __init__(self, model: TwinModel) -> None:
        self.model = model
        self.waiting: deque[Seq] = deque()
        self.running: list[Seq] = []

    def add(self, seq: Seq) -> None:
        self.waiting.append(seq)

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.running

    def next_step(self) -> "Step | None":
        """Plan the next step (admitting waiting requests); None when there is nothing to do."""
        m = self.model
        while self.waiting and len(self.running) < m.max_batch:
            self.running.append(self.waiting.popleft())
        if not self.running:
            return None
        decode = [s for s in self.running if not s.in_prefill]
        budget = max(m.max_num_tokens - len(decode), 0)
        chunks: list[tuple[Seq, int]] = []
        for s in self.running:
            if s.in_prefill and budget > 0:
                n = min(s.prompt_tokens - s.prefilled, budget)
                chunks.append((s, n))
                budget -= n
        p = sum(n for _, n in chunks)
        ctx = (sum(s.prompt_tokens + s.generated for s in decode) / len(decode)) if decode else 0.0
        plen = (sum(s.prompt_tokens * n for s, n in chunks) / p) if p else 1.0
        sec = m.step_s(len(decode), ctx, p, plen)
        first = []
        for s, n in chunks:
            s.prefilled += n
            if not s.in_prefill:
                first.append(s)
        return Step(sec, decode, first, p)

    def finish_step(self, step: Step, now: float) -> list[Seq]:
        """Give each sequence of ``step`` its token at time ``now``; return those that finished."""
        for s in step.first:
            s.generated += 1
            s.first_token_at = now
        for s in step.decode:
            s.generated += 1
        done = [s for s in self.running if s.done and not s.in_prefill]
        for s in done:
            s.finished_at = now
        if done:
            self.running = [s for s in self.running if not (s.done and not s.in_prefill)]
        return done


# --------------------------------------------------------------------------- virtual time
@dataclass
class Expected:
    """What the twin's own schedule gives for a closed-loop load: means over the measured requests."""

    concurrency: int
    isl: int
    osl: int
    requests: int
    ttft_ms: float
    tpot_ms: float
    e2e_latency_s: float
    output_tps: float
    step_ms_batch1: float

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


def simulate(model: TwinModel, concurrency: int, isl: int, osl: int, *, requests: int | None = None,
             warmup: int | None = None, rtt_s: float = 0.001) -> Expected:
    """Closed loop of ``concurrency`` clients, each sending its next request ``rtt_s`` after the last ended.

    Requests are admitted at step boundaries, as in the server. The first
    ``warmup`` requests (default: one per client) are left out of the means,
    like a load generator's warm-up.
    """
    if concurrency < 1 or isl < 1 or osl < 1:
        raise SuanliError("concurrency, isl and osl must be >= 1")
    warmup = concurrency if warmup is None else warmup
    total = (requests or 2 * concurrency) + warmup
    sch = Scheduler(model)
    counter = itertools.count()
    pending: list[tuple[float, Seq]] = []
    issued = 0
    for _ in range(min(concurrency, total)):
        pending.append((0.0, Seq(str(next(counter)), isl, osl, arrival=0.0)))
        issued += 1
    now = 0.0
    finished: list[Seq] = []
    while len(finished) < total:
        pending.sort(key=lambda x: x[0])
        while pending and pending[0][0] <= now + 1e-12:
            sch.add(pending.pop(0)[1])
        step = sch.next_step()
        if step is None:  # idle: the first arrival opens the admission window
            now = pending[0][0] + model.admit_window_s
            continue
        now += step.seconds
        for s in sch.finish_step(step, now):
            finished.append(s)
            if issued < total:
                t = now + rtt_s
                pending.append((t, Seq(str(next(counter)), isl, osl, arrival=t)))
                issued += 1
    by_arrival = sorted(finished, key=lambda s: (s.arrival, int(s.rid)))[warmup:]
    ttft = [s.first_token_at - s.arrival for s in by_arrival]
    tpot = [(s.finished_at - s.first_token_at) / (osl - 1) for s in by_arrival] if osl > 1 else [0.0]
    e2e = [s.finished_at - s.arrival for s in by_arrival]
    span = max(s.finished_at for s in by_arrival) - min(s.arrival for s in by_arrival)
    return Expected(concurrency, isl, osl, len(by_arrival), 1e3 * float(np.mean(ttft)), 1e3 * float(np.mean(tpot)),
                    float(np.mean(e2e)), osl * len(by_arrival) / span if span > 0 else 0.0,
                    1e3 * model.step_s(1, isl + osl / 2, 0, 1))


# --------------------------------------------------------------------------- the server
class _Engine:
    """The scheduler driven by the wall clock: sleeps each step's predicted time, then delivers tokens."""

    def __init__(self, model: TwinModel, max_queue: int) -> None:
        self.model = model
        self.sched = Scheduler(model)
        self.max_queue = max_queue
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.steps = 0

    def submit(self, seq: Seq) -> None:
        if len(self.sched.waiting) >= self.max_queue:
            raise OverflowError
        seq.arrival = time.perf_counter()
        seq.sink = asyncio.Queue()
        self.sched.add(seq)
        self.wake.set()

    async def run(self) -> None:
        deadline = time.perf_counter()
        while True:
            step = self.sched.next_step()
            if step is None:
                self.wake.clear()
                await self.wake.wait()
                if self.model.admit_window_s > 0:  # requests sent together start together
                    await asyncio.sleep(self.model.admit_window_s)
                deadline = time.perf_counter()
                continue
            # absolute deadlines: a late wake-up shortens the next sleep, so errors do not add up
            deadline = max(deadline + step.seconds, time.perf_counter() - 0.05)
            delay = deadline - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            done = set(map(id, self.sched.finish_step(step, now)))
            self.steps += 1
            for s in itertools.chain(step.first, step.decode):
                s.sink.put_nowait(("token", id(s) in done))


def _prompt_tokens(body: dict, chat: bool) -> int:
    if chat:
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise ValueError("'messages' must be a non-empty list")
        words = 0
        for m in msgs:
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, list):
                c = " ".join(str(p.get("text", "")) for p in c if isinstance(p, dict))
            if not isinstance(c, str):
                raise ValueError("each message needs a string 'content'")
            words += len(c.split())
        return max(words, 1)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return len(prompt)  # token ids
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ValueError("'prompt' must be a string (or a list of token ids)")
    return max(len(prompt.split()), 1)


def create_app(model: TwinModel, *, served_name: str | None = None, max_queue: int = DEFAULTS["max_queue"]) -> Any:
    """The FastAPI app: ``/v1/models``, ``/v1/completions``, ``/v1/chat/completions``, ``/twin``."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    name = served_name or model.model
    state: dict[str, _Engine] = {}

    @asynccontextmanager
    async def lifespan(app: Any):
        eng = _Engine(model, max_queue)
        eng.task = asyncio.create_task(eng.run())
        state["engine"] = eng
        yield
        eng.task.cancel()

    app = FastAPI(title="suanli twin", description=__doc__.split("\n\n")[0], lifespan=lifespan)

    def _err(status: int, message: str, typ: str = "invalid_request_error") -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": typ, "code": status}}, status_code=status)

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "suanli-twin",
                                            "created": 0, "twin": model.to_dict()}]}

    @app.get("/twin")
    async def twin_info() -> dict:
        eng = state["engine"]
        return {**model.to_dict(), "running": len(eng.sched.running), "waiting": len(eng.sched.waiting),
                "steps": eng.steps}

    @app.get("/twin/expected")
    async def expected(concurrency: int = 1, isl: int = 1024, osl: int = 256, requests: int | None = None) -> Any:
        if concurrency < 1 or isl < 1 or osl < 1 or (requests is not None and requests < 1):
            return _err(400, "concurrency, isl, osl and requests must be >= 1")
        if concurrency > 4096 or isl * concurrency > 10**8:
            return _err(400, "load too large to simulate (concurrency <= 4096)")
        return simulate(model, concurrency, isl, osl, requests=requests).to_dict()

    async def _handle(request: Request, chat: bool) -> Any:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _err(400, "the request body is not valid JSON")
        if not isinstance(body, dict):
            return _err(400, "the request body must be a JSON object")
        if body.get("model") not in (None, name, model.model):
            return _err(404, f"model {body.get('model')!r} is not served here; this twin serves {name!r}",
                        "model_not_found")
        try:
            n_prompt = _prompt_tokens(body, chat)
        except ValueError as exc:
            return _err(400, str(exc))
        mt = body.get("max_completion_tokens", body.get("max_tokens", DEFAULTS["default_max_tokens"]))
        if isinstance(mt, bool) or not isinstance(mt, int) or mt < 1:
            return _err(400, f"max_tokens must be an integer >= 1 (got {mt!r})")
        if body.get("n", 1) != 1:
            return _err(400, "only n = 1 is supported")
        stream = bool(body.get("stream", False))
        seq = Seq(f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:16]}", n_prompt, mt)
        try:
            state["engine"].submit(seq)
        except OverflowError:
            return _err(429, f"the queue is full ({max_queue} waiting requests)", "rate_limit_exceeded")
        obj = "chat.completion" if chat else "text_completion"
        created = int(time.time())

        def usage() -> dict:
            return {"prompt_tokens": n_prompt, "completion_tokens": seq.generated,
                    "total_tokens": n_prompt + seq.generated}

        def chunk(text: str | None, finish: str | None, with_usage: bool = False) -> str:
            if chat:
                delta = {"content": text} if text is not None else {}
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
            else:
                choice = {"index": 0, "text": text or "", "finish_reason": finish}
            d: dict = {"id": seq.rid, "object": obj + (".chunk" if chat else ""), "created": created,
                       "model": name, "choices": [choice]}
            if with_usage:
                d["usage"] = usage()
            return f"data: {json.dumps(d)}\n\n"

        if not stream:
            while True:
                _, last = await seq.sink.get()
                if last:
                    break
            text = " ".join(["tok"] * seq.generated)
            choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                      if chat else {"index": 0, "text": text, "finish_reason": "length"})
            return {"id": seq.rid, "object": obj, "created": created, "model": name, "choices": [choice],
                    "usage": usage()}

        async def events():
            if chat:
                role = {"id": seq.rid, "object": "chat.completion.chunk", "created": created, "model": name,
                        "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
                yield f"data: {json.dumps(role)}\n\n"
            while True:
                _, last = await seq.sink.get()
                yield chunk("tok ", None)
                if last:
                    break
            yield chunk(None if chat else "", "length", with_usage=True)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return await _handle(request, chat=False)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        return await _handle(request, chat=True)

    return app


def serve(model: TwinModel, *, host: str = "127.0.0.1", port: int = 8000, served_name: str | None = None,
          max_queue: int = DEFAULTS["max_queue"], log_level: str = "warning") -> None:
    """Run the twin with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(model, served_name=served_name, max_queue=max_queue), host=host, port=port,
                log_level=log_level)
