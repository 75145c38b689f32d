"""``runmuscles batch``: serial against a 2-worker LocalCluster, cold and warm, on the shared data.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_batch.py            # all 28 Hamner and 12 Fukuchi C3D trials
    .venv/bin/python benchmarks/bench_batch.py --quick    # 4 Hamner + 2 Fukuchi trials, a few minutes
    .venv/bin/python benchmarks/bench_batch.py --cheap    # 28 cheap tasks: the per-task overhead
        [--sets hamner,fukuchi] [--modes cold,warm] [--cycle 1] [--workers 2] [--json FILE]

For each set of trials (``hamner``: ``../shared/data/hamner2013``, trial folders; ``fukuchi``:
``../shared/data/fukuchi2017``, whole 30 s C3D trials with the runners' models) and each mode
(``cold``: an empty model cache folder, so every model's geometry cache is built; ``warm``: the
caches the cold run built, or the user's cache without a cold run), the same trial tasks
(:func:`runmuscles.batch.task.run_trial_task`) run

* **serial**: one after another in a fresh Python process (its imports included; with a batch
  worker's process settings, :func:`runmuscles.batch.task.worker_process_settings`: one BLAS
  thread, residual reduction and the dynamic solution in this one process, no huge-page
  advice), and
* **cluster**: through :func:`runmuscles.batch.run` on the LocalCluster that ``runmuscles batch``
  starts (:func:`runmuscles.batch.local_cluster`: ``--workers`` processes with one thread each,
  no dashboard here; a fresh cluster per mode; its start is timed apart).

Printed per part: the host's load average before it (a speed-up is judged only below 1), wall
and CPU seconds (the workers' and the scheduler's CPU for the cluster), the speed-up, per-stage
times summed over trials, the batch's own stages (plan, cluster set-up, execution, writing),
the per-task overhead (:func:`runmuscles.batch.accounting.task_overhead`: the workers' time
between tasks plus the client's bookkeeping, per task; target < 50 ms) and each worker's peak
resident memory (``ru_maxrss`` read in the worker after every task and at the end; target
<= 1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DATA = REPO / ".." / "shared" / "data"
SETS = {"hamner": DATA / "hamner2013", "fukuchi": DATA / "fukuchi2017"}
#: ``--quick``: trials per set (two runners each, so that models are prepared in parallel).
QUICK = {"hamner": 4, "fukuchi": 2}


def _rows(name: str, cycle: int | None, quick: bool, cheap: bool = False):
    from runmuscles.batch import discover

    rr = False if cheap else None
    rows, _ = discover(SETS[name], cycle=cycle if name == "hamner" else None, residual_reduction=rr)
    if quick:  # the first trials of the first two runners
        subjects = sorted({r.subject for r in rows})[:2]
        per = QUICK[name] // 2
        rows = [r for s in subjects for r in [r for r in rows if r.subject == s][:per]]
    return rows


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _serial_part(args) -> None:
    """Run in a fresh process: the trial tasks one after another; print one JSON line."""
    from runmuscles.batch.task import peak_rss_mb, run_trial_task, worker_process_settings

    # one worker's work: the process settings a batch worker has (one BLAS thread, residual
    # reduction's segments and the dynamic solution's blocks in this process, no huge-page
    # advice, malloc's thresholds), so that the speed-up compares like with like
    worker_process_settings()
    rows = _rows(args.set, args.cycle or None, args.quick, args.cheap)
    c0, t0 = _cpu_s(), time.perf_counter()
    recs = [run_trial_task(r.to_dict(), args.serial_out, args.cache or None) for r in rows]
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    failed = [r["error"] for r in recs if r["status"] != "ok"]
    stages: dict[str, float] = defaultdict(float)
    for r in recs:
        for k, v in (r.get("stage_timings_s") or {}).items():
            stages[k] += v
    out = {"wall_s": wall, "cpu_s": cpu, "failed": failed, "stages": stages, "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(out))


def _serial(name: str, args, cache: str | None, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--serial-part", "--set", name, "--cycle", str(args.cycle),
           "--serial-out", str(out), "--cache", cache or ""]  # fmt: skip
    cmd += (["--quick"] if args.quick else []) + (["--cheap"] if args.cheap else [])
    # one BLAS thread, as in a Dask worker (its nanny sets these): the serial run is one worker
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if p.returncode != 0:
        raise SystemExit(f"serial part failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _cluster(rows, args, cache: str | None, out: Path) -> dict:
    from distributed import Client

    from runmuscles.batch import local_cluster, run
    from runmuscles.batch.accounting import task_overhead
    from runmuscles.batch.task import peak_rss_mb

    t0 = time.perf_counter()
    cluster = local_cluster(args.workers, dashboard=False)  # the cluster `runmuscles batch` starts
    client = Client(cluster)
    start_s = time.perf_counter() - t0
    try:
        cpu0 = sum(client.run(_cpu_s).values())
        sched0 = client.run_on_scheduler(_cpu_s)
        own_scheduler = client.run_on_scheduler(os.getpid) == os.getpid()  # a LocalCluster's
        c0, t1 = _cpu_s(), time.perf_counter()
        result = run(rows, client, out=out, cache_dir=cache)
        wall, client_cpu = time.perf_counter() - t1, _cpu_s() - c0
        worker_cpu = sum(client.run(_cpu_s).values()) - cpu0
        sched_cpu = client.run_on_scheduler(_cpu_s) - sched0
        peaks_end = client.run(peak_rss_mb)
    finally:
        client.close()
        cluster.close()
    failed = [r["error"] for r in result.failed]
    stages: dict[str, float] = defaultdict(float)
    peaks: dict[str, float] = defaultdict(float)
    for r in result.records:
        for k, v in json.loads(r["stage_timings_s"] or "{}").items():
            stages[k] += v
        if r.get("peak_rss_mb") is not None:
            peaks[r["worker"]] = max(peaks[r["worker"]], float(r["peak_rss_mb"]))
    stages["model preparation"] = sum(m.get("seconds") or 0.0 for m in result.models)
    return {
        "wall_s": wall,
        "start_s": start_s,
        "cpu_s": {"workers": worker_cpu, "scheduler": sched_cpu, "client": client_cpu},
        "scheduler_in_client": own_scheduler,
        "failed": failed,
        "stages": stages,
        "batch_s": result.timings_s,
        "overhead": task_overhead(
            result.records, result.models, result.timings_s, args.workers, cpu_s=result.cpu_s
        ),
        # ru_maxrss is a high-water mark: read at the end it covers every task of a worker that
        # lived through the batch; the per-task readings also cover workers lost on the way
        "worker_peak_rss_mb": sorted(peaks_end.values()),
        "task_peak_rss_mb": dict(peaks),
    }


def _print(name: str, mode: str, n: int, s: dict, c: dict, workers: int) -> None:
    print(f"\n== {name}: {n} trials, {mode} caches ==")
    print(f"serial : {s['wall_s']:7.2f} s wall, {s['cpu_s']:7.2f} s CPU (load before {s['load']:.2f}); "
          f"peak RSS {s['peak_rss_mb']:.0f} MB")  # fmt: skip
    cpu = c["cpu_s"]
    rest = (f"client and scheduler (one process) {cpu['client']:.2f} s" if c["scheduler_in_client"]
            else f"scheduler {cpu['scheduler']:.2f} s, client {cpu['client']:.2f} s")  # fmt: skip
    print(f"cluster: {c['wall_s']:7.2f} s wall + {c['start_s']:.2f} s start, {workers} workers (load before "
          f"{c['load']:.2f}); CPU: workers {cpu['workers']:.2f} s, {rest}")  # fmt: skip
    judged = "judged" if max(s["load"], c["load"]) < 1 else "NOT judged: load >= 1"
    print(f"speed-up {s['wall_s'] / c['wall_s']:.2f}x ({judged}; target >= 1.8x)")
    for part, d in (("serial ", s), ("cluster", c)):
        print(f"stages {part} (s, summed over trials): "
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(d["stages"].items())))  # fmt: skip
    print("batch stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in c["batch_s"].items()))
    o = c["overhead"]
    print(f"overhead per task: {o['overhead_per_task_ms']:.1f} ms (between tasks "
          f"{o['between_tasks_per_task_ms']:.1f} ms + bookkeeping {o['bookkeeping_per_task_ms']:.1f} ms, "
          f"of which {o['bookkeeping_cpu_per_task_ms']:.1f} ms CPU; "
          f"target < 50 ms); tail idle {o['tail_s']:.2f} s; workers x span - work: "
          f"{o['span_definition_per_task_ms']:.0f} ms/task")  # fmt: skip
    print("worker peak RSS (MB): " + ", ".join(f"{v:.0f}" for v in c["worker_peak_rss_mb"])
          + " (target <= 1024)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 Hamner and 2 Fukuchi trials")
    ap.add_argument(
        "--cheap",
        action="store_true",
        help="cheap tasks to show the overhead: the 28 Hamner trials, one stride, no residual "
        "reduction, warm caches",
    )
    ap.add_argument("--sets", default="hamner,fukuchi")
    ap.add_argument("--modes", default="cold,warm")
    ap.add_argument("--cycle", type=int, default=1, help="Hamner stride cycle per trial (0: whole trials)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--settle-s",
        type=float,
        default=120.0,
        help="before each timed part, wait up to this long for the 1-minute load average to fall "
        "below 0.9 (the part before raised it; the speed-up is judged only below 1)",
    )
    ap.add_argument("--serial-part", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--set", default="hamner", help=argparse.SUPPRESS)
    ap.add_argument("--serial-out", default="", help=argparse.SUPPRESS)
    ap.add_argument("--cache", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serial_part:
        _serial_part(args)
        return
    if args.cheap:
        args.sets, args.modes, args.cycle = "hamner", "warm", args.cycle or 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    report: dict = {"cpus": os.cpu_count(), "quick": args.quick, "cheap": args.cheap, "workers": args.workers}
    report["runs"] = []
    cycle = args.cycle or "all"
    print(f"{os.cpu_count()} CPUs, {args.workers} workers, Hamner cycle {cycle}; Fukuchi whole trials")
    for name in args.sets.split(","):
        rows = _rows(name, args.cycle or None, args.quick, args.cheap)
        modes = args.modes.split(",")
        caches = {"serial": None, "cluster": None}
        for mode in modes:
            if mode == "cold":
                caches = {k: str(tmp / f"{name}-cache-{k}") for k in caches}
            s_load = _settle(args.settle_s)
            s = _serial(name, args, caches["serial"], tmp / f"{name}-{mode}-serial")
            s["load"] = s_load
            c_load = _settle(args.settle_s)
            c = _cluster(rows, args, caches["cluster"], tmp / f"{name}-{mode}-cluster")
            c["load"] = c_load
            if s["failed"] or c["failed"]:
                raise SystemExit(f"failed trials: {s['failed'] + c['failed']}")
            _print(name, mode, len(rows), s, c, args.workers)
            report["runs"].append({"set": name, "mode": mode, "trials": len(rows), "serial": s, "cluster": c})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")


def _settle(limit_s: float) -> float:
    """Wait (at most ``limit_s``) for the 1-minute load average to fall below 0.9; return it."""
    end = time.monotonic() + limit_s
    while os.getloadavg()[0] >= 0.9 and time.monotonic() < end:
        time.sleep(2.0)
    return os.getloadavg()[0]


if __name__ == "__main__":
    main()
