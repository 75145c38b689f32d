"""Residual reduction on the 28 shared Hamner trials (issue 15, item 1's done-when).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_residual_reduction.py [--json FILE] [--subjects subject01 ...]

Case: the 7 runners of Hamner & Delp 2013 at 2, 3, 4 and 5 m/s (``../shared/data/hamner2013``),
the first published right stride cycle of each trial, analysed with ``--residual-reduction``
(:func:`runmuscles.pipeline.analyze_trial` with ``AnalysisOptions(residual_reduction=True)``).
Per trial it records the pelvis residual peaks before and after against the Hicks et al.
2015 thresholds, the mass change, the trunk mass-centre shift, the RMS change of each pelvis
coordinate, the time the reduction took (wall) and the whole analysis's CPU time (on a shared
host the better measure); the summary counts the trials within both thresholds (target: at
least 80 %) and within the kinematic limits (2 deg, 2 cm RMS), and gives the host's load.

Long trial (``--long``, issue 17): the cost of the reduction alone on a whole treadmill trial
(default ``RBDS001runT35.c3d`` with ``RBDS001static.c3d`` of ``../shared/data/fukuchi2017``,
4417 frames, 30 segments), prepared by the lab path (own inverse kinematics; the scaled model
is cached in a temporary folder) and the motion filtered as the pipeline does. The reduction
(:func:`runmuscles.dynamics.residual_reduction.reduce_residuals`) runs serially and in
:func:`~runmuscles.dynamics.residual_reduction.default_processes` processes, alternated
``--repeat`` times (on a shared host compare the CPU seconds: this process's and its forked
helpers'); it records wall and CPU per run, the load, and the results (mass change, residual
peaks before and after, kinematic changes), which must not depend on the processes::

    .venv/bin/python benchmarks/bench_residual_reduction.py --long [--repeat 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SUBJECTS = ("subject01", "subject02", "subject03", "subject08", "subject10", "subject11", "subject19")
TARGET_WITHIN_FRACTION = 0.8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "hamner2013")
    ap.add_argument("--subjects", nargs="*", default=list(SUBJECTS))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--long", action="store_true", help="the reduction's cost on a whole lab trial")
    ap.add_argument("--lab-data", type=Path, default=REPO.parent / "shared" / "data" / "fukuchi2017")
    ap.add_argument("--trial", default="RBDS001runT35", help="--long: the Fukuchi 2017 trial")
    ap.add_argument("--repeat", type=int, default=2, help="--long: serial/forked pairs")
    args = ap.parse_args()
    if args.long:
        long_trial(args)
        return
    args.json = args.json or REPO / "benchmarks" / "residual_reduction_latest.json"

    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import resolve_trial  # noqa: PLC0415

    rows = []
    load_before = os.getloadavg()
    for subject in args.subjects:
        for v in (2, 3, 4, 5):
            spec = resolve_trial(args.data / subject, f"Run_{v}")
            opts = AnalysisOptions(cycle=1, residual_reduction=True, speed_m_s=float(v))
            t0, c0 = time.perf_counter(), time.process_time()
            a = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rr = a.quality["residual_reduction"]
            row = {
                "trial": f"{subject}/Run_{v}",
                "frames": int(a.time_s.size),
                "reduction_s": a.timings_s.get("residual_reduction"),
                "analysis_s": wall,
                "analysis_cpu_s": cpu,
                "force_peak_before_n": rr["residuals_before"]["force_n"]["peak"],
                "force_peak_after_n": rr["residuals_after"]["force_n"]["peak"],
                "force_threshold_n": rr["residuals_after"]["force_n"]["threshold_hicks_2015"],
                "moment_peak_before_nm": rr["residuals_before"]["moment_nm"]["peak"],
                "moment_peak_after_nm": rr["residuals_after"]["moment_nm"]["peak"],
                "moment_threshold_nm": rr["residuals_after"]["moment_nm"]["threshold_hicks_2015"],
                "within_thresholds": rr["within_thresholds"],
                "mass_change_percent": rr["mass_change_percent"],
                "trunk_com_shift_cm": rr["trunk_com_shift_cm"],
                "kinematic_changes": rr["kinematic_changes"],
                "kinematics_within_limits": rr["kinematics_within_limits"],
            }
            rows.append(row)
            print(
                f"{row['trial']:18s} F {row['force_peak_before_n']:5.0f} -> {row['force_peak_after_n']:5.0f}"
                f" / {row['force_threshold_n']:4.0f} N   M {row['moment_peak_before_nm']:5.1f} -> "
                f"{row['moment_peak_after_nm']:5.1f} / {row['moment_threshold_nm']:4.1f} N m   mass "
                f"{row['mass_change_percent']:+.2f} %   trunk "
                + " ".join(f"{c:+.1f}" for c in row["trunk_com_shift_cm"])
                + f" cm   max kin {_max_kin(row)}   {row['reduction_s']:.1f} s",
                flush=True,
            )
    n_within = sum(r["within_thresholds"] for r in rows)
    summary = {
        "trials": len(rows),
        "within_hicks_thresholds": n_within,
        "within_fraction": n_within / max(1, len(rows)),
        "target_within_fraction": TARGET_WITHIN_FRACTION,
        "kinematics_within_limits": sum(r["kinematics_within_limits"] for r in rows),
        "max_rotation_rms_deg": max(
            v["rms_deg"] for r in rows for v in r["kinematic_changes"].values() if "rms_deg" in v
        ),
        "max_translation_rms_cm": max(
            v["rms_cm"] for r in rows for v in r["kinematic_changes"].values() if "rms_cm" in v
        ),
        "max_abs_mass_change_percent": max(abs(r["mass_change_percent"]) for r in rows),
        "median_reduction_s": sorted(r["reduction_s"] for r in rows)[len(rows) // 2],
        "total_reduction_s": sum(r["reduction_s"] for r in rows),
        # wall times on a shared host: the analyses' CPU time and the load say what they mean
        "total_analysis_cpu_s": sum(r["analysis_cpu_s"] for r in rows),
        "host_load_before_after": [list(load_before), list(os.getloadavg())],
    }
    print(json.dumps(summary, indent=1))
    out = {
        "summary": summary,
        "trials": rows,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")


def _lab_inputs(args) -> tuple:
    """The whole lab trial's model, times, q, qdot, qddot and loads, as the pipeline hands them to
    the reduction (its analysis without the reduction: the same window, filter and loads)."""
    import re  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    import pandas as pd  # noqa: PLC0415

    runner = re.match(r"(RBDS0*\d+)", args.trial).group(1)
    info = pd.read_csv(args.lab_data / "participantInfo.csv").drop_duplicates("Subject").set_index("Subject")
    row = info.loc[int(re.match(r"RBDS0*(\d+)", runner).group(1))]
    folder = args.lab_data / runner
    work = Path(tempfile.mkdtemp(prefix="bench_rr_"))
    os.environ.setdefault("RUNMUSCLES_CACHE_DIR", str(work / "cache"))

    from runmuscles.analysis_inputs import analysis_options, trial_inputs  # noqa: PLC0415
    from runmuscles.model import RunnerModel  # noqa: PLC0415
    from runmuscles.pipeline import analyze_trial  # noqa: PLC0415

    height_m = float(row["Height"]) / 100.0
    spec, inputs, _ = trial_inputs(
        work / "out",
        lab_file=folder / f"{args.trial}.c3d",
        static=folder / f"{runner}static.c3d",
        mass_kg=float(row["Mass"]),
        height_m=height_m,
        ik="own",
    )
    opts = analysis_options(spec, inputs, height_m=height_m, residual_reduction=False)
    a = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    ck = a.coordinates
    loads = list(a.body_loads or []) + list(a.extra_loads or [])
    return RunnerModel.load(spec.model).multibody, ck.time_s, ck.q, ck.qdot, ck.qddot, loads


def long_trial(args) -> None:
    """``--long``: the reduction alone on a whole lab trial, serial and forked, alternated."""
    import resource  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from runmuscles.dynamics.residual_reduction import default_processes, reduce_residuals  # noqa: PLC0415
    from runmuscles.process_memory import tune_for_one_analysis  # noqa: PLC0415

    tune_for_one_analysis()  # as the analyze command
    inputs = _lab_inputs(args)
    forked = default_processes()
    runs, results = [], {}
    for _ in range(max(1, args.repeat)):
        for processes in (1, forked):
            load = os.getloadavg()[0]
            c0, k0 = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            rr = reduce_residuals(*inputs, processes=processes)
            wall = time.perf_counter() - t0
            k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            children = (k1.ru_utime - k0.ru_utime) + (k1.ru_stime - k0.ru_stime)
            run = {
                "processes": processes,
                "wall_s": wall,
                "cpu_s": time.process_time() - c0,
                "children_cpu_s": children,
                "load_before": load,
            }
            runs.append(run)
            print(json.dumps(run), flush=True)
            results[processes] = rr
    rr = results[1]
    same = all(
        np.array_equal(getattr(results[forked], k), getattr(rr, k))
        for k in ("q", "qdot", "generalized_forces")
    )
    out = {
        "trial": args.trial,
        "frames": int(inputs[1].size),
        "forked_processes": forked,
        "runs": runs,
        "forked_equals_serial": bool(same),
        "mass_change_percent": 100.0 * (rr.mass_scale - 1.0),
        "trunk_com_shift_cm": [float(v * 100.0) for v in rr.trunk_com_shift_m],
        "residuals_before": rr.before,
        "residuals_after": rr.after,
        "kinematic_changes": rr.as_dict()["kinematic_changes"],
        "passes": rr.iterations,
        "cpus": os.cpu_count(),
        "host_load_after": list(os.getloadavg()),
    }
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.json}")


def _max_kin(row: dict) -> str:
    rot = max(v["rms_deg"] for v in row["kinematic_changes"].values() if "rms_deg" in v)
    tra = max(v["rms_cm"] for v in row["kinematic_changes"].values() if "rms_cm" in v)
    return f"{rot:.2f} deg {tra:.2f} cm"


if __name__ == "__main__":
    main()
