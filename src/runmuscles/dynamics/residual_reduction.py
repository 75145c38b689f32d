"""Residual reduction: small changes to the model's masses and the pelvis motion that make the
motion consistent with the measured ground reaction forces.

Inverse dynamics of measured motion and measured forces leaves "residual" forces and moments
on the pelvis's six coordinates (the root joint): the rigid-body model, marker noise and
force-plate errors do not agree exactly. OpenSim's Residual Reduction Algorithm (RRA; Delp SL
et al. 2007, IEEE TBME 54:1940-1950, and the OpenSim documentation "How RRA works") scales the
segment masses, moves the trunk's mass centre and tracks the kinematics with small changes;
AddBiomechanics' dynamics fitting (Werling K et al. 2023, PLoS ONE 18:e0295152) does the same
as one optimisation over masses, mass centres and motion.

:func:`reduce_residuals` does it on the project's own exact, vectorised inverse dynamics
(:func:`runmuscles.dynamics.inverse.inverse_dynamics`) as a bounded, linearised problem
solved as a linear programme and repeated a few times (Gauss-Newton), over:

* one mass scale for all bodies (bounded by :data:`MAX_MASS_CHANGE_FRACTION`): a wrong total
  mass shows as a steady vertical residual;
* the trunk's mass-centre location in its body frame (bounded by :data:`MAX_TRUNK_COM_SHIFT_M`):
  the mean residual moments about the fore-aft and vertical axes come mostly from where the
  upper body's weight acts (RRA adjusts the torso mass centre for the same reason);
* a cubic B-spline correction of each pelvis coordinate over time (knots every
  :data:`KNOT_SPACING_S`): its second derivative reshapes the whole-body acceleration (the
  residual force is the external force minus mass times the mass-centre acceleration), its
  value moves the body over the centre of pressure and its rotations change the angular
  momentum (the residual moments).

Each pass linearises the pelvis residuals: they depend on the masses through a few extra
inverse-dynamics runs, and on each frame's pelvis coordinates, speeds and accelerations
through per-frame 6 x 6 derivatives (inverse dynamics is frame-by-frame, so 18 extra runs give
them for every frame at once); the chain rule through the spline basis gives the whole
Jacobian. One linear programme (PIQP, else HiGHS) then solves the step (see :func:`_solve_lp`): first the
smallest peak ratios of the residual forces and moments to their Hicks et al. 2015 thresholds
that the bounds allow (each pelvis correction at most :data:`KINEMATIC_LIMIT_RAD` or
:data:`KINEMATIC_LIMIT_M` at any frame, so also in RMS; never below :data:`TARGET_FRACTION`),
then the least change of motion, masses and trunk, the residuals' means (which go to the masses
and the trunk, as in RRA) and their mean absolute value (as RRA minimises the residual
actuators' effort). A step is taken, or a fraction of it, only where the true peaks do not grow.
Minimax suits the thresholds, which bound peaks, where least squares would trade peaks for the
mean. The corrections keep each pelvis speed's net change over the window: a net impulse is
the masses' and the forces' to explain, not the motion's.

Moments of a force applied metres from its foot (a force plate's centre of pressure as the
force goes to zero) are the data's: they are noted, left out of the objective and kept from
growing. Windows longer than :data:`SEGMENT_S` are solved in segments: the first sets the masses
and the trunk, the others adjust their motion to them (the corrections are independent per
segment; the analysis is frame by frame), serially or in forked processes (``processes``; the
pipeline forks where it may, :func:`default_processes`). A segment that holds the masses and the
trunk fixed linearises once and reuses that Jacobian in its later passes
(:data:`REUSE_JACOBIAN_WITH_FIXED_MASSES`).

Cost: the Jacobian's 18 perturbed inverse-dynamics runs share one position-level kinematics
pass per frame for the 12 speed and acceleration perturbations
(:func:`~runmuscles.model.multibody.position_kinematics`), in blocks of
:data:`_PERTURBED_CHUNK_FRAMES` frames. Segments that hold the masses fixed stop at the
thresholds or at their linearisation's prediction (:data:`FIXED_MASS_PREDICTION_TOLERANCE`: one
pass for most); the Jacobians' per-frame derivatives are taken at every second frame at 150 Hz
(:data:`DERIVATIVE_SPACING_S`). On the 30 s Fukuchi 2017 trial (4417 frames, 30
segments) the whole reduction takes ~4.5 s of CPU serially (~6.9 s in the same runs before the
early stops and the coarser derivatives; ~11.6 s before the reused Jacobians, ~18 s before the
shared kinematics): ~2.3 s the 40 linear programmes (PIQP, ~50 ms each), ~1.1 s the 33
Jacobians, ~0.5 s the steps' true residuals, ~0.4 s the inverse dynamics before and after, the
mass centre's height and the centres of pressure. Forked, the helpers start before the first
segment (which sets the masses and is alone on the critical path, ~0.5 s), compute the forces
before meanwhile, then solve the other segments: 2.6-2.7 s wall in two processes at host load
~1 (4.1 s before). The forces after are one inverse dynamics of the whole adjusted motion
(~0.2 s), so that they equal, bit for bit, what a what-if's baseline recomputes from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..constants import HICKS_RESIDUAL_FORCE_FRACTION, HICKS_RESIDUAL_MOMENT_FRACTION
from ..errors import InputError
from ..model.multibody import Multibody, forward_kinematics, mass_center, position_kinematics
from .inverse import BodyLoad, inverse_dynamics

__all__ = [
    "KINEMATIC_LIMIT_M",
    "KINEMATIC_LIMIT_RAD",
    "MAX_MASS_CHANGE_FRACTION",
    "MAX_TRUNK_COM_SHIFT_M",
    "ResidualReduction",
    "pelvis_residual_peaks",
    "default_processes",
    "reduce_residuals",
    "why_not_reduced",
]

# The Hicks et al. (2015) thresholds, one definition (runmuscles.constants).
HICKS_FORCE_FRACTION = HICKS_RESIDUAL_FORCE_FRACTION
HICKS_MOMENT_FRACTION = HICKS_RESIDUAL_MOMENT_FRACTION

#: Largest change of the total mass (fraction). OpenSim's RRA documentation and Hicks et al.
#: 2015 treat recommended mass changes of a few per cent as the sign of a data problem; the
#: project's issue 15 asks for changes below 2 % (Hicks et al. 2015's ideal).
MAX_MASS_CHANGE_FRACTION = 0.02
#: Largest shift of the trunk's mass centre per axis (m). Project choice: RRA's torso
#: mass-centre adjustments are of the order of centimetres (Delp et al. 2007; OpenSim's RRA
#: examples); 5 cm is about a sixth of the trunk's length, beyond which the "adjustment" would
#: be a different body.
MAX_TRUNK_COM_SHIFT_M = 0.05
#: Kinematic changes allowed at most (RMS over the frames, per coordinate): Hicks et al. 2015's
#: and OpenSim's RRA guidance (peak changes of a few degrees and centimetres; the project's
#: issue 15 asks for <= 2 deg and <= 2 cm RMS).
KINEMATIC_LIMIT_RAD = float(np.deg2rad(2.0))
KINEMATIC_LIMIT_M = 0.02
#: Knot spacing of the pelvis corrections (s). Project choice: short enough to follow the
#: impact transients of running (about 30-50 ms; Cavanagh & Lafortune 1980), whose correction
#: costs little displacement (it grows with the square of the duration).
KNOT_SPACING_S = 0.02
#: A load's point of application farther than this from the body it acts on is noted as the
#: force data's problem (project choice: a foot is about 0.27 m long; Winter DA 2009,
#: Biomechanics and Motor Control of Human Movement, segment lengths).
MAX_POINT_DISTANCE_M = 0.5
#: Longest segment solved as one linear programme (s); longer windows are cut into equal
#: segments. Project choice: about one running stride (0.6-0.8 s; Hamner & Delp 2013), where
#: one programme of ~150 frames takes ~0.05 s of CPU with PIQP (HiGHS's interior point: ~0.4 s).
SEGMENT_S = 1.0
#: Most passes of linearise-and-solve; the passes stop once the peaks the last pass predicted
#: are met within 2 % (the problem is nearly linear: on the Hamner trials the first pass's
#: prediction is off by up to ~15 % where the masses move most, the second's by < 1 %).
ITERATIONS = 4
#: Where a segment holds the masses and the trunk fixed (every segment after the first of a long
#: window), its passes after the first reuse the first pass's Jacobian (a chord, or simplified
#: Newton, iteration: each pass still linearises about the true residuals of the current motion,
#: and a step is taken only where the true peaks do not grow). Only the pelvis corrections move
#: there, by at most :data:`KINEMATIC_LIMIT_RAD` and :data:`KINEMATIC_LIMIT_M`, over which the
#: per-frame derivatives barely change; such segments then also stop after two passes instead of
#: three or four. Measured on the 30 s Fukuchi 2017 trial (29 such segments): the reduction's
#: CPU time 11.6 -> 5.9 s; the trial's peak residuals unchanged, the segments' peaks -7 to +3 %
#: (moments -2.2 %, forces +0.8 % on average), the whole trial's RMS kinematic changes within 3 %
#: (the programme's optimum is flat: a segment's own RMS changes may differ by tens of per cent,
#: within the same limits). The one-stride Hamner trials (one segment) are not affected.
REUSE_JACOBIAN_WITH_FIXED_MASSES = True
#: Where a segment holds the masses and the trunk fixed, its passes stop as soon as the true
#: peaks are within the Hicks et al. 2015 thresholds (the reduction's goal; the margin of
#: :data:`TARGET_FRACTION` is for the linearisation, whose error a further pass would shrink), or
#: within this fraction above the peaks its last step's linearisation predicted (the chord
#: iteration's second pass, with the same Jacobian, recovers about that gap); each of the
#: forces and the moments. A segment whose residuals are within the thresholds before any
#: change is left as measured (RRA's least change: Delp et al. 2007).
#: Measured on the 30 s Fukuchi 2017 trial: the first pass's true peaks lie 2-8 % above the
#: predicted ones and a second pass lowers them by 2-8 %; the trial's peaks (set by the first
#: segment, which also sets the masses) are unchanged.
FIXED_MASS_PREDICTION_TOLERANCE = 0.10
#: The Jacobians' per-frame derivatives (with respect to the pelvis coordinates, speeds and
#: accelerations) are computed at frames this far apart at most (s) and interpolated linearly in
#: between (the masses' and the trunk's columns are not); every step is still judged on the true
#: residuals. Project choice: below the knot spacing of the corrections (:data:`KNOT_SPACING_S`);
#: every second frame at 150 Hz, every frame at 100 Hz. Measured on the 30 s Fukuchi 2017 trial
#: (150 Hz), for the segments after the first: the same passes, the reduction's CPU -11 %, the
#: trial's peaks unchanged and their 95th percentiles within 0.2 % (every third frame, 20 ms,
#: raised the moments' 95th percentile by 2 %); for the first segment too (on the critical path):
#: the forked wall time -0.2 s (2.76 -> 2.57 s at host load 0.8), the trial's peaks +0.1 %, the
#: moments' 95th percentile +0.5 %.
DERIVATIVE_SPACING_S = 0.014
#: Residuals are pushed below this fraction of their threshold (a margin for the linearisation).
TARGET_FRACTION = 0.8
#: Weight of each residual's mean over the window (in units of its threshold) against the
#: changes: large, so that a steady residual goes to the masses and the trunk's mass centre
#: (RRA's mass and torso adjustments answer the mean residuals; Delp et al. 2007) as far as
#: their bounds allow.
MEAN_RESIDUAL_WEIGHT = 10.0
#: Weight of the mean absolute residual (in units of its threshold) against the changes: as
#: RRA minimises the residual actuators' effort everywhere, not only at the peaks (without it a
#: minimal-change solution may use the whole band below the thresholds).
RESIDUAL_WEIGHT = 1.0
#: Weight of the peak residual ratio (above :data:`TARGET_FRACTION`) against the changes:
#: large, so that the peaks are reduced first and the changes are the least that does it.
PEAK_RATIO_WEIGHT = 1000.0


@dataclass
class ResidualReduction:
    """The outcome of :func:`reduce_residuals`.

    Attributes
    ----------
    multibody
        The model with the adjusted masses and trunk mass centre.
    q, qdot, qddot
        The adjusted motion, ``(n_frames, n_coordinates)`` (only the pelvis coordinates change).
    generalized_forces
        Inverse dynamics of the adjusted model and motion.
    mass_scale
        Factor applied to every body's mass and inertia.
    mass_change_kg
        Change of the total mass.
    trunk_body, trunk_com_shift_m
        The body whose mass centre moved and by how much (in its own frame).
    coordinate_change_rms
        Per pelvis coordinate, the RMS change over the frames (rad or m).
    before, after
        :func:`pelvis_residual_peaks` of the original and the adjusted problem.
    notes
        What was done and what could not be reached.
    """

    multibody: Multibody
    q: np.ndarray
    qdot: np.ndarray
    qddot: np.ndarray
    generalized_forces: np.ndarray
    mass_scale: float
    mass_change_kg: float
    trunk_body: str
    trunk_com_shift_m: np.ndarray
    coordinates: list[str]
    rotational: list[bool]
    coordinate_change_rms: dict[str, float]
    before: dict
    after: dict
    iterations: int
    notes: list[str] = field(default_factory=list)

    @property
    def body_mass_kg(self) -> float:
        """The adjusted model's total mass (kg)."""
        return float(self.multibody.total_mass_kg)

    @property
    def within_thresholds(self) -> bool:
        return bool(self.after["force_n"]["within_threshold"] and self.after["moment_nm"]["within_threshold"])

    @property
    def kinematics_within_limits(self) -> bool:
        return all(
            v <= (KINEMATIC_LIMIT_RAD if rot else KINEMATIC_LIMIT_M) + 1e-12
            for v, rot in zip(self.coordinate_change_rms.values(), self.rotational, strict=True)
        )

    def as_dict(self) -> dict:
        """The ``residual_reduction`` block of ``summary.json``'s quality section (degrees for
        angles, centimetres for translations)."""
        kin = {}
        for (name, v), rot in zip(self.coordinate_change_rms.items(), self.rotational, strict=True):
            kin[name] = {"rms_deg": float(np.rad2deg(v))} if rot else {"rms_cm": float(v * 100.0)}
        return {
            "applied": True,
            "method": "masses, trunk mass centre and pelvis motion by linear programming (peak "
            "residuals first, then the least change) on the exact inverse dynamics (as OpenSim's RRA "
            "and AddBiomechanics)",
            "mass_scale": self.mass_scale,
            "mass_change_kg": self.mass_change_kg,
            # the summary's body_mass_kg (and every per-kg number) is the adjusted one
            "body_mass_before_kg": self.body_mass_kg - self.mass_change_kg,
            "body_mass_after_kg": self.body_mass_kg,
            "mass_change_percent": 100.0 * (self.mass_scale - 1.0),
            "trunk_body": self.trunk_body,
            "trunk_com_shift_cm": [float(v * 100.0) for v in self.trunk_com_shift_m],
            "kinematic_changes": kin,
            "kinematics_within_limits": self.kinematics_within_limits,
            "limits": {
                "mass_change_percent": 100.0 * MAX_MASS_CHANGE_FRACTION,
                "trunk_com_shift_cm": 100.0 * MAX_TRUNK_COM_SHIFT_M,
                "rotation_rms_deg": float(np.rad2deg(KINEMATIC_LIMIT_RAD)),
                "translation_rms_cm": 100.0 * KINEMATIC_LIMIT_M,
            },
            "residuals_before": self.before,
            "residuals_after": self.after,
            "within_thresholds": self.within_thresholds,
            "iterations": self.iterations,
            "notes": list(self.notes),
        }


