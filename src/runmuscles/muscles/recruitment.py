"""From joint moments and muscle geometry to muscle activations and forces.

:func:`recruit_muscles` builds the static-optimization problem of
:mod:`runmuscles.muscles.static_optimization` from

* inverse-dynamics generalized forces at every coordinate,
* each muscle's moment arms and its force at full activation (rigid tendon),
* reserve actuators (coordinate actuators: a generalized force per unit control),

projects everything onto the independent, unlocked coordinates (what OpenSim's
StaticOptimization constrains: the accelerations of unconstrained coordinates), removes the
coordinates that only a single reserve can serve (their reserve is then fixed, exactly as
the optimum would set it), solves, and reports muscle forces, reserve use and how well the
muscles plus reserves reproduce the joint moments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError
from .static_optimization import solve_static_optimization

__all__ = [
    "RecruitmentProblem",
    "RecruitmentResult",
    "Reserves",
    "build_recruitment_problem",
    "recruit_muscles",
    "solve_recruitment",
]


@dataclass
class Reserves:
    """Coordinate actuators (reserves and residuals).

    Attributes
    ----------
    names
        Actuator names (as written in OpenSim's output columns).
    coordinates
        The coordinate each acts on.
    optimal_force
        Generalized force per unit control (N m or N).
    min_control, max_control
        Control bounds (``-inf``/``inf`` for unbounded).
    """

    names: list[str]
    coordinates: list[str]
    optimal_force: np.ndarray
    min_control: np.ndarray
    max_control: np.ndarray

    @classmethod
    def for_coordinates(
        cls,
        coordinates: Sequence[str],
        *,
        optimal_force: float | dict[str, float] = 1.0,
        suffix: str = "_reserve",
    ) -> Reserves:
        """One unbounded reserve per coordinate (``optimal_force`` per name or for all)."""
        coords = list(coordinates)
        of = np.array(
            [optimal_force.get(c, 1.0) if isinstance(optimal_force, dict) else optimal_force for c in coords],
            dtype=float,
        )
        n = len(coords)
        return cls([c + suffix for c in coords], coords, of, np.full(n, -np.inf), np.full(n, np.inf))

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class RecruitmentResult:
    """Muscle and reserve outputs per frame.

    Attributes
    ----------
    muscle_names, reserve_names
        Column names.
    reserve_coordinates
        The coordinate each reserve acts on.
    activation
        ``(F, M)`` muscle activations (0-1).
    muscle_force_n
        ``(F, M)`` tendon force = activation x force at full activation.
    reserve_control
        ``(F, K)`` reserve controls.
    reserve_force
        ``(F, K)`` reserve generalized forces (N m or N).
    coordinate_names
        Independent, unlocked coordinates whose moments were matched.
    target_moment
        ``(F, C)`` generalized forces to reproduce (projected inverse dynamics).
    muscle_moment
        ``(F, C)`` generalized forces of the muscles.
    reserve_moment
        ``(F, C)`` generalized forces of the reserves.
    saturated
        ``(F, M)`` muscle at its upper activation bound.
    converged
        ``(F,)`` solver converged.
    iterations
        ``(F,)`` solver iterations.
    notes
        Anything a user should know (eliminated coordinates, ...).
    """

    muscle_names: list[str]
    reserve_names: list[str]
    reserve_coordinates: list[str]
    activation: np.ndarray
    muscle_force_n: np.ndarray
    reserve_control: np.ndarray
    reserve_force: np.ndarray
    coordinate_names: list[str]
    target_moment: np.ndarray
    muscle_moment: np.ndarray
    reserve_moment: np.ndarray
    saturated: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    notes: list[str] = field(default_factory=list)
    #: ``"static"`` or ``"dynamic"`` (:mod:`runmuscles.muscles.dynamic`): which solution this is.
    solution: str = "static"
    #: Dynamic solution only, ``(F, M)``: excitation, tendon length (m), fibre length (m) and
    #: fibre lengthening velocity along the fibre (m/s); ``None`` for static optimization.
    excitation: np.ndarray | None = None
    tendon_length_m: np.ndarray | None = None
    fibre_length_m: np.ndarray | None = None
    fibre_velocity_m_s: np.ndarray | None = None
    #: Dynamic solution only: the model's muscle parameters its settings replaced, with their
    #: sources (:func:`runmuscles.muscles.dynamic_model.muscle_parameter_overrides`); ``{}``: none.
    parameter_changes: dict = field(default_factory=dict)

    @property
    def moment_residual(self) -> np.ndarray:
        """``(F, C)`` muscle + reserve generalized force minus the target."""
        return self.muscle_moment + self.reserve_moment - self.target_moment


@dataclass
class RecruitmentProblem:
    """The assembled problem: what :func:`solve_static_optimization` gets, plus bookkeeping.

    ``A``, ``b``, ``lower``, ``upper``, ``weights`` and ``exponent`` are the solver's inputs
    (coordinates served by a single reserve and no muscle are already eliminated).
    """

    A: np.ndarray
    b: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    weights: np.ndarray | None
    exponent: float
    A_mus: np.ndarray
    A_res: np.ndarray
    target: np.ndarray
    strength_n: np.ndarray
    x_res: np.ndarray
    free_res: list[int]
    coordinates: list[str]
    notes: list[str]
    muscle_names: list[str]
    reserves: Reserves
    #: ``(F, C_ind, M)`` projected moment arms (``A_mus`` without the strengths), and the rows
    #: of ``target`` that ``A`` and ``b`` keep.
    muscle_moment_arm: np.ndarray | None = None
    keep_rows: list[int] | None = None


def build_recruitment_problem(
    *,
    coordinate_names: Sequence[str],
    generalized_forces: np.ndarray,
    muscle_names: Sequence[str],
    moment_arms_m: np.ndarray,
    strength_n: np.ndarray,
    min_activation: np.ndarray,
    max_activation: np.ndarray,
    reserves: Reserves,
    independent: Sequence[str],
    projection: np.ndarray | None = None,
    exponent: float = 2.0,
    muscle_weights: np.ndarray | None = None,
) -> RecruitmentProblem:
    """The static-optimization problem for all frames.

    Parameters
    ----------
    coordinate_names
        All model coordinates (columns of ``generalized_forces``, last axis of
        ``moment_arms_m``).
    generalized_forces
        ``(F, C_all)`` inverse dynamics (N m or N).
    muscle_names
        Muscle names, length ``M``.
    moment_arms_m
        ``(F, M, C_all)`` moment arms (m; generalized force per newton of tendon force).
    strength_n
        ``(F, M)`` force at full activation with a rigid tendon (N).
    min_activation, max_activation
        ``(M,)`` activation bounds.
    reserves
        Coordinate actuators (may act on any coordinate, including dependent ones).
    independent
        Coordinates whose generalized forces must be matched (unlocked, not dependent on
        another through a constraint).
    projection
        ``(F, C_ind, C_all)`` maps generalized forces on all coordinates to the
        independent ones (identity rows plus coupling slopes for dependent coordinates).
        ``None``: plain selection.
    exponent
        Activation exponent of the objective.
    muscle_weights
        Objective weights per muscle (default 1).
    """
    coords = list(coordinate_names)
    cidx = {c: i for i, c in enumerate(coords)}
    tau = np.asarray(generalized_forces, dtype=float)
    R = np.asarray(moment_arms_m, dtype=float)
    S = np.asarray(strength_n, dtype=float)
    F, M = S.shape
    if M == 0:
        raise ModelError("model", "has no muscles")
    ind = list(independent)
    if projection is None:
        P = np.zeros((len(ind), len(coords)))
        for k, c in enumerate(ind):
            P[k, cidx[c]] = 1.0
        P = np.broadcast_to(P, (F, len(ind), len(coords)))
    else:
        P = np.asarray(projection, dtype=float)
    # generalized force per unit control on all coordinates
    K = len(reserves)
    res_gen = np.zeros((len(coords), K))
    for k, (c, of) in enumerate(zip(reserves.coordinates, reserves.optimal_force, strict=True)):
        if c not in cidx:
            raise ModelError("reserves", f"actuator '{reserves.names[k]}' acts on unknown coordinate '{c}'")
        res_gen[cidx[c], k] = of
    # moment arms on the independent coordinates, then scaled by strength: the same products as
    # projecting the strength-scaled moment arms, a fifth of the time (one contiguous matmul)
    moment_arm_ind = P @ R.transpose(0, 2, 1)  # (F, Ci, M)
    A_mus = moment_arm_ind * S[:, None, :]  # (F, Ci, M)
    A_res = P @ res_gen  # (F, Ci, K)
    b = (P @ tau[..., None])[..., 0]  # (F, Ci)

    # Coordinates that no muscle and exactly one reserve serve: that reserve is fixed.
    mus_reach = np.any(np.abs(A_mus) > 0, axis=(0, 2))
    res_reach = np.abs(A_res).max(axis=0) > 0  # (Ci, K)
    uncovered = [ind[i] for i in range(len(ind)) if not mus_reach[i] and not res_reach[i].any()]
    if uncovered:
        raise ModelError(
            "model",
            "no muscle or reserve actuates coordinate(s) " + ", ".join(uncovered) + ": add reserve actuators",
        )
    fixed_rows = [
        i
        for i in range(len(ind))
        if not mus_reach[i] and res_reach[i].sum() == 1 and res_reach[:, np.argmax(res_reach[i])].sum() == 1
    ]
    fixed_res = [int(np.argmax(res_reach[i])) for i in fixed_rows]
    keep_rows = [i for i in range(len(ind)) if i not in fixed_rows]
    free_res = [k for k in range(K) if k not in fixed_res]
    x_res = np.zeros((F, K))
    for i, k in zip(fixed_rows, fixed_res, strict=True):
        x_res[:, k] = b[:, i] / A_res[:, i, k]
    notes = []
    lo_r, hi_r = reserves.min_control, reserves.max_control
    clipped = [
        reserves.names[k]
        for k in fixed_res
        if np.any(x_res[:, k] < lo_r[k] - 1e-9) or np.any(x_res[:, k] > hi_r[k] + 1e-9)
    ]
    if clipped:
        notes.append("reserve(s) needed beyond their control bounds: " + ", ".join(clipped))
    A = np.concatenate([A_mus[:, keep_rows], A_res[:, keep_rows][:, :, free_res]], axis=2)
    bb = b[:, keep_rows]
    lower = np.concatenate([np.asarray(min_activation, float), lo_r[free_res]])
    upper = np.concatenate([np.asarray(max_activation, float), hi_r[free_res]])
    w = None
    if muscle_weights is not None:
        w = np.concatenate([np.asarray(muscle_weights, float), np.ones(len(free_res))])
    return RecruitmentProblem(
        A=A,
        b=bb,
        lower=lower,
        upper=upper,
        weights=w,
        exponent=exponent,
        A_mus=A_mus,
        A_res=A_res,
        target=b,
        strength_n=S,
        x_res=x_res,
        free_res=free_res,
        coordinates=ind,
        notes=notes,
        muscle_names=list(muscle_names),
        reserves=reserves,
        muscle_moment_arm=moment_arm_ind,
        keep_rows=keep_rows,
    )


def recruit_muscles(**problem: Any) -> RecruitmentResult:
    """Solve muscle recruitment for all frames.

    Takes the keyword arguments of :func:`build_recruitment_problem` (generalized forces,
    moment arms, strengths, activation bounds, reserves, independent coordinates and their
    projection, exponent) and returns :func:`solve_recruitment` of that problem.
    """
    return solve_recruitment(build_recruitment_problem(**problem))


def solve_recruitment(prob: RecruitmentProblem) -> RecruitmentResult:
    """Solve an assembled problem and report muscles, reserves and equilibrium."""
    exponent = prob.exponent
    muscle_names = prob.muscle_names
    reserves = prob.reserves
    sol = solve_static_optimization(
        prob.A, prob.b, prob.lower, prob.upper, weights=prob.weights, exponent=exponent
    )
    A_mus, A_res, b, S = prob.A_mus, prob.A_res, prob.target, prob.strength_n
    M = S.shape[1]
    F = S.shape[0]
    x_res = prob.x_res.copy()
    free_res = prob.free_res
    notes = list(prob.notes)
    ind = prob.coordinates
    act = sol.controls[:, :M]
    x_res[:, free_res] = sol.controls[:, M:]
    force = act * S
    muscle_moment = (A_mus @ act[..., None])[..., 0]
    reserve_moment = (A_res @ x_res[..., None])[..., 0]
    if not sol.converged.all():
        notes.append(f"solver did not converge on {int((~sol.converged).sum())} of {F} frames")
    return RecruitmentResult(
        muscle_names=list(muscle_names),
        reserve_names=list(reserves.names),
        reserve_coordinates=list(reserves.coordinates),
        activation=act,
        muscle_force_n=force,
        reserve_control=x_res,
        reserve_force=x_res * reserves.optimal_force,
        coordinate_names=ind,
        target_moment=b,
        muscle_moment=muscle_moment,
        reserve_moment=reserve_moment,
        saturated=sol.at_upper[:, :M],
        converged=sol.converged,
        iterations=sol.iterations,
        notes=notes,
    )
