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
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "residual_reduction_latest.json")
    args = ap.parse_args()

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


def _max_kin(row: dict) -> str:
    rot = max(v["rms_deg"] for v in row["kinematic_changes"].values() if "rms_deg" in v)
    tra = max(v["rms_cm"] for v in row["kinematic_changes"].values() if "rms_cm" in v)
    return f"{rot:.2f} deg {tra:.2f} cm"


if __name__ == "__main__":
    main()