def _root(model: Multibody) -> tuple[list[int], list[bool]]:
    """The six coordinates of the joint that attaches the model to ground, translations first."""
    joints = [j for j in range(model.n_joints) if int(model.parent[j]) == 0]
    if len(joints) != 1:
        raise InputError(model.source, "residual reduction needs exactly one joint to ground")
    idx = [i for i in range(model.n_coordinates) if int(model.coordinate_joint[i]) == joints[0]]
    if len(idx) != 6 or any(model.locked[i] for i in idx):
        raise InputError(model.source, "residual reduction needs a free (six-coordinate) root joint")
    tra = [i for i in idx if model.motion_types[i] == "translational"]
    rot = [i for i in idx if model.motion_types[i] == "rotational"]
    if len(tra) != 3 or len(rot) != 3:
        raise InputError(model.source, "the root joint must have three rotations and three translations")
    return tra + rot, [False] * 3 + [True] * 3


def why_not_reduced(
    model: Multibody, n_frames: int, loads: Sequence[BodyLoad] | None, *, every_contact_measured: bool = True
) -> str:
    """Why residual reduction cannot run on this model and motion, or ``""`` when it can.

    It needs ground reaction forces on every contact (without them the pelvis residuals are
    the support of the body where no force was measured, not an inconsistency of the data: no
    forces at all, or a stance-only analysis of plates under fewer than three steps), a free
    six-coordinate root joint and at least four frames. The analysis then runs on the motion
    and masses as given, and says so.
    """
    if not loads:
        return "no ground reaction forces: the pelvis residuals have nothing to be made consistent with"
    if not every_contact_measured:
        return (
            "the forces do not measure every contact (stance only): the residuals where no force was "
            "measured are not the data's inconsistency"
        )
    if n_frames < 4:
        return f"{n_frames} frames: it needs at least 4"
    try:
        _root(model)
    except InputError as exc:
        return exc.problem
    return ""


