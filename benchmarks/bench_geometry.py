"""Cold geometry-cache build for a new scaled model (issue 17, part 5): time and agreement.

Usage (from the repository root, with ../shared/data beside it)::

    .venv/bin/python benchmarks/bench_geometry.py [--dense] [--reference-dir DIR] [--json FILE]

For a scaled Hamner 2013 subject (Hamner 2010 model, 92 muscles) and a Fukuchi 2017 subject
(a DeGroote-Fregly model, 40 muscles), in an empty cache folder (cold: no geometry cache):

* the build's wall time and CPU time (the process's own time: what it takes on an idle
  core; the host is shared, so the 1-minute load average is printed before and after),
  split into OpenSim's own sampling time and the fitting time, with the number of OpenSim
  configurations and of muscle evaluations; target <= 10 s;
* agreement of moment arms with OpenSim (RMS and max over the spanned muscle-coordinate
  pairs) on running frames (hamner2013 subject01 Run_2..Run_5, every 4th frame, as
  ``tests/test_geometry.py``); accepted: 0.5 mm RMS;
* OpenSim's own time to compute the exact geometry at those frames (per frame);
* ``--dense``: the same build with a 10000-configuration base design (all muscles at every
  configuration, as the former uniform design did), timed, and the RMS difference of the
  fast build's moment arms from it; accepted: 0.1 mm RMS;
* ``--reference-dir``: caches written by the former code (``hamner.npz``, ``fukuchi.npz``,
  e.g. built from an older checkout with ``MuscleGeometry.build(...).save(...)``), compared
  the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

DATA = REPO / ".." / "shared" / "data"
MODELS = {
    "hamner": DATA / "hamner2013" / "subject01" / "model" / "subject01_adjusted_scaled.osim",
    "fukuchi": DATA / "fukuchi2017" / "RBDS001" / "RBDS001_complex.osim",
}


def _moment_arm_stats(ev, ref, spans) -> tuple[float, float]:
    import numpy as np  # noqa: PLC0415

    err = (ev - ref)[:, spans]
    return float(np.sqrt(np.mean(err**2))), float(np.abs(err).max())


def _load_former(path: Path):
    """A cache of the former format (4: the same arrays, another design), for comparison only."""
    import numpy as np  # noqa: PLC0415

    from runmuscles.model import geometry  # noqa: PLC0415

    current = geometry.FORMAT_VERSION
    with np.load(path) as z:
        geometry.FORMAT_VERSION = int(z["format_version"])
    try:
        return geometry.MuscleGeometry.load(path)
    finally:
        geometry.FORMAT_VERSION = current


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dense", action="store_true", help="also build with a 10000-configuration design")
    ap.add_argument("--reference-dir", type=Path, default=None, help="caches built by the former code")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import numpy as np  # noqa: PLC0415
    from test_geometry import running_frames  # noqa: PLC0415 - tests/ on sys.path

    from runmuscles.model.geometry import MuscleGeometry  # noqa: PLC0415
    from runmuscles.opensim_adapter.geometry import GeometrySampler  # noqa: PLC0415

    report: dict = {"machine": platform.platform(), "cpus": os.cpu_count(), "models": {}}
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    for name, path in MODELS.items():
        if not path.exists():
            print(f"{name}: {path} not present, skipped")
            continue
        row: dict = {"model": str(path.resolve())}
        with tempfile.TemporaryDirectory(prefix="runmuscles-bench-geometry-") as cache:
            row["load_before"] = os.getloadavg()[0]
            t, c = time.perf_counter(), time.process_time()
            geom = MuscleGeometry.for_model(path, cache_dir=cache)
            row["build_wall_s"] = time.perf_counter() - t
            row["build_cpu_s"] = time.process_time() - c
            row["load_after"] = os.getloadavg()[0]
        rep = geom.fit_report
        row["opensim_sampling_s"] = float(rep["sampling_s"])
        row["fitting_s"] = float(rep["fitting_s"])
        row["configurations"] = int(rep["n_samples"])
        row["muscle_evaluations"] = int(rep["muscle_samples"])
        row["mirror_pairs"] = int(rep["mirror_pairs"])
        sampler = GeometrySampler(path)
        q, qd = running_frames(sampler.info)
        q, qd = q[geom.inside_domain(q)], qd[geom.inside_domain(q)]
        t = time.perf_counter()
        exact = sampler.sample(q, qd)
        row["opensim_exact_ms_per_frame"] = 1e3 * (time.perf_counter() - t) / len(q)
        row["frames"] = len(q)
        spans = np.abs(exact["moment_arm_m"]).max(axis=0) > 1e-6
        ev = geom.evaluate(q, qd)
        row["vs_opensim_rms_mm"], row["vs_opensim_max_mm"] = (
            1e3 * v for v in _moment_arm_stats(ev.moment_arm_m, exact["moment_arm_m"], spans)
        )
        refs = {}
        if args.dense:
            t = time.perf_counter()
            refs["dense"] = MuscleGeometry.build(path, n_samples=10000)
            row["dense_build_wall_s"] = time.perf_counter() - t
        if args.reference_dir is not None and (args.reference_dir / f"{name}.npz").exists():
            refs["former"] = _load_former(args.reference_dir / f"{name}.npz")
        for label, ref in refs.items():
            er = ref.evaluate(q, qd)
            rms, mx = _moment_arm_stats(ev.moment_arm_m, er.moment_arm_m, spans)
            row[f"vs_{label}_rms_mm"], row[f"vs_{label}_max_mm"] = 1e3 * rms, 1e3 * mx
            rms, _ = _moment_arm_stats(er.moment_arm_m, exact["moment_arm_m"], spans)
            row[f"{label}_vs_opensim_rms_mm"] = 1e3 * rms
        report["models"][name] = row
        print(
            f"{name}: cold build {row['build_wall_s']:.1f} s wall, {row['build_cpu_s']:.1f} s CPU "
            f"(target <= 10 s; OpenSim sampling {row['opensim_sampling_s']:.1f} s, fitting "
            f"{row['fitting_s']:.1f} s; {row['configurations']} configurations, "
            f"{row['muscle_evaluations']} muscle evaluations; load {row['load_before']:.1f} -> "
            f"{row['load_after']:.1f})"
        )
        print(
            f"  moment arms vs OpenSim on {row['frames']} running frames: RMS "
            f"{row['vs_opensim_rms_mm']:.3f} mm, max {row['vs_opensim_max_mm']:.2f} mm "
            "(accepted 0.5 mm RMS); "
            f"OpenSim exact {row['opensim_exact_ms_per_frame']:.2f} ms/frame"
        )
        for label in refs:
            extra = f", built in {row['dense_build_wall_s']:.1f} s" if label == "dense" else ""
            print(
                f"  vs the {label} fit{extra}: RMS {row[f'vs_{label}_rms_mm']:.3f} mm, max "
                f"{row[f'vs_{label}_max_mm']:.2f} mm (accepted 0.1 mm RMS); the {label} fit vs OpenSim "
                f"{row[f'{label}_vs_opensim_rms_mm']:.3f} mm RMS"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
