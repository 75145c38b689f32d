"""Treadmill belt-speed fluctuation during stance (:func:`belt_fluctuation`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .loads import foot_contacts, move_loads_with_feet

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State


def belt_fluctuation(engine: WhatIfEngine, st: State, fraction: float) -> None:
    """Belt slowing by ``fraction`` of its speed during each stance (a half-sine dip, deepest at
    mid-stance): the stance foot travels back less; the centre of mass (an inertial-frame
    quantity) and the forces are unchanged; the legs follow the feet (inverse kinematics)."""
    v = engine.require_speed("belt fluctuation")
    t = st.t
    q_now = st.q + st.dq
    feet = engine.foot_state(q_now)
    contacts = foot_contacts(engine, st)
    target = {}
    for s, (pos, pitch) in feet.items():
        shift = np.zeros(t.size)
        for i0, i1 in contacts.get(s, []):
            i1 = min(i1, t.size)
            tc = float(t[i1 - 1] - t[i0])
            if tc <= 0:
                continue
            tau = (t[i0:i1] - t[i0]) / tc
            # the belt slips less far back: integral of v f sin(pi tau) over the stance
            shift[i0:i1] = v * fraction * tc * (1 - np.cos(np.pi * tau)) / np.pi
            # after toe-off the swing foot returns to its own path over 0.1 s
            j1 = min(t.size, i1 + int(round(0.1 / float(t[1] - t[0]))))
            if j1 > i1:
                shift[i1:j1] = shift[i1 - 1] * 0.5 * (1 + np.cos(np.linspace(0, np.pi, j1 - i1)))
        target[s] = (pos + np.outer(shift, engine.fwd), pitch)
    engine.with_ik(st, target)
    move_loads_with_feet(engine, st, q_now, st.q + st.dq)
    st.notes.append(
        f"belt speed dips by {100 * fraction:g} % at mid-stance (half-sine): the stance foot moves "
        "with the belt; forces and centre of mass as measured (the laboratory frame is inertial)"
    )
