"""Physical plausibility and integrity of the lab and OpenSim inputs, checked at the edge.

Every input table of an analysis (markers, joint angles, ground reaction forces) passes
through these checks once, wherever it enters (the readers, :mod:`runmuscles.lab`,
:func:`runmuscles.pipeline.analyze_trial`), so the command line, the library, batch jobs
and the web app refuse and mark the same things. Each check either

* raises :class:`~runmuscles.errors.InputError` (one line naming the file and the problem)
  when the input cannot be used, or
* returns :class:`~runmuscles.quality.QualityWarning` objects (stable ``code``) when the
  usable part is kept; they end up in ``summary.json``'s ``quality.warnings``.

The limits come from :data:`runmuscles.validation.LIMITS` (each with its unit and source)
and the one gap limit :data:`runmuscles.validation.MAX_GAP_S`.

What is checked:

* **time**: finite and strictly increasing (:func:`check_time_column`);
* **truncation**: the frames a header declares against the frames read
  (:func:`check_declared_length`);
* **gaps**: missing rows and runs of missing samples (:func:`find_gaps`); gaps longer than
  :data:`~runmuscles.validation.MAX_GAP_S` are not bridged: strides overlapping them are
  dropped (:func:`drop_cycles_over_gaps`);
* **forces**: vertical ground reaction force against body weight (sign, unit, spikes) and
  the vertical impulse of complete strides against the body mass (:func:`check_forces`);
* **joint angles**: against the model's own coordinate ranges
  (:func:`check_coordinate_ranges`);
* **speed**: the stated running speed against the motion's (:func:`motion_speed_m_s`,
  :func:`check_speed`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .constants import STANDARD_GRAVITY_M_S2
from .errors import InputError
from .quality import QualityWarning
from .validation import LIMITS, MAX_GAP_S

__all__ = [
    "Gap",
    "InputChecks",
    "check_force_mass",
    "check_inputs",
    "marker_gap_warnings",
    "check_coordinate_ranges",
    "check_declared_length",
    "check_external_loads",
    "check_forces",
    "check_speed",
    "check_time_column",
    "drop_cycles_over_gaps",
    "find_gaps",
    "gap_warnings",
    "motion_speed_m_s",
    "stride_vertical_impulse_bw",
    "truncation_warnings",
    "vertical_by_foot",
]

#: A typical peak vertical force of running (body weights), for naming a unit slip's factor
#: (Cavanagh PR, Lafortune MA 1980, J Biomech 13:397-406: 2.5-2.8 BW at 4.5 m/s).
_TYPICAL_RUNNING_PEAK_BW = 2.5
#: Vertical force (N) below which a force signal counts as zero throughout (no contact at
#: all; the strides of the impulse check are cut by the contact detector's own thresholds,
#: 50 N on and 20 N off).
_ZERO_FORCE_N = 1.0


def _name(source: str | Path | None) -> str:
    return str(source) if source is not None else "input"


# -- time and length --------------------------------------------------------------------------


def check_time_column(time_s: np.ndarray, source: str | Path | None, *, what: str = "time") -> None:
    """Refuse a time column that is not finite and strictly increasing.

    Raises
    ------
    InputError
        Naming the file and the first bad data row (1-based) with its time.
    """
    t = np.asarray(time_s, dtype=float)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise InputError(
            source, f"the {what} column has a missing or non-finite value at data row {bad[0] + 1}"
        )
    if t.size > 1:
        back = np.flatnonzero(np.diff(t) <= 0)
        if back.size:
            k = int(back[0]) + 1
            raise InputError(
                source,
                f"{what} is not increasing at data row {k + 1} (t = {t[k]:g} s after {t[k - 1]:g} s): "
                "rows reordered or repeated",
            )


def check_declared_length(
    time_s: np.ndarray,
    declared_frames: int | None,
    source: str | Path | None,
    *,
    declared_end_s: float | None = None,
    last_row_incomplete: bool = False,
    tolerated_fraction: float = 0.0,
) -> list[QualityWarning]:
    """A file holding fewer frames than its header declares is truncated: say so.

    Parameters
    ----------
    time_s
        The times read.
    declared_frames
        The frame count of the header (``None``: the header does not say).
    declared_end_s
        The last time the header declares (``range`` of a SIMM header), if any.
    last_row_incomplete
        The last data row was cut (fewer fields than the others).
    tolerated_fraction
        Share of the declared frames that may be missing without a warning (published TRC
        files trimmed after export keep their old ``NumFrames``; see
        ``LIMITS['declared_frames_missing_fraction']``).

    Returns
    -------
    list of QualityWarning
        ``file_truncated`` when frames are missing (the usable part is kept).
    """
    t = np.asarray(time_s, dtype=float)
    n = int(t.size)
    step = float(np.median(np.diff(t))) if n > 1 else 0.0
    rate = 1.0 / step if step > 0 else 0.0
    have = f"{n} frames ({t[-1] - t[0]:.3g} s)" if n > 1 else f"{n} frame(s)"
    # frames the time span holds at the usual step: rows missing inside it are gaps
    # (find_gaps), not a truncation
    spanned = max(n, round((t[-1] - t[0]) * rate) + 1) if rate > 0 else n
    missing = declared_frames is not None and declared_frames > spanned
    if missing and declared_frames - spanned <= tolerated_fraction * declared_frames:
        missing = False
    if missing:
        have = f"{spanned} frames ({t[-1] - t[0]:.3g} s)"
    short_span = (
        declared_end_s is not None and n > 1 and rate > 0 and float(t[-1]) < declared_end_s - 1.5 / rate
    )
    if not (missing or short_span or last_row_incomplete):
        return []
    if missing:
        span = f" ({(declared_frames - 1) / rate:.3g} s)" if rate > 0 else ""
        said = f"the header declares {declared_frames} frames{span} but the file holds {have}"
    elif short_span:
        said = f"the header declares data to {declared_end_s:g} s but the file ends at {t[-1]:g} s"
    else:
        said = "its last data row is cut short"
    return [
        QualityWarning(
            "file_truncated",
            f"{_name(source)}: {said}: the file is truncated; only the part present is analysed",
        )
    ]


def truncation_warnings(time_s: np.ndarray, meta: dict) -> list[QualityWarning]:
    """:func:`check_declared_length` on what a reader recorded in a table's ``meta``.

    Keys: ``source``, ``declared_frames``, ``declared_end_s``, ``last_row_incomplete`` and
    ``declared_frames_tolerated`` (the share of declared frames that may be missing).
    """
    return check_declared_length(
        time_s,
        meta.get("declared_frames"),
        meta.get("source"),
        declared_end_s=meta.get("declared_end_s"),
        last_row_incomplete=bool(meta.get("last_row_incomplete", False)),
        tolerated_fraction=float(meta.get("declared_frames_tolerated", 0.0)),
    )


# -- gaps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A hole in a sampled signal: no usable sample strictly between ``start_s`` and ``end_s``.

    ``start_s`` is the last usable sample before the hole (or the first sample, when the
    signal starts with it), ``end_s`` the first usable one after it.
    """

    start_s: float
    end_s: float
    rows: int
    source: str = ""  # the file the hole is in, where known

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def find_gaps(
    time_s: np.ndarray, values: np.ndarray | None = None, *, zero_is_missing: bool = False
) -> list[Gap]:
    """Holes in a sampled signal: missing rows and runs of missing samples.

    Parameters
    ----------
    time_s
        Sample times (increasing).
    values
        ``(n,)`` or ``(n, k)``; a row is missing where any value is NaN or infinite, or (with
        ``zero_is_missing``, e.g. for marker positions) where all its values are exactly 0.
    zero_is_missing
        Count all-zero rows as missing (what some systems write for an unseen marker).

    Returns
    -------
    list of Gap
        Missing rows are found where a time step exceeds 1.5 times the median step; each
        gap's duration is the time bridged by interpolation over it.
    """
    t = np.asarray(time_s, dtype=float)
    if t.size < 2:
        return []
    dt = np.diff(t)
    step = float(np.median(dt))
    missing = np.zeros(t.size, dtype=bool)
    if values is not None:
        v = np.asarray(values, dtype=float).reshape(t.size, -1)
        missing = ~np.isfinite(v).all(axis=1)
        if zero_is_missing:
            missing |= np.all(v == 0.0, axis=1)
    gaps: list[Gap] = []
    # runs of missing samples
    if missing.any():
        edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            lo = t[a - 1] if a > 0 else t[0]
            hi = t[b] if b < t.size else t[-1]
            gaps.append(Gap(float(lo), float(hi), int(b - a)))
    # missing rows (time jumps) between usable samples
    for i in np.flatnonzero(dt > 1.5 * step):
        if not (missing[i] or missing[i + 1]):
            gaps.append(Gap(float(t[i]), float(t[i + 1]), int(round(dt[i] / step)) - 1))
    return sorted(gaps, key=lambda g: g.start_s)


