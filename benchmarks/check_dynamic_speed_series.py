"""The done-when numbers of the dynamic muscle solution at 5 m/s, and the Rajagopal EMG check.

Usage (from the repository root, with ../shared/data beside it; minutes per runner)::

    .venv/bin/python benchmarks/check_dynamic_speed_series.py [--subjects subject01 ...]
        [--speed 5] [--cycle 1] [--no-emg] [--json FILE]
        [--tendon-strain E0|model] [--vmax V|model] [--no-static]

For each shared Hamner & Delp (2013) runner at the speed (``Run_5``), stride cycle ``--cycle``
of the right foot, volume strength, residual reduction on (``residual_reduction=True``), once
with static optimization and once with ``muscles="dynamic"``:

* the share of the ankles' positive work done by reserves (``ankle_angle_r`` and
  ``ankle_angle_l``, :func:`runmuscles.analyses.validity.validity_warnings`: reserve positive
  work over the net joint moment's), target < 10 %;
* the fraction of muscles at full activation for more than 5 % of the stride, target < 10 %;
* the dynamic solution's time, blocks and convergence;
* why reserves still do ankle work (``ankle_limits``): where they do, each plantarflexor's
  activation, normalized fibre length and fibre velocity (:func:`_ankle_limits`);
* why muscles saturate (``saturation_limits``): each saturated muscle's fibre length and
  velocity while it is (:func:`_saturation_limits`).

Then the Rajagopal 2016 runner's EMG (the shared trial, ``tests/reference_cases.rajagopal_case``,
processed envelopes at their true 1000 Hz rate, as ``tests/test_emg.py`` does): the median
correlation r between EMG envelopes and activations, static and dynamic, and the onset of the
calves' and vasti's main bursts relative to foot strike.

``--tendon-strain`` and ``--vmax`` replace the dynamic solution's
:attr:`~runmuscles.muscles.dynamic_model.DynamicSettings.triceps_surae_tendon_strain` and
:attr:`~runmuscles.muscles.dynamic_model.DynamicSettings.max_contraction_velocity_lopt_s`
(``model``: the model's own values); by default the library's defaults run.

Record: ``benchmarks/dynamic_speed_series_latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

DATA = REPO.parent / "shared" / "data"
RECORD = REPO / "benchmarks" / "dynamic_speed_series_latest.json"
ANKLES = ("ankle_angle_r", "ankle_angle_l")


def _measures(analysis) -> dict:
    from runmuscles.analyses.validity import validity_warnings  # noqa: PLC0415

    rule = validity_warnings(analysis)
    shares = rule.reserve_share_of_joint_positive_work
    ankle = {c: shares.get(c) for c in ANKLES}
    rec = analysis.recruitment
    return {
        "reserve_share_of_ankle_positive_work": ankle,
        "saturated_muscle_share": rule.saturated_muscle_share,
        "saturated_muscles": rule.saturated_muscles,
        "muscles_ever_saturated": int(rec.saturated.any(axis=0).sum()),
        "mean_activation": float(rec.activation.mean()),
        "solution": rec.solution,
        "muscles_s": analysis.timings_s.get("muscles"),
        "warnings": [w["code"] for w in analysis.quality.get("warnings", [])],
        "metabolic_cost_j_per_kg_m": analysis.summary().get("metabolic_cost_j_per_kg_m"),
    }


#: The ankle plantarflexors whose limits :func:`_ankle_limits` reports (Hamner 2010 names).
PLANTARFLEXORS = ("soleus", "med_gas", "lat_gas", "tib_post", "flex_dig", "flex_hal", "per_long", "per_brev")


def _use_settings(changes: dict) -> None:
    """Run the dynamic solution with ``DynamicSettings.default().with_(**changes)``."""
    from runmuscles.muscles import dynamic_pipeline  # noqa: PLC0415
    from runmuscles.muscles.dynamic_model import DynamicSettings  # noqa: PLC0415

    solve = dynamic_pipeline.dynamic_recruitment
    settings = DynamicSettings.default().with_(**changes)

    def with_settings(model, geo, problem, static, time_s, settings_=None):
        return solve(model, geo, problem, static, time_s, settings_ or settings)

    dynamic_pipeline.dynamic_recruitment = with_settings


def _vmax_lopt_s(analysis, params) -> np.ndarray:
    """The maximum contraction velocities the dynamic solution used (its provenance's, else the model's)."""
    from runmuscles.muscles.dynamic_model import solution_max_contraction_velocity  # noqa: PLC0415

    return solution_max_contraction_velocity(
        list(analysis.recruitment.muscle_names),
        params["max_contraction_velocity_lopt_s"],
        analysis.recruitment.parameter_changes,
    )


def _fibre_scales(analysis) -> tuple[np.ndarray, np.ndarray]:
    """Each muscle's optimal fibre length (m) and the maximum contraction velocity (m/s) the
    solution used."""
    from runmuscles.model import RunnerModel  # noqa: PLC0415

    params = RunnerModel.load(analysis.model_path).geometry.params
    lopt = np.asarray(params["optimal_fiber_length_m"], dtype=float)
    return lopt, _vmax_lopt_s(analysis, params) * lopt


def _ankle_limits(analysis) -> dict:
    """Why reserves do ankle work: over the frames where an ankle's reserve does positive work
    (reserve moment x ankle speed > 0), per plantarflexor of that side the reserve-work-weighted
    mean activation, normalized fibre length (optimal fibre lengths; the active force falls
    away from 1) and fibre velocity (maximum contraction velocities, shortening negative: at -1
    the force-velocity curve gives no force at any activation). Dynamic solutions only."""

    rec = analysis.recruitment
    if rec.fibre_velocity_m_s is None:
        return {}
    lopt, vmax = _fibre_scales(analysis)
    ck = analysis.coordinates
    names = list(rec.muscle_names)
    out = {}
    for coord in ANKLES:
        if coord not in rec.coordinate_names:
            continue
        c = list(rec.coordinate_names).index(coord)
        power = np.asarray(rec.reserve_moment)[:, c] * ck.qdot[:, ck.index(coord)]
        w = np.maximum(power, 0.0)
        if w.sum() <= 0:
            continue
        w = w / w.sum()
        side = coord[-2:]
        rows = {}
        for m, n in enumerate(names):
            if n.endswith(side) and n[: -len(side)] in PLANTARFLEXORS:
                rows[n] = {
                    "activation": round(float(w @ rec.activation[:, m]), 3),
                    "fibre_length_lopt": round(float(w @ (rec.fibre_length_m[:, m] / lopt[m])), 3),
                    "fibre_velocity_vmax": round(float(w @ (rec.fibre_velocity_m_s[:, m] / vmax[m])), 3),
                }
        out[coord] = {"reserve_work_fraction_of_stride": round(float((power > 0).mean()), 3), "muscles": rows}
    return out


def _saturation_limits(analysis) -> dict:
    """Why muscles saturate: for each muscle at full activation over more than 5 % of the stride,
    the share of the stride it is saturated, and over those frames its mean normalized fibre
    length (optimal lengths) and fibre velocity (maximum contraction velocities, shortening
    negative). A length far from 1 or a velocity near -1 names the curve that limits it; a
    length near 1 and a small velocity leave only its strength. Dynamic solutions only."""
    from runmuscles.analyses.validity import validity_warnings  # noqa: PLC0415

    rec = analysis.recruitment
    if rec.fibre_velocity_m_s is None:
        return {}
    lopt, vmax = _fibre_scales(analysis)
    names = list(rec.muscle_names)
    out = {}
    for n in validity_warnings(analysis).saturated_muscles:
        m = names.index(n)
        sat = np.asarray(rec.saturated[:, m], dtype=bool)
        out[n] = {
            "saturated_fraction_of_stride": round(float(sat.mean()), 3),
            "fibre_length_lopt": round(float(np.mean(rec.fibre_length_m[sat, m] / lopt[m])), 3),
            "fibre_velocity_vmax": round(float(np.mean(rec.fibre_velocity_m_s[sat, m] / vmax[m])), 3),
        }
    return out


def _speed_series(
    subjects, speed: float, cycle: int, progress=None, solutions=("static", "dynamic")
) -> list[dict]:
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import resolve_trial, runner_folders  # noqa: PLC0415

    rows = []
    for folder in runner_folders(DATA / "hamner2013", subjects):
        trial = f"Run_{speed:g}"
        if not (folder / "ik" / f"{trial}.mot").exists():
            continue
        spec = resolve_trial(folder, trial)
        row = {"runner": folder.name, "trial": trial, "cycle": cycle}
        for muscles in solutions:
            opts = AnalysisOptions(
                speed_m_s=speed, strength="volume", cycle=cycle, residual_reduction=True, muscles=muscles
            )
            t0 = time.perf_counter()
            try:
                a = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
            except Exception as exc:  # noqa: BLE001 - a failed runner is recorded, not lost
                row[muscles] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            row[muscles] = _measures(a) | {"wall_s": time.perf_counter() - t0}
            if muscles == "dynamic":
                row[muscles]["ankle_limits"] = _ankle_limits(a)
                row[muscles]["saturation_limits"] = _saturation_limits(a)
                row[muscles]["muscle_parameters"] = a.recruitment.parameter_changes
        print(json.dumps(row), flush=True)
        rows.append(row)
        if progress is not None:
            progress(rows)
    return rows


def _emg() -> dict:
    import reference_cases  # noqa: PLC0415

    from runmuscles.analyses.emg import EmgOptions  # noqa: PLC0415
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.readers.emg import read_emg  # noqa: PLC0415

    d = DATA / "rajagopal2016-running"
    work = Path(tempfile.mkdtemp(prefix="runmuscles-dyn-emg-"))
    proc = read_emg(d / "emg_run_processed.csv")
    fixed = work / "emg_run_processed_1000hz.csv"
    # the processed file's time column is wrong (960 Hz written, 1000 Hz true; tests/test_emg.py)
    lines = ["time," + ",".join(proc.labels)]
    t = np.arange(proc.n_frames) / 1000.0
    lines += [f"{ti:.6f}," + ",".join(f"{v:.6g}" for v in row) for ti, row in zip(t, proc.data, strict=True)]
    fixed.write_text("\n".join(lines) + "\n")
    case = reference_cases.rajagopal_case(work / "case")
    out = {}
    for muscles in ("static", "dynamic"):
        opts = AnalysisOptions(strength="volume", emg=EmgOptions(fixed, rate_hz=1000.0), muscles=muscles)
        t0 = time.perf_counter()
        a = analyze_trial(case.model, case.coordinates, case.external_loads, opts)
        block = a.summary()["emg"]
        out[muscles] = {
            "median_r": block.get("median_r"),
            "channels": {c["channel"]: c.get("r") for c in block.get("channels", [])},
            "timing": {
                c["channel"]: {k: v for k, v in c.items() if "onset" in k or "lag" in k or "offset" in k}
                for c in block.get("channels", [])
            },
            "solution": a.recruitment.solution,
            "wall_s": time.perf_counter() - t0,
        }
        print(muscles, json.dumps(out[muscles]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", nargs="*", default=None)
    ap.add_argument("--speed", type=float, default=5.0)
    ap.add_argument("--cycle", type=int, default=1)
    ap.add_argument("--no-emg", action="store_true")
    ap.add_argument("--no-series", action="store_true", help="only the Rajagopal EMG check")
    ap.add_argument("--json", type=Path, default=RECORD)
    ap.add_argument("--tendon-strain", default=None, help="triceps surae tendon strain at F0, or 'model'")
    ap.add_argument("--vmax", default=None, help="maximum contraction velocity (lopt/s), or 'model'")
    ap.add_argument("--no-static", action="store_true", help="only the dynamic solution")
    args = ap.parse_args()
    changes = {}
    given = {"triceps_surae_tendon_strain": args.tendon_strain, "max_contraction_velocity_lopt_s": args.vmax}
    for key, value in given.items():
        if value is not None:
            changes[key] = None if value == "model" else float(value)
    if changes:
        _use_settings(changes)
    load_before = os.getloadavg()
    record: dict = {
        "speed_m_s": args.speed,
        "cycle": args.cycle,
        "dynamic_settings_changed": changes,
        "host_load_before": list(load_before),
    }

    def save(rows: list[dict]) -> None:  # after every runner: a partial record survives a stop
        record["runners"] = rows
        args.json.write_text(json.dumps(record, indent=2) + "\n")

    solutions = ("dynamic",) if args.no_static else ("static", "dynamic")
    rows = [] if args.no_series else _speed_series(args.subjects, args.speed, args.cycle, save, solutions)
    record["runners"] = rows
    summary = {}
    for muscles in solutions:
        ok = [r[muscles] for r in rows if "error" not in r.get(muscles, {"error": 1})]
        shares = [
            max(v for v in m["reserve_share_of_ankle_positive_work"].values() if v is not None) for m in ok
        ]
        sat = [m["saturated_muscle_share"] for m in ok]
        summary[muscles] = {
            "runners": len(ok),
            "max_reserve_share_of_ankle_positive_work": max(shares) if shares else None,
            "runners_below_10_pct_reserve_share": sum(s < 0.10 for s in shares),
            "max_saturated_muscle_share": max(sat) if sat else None,
            "runners_below_10_pct_saturated": sum(s < 0.10 for s in sat),
        }
    record["summary"] = summary
    print(json.dumps(summary, indent=2))
    if not args.no_emg:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        record["rajagopal_emg"] = _emg()
    record["host_load_after"] = list(os.getloadavg())
    args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
