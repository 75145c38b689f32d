"""The dynamic muscle solution set up as OpenSim's MocoInverse solves a stride, and compared
with a recorded MocoInverse solution (issue 15).

A MocoInverse reference (``benchmarks/moco_inverse_reference.py``) solves one stride with its
own model processing; to solve the *same* optimal control problem the dynamic solver needs,
besides :meth:`~runmuscles.muscles.dynamic_model.DynamicSettings.moco`:

* the same generalized forces: MocoInverse prescribes the coordinates through a
  ``PositionMotion`` built from OpenSim's ``GCVSplineSet`` of the kinematics table (degree 5,
  zero error variance: the natural interpolating quintic spline of Woltring HJ (1986) Adv Eng
  Softw 8:104-113), fitted to the stride's frames only; its velocities and accelerations are
  that spline's derivatives (:func:`spline_kinematics`), which differ from a whole-trial
  derivative near the stride's ends;
* the same coordinates and reserves: the reference removes the model's constraints and
  locks, so every coordinate (the locked subtalar, toe and wrist joints too) must be in
  equilibrium, each with a 1 N m reserve (``ModOpAddReserves(1)``) whose squared control is in
  the objective (:func:`moco_inverse_problem`);
* the same collocation: Hermite-Simpson on the reference's grid (its mesh points and interval
  midpoints, :func:`moco_grid`), the inputs computed there (:func:`moco_inverse_stride`);
* the model's muscle settings as the reference ran them: time constants and activation
  smoothing (:func:`moco_settings`).

:func:`compare_activations` gives the per-muscle agreement (mean activations, RMS difference,
correlation) on the reference's time grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dynamic_model import DynamicSettings
from .recruitment import RecruitmentProblem, Reserves, build_recruitment_problem

__all__ = [
    "MuscleAgreement",
    "agreement_table",
    "compare_activations",
    "MocoStride",
    "moco_grid",
    "moco_inverse_stride",
    "resample_body_loads",
    "moco_settings",
    "read_moco_activations",
    "spline_kinematics",
]


def spline_kinematics(
    time_s: np.ndarray, q: np.ndarray, at_s: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, first and second derivatives ``(F, C)`` at ``at_s`` (default: the samples) of
    the natural quintic spline through the samples (third and fourth derivatives zero at both
    ends): OpenSim's ``GCVSplineSet(table)`` (degree 5, error variance 0), as MocoInverse's
    ``PositionMotion`` differentiates its kinematics."""
    at = time_s if at_s is None else at_s
    return tuple(_natural_spline(time_s, q, 5, at, d) for d in (0, 1, 2))


def moco_grid(t0_s: float, t1_s: float, mesh_interval_s: float) -> np.ndarray:
    """MocoInverse's collocation points: ``ceil((t1 - t0) / mesh_interval)`` equal mesh
    intervals (``MocoTool::updateTimeInfo``: never longer than asked), each with its midpoint
    (Hermite-Simpson)."""
    n = int(np.ceil((t1_s - t0_s) / mesh_interval_s))
    return np.linspace(t0_s, t1_s, 2 * n + 1)