def gap_warnings(
    gaps: Sequence[Gap], source: str | Path | None, what: str, *, max_gap_s: float = MAX_GAP_S
) -> tuple[list[Gap], list[QualityWarning], list[str]]:
    """Split gaps at ``max_gap_s``: ``(long gaps, their warnings, notes on the short ones)``.

    Short gaps are interpolated (a note says how many and the longest); each long gap gets
    a ``gap_too_long`` warning: it is not bridged, strides overlapping it are dropped.
    """
    long = [g for g in gaps if g.duration_s > max_gap_s + 1e-9]
    short = [g for g in gaps if g.duration_s <= max_gap_s + 1e-9]
    notes = []
    if short:
        notes.append(
            f"{_name(source)}: {len(short)} short gap(s) in the {what} interpolated (longest "
            f"{1000 * max(g.duration_s for g in short):.0f} ms, limit {1000 * max_gap_s:.0f} ms)"
        )
    warnings = [
        QualityWarning(
            "gap_too_long",
            f"{_name(source)}: {what} missing from {g.start_s:.3f} to {g.end_s:.3f} s "
            f"({g.duration_s:.3g} s, longer than the {max_gap_s:g} s that is interpolated): "
            "strides overlapping it are not analysed",
        )
        for g in long
    ]
    return long, warnings, notes


