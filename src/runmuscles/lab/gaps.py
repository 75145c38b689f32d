"""Marker gaps: short ones filled, long ones left out of inverse kinematics, absent markers dropped.

A lab marker is missing in a frame when its coordinates are NaN (a blank field of a TRC
file, a C3D sample with a negative residual) or exactly ``(0, 0, 0)`` (how many systems
write a marker that was not seen). A gap's length is the time bridged between the seen
samples around it (:func:`runmuscles.plausibility.find_gaps`). :func:`fill_gaps` then

* fills every gap inside the recording of at most :data:`runmuscles.validation.MAX_GAP_S`
  with a cubic spline through the marker's seen samples (the usual choice for short gaps:
  Howarth SJ, Callaghan JP (2010) Quantitative assessment of the accuracy for three
  interpolation techniques in kinematic analysis of human movement. Comput Methods Biomech
  Biomed Engin 13:847-855);
* leaves longer gaps, and gaps at the start or end of the recording, as NaN: the marker file
  written for OpenSim has blanks there, and OpenSim's inverse kinematics gives a marker
  without data zero weight in that frame (:func:`runmuscles.plausibility.marker_gap_warnings`
  names them);
* drops a marker that is missing in more than :data:`MOSTLY_MISSING` of the frames, by name:
  it cannot scale nor pose the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from ..plausibility import find_gaps
from ..readers.opensim_files import MarkerTable
from ..validation import MAX_GAP_S

__all__ = ["MOSTLY_MISSING", "GapReport", "fill_gaps", "missing_mask"]

#: A marker missing in more than this fraction of the frames is dropped (half the trial: a
#: marker seen less often than that poses the model in too few strides to be worth its
#: weight, and its seen samples are usually a mislabelled other marker).
MOSTLY_MISSING = 0.5


@dataclass
class GapReport:
    """What :func:`fill_gaps` did.

    Attributes
    ----------
    filled_s
        Marker -> total time of the gaps filled by the spline (s).
    unfilled_s
        Marker -> total time of the gaps left as NaN (longer than the limit, or at the ends).
    longest_unfilled_s
        Marker -> its longest gap left as NaN (s).
    dropped
        Marker -> fraction of frames it was missing in.
    zeros_frames
        Number of marker samples that were exact zeros (taken as missing).
    """

    filled_s: dict[str, float] = field(default_factory=dict)
    unfilled_s: dict[str, float] = field(default_factory=dict)
    longest_unfilled_s: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, float] = field(default_factory=dict)
    zeros_frames: int = 0

    def notes(self, what: str) -> list[str]:
        """Lines for the quality panel (``what``: the file)."""
        out = []
        if self.zeros_frames:
            out.append(f"{what}: {self.zeros_frames} marker samples at exactly (0, 0, 0) read as missing")
        if self.filled_s:
            worst = max(self.filled_s, key=self.filled_s.__getitem__)
            out.append(
                f"{what}: marker gaps up to {MAX_GAP_S:g} s filled by cubic spline in {len(self.filled_s)} "
                f"markers ({sum(self.filled_s.values()):.2f} s in all; most in {worst}, "
                f"{self.filled_s[worst]:.2f} s)"
            )
        return out

    def flags(self, what: str) -> list[str]:
        """Lines that need a look: markers dropped. (Gaps left open are named by
        :func:`runmuscles.plausibility.marker_gap_warnings` on the markers inverse kinematics gets.)"""
        if not self.dropped:
            return []
        return [
            f"{what}: markers missing in most of the frames dropped: "
            + ", ".join(f"{m} ({100 * f:.0f} % missing)" for m, f in self.dropped.items())
        ]

    def as_dict(self) -> dict:
        return {
            "max_gap_s": MAX_GAP_S,
            "filled_s": self.filled_s,
            "unfilled_s": self.unfilled_s,
            "longest_unfilled_s": self.longest_unfilled_s,
            "dropped_missing_fraction": self.dropped,
            "zero_samples_read_as_missing": self.zeros_frames,
        }


def missing_mask(positions_m: np.ndarray) -> np.ndarray:
    """``(n_frames, n_markers)``: True where a marker is NaN or exactly ``(0, 0, 0)``."""
    return ~np.isfinite(positions_m).all(axis=2) | np.all(positions_m == 0.0, axis=2)


def fill_gaps(
    markers: MarkerTable, *, max_gap_s: float = MAX_GAP_S, mostly_missing: float = MOSTLY_MISSING
) -> tuple[MarkerTable, GapReport]:
    """Fill short marker gaps, leave long ones as NaN, drop markers missing in most frames.

    Parameters
    ----------
    markers
        The lab's markers (any names, metres).
    max_gap_s
        Longest gap filled (default :data:`runmuscles.validation.MAX_GAP_S`).
    mostly_missing
        Fraction of frames above which a missing marker is dropped.

    Returns
    -------
    (MarkerTable, GapReport)
        A new table (the input is not changed) and what was done.
    """
    pos = np.array(markers.positions_m, dtype=float, copy=True)
    t = np.asarray(markers.time_s, dtype=float)
    report = GapReport()
    zeros = np.all(pos == 0.0, axis=2)
    report.zeros_frames = int(zeros.sum())
    pos[zeros] = np.nan
    missing = missing_mask(pos)
    n = t.size
    keep = []
    for k, name in enumerate(markers.names):
        miss = missing[:, k]
        if n and miss.mean() > mostly_missing:
            report.dropped[name] = float(miss.mean())
            continue
        keep.append(k)
        if not miss.any():
            continue
        seen = ~miss
        spline = CubicSpline(t[seen], pos[seen, k, :], axis=0) if seen.sum() >= 4 else None
        filled = unfilled = longest = 0.0
        # the one gap definition (runmuscles.plausibility.find_gaps): the time bridged between
        # the seen samples on either side, or from the recording's start or to its end
        for g in find_gaps(t, markers.positions_m[:, k, :], zero_is_missing=True):
            edge = (g.start_s <= t[0] and miss[0]) or (g.end_s >= t[-1] and miss[-1])
            rows = np.flatnonzero(miss & (t >= g.start_s) & (t <= g.end_s))
            if not rows.size:
                continue  # a jump in time, no sample to fill
            if not edge and spline is not None and g.duration_s <= max_gap_s + 1e-9:
                pos[rows, k, :] = spline(t[rows])
                filled += g.duration_s
            else:
                pos[rows, k, :] = np.nan
                unfilled += g.duration_s
                longest = max(longest, g.duration_s)
        if filled:
            report.filled_s[name] = filled
        if unfilled:
            report.unfilled_s[name] = unfilled
            report.longest_unfilled_s[name] = longest
    out = MarkerTable(
        t.copy(),
        pos[:, keep, :],
        [markers.names[k] for k in keep],
        markers.rate_hz,
        markers.source_units,
        dict(markers.meta),
    )
    return out, report
