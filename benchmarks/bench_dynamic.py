"""Time the dynamic muscle solution on one stride (92 muscles, both legs, compliant tendons).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_dynamic.py [--presets default moco rigid] [--repeats 1] [--json FILE]

Case: Hamner & Delp (2013) subject01, Run_4 (4 m/s), stride cycle 1, volume-scaled strength
(the bundled runner's stride, the one the MocoInverse references solve). Timed: building and
solving the collocation problems of every block (:func:`runmuscles.muscles.dynamic.solve_dynamic`),
after the analysis that gives its inputs (inverse dynamics, geometry, static optimization: the
seed). Presets: ``default`` (every tendon compliant), ``moco`` (MocoInverse's settings:
compliant triceps surae, DeGroote curves widened 1.5x), ``rigid`` (the rigid limit).

Printed with the host's load average (the machine is shared); MocoInverse's time is read from
``benchmarks/moco_inverse_latest.json`` (written by ``benchmarks/moco_inverse_reference.py``)
when it is there, and the ratio printed; otherwise that is said. Record:
``benchmarks/dynamic_latest.json``.
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

RECORD = REPO / "benchmarks" / "dynamic_latest.json"
MOCO_RECORD = REPO / "benchmarks" / "moco_inverse_latest.json"


def _moco_time(preset: str) -> tuple[float | None, str]:
    """MocoInverse's recorded wall time for the matching run, and where it came from."""
    if not MOCO_RECORD.is_file():
        return None, f"{MOCO_RECORD.name} not found: no MocoInverse time recorded yet"
    try:
        data = json.loads(MOCO_RECORD.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return None, f"{MOCO_RECORD.name} unreadable ({exc})"
    runs = data if isinstance(data, list) else data.get("runs", [data])
    want = "rigid" if preset == "rigid" else "compliant"
    best = None
    for r in runs:
        if not isinstance(r, dict):
            continue
        name = str(r.get("name") or r.get("run") or "")
        wall = r.get("wall_s") or r.get("solve_s") or r.get("moco_s")
        if want in name and isinstance(wall, int | float):
            ok = bool(r.get("success", r.get("converged", False)))
            if best is None or (ok and not best[2]):
                best = (float(wall), name, ok)
    if best is None:
        return None, f"no '{want}' run in {MOCO_RECORD.name}"
    return best[0], f"{MOCO_RECORD.name}: run '{best[1]}' ({'converged' if best[2] else 'did not converge'})"


def _bench(preset: str, repeats: int, a, model, geo) -> dict:
    from runmuscles.muscles.dynamic import solve_dynamic  # noqa: PLC0415
    from runmuscles.muscles.dynamic_model import DynamicSettings  # noqa: PLC0415
    from runmuscles.muscles.dynamic_pipeline import dynamic_inputs  # noqa: PLC0415

    st = {
        "default": DynamicSettings.default(),
        "moco": DynamicSettings.moco(),
        "rigid": DynamicSettings.rigid_limit(),
    }[preset]
    load_before = os.getloadavg()
    walls, sol = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
        sol = solve_dynamic(inp, st)
        walls.append(time.perf_counter() - t0)
    load_after = os.getloadavg()
    wall = statistics.median(walls)
    n_comp = int(inp.compliant.sum())
    moco_s, moco_src = _moco_time(preset)
    print(
        f"dynamic muscle solution ({preset}): {len(a.muscle_names)} muscles ({n_comp} compliant), "
        f"{a.time_s.size} frames, mesh {st.mesh_interval_s} s: {wall:.1f} s (median of {len(walls)}), "
        f"converged={sol.converged}"
    )
    for b in sol.block_status:
        print(
            f"  block: {b['muscles']} muscles, {b['nodes']} nodes, {b['iterations']} iterations, "
            f"{b['status']}, build {b['build_s']} s, solve {b['solve_s']} s"
        )
    print(
        f"  host load average (1, 5, 15 min): before {load_before}, after {load_after}; "
        f"{os.cpu_count()} cores"
    )
    if moco_s is not None:
        print(f"  MocoInverse: {moco_s:.0f} s ({moco_src}); ratio {moco_s / wall:.1f}x")
    else:
        print(f"  MocoInverse: {moco_src}")
    return {
        "preset": preset,
        "compliant_muscles": n_comp,
        "mesh_interval_s": st.mesh_interval_s,
        "wall_s": walls,
        "median_wall_s": wall,
        "converged": bool(sol.converged),
        "blocks": sol.block_status,
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "moco_inverse_s": moco_s,
        "moco_inverse_source": moco_src,
        "ratio_vs_moco": None if moco_s is None else moco_s / wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", choices=("default", "moco", "rigid"), default=["default", "moco"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path, default=RECORD)
    args = ap.parse_args()

    from runmuscles.model import RunnerModel  # noqa: PLC0415
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    a = analyze_trial(
        spec.model, spec.coordinates, spec.forces, AnalysisOptions(speed_m_s=4.0, strength="volume", cycle=1)
    )
    model = RunnerModel.load(a.model_path)
    geo = model.muscle_geometry(a.coordinates.q, a.coordinates.qdot, strength="volume")
    record = {
        "case": "hamner2013 subject01 Run_4 cycle 1, volume strength",
        "muscles": len(a.muscle_names),
        "frames": int(a.time_s.size),
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "runs": [_bench(p, args.repeats, a, model, geo) for p in args.presets],
    }
    args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
