"""Which steps the force plates measured, and the part of a trial that can be analysed.

Overground, force plates lie under some steps of a runway and the other steps land on the
floor beside them, where the force is unknown. A stride can only be analysed when every
contact in it was measured. This module

* finds every step of each foot from the foot markers (:func:`marker_steps`: the foot's
  lowest heel/toe marker within a few centimetres of its lowest level),
* marks each step measured or not by whether a plate contact of that foot covers it
  (:func:`trial_steps`),
* refuses a plate contact made by both feet at once (:func:`check_one_foot_per_contact`:
  walking's double support on one plate cannot be split into feet),
* picks the analysis window (:func:`measured_window`): the longest run of consecutive stride
  cycles whose contacts are all measured (a cycle runs from one foot strike of a foot to
  its next; three consecutive measured steps, e.g. right-left-right, make one), or, when no
  cycle is complete and stance-only results were asked for, the longest run of consecutive
  measured steps,
* gives the speed of progression overground from the pelvis markers
  (:func:`pelvis_speed_m_s`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..readers.opensim_files import MarkerTable
from .events import contact_intervals
from .forceplates import FeetGRF, _segment_distance, foot_marker_names, markers_at

__all__ = [
    "FOOT_CLEARANCE_M",
    "MeasuredWindow",
    "Step",
    "check_one_foot_per_contact",
    "marker_steps",
    "measured_cycles",
    "measured_window",
    "pelvis_speed_from_coordinates",
    "pelvis_speed_m_s",
    "trial_steps",
    "unmeasured_between",
]

#: A foot is on the ground while its lowest heel/toe marker is within this height of the
#: lowest level it reaches in the trial (m). On the Fukuchi 2017 treadmill trials the
#: lowest foot marker stays within 2.5 cm of its minimum through stance (the heel rises
#: while the metatarsal markers stay down) and is 6-46 cm above it in swing; 3 cm finds
#: each step to within a frame or two of the plate's strike and toe-off.
FOOT_CLEARANCE_M = 0.03
#: Shortest step found from the markers (s): running stance lasts 0.15-0.3 s
#: (Novacheck 1998, Gait Posture 7:77-95); a foot passing low through swing is shorter.
MIN_MARKER_STEP_S = 0.08
#: Both feet on one plate longer than this while it is loaded is double support (s).
BOTH_FEET_MIN_S = 0.04

_SIDE_WORD = {"r": "right", "l": "left"}


@dataclass
class Step:
    """One foot contact with the ground.

    Attributes
    ----------
    side
        ``"r"`` or ``"l"``.
    start_s, end_s
        Foot strike and toe-off: from the plate where measured, else from the markers.
    measured
        Whether a force plate measured it.
    plate
        The plate (1-based) that measured it, ``None`` if none.
    cut
        Cut by the start of the force recording (its strike unseen: it starts no cycle).
    """

    side: str
    start_s: float
    end_s: float
    measured: bool
    plate: int | None = None
    cut: bool = False

    def label(self) -> str:
        where = (
            (f"plate {self.plate}" if self.plate is not None else "measured")
            if self.measured
            else "off the plates"
        )
        return f"{self.side.upper()} {self.start_s:.2f}-{self.end_s:.2f} s ({where})"


@dataclass
class MeasuredWindow:
    """The part of a trial whose contacts were all measured.

    Attributes
    ----------
    kind
        ``"all_measured"`` (every step is measured, e.g. an instrumented treadmill: no
        window is imposed), ``"stride"`` (complete measured stride cycles) or
        ``"stance_only"`` (measured stances, no complete cycle).
    side
        Reference foot of the cycles (``"right"``/``"left"``).
    start_s, end_s
        The window (``None`` for ``"all_measured"``).
    cycles_s
        Every complete measured stride cycle of ``side``, ``(start, end)``: what the body
        weight is taken over.
    steps
        Every step of the trial, time-ordered.
    notes
        Which cycles were taken and what was left out.
    """

    kind: str
    side: str
    start_s: float | None
    end_s: float | None
    cycles_s: list[tuple[float, float]]
    steps: list[Step]
    notes: list[str] = field(default_factory=list)


def _foot_height(markers: MarkerTable, side: str, names: tuple[list[str], list[str]] | None) -> np.ndarray:
    heel, toe = names or foot_marker_names(markers.names, side)
    if not heel and not toe:
        raise InputError(
            markers.meta.get("source", "markers"),
            f"cannot find the {_SIDE_WORD[side]} foot's heel or toe markers to tell its steps",
        )
    t = markers.time_s
    heights = [markers_at(markers, [n], t)[:, 1] for n in heel + toe]
    with np.errstate(all="ignore"):
        h = np.nanmin(np.stack(heights, axis=1), axis=1)
    return h


def marker_steps(
    markers: MarkerTable,
    side: str,
    *,
    clearance_m: float = FOOT_CLEARANCE_M,
    min_step_s: float = MIN_MARKER_STEP_S,
    names: tuple[list[str], list[str]] | None = None,
) -> list[tuple[float, float]]:
    """Steps of one foot from its markers: ``(strike, toe-off)`` in seconds.

    The foot is down while its lowest heel/toe marker is within ``clearance_m`` of the
    lowest level (2nd percentile) that marker height reaches in the trial. Steps cut by
    the start or end of the recording are left out (they cannot be told from a foot
    standing still).

    Parameters
    ----------
    markers
        Trial markers in OpenSim axes (Y up), gaps as NaN (bridged linearly).
    side
        ``"r"`` or ``"l"``.
    clearance_m, min_step_s
        See :data:`FOOT_CLEARANCE_M`, :data:`MIN_MARKER_STEP_S`.
    names
        ``(heel names, toe names)``; found by
        :func:`runmuscles.kinematics.forceplates.foot_marker_names` when omitted.
    """
    h = _foot_height(markers, side, names)
    t = markers.time_s
    ok = np.isfinite(h)
    if ok.sum() < 3:
        return []
    floor = float(np.percentile(h[ok], 2))
    down = np.where(ok, h < floor + clearance_m, False)
    edges = np.flatnonzero(np.diff(np.r_[0, down.astype(int), 0]))
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if a == 0 or b >= t.size:
            continue
        if t[b - 1] - t[a] >= min_step_s:
            out.append((float(t[a]), float(t[b - 1])))
    return out


def trial_steps(
    time_s: np.ndarray,
    vertical_force_n: dict[str, np.ndarray],
    markers: MarkerTable | None = None,
    *,
    contacts: list | None = None,
    right: tuple[list[str], list[str]] | None = None,
    left: tuple[list[str], list[str]] | None = None,
) -> list[Step]:
    """Every step of the trial, measured or not.

    Measured steps are the contacts in each foot's force (the same detector and the same
    signal the gait events of :func:`runmuscles.kinematics.events.detect_gait_events` use,
    so their times are the analysis' foot strikes). Steps found from the markers that no
    contact of the same foot overlaps are the unmeasured ones.

    Parameters
    ----------
    time_s
        Sample times of the forces.
    vertical_force_n
        ``{"r": ..., "l": ...}`` each foot's vertical ground reaction force (N).
    markers
        Trial markers (OpenSim axes); ``None``: only the measured steps are known.
    contacts
        The plates' :class:`~runmuscles.kinematics.forceplates.Contact` list, to say which
        plate measured each step.
    right, left
        ``(heel names, toe names)`` overrides.
    """
    t = np.asarray(time_s, dtype=float)
    rate = (t.size - 1) / (t[-1] - t[0]) if t.size > 1 else 1.0
    steps: list[Step] = []
    for s in "rl":
        for a, b in contact_intervals(np.asarray(vertical_force_n[s], dtype=float), rate):
            start, end = float(t[a]), float(t[b - 1])
            plate = next(
                (c.plate + 1 for c in contacts or [] if c.side == s and c.start_s < end and c.end_s > start),
                None,
            )
            steps.append(Step(s, start, end, True, plate, cut=a == 0))
    if markers is not None:
        for s, names in (("r", right), ("l", left)):
            mine = [st for st in steps if st.side == s and st.measured]
            for a, b in marker_steps(markers, s, names=names):
                if not any(st.start_s < b and st.end_s > a for st in mine):
                    if t.size and (a < t[0] or b > t[-1]):
                        continue  # outside the force recording: neither measured nor needed
                    steps.append(Step(s, a, b, False))
    steps.sort(key=lambda st: st.start_s)
    return steps


#: Largest ratio of the two step times in a stride cycle (s/s). Without markers to show the
#: steps off the plates, a cycle whose other foot's strike is far from its middle hides
#: unmeasured steps (right, left, then the right foot two strides later: ratio near 3);
#: steady running and walking are symmetric to a few per cent.
MAX_STEP_RATIO = 1.6


def _cycles(steps: list[Step], side: str) -> list[tuple[float, float]]:
    """Complete measured cycles of ``side``: a measured strike to its next measured strike,
    with every step that overlaps the cycle measured and one strike of the other foot, near
    the middle (:data:`MAX_STEP_RATIO`)."""
    own = [st for st in steps if st.side == side]
    out = []
    for a, b in zip(own[:-1], own[1:], strict=True):
        if not (a.measured and b.measured) or a.cut:
            continue
        inside = [st for st in steps if st.start_s < b.start_s and st.end_s > a.start_s]
        other = [st for st in steps if st.side != side and a.start_s < st.start_s < b.start_s]
        if not all(st.measured for st in inside) or len(other) != 1:
            continue
        first, second = other[0].start_s - a.start_s, b.start_s - other[0].start_s
        if max(first, second) <= MAX_STEP_RATIO * min(first, second):
            out.append((a.start_s, b.start_s))
    return out


def measured_cycles(steps: list[Step]) -> list[tuple[float, float]]:
    """Every complete measured stride cycle of either foot, ``(strike, next strike)`` in s,
    in time order (see :func:`measured_window` for what makes a cycle complete)."""
    return sorted(_cycles(steps, "r") + _cycles(steps, "l"))


def _runs(spans: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Group back-to-back spans (each starting where the last ended) into runs."""
    runs: list[list[tuple[float, float]]] = []
    for sp in spans:
        if runs and abs(sp[0] - runs[-1][-1][1]) < 1e-9:
            runs[-1].append(sp)
        else:
            runs.append([sp])
    return runs


