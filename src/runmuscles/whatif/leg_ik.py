"""Inverse kinematics of both legs: the ball of each foot on its target path (see
:func:`solve_legs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError

if TYPE_CHECKING:
    from .engine import WhatIfEngine

# Leg inverse kinematics weights (metres of foot position per radian): the foot's pitch is
# a soft target and each joint is held towards its measured angle (see :func:`solve_legs`).
_W_PITCH = 0.01
# Leg inverse kinematics stops when no joint moves by more than this in an iteration (rad):
# 1e-5 rad is 0.01 mm at the end of a 1 m leg.
_IK_STEP_TOL_RAD = 1e-5
# ... and refreshes its Jacobian every this many iterations.
_IK_JACOBIAN_EVERY = 3
_W_JOINT = 0.005


def _find(names: list[str], stem: str, side: str) -> int:
    for i, n in enumerate(names):
        if n.startswith(stem) and n.endswith(f"_{side}"):
            return i
    raise ModelError(f"the model has no coordinate '{stem}_{side}' (needed for this what-if)")


def solve_legs(
    engine: WhatIfEngine,
    q: np.ndarray,
    target: dict[str, tuple[np.ndarray, np.ndarray]],
    iterations: int = 15,
    jacobian: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Hip flexion, knee angle and ankle angle of both legs such that each ball of the
    foot reaches its target position (fore-aft and vertical) and each foot its target
    pitch; other coordinates as given. Levenberg-Marquardt, both legs and all frames at
    once. The ball's position is the hard target; the foot's pitch is a soft one (0.01 m
    per rad), and each joint is held towards its measured angle (0.005 m per rad): near a
    straight leg, where a centimetre at the foot would cost the knee ten degrees, the
    ankle gives instead, as a runner's does. Joint ranges respected.

    ``jacobian``: a previous solve's Jacobian (same frames) to start from, as a
    transformation's poses change little between its solves; it is refreshed every third
    iteration either way. Returns the coordinates and the last Jacobian."""
    cols = {
        s: [
            _find(engine.names, "hip_flexion", s),
            _find(engine.names, "knee_angle", s),
            _find(engine.names, "ankle_angle", s),
        ]
        for s in ("r", "l")
    }
    q = q.copy()
    h = 1e-5
    rng = np.asarray(engine.mb.ranges, dtype=float)
    lo, hi = rng[:, 0].copy(), rng[:, 1].copy()
    # a knee never hyperextends in running: straight at most
    for s in ("r", "l"):
        k = cols[s][1]
        hi[k] = min(hi[k], 0.0) if lo[k] < 0 else hi[k]
    # per frame, the bounds also admit the measured pose itself (a recorded motion may go
    # past a model's nominal range; clipping it there would change the pose for nothing)
    lo = np.minimum(lo[None, :], q)
    hi = np.maximum(hi[None, :], q)

    def resid(qq: np.ndarray) -> dict[str, np.ndarray]:
        fs = engine.foot_state(qq)
        out = {}
        reps = qq.shape[0] // q.shape[0]  # stacked poses (the Jacobian's) share the targets
        for s in ("r", "l"):
            pos, pitch = fs[s]
            tp, tpitch = target[s]
            if reps > 1:
                tp, tpitch = np.tile(tp, (reps, 1)), np.tile(tpitch, reps)
            d = pos - tp
            out[s] = np.column_stack([d @ engine.fwd, d @ engine.up, _W_PITCH * (pitch - tpitch)])
        return out

    F = q.shape[0]
    q_ref = q.copy()
    w2 = _W_JOINT**2
    lam = {s: np.full(F, 1e-4) for s in ("r", "l")}
    r0 = resid(q)

    def cost(res: np.ndarray, qq: np.ndarray, s: str) -> np.ndarray:
        return (res**2).sum(axis=1) + w2 * ((qq[:, cols[s]] - q_ref[:, cols[s]]) ** 2).sum(axis=1)

    J: dict[str, np.ndarray] = {}
    reuse = jacobian is not None and all(jacobian[s].shape == (F, 3, 3) for s in ("r", "l"))
    for it in range(iterations):
        # the Jacobian is refreshed every third iteration only (the changes are small, and
        # each refresh costs three forward-kinematics passes)
        if it == 0 and reuse:
            J = jacobian  # type: ignore[assignment]
        elif it % _IK_JACOBIAN_EVERY == 0:
            J = _ik_jacobian(q, cols, r0, resid, h)
        trial = q.copy()
        for s in ("r", "l"):
            # Levenberg-Marquardt: damped steps, so that a target out of reach (a leg
            # straight already) gives the closest pose instead of a jump between branches
            Jt = np.swapaxes(J[s], 1, 2)
            JtJ = Jt @ J[s]
            A = JtJ + (w2 + lam[s])[:, None, None] * np.eye(3)
            g = Jt @ r0[s][..., None] + w2 * (q[:, cols[s]] - q_ref[:, cols[s]])[..., None]
            step = np.linalg.solve(A, g)[..., 0]
            trial[:, cols[s]] = np.clip(q[:, cols[s]] - step, lo[:, cols[s]], hi[:, cols[s]])
        r1 = resid(trial)
        largest = 0.0
        for s in ("r", "l"):
            better = cost(r1[s], trial, s) < cost(r0[s], q, s)
            rows = np.flatnonzero(better)
            if rows.size:
                largest = max(
                    largest, float(np.abs(trial[np.ix_(rows, cols[s])] - q[np.ix_(rows, cols[s])]).max())
                )
            q[np.ix_(rows, cols[s])] = trial[np.ix_(rows, cols[s])]
            r0[s][rows] = r1[s][rows]
            lam[s] = np.where(better, lam[s] / 3.0, lam[s] * 4.0)
        if largest < _IK_STEP_TOL_RAD:  # no joint moved by more than this: converged
            break
    return q, J


def _ik_jacobian(q, cols, r0, resid, h) -> dict[str, np.ndarray]:
    """Forward-difference Jacobian of both legs' residuals (legs perturbed together: they
    are independent chains)."""
    F = q.shape[0]
    J = {s: np.empty((F, 3, 3)) for s in ("r", "l")}
    # the three perturbed poses in one forward-kinematics pass (frames stacked)
    qp = np.concatenate([q] * 3, axis=0)
    for k in range(3):
        for s in ("r", "l"):
            qp[k * F : (k + 1) * F, cols[s][k]] += h
    rp = resid(qp)
    for k in range(3):
        for s in ("r", "l"):
            J[s][:, :, k] = (rp[s][k * F : (k + 1) * F] - r0[s]) / h
    return J
