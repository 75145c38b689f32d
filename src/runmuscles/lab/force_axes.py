"""A forces file beside a marker file recorded in the lab's axes: which axes are the forces in?

When a TRC file's markers were in the lab's axes and :mod:`runmuscles.lab.axes` turned them
into OpenSim's, the forces file given with them (an ExternalLoads ``.xml`` and its ``.mot``)
may be in OpenSim's axes already (exported for OpenSim) or in the same lab axes as the
markers. The vertical component alone cannot tell them apart when the lab has Y up and only
the running direction differs. The centre of pressure can: in stance it lies under a foot.
:func:`forces_frame` compares the median distance from the centre of pressure to the nearest
foot marker in both readings; :func:`rotate_external_loads` writes the forces turned like the
markers when the lab's reading fits.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..readers.opensim_files import ExternalLoads, MarkerTable, write_storage
from ..tables import TimeTable
from . import landmarks as lk

__all__ = ["STANCE_N", "ForcesFrame", "forces_frame", "rotate_external_loads"]

#: Force above which a sample counts as stance (its centre of pressure is defined).
STANCE_N = 100.0
_FOOT = {"heel", "first_metatarsal_head", "second_metatarsal_head", "fifth_metatarsal_head", "toe_tip"}
_FOOT |= {"lateral_malleolus", "medial_malleolus"}


@dataclass
class ForcesFrame:
    """Which axes a forces file is in.

    Attributes
    ----------
    frame
        ``"opensim"``, ``"lab"`` or ``"unknown"`` (no centre of pressure or foot markers).
    cop_to_foot_m
        Median distance from the centre of pressure to the nearest foot marker in stance,
        per reading (``{"opensim": ..., "lab": ...}``).
    """

    frame: str
    cop_to_foot_m: dict[str, float]


def _triplets(loads: ExternalLoads) -> list[tuple[list[str], list[str] | None, list[str] | None]]:
    return [(f.force_columns, f.point_columns, f.torque_columns) for f in loads.forces]


def forces_frame(loads: ExternalLoads, markers: MarkerTable, rotation: np.ndarray) -> ForcesFrame:
    """Tell whether ``loads`` are in OpenSim's axes or in the lab's (``rotation`` turns the lab's
    into OpenSim's, as the markers were turned; ``markers`` are in OpenSim's axes)."""
    feet = [
        k for k, n in enumerate(markers.names) if (h := lk.recognise(n)) is not None and h[0].key in _FOOT
    ]
    d = loads.data
    if not feet:
        return ForcesFrame("unknown", {})
    dist: dict[str, list[np.ndarray]] = {"opensim": [], "lab": []}
    for force_cols, point_cols, _ in _triplets(loads):
        if point_cols is None:
            continue
        f = d.columns(force_cols)
        p = d.columns(point_cols)
        stance = np.flatnonzero(np.linalg.norm(f, axis=1) > STANCE_N)
        if stance.size == 0:
            continue
        stance = stance[:: max(1, stance.size // 400)]
        t = d.time_s[stance]
        foot = np.stack(
            [
                np.stack(
                    [np.interp(t, markers.time_s, markers.positions_m[:, k, j], left=np.nan, right=np.nan)
                     for j in range(3)],
                    axis=1,
                )
                for k in feet
            ],
            axis=1,
        )  # fmt: skip
        for frame, cop in (("opensim", p[stance]), ("lab", p[stance] @ rotation.T)):
            gap = np.linalg.norm(foot - cop[:, None, :], axis=2)
            with np.errstate(invalid="ignore"):
                dist[frame].append(np.nanmin(np.where(np.isfinite(gap), gap, np.inf), axis=1))
    med = {
        k: float(np.median(np.concatenate(v)[np.isfinite(np.concatenate(v))]))
        for k, v in dist.items()
        if v and np.isfinite(np.concatenate(v)).any()
    }
    if len(med) < 2:
        return ForcesFrame("unknown", med)
    return ForcesFrame("lab" if med["lab"] < 0.5 * med["opensim"] else "opensim", med)


def rotate_external_loads(xml: Path, loads: ExternalLoads, rotation: np.ndarray, out_dir: Path) -> Path:
    """Write the forces turned into OpenSim's axes: ``forces_rotated.mot`` and an ExternalLoads
    ``forces_rotated.xml`` (the original's forces and bodies, pointing at the new file)."""
    d = loads.data
    data = d.data.copy()
    for cols in {tuple(c) for trip in _triplets(loads) for c in trip if c is not None}:
        idx = [d.labels.index(c) for c in cols]
        data[:, idx] = data[:, idx] @ rotation.T
    out_dir.mkdir(parents=True, exist_ok=True)
    mot = write_storage(
        out_dir / "forces_rotated.mot",
        TimeTable(d.time_s, data, list(d.labels), False, dict(d.meta)),
        name="forces_rotated",
    )
    tree = ET.parse(xml)
    root = tree.getroot()
    for el in root.iter("datafile"):
        el.text = mot.name
    out = out_dir / "forces_rotated.xml"
    tree.write(out, encoding="UTF-8", xml_declaration=True)
    return out
