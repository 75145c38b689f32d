"""Small helpers for reading OpenSim 4.x ``.osim`` XML without OpenSim."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["child_text", "euler_xyz_body_fixed", "numbers", "parsed_xml", "read_osim_root", "truthy"]

# OpenSim 4.0 writes document Version 40000; 3.x files (joints inside bodies) start at 30000.
_MIN_VERSION = 40000


#: Parsed documents kept in this process, by file identity (path, size, modification and change time,
#: inode): a lab run reads the same scaled model some five times (inverse kinematics, its checks,
#: the analysis), ~60 ms of XML parsing each for a full-body model.
_PARSED: OrderedDict[tuple, ET.Element] = OrderedDict()
_PARSED_MAX = 8
_PARSED_LOCK = threading.Lock()


def parsed_xml(path: str | Path) -> ET.Element:
    """The root element of an XML file, parsed once per unchanged file in this process.

    The element is shared by every caller that reads the same file (a file rewritten, even in
    place, is parsed again): read it, do not modify it. Raises what ``ElementTree.parse``
    raises (``OSError``, ``ElementTree.ParseError``).
    """
    p = Path(path)
    st = p.stat()
    # the change time too: a rewrite that keeps size and modification time (cp -p, touch -r)
    # still changes it, and no user can set it
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    with _PARSED_LOCK:  # the web app analyses in threads
        if key in _PARSED:
            _PARSED.move_to_end(key)
            return _PARSED[key]
    root = ET.parse(p).getroot()
    with _PARSED_LOCK:
        _PARSED[key] = root
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return root


def read_osim_root(path: str | Path) -> tuple[ET.Element, int]:
    """Parse an ``.osim`` file; return its ``<Model>`` element and document version (shared,
    see :func:`parsed_xml`: read it, do not modify it)."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "model file not found")
    try:
        root = parsed_xml(p)
    except ET.ParseError as exc:
        raise InputError(p, f"is not valid XML ({exc})") from None
    version = int(root.get("Version", "0") or 0)
    model = root.find("Model") if root.tag == "OpenSimDocument" else (root if root.tag == "Model" else None)
    if model is None:
        raise InputError(p, "has no <Model> element (not an OpenSim model file)")
    if version < _MIN_VERSION:
        raise InputError(
            p,
            f"is an OpenSim {version} model file; re-save it with OpenSim 4 to convert it",
        )
    return model, version


def numbers(el: ET.Element, tag: str, where: str, size: int | None = None, default=None) -> np.ndarray:
    """Whitespace-separated numbers of ``<tag>`` under ``el`` (``default`` when absent)."""
    text = el.findtext(tag)
    if text is None or not text.strip():
        if default is not None:
            return np.array(default, dtype=float)
        raise InputError(where, f"<{tag}> is missing")
    try:
        values = np.array(text.split(), dtype=float)
    except ValueError:
        raise InputError(where, f"<{tag}> is not a list of numbers: '{text.strip()[:40]}'") from None
    if size is not None and values.size != size:
        raise InputError(where, f"<{tag}> has {values.size} numbers, expected {size}")
    return values


def child_text(el: ET.Element, tag: str, default: str = "") -> str:
    text = el.findtext(tag)
    return default if text is None else text.strip()


def truthy(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


def euler_xyz_body_fixed(angles_rad: np.ndarray) -> np.ndarray:
    """Rotation matrix of a body-fixed X-Y-Z sequence (OpenSim frame ``orientation``)."""
    a, b, c = (float(v) for v in angles_rad)
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rz = np.array([[cc, -sc, 0], [sc, cc, 0], [0, 0, 1]])
    return rx @ ry @ rz