def measured_window(
    steps: list[Step], *, stance_only: bool = False, where: str = "forces", source: str = "force plates"
) -> MeasuredWindow:
    """The analysis window: cycles in which every contact was measured.

    Parameters
    ----------
    steps
        From :func:`trial_steps`.
    stance_only
        Accept measured stances without a complete cycle (the window then runs from the
        first strike to the last toe-off of the longest run of consecutive measured steps).
    where, source
        The trial and what measured the forces, for messages.

    Returns
    -------
    MeasuredWindow

    Raises
    ------
    InputError
        No measured step; or no complete measured cycle and ``stance_only`` is False (the
        message offers the stance-only analysis).
    """
    measured = [st for st in steps if st.measured]
    if not measured:
        raise InputError(where, f"the {source} measure no foot contact: no ground reaction force to analyse")
    cycles = {s: _cycles(steps, s) for s in "rl"}
    side = "r" if len(cycles["r"]) >= len(cycles["l"]) else "l"
    # every step measured and every pair of strikes a cycle: nothing to leave out
    pairs = {s: sum(1 for st in steps if st.side == s and not st.cut) - 1 for s in "rl"}
    if all(st.measured for st in steps) and cycles[side] and all(len(cycles[s]) >= pairs[s] for s in "rl"):
        return MeasuredWindow(
            "all_measured",
            _SIDE_WORD[side],
            None,
            None,
            cycles[side],
            steps,
            [f"every foot contact is on the {source} ({len(steps)} steps)"],
        )
    # the longest run of back-to-back measured cycles of one foot (right on a tie)
    best: list[tuple[float, float]] = []
    side = "r"
    for s in "rl":
        for run in _runs(cycles[s]):
            if len(run) > len(best):
                best, side = run, s
    off = [st for st in steps if not st.measured]
    notes: list[str] = []
    if best:
        start, end = best[0][0], best[-1][1]
        kind = "stride"
        inside = [st for st in steps if st.start_s < end + 1e-9 and st.end_s > start]
        notes.append(
            f"analysis window {start:.3f}-{end:.3f} s: {len(best)} {_SIDE_WORD[side]} stride cycle(s) in "
            f"which every contact is on the {source} (steps {', '.join(st.label() for st in inside)})"
        )
    else:
        if not stance_only:
            raise InputError(
                where,
                f"the {source} catch no complete stride (a stride needs three consecutive measured steps, "
                f"e.g. right-left-right; measured: {', '.join(st.label() for st in measured)}): give "
                "--stance-only to analyse the measured stance(s) alone",
            )
        run: list[Step] = []
        best_steps: list[Step] = []
        for st in steps:
            if st.measured:
                run.append(st)
                if len(run) > len(best_steps):
                    best_steps = list(run)
            else:
                run = []
        start, end = best_steps[0].start_s, max(st.end_s for st in best_steps)
        side = best_steps[0].side
        kind = "stance_only"
        notes.append(
            f"stance-only window {start:.3f}-{end:.3f} s: no complete stride cycle is measured; "
            f"measured stance(s): {', '.join(st.label() for st in best_steps)}"
        )
    # steps outside the window (a strike at its end closes the last cycle: not left out)
    out = [st for st in steps if st.end_s <= start or st.start_s > end + 1e-9]
    if off:
        notes.append(
            f"left out: {len(off)} step(s) off the plates, force unknown "
            f"({', '.join(st.label() for st in off)})"
        )
    if any(st.measured for st in out):
        notes.append(
            "left out: measured step(s) outside the window ("
            + ", ".join(st.label() for st in out if st.measured)
            + ")"
        )
    return MeasuredWindow(kind, _SIDE_WORD[side], start, end, cycles[side], steps, notes)


