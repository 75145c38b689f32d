"""Foot-strike pattern of an analysed trial, per foot and per stride, from the model's feet.

The same measures as :mod:`runmuscles.analyses.footstrike`, on the model instead of markers,
so that every analysis has them (lab trials, published joint angles, forces measured or
estimated):

* the heel is the origin of ``calcn_r``/``calcn_l`` and the ball the origin of
  ``toes_r``/``toes_l`` (the metatarsophalangeal joint), posed by the analysed coordinates;
* with **measured forces**, the strike index: where the centre of pressure is, along heel (0)
  to ball (1), at the first sample of the contact whose vertical force exceeds 100 N
  (Cavanagh & Lafortune 1980 thirds: rearfoot below 1/3, forefoot above 2/3);
* always, the foot-strike angle: the sagittal angle of the heel-to-ball line at foot strike
  minus the same angle standing (Altman & Davis 2012: rearfoot above 8 deg, forefoot below
  -1.6 deg). Standing is the pose of the static trial the model was scaled from when there
  is one (a shoe's heel drop and the runner's posture pitch the foot by several degrees:
  the Fukuchi 2017 static poses have the ankles at -7 to +3 deg), else the model's default
  pose. Forces estimated from motion have a centre
  of pressure that is itself derived from the foot's kinematics, so there the pattern comes
  from the angle.

Each foot's pattern is the majority over its strides (ties: the pattern of the median
measure).
"""

from __future__ import annotations

import numpy as np

from .footstrike import classify_strike_angle, classify_strike_index, foot_angle, strike_index

__all__ = ["COP_AT_FORCE_N", "foot_strike_summary", "standing_foot_angles"]

#: Vertical force at which the centre of pressure is read (the first reliable COP of a
#: contact on a treadmill plate; as :func:`runmuscles.analyses.footstrike.foot_strikes_from_plate`).
COP_AT_FORCE_N = 100.0


