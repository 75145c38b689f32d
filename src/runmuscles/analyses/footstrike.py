"""Foot-strike pattern: rearfoot, midfoot or forefoot, per foot and per contact.

Two measures, both in OpenSim axes (Y up):

* **Strike index** (with forces): where the centre of pressure is when the foot lands, along
  the foot's heel-to-toe axis, 0 at the heel marker and 1 at the toe (metatarsal) markers.
  Rearfoot below 1/3, midfoot 1/3 to 2/3, forefoot above 2/3 (Cavanagh PR, Lafortune MA
  (1980) Ground reaction forces in distance running. J Biomech 13:397-406).
* **Foot-strike angle** (markers only): sagittal angle of the heel-to-toe line relative to
  the ground at contact, minus the same angle standing; positive = heel down (toe up).
  Rearfoot above 8.0 deg, forefoot below -1.6 deg, midfoot between (Altman AR, Davis IS
  (2012) A kinematic method for footstrike pattern detection in barefoot and shod runners.
  Gait Posture 35:298-300).

Against the patterns observed in Fukuchi et al. (2017, PeerJ 5:e3298; 4 runners x 3 speeds x
2 feet) the strike index agrees on 21 of 24 and the angle on 10 of 24. The strike index's
misses are RBDS010's 'midfoot' labels, whose COP lands 152-169 mm from the heel marker
(0.76-0.83 of the heel-to-metatarsal length), where RBDS001's and RBDS010's own 'forefoot'
labels land (155-180 mm, 0.74-0.84). No variant of the definition separates them: the COP
at the first sample above 20-200 N with the plate filtered at 20-100 Hz, its mean over the
first 10-50 ms, the heel-to-second-metatarsal length of the static trial as the foot length,
or the COP at toe-off as the foot's end all give at most 21. One isolated setting (60 Hz,
50 N) gives 23: it puts two of RBDS010's right-foot medians at 0.63 and 0.66, just under 2/3;
its neighbours (50 or 80 Hz, 20 or 100 N) give 21 or fewer. A length to the toes (Cavanagh &
Lafortune used the shoe's; from stature, 0.152 x height after Drillis & Contini 1966, as
tabulated by Winter 2009) puts all of RBDS001's forefoot labels below 2/3 (0.57-0.65). The angle puts
RBDS010 ahead of RBDS001 (lands more toe-first), against the labels, and calls RBDS002's
heel-first 'midfoot' landings at 2.5 m/s rearfoot.

The labels are not a function of any of these measures: RBDS010's right foot at 3.5 and
4.5 m/s (index 0.80 and 0.77, angle -1.2 and -0.8 deg, heel landing 7 ms after the ball in
both) is 'midfoot' and then 'forefoot', and so is its left foot at 2.5 and 3.5 m/s (0.84 and
0.83, -4.3 and -4.7 deg, 23 and 22 ms). A rule that labels equal measures alike misses one of
each pair, and RBDS010's right foot at 2.5 m/s ('midfoot': 0.76, -2.3 deg) lands further forward
and more toe-first than RBDS001's right foot at 4.5 m/s ('forefoot': 0.75, +1.8 deg), so no
rule monotone in either measure gets all three others right: 21 of 24 is the ceiling
(``tests/test_footstrike.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..kinematics.forceplates import Contact, foot_marker_names, lowpass_plate, markers_at
from ..readers.c3d import ForcePlate
from ..readers.opensim_files import MarkerTable

__all__ = [
    "FootStrike",
    "classify_strike_angle",
    "classify_strike_index",
    "foot_angle",
    "foot_strikes_from_markers",
    "foot_strikes_from_plate",
    "standing_foot_angle",
    "strike_index",
    "summarise",
]

# Cavanagh & Lafortune (1980) J Biomech 13:397-406: thirds of the foot's length.
SI_REARFOOT_MAX = 1.0 / 3.0
SI_FOREFOOT_MIN = 2.0 / 3.0
# Altman & Davis (2012) Gait Posture 35:298-300: foot-strike angle thresholds.
FSA_REARFOOT_MIN_RAD = np.radians(8.0)
FSA_FOREFOOT_MAX_RAD = np.radians(-1.6)


@dataclass
class FootStrike:
    """One contact's foot-strike measures.

    Attributes
    ----------
    side
        ``"r"`` or ``"l"``.
    time_s
        When the measure was taken (s).
    strike_index
        COP position along heel (0) to toe markers (1); NaN without forces.
    angle_rad
        Foot-strike angle (heel down positive, standing angle removed); NaN if not computed.
    pattern
        ``"rearfoot"``, ``"midfoot"`` or ``"forefoot"`` (from the strike index when there is
        one, else from the angle).
    """

    side: str
    time_s: float
    strike_index: float
    angle_rad: float
    pattern: str


def strike_index(cop_m: np.ndarray, heel_m: np.ndarray, toe_m: np.ndarray) -> np.ndarray:
    """Position of the centre of pressure along the heel-to-toe axis (0 heel, 1 toe).

    Parameters
    ----------
    cop_m, heel_m, toe_m
        Points in OpenSim axes (Y up), shape ``(3,)`` or ``(n, 3)``. Only the horizontal (X, Z)
        components are used.

    Returns
    -------
    numpy.ndarray
        Shape ``()`` or ``(n,)``.
    """
    cop, heel, toe = (np.atleast_2d(np.asarray(a, dtype=float))[:, [0, 2]] for a in (cop_m, heel_m, toe_m))
    axis = toe - heel
    length2 = np.sum(axis * axis, axis=1)
    si = np.sum((cop - heel) * axis, axis=1) / np.where(length2 > 0, length2, np.nan)
    return si if np.ndim(cop_m) > 1 else si[0]


def classify_strike_index(si: float) -> str:
    """``"rearfoot"`` (< 1/3), ``"midfoot"`` or ``"forefoot"`` (> 2/3); Cavanagh & Lafortune 1980."""
    if not np.isfinite(si):
        return ""
    if si < SI_REARFOOT_MAX:
        return "rearfoot"
    return "forefoot" if si > SI_FOREFOOT_MIN else "midfoot"


def foot_angle(heel_m: np.ndarray, toe_m: np.ndarray) -> np.ndarray:
    """Sagittal angle (rad) of the heel-to-toe line above the ground; positive = toe higher."""
    heel = np.atleast_2d(np.asarray(heel_m, dtype=float))
    toe = np.atleast_2d(np.asarray(toe_m, dtype=float))
    v = toe - heel
    ang = np.arctan2(v[:, 1], np.hypot(v[:, 0], v[:, 2]))
    return ang if np.ndim(heel_m) > 1 else ang[0]


def classify_strike_angle(angle_rad: float) -> str:
    """``"rearfoot"`` (> 8.0 deg), ``"forefoot"`` (< -1.6 deg) or ``"midfoot"``; Altman & Davis 2012."""
    if not np.isfinite(angle_rad):
        return ""
    if angle_rad > FSA_REARFOOT_MIN_RAD:
        return "rearfoot"
    return "forefoot" if angle_rad < FSA_FOREFOOT_MAX_RAD else "midfoot"


def _foot(markers: MarkerTable, side: str, feet: dict | None) -> tuple[list[str], list[str]]:
    heel, toe = (feet or {}).get(side) or foot_marker_names(markers.names, side)
    if not heel or not toe:
        raise InputError(
            markers.meta.get("source", "markers"),
            f"cannot find the {'right' if side == 'r' else 'left'} foot's heel and toe markers",
        )
    return heel, toe


def standing_foot_angle(static: MarkerTable, side: str, *, feet: dict | None = None) -> float:
    """Foot angle (rad) in a static trial: the zero of the foot-strike angle."""
    heel, toe = _foot(static, side, feet)
    h = np.nanmean(np.nanmean(np.stack([static.marker(n) for n in heel], axis=1), axis=1), axis=0)
    t = np.nanmean(np.nanmean(np.stack([static.marker(n) for n in toe], axis=1), axis=1), axis=0)
    return float(foot_angle(h, t))


def foot_strikes_from_plate(
    plate: ForcePlate,
    markers: MarkerTable,
    contacts: list[Contact],
    *,
    cutoff_hz: float = 40.0,
    at_force_n: float = 100.0,
    static: MarkerTable | None = None,
    feet: dict | None = None,
) -> list[FootStrike]:
    """Strike index (and angle) of every assigned contact on a plate.

    The plate's force and moment are low-passed (``cutoff_hz``, zero lag) and the COP is
    taken at the first sample of the contact whose vertical force exceeds ``at_force_n``: the
    earliest moment a treadmill plate's COP is reliable. Heel and toe markers are
    interpolated to that instant. The foot angle is taken at the contact's first sample.

    Parameters
    ----------
    plate
        The plate (OpenSim axes).
    markers
        Markers of the trial (OpenSim axes).
    contacts
        Contacts with their side (:func:`runmuscles.kinematics.forceplates.assign_feet`).
    cutoff_hz, at_force_n
        Filter cut-off (Hz) and the vertical force (N) at which the COP is read.
    static
        Static trial: its foot angle is removed from the strike angle.
    feet
        ``{"r": (heel names, toe names), "l": ...}`` overrides.

    Returns
    -------
    list of FootStrike
    """
    filt = lowpass_plate(plate, cutoff_hz)
    out = []
    zero = {s: standing_foot_angle(static, s, feet=feet) if static is not None else 0.0 for s in "rl"}
    for c in contacts:
        if c.side not in ("r", "l"):
            continue
        heel, toe = _foot(markers, c.side, feet)
        fz = filt.force_n[c.start_idx : c.end_idx, 1]
        above = np.flatnonzero(fz > at_force_n)
        si = np.nan
        if above.size:
            j = c.start_idx + int(above[0])
            tj = plate.time_s[[j]]
            h = markers_at(markers, heel, tj)[0]
            t = markers_at(markers, toe, tj)[0]
            si = float(strike_index(filt.cop_m[j], h, t))
        t0 = plate.time_s[[c.start_idx]]
        ang = float(foot_angle(markers_at(markers, heel, t0)[0], markers_at(markers, toe, t0)[0]))
        ang -= zero[c.side]
        out.append(FootStrike(c.side, float(t0[0]), si, ang, classify_strike_index(si)))
    return out


def foot_strikes_from_markers(
    markers: MarkerTable,
    side: str,
    contact_times_s: np.ndarray,
    *,
    static: MarkerTable | None = None,
    feet: dict | None = None,
) -> list[FootStrike]:
    """Foot-strike angle and pattern at given contact times, from markers only.

    Parameters
    ----------
    markers
        Marker trajectories (OpenSim axes).
    side
        ``"r"`` or ``"l"``.
    contact_times_s
        Initial-contact times of that foot (s).
    static
        Static trial whose foot angle is the zero (Altman & Davis 2012); without it the
        angle is relative to the ground and the thresholds are less meaningful.
    feet
        ``{"r": (heel names, toe names), "l": ...}`` overrides.

    Returns
    -------
    list of FootStrike
        ``strike_index`` is NaN; ``pattern`` comes from the angle.
    """
    heel, toe = _foot(markers, side, feet)
    t = np.asarray(contact_times_s, dtype=float)
    ang = foot_angle(markers_at(markers, heel, t), markers_at(markers, toe, t))
    if static is not None:
        ang = ang - standing_foot_angle(static, side, feet=feet)
    pairs = zip(t, np.atleast_1d(ang), strict=True)
    return [FootStrike(side, float(tt), np.nan, float(a), classify_strike_angle(a)) for tt, a in pairs]


def summarise(strikes: list[FootStrike]) -> dict[str, dict[str, float | str | int]]:
    """Per foot: median strike index and angle, the pattern of the median, and counts.

    Returns
    -------
    dict
        ``{"r": {"strike_index": ..., "angle_rad": ..., "pattern": ..., "n": ...,
        "share": fraction of contacts with that pattern}, "l": {...}}``.
    """
    out: dict[str, dict[str, float | str | int]] = {}
    for side in "rl":
        mine = [s for s in strikes if s.side == side]
        if not mine:
            continue
        si = np.array([s.strike_index for s in mine])
        ang = np.array([s.angle_rad for s in mine])
        med_si = float(np.nanmedian(si)) if np.isfinite(si).any() else np.nan
        med_ang = float(np.nanmedian(ang)) if np.isfinite(ang).any() else np.nan
        pattern = classify_strike_index(med_si) if np.isfinite(med_si) else classify_strike_angle(med_ang)
        per = [s.pattern or classify_strike_angle(s.angle_rad) for s in mine]
        out[side] = {
            "strike_index": med_si,
            "angle_rad": med_ang,
            "pattern": pattern,
            "n": len(mine),
            "share": per.count(pattern) / len(per),
        }
    return out