def drop_cycles_over_gaps(cycles: Sequence, gaps: Sequence[Gap]) -> tuple[list, list]:
    """``(kept, dropped)``: stride cycles (``start_s``/``end_s``) overlapping no gap / some gap."""
    kept, dropped = [], []
    for c in cycles:
        hit = any(g.start_s < c.end_s and g.end_s > c.start_s for g in gaps)
        (dropped if hit else kept).append(c)
    return kept, dropped


# -- forces ------------------------------------------------------------------------------------


def vertical_by_foot(
    loads, ground: str = "ground"
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, list[str]]]:
    """Vertical (Y, up) ground reaction force summed per foot side of an ExternalLoads.

    Returns ``(time_s, {side: force_n}, {side: column names})``; forces applied to a body
    that is not a right or left foot are summed under ``"other"``. Forces expressed in a
    body's axes rather than in ``ground`` are left out (their Y is not vertical).
    """
    from .pipeline import foot_side  # noqa: PLC0415 - the one rule for a foot's side

    d = loads.data
    out: dict[str, np.ndarray] = {}
    cols: dict[str, list[str]] = {}
    for f in loads.forces:
        if f.force_expressed_in_body not in ("ground", ground):
            continue
        side = foot_side(f.applied_to_body) or "other"
        out[side] = out.get(side, 0.0) + d.column(f.force_columns[1])
        cols.setdefault(side, []).append(f.force_columns[1])
    return d.time_s, out, cols


def _unit_hint(ratio: float, typical: str = "what running produces") -> str:
    """Words for a factor between a value and its ``typical`` size."""
    if not math.isfinite(ratio) or ratio <= 0:
        return "another unit"
    power = 10.0 ** round(math.log10(ratio))
    if 0.5 * power <= ratio <= 2.0 * power and power != 1.0:
        return f"about {power:g}x {typical}: another unit or a scale factor"
    return f"{ratio:.3g}x {typical}: another unit or a scale factor"


