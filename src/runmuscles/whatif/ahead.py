"""What-ifs computed ahead: exact answers for the conditions a user's sliders can reach next.

One engine run (:meth:`~runmuscles.whatif.WhatIfEngine.evaluate`) takes about half a second
to a second, too slow for a slider that should repaint within 100 ms. :class:`WhatIfService`
therefore keeps one runner's what-if comparisons (:func:`~runmuscles.whatif.compare.whatif_payload`)
and computes, in worker processes and nearest first, the conditions that are one slider move
away from where the user is (:func:`reachable`); a request for a condition that is neither
computed nor on its way goes ahead of all of them.

Every answer is the exact one for the condition asked (the same engine run, in another
process): a condition is found only under its own key (:func:`canonical`), never answered by
a neighbouring or interpolated result. A condition not computed yet costs one engine run.

The slider grids (:data:`SLIDER_STEPS`) are the steps of the app's sliders within the declared
ranges (:data:`runmuscles.validation.LIMITS`).
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import itertools
import math
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

from ..errors import InputError
from ..validation import LIMITS
from .condition import SURFACES, Condition

__all__ = [
    "SLIDER_STEPS",
    "RunnerSpec",
    "WhatIfService",
    "canonical",
    "drag_first",
    "moves",
    "reachable",
    "slider_values",
]

#: The step of each numeric slider (the unit of the condition's field). Choices (``strike``,
#: ``surface``) have no step: every choice is one move away.
SLIDER_STEPS: dict[str, float] = {
    "grade_pct": 1.0,
    "cadence_pct": 1.0,
    "lean_deg": 1.0,
    "overstride_m": 0.01,
    "wind_m_s": 1.0,
    "belt_fluctuation_pct": 1.0,
    "speed_m_s": 0.1,
}
#: The choices of the two choice sliders (``None``: as recorded).
SLIDER_CHOICES: dict[str, tuple[str | None, ...]] = {
    "strike": (None, "rearfoot", "forefoot"),
    "surface": (None, *SURFACES),
}
#: Where a choice (another foot strike or surface) ranks among the slider moves: as near as
#: a twentieth of a slider's range (one click away).
CHOICE_DISTANCE = 0.05
#: Decimals a condition's numbers are rounded to before they are used as a key (and
#: computed): float noise from a query string (0.30000000000000004) is not a new condition.
KEY_DECIMALS = 6
#: Environment variables that keep a worker's linear algebra on one thread. Several processes
#: (and a server's threads) each running a multi-threaded BLAS on the same cores oversubscribe
#: them: measured here on a loaded 2-core machine, a natural quintic spline derivative of a
#: trial took 650-970 ms with OpenBLAS on 2 threads and 7-15 ms on one.
SINGLE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def canonical(cond: Condition) -> Condition:
    """``cond`` with its numbers rounded to :data:`KEY_DECIMALS` (the key it is stored under,
    and the condition that is computed)."""
    changes = {}
    for f in fields(cond):
        v = getattr(cond, f.name)
        if isinstance(v, float) and not isinstance(v, bool):
            r = round(v, KEY_DECIMALS) + 0.0  # -0.0 -> 0.0
            if r != v or math.copysign(1.0, v) < 0 and r == 0:
                changes[f.name] = r
    return replace(cond, **changes) if changes else cond


def slider_values(key: str, speeds_m_s: list[float] | None = None) -> list[float | str | None]:
    """Every value a slider can take: its declared range in :data:`SLIDER_STEPS` steps (speed:
    between the runner's slowest and fastest trial), or its choices."""
    if key in SLIDER_CHOICES:
        return list(SLIDER_CHOICES[key])
    step = SLIDER_STEPS[key]
    if key == "speed_m_s":
        if not speeds_m_s or len(speeds_m_s) < 2:
            return []
        low, high = min(speeds_m_s), max(speeds_m_s)
    else:
        lim = LIMITS[key]
        low, high = float(lim.low), float(lim.high)
    n = int(math.floor((high - low) / step + 1e-9))
    return [round(low + k * step, KEY_DECIMALS) for k in range(n + 1)]


def _position(cond: Condition, key: str, baseline_speed_m_s: float | None) -> Any:
    v = getattr(cond, key)
    if key == "cadence_pct" and v is None:
        return 100.0
    if key == "speed_m_s" and v is None:
        return baseline_speed_m_s
    return v


def _set(cond: Condition, key: str, value: Any, baseline_speed_m_s: float | None) -> Condition:
    if key == "cadence_pct" and value == 100.0:
        value = None  # as recorded (a slope's adaptation may change it; 100 % would fix it)
    if key == "speed_m_s" and baseline_speed_m_s is not None and abs(value - baseline_speed_m_s) < 1e-9:
        value = None
    return canonical(replace(cond, **{key: value}))


def reachable(
    cond: Condition,
    *,
    reach: int | None = None,
    speeds_m_s: list[float] | None = None,
    baseline_speed_m_s: float | None = None,
) -> list[Condition]:
    """The conditions one slider move away from ``cond``, nearest first (see :func:`moves`)."""
    found = moves(cond, reach=reach, speeds_m_s=speeds_m_s, baseline_speed_m_s=baseline_speed_m_s)
    return [c for _, c in found]


def moves(
    cond: Condition,
    *,
    reach: int | None = None,
    speeds_m_s: list[float] | None = None,
    baseline_speed_m_s: float | None = None,
) -> list[tuple[float, Condition]]:
    """The conditions one slider move away from ``cond`` with their distance, nearest first.

    For each slider, its other values ordered by their distance from ``cond``'s value as a
    fraction of the slider's range (a choice: :data:`CHOICE_DISTANCE`); the sliders are
    interleaved by that distance, so that each is covered as far as the others at any time.
    ``reach``: at most this many steps each way (``None``: the whole range). Conditions the
    engine refuses (a belt on overground) are left to the engine: it answers them with its own
    message, which is remembered like an answer.
    """
    ranked: list[tuple[float, int, Condition]] = []
    for order, key in enumerate((*SLIDER_STEPS, *SLIDER_CHOICES)):
        here = _position(cond, key, baseline_speed_m_s)
        if key in SLIDER_CHOICES:
            for v in SLIDER_CHOICES[key]:
                if v != here:
                    ranked.append((CHOICE_DISTANCE, order, _set(cond, key, v, baseline_speed_m_s)))
            continue
        values = slider_values(key, speeds_m_s)
        if here is None or not values:
            continue
        step, span = SLIDER_STEPS[key], values[-1] - values[0]
        for v in values:
            d = abs(v - here) / step
            if d < 0.5 or (reach is not None and d > reach + 1e-9):
                continue
            ranked.append((abs(v - here) / span, order, _set(cond, key, v, baseline_speed_m_s)))
    ranked.sort(key=lambda x: (x[0], x[1]))
    out, seen = [], {canonical(cond)}
    for d, _, c in ranked:
        if c not in seen:
            seen.add(c)
            out.append((d, c))
    return out


@lru_cache(maxsize=1024)
def _moves_kept(
    cond: Condition, reach: int | None, speeds_m_s: tuple[float, ...], baseline_speed_m_s: float | None
) -> tuple[tuple[float, Condition], ...]:
    """:func:`moves`, remembered (a slider going back and forth asks for the same ones)."""
    return tuple(moves(cond, reach=reach, speeds_m_s=list(speeds_m_s), baseline_speed_m_s=baseline_speed_m_s))


def _moved_slider(cond: Condition, other: Condition) -> str | None:
    """The field in which ``other`` (one slider move away) differs from ``cond``."""
    for f in fields(cond):
        if getattr(cond, f.name) != getattr(other, f.name):
            return f.name
    return None


def drag_first(
    around: Condition, found: Sequence[tuple[float, Condition]]
) -> list[tuple[int, float, Condition]]:
    """The moves of :func:`moves` around ``around`` as ``(rank, distance, condition)``, in the
    order they are computed ahead: rank 0 for the steps of a slider ``around`` has moved from
    the recorded condition (the one being dragged is among them), 1 for every other; nearest
    first within each rank."""
    moved = set(canonical(around).changes())
    ranked = [(0 if moved and _moved_slider(around, c) in moved else 1, d, c) for d, c in found]
    return sorted(ranked, key=lambda x: (x[0], x[1]))


@dataclass(frozen=True)
class RunnerSpec:
    """Which runner a service answers for (the arguments of :func:`runmuscles.whatif.load_runner`).

    Attributes
    ----------
    folder
        A trial folder (``None``: the bundled runner).
    trials
        Trial names (``None``: all).
    strength
        Muscle strength model.
    at
        The baseline trial's speed (``None``: :func:`runmuscles.whatif.compare.reference_speed`).
    energetics
        Whether each answer carries the metabolic estimate (slower).
    """

    folder: str | None = None
    trials: tuple[str, ...] | None = None
    strength: str = "volume"
    at: float | None = None
    energetics: bool = False

    def load(self):
        from .speed import load_runner  # noqa: PLC0415

        return load_runner(self.folder, trials=self.trial_names(), strength=self.strength)

    def trial_names(self) -> list[str] | None:
        return list(self.trials) if self.trials else None


# -- the worker side (one runner per process, loaded once) ------------------------------------

_WORKER_RUNNERS: dict[RunnerSpec, Any] = {}


def _load(spec: RunnerSpec, snapshot: str | None = None):
    """The runner, its engines' results remembered (:class:`_Remembered`).

    ``snapshot``: a file a worker of the same service wrote: the runner as loaded, pickled
    (about 0.1 s to read against about 12 s of CPU to analyse its trials again, most of it
    residual reduction; the same objects, so the same answers). A worker that finds it loads
    it and removes it; one that does not, loads the runner and writes it for the next worker.
    """
    sm = _read_snapshot(snapshot) if snapshot else None
    if sm is None:
        sm = spec.load()
        if snapshot:
            _write_snapshot(sm, snapshot)
    for engine in sm.engines:
        engine.evaluate = _Remembered(engine.evaluate)
    return sm


def _read_snapshot(path: str):
    import pickle  # noqa: PLC0415

    try:
        with open(path, "rb") as f:
            sm = pickle.load(f)  # written by this service's own worker (a private folder)
        os.unlink(path)
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    return sm


def _write_snapshot(sm, path: str) -> None:
    import pickle  # noqa: PLC0415

    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            pickle.dump(sm, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # a reader never sees half a file
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _worker_runner(spec: RunnerSpec, snapshot: str | None = None):
    sm = _WORKER_RUNNERS.get(spec)
    if sm is None:
        sm = _WORKER_RUNNERS[spec] = _load(spec, snapshot)
    return sm


#: How often a worker checks that the process that started it is still there (s).
ORPHAN_CHECK_S = 2.0


def exit_when_orphaned(parent_pid: int, remove: str | None = None) -> threading.Thread:
    """End this process once ``parent_pid`` is no longer its parent (the parent was killed or
    ended without stopping it): checked every :data:`ORPHAN_CHECK_S` in a daemon thread.
    ``remove``: a folder of the parent's removed first (the runner's snapshot)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(ORPHAN_CHECK_S)
        if remove:
            shutil.rmtree(remove, ignore_errors=True)
        os._exit(1)

    th = threading.Thread(target=watch, name="whatif-orphan-check", daemon=True)
    th.start()
    return th


def _worker_start(spec: RunnerSpec, parent_pid: int, snapshot: str | None = None) -> None:
    """A worker's initializer: end this worker once the service's process is gone (a pool's
    workers would otherwise wait for work for ever, each holding a loaded runner: seen here
    after a server was stopped), then load the runner (from ``snapshot`` when a worker before
    it wrote one, see :func:`_load`)."""
    exit_when_orphaned(parent_pid, os.path.dirname(snapshot) if snapshot else None)
    _worker_runner(spec, snapshot)


class _Remembered:
    """An engine's :meth:`~runmuscles.whatif.WhatIfEngine.evaluate` that keeps its last results
    (without their analyses): the speed slider's steps between two trials are each
    interpolated from the same two engine runs (:class:`~runmuscles.whatif.SpeedModel`), which
    are so computed once. A copy is returned each time (the speed model sets its condition)."""

    SIZE = 16

    def __init__(self, evaluate) -> None:
        self._evaluate = evaluate
        self._kept: OrderedDict[tuple[Condition, bool], Any] = OrderedDict()

    def __call__(self, condition: Condition, *, energetics: bool = False):
        key = (condition, energetics)
        found = self._kept.get(key)
        if found is None:
            found = replace(self._evaluate(condition, energetics=energetics), analysis=None)
            self._kept[key] = found
            while len(self._kept) > self.SIZE:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        return copy.copy(found)


def _compute(spec: RunnerSpec, sm, cond: Condition) -> tuple[str, Any, float]:
    """``("ok", payload, seconds)`` or ``("error", (where, problem), seconds)``: an
    :class:`InputError` travels back as its parts (it is rebuilt in the caller)."""
    from .compare import whatif_payload  # noqa: PLC0415

    t0 = time.perf_counter()
    try:
        payload = whatif_payload(sm, cond, at=spec.at, energetics=spec.energetics)
    except InputError as exc:
        return "error", (exc.where, exc.problem), time.perf_counter() - t0
    return "ok", payload, time.perf_counter() - t0


def _worker_compute(spec: RunnerSpec, cond: Condition) -> tuple[str, Any, float]:
    return _compute(spec, _worker_runner(spec), cond)


# -- the service ----------------------------------------------------------------------------------


class WhatIfService:
    """One runner's what-if comparisons: remembered, computed ahead, exact.

    Parameters
    ----------
    spec
        The runner (default: the bundled one).
    workers
        Worker processes that compute (each loads the runner once, with single-threaded
        linear algebra: :data:`SINGLE_THREAD_ENV`); 0: compute in one background thread of
        this process.
    capacity
        Answers remembered (least recently used dropped first).
    ahead_reach
        How many slider steps each way :meth:`ahead` queues around a condition other than the
        baseline (around the baseline: every slider's whole range).
    """

    #: Conditions queued around the last this many conditions asked for stay queued.
    KEEP_AROUND = 2

    def __init__(
        self,
        spec: RunnerSpec | None = None,
        *,
        workers: int = 2,
        capacity: int = 4096,
        ahead_reach: int = 4,
    ) -> None:
        self.spec = spec or RunnerSpec()
        self.workers = max(0, int(workers))
        self.capacity = capacity
        self.ahead_reach = ahead_reach
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._done: OrderedDict[Condition, tuple[str, Any, float]] = OrderedDict()
        self._pending: dict[Condition, Future] = {}  # queued or computing
        self._running: set[Condition] = set()
        self._asked: set[Condition] = set()
        self._queue: list[tuple[tuple, Condition]] = []
        self._seq = itertools.count()
        self._generation = 0
        # per condition queued ahead: the generation it was last queued in (0: the baseline's)
        self._kept_until: dict[Condition, int] = {}
        self._closed = False
        self._pool: ProcessPoolExecutor | None = None
        self._dispatcher: threading.Thread | None = None
        self._local_runner = None
        self._around_baseline = False
        self._speeds: tuple[list[float], float] | None = None
        self._snapshot_dir: str | None = None
        self._snapshot_cleanup: weakref.finalize | None = None
        self.stats = {"hits": 0, "waited": 0, "computed": 0, "computed_ahead": 0, "compute_s": 0.0}

    # -- public -------------------------------------------------------------------------------
    def cached(self, cond: Condition) -> dict[str, Any] | None:
        """The answer for ``cond`` if it has been computed (``None`` otherwise); raises the
        engine's :class:`InputError` for a condition it refused."""
        key = canonical(cond)
        with self._lock:
            found = self._done.get(key)
            if found is not None:
                self._done.move_to_end(key)
        return None if found is None else _unpack(found)

    def payload(self, cond: Condition, *, timeout_s: float | None = None) -> dict[str, Any]:
        """The comparison of ``cond`` against the baseline
        (:func:`~runmuscles.whatif.compare.whatif_payload`): remembered, or computed before
        anything queued ahead."""
        cond.validate()
        key = canonical(cond)
        with self._lock:
            found = self._done.get(key)
            if found is not None:
                self._done.move_to_end(key)
                self.stats["hits"] += 1
            else:
                fut = self._pending.get(key)
                if fut is None:
                    fut = self._pending[key] = Future()
                if key not in self._running:
                    self._push((0, next(self._seq)), key)
                self._asked.add(key)
                self.stats["waited"] += 1
        if found is not None:
            return _unpack(found)
        return _unpack(fut.result(timeout=timeout_s))

    def ahead(self, around: Condition | None = None) -> int:
        """Queue the conditions one slider move away from ``around``, after any asked for, in the
        order of their distance from where they were queued around (:func:`moves`; the later
        first at equal distances), so that the steps next to the user's condition come before
        the baseline's far ones, and the baseline's near ones before far combinations.

        Around the baseline (the default, once): every slider's whole range, kept queued until
        computed. Around another condition: :attr:`ahead_reach` steps each way, dropped again
        (unless computing) once the user has moved on, i.e. once :attr:`KEEP_AROUND` later
        conditions were queued around. There the steps of the sliders that condition has moved
        (the slider being dragged is one of them) come first, nearest first, before any other
        slider's: a drag's next values are its own slider's neighbours. Returns how many
        conditions were newly queued."""
        baseline = around is None or not canonical(around).changes()
        if baseline:
            if self._around_baseline:
                return 0
            self._around_baseline = True
            around = Condition()
        speeds, base = self.speeds()
        around = canonical(around)
        todo = _moves_kept(around, None if baseline else self.ahead_reach, tuple(speeds), base)
        ranked = [(1, d, c) for d, c in todo] if baseline else drag_first(around, todo)
        n = 0
        with self._lock:
            self._generation += 1
            gen = self._generation
            for first, distance, c in ranked:
                if c in self._done or c in self._running:
                    continue
                if c not in self._pending:
                    self._pending[c] = Future()
                    n += 1
                if baseline:
                    self._kept_until[c] = 0  # the baseline's: kept
                elif self._kept_until.get(c) != 0:
                    self._kept_until[c] = gen
                self._push((1, first, distance, -gen, next(self._seq)), c)
            if not baseline:
                self._drop_before(gen - self.KEEP_AROUND + 1)
        return n

    def _drop_before(self, gen: int) -> None:
        """Unqueue the conditions queued around conditions older than ``gen`` (the lock held)."""
        for c, g in list(self._kept_until.items()):
            if g == 0 or g >= gen or c in self._running or c in self._asked:
                continue
            del self._kept_until[c]
            fut = self._pending.pop(c, None)
            if fut is not None:
                fut.cancel()

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until nothing is queued or computing; ``False`` on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            while self._pending and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._wake.wait(timeout=left)
        return True

    def counts(self) -> dict[str, Any]:
        """Remembered, queued and computing conditions, and the counters of ``stats``."""
        with self._lock:
            return {
                "remembered": len(self._done),
                "queued": len(self._pending) - len(self._running),
                "computing": len(self._running),
                **self.stats,
            }

    def speeds(self) -> tuple[list[float], float]:
        """The runner's trial speeds and the baseline's (from its trials, not analysed here)."""
        if self._speeds is None:
            from .compare import baseline_speed  # noqa: PLC0415
            from .speed import runner_trials  # noqa: PLC0415

            trials = runner_trials(self.spec.folder, trials=self.spec.trial_names())
            speeds = sorted(float(t.speed_m_s) for t in trials if t.speed_m_s)
            self._speeds = (speeds, baseline_speed(speeds, self.spec.at) if speeds else None)
        return self._speeds

    def _snapshot_path(self) -> str:
        """Where the first worker leaves the loaded runner for the next (a private folder,
        removed by :meth:`close`, at the latest when this process exits): the pool starts a
        second worker only once the first is busy, i.e. after the first answer, and that one
        then loads in a fraction of a second."""
        if self._snapshot_dir is None:
            self._snapshot_dir = tempfile.mkdtemp(prefix="runmuscles-whatif-")
            # removed at close, or when this service is dropped or its process exits unclosed
            self._snapshot_cleanup = weakref.finalize(self, shutil.rmtree, self._snapshot_dir, True)
        return os.path.join(self._snapshot_dir, "runner.pickle")

    def close(self) -> None:
        """Stop computing ahead and end the worker processes."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            pending = list(self._pending.values())
            self._pending.clear()
            self._wake.notify_all()
        for fut in pending:
            fut.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._snapshot_cleanup is not None:
            self._snapshot_cleanup()

    # -- inside -------------------------------------------------------------------------------
    def _push(self, priority: tuple, cond: Condition) -> None:
        """Queue ``cond`` (the lock held); the dispatcher starts with the first."""
        if self._closed:
            raise InputError("what-if", "the what-if service has been closed")
        heapq.heappush(self._queue, (priority, cond))
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch, name="whatif-ahead", daemon=True)
            self._dispatcher.start()
        self._wake.notify_all()

    def _next(self) -> Condition | None:
        """The most urgent queued condition not computing yet (the lock held), or ``None``."""
        while self._queue:
            _, c = heapq.heappop(self._queue)
            if c in self._pending and c not in self._running:
                return c
        return None

    def _finish(self, cond: Condition, result: tuple[str, Any, float]) -> None:
        with self._lock:
            self._running.discard(cond)
            self._done[cond] = result
            self._done.move_to_end(cond)
            while len(self._done) > self.capacity:
                self._done.popitem(last=False)
            fut = self._pending.pop(cond, None)
            self._kept_until.pop(cond, None)
            self.stats["computed"] += 1
            self.stats["compute_s"] += result[2]
            if cond not in self._asked:
                self.stats["computed_ahead"] += 1
            self._asked.discard(cond)
            self._wake.notify_all()
        if fut is not None and not fut.done():
            fut.set_result(result)

    def _fail(self, cond: Condition, exc: BaseException) -> None:
        with self._lock:
            self._running.discard(cond)
            self._asked.discard(cond)
            self._kept_until.pop(cond, None)
            fut = self._pending.pop(cond, None)
            self._wake.notify_all()
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    def _take(self, limit: int) -> Condition | None:
        """Wait for a queued condition while fewer than ``limit`` compute; ``None``: closed."""
        with self._lock:
            while True:
                while not self._closed and (len(self._running) >= limit or not self._queue):
                    self._wake.wait()
                if self._closed:
                    return None
                cond = self._next()
                if cond is not None:
                    self._running.add(cond)
                    return cond

    def _dispatch(self) -> None:
        """Keep each worker busy with the most urgent condition (one at a time each, so that a
        condition asked for waits for at most one computation ahead)."""
        if self.workers == 0:
            while (cond := self._take(1)) is not None:
                try:
                    if self._local_runner is None:
                        self._local_runner = _load(self.spec)
                    self._finish(cond, _compute(self.spec, self._local_runner, cond))
                except Exception as exc:  # a bug: whoever waits for it gets it
                    self._fail(cond, exc)
            return
        import multiprocessing  # noqa: PLC0415

        while (cond := self._take(self.workers)) is not None:
            try:
                if self._pool is None:
                    # the workers inherit the environment: one BLAS thread each
                    for k, v in SINGLE_THREAD_ENV.items():
                        os.environ.setdefault(k, v)
                    self._pool = ProcessPoolExecutor(
                        self.workers,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_worker_start,
                        initargs=(self.spec, os.getpid(), self._snapshot_path()),
                    )
                job = self._pool.submit(_worker_compute, self.spec, cond)
            except (BrokenProcessPool, RuntimeError) as exc:
                self._pool = None
                self._fail(cond, exc)
                continue
            job.add_done_callback(lambda j, c=cond: self._collect(j, c))

    def _collect(self, job: Future, cond: Condition) -> None:
        if job.cancelled():
            self._fail(cond, InputError("what-if", "the computation was cancelled"))
            return
        exc = job.exception()
        if exc is None:
            self._finish(cond, job.result())
            return
        if isinstance(exc, BrokenProcessPool):
            self._pool = None  # a worker died: the next condition starts new ones
        self._fail(cond, exc)


def _unpack(found: tuple[str, Any, float]) -> dict[str, Any]:
    status, value, _ = found
    if status == "error":
        raise InputError(*value)
    return value
