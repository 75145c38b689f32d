"""Foot strike: the foot's angle at contact set to a forefoot or rearfoot landing, or changed by
an angle (:func:`set_strike`)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .loads import foot_contacts, move_loads_with_feet, normal_forces
from .ramps import smoothstep

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State

# Foot strike angles for the strike transformation (deg, foot relative to the ground at
# contact, positive toes up): centres of the classes of Altman & Davis (2012).
STRIKE_ANGLE_DEG = {"rearfoot": 16.0, "forefoot": -8.0}


def realized_landing(
    before: dict | None, after: dict | None, changed: list[tuple[str, float]], dt: float
) -> str:
    """The foot angle at contact that a landing change gave, after the legs' inverse
    kinematics and the coordinate filter (which round its peak): per foot, the median change
    over the strikes the transformation changed (strikes matched in order; a transformation
    neither adds nor removes contacts). Strikes at the window's edges that it could not change
    are left out and counted."""
    parts = []
    for side in ("right", "left"):
        b = [x for x in (before or {}).get("strides", []) if x["side"] == side]
        a = [x for x in (after or {}).get("strides", []) if x["side"] == side]
        times = [tt for s, tt in changed if s == side[0]]
        if not b or len(a) != len(b):
            continue
        idx = [k for k, x in enumerate(a) if any(abs(x["foot_strike_s"] - tt) <= 1.5 * dt for tt in times)]
        if not idx:
            parts.append(f"{side}: none of {len(a)} strikes could be changed (window edges)")
            continue
        d = np.median([a[k]["strike_angle_deg"] - b[k]["strike_angle_deg"] for k in idx])
        rest = len(a) - len(idx)
        parts.append(
            f"{side} {d:+.1f} deg"
            + (f" ({rest} edge strike{'s' if rest > 1 else ''} unchanged)" if rest else "")
        )
    if not parts:
        return "landing: the realized foot angle at contact could not be measured"
    return "landing as realized (median change of the foot angle at contact): " + ", ".join(parts)


def heel_ball(engine, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    _, p = engine.poses(q)
    return {
        s: (p[:, engine.body_index(f"calcn_{s}")], p[:, engine.body_index(f"toes_{s}")]) for s in ("r", "l")
    }


def set_strike(engine: WhatIfEngine, st: State, kind: str | None, *, delta_rad: float = 0.0) -> None:
    """Foot angle at contact set to ``STRIKE_ANGLE_DEG[kind]`` (module notes), or, with
    ``kind=None``, changed by ``delta_rad`` at every contact (a slope adaptation).

    Per contact: the change of foot pitch is full at foot strike and blends out by 40 % of
    stance (the foot is flat by then in either pattern) and in over the 0.1 s of late swing
    before it. The ball of the foot is lowered (forefoot) or raised (rearfoot) so that the
    lowest of heel and ball touches the floor at contact; the centre of pressure along the
    heel-ball line is shifted by the difference of the median forefoot and rearfoot profiles
    measured on the hamner2013 trials (:mod:`runmuscles.dynamics.grf_estimation`). The
    measured ground reaction force is kept (a forefoot landing has no impact peak: caveat).
    """
    from ..dynamics.grf_estimation import _COP_FOREFOOT, _COP_REARFOOT, _COP_STANCE  # noqa: PLC0415
    from ..pipeline import foot_side  # noqa: PLC0415

    target_deg = STRIKE_ANGLE_DEG[kind] if kind is not None else None
    rear, fore = STRIKE_ANGLE_DEG["rearfoot"], STRIKE_ANGLE_DEG["forefoot"]

    def _blend(angle_deg: float) -> float:  # 0: rearfoot profile, 1: forefoot profile
        return float(np.clip((rear - angle_deg) / (rear - fore), 0.0, 1.0))

    t = st.t
    dt = float(t[1] - t[0])
    q_now = st.q + st.dq
    feet = engine.foot_state(q_now)
    hb = heel_ball(engine, q_now)
    normals = normal_forces(engine, st)
    contacts = foot_contacts(engine, st, normals)
    target, cop_shift = {}, {}
    changed = []
    for s, (ball, pitch) in feet.items():
        heel = hb[s][0]
        hb_vec = ball - heel
        length = float(
            np.median(np.linalg.norm(hb_vec - np.outer(hb_vec @ engine.side_axis, engine.side_axis), axis=1))
        )
        # pitch of the heel-ball line minus the calcn axis pitch: a constant of the foot
        hb_pitch = np.arctan2(hb_vec @ engine.up, hb_vec @ engine.fwd)
        offset = float(np.median(hb_pitch - pitch))
        d_pitch = np.zeros(t.size)
        d_y = np.zeros(t.size)
        frac = np.zeros(t.size)
        normal = normals.get(s, np.zeros(t.size))
        for i0, i1 in contacts.get(s, []):
            i1 = min(i1, t.size)
            if i0 == 0 and float(normal[0]) > 0.25 * float(np.max(normal[i0:i1])):
                continue  # a contact cut by the window's start: its landing is not in the data
            tc = float(t[i1 - 1] - t[i0])
            dphi = math.radians(target_deg) - float(pitch[i0]) if target_deg is not None else delta_rad
            new_deg = math.degrees(float(pitch[i0]) + dphi)
            new_hb = float(pitch[i0]) + dphi + offset
            old_hb = float(pitch[i0]) + offset
            # the ball rises with the toes (heel on the floor) or is the point on the floor
            dy = length * (max(0.0, math.sin(new_hb)) - max(0.0, math.sin(old_hb)))
            tau = (t[i0:i1] - t[i0]) / max(tc, dt)
            w_st = 1.0 - smoothstep(tau / 0.4)
            d_pitch[i0:i1] += dphi * w_st
            d_y[i0:i1] += dy * w_st
            j0 = max(0, i0 - int(round(0.1 / dt)))
            w_sw = smoothstep((t[j0:i0] - t[j0]) / max(t[i0] - t[j0], dt))
            d_pitch[j0:i0] += dphi * w_sw
            d_y[j0:i0] += dy * w_sw
            # centre-of-pressure profile: rearfoot at or above +16 deg, forefoot at or below
            # -8 deg, blended linearly between; shift = profile at the new angle - at the old
            frac[i0:i1] += (_blend(new_deg) - _blend(math.degrees(float(pitch[i0])))) * np.interp(
                tau, _COP_STANCE, _COP_FOREFOOT - _COP_REARFOOT
            )
            changed.append(math.degrees(dphi))
            st.changed_strikes.append((s, float(t[i0])))
        target[s] = (ball + np.outer(d_y, engine.up), pitch + d_pitch)
        cop_shift[s] = (frac, length)
    if not changed:
        if kind is None:  # a slope adaptation: nothing to adapt, the rest goes on
            st.notes.append("slope adaptation: no complete foot contact in the window, landing unchanged")
            return
        raise InputError("strike", "no complete foot contact in the analysed window")
    com0 = engine.com(q_now)
    engine.with_ik(st, target)
    # the measured force is kept, so the centre of mass must be too: the drift that the
    # legs' new motion gives it is undone by a pelvis shift (deferred: see _defer_shift)
    q_new = st.q + st.dq
    engine.defer_shift(st, com0 - engine.com(q_new))
    move_loads_with_feet(engine, st, q_now, q_new)
    hb_new = heel_ball(engine, q_new)

    new = []
    for ld in st.loads:
        s = (foot_side(ld.body) or " ")[0]
        if ld.point_m is None or ld.point_in_body or s not in cop_shift:
            new.append(ld)
            continue
        frac, _ = cop_shift[s]
        axis = hb_new[s][1] - hb_new[s][0]
        axis -= np.outer(axis @ engine.up, engine.up)
        new.append(replace(ld, point_m=ld.point_m + frac[:, None] * axis))
    st.loads = new
    what = (
        f"{kind} landing: foot angle at contact {target_deg:+g} deg (Altman & Davis 2012 classes)"
        if kind is not None
        else "landing"
    )
    st.notes.append(
        f"{what}, changed by {np.mean(changed):+.1f} deg on average over {len(changed)} contacts; centre "
        "of pressure moved along the foot; measured force magnitudes kept (impact peak not removed)"
    )