def check_forces(
    time_s: np.ndarray,
    vertical_n: dict[str, np.ndarray],
    body_mass_kg: float | None,
    source: str | Path | None,
    *,
    mass_from: str = "the model",
    columns: dict[str, list[str]] | None = None,
) -> list[QualityWarning]:
    """Refuse vertical ground reaction forces that cannot be this runner's.

    Parameters
    ----------
    time_s
        Sample times of the forces.
    vertical_n
        Vertical force (N, up positive) per foot side (``"right"``, ``"left"``; other keys
        are added to the total).
    body_mass_kg
        The runner's mass (model or ``--mass``); ``None``: weighed from the forces (mean
        vertical force over complete strides), and that mass is checked instead.
    source
        The force file, for messages.
    mass_from
        Where the mass came from, in words ("the model", "--mass").
    columns
        Column names per side, for messages.

    Raises
    ------
    InputError
        Non-finite samples; vertical force zero throughout; a spike (a sample far off its
        neighbours, named with its time); vertical force negative (axes flipped); a peak
        outside ``LIMITS['peak_vertical_grf_bw']`` (a unit slip); the vertical impulse of
        complete strides outside ``LIMITS['stride_vertical_impulse_bw']`` of the body weight
        (forces of another runner, or a wrong mass); a mass weighed from the forces outside
        ``LIMITS['body_mass_kg']``.

    Returns
    -------
    list of QualityWarning
        None today; the list is the place for doubts that keep the forces usable.
    """
    where = _name(source)
    t = np.asarray(time_s, dtype=float)
    cols = columns or {}
    sides = {k: np.asarray(v, dtype=float) for k, v in vertical_n.items()}
    for side, f in sides.items():
        bad = np.flatnonzero(~np.isfinite(f))
        if bad.size:
            name = ", ".join(cols.get(side, [side]))
            raise InputError(where, f"vertical force ({name}) is NaN or infinite at t = {t[bad[0]]:g} s")
    if not sides or t.size < 2:
        raise InputError(where, "has no vertical force samples")
    total = np.sum(list(sides.values()), axis=0)
    limit = LIMITS["peak_vertical_grf_bw"]
    if float(np.max(np.abs(total))) < _ZERO_FORCE_N:
        raise InputError(
            where,
            "vertical force is zero throughout: no foot contact in the forces (wrong columns, or "
            "plates not recording?)",
        )
    bw = None if body_mass_kg is None else float(body_mass_kg) * STANDARD_GRAVITY_M_S2
    if bw is not None and not (bw > 0 and math.isfinite(bw)):
        raise InputError("body mass", f"{body_mass_kg!r} kg cannot weigh forces against")
    for side, f in [*sides.items(), ("total", total)]:
        spikes = _spikes(f)
        if spikes.size:
            k = int(spikes[np.argmax(np.abs(f[spikes]))])
            name = "" if side == "total" else f" ({', '.join(cols.get(side, [side]))})"
            in_bw = f" ({f[k] / bw:.3g} body weights)" if bw else ""
            raise InputError(
                where,
                f"vertical force{name} of {f[k]:.4g} N{in_bw} at t = {t[k]:g} s, in {spikes.size} sample(s) "
                "far off their neighbours: a spike no runner produces (a corrupt sample?)",
            )
    # negated vertical force: the largest excursion is downwards
    for side, f in [("total", total), *sides.items()]:
        lo, hi = float(f.min()), float(f.max())
        if -lo > max(hi, limit.low * bw if bw else _ZERO_FORCE_N):
            name = "" if side == "total" else f" ({', '.join(cols.get(side, [side]))})"
            size = f"{lo / bw:.3g} body weights" if bw else f"{lo:.4g} N"
            raise InputError(
                where,
                f"vertical force{name} is negative, down to {size} at t = {t[int(np.argmin(f))]:g} s, and "
                "never as large upwards: axes flipped? forces on the runner with the vertical (Y) axis up "
                "are expected",
            )
    if bw is None:
        mean_n, n = stride_vertical_impulse_bw(t, sides, 1.0)
        if not n:
            return []
        body_mass_kg = mean_n / STANDARD_GRAVITY_M_S2
        check_force_mass(body_mass_kg, where)
        bw = mean_n
        mass_from = "the forces' own mean"
    peak_bw = float(total.max()) / bw
    if peak_bw > limit.high or peak_bw < limit.low:
        bound = f"at most {limit.high:g}" if peak_bw > limit.high else f"at least {limit.low:g}"
        raise InputError(
            where,
            f"forces are {peak_bw:.4g}x body weight at their peak ({body_mass_kg:.1f} kg from {mass_from}), "
            f"{_unit_hint(peak_bw / _TYPICAL_RUNNING_PEAK_BW)}: newtons expected (running peaks at 2-3 "
            f"body weights; accepted {bound})",
        )
    ratio, n = stride_vertical_impulse_bw(t, sides, bw)
    imp = LIMITS["stride_vertical_impulse_bw"]
    if n and imp.problem(ratio) is not None:
        mass_forces = ratio * body_mass_kg
        raise InputError(
            where,
            f"the forces weigh the runner at {mass_forces:.1f} kg (vertical impulse over {n} complete "
            f"stride(s)), but {mass_from} says {body_mass_kg:.1f} kg ({ratio:.2f} body weights, accepted "
            f"{imp.low:g}-{imp.high:g}): forces of another runner, or a wrong mass?",
        )
    return []


