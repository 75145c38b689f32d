"""Overstride: each foot lands further ahead, the stance longer (:func:`overstride`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .loads import foot_contacts, periodic_double_integral
from .ramps import smoothstep

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State


def overstride(engine: WhatIfEngine, st: State, d_m: float) -> None:
    """Each foot lands ``d_m`` further ahead on the same ground path: the contact starts
    ``d_m / v`` earlier (the foot's ground speed in early stance: the belt speed on a
    treadmill), toe-off unchanged, so stance lengthens and flight shortens. Each contact's
    force is stretched over the longer stance with its impulse kept (vertical: body weight x
    step time; fore-aft: the measured net), the centre of mass follows the changed force, the
    ball of the foot is held on its extended ground path (late swing blends into it over
    0.1 s) and the legs follow by inverse kinematics. Stride cycles keep their bounds (a
    period is a period); the extra early stance falls at the end of the previous cycle's late
    swing in the phase split (noted).
    """
    if d_m < 0:
        raise InputError("overstride_m", "only a longer reach (positive) is simulated")
    v = engine.require_speed("overstriding")
    from ..pipeline import foot_side  # noqa: PLC0415

    t = st.t
    q_now = st.q + st.dq
    feet = engine.foot_state(q_now)
    contacts = foot_contacts(engine, st)
    all_c = sorted((i0, min(i1, t.size), s) for s, cs in contacts.items() for i0, i1 in cs)
    old_total = sum(ld.force_n for ld in st.loads)
    new_force = {id(ld): np.zeros_like(ld.force_n) for ld in st.loads}
    new_point = {id(ld): None if ld.point_m is None else ld.point_m.copy() for ld in st.loads}
    target = {s: (feet[s][0].copy(), feet[s][1].copy()) for s in feet}
    lead_times = []
    moved: list[tuple[float, float]] = []
    kept = np.ones(t.size, dtype=bool)
    for i0, i1, s in all_c:
        mine = [ld for ld in st.loads if (foot_side(ld.body) or " ")[0] == s]
        if i0 == 0:
            for ld in mine:
                new_force[id(ld)][i0:i1] = ld.force_n[i0:i1]
            continue
        ball, pitch = feet[s]
        # the ball's ground speed in early stance (treadmill: the belt)
        k = max(i0 + 2, i0 + (i1 - i0) // 3)
        u = (ball[k] - ball[i0]) / (t[k] - t[i0])
        u_f = float(u @ engine.fwd)
        speed = abs(u_f) if abs(u_f) > 0.3 * v else v
        lead = d_m / speed
        ts, te = float(t[i0]), float(t[i1 - 1])
        ts_new = ts - lead
        prev = [c for c in all_c if c[2] != s and c[0] < i0]
        if prev and t[min(prev[-1][1], t.size) - 1] > ts_new - 0.01:
            raise InputError(
                "overstride_m",
                f"{d_m:g} m needs contacts {1000 * lead:.0f} ms earlier; the flight before "
                f"this one lasts only {1000 * (ts - t[min(prev[-1][1], t.size) - 1]):.0f} ms",
            )
        if ts_new < t[0]:
            continue
        lead_times.append(lead)
        moved.append((ts, lead))
        j = (t >= ts_new) & (t <= te)
        src = ts + (t[j] - ts_new) * (te - ts) / (te - ts_new)
        scale = (te - ts) / (te - ts_new)
        for ld in mine:
            f = np.column_stack([np.interp(src, t, ld.force_n[:, c]) for c in range(3)])
            new_force[id(ld)][j] = f * scale
            if ld.point_m is not None and not ld.point_in_body:
                rel = np.column_stack([np.interp(src, t, ld.point_m[:, c] - ball[:, c]) for c in range(3)])
                new_point[id(ld)][j] = rel  # relative to the ball; made absolute after IK
        # ball on its ground path, extended back in time
        jj = (t >= ts_new) & (t < ts)
        tgt_ball, tgt_pitch = target[s]
        tgt_ball[jj] = ball[i0] + np.outer(t[jj] - ts, u)
        tgt_pitch[jj] = pitch[i0]
        j0 = t >= ts_new - 0.1
        sw = j0 & (t < ts_new)
        if sw.any():
            b = smoothstep((t[sw] - (ts_new - 0.1)) / 0.1)[:, None]
            land = ball[i0] + (ts_new - ts) * u
            tgt_ball[sw] = (1 - b) * ball[sw] + b * land
            tgt_pitch[sw] = (1 - b[:, 0]) * pitch[sw] + b[:, 0] * pitch[i0]
        kept[j] = False
    if not lead_times:
        raise InputError("overstride_m", "no complete foot contact in the analysed window")
    # the moved foot strikes (a strike within 15 ms of a moved contact's start)
    starts = np.array([x[0] for x in moved]) if moved else np.zeros(0)
    leads = np.array([x[1] for x in moved]) if moved else np.zeros(0)

    def earlier(times: np.ndarray) -> np.ndarray:
        out = np.asarray(times, dtype=float).copy()
        for k, tv in enumerate(out):
            hit = np.flatnonzero(np.abs(starts - tv) < 0.015)
            if hit.size:
                out[k] = tv - leads[hit[0]]
        return out

    from ..kinematics.events import FootEvents, GaitEvents  # noqa: PLC0415

    ev = st.events
    st.events = GaitEvents(
        {sd: FootEvents(fe.side, earlier(fe.foot_strikes_s), fe.toe_offs_s) for sd, fe in ev.feet.items()},
        ev.cycles,
        ev.source,
        list(ev.notes),
    )
    # loads outside the moved contacts keep their values
    loads = []
    for ld in st.loads:
        f = new_force[id(ld)]
        loads.append((ld, f))
    total_new = sum(f for _, f in loads)
    dp = periodic_double_integral(t, (total_new - old_total) / engine.mass_kg)
    engine.shift_root(st, dp)
    engine.with_ik(st, target)
    q_new = st.q + st.dq
    feet_new = engine.foot_state(q_new)
    out = []
    for ld, f in loads:
        s = (foot_side(ld.body) or " ")[0]
        pt = new_point[id(ld)]
        if pt is not None and not ld.point_in_body and s in feet_new:
            absolute = np.where(kept[:, None], ld.point_m, pt + feet_new[s][0])
            absolute -= np.outer(absolute @ engine.up - ld.point_m @ engine.up, engine.up)
            out.append(replace(ld, force_n=f, point_m=absolute))
        else:
            out.append(replace(ld, force_n=f))
    st.loads = out
    st.notes.append(
        f"overstride {100 * d_m:g} cm: contacts start {1000 * np.mean(lead_times):.0f} ms earlier "
        f"(stance longer, same toe-off), force impulses kept, centre of mass follows; "
        "the early stance counts in the previous cycle's late swing in the phase split"
    )
