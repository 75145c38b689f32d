"""Muscle groups that runners ask about, from any model's own muscle names.

The mapping works on the names used by the Hamner 2010 full-body model (``glut_max1_r``,
``vas_lat_r``), the Rajagopal 2016 / Lai-Arnold 2017 / Uhlrich 2022 family (``glmax1_r``,
``vaslat140_r``) and the 2-D gait10dof18musc model (``vasti_r``). A muscle name is reduced
to its stem (side suffix ``_r``/``_l`` and trailing digits or fibre-length tags removed) and
matched against the stems below. Anatomy after Gray's Anatomy (41st ed.) and the models'
own documentation (Delp et al. 1990, IEEE TBME 37:757-767; Rajagopal et al. 2016, IEEE
TBME 63:2068-2079).

Groups may overlap: rectus femoris is one of the four quadriceps and also a hip flexor, so
it counts in both; shares of the whole are computed against the sum over all muscles, and
group shares can therefore add to more than 100 %. Muscles in no named group (deep hip
rotators, peronei, tibialis posterior) are reported as ``other``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["MAIN_GROUPS", "GROUPS", "GROUP_LABELS", "group_members", "muscle_side", "muscle_stem"]

GROUPS: dict[str, tuple[str, ...]] = {
    "gluteals": ("glut_max", "glut_med", "glut_min", "glmax", "glmed", "glmin"),
    "quadriceps": (
        "vas_med",
        "vas_int",
        "vas_lat",
        "vasmed",
        "vasint",
        "vaslat",
        "vasti",
        "rect_fem",
        "recfem",
    ),
    "hamstrings": ("semimem", "semiten", "bifemlh", "bifemsh", "bflh", "bfsh", "hamstrings"),
    "calves": ("med_gas", "lat_gas", "gasmed", "gaslat", "gastroc", "soleus"),
    "hip_flexors": ("iliacus", "psoas", "iliopsoas", "rect_fem", "recfem", "sar", "sart", "tfl"),
    "adductors": ("add_long", "add_brev", "add_mag", "addlong", "addbrev", "addmag", "grac", "pect"),
    "shin": ("tib_ant", "tibant", "ext_dig", "edl", "ext_hal", "ehl", "per_tert"),
    "long_toe_flexors": ("flex_dig", "fdl", "flex_hal", "fhl"),
    "core_trunk": ("ercspn", "intobl", "extobl", "erec", "obl"),
    "other": (
        "quad_fem",
        "gem",
        "peri",
        "piri",
        "tib_post",
        "tibpost",
        "per_brev",
        "perbrev",
        "per_long",
        "perlong",
    ),
}

#: The named groups, in the order reports show them (``other`` left out).
MAIN_GROUPS: tuple[str, ...] = tuple(g for g in GROUPS if g != "other")

GROUP_LABELS: dict[str, str] = {
    "gluteals": "Gluteals",
    "quadriceps": "Quadriceps",
    "hamstrings": "Hamstrings",
    "calves": "Calves (triceps surae)",
    "hip_flexors": "Hip flexors",
    "adductors": "Adductors",
    "shin": "Shin (dorsiflexors)",
    "long_toe_flexors": "Long toe flexors",
    "core_trunk": "Core / trunk",
    "other": "Other (deep hip rotators, peronei, tibialis posterior)",
}

_SIDE = re.compile(r"_(r|l)$")
_TAIL = re.compile(r"(\d+)$")


def muscle_side(name: str) -> str:
    """``'right'``, ``'left'`` or ``''`` from the ``_r``/``_l`` suffix."""
    m = _SIDE.search(name)
    return {"r": "right", "l": "left"}[m.group(1)] if m else ""


def muscle_stem(name: str) -> str:
    """Name without side suffix and trailing compartment/fibre-length digits, lower case."""
    stem = _SIDE.sub("", name.lower())
    stem = _TAIL.sub("", stem)
    # Rajagopal's adductor magnus parts: addmagDist/Isch/Mid/Prox -> addmag
    for part in ("dist", "isch", "mid", "prox"):
        if stem.startswith("addmag") and stem.endswith(part):
            stem = "addmag"
    return stem


def _matches(stem: str, key: str) -> bool:
    return stem == key or (len(key) >= 4 and stem.startswith(key))


def group_members(muscles: Iterable[str]) -> dict[str, list[str]]:
    """Muscles of each group (model names, in model order), ``other`` for the rest.

    Every muscle of the model lands in at least one group. (Memoized per list of names;
    the lists returned are fresh copies.)
    """
    return {g: list(m) for g, m in _group_members(tuple(muscles)).items()}


@functools.lru_cache(maxsize=64)
def _group_members(muscles: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    muscles = list(muscles)
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for m in muscles:
        stem = muscle_stem(m)
        hit = False
        for g, keys in GROUPS.items():
            if g == "other":
                continue
            if any(_matches(stem, k) for k in keys):
                out[g].append(m)
                hit = True
        if not hit:
            out["other"].append(m)
    return {g: tuple(v) for g, v in out.items()}