def _trunk(model: Multibody, trunk_body: str | None) -> int:
    if trunk_body is not None:
        return model.body_index(trunk_body)
    if "torso" in model.body_names:
        return model.body_names.index("torso")
    root_body = 1
    order = np.argsort(model.mass_kg)[::-1]
    return int(next(b for b in order if b not in (0, root_body)))


def pelvis_residual_peaks(
    model: Multibody,
    q: np.ndarray,
    tau: np.ndarray,
    loads: Sequence[BodyLoad] | None,
    *,
    com_height_m: float | None = None,
) -> dict:
    """Peak and RMS pelvis residual forces and moments and their Hicks et al. 2015 thresholds.

    The thresholds use the peak magnitude of the summed external force (body weight without
    loads) and the mean height of the mass centre above the ground origin along gravity
    (``com_height_m`` where the caller has it), as :func:`runmuscles.pipeline._quality` does.
    """
    idx, _ = _root(model)
    peak_ext = _peak_external_n(model, loads)
    com_h = _com_height_m(model, q) if com_height_m is None else float(com_height_m)
    out = {}
    for kind, cols, frac in (
        ("force_n", idx[:3], HICKS_FORCE_FRACTION),
        ("moment_nm", idx[3:], HICKS_MOMENT_FRACTION * com_h),
    ):
        vals = tau[:, cols]
        peak = float(np.abs(vals).max()) if vals.size else 0.0
        limit = frac * peak_ext
        out[kind] = {
            "peak": peak,
            "rms": float(np.sqrt(np.mean(vals**2))) if vals.size else 0.0,
            # the frames' largest entry at the 95th percentile (the pipeline's robust peak)
            "p95": float(np.percentile(np.abs(vals).max(axis=1), 95)) if vals.size else 0.0,
            "threshold_hicks_2015": limit,
            "within_threshold": peak <= limit,
        }
    return out


def _peak_external_n(model: Multibody, loads: Sequence[BodyLoad] | None) -> float:
    if loads:
        total = sum(np.asarray(ld.force_n, dtype=float) for ld in loads)
        return float(np.linalg.norm(total, axis=1).max())
    return float(model.total_mass_kg * np.linalg.norm(model.gravity_m_s2))


def _com_height_m(model: Multibody, q: np.ndarray, kin=None) -> float:
    pos, _, _ = mass_center(model, q, kinematics=kin)
    up = -np.asarray(model.gravity_m_s2, dtype=float)
    up = up / np.linalg.norm(up)
    return float(np.mean(pos @ up))


def _adjusted(model: Multibody, scale: float, trunk: int, shift_m: np.ndarray) -> Multibody:
    """A copy with every mass and inertia times ``scale`` and the trunk's mass centre moved."""
    com = model.com_m.copy()
    com[trunk] = com[trunk] + shift_m
    return dataclasses.replace(
        model, mass_kg=model.mass_kg * scale, inertia_kg_m2=model.inertia_kg_m2 * scale, com_m=com
    )


def _tile_loads(loads: Sequence[BodyLoad], k: int) -> list[BodyLoad]:
    def tile(x):
        return None if x is None else np.tile(np.asarray(x, dtype=float), (k, 1))

    return [
        BodyLoad(ld.body, tile(ld.force_n), tile(ld.point_m), tile(ld.torque_nm), ld.point_in_body, ld.name)
        for ld in loads
    ]