def unmeasured_between(steps: list[Step], start_s: float | None, end_s: float | None) -> list[Step]:
    """The steps off the plates that overlap a window (``None``: open on that side)."""
    lo = -np.inf if start_s is None else start_s
    hi = np.inf if end_s is None else end_s
    return [st for st in steps if not st.measured and st.end_s > lo and st.start_s < hi]


def check_one_foot_per_contact(
    feet: FeetGRF,
    markers: MarkerTable,
    plates: list,
    *,
    clearance_m: float = FOOT_CLEARANCE_M,
    min_both_s: float = BOTH_FEET_MIN_S,
) -> None:
    """Refuse a plate contact made by both feet at once (double support on one plate).

    A plate's contact is given whole to one foot. That is right when one foot at a time is
    on the plate (running; a plate struck by the feet in turn gives separate contacts).
    Both feet are on the plate together when, for longer than ``min_both_s`` while it is
    loaded, each foot's lowest heel/toe marker is down (within ``clearance_m`` of its
    lowest level) over the plate's surface. Their forces cannot be told apart.

    Raises
    ------
    InputError
        Naming the plate and the time.
    """
    t = markers.time_s
    down, where = {}, {}
    for s in "rl":
        heel, toe = foot_marker_names(markers.names, s)
        if not heel or not toe:
            return  # assign_feet has already said which markers are missing
        h = _foot_height(markers, s, (heel, toe))
        ok = np.isfinite(h)
        floor = float(np.percentile(h[ok], 2)) if ok.any() else 0.0
        down[s] = np.where(ok, h < floor + clearance_m, False)
        where[s] = (markers_at(markers, heel, t), markers_at(markers, toe, t))
    by_index = {p.index: p for p in plates}
    for c in feet.contacts:
        pl = by_index.get(c.plate)
        if pl is None:
            continue
        inside = (t >= c.start_s) & (t <= c.end_s)
        both = inside.copy()
        for s in "rl":
            heel_p, toe_p = where[s]
            on = pl.contains(heel_p, margin_m=0.02) | pl.contains(toe_p, margin_m=0.02)
            both &= down[s] & on
        if not both.any():
            continue
        # ... and the centre of pressure is under the other foot for part of it (a foot
        # landing while the other leaves, in running, leaves the COP under the first)
        cop = np.column_stack([np.interp(t, feet.time_s, feet.cop_m[c.side][:, k]) for k in (0, 2)])
        dist = {}
        for s in "rl":
            heel_p, toe_p = where[s]
            dist[s] = _segment_distance(cop, heel_p[:, [0, 2]], toe_p[:, [0, 2]])
        other = "l" if c.side == "r" else "r"
        under_other = np.nan_to_num(dist[other], nan=np.inf) < np.nan_to_num(dist[c.side], nan=np.inf)
        dt = 1.0 / markers.rate_hz if markers.rate_hz > 0 else 0.0
        edges = np.flatnonzero(np.diff(np.r_[0, both.astype(int), 0]))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if (b - a) * dt >= min_both_s and under_other[a:b].sum() * dt >= 0.5 * min_both_s:
                raise InputError(
                    f"plate {c.plate + 1}",
                    f"both feet are on it at once from {t[a]:.2f} to {t[b - 1]:.2f} s (double support): its "
                    "force cannot be split into right and left foot; use a trial with one foot per plate",
                )