def check_external_loads(
    loads, body_mass_kg: float | None, *, mass_from: str = "the model", ground: str = "ground"
) -> list[QualityWarning]:
    """:func:`check_forces` on an ExternalLoads (its force file named in messages).

    Forces expressed in a body's axes are not weighed; without any in ground, nothing is.
    """
    t, vert, cols = vertical_by_foot(loads, ground)
    if not vert:
        return []
    return check_forces(t, vert, body_mass_kg, loads.data.source, mass_from=mass_from, columns=cols)


def _spikes(f: np.ndarray, half_window: int = 2) -> np.ndarray:
    """Samples farther from the median of their neighbours than twice the signal's range.

    The range is that of the 1st to 99th percentile, so a few corrupt samples do not set
    it; a real force changes by a small part of its range from one sample to the next
    (an impact peak rises over 10-30 ms), while a corrupt sample stands alone.
    """
    n = f.size
    if n < 2 * half_window + 2:
        return np.zeros(0, dtype=int)
    padded = np.pad(f, half_window, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1)
    neighbours = np.median(np.delete(windows, half_window, axis=1), axis=1)
    lo, hi = np.percentile(f, [1.0, 99.0])
    scale = max(float(hi - lo), _ZERO_FORCE_N)
    return np.flatnonzero(np.abs(f - neighbours) > 2.0 * scale)


def stride_vertical_impulse_bw(
    time_s: np.ndarray, vertical_n: dict[str, np.ndarray], body_weight_n: float
) -> tuple[float, int]:
    """Median vertical impulse per body weight and stride time over complete measured strides.

    A stride runs from one foot strike of a foot to its next, and is *measured* when the
    other foot's contact in between is recorded too, near the stride's middle (overground
    plates may see only some steps; :func:`runmuscles.kinematics.overground.measured_cycles`);
    each stride's mean force is
    :func:`runmuscles.kinematics.forceplates.body_weight_from_cycles`. Over such a stride at
    steady speed the impulse equals body weight x stride time (Newton's second law).
    Returns ``(ratio, number of strides)``; ``(nan, 0)`` without any.
    """
    from .kinematics.forceplates import body_weight_from_cycles  # noqa: PLC0415
    from .kinematics.overground import measured_cycles, trial_steps  # noqa: PLC0415

    t = np.asarray(time_s, dtype=float)
    if "right" not in vertical_n or "left" not in vertical_n or t.size < 3:
        return math.nan, 0
    total = np.sum([np.asarray(v, dtype=float) for v in vertical_n.values()], axis=0)
    steps = trial_steps(t, {"r": vertical_n["right"], "l": vertical_n["left"]})
    cycles = measured_cycles(steps)
    ratios = [body_weight_from_cycles(t, total, [c]) / body_weight_n for c in cycles]
    if not ratios:
        return math.nan, 0
    return float(np.median(ratios)), len(ratios)


# -- joint angles ------------------------------------------------------------------------------


def check_coordinate_ranges(
    time_s: np.ndarray,
    q: np.ndarray,
    names: Sequence[str],
    multibody,
    source: str | Path | None,
    *,
    only: Sequence[str] | None = None,
) -> None:
    """Refuse joint angles far outside the model's own coordinate ranges.

    Rotational coordinates of the model's joints (not the root's free rotations, which
    have no anatomical range, and not locked ones) are compared with their ``<range>`` in
    the ``.osim`` file, widened by ``LIMITS['coordinate_beyond_range_deg']``; a coordinate
    without a finite range is held to ``LIMITS['joint_angle_deg']``.

    ``only`` limits the check to some coordinates: the analysis passes those moved by
    muscles. The arms of the gait models are driven by torques, their ranges are loosely
    set and inverse kinematics with few arm markers leaves them (hamner2013 subject01's
    ``pro_sup_r`` reaches 133 deg against its 0-90 deg range), while the legs' angles stay
    within 13 deg of their ranges on all hamner2013 trials (knee flexion at 5 m/s).

    Parameters
    ----------
    time_s, q
        Times and coordinate values ``(n_frames, len(names))`` in radians and metres.
    names
        Coordinate names of ``q``'s columns.
    multibody
        The model (:class:`runmuscles.model.multibody.Multibody`).
    source
        The joint angle file, for the message.

    Raises
    ------
    InputError
        Naming the column, its extreme value and time, and the accepted range (in degrees).
    """
    mb = multibody
    margin = math.radians(LIMITS["coordinate_beyond_range_deg"].high)
    anat = LIMITS["joint_angle_deg"]
    root_joint = 0  # joint 0 moves body 1, the child of ground (the pelvis)
    t = np.asarray(time_s, dtype=float)
    q = np.asarray(q, dtype=float)
    for j, name in enumerate(names):
        if name not in mb.coordinate_names or (only is not None and name not in only):
            continue
        i = mb.coordinate_names.index(name)
        if mb.motion_types[i] != "rotational" or mb.locked[i] or int(mb.coordinate_joint[i]) == root_joint:
            continue
        lo, hi = (float(x) for x in mb.ranges[i])
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo >= 2 * math.pi:
            lo, hi = math.radians(anat.low), math.radians(anat.high)
            what = f"anatomical range {anat.low:g} to {anat.high:g} deg"
        else:
            what = (
                f"the model's range {math.degrees(lo):.0f} to {math.degrees(hi):.0f} deg "
                f"(+/-{LIMITS['coordinate_beyond_range_deg'].high:g} deg accepted beyond it)"
            )
            lo, hi = lo - margin, hi + margin
        col = q[:, j]
        out = np.flatnonzero((col < lo) | (col > hi))
        if out.size:
            k = int(out[np.argmax(np.abs(col[out] - 0.5 * (lo + hi)))])
            raise InputError(
                source,
                f"column '{name}' reaches {math.degrees(col[k]):.4g} deg at t = {t[k]:g} s, outside "
                f"{what}: radians read as degrees (or the reverse), or a wrong column?",
            )