def _spline_basis(time_s: np.ndarray, spacing_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cubic B-spline basis over the frames and its first two time derivatives, ``(F, K)`` each."""
    from scipy.interpolate import BSpline  # noqa: PLC0415

    t0, t1 = float(time_s[0]), float(time_s[-1])
    n_int = max(1, round((t1 - t0) / spacing_s))
    inner = np.linspace(t0, t1, n_int + 1)
    knots = np.concatenate([[t0] * 3, inner, [t1] * 3])
    n_basis = len(knots) - 4
    spl = BSpline(knots, np.eye(n_basis), 3, extrapolate=False)
    tt = np.clip(time_s, t0, t1)
    return (
        np.nan_to_num(spl(tt)),
        np.nan_to_num(spl.derivative(1)(tt)),
        np.nan_to_num(spl.derivative(2)(tt)),
    )


def _solve_lp(
    J: np.ndarray,
    r_const: np.ndarray,
    limits: np.ndarray,
    use: np.ndarray,
    cap: np.ndarray,
    basis: np.ndarray,
    speed_change: np.ndarray,
    frame_weights: np.ndarray,
    kin_peak: np.ndarray,
    unit: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, float]:
    """One linearised step as a linear programme.

    The residuals are ``r = r_const + J x`` (``(F, 6)``); the entries ``use`` are kept below
    ``t`` times their thresholds (one ``t`` for the forces, one for the moments, each at least
    :data:`TARGET_FRACTION`), the others below ``cap``. The cost is :data:`PEAK_RATIO_WEIGHT` times ``t``
    (so the peaks come first: the smallest ratio the bounds allow, each pelvis correction at
    most ``kin_peak`` at any frame and so also in RMS) plus the change: the mean absolute
    kinematic change in units of ``kin_peak`` (a steady offset counted twice), the mass and
    trunk changes in units of ``unit``, :data:`MEAN_RESIDUAL_WEIGHT` times each residual's
    mean over the window and :data:`RESIDUAL_WEIGHT` times its mean absolute value, both in
    units of its threshold. The corrections leave each pelvis speed's change over the window as
    measured (``speed_change @ c = 0``, the trapezoidal mean of the acceleration change;
    ``frame_weights`` give the same mean of the residuals).

    Each absolute value is the sum of a positive and a negative part (``a = a+ - a-``, both
    non-negative and costed, so that one of them is zero at the optimum): the residuals in units
    of their thresholds and the kinematic changes are such pairs, tied to ``x`` by one equality
    per frame and entry, and a peak bound is one row ``a+ + a- <= t``. This is the same programme
    as the two rows ``+-a <= y`` per absolute value, with half the rows and without the dense
    Jacobian written twice. Parameters held fixed (``lo == hi``) are moved into ``r_const``.
    It is solved by :func:`_linear_programme`.
    """
    from scipy import sparse  # noqa: PLC0415

    n, n_c, n_par = J.shape
    n_basis = basis.shape[1]
    n_u = n_c * n
    keep = use.ravel()  # entries left out: moments the data cannot explain (see the caller)
    fixed = np.isfinite(lo) & (lo == hi)
    free = np.nonzero(~fixed)[0]
    x_fixed = np.where(fixed, lo, 0.0)
    r_const = r_const + J @ x_fixed
    Jf = J[:, :, free]
    n_x = free.size
    col = np.full(n_par, -1)
    col[free] = np.arange(n_x)  # column of each parameter (-1: fixed)
    # z = [x (free parameters) | t: force and moment peak ratios (2)
    #      | kp, kn: kinematic change's parts, coordinate-major (n_u each) | v: |mass, trunk| (4)
    #      | m: |mean r| (6) | o: |mean kinematic change| (6) | rp, rn: r / threshold's parts (n_u each)]
    i_t = n_x
    i_kp = i_t + 2
    i_kn = i_kp + n_u
    i_v = i_kn + n_u
    i_m = i_v + 4
    i_o = i_m + n_c
    i_rp = i_o + n_c
    i_rn = i_rp + n_u
    n_z = i_rn + n_u
    spline_cols = [col[4 + c * n_basis + np.arange(n_basis)] for c in range(n_c)]

    def matrix(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_rows: int) -> sparse.csr_matrix:
        rows, cols, vals = (
            np.concatenate([np.broadcast_to(p[k], np.shape(p[0])) for p in parts]) for k in range(3)
        )
        ok = cols >= 0  # fixed parameters have no column
        return sparse.csr_matrix((vals[ok].astype(float), (rows[ok], cols[ok])), shape=(n_rows, n_z))

    ar_u = np.arange(n_u)
    # equalities: rp - rn - (J / threshold) x = r_const / threshold, frame by frame
    Jl = (Jf / limits[None, :, None]).reshape(n_u, n_x)
    er, ec = np.nonzero(Jl)
    eq = [(er, ec, -Jl[er, ec]), (ar_u, i_rp + ar_u, 1.0), (ar_u, i_rn + ar_u, -1.0)]
    # basis c_j - kp + kn = 0, frame by frame (|kp - kn| <= kin_peak by the bounds)
    for c in range(n_c):
        br, bc = np.nonzero(basis)
        eq.append((n_u + c * n + br, spline_cols[c][bc], basis[br, bc]))
    eq += [(n_u + ar_u, i_kp + ar_u, -1.0), (n_u + ar_u, i_kn + ar_u, 1.0)]
    # the pelvis speeds' change over the window is left as measured
    for c in range(n_c):
        eq.append((np.full(n_basis, 2 * n_u + c), spline_cols[c], speed_change))
    A_eq = matrix(eq, 2 * n_u + n_c)
    b_eq = np.concatenate([(r_const / limits).ravel(), np.zeros(n_u + n_c)])
    # inequalities: rp + rn <= t for the entries kept (the others are bounded by ``cap``)
    kidx = np.nonzero(keep)[0]
    k = kidx.size
    group = np.tile(np.arange(n_c) >= 3, n).astype(int)  # 0: forces, 1: moments
    ar_k = np.arange(k)
    ub = [(ar_k, i_rp + kidx, 1.0), (ar_k, i_rn + kidx, 1.0), (ar_k, i_t + group[kidx], -1.0)]
    # |mass, trunk| <= v
    ar4 = np.arange(4)
    for s, r0 in ((1.0, k), (-1.0, k + 4)):
        ub += [(r0 + ar4, col[:4], s), (r0 + ar4, i_v + ar4, -1.0)]
    # |mean over frames of r_c| / limit_c <= m_c
    W = frame_weights[:, None] * use
    W = W / np.maximum(W.sum(axis=0), 1e-12)
    Jmean = np.einsum("fc,fcp->cp", W, Jf) / limits[:, None]
    rmean = (W * r_const).sum(axis=0) / limits
    mr, mc = np.nonzero(Jmean)
    ar_c = np.arange(n_c)
    for s, r0 in ((1.0, k + 8), (-1.0, k + 8 + n_c)):
        ub += [(r0 + mr, mc, s * Jmean[mr, mc]), (r0 + ar_c, i_m + ar_c, -1.0)]
    # |mean over frames of the change of coordinate j| <= o_j (a steady offset costs double)
    Bmean = frame_weights @ basis
    for s, r0 in ((1.0, k + 8 + 2 * n_c), (-1.0, k + 8 + 3 * n_c)):
        for c in range(n_c):
            ub.append((np.full(n_basis, r0 + c), spline_cols[c], s * Bmean))
        ub.append((r0 + ar_c, i_o + ar_c, -1.0))
    A = matrix(ub, k + 8 + 4 * n_c)
    b = np.concatenate([np.zeros(k + 8), -rmean, rmean, np.zeros(2 * n_c)])
    u_hi = np.repeat(kin_peak, n)
    cap_l = (cap / limits).ravel()
    lower = np.zeros(n_z)
    upper = np.full(n_z, np.inf)
    lower[:n_x], upper[:n_x] = lo[free], hi[free]
    lower[i_t : i_t + 2] = TARGET_FRACTION
    upper[i_kp:i_kn] = upper[i_kn:i_v] = u_hi
    upper[i_rp:i_rn] = upper[i_rn:] = np.where(keep, np.inf, cap_l)
    cost = np.zeros(n_z)
    cost[i_kp:i_kn] = cost[i_kn:i_v] = 1.0 / (u_hi * n)
    cost[i_v:i_m] = 1.0 / unit
    cost[i_m:i_o] = MEAN_RESIDUAL_WEIGHT
    cost[i_o:i_rp] = 1.0 / kin_peak
    cost[i_rp:i_rn] = cost[i_rn:] = np.where(keep, RESIDUAL_WEIGHT / n, 0.0)
    cost[i_t : i_t + 2] = PEAK_RATIO_WEIGHT
    z = _linear_programme(cost, A, b, A_eq, b_eq, lower, upper)
    if z is None:
        return np.zeros(n_par), float("nan")
    x = x_fixed.copy()
    x[free] = z[:n_x]
    return x, float(z[i_t : i_t + 2].max())


#: Tolerances of PIQP's interior point (absolute, relative; its defaults are 1e-8 and 1e-9):
#: tight, so that its solution and HiGHS's (a vertex from crossover) agree to ~1e-9 in the
#: parameters (the optimum is unique), at no measurable cost.
PIQP_TOLERANCES = (1e-10, 1e-11)


def _linear_programme(
    cost: np.ndarray,
    A_ub,
    b_ub: np.ndarray,
    A_eq,
    b_eq: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray | None:
    """``min cost @ z`` subject to ``A_ub z <= b_ub``, ``A_eq z = b_eq``, ``lower <= z <= upper``;
    ``None`` where it has no solution.

    PIQP (Schwan R et al. 2023, "PIQP: A proximal interior-point quadratic programming solver",
    IEEE CDC; a sparse LDL^T factorisation of the whole KKT system) where it is installed: on these
    programmes, banded in time with a few dense rows and columns, it is 3-8 times faster than
    HiGHS's interior point (IPX, iterative linear algebra), which it falls back to (also where
    PIQP does not reach its tolerances).
    """
    from scipy import sparse  # noqa: PLC0415

    try:
        import piqp  # noqa: PLC0415
    except ImportError:  # pragma: no cover - piqp is a dependency; HiGHS answers without it
        piqp = None
    if piqp is not None:
        solver = piqp.SparseSolver()
        solver.settings.eps_abs, solver.settings.eps_rel = PIQP_TOLERANCES
        n = cost.size
        solver.setup(
            sparse.csc_matrix((n, n)),
            cost,
            sparse.csc_matrix(A_eq),
            b_eq,
            sparse.csc_matrix(A_ub),
            np.full(b_ub.size, -np.inf),
            b_ub,
            lower,
            upper,
        )
        if solver.solve() == piqp.PIQP_SOLVED:
            return np.array(solver.result.x, dtype=float)
    from scipy.optimize import linprog  # noqa: PLC0415

    sol = linprog(
        cost,
        A_ub=A_ub,
        b_ub=b_ub,
        A_eq=A_eq,
        b_eq=b_eq,
        bounds=np.column_stack([lower, upper]),
        method="highs-ipm",
        options={"presolve": False},
    )
    return None if sol.status != 0 else np.asarray(sol.x, dtype=float)


def _implausible_centres_of_pressure(
    model: Multibody, q: np.ndarray, loads: Sequence[BodyLoad], moment_limit_nm: float, kin=None
) -> tuple[list[str], np.ndarray]:
    """Notes on loads whose point of application lies far from the body they act on, with a
    moment about the body of more than twice the residual-moment threshold, and the frames where
    one does (``(n_frames,)`` bool; a few newtons of swing-phase noise far from the foot are not).

    A force plate's centre of pressure is a moment divided by the vertical force, undefined as
    the force goes to zero: at contact and toe-off it can lie metres away, and the moment it
    makes cannot be a residual any change of the model or motion should answer.
    """
    ground_points = [ld for ld in loads if ld.point_m is not None and not ld.point_in_body]
    bad = np.zeros(q.shape[0], dtype=bool)
    if not ground_points:
        return [], bad
    kin = forward_kinematics(model, q) if kin is None else kin
    out = []
    for ld in ground_points:
        origin = kin.p_t[:, model.body_index(ld.body)].T  # (F, 3)
        dist = np.linalg.norm(np.asarray(ld.point_m, dtype=float) - origin, axis=1)
        force = np.linalg.norm(np.asarray(ld.force_n, dtype=float), axis=1)
        far = (dist > MAX_POINT_DISTANCE_M) & (force * dist > 2.0 * moment_limit_nm)
        bad |= far
        if far.any():
            out.append(
                f"residual reduction: the point of application of '{ld.name or ld.body}' lies up to "
                f"{dist[far].max():.1f} m from {ld.body} on {int(far.sum())} frames (force at most "
                f"{force[far].max():.0f} N there): residual moments there come from the force data; "
                "zero forces below a threshold (e.g. 20-50 N) before the analysis; the reduction "
                "leaves those frames' moments out"
            )
    return out, bad


def _group_peaks(r: np.ndarray, limits: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Peak ratio to the threshold of the residual forces and of the residual moments, over the
    entries ``use`` (``(n_frames, 6)`` bool)."""
    ratio = np.where(use, np.abs(r) / limits, 0.0)
    return np.array([ratio[:, :3].max(), ratio[:, 3:].max()])


