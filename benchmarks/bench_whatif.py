"""Recomputing one what-if condition after the first analysis of a runner.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_whatif.py [--repeats 5] [--no-opensim] [--json FILE]

Case: the bundled runner (Hamner & Delp 2013, subject01, Run_4 at 4 m/s), one stride
cycle, volume-scaled strength. The first analysis is made once (untimed); then each
condition is recomputed ``--repeats`` times, the conditions taking turns (transformation,
inverse dynamics, muscle geometry, static optimization, per-stride analyses), and the median
wall time is printed, with the fastest and slowest, against the target of issue 4 (< 100 ms
per changed condition).

For scale, the same run also times OpenSim 4.6's AnalyzeTool Static Optimization on the
same stride (in-process, model loaded: the solve alone), which is what recomputing the
muscles of one changed motion costs with OpenSim's own tool; the ratio is OpenSim / ours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

TARGET_MS = 100.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--no-opensim", action="store_true", help="skip the OpenSim reference timing")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415
    from runmuscles.whatif import Condition, WhatIfEngine  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    opts = AnalysisOptions(speed_m_s=4.0, strength="volume", cycle=1)
    t0 = time.perf_counter()
    analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    first_s = time.perf_counter() - t0
    engine = WhatIfEngine(analysis)
    conditions = {
        "grade +10 % (slope adaptation)": Condition(grade_pct=10.0),
        "grade -10 % (slope adaptation)": Condition(grade_pct=-10.0),
        "grade +10 % (recorded form)": Condition(grade_pct=10.0, slope_adaptation=False),
        "cadence 110 %": Condition(cadence_pct=110.0),
        "trunk lean +10 deg": Condition(lean_deg=10.0),
        "overstride 5 cm": Condition(overstride_m=0.05),
        "forefoot strike": Condition(strike="forefoot"),
        "overground, still air": Condition(surface="overground"),
        "belt dip 5 %": Condition(belt_fluctuation_pct=5.0),
        "treadmill (baseline)": Condition(surface="treadmill"),
    }
    engine.evaluate(Condition(grade_pct=1.0))  # warm imports and caches (untimed)
    # the conditions take turns, round after round, so that a busy spell of a shared host
    # falls on all of them rather than on whichever was being timed
    walls: dict[str, list[float]] = {label: [] for label in conditions}
    for _ in range(args.repeats):
        for label, cond in conditions.items():
            t = time.perf_counter()
            engine.evaluate(cond)
            walls[label].append(1000.0 * (time.perf_counter() - t))
    rows = {label: statistics.median(w) for label, w in walls.items()}
    spread = {label: (min(w), max(w)) for label, w in walls.items()}

    osim_ms = None
    if not args.no_opensim:
        try:
            import reference_cases  # noqa: PLC0415

            from runmuscles.opensim_adapter.tools import run_static_optimization  # noqa: PLC0415

            work = Path(tempfile.mkdtemp(prefix="runmuscles-bench-whatif-"))
            case = reference_cases.hamner_case(work, "subject01", "Run_4", 1)
            osim_ms = 1000.0 * run_static_optimization(case.so_setup).run_s
        except Exception as exc:  # the shared data or OpenSim missing: report without it
            print(f"(OpenSim reference skipped: {type(exc).__name__}: {exc})")

    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}"
    )
    print(
        f"case:    bundled runner, Run_4, one stride, {analysis.time_s.size} frames, "
        f"{len(analysis.muscle_names)} muscles; first analysis {first_s:.2f} s (untimed below)"
    )
    head = f"{'condition':30s} {'median (ms)':>12s} {'min-max (ms)':>14s} {'target':>9s}"
    if osim_ms is not None:
        head += f" {'OpenSim SO (ms)':>16s} {'ratio':>7s}"
    print(head)
    for label, ms in rows.items():
        lo, hi = spread[label]
        line = f"{label:30s} {ms:12.1f} {f'{lo:.0f}-{hi:.0f}':>14s} {'< 100':>9s}"
        line += "  ok" if ms < TARGET_MS else "  MISSED"
        if osim_ms is not None:
            line += f" {osim_ms:16.0f} {osim_ms / ms:6.0f}x"
        print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "recompute_ms": rows,
                    "recompute_min_max_ms": spread,
                    "repeats": args.repeats,
                    "opensim_so_ms": osim_ms,
                    "first_analysis_s": first_s,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