# -- speed -------------------------------------------------------------------------------------


def motion_speed_m_s(
    model, time_s: np.ndarray, q: np.ndarray, vertical: dict[str, np.ndarray] | None, foot_bodies: dict
) -> tuple[float, str] | None:
    """Running speed seen in the motion: ``(speed, how)``, or ``None`` when it cannot be told.

    Overground, the pelvis's mean horizontal speed over the motion; on a treadmill (the
    pelvis moves less than ``LIMITS['treadmill_pelvis_speed_m_s']`` on average), the
    median backward speed of the stance foot's body origin in mid-stance (the middle half
    of each contact), which moves with the belt.

    Parameters
    ----------
    model
        A :class:`runmuscles.model.RunnerModel`.
    time_s, q
        Frames and all model coordinates (radians, metres), e.g. prepared coordinates.
    vertical
        ``{"time_s": ..., "right": Fy, "left": Fy}``: forces for the stance phases.
    foot_bodies
        ``{side: body name}`` of the bodies the forces act on.
    """
    t = np.asarray(time_s, dtype=float)
    if t.size < 10 or t[-1] - t[0] < 0.5:
        return None
    mb = model.multibody
    up = -np.asarray(mb.gravity_m_s2, dtype=float)
    up = up / np.linalg.norm(up) if np.linalg.norm(up) > 0 else np.array([0.0, 1.0, 0.0])

    def horizontal(v: np.ndarray) -> np.ndarray:
        return v - np.outer(v @ up, up)

    _, origins = model.body_poses(q)
    pelvis = origins[:, 1, :]  # body 1: the root body (child of ground)
    travel = horizontal(pelvis[-1:] - pelvis[:1])[0]
    pelvis_speed = float(np.linalg.norm(travel) / (t[-1] - t[0]))
    if pelvis_speed >= LIMITS["treadmill_pelvis_speed_m_s"].high:
        return pelvis_speed, f"mean horizontal speed of the {mb.body_names[1]} over the motion"
    if not vertical or not foot_bodies:
        return None
    from .kinematics.events import contact_intervals  # noqa: PLC0415

    tf = np.asarray(vertical["time_s"], dtype=float)
    if tf.size < 3:
        return None
    rate = (tf.size - 1) / float(tf[-1] - tf[0])
    speeds = []
    for side, body in foot_bodies.items():
        if side not in vertical or body not in mb.body_names:
            continue
        p = origins[:, mb.body_names.index(body), :]
        v = horizontal(np.gradient(p, t, axis=0))
        for a, b in contact_intervals(vertical[side], rate):
            lo = tf[a] + 0.25 * (tf[b - 1] - tf[a])
            hi = tf[a] + 0.75 * (tf[b - 1] - tf[a])
            sel = (t >= lo) & (t <= hi)
            if sel.sum() >= 2:
                speeds.append(float(np.median(np.linalg.norm(v[sel], axis=1))))
    if len(speeds) < 2 or np.median(speeds) < LIMITS["treadmill_pelvis_speed_m_s"].high:
        return None
    return float(np.median(speeds)), "backward speed of the stance foot in mid-stance (treadmill belt)"


