"""MocoInverse reference solutions of the bundled runner's stride, for the dynamic muscle solution.

Usage (from the repository root; tens of minutes per compliant solve on 2 cores)::

    .venv/bin/python benchmarks/moco_inverse_reference.py --run compliant_triceps
    .venv/bin/python benchmarks/moco_inverse_reference.py --run rigid

The stride is the one :mod:`check_whatif_moco` checks at grade 0: Hamner & Delp 2013 subject01
Run_4, stride 1, volume-scaled strength, exported by :func:`runmuscles.whatif.export_opensim`;
the Moco model's muscles get the same maximum isometric forces. Residual reduction is off
(``--residual-reduction`` turns it on), so that the stride stays the recorded one.

MocoInverse (OpenSim 4.6) solves the muscle redundancy with DeGroote-Fregly 2016 muscles
(De Groote F, Kinney AL, Rao AV, Fregly BJ (2016) Ann Biomed Eng 44:2922-2936), as Moco's own
inverse set-up does: passive fibre force ignored, active force-length curve widened 1.5x,
reserves of 1 N m optimal force per coordinate, activation dynamics, minimum squared
excitations (and reserve controls), a 0.02 s mesh; fibre damping 0.01 on every muscle. Runs:

- ``compliant_triceps``: soleus, medial and lateral gastrocnemius of both legs keep compliant
  tendons with implicit tendon dynamics (normalised tendon force a state), their tendon strain
  at one normalised force the model's own (Thelen 2003 ``FmaxTendonStrain``); every other
  tendon rigid.
- ``rigid``: every tendon rigid (the fallback reference, and the rigid limit of the dynamic
  solution).

``--variation`` names one documented change for a run that failed (``tol1e-2``: convergence
tolerance 1e-2 and 1000 iterations; ``mesh0.04``; ``seeded``: the compliant solve started from
the rigid solution). Each solve writes ``tests/data/moco_inverse/<name>.sto`` (activations,
normalised tendon forces, excitations and reserve controls over the mesh) and ``<name>.json``
(every setting, the model details a comparison must match, OpenSim version, iterations,
convergence status, objective, wall time, machine and host load); the stride's input files
(``stride/coordinates.mot``, ``grf.mot``, ``grf.xml``, ``condition.json``) go beside them.
Every run, failed ones included, is appended to ``benchmarks/moco_inverse_latest.json``.
Moco's threads are limited with ``OPENSIM_MOCO_PARALLEL`` (``--threads``, default 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_whatif_moco import REPO, TRICEPS_SURAE, _model, _solve, baseline_stride  # noqa: E402

OUT = REPO / "tests" / "data" / "moco_inverse"
RECORD = REPO / "benchmarks" / "moco_inverse_latest.json"

#: Settings of every run (Moco's inverse set-up plus the issue's settings known to converge).
BASE_SETTINGS = {
    "solver": "MocoInverse (MocoCasADiSolver, IPOPT with MUMPS), Hermite-Simpson transcription",
    "muscle_model": "DeGrooteFregly2016Muscle (ModOpReplaceMusclesWithDeGrooteFregly2016)",
    "passive_fiber_force": "ignored (ModOpIgnorePassiveFiberForcesDGF)",
    "active_force_width_scale": 1.5,
    "fiber_damping": 0.01,
    "reserves_optimal_force_n_m": 1.0,
    "mesh_interval_s": 0.02,
    "convergence_tolerance": 1e-3,
    "constraint_tolerance": 1e-3,
    "max_iterations": 1000,
    "tendon_compliance_dynamics_mode": "implicit",
    "objective": (
        "MocoInverse's 'excitation_effort' MocoControlGoal: the time integral over [t0, t1] of the sum "
        "of squared controls (every muscle excitation and every reserve control, weight 1 each, "
        "reserves_weight 1, exponent 2, not divided by duration, displacement or mass), plus the "
        "solver's minimize_implicit_auxiliary_derivatives term: weight 0.01 times the time integral "
        "of the squared derivative of each compliant muscle's normalised tendon force"
    ),
    "solver_settings": {
        "multibody_dynamics_mode": "implicit",
        "interpolate_control_mesh_interior_points": False,
        "optim_sparsity_detection": "random",
        "optim_finite_difference_scheme": "forward",
        "hessian_approximation": "limited-memory",
        "initial_guess": "Moco's default (from the variables' bounds)",
    },
}

RUNS = {
    "compliant_triceps": {"compliant_triceps": True},
    "rigid": {"compliant_triceps": False},
}

VARIATIONS = {
    "tol1e-2": {"convergence_tolerance": 1e-2, "max_iterations": 1000},
    "mesh0.04": {"mesh_interval_s": 0.04},
    "seeded": {"seeded_from": "rigid"},
    # a warm restart: the same run's last iterate (stopped, not converged) as the initial guess,
    # with the tolerance of the recorded what-if checks (benchmarks/moco_latest.json)
    "continued": {"seeded_from": None, "convergence_tolerance": 1e-2, "max_iterations": 1000},
    # the continued run's committed solution (``<run>_continued.sto``: every state, control and
    # tendon-force derivative on Moco's grid) as the initial guess, solved to MocoInverse's
    # default tolerance 1e-3
    "refined": {"seeded_from": None, "convergence_tolerance": 1e-3, "max_iterations": 1000},
}


def _shown(path) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def _host_load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _model_details(proc) -> dict:
    """Per muscle: the parameters a comparison must match (processed model, as solved)."""
    import opensim as osim  # noqa: PLC0415

    model = proc.process()
    model.initSystem()
    muscles = {}
    ms = model.getMuscles()
    for i in range(ms.getSize()):
        m = osim.DeGrooteFregly2016Muscle.safeDownCast(ms.get(i))
        muscles[m.getName()] = {
            "max_isometric_force_n": m.getMaxIsometricForce(),
            "optimal_fiber_length_m": m.getOptimalFiberLength(),
            "tendon_slack_length_m": m.getTendonSlackLength(),
            "pennation_angle_at_optimal_rad": m.getPennationAngleAtOptimalFiberLength(),
            "max_contraction_velocity_lopt_per_s": m.getMaxContractionVelocity(),
            "activation_time_constant_s": m.get_activation_time_constant(),
            "activation_dynamics_smoothing": m.get_activation_dynamics_smoothing(),
            "deactivation_time_constant_s": m.get_deactivation_time_constant(),
            "ignore_tendon_compliance": bool(m.get_ignore_tendon_compliance()),
            "tendon_strain_at_one_norm_force": m.get_tendon_strain_at_one_norm_force(),
            "fiber_damping": m.get_fiber_damping(),
            "active_force_width_scale": m.get_active_force_width_scale(),
            "ignore_passive_fiber_force": bool(m.get_ignore_passive_fiber_force()),
        }
    reserves = {}
    acts = model.getActuators()
    for i in range(acts.getSize()):
        ca = osim.CoordinateActuator.safeDownCast(acts.get(i))
        if ca is not None:
            reserves[ca.getName()] = {
                "coordinate": ca.get_coordinate(),
                "optimal_force_n_m": ca.getOptimalForce(),
                "min_control": ca.getMinControl(),
                "max_control": ca.getMaxControl(),
            }
    return {"muscles": muscles, "reserves": reserves}


def _write_solution(full: Path, out: Path) -> list[str]:
    """The solution's activations, normalised tendon forces, excitations and reserve controls
    (not the prescribed kinematics, which the stride's input files hold) as a ``.sto``."""
    import opensim as osim  # noqa: PLC0415

    from runmuscles.readers.opensim_files import write_storage  # noqa: PLC0415
    from runmuscles.tables import TimeTable  # noqa: PLC0415

    traj = osim.MocoTrajectory(str(full))
    cols, labels = [], []
    for name in traj.getStateNames():
        if name.endswith(("/activation", "/normalized_tendon_force")):
            labels.append(name)
            cols.append(traj.getState(name).to_numpy())
    for name in traj.getControlNames():
        labels.append(name)  # muscle excitations and reserve (CoordinateActuator) controls
        cols.append(traj.getControl(name).to_numpy())
    for name in traj.getDerivativeNames():  # implicit tendon dynamics: d(normalised force)/dt
        if name.endswith("normalized_tendon_force"):
            labels.append(name)
            cols.append(traj.getDerivative(name).to_numpy())
    time_s = traj.getTime().to_numpy()
    write_storage(
        out, TimeTable(time_s, np.column_stack(cols), labels, False, {}), name=out.stem, in_degrees=False
    )
    return labels


def _solve_from_table(proc, files, t0, t1, mesh, tolerance, max_iterations, out: Path, table: Path | None):
    """MocoInverse (its own settings, ``MocoInverse::initializeInternal``) started from a
    committed solution table (:func:`_write_solution`'s columns, on Moco's grid): each state,
    control and derivative of the guess that the table has."""
    import math  # noqa: PLC0415
    import time  # noqa: PLC0415

    import opensim as osim  # noqa: PLC0415

    from runmuscles.readers.opensim_files import read_storage  # noqa: PLC0415

    inverse = osim.MocoInverse()
    inverse.setModel(proc)
    inverse.setKinematics(osim.TableProcessor(str(files["coordinates"])))
    inverse.set_initial_time(t0)
    inverse.set_final_time(t1)
    inverse.set_mesh_interval(mesh)
    inverse.set_kinematics_allow_extra_columns(True)
    inverse.set_convergence_tolerance(tolerance)
    inverse.set_max_iterations(max_iterations)
    study = inverse.initialize()
    solver = study.initCasADiSolver()
    solver.set_multibody_dynamics_mode("implicit")
    solver.set_interpolate_control_mesh_interior_points(False)
    solver.set_minimize_implicit_auxiliary_derivatives(True)
    solver.set_implicit_auxiliary_derivatives_weight(0.01)
    solver.set_optim_convergence_tolerance(tolerance)
    solver.set_optim_constraint_tolerance(1e-3)
    solver.set_optim_sparsity_detection("random")
    solver.set_optim_finite_difference_scheme("forward")
    solver.set_num_mesh_intervals(int(math.ceil((t1 - t0) / mesh)))
    solver.set_optim_max_iterations(max_iterations)
    guess = solver.createGuess()
    if table is not None:
        prior = read_storage(table)
        cols = {label: np.asarray(prior.data[:, k], dtype=float) for k, label in enumerate(prior.labels)}
        t_prior = np.asarray(prior.time_s, dtype=float)
        t_guess = guess.getTime().to_numpy()

        def vec(name):
            return osim.Vector(np.interp(t_guess, t_prior, cols[name]).tolist())

        for name in guess.getStateNames():
            if name in cols:
                guess.setState(name, vec(name))
        for name in guess.getControlNames():
            if name in cols:
                guess.setControl(name, vec(name))
        for name in guess.getDerivativeNames():
            if name in cols:
                guess.setDerivative(name, vec(name))
        solver.setGuess(guess)
    start = time.perf_counter()
    sol = study.solve()
    wall = time.perf_counter() - start
    ok = bool(sol.success())
    if not ok:
        sol.unseal()
    info = {
        "status": str(sol.getStatus()),
        "iterations": int(sol.getNumIterations()),
        "objective": float(sol.getObjective()),
    }
    sol.write(str(out))
    return out, wall, ok, info


def _record(entry: dict) -> None:
    """Append one run to the record (a lock, since runs may go in parallel processes)."""
    RECORD.touch(exist_ok=True)
    with RECORD.open("r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        text = fh.read()
        record = json.loads(text) if text.strip() else {"about": __doc__.split("\n\n")[0], "runs": []}
        record["runs"].append(entry)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(record, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", choices=sorted(RUNS), required=True)
    ap.add_argument("--variation", choices=sorted(VARIATIONS), default=None)
    ap.add_argument("--threads", type=int, default=1, help="OPENSIM_MOCO_PARALLEL for the solve")
    ap.add_argument("--residual-reduction", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--work", type=Path, default=None, help="folder for Moco's full files (temporary)")
    args = ap.parse_args()
    os.environ["OPENSIM_MOCO_PARALLEL"] = str(args.threads)

    import opensim as osim  # noqa: PLC0415

    settings = dict(BASE_SETTINGS) | dict(RUNS[args.run])
    if args.variation:
        settings |= VARIATIONS[args.variation]
        if args.variation == "continued":
            settings["seeded_from"] = args.run
        if args.variation == "refined":
            settings["seeded_from"] = f"{args.run}_continued"
    name = args.run + (f"_{args.variation}" if args.variation else "")
    work = args.work or Path(tempfile.mkdtemp(prefix=f"runmuscles-moco-{name}-"))
    started = dt.datetime.now(dt.UTC)
    load_before = _host_load()
    spec, analysis, engine, rm, f0 = baseline_stride(residual_reduction=args.residual_reduction)
    from runmuscles.whatif import Condition, export_opensim  # noqa: PLC0415

    res = engine.evaluate(Condition(grade_pct=0.0))
    files = export_opensim(res, work / "stride")
    c = analysis.cycles[0]
    t0 = max(c.start_s, float(res.analysis.time_s[0]))
    t1 = min(c.end_s, float(res.analysis.time_s[-1]))
    args.out.mkdir(parents=True, exist_ok=True)
    stride_dir = args.out / "stride"
    stride_dir.mkdir(exist_ok=True)
    for key in ("coordinates", "grf_mot", "condition"):
        shutil.copy2(files[key], stride_dir / Path(files[key]).name)
    xml = Path(files["grf_xml"]).read_text().replace(str(Path(files["grf_mot"])), Path(files["grf_mot"]).name)
    (stride_dir / Path(files["grf_xml"]).name).write_text(xml)

    proc = _model(
        Path(spec.model),
        files,
        f0,
        compliant_triceps=settings["compliant_triceps"],
        tendon_dynamics=settings["tendon_compliance_dynamics_mode"],
        fiber_damping=settings["fiber_damping"],
    )
    details = _model_details(proc)
    guess = None
    if settings.get("seeded_from"):
        seed_full = args.out / f"{settings['seeded_from']}.full.sto"
        if args.variation == "refined":  # the committed table, not Moco's full trajectory
            seed_full = args.out / f"{settings['seeded_from']}.sto"
        guess = seed_full if seed_full.is_file() else None
        settings["seeded_from_file"] = None if guess is None else _shown(seed_full)
    full = work / f"{name}.full.sto"
    entry = {
        "name": name,
        "started_utc": started.isoformat(timespec="seconds"),
        "command": " ".join(["benchmarks/moco_inverse_reference.py", *sys.argv[1:]]),
        "settings": settings,
        "stride": {
            "trial": _shown(spec.coordinates),
            "model": _shown(spec.model),
            "analysis_options": {
                "speed_m_s": 4.0,
                "strength": "volume",
                "cycle": 1,
                "residual_reduction": args.residual_reduction,
            },
            "t0_s": t0,
            "t1_s": t1,
            "files": "tests/data/moco_inverse/stride/ (coordinates.mot, grf.mot, grf.xml, condition.json)",
        },
        "opensim_version": osim.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {socket.gethostname()}",
        "threads": args.threads,
        "host_load_1_5_15_min_before": load_before,
    }
    print(f"{name}: solving {t0:.3f}-{t1:.3f} s, settings {settings}", flush=True)
    try:
        solve = _solve_from_table if args.variation == "refined" else _solve
        out, wall, ok, info = solve(
            proc,
            files,
            t0,
            t1,
            settings["mesh_interval_s"],
            settings["convergence_tolerance"],
            settings["max_iterations"],
            full,
            guess,
        )
        entry |= {"wall_s": round(wall, 1), "converged": ok} | info
    except Exception as exc:  # noqa: BLE001 - a failed solve is recorded, not lost
        entry |= {"converged": False, "error": f"{type(exc).__name__}: {exc}"}
        ok = False
        out = None
    entry["host_load_1_5_15_min_after"] = _host_load()
    entry["finished_utc"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if out is not None and out.is_file():
        # kept beside the data (git-ignored) so a seeded run can start from it
        shutil.copy2(out, args.out / f"{name}.full.sto")
        entry["columns"] = _write_solution(out, args.out / f"{name}.sto")
        entry["solution"] = f"tests/data/moco_inverse/{name}.sto"
        (args.out / f"{name}.json").write_text(
            json.dumps(entry | {"model": details, "compliant_prefixes": list(TRICEPS_SURAE)}, indent=2) + "\n"
        )
        entry["columns"] = len(entry["columns"])
    _record(entry)
    print(json.dumps({k: v for k, v in entry.items() if k != "settings"}, indent=2), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
