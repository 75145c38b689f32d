"""Reference cases: real running trials set up for OpenSim's Static Optimization.

Not a test module: tests and benchmarks call these builders, each of which writes what it
needs into a given folder and returns the paths. Two cases:

* :func:`hamner_case`: a Hamner & Delp (2013) runner with the published scaled model and
  inverse kinematics, one right-foot gait cycle from ``gaitTimes.json``;
* :func:`rajagopal_case`: the Rajagopal et al. (2016) model scaled here with OpenSim's
  ScaleTool and the published scale setup, inverse kinematics with the published IK setup
  over one gait cycle found from the right foot's vertical force. The scaled model and the
  IK result are cached under ``~/.cache/runmuscles/reference/`` keyed by the inputs' hashes.

Data: Hamner SR, Delp SL (2013) J Biomech 46:780-787; Rajagopal A et al. (2016) IEEE TBME
63:2068-2079 (see ``shared/data/README.md``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runmuscles.errors import InputError
from runmuscles.kinematics.events import contact_intervals
from runmuscles.model.geometry import default_cache_dir
from runmuscles.opensim_adapter.tools import model_summary, run_inverse_kinematics, scale_model
from runmuscles.readers.opensim_files import read_storage
from runmuscles.readers.setup_files import (
    write_adapted_setup,
    write_analyze_so_setup,
    write_reserve_actuators,
)

DATA_DIR = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()

#: Coordinate low-pass cutoff used by OpenSim's example Static Optimization setups (Hz).
SO_CUTOFF_HZ = 12.0
#: Bump this when a builder changes what it writes into the cache.
_RECIPE = "rajagopal-case-v4"


@dataclass
class SOCase:
    """Everything OpenSim's Static Optimization needs for one gait cycle.

    Attributes
    ----------
    model, coordinates, external_loads
        Scaled model, IK coordinates, ExternalLoads file whose ``datafile`` resolves.
    t0, t1
        The gait cycle, right foot strike to right foot strike (s).
    reserves
        ForceSet of reserve and residual actuators appended to the model for SO.
    reserve_names
        Their names, in the order SO writes them (after the muscles and the model's own
        actuators).
    so_setup
        The AnalyzeTool setup; it writes into ``results_dir``.
    """

    name: str
    model: Path
    coordinates: Path
    external_loads: Path
    t0: float
    t1: float
    reserves: Path
    reserve_names: list[str]
    muscles: list[str]
    model_actuators: list[str]
    so_setup: Path
    results_dir: Path
    info: dict = field(default_factory=dict)


def _hash_files(paths: list[Path]) -> str:
    h = hashlib.sha256(_RECIPE.encode())
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _so_files(
    name: str,
    out: Path,
    model: Path,
    coordinates: Path,
    grf_xml: Path,
    grf_mot: Path,
    t0: float,
    t1: float,
    reserve_nm: float = 1.0,
    max_iterations: int = 100,
    convergence: float = 1e-4,
    residual_optimal_force: float = 1.0,
) -> SOCase:
    """Write the ExternalLoads copy, the reserves and the SO setup for one case into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    loads = write_adapted_setup(grf_xml, out / f"{name}_grf.xml", "ExternalLoads", {"datafile": str(grf_mot)})
    summary = model_summary(model)
    exclude = set(summary.locked) | set(summary.dependent) | set(summary.coordinate_actuators)
    reserves = out / f"{name}_reserves.xml"
    specs = write_reserve_actuators(
        reserves,
        summary.coordinates,
        optimal_force_nm=reserve_nm,
        residual_optimal_force=residual_optimal_force,
        exclude=exclude,
    )
    results = out / "so"
    setup = write_analyze_so_setup(
        out / f"{name}_so_setup.xml",
        name=name,
        model_file=model,
        coordinates_file=coordinates,
        external_loads_file=loads,
        force_set_files=[reserves],
        results_directory=results,
        initial_time=t0,
        final_time=t1,
        lowpass_cutoff_hz=SO_CUTOFF_HZ,
        optimizer_convergence_criterion=convergence,
        max_iterations=max_iterations,
    )
    return SOCase(
        name=name,
        model=model,
        coordinates=coordinates,
        external_loads=loads,
        t0=t0,
        t1=t1,
        reserves=reserves,
        reserve_names=[s.name for s in specs],
        muscles=summary.muscles,
        model_actuators=list(summary.coordinate_actuators.values()),
        so_setup=setup,
        results_dir=results,
    )


