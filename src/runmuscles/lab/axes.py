"""Lab axes from the markers' landmarks: which way is up, forward and right.

OpenSim's axes are X forward, Y up, Z to the runner's right. Labs record with Y or Z up and
the runner going along +-X or +-Y/Z. :func:`detect_axes` finds them from the landmarks the
marker names say (:mod:`runmuscles.lab.landmarks`):

* **up**: from the feet (heel, metatarsal heads, malleoli) to the pelvis (ASIS, PSIS,
  sacrum) and trunk (C7, acromia), the median over the frames;
* **forward**: overground, the pelvis's direction of travel (when it moves faster than
  :data:`OVERGROUND_M_S`); on a treadmill or standing, the direction the pelvis faces
  (from the posterior to the anterior iliac spines) or, without those, the direction the
  toes point from the heels;
* **right**: forward x up. The right-side landmarks must then lie to the right of the left
  ones; when they lie to the left, the labels say right for the left side (or the lab
  mirrors the data), which is said and not corrected.

A direction within :data:`SNAP_DEG` of a lab axis is taken as that axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..readers.opensim_files import MarkerTable
from . import landmarks as lk

__all__ = ["OVERGROUND_M_S", "SNAP_DEG", "LabAxes", "detect_axes", "rotate_markers"]

#: Pelvis speed above which the trial is overground (a treadmill keeps the pelvis within a
#: few centimetres; walking starts near 1 m/s).
OVERGROUND_M_S = 0.5
#: A detected direction this close to a lab axis is snapped to it.
SNAP_DEG = 20.0

_FEET = {"heel", "first_metatarsal_head", "second_metatarsal_head", "fifth_metatarsal_head", "toe_tip"}
_FEET |= {"lateral_malleolus", "medial_malleolus"}
_TOP = {"asis", "psis", "sacrum", "c7", "acromion", "jugular_notch"}


@dataclass
class LabAxes:
    """The lab's axes as found.

    Attributes
    ----------
    rotation
        ``(3, 3)``, rows: OpenSim X (forward), Y (up), Z (right) in lab coordinates
        (``v_osim = rotation @ v_lab``).
    found
        Whether up and forward could be found from landmarks.
    snapped
        Whether both are lab axes (within :data:`SNAP_DEG`).
    how
        What each direction came from.
    sides_mirrored
        The right-side landmarks lie on the left.
    """

    rotation: np.ndarray
    found: bool
    snapped: bool
    how: list[str] = field(default_factory=list)
    sides_mirrored: bool = False

    @property
    def is_identity(self) -> bool:
        return bool(np.allclose(self.rotation, np.eye(3), atol=1e-9))

    def describe(self) -> str:
        names = [_axis_name(r) for r in self.rotation]
        return (
            f"lab axes: forward = lab {names[0]}, up = lab {names[1]}, right = lab {names[2]} ("
            + "; ".join(self.how)
            + ")"
        )


def _axis_name(v: np.ndarray) -> str:
    k = int(np.argmax(np.abs(v)))
    if abs(v[k]) > 0.999:
        return ("+" if v[k] > 0 else "-") + "XYZ"[k]
    return "(" + ", ".join(f"{x:.2f}" for x in v) + ")"


def _snap(v: np.ndarray) -> tuple[np.ndarray, bool]:
    v = v / np.linalg.norm(v)
    k = int(np.argmax(np.abs(v)))
    if np.degrees(np.arccos(min(1.0, abs(v[k])))) <= SNAP_DEG:
        s = np.zeros(3)
        s[k] = np.sign(v[k])
        return s, True
    return v, False


def _groups(markers: MarkerTable) -> dict[tuple[str, str | None], list[int]]:
    out: dict[tuple[str, str | None], list[int]] = {}
    for k, n in enumerate(markers.names):
        hit = lk.recognise(n)
        if hit is not None:
            out.setdefault((hit[0].key, hit[1]), []).append(k)
    return out


def _mean_of(markers: MarkerTable, idx: list[int]) -> np.ndarray | None:
    """Per frame, the mean of the markers ``idx`` (NaN where none is seen)."""
    if not idx:
        return None
    pts = markers.positions_m[:, idx, :]
    seen = np.isfinite(pts).all(axis=2)
    n = seen.sum(axis=1)
    total = np.where(seen[:, :, None], pts, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[:, None] > 0, total / n[:, None], np.nan)


def detect_axes(markers: MarkerTable) -> LabAxes:
    """The lab's axes from the landmarks (see the module docstring)."""
    g = _groups(markers)

    def pick(keys: set[str], side: str | None = "any") -> list[int]:
        return [k for (key, s), idx in g.items() if key in keys and (side == "any" or s == side) for k in idx]

    feet = _mean_of(markers, pick(_FEET))
    top = _mean_of(markers, pick(_TOP))
    if feet is None or top is None:
        return LabAxes(np.eye(3), False, False, ["too few recognised landmarks to tell the axes"])
    d = top - feet
    d = d[np.isfinite(d).all(axis=1)]
    if not d.size:
        return LabAxes(np.eye(3), False, False, ["feet and pelvis never seen together"])
    up, up_ok = _snap(np.median(d, axis=0))
    how = ["up: from the feet to the pelvis and trunk"]

    def horizontal(v: np.ndarray) -> np.ndarray:
        return v - (v @ up) * up

    fwd = None
    pelvis = _mean_of(markers, pick({"asis", "psis", "sacrum"}))
    t = np.asarray(markers.time_s, dtype=float)
    if pelvis is not None:
        ok = np.isfinite(pelvis).all(axis=1)
        if ok.sum() >= 2:
            travel = horizontal(pelvis[ok][-1] - pelvis[ok][0])
            dur = float(t[ok][-1] - t[ok][0])
            if dur > 0 and np.linalg.norm(travel) / dur > OVERGROUND_M_S:
                fwd = travel
                speed = np.linalg.norm(travel) / dur
                how.append(f"forward: direction of travel overground ({speed:.2f} m/s)")
    if fwd is None:
        front = _mean_of(markers, pick({"asis"}))
        back = _mean_of(markers, pick({"psis", "sacrum"}))
        if front is not None and back is not None:
            v = front - back
            v = v[np.isfinite(v).all(axis=1)]
            if v.size:
                fwd = horizontal(np.median(v, axis=0))
                how.append("forward: the way the pelvis faces (PSIS/sacrum to ASIS)")
    if fwd is None:
        toe = _mean_of(markers, pick({"first_metatarsal_head", "second_metatarsal_head", "toe_tip"}))
        heel = _mean_of(markers, pick({"heel"}))
        if toe is not None and heel is not None:
            v = toe - heel
            v = v[np.isfinite(v).all(axis=1)]
            if v.size:
                fwd = horizontal(np.median(v, axis=0))
                how.append("forward: the way the toes point from the heels")
    if fwd is None or np.linalg.norm(fwd) < 1e-9:
        return LabAxes(np.eye(3), False, False, [*how, "no forward direction found"])
    fwd, fwd_ok = _snap(fwd)
    fwd = horizontal(fwd)
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, up)
    rot = np.vstack([fwd, up, right])
    # the right-side landmarks must be on the right
    r = _mean_of(markers, [k for (key, s), idx in g.items() if s == "r" for k in idx])
    left = _mean_of(markers, [k for (key, s), idx in g.items() if s == "l" for k in idx])
    mirrored = False
    if r is not None and left is not None:
        w = (r - left) @ right
        w = w[np.isfinite(w)]
        mirrored = bool(w.size and np.median(w) < 0)
    return LabAxes(rot, True, up_ok and fwd_ok, how, mirrored)


def rotate_markers(markers: MarkerTable, rotation: np.ndarray) -> MarkerTable:
    """The markers in the rotated axes (``v_new = rotation @ v``)."""
    return MarkerTable(
        markers.time_s,
        markers.positions_m @ rotation.T,
        list(markers.names),
        markers.rate_hz,
        markers.source_units,
        dict(markers.meta),
    )
