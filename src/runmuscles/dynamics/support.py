"""Which feet are on the ground when: is the motion running?

Forces from motion alone (:mod:`runmuscles.dynamics.grf_estimation`) rest on running's
defining property: at most one foot is on the ground at a time, and both are off it in the
flight between steps (Novacheck TF, 1998, The biomechanics of running, Gait Posture
7:77-95). In walking both feet are on the ground for about a fifth of the stride (double
support, Perry J, Burnfield JM, 2010, Gait Analysis, 2nd ed.), and in squats, jumps landing
on both feet, balancing or standing for most of it; there the total force cannot be given
to one foot, and the estimate is not to be made.

:func:`support_pattern` reads both from the kinematics:

* **flight**, from the centre of mass: the share of the time in which the body's vertical
  force (mass x (centre-of-mass acceleration + g), the centre of mass low-passed at 6 Hz as
  in :mod:`runmuscles.dynamics.grf_estimation`) is below :data:`AIRBORNE_BW` body weights.
  In running it falls towards zero in every flight; in walking it stays above 0.5-0.7 body
  weights (the dip of mid-stance), standing and squatting near one.
* **double support**, from the feet: a foot is on the ground when the lower of its heel
  (``calcn`` origin) and ball (``toes`` origin, the metatarsophalangeal joint) is within
  :data:`NEAR_GROUND_M` of the floor (each point's floor: the lower of the two feet's 2nd
  percentile over the trial) and moves up or down slower than :data:`GROUND_SPEED_M_S`;
  double support is both feet on the ground at once.

The limits are declared in :data:`runmuscles.validation.LIMITS` (``flight_fraction``,
``double_support_fraction``), with the numbers measured on the shared and public trials;
:func:`require_running` raises an :class:`~runmuscles.errors.InputError` that names the
reason. The first and last :data:`EDGE_S` of a trial are left out (filter edge effects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..validation import LIMITS

__all__ = [
    "AIRBORNE_BW",
    "EDGE_S",
    "GROUND_SPEED_M_S",
    "NEAR_GROUND_M",
    "SupportPattern",
    "require_running",
    "support_pattern",
]

#: A foot is near the ground when its lowest point (heel or ball) is within this height of
#: its floor: the release height of the coarse contact detection
#: (:func:`runmuscles.dynamics.grf_estimation.detect_foot_contacts`, 3.5 cm), above which a
#: running foot is in swing.
NEAR_GROUND_M = 0.035
#: ... and moves vertically slower than this (m/s): a foot landing or lifting off passes the
#: near-ground band at 0.5-1 m/s; a foot on the ground (and a treadmill belt) does not move
#: vertically.
GROUND_SPEED_M_S = 0.3
#: The body is taken to be airborne while the ground carries less than this share of body
#: weight (centre-of-mass force low-passed at 6 Hz, which smears the flight's zero over a few
#: tens of milliseconds). Measured (6 Hz): 21-41 % of the time below it in the 28 hamner2013
#: running trials (2-5 m/s), 0 % in OpenCap's walking and squats and Pose2Sim's balancing.
AIRBORNE_BW = 0.3
#: Time left out at each end of a trial (s): the filter's edge effects.
EDGE_S = 0.2


@dataclass
class SupportPattern:
    """Shares of the time by the number of feet near the ground.

    Attributes
    ----------
    double_support_fraction
        Both feet on the ground (from the feet).
    flight_fraction
        The body airborne (from the centre of mass).
    single_support_fraction
        One foot on the ground and the body not airborne.
    duration_s
        Time covered.
    source
        The motion (a file name), for messages.
    """

    double_support_fraction: float
    flight_fraction: float
    single_support_fraction: float
    duration_s: float
    source: str = ""

    def as_dict(self) -> dict:
        return {
            "double_support_fraction": self.double_support_fraction,
            "flight_fraction": self.flight_fraction,
            "single_support_fraction": self.single_support_fraction,
            "duration_s": self.duration_s,
            "near_ground_m": NEAR_GROUND_M,
            "ground_speed_m_s": GROUND_SPEED_M_S,
            "airborne_bw": AIRBORNE_BW,
        }

    def not_running(self) -> str | None:
        """Why this is not running (one sentence), or ``None`` when it is."""
        max_double = LIMITS["double_support_fraction"].high
        min_flight = LIMITS["flight_fraction"].low
        why = []
        if self.double_support_fraction > max_double:
            why.append(
                f"both feet are on the ground together {100 * self.double_support_fraction:.0f} % of the "
                f"time (running: at most {100 * max_double:.0f} %)"
            )
        if self.flight_fraction < min_flight:
            why.append(
                f"the body is airborne only {100 * self.flight_fraction:.0f} % of the time (running has a "
                f"flight phase in every step: at least {100 * min_flight:.0f} %)"
            )
        return "; ".join(why) or None


def support_pattern(
    time_s: np.ndarray,
    heel_height_m: dict[str, np.ndarray],
    ball_height_m: dict[str, np.ndarray],
    vertical_force_bw: np.ndarray,
    *,
    source: str = "",
) -> SupportPattern:
    """Flight and double support of a motion.

    Parameters
    ----------
    time_s
        Frame times ``(F,)``.
    heel_height_m, ball_height_m
        ``{"r": (F,), "l": (F,)}``: heights above any common zero (along the model's up axis).
    vertical_force_bw
        The body's vertical force from its centre of mass, in body weights ``(F,)``.
    source
        Name of the motion, for messages.
    """
    t = np.asarray(time_s, dtype=float)
    if t.size < 3:
        raise InputError(source or "motion", "has fewer than three frames: no foot contacts to judge")
    keep = (t >= t[0] + EDGE_S) & (t <= t[-1] - EDGE_S)
    if keep.sum() < 3:
        keep = np.ones(t.shape, dtype=bool)
    heel_floor = min(float(np.percentile(heel_height_m[s], 2)) for s in "rl")
    ball_floor = min(float(np.percentile(ball_height_m[s], 2)) for s in "rl")
    n_down = np.zeros(t.shape, dtype=int)
    for s in "rl":
        near = np.minimum(heel_height_m[s] - heel_floor, ball_height_m[s] - ball_floor) < NEAR_GROUND_M
        still = np.minimum(np.abs(np.gradient(heel_height_m[s], t)), np.abs(np.gradient(ball_height_m[s], t)))
        n_down += near & (still < GROUND_SPEED_M_S)
    # time-weighted shares (frames may be unevenly spaced)
    w = np.gradient(t)[keep]
    w = w / w.sum()
    airborne = (np.asarray(vertical_force_bw, dtype=float) < AIRBORNE_BW)[keep]
    n = n_down[keep]
    return SupportPattern(
        double_support_fraction=float(w[n == 2].sum()),
        flight_fraction=float(w[airborne].sum()),
        single_support_fraction=float(w[(n == 1) & ~airborne].sum()),
        duration_s=float(t[keep][-1] - t[keep][0]),
        source=source,
    )


def require_running(pattern: SupportPattern, what: str = "forces from motion") -> None:
    """Raise :class:`InputError` when ``pattern`` is not running, naming the reason and the fix."""
    why = pattern.not_running()
    if why is None:
        return
    raise InputError(
        pattern.source or "motion",
        f"{what} assume running (one foot on the ground at a time, with flight phases), but {why}: this "
        "looks like walking, standing, squatting or jumping. Give measured ground reaction forces "
        "(--forces FILE)",
    )
