"""All twelve Fukuchi 2017 running trials from C3D through ``runmuscles analyze``, timed.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_lab.py [--data ../shared/data/fukuchi2017] [--start 5 --end 7]
        [--json FILE] [--cold]

Per trial (4 runners x 2.5, 3.5, 4.5 m/s): ``runmuscles analyze RUNNERrunTNN.c3d --static
RUNNERstatic.c3d --mass M --height H --start S --end E`` as a fresh process (scaling with
OpenSim's ScaleTool, OpenSim inverse kinematics over the window, the treadmill plate split
into two feet, inverse dynamics and static optimization), with mass and height from
``participantInfo.csv``. Reported: wall time, inverse-kinematics marker errors, scaling
error and stature, the foot-strike pattern per foot against the one observed in the data
set (``RFSI``/``LFSI`` columns), strides and residuals.

The first trial of each runner builds the geometry cache of that runner's scaled model
(20-60 s; later speeds reuse it, the scaled model being the same file content). ``--cold``
uses an empty cache folder, as on a first run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
    ap.add_argument("--start", type=float, default=5.0)
    ap.add_argument("--end", type=float, default=7.0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cold", action="store_true", help="start from an empty geometry cache")
    args = ap.parse_args()
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
