"""CPU time of one what-if condition as the web app's service computes it (a condition not yet
computed: the cost of a slider step right after the first analysis).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_whatif_cpu.py [--grades 12] [--src OTHER/src] [--json FILE]

Case: the bundled runner, loaded once as a service worker loads it
(:func:`runmuscles.whatif.ahead._load`, one BLAS thread: :data:`~runmuscles.whatif.ahead.SINGLE_THREAD_ENV`),
the baseline answered once (untimed); then the grade slider's steps 1, -1, 2, -2, ... %
(``--grades`` of them), each one :func:`~runmuscles.whatif.compare.whatif_payload`, timed in
CPU seconds of this process (``time.process_time``: what a shared machine's load does not
inflate) and in wall seconds, with the host's load average. ``--src``: time another checkout's
sources (e.g. the commit before a change) in the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grades", type=int, default=12, help="grade steps timed (1, -1, 2, -2, ... %%)")
    ap.add_argument("--src", type=Path, default=REPO / "src", help="the sources to time")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, "1")  # before numpy is imported, as in a service worker
    sys.path.insert(0, str(args.src.resolve()))
    from runmuscles.whatif.ahead import RunnerSpec, _compute, _load  # noqa: PLC0415
    from runmuscles.whatif.condition import Condition  # noqa: PLC0415

    load = os.getloadavg()
    print(f"host: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"sources: {args.src}")
    spec = RunnerSpec()
    c0, t0 = time.process_time(), time.perf_counter()
    sm = _load(spec)
    print(f"runner loaded: {time.process_time() - c0:.1f} s CPU, {time.perf_counter() - t0:.1f} s wall")
    _compute(spec, sm, Condition())
    grades = [(1 + k // 2) * (1 if k % 2 == 0 else -1) for k in range(args.grades)]
    cpu, wall = [], []
    for g in grades:
        c0, t0 = time.process_time(), time.perf_counter()
        status, _, _ = _compute(spec, sm, Condition(grade_pct=float(g)))
        cpu.append(1000 * (time.process_time() - c0))
        wall.append(1000 * (time.perf_counter() - t0))
        assert status == "ok", g
    out = {
        "src": str(args.src),
        "loadavg": load,
        "loadavg_end": os.getloadavg(),
        "grades_pct": grades,
        "cpu_ms": {"median": statistics.median(cpu), "min": min(cpu), "max": max(cpu), "all": cpu},
        "wall_ms": {"median": statistics.median(wall), "min": min(wall), "max": max(wall)},
    }
    print(
        f"one grade condition ({len(grades)} steps): CPU median {out['cpu_ms']['median']:.0f} ms "
        f"(min {min(cpu):.0f}, max {max(cpu):.0f}); wall median {out['wall_ms']['median']:.0f} ms; "
        f"load at the end {out['loadavg_end'][0]:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