#: Frames per block of :func:`_perturbed_residuals` (18 perturbations each). Measured on a 30 s
#: trial: blocks of this size keep the temporaries in cache and out of fresh pages.
_PERTURBED_CHUNK_FRAMES = 24


def _perturbed_residuals(
    mb: Multibody,
    q: np.ndarray,
    qd: np.ndarray,
    qdd: np.ndarray,
    loads: list[BodyLoad],
    idx: list[int],
    h: np.ndarray,
) -> np.ndarray:
    """The pelvis residuals ``(18, n_frames, 6)`` with each pelvis coordinate, then each pelvis
    speed, then each pelvis acceleration raised by ``h`` (one vectorised inverse dynamics).

    The position-level kinematics (the costlier part) are computed once for the frames and the
    six coordinate perturbations and shared by the twelve speed and acceleration perturbations,
    which leave the coordinates as they are. Blocks of frames keep the temporaries small (whole
    segments at once took ~20 times the page faults and more system time).
    """
    n = q.shape[0]
    if n > _PERTURBED_CHUNK_FRAMES:
        parts = []
        for a in range(0, n, _PERTURBED_CHUNK_FRAMES):
            sl = slice(a, a + _PERTURBED_CHUNK_FRAMES)
            parts.append(
                _perturbed_residuals(mb, q[sl], qd[sl], qdd[sl], [_slice(ld, sl) for ld in loads], idx, h)
            )
        return np.concatenate(parts, axis=1)
    q7 = np.tile(q, (7, 1))
    for c in range(6):
        q7[(c + 1) * n : (c + 2) * n, idx[c]] += h[c]
    frames = np.concatenate([np.arange(n, 7 * n), np.tile(np.arange(n), 12)])
    positions = position_kinematics(mb, q7).take(frames)
    QD, QDD = np.tile(qd, (18, 1)), np.tile(qdd, (18, 1))
    for c in range(6):
        QD[(6 + c) * n : (7 + c) * n, idx[c]] += h[c]
        QDD[(12 + c) * n : (13 + c) * n, idx[c]] += h[c]
    tiled = _tile_loads(loads, 18) if loads else None
    tau = inverse_dynamics(mb, q7[frames], QD, QDD, tiled, positions=positions)
    return tau[:, idx].reshape(18, n, 6)