def hamner_case(
    out_dir: str | Path,
    subject: str = "subject01",
    trial: str = "Run_4",
    cycle: int = 1,
    *,
    max_duration_s: float | None = None,
    reserve_optimal_force_nm: float = 1.0,
    max_iterations: int = 100,
    convergence: float = 1e-4,
    residual_optimal_force: float = 1.0,
) -> SOCase:
    """A Hamner & Delp (2013) running trial, one gait cycle, ready for OpenSim's SO.

    Parameters
    ----------
    out_dir
        Folder for the ExternalLoads copy, reserves, setup and (when run) SO results.
    subject, trial, cycle
        Which runner (``subject01``..), speed (``Run_2``..``Run_5``) and cycle (1..3).
    max_duration_s
        Keep only the start of the cycle (for quick tests); None: the whole cycle.
    reserve_optimal_force_nm
        Optimal force of the joint reserves (residuals stay at 1): 1 N m makes reserve
        torque expensive in SO's cost, so muscles are used first.

    Returns
    -------
    SOCase
        Uses the published scaled model and IK coordinates (degrees, SIMM header without an
        ``inDegrees`` line, which OpenSim reads as degrees).
    """
    root = DATA_DIR / "hamner2013" / subject
    model = root / "model" / f"{subject}_adjusted_scaled.osim"
    coords = root / "ik" / f"{trial}.mot"
    grf_xml, grf_mot = root / f"{trial}_grf.xml", root / f"{trial}_grf.mot"
    for p in (model, coords, grf_xml, grf_mot, root / "gaitTimes.json"):
        if not p.exists():
            raise InputError(p, "reference data file not found")
    times = json.loads((root / "gaitTimes.json").read_text())["cycles"]
    key = trial.lower().replace("_", "")
    try:
        window = times[key][f"cycle{cycle}"]
    except KeyError:
        raise InputError(root / "gaitTimes.json", f"has no cycle{cycle} for {key}") from None
    name = f"hamner_{subject}_{trial}_c{cycle}"
    t0, t1 = float(window["initialTime"]), float(window["finalTime"])
    if max_duration_s is not None:
        t1 = min(t1, t0 + max_duration_s)
    return _so_files(
        name,
        Path(out_dir),
        model,
        coords,
        grf_xml,
        grf_mot,
        t0,
        t1,
        reserve_optimal_force_nm,
        max_iterations,
        convergence,
        residual_optimal_force,
    )


def right_foot_cycle(grf_mot: Path, column: str = "R_ground_force_vy", *, start_after_s: float = 0.0):
    """First full gait cycle (strike to strike) of the foot whose vertical force is ``column``.

    Foot strikes come from the project's one contact detector
    (:func:`runmuscles.kinematics.events.contact_intervals`).

    Returns
    -------
    tuple of float
        ``(t0, t1)``: the first two foot strikes after ``start_after_s`` (s).
    """
    table = read_storage(grf_mot)
    t = table.time_s
    rate = (t.size - 1) / (t[-1] - t[0])
    strikes = [
        t[a] for a, _ in contact_intervals(table.column(column), rate) if a > 0 and t[a] >= start_after_s
    ]
    if len(strikes) < 2:
        raise InputError(grf_mot, f"fewer than two foot strikes in '{column}'")
    return float(strikes[0]), float(strikes[1])


