"""What residual reduction on by default costs and moves, on the 28 shared Hamner trials.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_rr_default.py [--json FILE] [--subjects subject01 ...]

Case: the 7 runners of Hamner & Delp 2013 at 2, 3, 4 and 5 m/s (``../shared/data/hamner2013``),
each trial analysed as ``runmuscles analyze`` and ``runmuscles batch`` do by default (every
complete right stride cycle in the data, volume strength), once with residual reduction (the
default since issue 15) and once without (``--no-residual-reduction``), in the same process.

Per trial it records the analysis time of each, the reduction's own time, the body mass used,
the gross metabolic cost (J/kg/m), each muscle group's share of the muscle impulse and the
count of muscles reaching full activation on some frame. The summary gives the median cost per
trial and the level cost at 3 and 4 m/s (the published 3.4-4.6 J/kg/m range; issue 6).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SUBJECTS = ("subject01", "subject02", "subject03", "subject08", "subject10", "subject11", "subject19")
#: Gross cost of level running measured at 3-4 m/s (J/kg/m), the range issue 6 set the volume
#: strength against (e.g. Batliner ME et al. 2018, Med Sci Sports Exerc 50:296-304).
LEVEL_COST_RANGE = (3.4, 4.6)


def _one(spec, speed: float, reduce: bool) -> dict:
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415

    opts = AnalysisOptions(speed_m_s=speed, speed_source="trial name", residual_reduction=reduce)
    t0 = time.perf_counter()
    a = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    wall = time.perf_counter() - t0
    s = a.summary()
    return {
        "analysis_s": wall,
        "reduction_s": a.timings_s.get("residual_reduction", 0.0),
        "frames": int(a.time_s.size),
        "strides": len(a.cycles),
        "body_mass_kg": s["body_mass_kg"],
        "cost_j_per_kg_m": s["metabolic_cost_j_per_kg_m"],
        "shares_of_impulse": {g: e["share_of_impulse"] for g, e in s["groups"].items()},
        "saturated_muscles": len(s["quality"]["saturated_muscles"]),
        "reserve_peak_nm": s["quality"]["reserve_peak_nm_on_muscle_coordinates"],
        "quality_valid": s["quality"]["valid"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "hamner2013")
    ap.add_argument("--subjects", nargs="*", default=list(SUBJECTS))
    ap.add_argument("--json", type=Path, default=REPO / "benchmarks" / "rr_default_latest.json")
    args = ap.parse_args()

    from runmuscles.trials import resolve_trial  # noqa: PLC0415

    rows = []
    for subject in args.subjects:
        for v in (2, 3, 4, 5):
            spec = resolve_trial(args.data / subject, f"Run_{v}")
            on = _one(spec, float(v), True)
            off = _one(spec, float(v), False)
            rows.append({"trial": f"{subject}/Run_{v}", "speed_m_s": v, "on": on, "off": off})
            print(
                f"{subject}/Run_{v}: {on['strides']} strides, {on['frames']} frames; time "
                f"{off['analysis_s']:.1f} -> {on['analysis_s']:.1f} s; cost {off['cost_j_per_kg_m']:.2f} -> "
                f"{on['cost_j_per_kg_m']:.2f} J/kg/m; saturated {off['saturated_muscles']} -> "
                f"{on['saturated_muscles']}; calves share {off['shares_of_impulse'].get('calves', 0):.3f} -> "
                f"{on['shares_of_impulse'].get('calves', 0):.3f}",
                flush=True,
            )
    groups = sorted({g for r in rows for g in r["on"]["shares_of_impulse"]})

    def mean(vals):
        vals = [x for x in vals if x is not None]
        return statistics.fmean(vals) if vals else None

    level = {
        key: {
            f"{v:g}": mean(r[key]["cost_j_per_kg_m"] for r in rows if r["speed_m_s"] == v)
            for v in (2, 3, 4, 5)
        }
        for key in ("off", "on")
    }
    level_trials = [r for r in rows if r["speed_m_s"] in (3, 4)]
    lo, hi = LEVEL_COST_RANGE
    summary = {
        "trials": len(rows),
        "median_extra_s_per_trial": statistics.median(
            r["on"]["analysis_s"] - r["off"]["analysis_s"] for r in rows
        ),
        "median_reduction_s": statistics.median(r["on"]["reduction_s"] for r in rows),
        "median_analysis_s": {k: statistics.median(r[k]["analysis_s"] for r in rows) for k in ("off", "on")},
        "total_analysis_s": {k: sum(r[k]["analysis_s"] for r in rows) for k in ("off", "on")},
        "cost_j_per_kg_m_by_speed": level,
        "level_cost_trials_3_4_m_s_in_range": {
            k: sum(lo <= (r[k]["cost_j_per_kg_m"] or 0.0) <= hi for r in level_trials) for k in ("off", "on")
        },
        "level_cost_trials_3_4_m_s": len(level_trials),
        "max_abs_cost_change_percent": max(
            abs(r["on"]["cost_j_per_kg_m"] / r["off"]["cost_j_per_kg_m"] - 1.0) * 100.0 for r in rows
        ),
        "share_of_impulse_mean": {
            g: {k: mean(r[k]["shares_of_impulse"].get(g) for r in rows) for k in ("off", "on")}
            for g in groups
        },
        "saturated_muscles_total": {k: sum(r[k]["saturated_muscles"] for r in rows) for k in ("off", "on")},
        "saturated_muscles_by_speed": {
            k: {
                f"{v:g}": mean(r[k]["saturated_muscles"] for r in rows if r["speed_m_s"] == v)
                for v in (2, 3, 4, 5)
            }
            for k in ("off", "on")
        },
        "quality_valid": {k: sum(bool(r[k]["quality_valid"]) for r in rows) for k in ("off", "on")},
    }
    print(json.dumps(summary, indent=1))
    out = {
        "summary": summary,
        "trials": rows,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
    }
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
