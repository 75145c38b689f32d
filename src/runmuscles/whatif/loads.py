"""External loads of a what-if: each foot's normal force and contacts, a steady external force
balanced by the ground reaction force (:func:`balance_external`), the centre of pressure moved with
its foot."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..dynamics.inverse import BodyLoad
from ..errors import InputError

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State


def periodic_double_integral(t: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Position deviation whose second derivative is ``acc`` (rows = samples), with zero mean
    velocity and zero mean position over the window (no drift: the motion stays periodic)."""
    dt = np.diff(t)[:, None]
    v = np.vstack([np.zeros((1, acc.shape[1])), np.cumsum(0.5 * (acc[1:] + acc[:-1]) * dt, axis=0)])
    v -= v.mean(axis=0)
    x = np.vstack([np.zeros((1, acc.shape[1])), np.cumsum(0.5 * (v[1:] + v[:-1]) * dt, axis=0)])
    # remove the linear trend left by a window that is not a whole number of periods
    tt = t - t.mean()
    slope = (tt @ (x - x.mean(axis=0))) / (tt @ tt)
    return x - x.mean(axis=0) - np.outer(tt, slope)


def normal_forces(engine: WhatIfEngine, st: State) -> dict[str, np.ndarray]:
    """Each foot's (``"r"``/``"l"``) ground reaction force along the vertical, N."""
    from ..pipeline import foot_side  # noqa: PLC0415

    normal: dict[str, np.ndarray] = {}
    for ld in st.loads:
        s = foot_side(ld.body)
        if s:
            normal[s[0]] = normal.get(s[0], 0.0) + ld.force_n @ engine.up
    return normal


def foot_contacts(
    engine: WhatIfEngine, st: State, normal: dict[str, np.ndarray] | None = None
) -> dict[str, list[tuple[int, int]]]:
    """Frame intervals ``[i0, i1)`` during which each foot is loaded."""
    from ..kinematics.events import contact_intervals  # noqa: PLC0415

    rate = 1.0 / float(st.t[1] - st.t[0])
    normal = normal_forces(engine, st) if normal is None else normal
    return {s: contact_intervals(fy, rate) for s, fy in normal.items()}


def balance_external(
    engine: WhatIfEngine,
    st: State,
    force_n: np.ndarray,
    where: str,
    point_m: np.ndarray | None = None,
    *,
    lean: bool = False,
) -> None:
    """Add a steady external force on the runner (``(F, 3)`` N, e.g. tilted gravity's
    change or air drag) and keep running steady under it.

    * Ground reaction force: over the window its net change cancels the added force's
      impulse; it is added to each foot in proportion to that foot's normal force (so
      it is zero in flight and follows the measured stance shape).
    * Centre of mass: follows the changed net force (periodic double integral, moved
      through the pelvis translations).
    * Angular momentum (``lean=True``): the body shifts forward or back over its feet
      (pelvis moved, feet kept on the ground by leg inverse kinematics) until the mean
      moment of all external forces about the centre of mass equals the trial's. Off by
      default: at 10 % grade it asks for a 10 cm shift that the trailing leg cannot
      reach at toe-off; the change of moment is reported instead.
    """
    t = st.t
    T = float(t[-1] - t[0])
    normal = [ld.force_n @ engine.up for ld in st.loads]
    total_normal = float(np.trapezoid(sum(normal), t))
    if total_normal <= 0:
        raise InputError(where, "the trial's ground reaction force has no upward impulse")
    impulse = np.trapezoid(force_n, t, axis=0)  # N s over the window
    q_now = st.q + st.dq
    pending = st.pending_shift if st.pending_shift is not None else np.zeros((t.size, 3))
    st.pending_shift = None
    com0 = engine.com(q_now) + pending  # where the centre of mass is meant to be
    feet0 = engine.foot_state(q_now)
    side = engine.side_axis

    def mean_moment(loads: list[BodyLoad], com: np.ndarray) -> float:
        m = np.zeros(t.size)
        for ld in loads:
            if ld.point_m is None or ld.point_in_body:
                continue
            m += np.cross(ld.point_m - com, ld.force_n) @ side
            if ld.torque_nm is not None:
                m += ld.torque_nm @ side
        return float(np.trapezoid(m, t)) / T

    before = mean_moment(st.loads, com0)
    new_loads = []
    for ld, n in zip(st.loads, normal, strict=True):
        df = -np.outer(n / total_normal, impulse)
        new_loads.append(replace(ld, force_n=ld.force_n + df))
    st.loads = new_loads
    dgrf = -np.outer(sum(normal) / total_normal, impulse)
    dp = periodic_double_integral(t, (dgrf + force_n) / engine.mass_kg)
    # moment of the added force about the centre of mass (applied at its own point)
    extra_moment = 0.0
    if point_m is not None:
        extra_moment = float(np.trapezoid(np.cross(point_m - com0, force_n) @ side, t)) / T
    after = mean_moment(st.loads, com0 + dp) + extra_moment
    # shifting the body forward by x changes the mean moment by -x (fwd x F) . side
    lever = float(np.trapezoid(np.cross(engine.fwd, sum(ld.force_n for ld in st.loads)) @ side, t)) / T
    shift = (after - before) / lever if abs(lever) > 1e-9 else 0.0
    if not lean:
        shift = 0.0
    engine.shift_root(st, pending + dp + shift * engine.fwd)
    engine.with_ik(st, feet0)
    st.notes.append(
        f"{where}: ground reaction force changed by {np.round(-impulse / T, 1).tolist()} N on "
        f"average (fore-aft, vertical, lateral in ground axes); mean moment of external forces "
        f"about the centre of mass changed by {after - before:+.1f} N m"
        + (f"; the body moved {100 * shift:+.1f} cm forward over its feet to balance it" if lean else "")
    )


def move_loads_with_feet(engine: WhatIfEngine, st: State, q_before: np.ndarray, q_after: np.ndarray) -> None:
    """Centre of pressure follows the foot it is under (translation of the foot body)."""
    _, p0 = engine.poses(q_before)
    _, p1 = engine.poses(q_after)
    new = []
    for ld in st.loads:
        if ld.point_m is None or ld.point_in_body:
            new.append(ld)
            continue
        b = engine.bodies.index(ld.body)
        shift = p1[:, b] - p0[:, b]
        shift -= np.outer(shift @ engine.up, engine.up)  # stays on the floor
        new.append(replace(ld, point_m=ld.point_m + shift))
    st.loads = new
