"""A model whose pelvis can go where a runway's markers go.

OpenSim models limit the pelvis translations to a few metres around the lab origin (the
Rajagopal 2016 family: +-5 m, clamped), which fits a treadmill. Over a runway the runner
covers several metres a second, and a lab's origin can be anywhere along it: inverse
kinematics then holds the pelvis at the limit while the markers run on, and every joint
angle after that frame is wrong. :func:`widen_root_translations` widens the limits of the
joint that attaches the model to ground so that they cover the markers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..readers.opensim_files import MarkerTable

__all__ = ["ROOT_MARGIN_M", "widen_root_translations"]

#: Room left beyond the markers' extent (m): the pelvis carries markers of its own, so its origin
#: lies well within half a metre of their bounding box.
ROOT_MARGIN_M = 0.5


def widen_root_translations(
    model_path: str | Path, markers: MarkerTable, out_dir: str | Path
) -> tuple[Path, str | None]:
    """The model with its root translations' limits covering the markers, and a note.

    Parameters
    ----------
    model_path
        The (scaled) model.
    markers
        The trial's markers in the model's axes (metres).
    out_dir
        Where a widened copy goes (``<stem>_runway.osim``).

    Returns
    -------
    (Path, str or None)
        ``model_path`` itself and ``None`` when its limits already cover the markers (or are
        not enforced), else the copy and what was changed.
    """
    from ..model.multibody import load_osim  # noqa: PLC0415

    model_path = Path(model_path)
    mb = load_osim(model_path)
    roots = [j for j in range(mb.n_joints) if int(mb.parent[j]) == 0]
    pos = markers.positions_m.reshape(-1, 3)
    pos = pos[np.isfinite(pos).all(axis=1)]
    if not roots or not pos.size:
        return model_path, None
    targets = [
        name
        for i, name in enumerate(mb.coordinate_names)
        if int(mb.coordinate_joint[i]) in roots and mb.motion_types[i] == "translational" and mb.clamped[i]
    ]
    tree = ET.parse(model_path)
    axis_of: dict[str, np.ndarray] = {}
    for ta in tree.getroot().iter("TransformAxis"):
        coords = (ta.findtext("coordinates") or "").split()
        if (ta.get("name") or "").startswith("translation") and len(coords) == 1 and coords[0] in targets:
            axis = np.array([float(v) for v in (ta.findtext("axis") or "0 0 0").split()])
            if axis.size == 3 and np.linalg.norm(axis) > 0:
                axis_of[coords[0]] = axis / np.linalg.norm(axis)
    widen = {}
    for name, axis in axis_of.items():
        i = mb.coordinate_names.index(name)
        lo, hi = (float(v) for v in mb.ranges[i])
        along = pos @ axis
        need_lo, need_hi = float(along.min()) - ROOT_MARGIN_M, float(along.max()) + ROOT_MARGIN_M
        if lo > need_lo or hi < need_hi:
            widen[name] = (min(lo, need_lo), max(hi, need_hi), lo, hi)
    if not widen:
        return model_path, None
    for el in tree.getroot().iter("Coordinate"):
        if el.get("name") in widen:
            rng = el.find("range")
            if rng is None:
                rng = ET.SubElement(el, "range")
            new_lo, new_hi, _, _ = widen[el.get("name")]
            rng.text = f"{new_lo:.3f} {new_hi:.3f}"
    out = Path(out_dir) / f"{model_path.stem}_runway.osim"
    out.parent.mkdir(parents=True, exist_ok=True)
    tree.write(out, encoding="UTF-8", xml_declaration=True)
    return out, "model: " + "; ".join(
        f"{n}'s limits ({w[2]:g} to {w[3]:g} m) widened to {w[0]:.1f} to {w[1]:.1f} m to cover the markers"
        for n, w in widen.items()
    ) + f" (a runway; {out.name})"
