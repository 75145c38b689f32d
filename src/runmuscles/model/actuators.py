"""Coordinate actuators (reserves, residuals) from OpenSim force-set files and models.

Reads ``CoordinateActuator`` entries (name, coordinate, optimal force, control bounds,
whether it applies force) from a ForceSet file or from a model's own ``<ForceSet>``, in file
order, without OpenSim. Other actuator types in a force-set file (PointActuator,
TorqueActuator) are reported as unsupported rather than silently ignored.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..muscles.recruitment import Reserves
from .osim_xml import parsed_xml

__all__ = ["read_coordinate_actuators"]

_UNSUPPORTED = ("PointActuator", "TorqueActuator", "PointToPointActuator", "BodyActuator")


def _float(el: ET.Element, tag: str, default: float) -> float:
    txt = el.findtext(tag)
    if txt is None or not txt.strip():
        return default
    v = txt.strip().lower()
    if v in ("inf", "infinity", "+inf"):
        return np.inf
    if v in ("-inf", "-infinity"):
        return -np.inf
    try:
        return float(v)
    except ValueError:
        raise InputError(None, f"'{tag}' of actuator '{el.get('name')}' is not a number: {txt!r}") from None


def read_coordinate_actuators(path: str | Path, *, in_model: bool = False) -> Reserves:
    """All ``CoordinateActuator`` elements of a force-set file (or of a model's ForceSet).

    Parameters
    ----------
    path
        A ``.xml`` ForceSet file, or an ``.osim`` model with ``in_model=True``.
    in_model
        Read the model's own ``<ForceSet>`` (muscles are skipped).

    Returns
    -------
    Reserves
        In file order; actuators with ``appliesForce`` false are left out, as OpenSim's
        StaticOptimization removes them.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "force-set file not found")
    try:
        root = parsed_xml(p)  # shared with the other readers of this file: read only
    except ET.ParseError as exc:
        raise InputError(p, f"is not valid XML ({exc})") from None
    scope = root.find(".//Model/ForceSet") if in_model else root
    if scope is None:
        return Reserves([], [], np.zeros(0), np.zeros(0), np.zeros(0))
    if not in_model:
        bad = [el.get("name", el.tag) for tag in _UNSUPPORTED for el in scope.findall(f".//objects/{tag}")]
        if bad:
            raise InputError(p, f"actuator type not supported for static optimization: {', '.join(bad)}")
    names, coords, opt, lo, hi = [], [], [], [], []
    for el in scope.findall(".//objects/CoordinateActuator"):
        applies = (el.findtext("appliesForce") or el.findtext("isDisabled") or "").strip().lower()
        if el.find("appliesForce") is not None and applies in ("false", "0"):
            continue
        if el.find("isDisabled") is not None and applies in ("true", "1"):
            continue
        name = el.get("name") or ""
        coord = (el.findtext("coordinate") or "").strip()
        if not coord:
            raise InputError(p, f"CoordinateActuator '{name}' names no <coordinate>")
        names.append(name)
        coords.append(coord)
        opt.append(_float(el, "optimal_force", 1.0))
        lo.append(_float(el, "min_control", -np.inf))
        hi.append(_float(el, "max_control", np.inf))
    return Reserves(names, coords, np.array(opt), np.array(lo), np.array(hi))