def rajagopal_case(
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    pad_s: float = 0.05,
    reserve_optimal_force_nm: float = 1.0,
    max_iterations: int = 100,
    convergence: float = 1e-4,
    residual_optimal_force: float = 1.0,
) -> SOCase:
    """The Rajagopal (2016) running trial: scaled, IK over one gait cycle, ready for SO.

    Parameters
    ----------
    out_dir
        Folder for the ExternalLoads copy, reserves, setup and (when run) SO results.
    cache_dir
        Where the scaled model and IK result are kept between runs (default
        the project's cache folder ``reference/``, see
        :func:`runmuscles.model.geometry.default_cache_dir`); a sub-folder named by
        the inputs' hash.
    pad_s
        IK runs this much beyond both ends of the cycle, so filtering and differentiation
        at the cycle's ends use real data.
    reserve_optimal_force_nm
        As for :func:`hamner_case`.

    Returns
    -------
    SOCase
        ``info`` holds the build timings (``scale_s``, ``ik_s``, ``build_s``), marker errors
        and whether the cache was used.
    """
    d = DATA_DIR / "rajagopal2016-running"
    inputs = {
        "model": DATA_DIR / "models" / "Rajagopal2016.osim",
        "static": d / "static_run.trc",
        "scale_setup": d / "setup" / "scale_setup_run.xml",
        "ik_setup": d / "setup" / "ik_setup_run.xml",
        "trial": d / "motion_capture_run.trc",
        "grf_mot": d / "grf_run.mot",
        "grf_xml": d / "setup" / "grf_run.xml",
    }
    for p in inputs.values():
        if not p.exists():
            raise InputError(p, "reference data file not found")
    key = _hash_files(list(inputs.values()))[:16]
    base = Path(cache_dir) if cache_dir else default_cache_dir()
    cache = base / "reference" / f"rajagopal2016-run-{key}" if cache_dir is None else base / key
    info_path = cache / "case.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        info["from_cache"] = True
    else:
        cache.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix="build-", dir=cache.parent))
        try:
            info = _build_rajagopal(inputs, build, pad_s)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        try:
            os.replace(build, cache)
        except OSError:  # another process built it first
            shutil.rmtree(build, ignore_errors=True)
        info["from_cache"] = False
    case = _so_files(
        "rajagopal2016_run",
        Path(out_dir),
        cache / "scaled.osim",
        cache / "ik.mot",
        inputs["grf_xml"],
        inputs["grf_mot"],
        float(info["t0"]),
        float(info["t1"]),
        reserve_optimal_force_nm,
        max_iterations,
        convergence,
        residual_optimal_force,
    )
    case.info = info
    return case


def _build_rajagopal(inputs: dict[str, Path], build: Path, pad_s: float) -> dict:
    """Scale the model and run IK into ``build``; return timings and marker errors."""
    t_start = time.perf_counter()
    scaled = scale_model(
        build / "scaled.osim",
        setup_xml=inputs["scale_setup"],
        generic_model=inputs["model"],
        static_trc=inputs["static"],
    )
    t_scaled = time.perf_counter()
    t0, t1 = right_foot_cycle(inputs["grf_mot"])
    ik = run_inverse_kinematics(
        build / "scaled.osim",
        inputs["trial"],
        build / "ik.mot",
        setup_xml=inputs["ik_setup"],
        t0=round(t0 - pad_s, 2),
        t1=round(t1 + pad_s, 2),
    )
    t_done = time.perf_counter()
    info = {
        "t0": t0,
        "t1": t1,
        "scale_s": t_scaled - t_start,
        "ik_s": t_done - t_scaled,
        "build_s": t_done - t_start,
        "scale_marker_rms_m": scaled.marker_rms_m,
        "scale_marker_max_m": scaled.marker_max_m,
        "scale_missing_markers": scaled.missing_markers,
        "ik_marker_rms_mean_m": float(np.mean(ik.rms_m)),
        "ik_marker_max_m": float(np.max(ik.max_m)),
        "ik_frames": int(ik.time_s.size),
    }
    (build / "case.json").write_text(json.dumps(info, indent=1))
    return info


def summarise_so(case: SOCase, activation_path: Path, force_path: Path, *, saturated: float = 0.99) -> dict:
    """Numbers worth reporting from one OpenSim SO run on a case.

    Returns
    -------
    dict
        ``n_frames``; ``n_saturated`` (muscles whose activation reaches ``saturated`` in
        some frame) and their names; peak absolute reserve torque per reserve (N m) and
        the largest; peak residual forces and moments.
    """
    act = read_storage(activation_path)
    frc = read_storage(force_path)
    muscles = [m for m in case.muscles if m in act]
    peak_act = act.columns(muscles).max(axis=0)
    sat = [m for m, a in zip(muscles, peak_act, strict=True) if a >= saturated]
    reserves = [r for r in case.reserve_names if r.endswith("_reserve")]
    residuals = [r for r in case.reserve_names if r.endswith("_residual")]
    peak_res = {r: float(np.abs(frc.column(r)).max()) for r in reserves}
    top = sorted(peak_res.items(), key=lambda kv: -kv[1])[:5]
    return {
        "n_frames": act.n_frames,
        "n_muscles": len(muscles),
        "n_saturated": len(sat),
        "saturated": sat,
        "reserve_peak_nm": peak_res,
        "top_reserves_nm": top,
        "reserve_rms_nm": float(np.sqrt(np.mean(np.square(frc.columns(reserves))))),
        "residual_peak": {r: float(np.abs(frc.column(r)).max()) for r in residuals},
    }
