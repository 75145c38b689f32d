"""Check the fast what-if muscle recomputation against OpenSim Moco's MocoInverse.

Usage (from the repository root; several minutes)::

    .venv/bin/python benchmarks/check_whatif_moco.py [--grades 0 10] [--mesh 0.02] [--json FILE]
        [--no-slope-adaptation] [--solutions DIR]

For each grade, the what-if engine transforms the bundled runner's stride (Hamner & Delp
2013, subject01, Run_4, cycle 1, volume-scaled strength) and exports its motion and ground
reaction forces in OpenSim's formats (:func:`runmuscles.whatif.export_opensim`). MocoInverse
(OpenSim 4.6) then solves the muscle redundancy on exactly that input, with the model's
gravity set to the tilted vector and the muscles given the same maximum isometric forces,
using Moco's standard inverse set-up: DeGroote-Fregly 2016 muscles, rigid tendons, passive
fibre force ignored, active force-length curve widened 1.5x, reserves of 1 N m per
coordinate, activation dynamics, minimum squared excitations.

Printed: per muscle group, the mean activation over the stride from runmuscles (static
optimization) and from MocoInverse, and each one's change from level to the slope. The two
muscle models and objectives differ (activation dynamics, curve shapes), so levels differ
somewhat; the check is whether the engine's *change* with grade agrees with Moco's.

Also printed: the net metabolic cost of each grade and its ratio to the first, from
runmuscles (its default energy model on its own solution) and from OpenSim's
``Bhargava2004SmoothedMuscleMetabolics`` (Bhargava LJ, Pandy MG, Anderson FC (2004) J Biomech
37:81-88; Moco's smoothed implementation with its default muscle parameters, basal rate left
out) on the Moco solution, next to the ratio of Minetti et al. (2002): an independent check of
how much an inverse, rigid-tendon muscle solution lets a muscle energy model rise uphill.
``--solutions DIR`` reuses an earlier run's solves (``DIR/grade_+0/moco_solution.sto``, ...)
and solves only the grades it lacks.

Records: ``benchmarks/moco_latest.json`` (the recorded form on the slope, 0, +10 and -10 %)
and ``benchmarks/moco_adapted_latest.json`` (the engine's default slope adaptation, 0 and
+10 %).
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
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

GROUPS = ("gluteals", "quadriceps", "hamstrings", "calves", "hip_flexors", "adductors")


def _ours(result) -> dict[str, float]:
    from runmuscles.analyses.groups import group_members  # noqa: PLC0415

    a = result.analysis
    c0, c1 = a.cycles[0].start_s, a.cycles[-1].end_s
    sel = (a.time_s >= c0) & (a.time_s <= c1)
    members = group_members(a.muscle_names)
    act = a.recruitment.activation[sel]
    return {g: float(act[:, [a.muscle_names.index(m) for m in members[g]]].mean()) for g in GROUPS}


#: Muscles given compliant tendons with ``--compliant-triceps`` (as Moco's own examples do for
#: the ankle plantarflexors, whose long tendons store and return most energy in running).
TRICEPS_SURAE = ("soleus", "med_gas", "lat_gas", "gasmed", "gaslat")


def _model(
    model_path: Path,
    files: dict,
    f0: dict[str, float],
    compliant_triceps: bool = False,
    tendon_strain: float | None = None,
    tendon_dynamics: str = "implicit",
    fiber_damping: float | None = None,
):
    """The model processor as MocoInverse solves it. With ``compliant_triceps`` the triceps
    surae keep compliant tendons (``tendon_dynamics`` implicit or explicit; the tendon strain
    at F0 that the model declares, or ``tendon_strain``), every other muscle a rigid one.
    ``fiber_damping`` (normalised, DeGroote et al. 2016) is set on every muscle when given
    (OpenSim 4.6's DeGrooteFregly2016Muscle default is 0)."""
    import opensim as osim  # noqa: PLC0415

    osim.Logger.setLevelString("Error")
    model = osim.Model(str(model_path))
    g = files["gravity_m_s2"]
    model.set_gravity(osim.Vec3(float(g[0]), float(g[1]), float(g[2])))
    muscles = model.getMuscles()
    for i in range(muscles.getSize()):
        m = muscles.get(i)
        if m.getName() in f0:
            m.setMaxIsometricForce(f0[m.getName()])
    # Prescribed kinematics already satisfy the model's coordinate couplers (the exported
    # coordinates include the dependent ones), and Simbody cannot factor the constraint
    # matrix when every mobility is prescribed: remove the constraints and the locks.
    model.updConstraintSet().clearAndDestroy()
    coords = model.updCoordinateSet()
    for i in range(coords.getSize()):  # locks are constraints too; the motion holds them
        coords.get(i).set_locked(False)
    model.finalizeConnections()
    proc = osim.ModelProcessor(model)
    proc.append(osim.ModOpAddExternalLoads(str(files["grf_xml"])))
    proc.append(osim.ModOpIgnoreTendonCompliance())
    proc.append(osim.ModOpReplaceMusclesWithDeGrooteFregly2016())
    proc.append(osim.ModOpIgnorePassiveFiberForcesDGF())
    proc.append(osim.ModOpScaleActiveFiberForceCurveWidthDGF(1.5))
    proc.append(osim.ModOpAddReserves(1.0))
    if not compliant_triceps and fiber_damping is None:
        return proc
    strain = {}
    for i in range(muscles.getSize()):
        thelen = osim.Thelen2003Muscle.safeDownCast(muscles.get(i))
        if thelen is not None:  # the hamner2013 models; other classes keep DGF's default
            strain[thelen.getName()] = float(thelen.get_FmaxTendonStrain())
    processed = proc.process()
    dgf = processed.updMuscles()
    for i in range(dgf.getSize()):
        m = osim.DeGrooteFregly2016Muscle.safeDownCast(dgf.get(i))
        if m is None:
            continue
        if fiber_damping is not None:
            m.set_fiber_damping(fiber_damping)
        if not compliant_triceps or not m.getName().startswith(TRICEPS_SURAE):
            continue
        m.set_ignore_tendon_compliance(False)
        m.set_tendon_compliance_dynamics_mode(tendon_dynamics)
        if tendon_strain is not None:
            m.set_tendon_strain_at_one_norm_force(tendon_strain)
        elif m.getName() in strain:
            m.set_tendon_strain_at_one_norm_force(strain[m.getName()])
    processed.finalizeConnections()
    return osim.ModelProcessor(processed)


def _moco(
    model_path: Path,
    files: dict,
    f0: dict[str, float],
    t0: float,
    t1: float,
    mesh: float,
    tolerance: float,
    max_iterations: int,
    solution: Path | None = None,
    compliant: bool = False,
    guess_from: Path | None = None,
    tendon: tuple[float | None, str] = (None, "implicit"),
):
    """Solve MocoInverse (or, with ``solution``, read an earlier solve's trajectory)."""
    from runmuscles.analyses.groups import group_members  # noqa: PLC0415

    out = Path(files["coordinates"]).parent / "moco_solution.sto"
    if solution is not None:
        out, wall, ok = solution, float("nan"), True
    else:
        out, wall, ok, _ = _solve(
            _model(model_path, files, f0, compliant, *tendon),
            files,
            t0,
            t1,
            mesh,
            tolerance,
            max_iterations,
            out,
            guess_from,
        )
    from runmuscles.readers.opensim_files import read_storage  # noqa: PLC0415

    try:
        table = read_storage(out)
        labels, data = list(table.labels), table.data
    except Exception:  # noqa: BLE001 - a header variant the reader does not know: plain parse
        lines = out.read_text().splitlines()
        i = next(k for k, x in enumerate(lines) if x.strip().lower() == "endheader")
        labels = lines[i + 1].split("\t")[1:]
        data = np.loadtxt(lines[i + 2 :], delimiter="\t", ndmin=2)[:, 1:]
    acts = {}
    for k, n in enumerate(labels):
        if n.endswith("/activation") and "/forceset/" in n:
            acts[n.split("/")[-2]] = data[:, k]
    members = group_members(list(acts))
    res = {g: float(np.mean([acts[m].mean() for m in members[g]])) for g in GROUPS if members[g]}
    return res, wall, ok, out


def _metabolic_cost(proc, solution: Path, mass_kg: float, speed_m_s: float) -> dict[str, float]:
    """Net metabolic cost (J/kg/m, basal rate excluded) of a MocoInverse solution by OpenSim's
    Bhargava et al. (2004) muscle energy model (Moco's smoothed implementation, its default
    muscle parameters), with negative mechanical work counted and not."""
    import opensim as osim  # noqa: PLC0415

    out = {}
    for negative in (True, False):
        model = proc.process()
        model.initSystem()
        metab = osim.Bhargava2004SmoothedMuscleMetabolics()
        metab.setName("metabolics")
        metab.set_use_smoothing(True)
        metab.set_include_negative_mechanical_work(negative)
        muscles = model.getMuscles()
        for i in range(muscles.getSize()):
            metab.addMuscle(muscles.get(i).getName(), muscles.get(i))
        model.addComponent(metab)
        model.finalizeConnections()
        model.initSystem()
        traj = osim.MocoTrajectory(str(solution))
        names = [
            "total_activation_rate",
            "total_maintenance_rate",
            "total_shortening_rate",
            "total_mechanical_work_rate",
        ]
        table = osim.analyzeMocoTrajectory(
            model, traj, osim.StdVectorString([f"/metabolics\\|{n}" for n in names])
        )
        t = np.asarray(table.getIndependentColumn())
        rate = sum(table.getDependentColumn(f"/metabolics|{n}").to_numpy() for n in names)
        energy = float(np.trapezoid(rate, t))
        out["with_negative_work" if negative else "positive_work_only"] = energy / (
            mass_kg * speed_m_s * (t[-1] - t[0])
        )
    return out


def _seeded_study(
    inverse, t0: float, t1: float, mesh: float, tolerance: float, max_iterations: int, rigid: Path
):
    """MocoInverse's study with an initial guess from a rigid-tendon solve of the same stride:
    states and controls where the names match, and each compliant tendon's normalized force
    started at that muscle's rigid-solve activation. ``MocoInverse.initialize`` returns a copy
    of its study whose solver must be initialised again, so MocoInverse's solver settings
    (OpenSim 4.6, ``MocoInverse::initializeInternal``) are set here once more."""
    import math  # noqa: PLC0415

    import opensim as osim  # noqa: PLC0415

    study = inverse.initialize()
    solver = study.initCasADiSolver()
    solver.set_multibody_dynamics_mode("implicit")
    # (OpenSim 4.6 names this setting interpolate_control_mesh_interior_points)
    for setting in ("set_interpolate_control_midpoints", "set_interpolate_control_mesh_interior_points"):
        if hasattr(solver, setting):
            getattr(solver, setting)(False)
            break
    solver.set_minimize_implicit_auxiliary_derivatives(True)
    solver.set_implicit_auxiliary_derivatives_weight(0.01)
    solver.set_optim_convergence_tolerance(tolerance)
    solver.set_optim_constraint_tolerance(1e-3)
    solver.set_optim_sparsity_detection("random")
    solver.set_optim_finite_difference_scheme("forward")
    solver.set_num_mesh_intervals(int(math.ceil((t1 - t0) / mesh - 1e-9)))
    solver.set_optim_max_iterations(max_iterations)
    guess = solver.createGuess()
    prior = osim.MocoTrajectory(str(rigid))
    prior.resampleWithNumTimes(guess.getNumTimes())
    have_states, have_controls = set(prior.getStateNames()), set(prior.getControlNames())

    def vec(v):
        return osim.Vector(v.to_numpy().tolist())

    for name in guess.getStateNames():
        source = name.replace("normalized_tendon_force", "activation")
        if name in have_states:
            guess.setState(name, vec(prior.getState(name)))
        elif source in have_states:
            guess.setState(name, vec(prior.getState(source)))
    for name in guess.getControlNames():
        if name in have_controls:
            guess.setControl(name, vec(prior.getControl(name)))
    solver.setGuess(guess)
    return study


def _solve(proc, files, t0, t1, mesh, tolerance, max_iterations, out: Path, guess_from: Path | None = None):
    import opensim as osim  # noqa: PLC0415

    inverse = osim.MocoInverse()
    inverse.setModel(proc)
    inverse.setKinematics(osim.TableProcessor(str(files["coordinates"])))
    inverse.set_initial_time(t0)
    inverse.set_final_time(t1)
    inverse.set_mesh_interval(mesh)
    inverse.set_kinematics_allow_extra_columns(True)
    inverse.set_convergence_tolerance(tolerance)
    inverse.set_max_iterations(max_iterations)
    start = time.perf_counter()
    if guess_from is not None:
        study = _seeded_study(inverse, t0, t1, mesh, tolerance, max_iterations, guess_from)
        sol = study.solve()
        # as MocoInverse.solve does: the prescribed coordinates go into the solution's states
        sol.unseal()
        sol.insertStatesTrajectory(osim.MocoTrajectory(str(guess_from)).exportToStatesTable(), False)
    else:
        # keep the MocoInverseSolution alive: getMocoSolution() returns a reference into it,
        # and a temporary would be freed at once by Python (SWIG), leaving a dangling solution
        inverse_solution = inverse.solve()
        sol = inverse_solution.getMocoSolution()
    wall = time.perf_counter() - start
    ok = bool(sol.success())
    if not ok:  # not converged (e.g. the iteration limit): keep the trajectory, say so
        sol.unseal()
    info = {
        "status": str(sol.getStatus()),
        "iterations": int(sol.getNumIterations()),
        "objective": float(sol.getObjective()),
    }
    # the trajectory goes through a file (read with the project's own reader)
    sol.write(str(out))
    return out, wall, ok, info


#: The analysis options of the baseline stride (the bundled runner at 4 m/s, stride 1).
BASELINE_OPTIONS = {"speed_m_s": 4.0, "strength": "volume", "cycle": 1}


def baseline_stride(**options):
    """The bundled runner's 4 m/s trial (Hamner & Delp 2013 subject01 Run_4), analysed with
    :data:`BASELINE_OPTIONS` (and ``options``, e.g. ``residual_reduction``), its what-if engine,
    its model, and the volume-scaled maximum isometric force of each muscle (N), which the Moco
    model is given too."""
    from runmuscles.model import RunnerModel  # noqa: PLC0415
    from runmuscles.model.strength import volume_scaled_max_isometric_force  # noqa: PLC0415
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415
    from runmuscles.whatif import WhatIfEngine  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == BASELINE_OPTIONS["speed_m_s"])
    analysis = analyze_trial(
        spec.model, spec.coordinates, spec.forces, AnalysisOptions(**(BASELINE_OPTIONS | options))
    )
    engine = WhatIfEngine(analysis)
    rm = RunnerModel.load(spec.model)
    geom = rm.geometry
    f0, _ = volume_scaled_max_isometric_force(
        list(geom.muscle_names),
        geom.max_isometric_force_n,
        geom.params,
        rm.body_mass_kg,
        rm.estimated_height_m(),
    )
    f0 = {n: float(v) for n, v in zip(geom.muscle_names, f0, strict=True)}
    return spec, analysis, engine, rm, f0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grades", type=float, nargs="+", default=[0.0, 10.0])
    ap.add_argument("--mesh", type=float, default=0.02, help="Moco mesh interval (s)")
    ap.add_argument("--tolerance", type=float, default=1e-3, help="IPOPT convergence tolerance")
    ap.add_argument("--max-iterations", type=int, default=500)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--no-slope-adaptation",
        action="store_true",
        help="the recorded form on the slope (gravity tilted only; see runmuscles.whatif)",
    )
    ap.add_argument(
        "--compliant-triceps",
        action="store_true",
        help="soleus and gastrocnemii with compliant tendons in the Moco solve (the rest rigid)",
    )
    ap.add_argument(
        "--tendon-strain",
        type=float,
        default=None,
        help="with --compliant-triceps: tendon strain at F0 (default: the model's own)",
    )
    ap.add_argument(
        "--tendon-dynamics",
        choices=("implicit", "explicit"),
        default="implicit",
        help="with --compliant-triceps: Moco's tendon compliance dynamics mode",
    )
    ap.add_argument(
        "--guess",
        type=Path,
        default=None,
        help="a folder of earlier (rigid-tendon) solves to start each solve from",
    )
    ap.add_argument(
        "--solutions",
        type=Path,
        default=None,
        help="a folder of earlier solves (grade_+0/moco_solution.sto, ...): reuse those, solve the rest",
    )
    args = ap.parse_args()

    from runmuscles.whatif import Condition, export_opensim  # noqa: PLC0415

    spec, analysis, engine, rm, f0 = baseline_stride()
    c = analysis.cycles[0]
    work = Path(tempfile.mkdtemp(prefix="runmuscles-moco-"))
    rows = {}
    for grade in args.grades:
        res = engine.evaluate(
            Condition(grade_pct=grade, slope_adaptation=not args.no_slope_adaptation), energetics=True
        )
        files = export_opensim(res, work / f"grade_{grade:+g}")
        name = f"grade_{grade:+g}"
        earlier = None if args.solutions is None else args.solutions / name / "moco_solution.sto"
        if earlier is not None and not earlier.is_file():
            earlier = None  # not solved before: solve it now
        t = time.perf_counter()
        ours = _ours(res)
        ours_s = time.perf_counter() - t + res.timings_s.get("total", 0.0)
        t_first, t_last = float(res.analysis.time_s[0]), float(res.analysis.time_s[-1])
        moco, moco_s, ok, solution = _moco(
            Path(spec.model),
            files,
            f0,
            max(c.start_s, t_first),
            min(c.end_s, t_last),
            args.mesh,
            args.tolerance,
            args.max_iterations,
            solution=earlier,
            compliant=args.compliant_triceps,
            tendon=(args.tendon_strain, args.tendon_dynamics),
            guess_from=None if args.guess is None else args.guess / name / "moco_solution.sto",
        )
        proc = _model(
            Path(spec.model), files, f0, args.compliant_triceps, args.tendon_strain, args.tendon_dynamics
        )
        cost = _metabolic_cost(proc, solution, rm.body_mass_kg, 4.0)
        rows[grade] = {
            "runmuscles": ours,
            "moco": moco,
            "moco_s": moco_s,
            "runmuscles_s": ours_s,
            "ok": ok,
            "runmuscles_net_cost_j_per_kg_m": res.energetics.get("net_metabolic_cost_j_per_kg_m"),
            "moco_bhargava_net_cost_j_per_kg_m": cost,
        }
        print(
            f"grade {grade:+g} %: MocoInverse {moco_s:.0f} s (success={ok}), runmuscles {ours_s:.2f} s",
            flush=True,
        )
    base = args.grades[0]
    print(f"\nmean activation over the stride, and change from grade {base:+g} %")
    print(f"{'group':12s} " + " ".join(f"{'ours ' + format(g, '+g'):>10s} {'moco':>7s}" for g in args.grades))
    for g in GROUPS:
        line = f"{g:12s} "
        for grade in args.grades:
            line += f"{rows[grade]['runmuscles'][g]:10.3f} {rows[grade]['moco'].get(g, float('nan')):7.3f}"
        print(line)
    for grade in args.grades[1:]:
        print(f"\nchange {base:+g} -> {grade:+g} % (per cent of the level value): group, runmuscles, Moco")
        for g in GROUPS:
            o0, o1 = rows[base]["runmuscles"][g], rows[grade]["runmuscles"][g]
            m0, m1 = rows[base]["moco"].get(g), rows[grade]["moco"].get(g)
            if m0 is None or m1 is None:
                continue
            print(f"  {g:12s} {100 * (o1 - o0) / o0:+7.1f} %  {100 * (m1 - m0) / m0:+7.1f} %")
    from runmuscles.analyses.energetics import minetti_2002_cost_j_per_kg_m  # noqa: PLC0415

    print("\nnet metabolic cost (J/kg/m) and its ratio to the first grade; Minetti et al. 2002 polynomial")
    for grade in args.grades:
        r, r0 = rows[grade], rows[base]
        ours, ours0 = r["runmuscles_net_cost_j_per_kg_m"], r0["runmuscles_net_cost_j_per_kg_m"]
        line = f"  {grade:+5g} %  runmuscles (Umberger/Uchida) {ours:.2f} (x{ours / ours0:.3f})"
        for k, v in r["moco_bhargava_net_cost_j_per_kg_m"].items():
            v0 = r0["moco_bhargava_net_cost_j_per_kg_m"][k]
            line += f"  Moco + Bhargava ({k.replace('_', ' ')}) {v:.2f} (x{v / v0:.3f})"
        ref = minetti_2002_cost_j_per_kg_m(grade) / minetti_2002_cost_j_per_kg_m(base)
        print(line + f"  Minetti x{ref:.3f}")
    if args.json:
        import platform  # noqa: PLC0415

        record = {
            "command": " ".join(["benchmarks/check_whatif_moco.py", *sys.argv[1:]]),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "rows": {str(k): v for k, v in rows.items()},
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
