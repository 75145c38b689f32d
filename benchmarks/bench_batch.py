"""``runmuscles batch`` on the 28 Hamner 2013 trials: serial against a 2-worker LocalCluster.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_batch.py [--data ../shared/data/hamner2013] [--cycle 1]
        [--workers 2] [--cold] [--json FILE]

The same trial tasks (:func:`runmuscles.batch.task.run_trial_task`) run one after another in
this process (serial), then through :func:`runmuscles.batch.run` on a LocalCluster of
``--workers`` processes with one thread each. Printed: the host's load before each part
(a speed-up is only judged when it was below 1), wall times, the speed-up, per-stage times
summed over trials, the per-task overhead on the cluster (the workers' busy time beyond the
trials' own durations, per trial) and each worker's peak resident memory. ``--cycle 0``
analyses whole trials. ``--cold`` uses an empty model cache folder (each runner's geometry
cache is built: tens of seconds per model, so minutes in all).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "hamner2013")
    ap.add_argument("--cycle", type=int, default=1, help="stride cycle per trial (0: whole trials)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="empty model cache folder")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    from runmuscles.batch import discover, run
    from runmuscles.batch.task import run_trial_task

    rows, _ = discover(args.data, cycle=args.cycle or None)
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    cache = str(tmp / "cache") if args.cold else None
    report: dict = {"trials": len(rows), "cycle": args.cycle, "cold": args.cold, "cpus": os.cpu_count()}

    report["load_before_serial"] = os.getloadavg()[0]
    t0 = time.perf_counter()
    serial = [run_trial_task(r.to_dict(), str(tmp / "serial"), cache) for r in rows]
    report["serial_s"] = time.perf_counter() - t0
    assert all(r["status"] == "ok" for r in serial), [r["error"] for r in serial if r["status"] != "ok"]
    if args.cold:
        cache = str(tmp / "cache-cluster")

    report["load_before_cluster"] = os.getloadavg()[0]
    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    client = Client(cluster)
    report["cluster_start_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = run(rows, client, out=tmp / "cluster", cache_dir=cache)
    report["cluster_run_s"] = time.perf_counter() - t1
    peaks = client.run(_peak_rss_mb)
    client.close()
    cluster.close()
    assert result.ok == len(rows), result.failed

    recs = result.records
    busy = sum(r["duration_s"] for r in recs)
    span = max(r["finished_utc"] for r in recs) - min(r["submitted_utc"] for r in recs)
    stages: dict[str, float] = defaultdict(float)
    for r in recs:
        for k, v in json.loads(r["stage_timings_s"]).items():
            stages[k] += v
    report.update(
        speed_up=report["serial_s"] / report["cluster_run_s"],
        speed_up_with_start=report["serial_s"] / (report["cluster_run_s"] + report["cluster_start_s"]),
        task_mean_s=busy / len(recs),
        overhead_per_task_ms=1000.0 * max(0.0, span * args.workers - busy) / len(recs),
        stage_sums_s=dict(stages),
        worker_peak_rss_mb=sorted(peaks.values()),
    )
    print(f"{len(rows)} trials (cycle {args.cycle or 'all'}), {'cold' if args.cold else 'warm'} caches, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"serial:  {report['serial_s']:.2f} s   (load before {report['load_before_serial']:.2f})")
    print(
        f"cluster: {report['cluster_run_s']:.2f} s + {report['cluster_start_s']:.2f} s start, "
        f"{args.workers} workers (load before {report['load_before_cluster']:.2f})"
    )
    print(
        f"speed-up {report['speed_up']:.2f}x ({report['speed_up_with_start']:.2f}x with the start); "
        f"judged only when the load was below 1"
    )
    mean_ms, over_ms = report["task_mean_s"] * 1000, report["overhead_per_task_ms"]
    print(f"mean trial task {mean_ms:.0f} ms; overhead {over_ms:.0f} ms/task")
    print("stage sums (s): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(stages.items())))
    print("worker peak RSS (MB): " + ", ".join(f"{v:.0f}" for v in report["worker_peak_rss_mb"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