def _natural_spline(t: np.ndarray, y: np.ndarray, degree: int, t_new: np.ndarray, derivative: int = 0):
    """The natural interpolating spline of odd ``degree`` through ``(t, y)`` (along axis 0):
    derivatives ``(degree + 1) / 2 .. degree - 1`` zero at both ends (Woltring 1986's GCVSPL
    with zero error variance, OpenSim's ``GCVSpline``)."""
    from scipy.interpolate import make_interp_spline  # noqa: PLC0415

    y = np.asarray(y, dtype=float)
    zero = np.zeros(y.shape[1:])
    natural = [(d, zero) for d in range((degree + 1) // 2, degree)]
    spline = make_interp_spline(np.asarray(t, float), y, k=degree, bc_type=(natural, natural), axis=0)
    return spline(np.asarray(t_new, float), derivative)


def resample_body_loads(loads: list, time_s: np.ndarray, new_time_s: np.ndarray) -> list:
    """External loads at other times, as OpenSim's ``ExternalForce`` reads its data: a natural
    cubic spline (``GCVSpline`` of degree 3) through each force, point and torque component
    (more than three samples; linear with two or three)."""
    from dataclasses import replace  # noqa: PLC0415

    out = []
    for load in loads:
        if len(time_s) > 3:

            def at(v):
                return None if v is None else _natural_spline(time_s, v, 3, new_time_s)

        else:

            def at(v):
                if v is None:
                    return None
                v = np.asarray(v, dtype=float)
                return np.stack([np.interp(new_time_s, time_s, v[:, i]) for i in range(v.shape[1])], axis=1)

        out.append(
            replace(load, force_n=at(load.force_n), point_m=at(load.point_m), torque_nm=at(load.torque_nm))
        )
    return out


@dataclass
class MocoStride:
    """The stride as MocoInverse solves it: times, muscle geometry there, the problem."""

    time_s: np.ndarray
    geometry: object
    problem: RecruitmentProblem


def moco_inverse_stride(model, analysis, *, strength: str, time_s: np.ndarray | None = None) -> MocoStride:
    """The muscle redundancy problem of a MocoInverse reference on an analysed stride.

    Parameters
    ----------
    model
        :class:`runmuscles.model.RunnerModel` of the analysis.
    analysis
        :class:`runmuscles.pipeline.TrialAnalysis` of the stride (its frames are the
        reference's kinematics table; its external loads the reference's).
    strength
        The analysis's strength model (the reference's maximum isometric forces).
    time_s
        Where to set the problem up (e.g. :func:`moco_grid`); default: the analysis frames.

    Returns
    -------
    MocoStride
        Every coordinate independent with a 1 N m reserve (no constraint, no lock), the
        generalized forces from inverse dynamics on :func:`spline_kinematics` of the frames,
        the loads by :func:`resample_body_loads`, the geometry at the spline's coordinates.
    """
    from ..dynamics.inverse import inverse_dynamics  # noqa: PLC0415

    ck = analysis.coordinates
    frames = np.asarray(ck.time_s, dtype=float)
    t = frames if time_s is None else np.asarray(time_s, dtype=float)
    q, qd, qdd = (_natural_spline(frames, ck.q, 5, t, d) for d in (0, 1, 2))
    loads = list(analysis.body_loads or []) + list(analysis.extra_loads or [])
    if time_s is not None:
        loads = resample_body_loads(loads, frames, t)
    tau = inverse_dynamics(model.multibody, q, qd, qdd, loads or None)
    geo = model.muscle_geometry(q, qd, strength=strength)
    coords = list(model.coordinate_names)
    problem = build_recruitment_problem(
        coordinate_names=coords,
        generalized_forces=tau,
        muscle_names=model.muscle_names,
        moment_arms_m=geo.moment_arm_m,
        strength_n=geo.strength_n,
        min_activation=model.min_activation,
        max_activation=model.max_activation,
        reserves=Reserves.for_coordinates(coords, optimal_force=1.0),
        independent=coords,
    )
    return MocoStride(t, geo, problem)


def moco_settings(record: dict, compliant: str = "triceps_surae") -> DynamicSettings:
    """:meth:`DynamicSettings.moco` with the reference's recorded muscle settings (its
    ``model.muscles``, as the processed model had them, and its ``settings``), and Moco's
    transcription: Hermite-Simpson with every input time a node, for inputs on the
    reference's own grid (:func:`moco_grid`, :func:`moco_inverse_stride`). Raises
    ``ValueError`` when the muscles differ in a setting the solver takes as one value."""
    muscles = list(record.get("model", {}).get("muscles", {}).values())
    settings = record.get("settings", {})
    st = DynamicSettings.moco(compliant=compliant).with_(
        transcription="hermite_simpson",
        mesh_interval_s=None,
        fibre_damping=float(settings.get("fiber_damping", 0.01)),
        active_force_width_scale=float(settings.get("active_force_width_scale", 1.5)),
    )
    keys = {
        "activation_time_constant_s": "activation_time_constant_s",
        "deactivation_time_constant_s": "deactivation_time_constant_s",
        "activation_dynamics_smoothing": "activation_smoothing",
    }
    changes = {}
    for key, field_name in keys.items():
        values = {float(m[key]) for m in muscles if key in m}
        if len(values) > 1:
            raise ValueError(f"the reference's muscles differ in {key}: {sorted(values)}")
        if values:
            changes[field_name] = values.pop()
    return st.with_(**changes)


def read_moco_activations(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time (s) and each muscle's activation from a MocoInverse solution ``.sto``."""
    from ..readers.opensim_files import read_storage  # noqa: PLC0415

    table = read_storage(path)
    acts = {}
    for k, label in enumerate(table.labels):
        if label.endswith("/activation"):
            acts[label.split("/")[-2]] = np.asarray(table.data[:, k], dtype=float)
    return np.asarray(table.time_s, dtype=float), acts


@dataclass(frozen=True)
class MuscleAgreement:
    """One muscle's activations, ours against the reference's, on the reference's grid."""

    muscle: str
    mean_reference: float
    mean_ours: float
    rms: float
    r: float

    def agrees(self, max_rms: float = 0.05, min_r: float = 0.9) -> bool:
        return self.rms <= max_rms and self.r >= min_r


def compare_activations(
    time_s: np.ndarray,
    activation: np.ndarray,
    muscle_names: list[str],
    reference_time_s: np.ndarray,
    reference: dict[str, np.ndarray],
) -> list[MuscleAgreement]:
    """Per muscle (those in both): our activation ``(F, M)``, interpolated linearly to the
    reference's times inside our time range, against the reference's."""
    t = np.asarray(time_s, dtype=float)
    tr = np.asarray(reference_time_s, dtype=float)
    sel = (tr >= t[0] - 1e-9) & (tr <= t[-1] + 1e-9)
    out = []
    for j, m in enumerate(muscle_names):
        if m not in reference:
            continue
        ref = reference[m][sel]
        ours = np.interp(tr[sel], t, activation[:, j])
        rms = float(np.sqrt(np.mean((ours - ref) ** 2)))
        r = float(np.corrcoef(ours, ref)[0, 1]) if min(np.std(ours), np.std(ref)) > 1e-12 else float("nan")
        out.append(MuscleAgreement(m, float(ref.mean()), float(ours.mean()), rms, r))
    return out


def agreement_table(rows: list[MuscleAgreement], min_mean: float = 0.05) -> str:
    """A plain-text table of :func:`compare_activations` with a summary line."""
    lines = [f"{'muscle':14s} {'Moco':>6s} {'ours':>6s} {'RMS':>6s} {'r':>6s}"]
    for a in rows:
        flag = "" if a.mean_reference <= min_mean or a.agrees() else "  x"
        lines.append(
            f"{a.muscle:14s} {a.mean_reference:6.3f} {a.mean_ours:6.3f} {a.rms:6.3f} {a.r:6.2f}{flag}"
        )
    active = [a for a in rows if a.mean_reference > min_mean]
    mean_ref = np.mean([a.mean_reference for a in rows])
    mean_ours = np.mean([a.mean_ours for a in rows])
    lines.append(
        f"{sum(a.agrees() for a in active)} of {len(active)} muscles with mean activation > {min_mean} agree "
        f"(RMS <= 0.05, r >= 0.9); median RMS {np.median([a.rms for a in rows]):.3f}; mean activation "
        f"Moco {mean_ref:.3f}, ours {mean_ours:.3f}"
    )
    return "\n".join(lines)


@dataclass
class MocoComparison:
    """The dynamic solution of a recorded MocoInverse stride, compared with Moco's activations.

    Attributes
    ----------
    rows
        Per muscle of the reference: :class:`MuscleAgreement`.
    solution
        The :class:`~runmuscles.muscles.dynamic.DynamicSolution`.
    settings
        The settings it was solved with.
    time_s
        The solution's nodes (Moco's grid, or the trial's frames).
    reference_time_s
        The reference's time column.
    muscle_names
        The model's muscles, in the solution's order.
    wall_s
        The dynamic solve's wall time.
    """

    rows: list[MuscleAgreement]
    solution: object
    settings: DynamicSettings
    time_s: np.ndarray
    reference_time_s: np.ndarray
    muscle_names: list[str]
    wall_s: float


def solve_recorded_stride(
    record: dict,
    reference_sto: str | Path,
    *,
    compliant: str | None = None,
    settings: DynamicSettings | None = None,
    on_moco_grid: bool = True,
) -> MocoComparison:
    """Solve the stride a MocoInverse reference run recorded (``record``: its ``.json``) with the
    dynamic solution, as Moco set it up, and compare with its activations (``reference_sto``).

    The stride is the bundled runner's trial at the record's speed, analysed with its recorded
    options; ``compliant`` defaults to the record's (triceps surae or none); ``settings`` to
    :func:`moco_settings`. ``on_moco_grid`` False: the trial's frames instead of Moco's grid
    (then ``settings`` should be trapezoidal).
    """
    import time  # noqa: PLC0415

    from ..model import RunnerModel  # noqa: PLC0415
    from ..pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from ..trials import demo_trials  # noqa: PLC0415
    from .dynamic import solve_dynamic  # noqa: PLC0415
    from .dynamic_pipeline import dynamic_inputs  # noqa: PLC0415
    from .recruitment import solve_recruitment  # noqa: PLC0415

    stride = record["stride"]
    opts = stride["analysis_options"]
    if compliant is None:
        compliant = "triceps_surae" if record["settings"].get("compliant_triceps") else "none"
    spec = next(s for s in demo_trials() if s.speed_m_s == opts["speed_m_s"])
    analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, AnalysisOptions(**opts))
    model = RunnerModel.load(analysis.model_path)
    grid = (
        moco_grid(stride["t0_s"], stride["t1_s"], record["settings"]["mesh_interval_s"])
        if on_moco_grid
        else None
    )
    st = settings if settings is not None else moco_settings(record, compliant)
    ms = moco_inverse_stride(model, analysis, strength=opts["strength"], time_s=grid)
    seed = solve_recruitment(ms.problem)
    start = time.perf_counter()
    sol = solve_dynamic(dynamic_inputs(model, ms.geometry, ms.problem, seed, ms.time_s, st), st)
    wall = time.perf_counter() - start
    t_ref, ref = read_moco_activations(reference_sto)
    rows = compare_activations(ms.time_s, sol.activation, analysis.muscle_names, t_ref, ref)
    return MocoComparison(rows, sol, st, ms.time_s, t_ref, list(analysis.muscle_names), wall)
