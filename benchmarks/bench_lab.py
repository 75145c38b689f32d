"""The lab path's speed (own inverse kinematics against OpenSim's, cold and prepared), and
all twelve Fukuchi 2017 running trials from C3D through ``runmuscles analyze``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_lab.py [--data ../shared/data/fukuchi2017]
        [--trial RBDS001runT35] [--start S --end E] [--json benchmarks/lab_speed_latest.json]
    .venv/bin/python benchmarks/bench_lab.py --trials [--start 5 --end 7] [--cold] [--json FILE]

Speed (the default): one trial (default ``RBDS001runT35.c3d`` with ``RBDS001static.c3d``,
the whole 30 s unless ``--start``/``--end``) through ``runmuscles analyze`` as fresh
processes, four times: ``--ik own`` cold (an empty cache folder: no scaled model, no
geometry cache), ``--ik own`` prepared (the same folder again: both cached),
``--ik opensim`` cold (no scaled model: OpenSim's ScaleTool and InverseKinematicsTool; the
geometry cache, the same for both solvers and another part's work, is built once, by the
own cold run, and given to this one) and ``--ik opensim`` prepared. Printed: wall and CPU time (user +
system) of each, the ratios OpenSim / own, the host's load average before and after (on a
shared host, CPU time is the better measure of the work), the pipeline's stage times from
``summary.json`` (geometry = the model stage, the geometry cache's part when cold), the
lab stages (reading, scaling, inverse kinematics) timed in this process for the prepared
run, and the two IK results' agreement (RMS difference per coordinate).

``--trials`` (4 runners x 2.5, 3.5, 4.5 m/s): ``runmuscles analyze RUNNERrunTNN.c3d --static
RUNNERstatic.c3d --mass M --height H --start S --end E`` as a fresh process, with mass and
height from ``participantInfo.csv``. Reported: wall time, inverse-kinematics marker errors,
scaling error and stature, the foot-strike pattern per foot against the one observed in the
data set (``RFSI``/``LFSI`` columns), strides and residuals. ``--cold`` uses an empty cache
folder, as on a first run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNNERS = ("RBDS001", "RBDS002", "RBDS03", "RBDS010")
SPEEDS = ("25", "35", "45")


def _info(data: Path) -> dict[str, dict]:
    import pandas as pd  # noqa: PLC0415

    info = pd.read_csv(data / "participantInfo.csv").drop_duplicates("Subject").set_index("Subject")
    out = {}
    for r in RUNNERS:
        row = info.loc[int(re.match(r"RBDS0*(\d+)", r).group(1))]
        out[r] = {
            "mass_kg": float(row["Mass"]),
            "height_m": float(row["Height"]) / 100.0,
            **{f"{s}{v}": str(row[f"{s.upper()}FSI{v}"]).lower() for s in "rl" for v in SPEEDS},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/fukuchi2017"))
    ap.add_argument("--start", type=float, default=None, help="window start (s); --trials: 5")
    ap.add_argument("--end", type=float, default=None, help="window end (s); --trials: 7")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--trials", action="store_true", help="all twelve trials (foot strike, errors)")
    ap.add_argument("--trial", default="RBDS001runT35", help="the speed benchmark's trial")
    ap.add_argument("--cold", action="store_true", help="--trials: start from an empty geometry cache")
    args = ap.parse_args()
    if args.trials:
        args.start = 5.0 if args.start is None else args.start
        args.end = 7.0 if args.end is None else args.end
        trials(args)
    else:
        speed(args)


def _analyze(
    trial: Path, static: Path, mass_kg: float, height_m: float, out: Path, ik: str, cache: Path, args
):
    """One ``runmuscles analyze`` process: (summary or None, wall s, CPU s, stderr tail)."""
    import resource  # noqa: PLC0415

    cmd = [sys.executable, "-m", "runmuscles", "analyze", str(trial), "--static", str(static)]
    cmd += ["--mass", f"{mass_kg:g}", "--height", f"{height_m:g}", "--ik", ik, "--out", str(out)]
    cmd += ["--json", "--no-report"]
    if args.start is not None:
        cmd += ["--start", f"{args.start:g}"]
    if args.end is not None:
        cmd += ["--end", f"{args.end:g}"]
    env = dict(os.environ, RUNMUSCLES_CACHE_DIR=str(cache), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads(proc.stdout) if proc.returncode == 0 else None
    return summary, wall, cpu, proc.stderr.strip().splitlines()[-1:]


def _lab_stages(trial: Path, static: Path, mass_kg: float, height_m: float, out: Path, cache: Path, args):
    """The lab stages of a prepared run, timed in this process (own inverse kinematics)."""
    os.environ["RUNMUSCLES_CACHE_DIR"] = str(cache)
    from runmuscles.lab import prepare_lab_trial  # noqa: PLC0415

    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    prepare_lab_trial(
        trial,
        out,
        static=static,
        mass_kg=mass_kg,
        height_m=height_m,
        start_s=args.start,
        end_s=args.end,
        progress=lambda stage: marks.append((stage, time.perf_counter())),
        ik="own",
    )
    marks.append(("end", time.perf_counter()))
    stages = {"start-up": marks[0][1] - t0} if marks else {}
    for (name, t), (_, t_next) in zip(marks, marks[1:], strict=False):
        stages[name] = t_next - t
    return stages


def _agreement(own: Path, ref: Path) -> dict[str, float]:
    """RMS difference per coordinate (deg or mm) between two ``ik.mot`` of the same model
    (coupler-dependent coordinates left out: they follow their independent coordinate)."""
    import numpy as np  # noqa: PLC0415

    from runmuscles.model.multibody import coordinates_from_table, load_osim  # noqa: PLC0415
    from runmuscles.readers.opensim_files import read_storage  # noqa: PLC0415

    model = next(p for p in (own / "model").glob("*.osim") if "before_marker" not in p.name)
    mb = load_osim(model)
    qa = coordinates_from_table(mb, read_storage(own / "ik.mot"))
    qb = coordinates_from_table(mb, read_storage(ref / "ik.mot"))
    out = {}
    for i, c in enumerate(mb.coordinate_names):
        if mb.locked[i] or c in mb.dependent_coordinates:
            continue
        if c.startswith(("lumbar", "arm_", "elbow", "pro_sup", "wrist")):  # no markers: held
            continue
        d = np.sqrt(np.mean((qa[:, i] - qb[:, i]) ** 2))
        out[c] = float(np.degrees(d) if mb.motion_types[i] == "rotational" else 1000 * d)
    return out


def speed(args) -> None:
    info = _info(args.data)
    runner = re.match(r"(RBDS0*\d+)", args.trial).group(1)
    folder = args.data / runner
    trial, static = folder / f"{args.trial}.c3d", folder / f"{runner}static.c3d"
    mass, height = info[runner]["mass_kg"], info[runner]["height_m"]
    window = "whole trial" if args.start is None and args.end is None else f"{args.start}-{args.end} s"
    load0 = os.getloadavg()
    print(
        f"{args.trial} ({window}), host load {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        for ik in ("own", "opensim"):
            cache = td / f"cache_{ik}"
            if ik == "opensim" and (td / "cache_own").is_dir():  # the geometry cache once (geom's part)
                shutil.copytree(td / "cache_own", cache, ignore=shutil.ignore_patterns("scaled"))
            for state in ("cold", "prepared"):
                out = td / f"{ik}_{state}"
                s, wall, cpu, err = _analyze(trial, static, mass, height, out, ik, cache, args)
                row = {"wall_s": wall, "cpu_s": cpu, "ok": s is not None}
                if s is None:
                    row["error"] = err
                else:
                    t = s["timings_s"]
                    row["pipeline_s"] = {k: t[k] for k in t}
                    row["ik_marker_rms_cm"] = (
                        100 * s["quality"]["input"]["inverse_kinematics"]["marker_rms_m_mean"]
                    )
                runs[f"{ik}_{state}"] = row
                pipe = row.get("pipeline_s", {})
                print(
                    f"  {ik:8s} {state:8s}: {wall:6.1f} s wall, {cpu:6.1f} s CPU; geometry (model stage) "
                    f"{pipe.get('model', float('nan')):5.1f} s, "
                    f"pipeline {pipe.get('total', float('nan')):5.1f} s"
                    + (
                        f"; FAILED {err}"
                        if s is None
                        else f"; IK marker RMS {row['ik_marker_rms_cm']:.2f} cm"
                    ),
                    flush=True,
                )
        stages = _lab_stages(trial, static, mass, height, td / "stages", td / "cache_own", args)
        agree = (
            _agreement(td / "own_prepared", td / "opensim_prepared")
            if all(runs[k]["ok"] for k in ("own_prepared", "opensim_prepared"))
            else {}
        )
    load1 = os.getloadavg()
    ratios = {
        state: {
            m: runs[f"opensim_{state}"][m] / runs[f"own_{state}"][m]
            for m in ("wall_s", "cpu_s")
            if runs[f"own_{state}"][m] > 0
        }
        for state in ("cold", "prepared")
    }
    # the cold runs without the geometry cache's build (the model stage; the OpenSim run was given
    # the cache): the lab path's own part
    geometry = runs["own_cold"].get("pipeline_s", {}).get("model", 0.0)
    own_lab = runs["own_cold"]["wall_s"] - geometry
    ratios["cold_without_geometry"] = (
        {"wall_s": runs["opensim_cold"]["wall_s"] / own_lab} if own_lab > 0 else {}
    )
    print(
        f"own cold: {runs['own_cold']['wall_s']:.1f} s = geometry cache {geometry:.1f} s (geom's part) + "
        f"{own_lab:.1f} s the rest (scaling, inverse kinematics, dynamics, muscles)"
    )
    print(
        "lab stages of the prepared own run (this process): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
    )
    for state in ("cold", "cold_without_geometry", "prepared"):
        r = ratios[state]
        print(
            f"OpenSim / own, {state}: "
            + ", ".join(f"{r[m]:.1f}x {m[:-2]}" for m in ("wall_s", "cpu_s") if m in r)
        )
    if agree:
        worst = max(agree, key=agree.get)
        print(
            "agreement own vs OpenSim IK (RMS, deg or mm): "
            + ", ".join(f"{k} {v:.2f}" for k, v in agree.items())
            + f"; largest {worst} {agree[worst]:.2f}"
        )
    print(f"host load after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    res = {
        "trial": args.trial,
        "window": window,
        "host_load_before": load0,
        "host_load_after": load1,
        "cpus": os.cpu_count(),
        "runs": runs,
        "ratios_opensim_over_own": ratios,
        "lab_stages_prepared_own_s": stages,
        "ik_agreement_rms_deg_or_mm": agree,
    }
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


def trials(args) -> None:
    info = _info(args.data)
    rows = []
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as td:
        if args.cold:
            env["RUNMUSCLES_CACHE_DIR"] = str(Path(td) / "cache")
        t_all = time.perf_counter()
        for r in RUNNERS:
            for v in SPEEDS:
                folder = args.data / r
                out = Path(td) / f"{r}_{v}"
                cmd = [
                    sys.executable,
                    "-m",
                    "runmuscles",
                    "analyze",
                    str(folder / f"{r}runT{v}.c3d"),
                    "--static",
                    str(folder / f"{r}static.c3d"),
                    "--mass",
                    f"{info[r]['mass_kg']:g}",
                    "--height",
                    f"{info[r]['height_m']:g}",
                    "--start",
                    f"{args.start:g}",
                    "--end",
                    f"{args.end:g}",
                    "--out",
                    str(out),
                    "--json",
                    "--no-report",
                ]
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                wall = time.perf_counter() - t0
                row: dict = {"trial": f"{r}runT{v}", "wall_s": wall, "returncode": proc.returncode}
                if proc.returncode != 0:
                    row["error"] = proc.stderr.strip().splitlines()[-1:]
                    rows.append(row)
                    print(f"{row['trial']}: FAILED ({row['error']})", flush=True)
                    continue
                s = json.loads(proc.stdout)
                q = s["quality"]
                ik = q["input"]["inverse_kinematics"]
                fs = s["foot_strike"]
                row.update(
                    {
                        "model_s": s["timings_s"].get("model"),
                        "ik_frames": ik["frames"],
                        "ik_marker_rms_cm_mean": 100 * ik["marker_rms_m_mean"],
                        "ik_marker_rms_cm_worst_frame": 100 * ik["marker_rms_m_max"],
                        "ik_marker_max_cm": 100 * ik["marker_max_m_max"],
                        "scaling_marker_rms_cm": 100 * q["input"]["scaling"]["marker_rms_m"],
                        "stature_estimate_m": q["input"]["scaling"]["stature_estimate_m"],
                        "height_m": info[r]["height_m"],
                        "strides": s["n_strides"],
                        "peak_vertical_grf_bw": s["peak_vertical_grf_bw"],
                        "residual_force_rms_n": q["residuals"]["force_n"]["rms"],
                        "foot_strike": {"right": fs["right"], "left": fs["left"]},
                        "observed": {"right": info[r][f"r{v}"], "left": info[r][f"l{v}"]},
                        "strike_index_median": {
                            side: _median([x["strike_index"] for x in fs["strides"] if x["side"] == side])
                            for side in ("right", "left")
                        },
                        "relabelled": [f for f in q["flags"] if f.startswith("markers labelled")],
                    }
                )
                rows.append(row)
                agree = [row["foot_strike"][k] == row["observed"][k] for k in ("right", "left")]
                print(
                    f"{row['trial']}: {wall:5.1f} s, IK RMS {row['ik_marker_rms_cm_mean']:.1f} cm "
                    f"(max {row['ik_marker_max_cm']:.1f} cm), strike {fs['right']}/{fs['left']} "
                    f"(observed {row['observed']['right']}/{row['observed']['left']}: {sum(agree)}/2)",
                    flush=True,
                )
        total = time.perf_counter() - t_all
    ok = [r for r in rows if r["returncode"] == 0]
    agree = sum(r["foot_strike"][k] == r["observed"][k] for r in ok for k in ("right", "left"))
    res = {
        "window_s": [args.start, args.end],
        "cold_cache": args.cold,
        "total_s": total,
        "trials_ok": len(ok),
        "foot_strike_agreement": f"{agree}/{2 * len(ok)}",
        "rows": rows,
    }
    print(
        f"{len(ok)}/{len(rows)} trials in {total:.0f} s; foot strike agrees with the observed pattern "
        f"{agree}/{2 * len(ok)}"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


def _median(v: list) -> float | None:
    v = sorted(x for x in v if x is not None)
    return v[len(v) // 2] if v else None


if __name__ == "__main__":
    main()