def check_speed(
    stated_m_s: float | None,
    motion: tuple[float, str] | None,
    source: str | Path | None,
    *,
    stated_from: str = "the stated speed",
) -> list[QualityWarning]:
    """Compare a stated running speed with the motion's.

    Outside ``LIMITS['speed_ratio_stated_to_motion']``: a ``speed_mismatch`` warning
    (per-kilometre loads and the cost of transport rest on the stated speed). Outside
    ``LIMITS['speed_ratio_stated_to_motion_absurd']``: an error.
    """
    if stated_m_s is None or motion is None or not motion[0] > 0:
        return []
    speed, how = motion
    ratio = float(stated_m_s) / speed
    said = (
        f"{stated_from} is {stated_m_s:g} m/s but the motion runs at {speed:.2f} m/s ({how}; "
        f"ratio {ratio:.2f})"
    )
    absurd = LIMITS["speed_ratio_stated_to_motion_absurd"]
    if absurd.problem(ratio) is not None:
        raise InputError(source, f"{said}: a wrong speed or the motion of another trial?")
    warn = LIMITS["speed_ratio_stated_to_motion"]
    if warn.problem(ratio) is not None:
        return [
            QualityWarning(
                "speed_mismatch",
                f"{_name(source)}: {said}, accepted {warn.low:g}-{warn.high:g}: per-kilometre loads and "
                "the cost of transport use the stated speed",
                affects=("energy", "per_km"),
            )
        ]
    return []


# -- one trial's inputs, as the analysis meets them ------------------------------------------------


@dataclass
class InputChecks:
    """What the checks of one trial's inputs found: warnings, notes, and the long gaps.

    Made by :func:`check_inputs`; :meth:`keep_cycles` drops strides over the long gaps and
    :meth:`check_motion` checks the prepared motion (joint ranges, speed).
    """

    warnings: list[QualityWarning]
    notes: list[str]
    gaps: list[Gap]
    source: str

    def keep_cycles(
        self, cycles: Sequence, requested: int | None = None, window_s: tuple[float, float] | None = None
    ) -> list:
        """The stride cycles that overlap no long gap (a warning names the dropped ones).

        Raises
        ------
        InputError
            The one requested cycle overlaps a gap, or every complete stride does, or the
            analysis window (``window_s``) has no stride and overlaps a gap (its frames there
            would be invented).
        """
        kept, dropped = drop_cycles_over_gaps(cycles, self.gaps)
        gaps = ", ".join(
            f"{g.start_s:.3f}-{g.end_s:.3f} s" + (f" in {Path(g.source).name}" if g.source else "")
            for g in self.gaps
        )
        files = {g.source for g in self.gaps if g.source}
        where = files.pop() if len(files) == 1 else self.source  # the file the holes are in
        if not dropped:
            if (
                not kept
                and window_s is not None
                and any(g.start_s < window_s[1] and g.end_s > window_s[0] for g in self.gaps)
            ):
                raise InputError(
                    where,
                    f"the analysis window {window_s[0]:g}-{window_s[1]:g} s overlaps data gaps longer than "
                    f"{MAX_GAP_S:g} s ({gaps}), which are not bridged, and holds no complete stride",
                )
            return list(kept)
        if requested is not None or not kept:
            which = f"cycle {requested}" if requested is not None else f"all {len(dropped)} complete strides"
            raise InputError(
                where,
                f"{which} overlap(s) data gaps longer than {MAX_GAP_S:g} s ({gaps}), which are not bridged: "
                "nothing usable is left in the window",
            )
        self.warnings.append(
            QualityWarning(
                "strides_dropped_for_gaps",
                f"{_name(self.source)}: {len(dropped)} stride(s) overlapping data gaps ({gaps}) are not "
                f"analysed ({', '.join(f'{c.start_s:.2f}-{c.end_s:.2f} s' for c in dropped)}); "
                f"{len(kept)} remain",
            )
        )
        return list(kept)

    def check_motion(
        self,
        model,
        time_s: np.ndarray,
        q: np.ndarray,
        *,
        vertical: dict[str, np.ndarray] | None,
        loads,
        stated_speed_m_s: float | None,
        speed_source: str = "",
    ) -> None:
        """Joint angles against the model's ranges; the stated speed against the motion's.

        ``q`` holds all model coordinates (radians, metres) at ``time_s``.
        """
        check_coordinate_ranges(
            time_s,
            q,
            model.coordinate_names,
            model.multibody,
            self.source,
            only=model.coordinates_with_muscles,
        )
        if stated_speed_m_s is None:
            return
        feet: dict[str, str] = {}
        if loads is not None:
            from .pipeline import foot_side  # noqa: PLC0415

            for f in loads.forces:
                side = foot_side(f.applied_to_body)
                if side is not None:
                    feet.setdefault(side, f.applied_to_body)
        motion = motion_speed_m_s(model, time_s, q, vertical, feet)
        said = "--speed" if speed_source in ("", "given") else f"the speed ({speed_source})"
        self.warnings.extend(check_speed(stated_speed_m_s, motion, self.source, stated_from=said))