def _segment_jacobian(
    model: Multibody,
    trunk: int,
    x: np.ndarray,
    mb: Multibody,
    qq: np.ndarray,
    qqd: np.ndarray,
    qqdd: np.ndarray,
    r0: np.ndarray,
    loads: list[BodyLoad],
    idx: list[int],
    fixed: np.ndarray | None,
    basis: np.ndarray,
    dbasis: np.ndarray,
    ddbasis: np.ndarray,
    stride: int = 1,
) -> np.ndarray:
    """The pelvis residuals' Jacobian ``(n_frames, 6, n_par)`` at the parameters ``x`` (the
    adjusted model ``mb`` and motion ``qq, qqd, qqdd``, residuals ``r0``) of :func:`_fit_segment`;
    the per-frame derivatives at every ``stride``-th frame, interpolated between (see
    :data:`DERIVATIVE_SPACING_S`)."""
    n, n_basis = basis.shape
    n_par = x.size
    # per-frame derivatives with respect to the pelvis q, qdot, qddot (finite differences,
    # all 18 perturbations in one vectorised call)
    h = np.full(6, 1e-6)
    if stride > 1 and n > 2 * stride:
        # at every ``stride``-th frame and the last, linearly interpolated in between
        sub = np.unique(np.concatenate([np.arange(0, n, stride), [n - 1]]))
        big = _perturbed_residuals(
            mb, qq[sub], qqd[sub], qqdd[sub], [_slice(ld, sub) for ld in loads], idx, h
        )
        d_sub = (big - r0[sub][None]) / np.tile(h, 3)[:, None, None]
        frames = np.arange(n)
        k = np.clip(np.searchsorted(sub, frames, side="right") - 1, 0, sub.size - 2)
        w = ((frames - sub[k]) / (sub[k + 1] - sub[k]))[None, :, None]
        d = d_sub[:, k] * (1.0 - w) + d_sub[:, k + 1] * w
    else:
        big = _perturbed_residuals(mb, qq, qqd, qqdd, loads, idx, h)
        d = (big - r0[None]) / np.tile(h, 3)[:, None, None]  # (18, F, 6): d r / d (q|qd|qdd)_c
    J = np.zeros((n, 6, n_par))
    for c in range(6):
        cols = slice(4 + c * n_basis, 4 + (c + 1) * n_basis)
        J[:, :, cols] = (
            d[c][:, :, None] * basis[:, None, :]
            + d[6 + c][:, :, None] * dbasis[:, None, :]
            + d[12 + c][:, :, None] * ddbasis[:, None, :]
        )
    if fixed is not None:
        # the programme moves fixed parameters into its constant, where their columns cancel
        return J
    # mass scale and trunk shift: finite differences on the model
    for p in range(4):
        step = 1e-4
        xp = x.copy()
        xp[p] += step
        mbp = _adjusted(model, 1.0 + xp[0], trunk, xp[1:4])
        J[:, :, p] = (inverse_dynamics(mbp, qq, qqd, qqdd, loads or None)[:, idx] - r0) / step
    return J


