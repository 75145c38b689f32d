"""Cadence: step frequency times ``c`` at the same speed (:func:`change_cadence`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..kinematics.events import StrideCycle
from .loads import move_loads_with_feet

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State


def map_event_times(events, fn):
    """Gait events with every time passed through ``fn`` (a what-if that re-times the stride)."""
    from ..kinematics.events import FootEvents, GaitEvents  # noqa: PLC0415

    feet = {
        side: FootEvents(fe.side, fn(np.asarray(fe.foot_strikes_s)), fn(np.asarray(fe.toe_offs_s)))
        for side, fe in events.feet.items()
    }
    cycles = {side: [map_cycle(c, fn) for c in cs] for side, cs in events.cycles.items()}
    return GaitEvents(feet, cycles, events.source, list(events.notes))


def map_cycle(c: StrideCycle, fn) -> StrideCycle:
    return replace(
        c,
        start_s=fn(c.start_s),
        toe_off_s=fn(c.toe_off_s),
        end_s=fn(c.end_s),
        braking_end_s=fn(c.braking_end_s),
    )


def change_cadence(engine: WhatIfEngine, st: State, c: float) -> None:
    """Step frequency x ``c`` at the same speed (see the module notes)."""
    t = st.t
    t0 = float(t[0])
    tn = t0 + (t - t0) / c
    q_old = st.q
    feet = engine.foot_state(q_old)
    q = q_old.copy()
    qd = st.qd * c
    qdd = st.qdd * c**2
    # whole-body progression: mean speed kept, excursions about it / c^2
    tt = t - t0
    root_pos = q_old[:, engine.root_cols] @ engine.root_axes  # (F, 3) in ground
    slope = np.polyfit(tt, root_pos, 1)[0]  # mean velocity, m/s (3,)
    dev = root_pos - np.outer(tt, slope)
    dev_mean = dev.mean(axis=0)
    new_pos = dev_mean + np.outer(tn - t0, slope) + (dev - dev_mean) / c**2
    A = engine.root_axes.T
    q[:, engine.root_cols] = np.linalg.lstsq(A, new_pos.T, rcond=None)[0].T
    vel = st.qd[:, engine.root_cols] @ engine.root_axes
    new_vel = slope + (vel - slope) / c
    qd[:, engine.root_cols] = np.linalg.lstsq(A, new_vel.T, rcond=None)[0].T
    acc = st.qdd[:, engine.root_cols] @ engine.root_axes
    qdd[:, engine.root_cols] = np.linalg.lstsq(A, acc.T, rcond=None)[0].T
    # feet: fore-aft excursion about the progression / c, height and pitch kept
    target = {}
    for s, (pos, pitch) in feet.items():
        f = pos @ engine.fwd
        fdev = f - tt * (slope @ engine.fwd)
        fm = fdev.mean()
        f_new = fm + (tn - t0) * (slope @ engine.fwd) + (fdev - fm) / c
        target[s] = (pos + np.outer(f_new - f, engine.fwd), pitch)
    st.t, st.q, st.qd, st.qdd = tn, q, qd, qdd
    engine.with_ik(st, target)
    # The force is the measured one, time-compressed; so the whole-body centre of mass
    # (not only the pelvis) must follow the scaled excursions. The legs' and arms' new
    # motion moves it a little: the pelvis takes the difference, the legs follow.
    com_old = engine.com(q_old)
    c_slope = np.polyfit(tt, com_old, 1)[0]
    c_dev = com_old - np.outer(tt, c_slope)
    c_mean = c_dev.mean(axis=0)
    # fore-aft: the force is re-aimed along the leg (below), so its fore-aft part scales
    # by 1/c like the foot's lever; the excursion then scales by 1/c^3
    per_axis = np.outer(engine.fwd, engine.fwd) / c**3 + (np.eye(3) - np.outer(engine.fwd, engine.fwd)) / c**2
    com_target = c_mean + np.outer(tn - t0, c_slope) + (c_dev - c_mean) @ per_axis
    move_loads_with_feet(engine, st, q_old, st.q + st.dq)
    engine.defer_shift(st, com_target - engine.com(st.q + st.dq))
    # Spring-mass consistency: the foot's fore-aft distance from the centre of mass scales
    # by 1/c, so the fore-aft force does too (the force keeps pointing near the centre of
    # mass: the body's angular momentum stays balanced as it was in the trial)
    st.loads = [
        replace(ld, force_n=ld.force_n - np.outer(ld.force_n @ engine.fwd, engine.fwd) * (1.0 - 1.0 / c))
        for ld in st.loads
    ]
    st.events = map_event_times(st.events, lambda x: t0 + (x - t0) / c)
    st.cycles = [map_cycle(cy, lambda x: t0 + (x - t0) / c) for cy in st.cycles]
    st.notes.append(
        f"cadence {100 * c:.4g} %: stride time / {c:.4g}, step length / {c:.4g}, vertical and lateral "
        f"centre-of-mass excursions / {c * c:.3g} (same force amplitudes), fore-aft force / {c:.4g} "
        f"(along the leg) and excursion / {c**3:.3g}"
    )