def _feet(multibody, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    from ..model.multibody import forward_kinematics  # noqa: PLC0415

    names = [f"{b}_{s}" for s in "rl" for b in ("calcn", "toes")]
    if any(n not in multibody.body_names for n in names):
        return None
    p = forward_kinematics(multibody, q).p_m
    return {
        s: (p[:, multibody.body_index(f"calcn_{s}")], p[:, multibody.body_index(f"toes_{s}")]) for s in "rl"
    }


def standing_foot_angles(multibody, q: np.ndarray | None = None) -> dict[str, float]:
    """Heel-to-ball angle (rad, toe up positive) of each foot (``"r"``/``"l"``) in a standing
    pose: ``q`` (model order, one row, dependent coordinates filled here) or the model's
    default pose (all coordinates zero)."""
    from ..model.multibody import fill_dependent_coordinates  # noqa: PLC0415

    q0 = np.zeros((1, multibody.n_coordinates)) if q is None else np.atleast_2d(np.asarray(q, dtype=float))
    q0, _, _ = fill_dependent_coordinates(multibody, q0)
    feet = _feet(multibody, q0)
    if feet is None:
        return {}
    return {s: float(foot_angle(feet[s][0][0], feet[s][1][0])) for s in "rl"}


def _body_loads_cop(loads: list, time_s: np.ndarray, foot_side) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`_cop_by_side` for per-frame body loads (:class:`runmuscles.dynamics.inverse.BodyLoad`,
    points in ground), e.g. a what-if's transformed forces."""
    out: dict[str, list] = {}
    for ld in loads:
        side = foot_side(ld.body)
        if side is None or ld.point_m is None or ld.point_in_body:
            continue
        fy = ld.force_n[:, 1]
        acc = out.setdefault(side, [np.zeros(time_s.size), np.zeros((time_s.size, 3))])
        acc[0] = acc[0] + fy
        acc[1] = acc[1] + fy[:, None] * ld.point_m
    res = {}
    for side, (fy, m) in out.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            res[side] = (fy, m / fy[:, None])
    return res


def _cop_by_side(loads, foot_side) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side: vertical force and force-weighted centre of pressure over the force samples."""
    d = loads.data
    out: dict[str, list] = {}
    for f in loads.forces:
        side = foot_side(f.applied_to_body)
        if side is None or f.point_columns is None or f.point_expressed_in_body not in ("ground",):
            continue
        fy = d.column(f.force_columns[1])
        p = d.columns(f.point_columns)
        acc = out.setdefault(side, [np.zeros(d.n_frames), np.zeros((d.n_frames, 3))])
        acc[0] = acc[0] + fy
        acc[1] = acc[1] + fy[:, None] * p
    res = {}
    for side, (fy, m) in out.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            res[side] = (fy, m / fy[:, None])
    return res


def _majority(labels: list[str], measures: list[float], classify) -> str | None:
    labels = [x for x in labels if x]
    if not labels:
        return None
    counts = {x: labels.count(x) for x in set(labels)}
    top = max(counts.values())
    winners = [x for x, c in counts.items() if c == top]
    if len(winners) == 1:
        return winners[0]
    return classify(float(np.nanmedian(measures)))


def foot_strike_summary(
    multibody,
    time_s: np.ndarray,
    q: np.ndarray,
    events,
    loads,
    *,
    measured: bool,
    foot_side,
    standing_rad: dict[str, float] | None = None,
) -> dict:
    """Foot-strike pattern per foot (majority over strides) and per stride.

    Parameters
    ----------
    multibody
        The model (:class:`runmuscles.model.multibody.Multibody`).
    time_s, q
        Analysed frames and their coordinates (model order, all coordinates).
    events
        Gait events (:class:`runmuscles.kinematics.events.GaitEvents`); the foot strikes
        inside ``time_s`` are used.
    loads
        External loads: an ExternalLoads file's (at its own sample rate) or a list of
        per-frame body loads; ``None`` without forces.
    measured
        Whether the forces were measured (strike index) or estimated (angle only).
    foot_side
        Body name -> ``"right"``/``"left"`` (:func:`runmuscles.pipeline.foot_side`).
    standing_rad
        ``{"r": angle, "l": angle}`` of the feet standing (:func:`standing_foot_angles` of the
        static pose); default: the model's default pose.

    Returns
    -------
    dict
        ``{"right": pattern, "left": pattern, "method": ..., "strides": [{"side", "foot_strike_s",
        "pattern", "strike_index", "strike_angle_deg"}, ...]}``; a pattern is ``"rearfoot"``,
        ``"midfoot"``, ``"forefoot"`` or ``None`` (no strike in the window).
    """
    out: dict = {"right": None, "left": None, "strides": []}
    feet = _feet(multibody, q) if time_s.size else None
    if feet is None:
        out["method"] = "not available: the model has no calcn/toes bodies, or no frames"
        return out
    use_index = measured and loads is not None
    out["method"] = (
        "strike index: centre of pressure along heel (calcn origin, 0) to ball (toes origin, 1) at "
        f"{COP_AT_FORCE_N:g} N; rearfoot < 1/3 < midfoot < 2/3 < forefoot (Cavanagh & Lafortune 1980)"
        if use_index
        else "foot-strike angle: heel-to-ball line at foot strike minus standing; rearfoot > 8 deg, "
        "forefoot < -1.6 deg (Altman & Davis 2012)"
    )
    standing = dict(standing_rad) if standing_rad else standing_foot_angles(multibody)
    out["standing_angle_deg"] = {
        "right": float(np.degrees(standing["r"])),
        "left": float(np.degrees(standing["l"])),
        "from": "the static pose" if standing_rad else "the model's default pose",
    }
    per_frame = isinstance(loads, list)  # body loads on the frames, or an ExternalLoads file
    if not use_index:
        cop = {}
    elif per_frame:
        cop = _body_loads_cop(loads, time_s, foot_side)
    else:
        cop = _cop_by_side(loads, foot_side)
    # a strike up to one frame outside the frames still belongs to them (a cycle's first and
    # last strikes fall between frames)
    dt = float(np.median(np.diff(time_s))) if time_s.size > 1 else 0.0
    t0, t1 = float(time_s[0]) - dt, float(time_s[-1]) + dt
    for side in ("right", "left"):
        s = side[0]
        fe = events.feet.get(side) if events is not None else None
        strikes = [float(t) for t in (fe.foot_strikes_s if fe is not None else []) if t0 <= t <= t1]
        labels, measures = [], []
        for t in strikes:
            heel = np.array([np.interp(t, time_s, feet[s][0][:, k]) for k in range(3)])
            ball = np.array([np.interp(t, time_s, feet[s][1][:, k]) for k in range(3)])
            angle = float(foot_angle(heel, ball)) - standing[s]
            si = None
            if use_index and side in cop:
                fy, p = cop[side]
                tl = time_s if per_frame else loads.data.time_s
                after = np.flatnonzero((tl >= t - 1e-9) & (fy > COP_AT_FORCE_N))
                if after.size and tl[after[0]] - t < 0.05 and np.isfinite(p[after[0]]).all():
                    j = after[0]
                    hj = np.array([np.interp(tl[j], time_s, feet[s][0][:, k]) for k in range(3)])
                    bj = np.array([np.interp(tl[j], time_s, feet[s][1][:, k]) for k in range(3)])
                    si = float(strike_index(p[j], hj, bj))
            pattern = classify_strike_index(si) if si is not None else classify_strike_angle(angle)
            labels.append(pattern)
            measures.append(si if use_index and si is not None else angle)
            out["strides"].append(
                {
                    "side": side,
                    "foot_strike_s": t,
                    "pattern": pattern or None,
                    "strike_index": si,
                    "strike_angle_deg": float(np.degrees(angle)),
                }
            )
        classify = classify_strike_index if use_index else classify_strike_angle
        out[side] = _majority(labels, measures, classify)
    out["strides"].sort(key=lambda r: r["foot_strike_s"])
    return out
