"""Time the dynamic muscle solution on one stride (92 muscles, both legs, compliant tendons).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_dynamic.py [--presets default moco rigid] [--repeats 1] [--workers N]
        [--json FILE]

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


def _moco_time(preset: str) -> tuple[float | None, float | None, str]:
    """MocoInverse's recorded wall time for the matching problem (a run stopped unconverged and
    its warm-started continuation count together: together they are the solve), its recorded
    CPU seconds in IPOPT (a lower bound: the continuation's are not recorded), and the source."""
    if not MOCO_RECORD.is_file():
        return None, None, f"{MOCO_RECORD.name} not found: no MocoInverse time recorded yet"
    try:
        data = json.loads(MOCO_RECORD.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return None, None, f"{MOCO_RECORD.name} unreadable ({exc})"
    runs = [r for r in (data if isinstance(data, list) else data.get("runs", [data])) if isinstance(r, dict)]
    by_name = {str(r.get("name") or r.get("run") or ""): r for r in runs}
    want = "rigid" if preset == "rigid" else "compliant_triceps"
    first = by_name.get(want)
    if first is None or not isinstance(first.get("wall_s"), int | float):
        return None, None, f"no '{want}' run in {MOCO_RECORD.name}"
    wall = float(first["wall_s"])
    cpu = sum(float(v) for k, v in (first.get("ipopt_final") or {}).items() if k.endswith("cpu_s")) or None
    parts = [f"'{want}' ({first.get('iterations')} iterations, {first.get('status')})"]
    cont = by_name.get(f"{want}_continued")
    ok = bool(first.get("converged"))
    if cont is not None and isinstance(cont.get("wall_s"), int | float):
        wall += float(cont["wall_s"])
        ok = bool(cont.get("converged"))
        parts.append(f"'{want}_continued' ({cont.get('iterations')} iterations, {cont.get('status')})")
    src = f"{MOCO_RECORD.name}: {' + '.join(parts)}; {'converged' if ok else 'not converged'}"
    return wall, cpu, src


def _bench(preset: str, repeats: int, a, model, geo, workers: int | None = None) -> dict:
    from runmuscles.muscles.dynamic import solve_dynamic  # noqa: PLC0415
    from runmuscles.muscles.dynamic_model import DynamicSettings  # noqa: PLC0415
    from runmuscles.muscles.dynamic_pipeline import dynamic_inputs  # noqa: PLC0415

    st = {
        "default": DynamicSettings.default(),
        "moco": DynamicSettings.moco(),
        "rigid": DynamicSettings.rigid_limit(),
    }[preset]
    if workers is not None:
        st = st.with_(block_workers=workers)
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
    moco_s, moco_cpu_s, moco_src = _moco_time(preset)
    cpu = sum(float(b.get("cpu_s", 0.0)) for b in sol.block_status)
    print(
        f"dynamic muscle solution ({preset}): {len(a.muscle_names)} muscles ({n_comp} compliant), "
        f"{a.time_s.size} frames, mesh {st.mesh_interval_s} s: {wall:.1f} s (median of {len(walls)}), "
        f"converged={sol.converged}; CPU {cpu:.1f} s in the blocks' solver processes"
    )
    for b in sol.block_status:
        print(
            f"  block: {b['muscles']} muscles, {b['nodes']} nodes, {b['iterations']} iterations, "
            f"{b['status']}, build {b['build_s']} s, solve {b['solve_s']} s, CPU {b.get('cpu_s')} s"
        )
    print(
        f"  host load average (1, 5, 15 min): before {load_before}, after {load_after}; "
        f"{os.cpu_count()} cores"
    )
    if moco_s is not None:
        cpu_ratio = "" if moco_cpu_s is None else f"; CPU {moco_cpu_s:.0f} s, ratio {moco_cpu_s / cpu:.1f}x"
        print(f"  MocoInverse: wall {moco_s:.0f} s ({moco_src}); ratio {moco_s / wall:.1f}x{cpu_ratio}")
    else:
        print(f"  MocoInverse: {moco_src}")
    return {
        "preset": preset,
        "compliant_muscles": n_comp,
        "mesh_interval_s": st.mesh_interval_s,
        "wall_s": walls,
        "median_wall_s": wall,
        "cpu_s": cpu,
        "block_workers": st.block_workers,
        "converged": bool(sol.converged),
        "blocks": sol.block_status,
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "moco_inverse_s": moco_s,
        "moco_inverse_source": moco_src,
        "moco_inverse_cpu_s": moco_cpu_s,
        "ratio_vs_moco": None if moco_s is None else moco_s / wall,
        "cpu_ratio_vs_moco": None if moco_cpu_s is None else moco_cpu_s / cpu,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", choices=("default", "moco", "rigid"), default=["default", "moco"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None, help="block_workers (default: the preset's)")
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
        "runs": [_bench(p, args.repeats, a, model, geo, args.workers) for p in args.presets],
    }
    args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
