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
* the model's muscle settings as the reference ran them: time constants and activation
  smoothing, and nodes at its Hermite-Simpson collocation points (half its mesh interval;
  :func:`moco_settings`).

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
    "moco_inverse_problem",
    "moco_settings",
    "read_moco_activations",
    "spline_kinematics",
]


def spline_kinematics(time_s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, first and second derivatives ``(F, C)`` at ``time_s`` of the natural quintic
    spline through the samples (third and fourth derivatives zero at both ends): OpenSim's
    ``GCVSplineSet(table)`` (degree 5, error variance 0), as MocoInverse's ``PositionMotion``
    differentiates its kinematics."""
    from scipy.interpolate import make_interp_spline  # noqa: PLC0415

    t = np.asarray(time_s, dtype=float)
    y = np.asarray(q, dtype=float)
    zero = np.zeros(y.shape[1:])
    natural = [(3, zero), (4, zero)]
    spline = make_interp_spline(t, y, k=5, bc_type=(natural, natural), axis=0)
    return spline(t), spline(t, 1), spline(t, 2)


def moco_inverse_problem(model, analysis, geo) -> RecruitmentProblem:
    """The muscle redundancy problem of a MocoInverse reference on an analysed stride.

    Parameters
    ----------
    model
        :class:`runmuscles.model.RunnerModel` of the analysis.
    analysis
        :class:`runmuscles.pipeline.TrialAnalysis` of the stride (its frames are the
        reference's kinematics; its external loads are used as they are).
    geo
        The model's muscle geometry at the analysis frames.

    Returns
    -------
    RecruitmentProblem
        Every coordinate independent with a 1 N m reserve (no constraint, no lock), the
        generalized forces from inverse dynamics on :func:`spline_kinematics` of the frames.
    """
    from ..dynamics.inverse import inverse_dynamics  # noqa: PLC0415

    ck = analysis.coordinates
    q, qd, qdd = spline_kinematics(ck.time_s, ck.q)
    loads = list(analysis.body_loads or []) + list(analysis.extra_loads or [])
    tau = inverse_dynamics(model.multibody, q, qd, qdd, loads or None)
    coords = list(model.coordinate_names)
    return build_recruitment_problem(
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


def moco_settings(record: dict, compliant: str = "triceps_surae") -> DynamicSettings:
    """:meth:`DynamicSettings.moco` with the reference's recorded muscle settings (its
    ``model.muscles``, as the processed model had them, and its ``settings``). Raises
    ``ValueError`` when the muscles differ in a setting the solver takes as one value."""
    muscles = list(record.get("model", {}).get("muscles", {}).values())
    settings = record.get("settings", {})
    st = DynamicSettings.moco(compliant=compliant).with_(
        # Hermite-Simpson: collocation points at the mesh points and the interval midpoints
        mesh_interval_s=0.5 * float(settings.get("mesh_interval_s", 0.02)),
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
        r = float(np.corrcoef(ours, ref)[0, 1]) if np.std(ours) > 0 and np.std(ref) > 0 else float("nan")
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