def _fit_segment(
    model: Multibody,
    t: np.ndarray,
    q0: np.ndarray,
    qd0: np.ndarray,
    qdd0: np.ndarray,
    loads: list[BodyLoad],
    idx: list[int],
    trunk: int,
    limits: np.ndarray,
    kin_peak: np.ndarray,
    use: np.ndarray,
    knot_spacing_s: float,
    iterations: int,
    fixed: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The passes of :func:`reduce_residuals` on one segment of frames: the mass scale minus one
    and the trunk shift (4; held at ``fixed`` when given), and the pelvis corrections' values,
    speeds and accelerations ``(n_frames, 6)``, and the passes taken."""
    n = t.size
    basis, dbasis, ddbasis = _spline_basis(t, knot_spacing_s)
    n_basis = basis.shape[1]
    # the mean over the window is the trapezoidal time average, the same rule for the residuals'
    # means and for the corrections' net speed change (so that end frames cannot trade one for the other)
    frame_w = np.zeros(n)
    frame_w[1:] += 0.5 * np.diff(t)
    frame_w[:-1] += 0.5 * np.diff(t)
    frame_w /= frame_w.sum()
    speed_change = frame_w @ ddbasis
    # unknowns: [mass scale - 1, trunk shift (3), spline coefficients (6 x K, coordinate-major)]
    n_par = 4 + 6 * n_basis
    x = np.zeros(n_par)
    if fixed is not None:
        x[:4] = fixed
    lo = np.full(n_par, -np.inf)
    hi = np.full(n_par, np.inf)
    lo[0], hi[0] = -MAX_MASS_CHANGE_FRACTION, MAX_MASS_CHANGE_FRACTION
    lo[1:4], hi[1:4] = -MAX_TRUNK_COM_SHIFT_M, MAX_TRUNK_COM_SHIFT_M
    if fixed is not None:
        lo[:4] = hi[:4] = fixed
    # parameter units: a change of one "unit" costs about as much as a residual at its threshold
    unit = np.concatenate([[MAX_MASS_CHANGE_FRACTION], [MAX_TRUNK_COM_SHIFT_M] * 3])

    # masses and trunk held fixed: one adjusted model for every evaluation (its kinematic plan is
    # cached per model object)
    mb_fixed = None if fixed is None else _adjusted(model, 1.0 + fixed[0], trunk, fixed[1:4])

    def state(xv: np.ndarray):
        dq = basis @ xv[4:].reshape(6, n_basis).T
        qq, qqd, qqdd = q0.copy(), qd0.copy(), qdd0.copy()
        qq[:, idx] += dq
        qqd[:, idx] += dbasis @ xv[4:].reshape(6, n_basis).T
        qqdd[:, idx] += ddbasis @ xv[4:].reshape(6, n_basis).T
        mb = mb_fixed if mb_fixed is not None else _adjusted(model, 1.0 + xv[0], trunk, xv[1:4])
        return mb, qq, qqd, qqdd, dq

    def residual(mb, qq, qqd, qqdd):
        return inverse_dynamics(mb, qq, qqd, qqdd, loads or None)[:, idx]

    # the per-frame derivatives at a coarser time step where the frames are dense
    stride = max(1, int(DERIVATIVE_SPACING_S / float(np.median(np.diff(t))) + 1e-9))
    ratio = None
    predicted = None  # the linearisation's peak ratios after the last step taken (forces, moments)
    # the linearisation: every pass where the segment sets the masses and the trunk; once per
    # segment where they are held fixed (see :data:`REUSE_JACOBIAN_WITH_FIXED_MASSES`)
    J = None
    done = 0
    mb, qq, qqd, qqdd, dq = state(x)
    r0 = residual(mb, qq, qqd, qqdd)
    peak = _group_peaks(r0, limits, use)
    cap = np.abs(r0) + 0.05 * limits  # what the entries left out of ``use`` may reach
    for _ in range(max(1, iterations)):
        if ratio is not None and np.isfinite(ratio) and peak.max() <= max(ratio, TARGET_FRACTION) * 1.02:
            break
        if fixed is not None and _fixed_mass_segment_done(peak, predicted):
            break
        if J is None or fixed is None or not REUSE_JACOBIAN_WITH_FIXED_MASSES:
            J = _segment_jacobian(
                model, trunk, x, mb, qq, qqd, qqdd, r0, loads, idx, fixed, basis, dbasis, ddbasis, stride
            )
        x_new, ratio = _solve_lp(
            J,
            r0 - np.einsum("fcp,p->fc", J, x),
            limits,
            use,
            cap,
            basis,
            speed_change,
            frame_w,
            kin_peak,
            unit,
            lo,
            hi,
        )
        # take the step, or a fraction of it, only where neither true (not linearised) peak ratio,
        # of the forces or of the moments, grows above the target: far from the solution the
        # linearisation can overshoot, and one must not be traded for the other
        for alpha in (1.0, 0.5, 0.25, 0.125):
            x_try = x + alpha * (x_new - x)
            mb, qq, qqd, qqdd, dq = state(x_try)
            r_try = residual(mb, qq, qqd, qqdd)
            peak_try = _group_peaks(r_try, limits, use)
            capped = np.all(np.abs(r_try)[~use] <= cap[~use] * 1.02)
            if capped and np.all(peak_try <= np.maximum(peak, TARGET_FRACTION * 1.02)):
                break
        else:
            break
        predicted = _group_peaks(r0 + np.einsum("fcp,p->fc", J, x_try - x), limits, use)
        x, r0, peak = x_try, r_try, peak_try
        done += 1

    coef = x[4:].reshape(6, n_basis).T
    return x[:4].copy(), basis @ coef, dbasis @ coef, ddbasis @ coef, done


def _fixed_mass_segment_done(peak: np.ndarray, predicted: np.ndarray | None) -> bool:
    """Whether a segment that holds the masses and the trunk fixed needs no further pass: each of
    its true peak ratios ``peak`` (forces, moments) is within its threshold, or within
    :data:`FIXED_MASS_PREDICTION_TOLERANCE` above what the linearisation of its last step
    ``predicted`` (``None`` before the first pass)."""
    within = peak <= 1.0
    if predicted is not None:
        within |= peak <= np.maximum(predicted, TARGET_FRACTION) * (1.0 + FIXED_MASS_PREDICTION_TOLERANCE)
    return bool(np.all(within))


def _slice(ld: BodyLoad, sl: slice) -> BodyLoad:
    def cut(v):
        return None if v is None else np.asarray(v, dtype=float)[sl]

    return BodyLoad(ld.body, cut(ld.force_n), cut(ld.point_m), cut(ld.torque_nm), ld.point_in_body, ld.name)


#: Most processes for the segments after the first where the caller may fork (see
#: :func:`default_processes`; fewer where fewer CPUs are usable). Project choice: the segments
#: are ~0.2 s of CPU each (29 of them on a 30 s trial, ~5 s), beside which a forked helper's
#: start is small; four leave CPUs to the rest of a shared host.
PARALLEL_PROCESSES = 4


def default_processes() -> int:
    """The usable CPUs, at most :data:`PARALLEL_PROCESSES`, where this process may fork helpers
    for the segments: on Linux (``fork``), with at least two usable CPUs (affinity, and
    ``$RUNMUSCLES_SOLVER_PROCESSES`` where set, as the batch workers set it to 1), from the main
    thread of a process that runs no other Python thread (a fork copies only the calling thread,
    and a lock another thread holds stays locked in the child: the web app's analyses run in a
    thread), and not inside a daemonic process (a ``multiprocessing`` or Dask worker, which may
    not have children and is itself one of several) or a Dask worker's thread; else 1."""
    import multiprocessing  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import threading  # noqa: PLC0415

    # the dynamic muscle solution's rule for its forked block solvers (affinity, the cap)
    from ..muscles.dynamic import _usable_cpus  # noqa: PLC0415

    if not sys.platform.startswith("linux") or _usable_cpus() < 2:
        return 1
    if threading.current_thread() is not threading.main_thread() or threading.active_count() > 1:
        return 1
    if multiprocessing.current_process().daemon:
        return 1
    if "distributed" in sys.modules:
        try:
            sys.modules["distributed"].get_worker()
        except (ValueError, AttributeError):
            pass
        else:
            return 1
    return min(PARALLEL_PROCESSES, _usable_cpus())


def _segment_inputs(common: tuple, sl: slice) -> tuple:
    """The model, times, motion, loads and pelvis coordinates of the frames ``sl`` of ``common``."""
    model, t, q0, qd0, qdd0, loads, idx = common[:7]
    return model, t[sl], q0[sl], qd0[sl], qdd0[sl], [_slice(ld, sl) for ld in loads], idx


def _fit_one(common: tuple, sl: slice, fixed: np.ndarray | None):
    """:func:`_fit_segment` on the frames ``sl`` of the problem ``common``."""
    model, t, q0, qd0, qdd0, loads, idx = _segment_inputs(common, sl)
    trunk, limits, kin_peak, use, knot_spacing_s, iterations = common[7:]
    return _fit_segment(
        model,
        t,
        q0,
        qd0,
        qdd0,
        loads,
        idx,
        trunk,
        limits,
        kin_peak,
        use[sl],
        knot_spacing_s,
        iterations,
        fixed,
    )


# the problem the forked helpers solve segments of (set before the fork, inherited by them)
_FORKED: tuple | None = None


def _fit_forked(job: tuple):
    sl, fixed = job
    return _fit_one(_FORKED, sl, fixed)


def _forces_before(common: tuple) -> np.ndarray:
    """The inverse dynamics of the whole problem ``common`` as given."""
    model, _t, q0, qd0, qdd0, loads = common[:6]
    return inverse_dynamics(model, q0, qd0, qdd0, loads or None)


def _forces_before_forked() -> np.ndarray:
    return _forces_before(_FORKED)


def _fit_segments(common: tuple, segments: list[slice], processes: int | None) -> tuple[list, np.ndarray]:
    """:func:`_fit_segment` on each of ``segments`` (the first sets the masses and the trunk, the
    others hold them fixed) and the inverse dynamics of the motion as given (for the residuals
    before). In ``processes`` forked processes where more than one is asked for (and fork
    exists): they are started before the first segment, one computes the inverse dynamics before
    while this process solves the first segment (on the critical path), then they solve the
    others. The forces after are the caller's: one inverse dynamics of the whole adjusted motion,
    so that they equal, bit for bit, what any later step (a what-if's baseline) computes from it."""
    global _FORKED  # noqa: PLW0603
    later = segments[1:]
    # an explicit count is capped by where this process may fork at all (threads, daemons, workers)
    k = default_processes() if processes is None else min(max(1, int(processes)), default_processes())
    k = min(k, len(later))
    if k > 1:
        import multiprocessing  # noqa: PLC0415

        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:
            k = 1
    if k <= 1:
        tau_before = _forces_before(common)
        first = _fit_one(common, segments[0], None)
        return [first] + [_fit_one(common, sl, first[0]) for sl in later], tau_before
    _FORKED = common
    try:
        with ctx.Pool(k) as pool:
            pending = pool.apply_async(_forces_before_forked)
            first = _fit_one(common, segments[0], None)
            others = pool.map_async(_fit_forked, [(sl, first[0]) for sl in later], chunksize=1)
            return [first] + others.get(), pending.get()
    finally:
        _FORKED = None


def reduce_residuals(
    model: Multibody,
    time_s: np.ndarray,
    q: np.ndarray,
    qdot: np.ndarray,
    qddot: np.ndarray,
    loads: Sequence[BodyLoad] | None,
    *,
    trunk_body: str | None = None,
    knot_spacing_s: float = KNOT_SPACING_S,
    iterations: int = ITERATIONS,
    processes: int | None = 1,
) -> ResidualReduction:
    """Adjust masses, the trunk's mass centre and the pelvis motion to shrink the pelvis residuals.

    Parameters
    ----------
    model
        The rigid-body model (not modified; the result holds an adjusted copy).
    time_s
        Frame times ``(n_frames,)``.
    q, qdot, qddot
        Complete coordinates, speeds and accelerations in model order.
    loads
        External loads on the frames (ground reaction forces, and any other external loads).
    trunk_body
        The body whose mass centre may move (default: ``torso``, else the heaviest body other
        than the root's).
    knot_spacing_s
        Knot spacing of the pelvis-coordinate corrections.
    iterations
        Linearise-and-solve passes.
    processes
        Processes that solve the segments after the first (which sets the masses and the trunk;
        the others are independent then): ``None`` picks :func:`default_processes`. Results are
        the same for any number.

    Returns
    -------
    ResidualReduction
    """
    t = np.asarray(time_s, dtype=float)
    q0 = np.asarray(q, dtype=float)
    qd0 = np.asarray(qdot, dtype=float)
    qdd0 = np.asarray(qddot, dtype=float)
    n = t.size
    if n < 4 or q0.shape != (n, model.n_coordinates):
        raise InputError(
            model.source, f"residual reduction needs at least 4 frames of all coordinates, got {q0.shape}"
        )
    if not np.all(np.diff(t) > 0):
        raise InputError(model.source, "residual reduction needs increasing frame times")
    loads = list(loads or [])
    idx, rot = _root(model)
    trunk = _trunk(model, trunk_body)
    ext_n = _peak_external_n(model, loads)
    kin0 = forward_kinematics(model, q0)  # positions, shared by the next two
    com_h = _com_height_m(model, q0, kin0)
    limits = np.array([HICKS_FORCE_FRACTION * ext_n] * 3 + [HICKS_MOMENT_FRACTION * com_h * ext_n] * 3)
    kin_peak = np.where(rot, KINEMATIC_LIMIT_RAD, KINEMATIC_LIMIT_M)

    cop_notes, bad_cop = _implausible_centres_of_pressure(model, q0, loads, float(limits[3]), kin0)
    use = np.ones((n, 6), dtype=bool)
    use[bad_cop, 3:] = False  # moments of a force applied metres from the foot: the data's
    # long windows in segments (the linear programme's cost grows faster than its size): the
    # first segment sets the masses and the trunk, the others adjust their motion to them
    n_seg = max(1, int(np.ceil((t[-1] - t[0]) / SEGMENT_S - 1e-9)))
    segments = [slice(int(f[0]), int(f[-1]) + 1) for f in np.array_split(np.arange(n), n_seg)]
    common = (model, t, q0, qd0, qdd0, loads, idx, trunk, limits, kin_peak, use, knot_spacing_s, iterations)
    corr = [np.zeros((n, 6)) for _ in range(3)]
    fits, tau_before = _fit_segments(common, segments, processes)
    x = fits[0][0]  # the masses and the trunk the first segment set
    done = 0
    for sl, (_params, *parts, passes) in zip(segments, fits, strict=True):
        for c, part in zip(corr, parts, strict=True):
            c[sl] = part
        done = max(done, passes)
    mb = _adjusted(model, 1.0 + x[0], trunk, x[1:4])
    qq, qqd, qqdd = q0.copy(), qd0.copy(), qdd0.copy()
    qq[:, idx] += corr[0]
    qqd[:, idx] += corr[1]
    qqdd[:, idx] += corr[2]
    dq = corr[0]
    tau_after = inverse_dynamics(mb, qq, qqd, qqdd, loads or None)
    before = pelvis_residual_peaks(model, q0, tau_before, loads, com_height_m=com_h)
    # judged against the same (original) thresholds: the adjusted mass-centre height is not needed
    after = pelvis_residual_peaks(mb, qq, tau_after, loads, com_height_m=com_h)
    for kind in ("force_n", "moment_nm"):
        lim = before[kind]["threshold_hicks_2015"]
        after[kind]["threshold_hicks_2015"] = lim
        after[kind]["within_threshold"] = after[kind]["peak"] <= lim
    names = [model.coordinate_names[i] for i in idx]
    rms = {nm: float(np.sqrt(np.mean(dq[:, k] ** 2))) for k, nm in enumerate(names)}
    scale = 1.0 + float(x[0])
    notes = [
        f"residual reduction: total mass {100 * (scale - 1):+.2f} % "
        f"({model.total_mass_kg * (scale - 1):+.2f} kg: {model.total_mass_kg:.2f} -> "
        f"{model.total_mass_kg * scale:.2f} kg, the mass of every result), "
        f"{model.body_names[trunk]} mass centre moved by "
        + ", ".join(f"{v * 100:+.1f}" for v in x[1:4])
        + " cm; pelvis residual peaks "
        f"{before['force_n']['peak']:.0f} -> {after['force_n']['peak']:.0f} N "
        f"(threshold {before['force_n']['threshold_hicks_2015']:.0f}), "
        f"{before['moment_nm']['peak']:.0f} -> {after['moment_nm']['peak']:.0f} N m "
        f"(threshold {before['moment_nm']['threshold_hicks_2015']:.0f})"
    ]
    if abs(x[0]) >= MAX_MASS_CHANGE_FRACTION - 1e-9:
        notes.append(
            "residual reduction: the mass change reached its bound "
            f"({100 * MAX_MASS_CHANGE_FRACTION:.0f} %): "
            "check the runner's mass and the force-plate calibration"
        )
    if np.any(np.abs(x[1:4]) >= MAX_TRUNK_COM_SHIFT_M - 1e-9):
        notes.append("residual reduction: the trunk mass-centre shift reached its bound")
    notes.extend(cop_notes)
    return ResidualReduction(
        multibody=mb,
        q=qq,
        qdot=qqd,
        qddot=qqdd,
        generalized_forces=tau_after,
        mass_scale=scale,
        mass_change_kg=float(model.total_mass_kg * (scale - 1.0)),
        trunk_body=model.body_names[trunk],
        trunk_com_shift_m=np.asarray(x[1:4], dtype=float).copy(),
        coordinates=names,
        rotational=list(rot),
        coordinate_change_rms=rms,
        before=before,
        after=after,
        iterations=done,
        notes=notes,
    )