def check_inputs(model, coordinates, loads) -> InputChecks:
    """Check a trial's joint angles and forces as read, before anything is computed on them.

    Parameters
    ----------
    model
        The :class:`runmuscles.model.RunnerModel` (its mass weighs the forces).
    coordinates
        The joint angle table (:func:`runmuscles.readers.read_storage`).
    loads
        The :class:`runmuscles.readers.opensim_files.ExternalLoads`, or ``None``.

    Raises
    ------
    InputError
        Forces that cannot be this runner's (:func:`check_forces`).
    """
    source = coordinates.source
    warnings = truncation_warnings(coordinates.time_s, coordinates.meta)
    notes: list[str] = []
    long, w, n = gap_warnings(find_gaps(coordinates.time_s), source, "joint angles")
    long = [replace(g, source=str(source)) for g in long]
    warnings += w
    notes += n
    if loads is not None:
        data = loads.data
        warnings += truncation_warnings(data.time_s, data.meta)
        long_f, w, n = gap_warnings(find_gaps(data.time_s), data.source, "forces")
        long += [replace(g, source=str(data.source)) for g in long_f]
        warnings += w
        notes += n
        warnings += check_external_loads(
            loads, model.body_mass_kg, mass_from=f"the model {model.name}", ground=model.ground_name
        )
    return InputChecks(warnings, notes, sorted(long, key=lambda g: g.start_s), source)


def check_force_mass(mass_kg: float, source: str | Path | None) -> None:
    """Refuse a body mass weighed from forces (mean vertical force / g) that no runner has."""
    why = LIMITS["body_mass_kg"].problem(mass_kg)
    if why is not None:
        ratio = mass_kg / 70.0  # a typical adult runner
        raise InputError(
            source,
            f"the forces weigh the runner at {mass_kg:.4g} kg (mean vertical force over complete strides), "
            f"{_unit_hint(ratio, 'what a runner weighs')}: "
            f"newtons expected (body mass {LIMITS['body_mass_kg'].describe()})",
        )


def marker_gap_warnings(markers, source: str | Path | None) -> tuple[list[QualityWarning], list[str]]:
    """Gaps (NaN, infinite or all-zero samples) per marker: warnings for long ones, a note else.

    Inverse kinematics solves each frame with the markers seen in it, so a marker's gap
    does not stop the analysis; a gap longer than :data:`MAX_GAP_S` is named (with the
    markers it hits) because the angles there rest on fewer markers.
    """
    long_by: dict[str, Gap] = {}
    n_short = 0
    for k, name in enumerate(markers.names):
        gaps = find_gaps(markers.time_s, markers.positions_m[:, k, :], zero_is_missing=True)
        longs = [g for g in gaps if g.duration_s > MAX_GAP_S + 1e-9]
        n_short += len(gaps) - len(longs)
        # a marker never seen at all is not a gap: it is absent (the marker plan reports it)
        if longs and np.isfinite(markers.positions_m[:, k, 0]).any():
            long_by[name] = max(longs, key=lambda g: g.duration_s)
    warnings = []
    if long_by:
        worst = sorted(long_by.items(), key=lambda kv: -kv[1].duration_s)
        shown = ", ".join(f"{n} {g.duration_s:.2f} s from {g.start_s:.2f} s" for n, g in worst[:6])
        warnings.append(
            QualityWarning(
                "marker_gap_too_long",
                f"{_name(source)}: {len(long_by)} marker(s) missing longer than {MAX_GAP_S:g} s (longest: "
                f"{shown}{' ...' if len(worst) > 6 else ''}); joint angles there rest on the other markers",
                affects=("kinematics",),
            )
        )
    notes = [f"{_name(source)}: {n_short} short marker gap(s) (up to {MAX_GAP_S:g} s)"] if n_short else []
    return warnings, notes
