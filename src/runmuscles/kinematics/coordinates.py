"""Joint coordinates from a table: units, checks, filtering and derivatives.

:func:`prepare_coordinates` turns a coordinates table (``.mot``/``.sto`` from any inverse
kinematics) into generalized coordinates ``q`` (radians or metres), speeds ``qdot`` and
accelerations ``qddot`` in the model's coordinate order, processed as OpenSim's
AnalyzeTool does (see :mod:`runmuscles.kinematics.filters`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..quality import QualityWarning
from ..tables import TimeTable
from .filters import butterworth3_filtfilt, is_uniform, pad_odd, quintic_spline_derivative, resample_uniform

__all__ = ["CoordinateKinematics", "prepare_coordinates"]

# A running stride moves the knee through more than 60 degrees; if every angular column of a
# table stays below this many units, the numbers cannot be degrees (they are radians).
_MAX_RADIANS_LIKE = 3.2
# Angles in radians never exceed a few turns; larger numbers are degrees.
_MAX_PLAUSIBLE_RADIANS = 2.5 * np.pi
# Model translations (pelvis position) of a runner are metres; tens or more are millimetres.
_MAX_PLAUSIBLE_METRES = 50.0


@dataclass
class CoordinateKinematics:
    """Generalized coordinates, speeds and accelerations at the analysed frames.

    Attributes
    ----------
    time_s
        Frame times, shape ``(F,)``.
    names
        Coordinate names (model order), length ``C``.
    q, qdot, qddot
        Shape ``(F, C)``; rad, rad/s, rad/s^2 for rotational coordinates and m, m/s, m/s^2
        for translational ones.
    source
        The coordinates file.
    lowpass_hz
        Cutoff used (``None``: not filtered).
    notes
        What was assumed or corrected (units, resampling, missing columns filled).
    warnings
        Corrections that a result must carry as a quality warning (the header's angle unit
        overridden by the numbers).
    """

    time_s: np.ndarray
    names: list[str]
    q: np.ndarray
    qdot: np.ndarray
    qddot: np.ndarray
    source: str
    lowpass_hz: float | None
    notes: list[str] = field(default_factory=list)
    warnings: list[QualityWarning] = field(default_factory=list)

    def index(self, name: str) -> int:
        return self.names.index(name)


def _decide_degrees(
    table: TimeTable, angular: list[str], notes: list[str], warnings: list[QualityWarning]
) -> bool:
    vals = table.columns(angular) if angular else np.zeros((table.n_frames, 0))
    peak = float(np.nanmax(np.abs(vals))) if vals.size else 0.0
    declared = table.in_degrees
    if declared is False and peak > _MAX_PLAUSIBLE_RADIANS:
        notes.append(
            f"{table.source}: header says inDegrees=no but angles reach {peak:.1f}, "
            "which is implausible in radians: read as degrees"
        )
        warnings.append(QualityWarning("angle_unit_overridden", notes[-1], affects=("all",)))
        return True
    if declared is not False and table.n_frames >= 10 and 0 < peak < _MAX_RADIANS_LIKE:
        said = "inDegrees=yes" if declared else "no inDegrees line (OpenSim assumes degrees)"
        notes.append(
            f"{table.source}: header has {said} but no angle exceeds {peak:.2f}, "
            "implausible for running in degrees: read as radians"
        )
        warnings.append(QualityWarning("angle_unit_overridden", notes[-1], affects=("all",)))
        return False
    if declared is None:
        notes.append(f"{table.source}: no inDegrees line; angles read as degrees, as OpenSim does")
        return True
    return bool(declared)


def prepare_coordinates(
    table: TimeTable,
    names: Sequence[str],
    rotational: Sequence[bool],
    *,
    lowpass_hz: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    fill: dict[str, float] | None = None,
) -> CoordinateKinematics:
    """Coordinates in model order with speeds and accelerations, processed like OpenSim.

    Parameters
    ----------
    table
        Coordinates table as read (degrees or radians per its header; see notes).
    names
        Model coordinate names, in model order.
    rotational
        Per name: True for angles (converted from degrees), False for translations.
    lowpass_hz
        Low-pass cutoff for the coordinates (OpenSim's third-order Butterworth, run forwards
        and backwards after padding the data by half its length). ``None`` or <= 0: none.
    start_s, end_s
        Analysis window; must lie inside the table's time range.
    fill
        Coordinates the table may lack (locked or coupled ones), with the value to use.

    Returns
    -------
    CoordinateKinematics
        Frames of the table inside ``[start_s, end_s]``.
    """
    notes: list[str] = []
    src = table.source
    fill = fill or {}
    missing = [n for n in names if n not in table and n not in fill]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise InputError(src, f"coordinate(s) the model needs are missing from the data: {shown}")
    filled = [n for n in names if n not in table]
    if filled:
        notes.append(f"not in the data, held at the model's value: {', '.join(filled)}")
    t = table.time_s
    if t.size < 4:
        raise InputError(src, f"has {t.size} frames; at least 4 are needed")
    lo = t[0] if start_s is None else start_s
    hi = t[-1] if end_s is None else end_s
    if hi <= lo:
        raise InputError(src, f"time window {lo:g}-{hi:g} s is empty")
    tol = 1e-6 + 1e-3 * (t[-1] - t[0]) / max(t.size - 1, 1)
    if lo < t[0] - tol or hi > t[-1] + tol:
        raise InputError(src, f"time window {lo:g}-{hi:g} s is outside the data ({t[0]:g}-{t[-1]:g} s)")

    present = [n for n in names if n in table]
    rot_map = dict(zip(names, rotational, strict=True))
    angular = [n for n in present if rot_map[n]]
    linear = [n for n in present if not rot_map[n]]
    raw = table.columns(present)
    bad = ~np.isfinite(raw)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(src, f"NaN or infinite value in column '{present[c]}' at t = {t[r]:g} s")
    unit_warnings: list[QualityWarning] = []
    in_degrees = _decide_degrees(table, angular, notes, unit_warnings)
    if linear:
        peak_lin = float(np.max(np.abs(table.columns(linear))))
        if peak_lin > _MAX_PLAUSIBLE_METRES:
            raise InputError(
                src,
                f"translations reach {peak_lin:.0f}: these look like millimetres, but OpenSim "
                "coordinates are in metres",
            )

    values = np.empty((t.size, len(names)))
    for j, n in enumerate(names):
        if n in table:
            col = table.column(n)
            values[:, j] = np.deg2rad(col) if (rot_map[n] and in_degrees) else col
        else:
            values[:, j] = fill[n]

    if not is_uniform(t):
        dt = float(np.min(np.diff(t)))
        t, values = resample_uniform(t, values, dt)
        notes.append(f"unequal sample intervals: resampled linearly at {1 / dt:.1f} Hz")
    dt = float((t[-1] - t[0]) / (t.size - 1))
    n = t.size
    if lowpass_hz is not None and lowpass_hz > 0:
        pad = n // 2
        padded = pad_odd(values, pad)
        filtered = butterworth3_filtfilt(padded, dt, lowpass_hz)
        qd = quintic_spline_derivative(filtered, dt)
        qdd = quintic_spline_derivative(qd, dt)
        sl = slice(pad, pad + n)
        q, qd, qdd = filtered[sl], qd[sl], qdd[sl]
    else:
        q = values
        qd = quintic_spline_derivative(q, dt)
        qdd = quintic_spline_derivative(qd, dt)
        lowpass_hz = None
    keep = (t >= lo - tol) & (t <= hi + tol)
    if keep.sum() < 2:
        raise InputError(src, f"time window {lo:g}-{hi:g} s holds fewer than 2 frames")
    return CoordinateKinematics(
        t[keep], list(names), q[keep], qd[keep], qdd[keep], src, lowpass_hz, notes, unit_warnings
    )