_PELVIS_RE = re.compile(r"asi|psi|sacr|iliac|crest|pelv", re.IGNORECASE)


def pelvis_speed_m_s(markers: MarkerTable, start_s: float, end_s: float) -> tuple[float, str]:
    """Mean horizontal speed of the pelvis markers over a window (overground running speed).

    The pelvis moves with the body's centre of mass within a few centimetres over a
    stride, so over whole strides its mean speed is the running speed.

    Returns
    -------
    (float, str)
        Speed (m/s) and what it was taken from.
    """
    names = [n for n in markers.names if _PELVIS_RE.search(n)]
    if not names:  # other conventions (IOR's R_IAS, CAST...): the pelvis's landmarks by name
        from ..lab.landmarks import recognise  # noqa: PLC0415  (a table of names, no lab machinery)

        names = [n for n in markers.names if (hit := recognise(n)) is not None and hit[0].body == "pelvis"]
    if not names:
        raise InputError(markers.meta.get("source", "markers"), "no pelvis markers to measure the speed with")
    ends = markers_at(markers, names, np.array([start_s, end_s]))
    if not np.isfinite(ends).all() or not end_s > start_s:
        raise InputError(markers.meta.get("source", "markers"), "pelvis markers missing at the window's ends")
    disp = ends[1] - ends[0]
    speed = float(np.hypot(disp[0], disp[2]) / (end_s - start_s))
    return speed, (
        f"overground: mean horizontal speed of the pelvis markers ({', '.join(names)}) over "
        f"{start_s:.2f}-{end_s:.2f} s"
    )


def pelvis_speed_from_coordinates(table, start_s: float, end_s: float) -> tuple[float, str] | None:
    """Mean horizontal speed of the pelvis over a window from joint angles (``pelvis_tx`` and
    ``pelvis_tz``, the ground-to-pelvis translations of OpenSim's gait models, in metres).

    Returns
    -------
    (float, str) or None
        Speed (m/s) and its source; ``None`` when the table lacks the translations.
    """
    if "pelvis_tx" not in table.labels or not end_s > start_s:
        return None
    t = table.time_s
    ends = []
    for name in ("pelvis_tx", "pelvis_tz"):
        v = table.column(name) if name in table.labels else np.zeros(t.size)
        ends.append(np.interp([start_s, end_s], t, v))
    dx, dz = ends[0][1] - ends[0][0], ends[1][1] - ends[1][0]
    return float(np.hypot(dx, dz) / (end_s - start_s)), (
        "overground: mean horizontal speed of the pelvis (pelvis_tx, pelvis_tz) over "
        f"{start_s:.2f}-{end_s:.2f} s"
    )
