"""Gait events and phases of running from ground reaction forces.

Foot strike and toe-off are found per foot on the vertical force with a hysteresis
threshold over a drifting baseline; contacts shorter than a minimum are noise, gaps
shorter than a minimum flight are not flights. Each stride cycle runs from one foot strike
of the reference foot to the next. Within a cycle the reference foot's phases are:

* **stance**: foot strike to toe-off, split into **braking** (fore-aft force opposing
  progression) and **propulsion** (fore-aft force along it), at the sign change of the
  fore-aft force (Cavanagh & Lafortune 1980, J Biomech 13:397-406),
* **swing**: toe-off to the next foot strike, split in half into **early swing** and
  **late swing** (Novacheck 1998, Gait Posture 7:77-95).

Each leg has its own phases: within a stride of the reference foot, the other leg's
muscles are in that leg's own braking, propulsion and swing, from its own foot strikes,
braking end and toe-offs (:func:`side_phase_intervals`, :func:`side_phase_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = [
    "PHASES",
    "FootEvents",
    "GaitEvents",
    "StrideCycle",
    "contact_intervals",
    "detect_gait_events",
    "phase_bounds",
    "phase_labels",
    "side_phase_intervals",
    "side_phase_labels",
]

PHASES = ("braking", "propulsion", "early_swing", "late_swing")


def contact_intervals(
    vertical_force_n: np.ndarray, rate_hz: float, **thresholds: float
) -> list[tuple[int, int]]:
    """Sample intervals ``[start, end)`` during which a foot is loaded.

    The one contact detector of the project,
    :func:`runmuscles.kinematics.forceplates.detect_contacts` (hysteresis over a drifting
    baseline, minimum contact and flight durations), keeping contacts cut by the ends of
    the recording (they still mark a foot strike or a toe-off).
    """
    from .forceplates import detect_contacts  # noqa: PLC0415

    thresholds.setdefault("drop_partial", False)
    return detect_contacts(np.asarray(vertical_force_n, dtype=float), rate_hz, **thresholds)


@dataclass
class FootEvents:
    """Foot strikes and toe-offs of one foot (seconds). Contacts cut by the ends of the
    recording have only one of the two."""

    side: str
    foot_strikes_s: np.ndarray
    toe_offs_s: np.ndarray


@dataclass
class StrideCycle:
    """One stride of the reference foot: strike, toe-off, next strike (seconds)."""

    side: str
    start_s: float
    toe_off_s: float
    end_s: float
    braking_end_s: float
    index: int = 0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def stance_fraction(self) -> float:
        return (self.toe_off_s - self.start_s) / self.duration_s


@dataclass
class GaitEvents:
    """Events of both feet and the stride cycles of each."""

    feet: dict[str, FootEvents]
    cycles: dict[str, list[StrideCycle]]
    source: str
    notes: list[str] = field(default_factory=list)

    def cycle(self, side: str, number: int) -> StrideCycle:
        """Cycle ``number`` (1-based) of ``side``."""
        cyc = self.cycles.get(side, [])
        if not 1 <= number <= len(cyc):
            raise InputError(
                self.source, f"has {len(cyc)} complete {side} stride cycle(s); asked for cycle {number}"
            )
        return cyc[number - 1]


def detect_gait_events(
    time_s: np.ndarray,
    vertical_force_n: dict[str, np.ndarray],
    fore_aft_force_n: dict[str, np.ndarray],
    *,
    source: str = "forces",
    **thresholds: float,
) -> GaitEvents:
    """Foot strikes, toe-offs and stride cycles per foot.

    Parameters
    ----------
    time_s
        Sample times of the force signals (uniform).
    vertical_force_n
        ``{"right": Fy, "left": Fy}`` vertical ground reaction force per foot (N).
    fore_aft_force_n
        ``{"right": Fx, "left": Fx}`` force along the direction of travel (N); its sign is
        normalised so that early stance (braking) is negative.
    thresholds
        Passed to :func:`contact_intervals`.
    """
    t = np.asarray(time_s, dtype=float)
    rate = (t.size - 1) / (t[-1] - t[0])
    feet: dict[str, FootEvents] = {}
    cycles: dict[str, list[StrideCycle]] = {}
    notes: list[str] = []
    for side, fz in vertical_force_n.items():
        iv = contact_intervals(fz, rate, **thresholds)
        strikes = np.array([t[a] for a, b in iv if a > 0])
        offs = np.array([t[b - 1] for a, b in iv if b < t.size])
        feet[side] = FootEvents(side, strikes, offs)
        fx = np.asarray(fore_aft_force_n[side], dtype=float)
        # orient fore-aft so that the first 30 % of stance is braking (negative) on average
        signs = []
        for a, b in iv:
            m = a + max(1, int(0.3 * (b - a)))
            signs.append(np.mean(fx[a:m]))
        sgn = -1.0 if signs and np.median(signs) > 0 else 1.0
        side_cycles: list[StrideCycle] = []
        full = [(a, b) for a, b in iv if a > 0 and b < t.size]
        for (a, b), (a2, _) in zip(full[:-1], full[1:], strict=True):
            stance_fx = sgn * fx[a:b]
            # braking ends where the fore-aft force last crosses from negative to positive
            # after its most negative point
            imin = int(np.argmin(stance_fx))
            cross = np.flatnonzero(stance_fx[imin:] > 0)
            brk = a + imin + (int(cross[0]) if cross.size else (b - a - imin))
            side_cycles.append(StrideCycle(side, float(t[a]), float(t[b - 1]), float(t[a2]), float(t[brk])))
        for k, c in enumerate(side_cycles):
            c.index = k + 1
            if c.stance_fraction > 0.65:
                notes.append(
                    f"{side} cycle {k + 1} ({c.start_s:.3f}-{c.end_s:.3f} s): stance lasts "
                    f"{100 * c.stance_fraction:.0f} % of the stride, implausible for running "
                    "(a flight phase was not seen: the other foot on this plate?)"
                )
        cycles[side] = side_cycles
        if not iv:
            notes.append(f"no {side} foot contact found")
    return GaitEvents(feet, cycles, source, notes)


def phase_labels(time_s: np.ndarray, cycle: StrideCycle) -> np.ndarray:
    """Phase name per time inside ``cycle`` (see :data:`PHASES`); '' outside it."""
    t = np.asarray(time_s, dtype=float)
    lab = np.full(t.shape, "", dtype=object)
    mid_swing = 0.5 * (cycle.toe_off_s + cycle.end_s)
    lab[(t >= cycle.start_s) & (t < cycle.braking_end_s)] = "braking"
    lab[(t >= cycle.braking_end_s) & (t <= cycle.toe_off_s)] = "propulsion"
    lab[(t > cycle.toe_off_s) & (t < mid_swing)] = "early_swing"
    lab[(t >= mid_swing) & (t <= cycle.end_s)] = "late_swing"
    return lab


def phase_bounds(cycle: StrideCycle) -> dict[str, tuple[float, float]]:
    """Start and end (s) of each phase of one stride cycle of its own foot."""
    mid = 0.5 * (cycle.toe_off_s + cycle.end_s)
    return {
        "braking": (cycle.start_s, cycle.braking_end_s),
        "propulsion": (cycle.braking_end_s, cycle.toe_off_s),
        "early_swing": (cycle.toe_off_s, mid),
        "late_swing": (mid, cycle.end_s),
    }


def _covering_cycles(side_cycles: list[StrideCycle], start_s: float, end_s: float) -> list[StrideCycle]:
    """One foot's cycles that overlap ``[start_s, end_s]``, extended periodically past the
    first and last complete cycle (the first cycle repeated backwards, the last forwards,
    each by its own duration) where the recording has no complete cycle of that foot."""
    cyc = sorted(side_cycles, key=lambda c: c.start_s)
    if not cyc:
        return []
    ext = list(cyc)
    first, last = cyc[0], cyc[-1]
    k = 1
    while ext[0].start_s > start_s + 1e-9:
        d = -k * first.duration_s
        ext.insert(
            0,
            StrideCycle(
                first.side,
                first.start_s + d,
                first.toe_off_s + d,
                first.end_s + d,
                first.braking_end_s + d,
                0,
            ),
        )
        k += 1
    k = 1
    while ext[-1].end_s < end_s - 1e-9:
        d = k * last.duration_s
        ext.append(
            StrideCycle(
                last.side, last.start_s + d, last.toe_off_s + d, last.end_s + d, last.braking_end_s + d, 0
            )
        )
        k += 1
    return [c for c in ext if c.end_s > start_s - 1e-9 and c.start_s < end_s + 1e-9]


def side_phase_intervals(
    side_cycles: list[StrideCycle], start_s: float, end_s: float
) -> dict[str, list[tuple[float, float]]]:
    """One foot's own phases inside ``[start_s, end_s]`` (e.g. a stride of the other foot).

    Each phase may fall in several pieces (the other leg's early swing opens and closes a
    stride of the reference foot); together the pieces cover the interval exactly. Times
    before the foot's first or after its last complete cycle take the nearest cycle's
    timing, repeated by its duration (running is periodic). Empty lists when the foot has no
    complete cycle at all.
    """
    out: dict[str, list[tuple[float, float]]] = {ph: [] for ph in PHASES}
    for c in _covering_cycles(side_cycles, start_s, end_s):
        for ph, (a, b) in phase_bounds(c).items():
            lo, hi = max(a, start_s), min(b, end_s)
            if hi > lo:
                out[ph].append((lo, hi))
    return out


def side_phase_labels(
    time_s: np.ndarray, side_cycles: list[StrideCycle], start_s: float, end_s: float
) -> np.ndarray:
    """Phase name per time of one foot's own phases inside ``[start_s, end_s]`` ('' outside),
    with the conventions of :func:`phase_labels` (see :func:`side_phase_intervals`)."""
    t = np.asarray(time_s, dtype=float)
    lab = np.full(t.shape, "", dtype=object)
    for c in _covering_cycles(side_cycles, start_s, end_s):
        got = phase_labels(t, c)
        lab[got != ""] = got[got != ""]
    lab[(t < start_s - 1e-9) | (t > end_s + 1e-9)] = ""
    return lab
