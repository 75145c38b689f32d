"""Force-plate processing: contacts, which foot made them, and one plate split into two feet.

On a single-belt instrumented treadmill both feet load the same plate. Running has no double
support, so every contact belongs to one foot: :func:`detect_contacts` finds the contacts in
the vertical force (hysteresis, minimum durations, a baseline that follows drift),
:func:`assign_feet` gives each to the foot whose heel/toe markers are nearest the centre of
pressure and lowest when it lands, and :func:`split_feet` builds right and left force, COP
and free-moment series that :func:`write_grf` saves as OpenSim ``.mot`` + ExternalLoads
``.xml`` (``calcn_r`` / ``calcn_l``, expressed in ground).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..readers.c3d import ForcePlate
from ..readers.opensim_files import MarkerTable, write_storage
from ..tables import TimeTable

__all__ = [
    "Contact",
    "FeetGRF",
    "assign_feet",
    "body_weight_from_cycles",
    "c3d_to_grf",
    "detect_contacts",
    "foot_marker_names",
    "grf_table",
    "lowpass_plate",
    "MarkerSampler",
    "markers_at",
    "split_feet",
    "write_grf",
]


# -- contact detection ---------------------------------------------------------------------------


def _running_low_baseline(f: np.ndarray, rate_hz: float, window_s: float, max_n: float) -> np.ndarray:
    """Slowly varying zero level of an unloaded plate (drift), from windows' low quantiles.

    In each window the 5th percentile is the flight level when the window has flight; a window
    whose low level is not near zero (no flight: walking, standing) carries no information and
    takes its neighbours' value.
    """
    n = f.size
    w = max(3, int(round(window_s * rate_hz)))
    starts = np.arange(0, n, w // 2)
    centres, levels = [], []
    for s in starts:
        seg = f[s : s + w]
        if seg.size < w // 4:
            continue
        lo = float(np.percentile(seg, 5))
        hi = float(np.percentile(seg, 95))
        if abs(lo) <= max_n and hi > lo:
            centres.append(s + seg.size / 2.0)
            levels.append(lo)
    if not levels:
        return np.zeros(n)
    return np.interp(np.arange(n), centres, levels)


def detect_contacts(
    vertical_force_n: np.ndarray,
    rate_hz: float,
    *,
    on_n: float = 50.0,
    off_n: float = 20.0,
    min_contact_s: float = 0.08,
    min_flight_s: float = 0.03,
    baseline_window_s: float = 2.0,
    max_baseline_n: float = 60.0,
    drop_partial: bool = True,
) -> list[tuple[int, int]]:
    """Find ground contacts in a vertical force signal.

    A contact starts where the force, after removing a slowly varying baseline (plate drift),
    rises above ``on_n`` and ends where it falls below ``off_n`` (hysteresis: noise around one
    threshold cannot toggle it). The start is moved back to where the force last crossed
    ``off_n``, so both ends are measured at the same, lower level. Gaps shorter than
    ``min_flight_s`` are joined; contacts shorter than ``min_contact_s`` are dropped.

    Parameters
    ----------
    vertical_force_n
        Vertical ground reaction force (N), shape ``(n,)``; NaN counts as unloaded.
    rate_hz
        Sampling rate of the signal.
    on_n, off_n
        Thresholds (N) to enter and to leave a contact, ``on_n >= off_n``.
    min_contact_s, min_flight_s
        Shortest contact kept, shortest gap that separates two contacts (s).
    baseline_window_s
        Window (s) of the drift estimate (the 5th percentile of each window with flight).
    max_baseline_n
        Largest offset (N) accepted as drift; lower windows are taken as having no flight.
    drop_partial
        Drop contacts cut by the start or end of the recording (when kept, they are kept
        whatever their length).

    Returns
    -------
    list of (int, int)
        ``(start_idx, end_idx)`` per contact, ``end_idx`` exclusive (``f[start:end]`` is the
        contact), in time order.
    """
    f = np.asarray(vertical_force_n, dtype=float).ravel()
    if on_n < off_n:
        raise InputError("detect_contacts", f"on_n ({on_n} N) must not be below off_n ({off_n} N)")
    if not rate_hz > 0:
        raise InputError("detect_contacts", f"rate_hz must be positive (got {rate_hz})")
    n = f.size
    if n == 0:
        return []
    f = np.where(np.isfinite(f), f, 0.0)
    f = f - _running_low_baseline(f, rate_hz, baseline_window_s, max_baseline_n)
    # A 3-sample median removes single-sample spikes without moving edges.
    g = np.median(np.stack([np.r_[f[0], f[:-1]], f, np.r_[f[1:], f[-1]]]), axis=0) if n >= 3 else f
    above_on = g > on_n
    below_off = g < off_n
    contacts: list[list[int]] = []
    i = 0
    while i < n:
        nxt = np.flatnonzero(above_on[i:])
        if nxt.size == 0:
            break
        on = i + int(nxt[0])
        # back to the last sample below off_n (the same level as the end)
        prev = np.flatnonzero(below_off[:on])
        start = int(prev[-1]) + 1 if prev.size else 0
        off = np.flatnonzero(below_off[on:])
        end = on + int(off[0]) if off.size else n
        contacts.append([start, end])
        i = end
    # refine each contact's ends to where the force leaves the unloaded plate's noise band,
    # so foot strike and toe-off are the first and last loaded samples, not threshold
    # crossings (a 20 N threshold alone makes strikes 5-10 ms late at running speeds)
    if contacts:
        loaded = np.zeros(n, dtype=bool)
        for a, b in contacts:
            loaded[a:b] = True
        flight = g[~loaded]
        noise = 1.4826 * float(np.median(np.abs(flight - np.median(flight)))) if flight.size > 10 else 0.0
        level = min(max(5.0, 4.0 * noise), off_n)
        for c in contacts:
            while c[0] > 0 and g[c[0] - 1] > level:
                c[0] -= 1
            while c[1] < n and g[c[1]] > level:
                c[1] += 1
    # join contacts separated by less than a real flight
    min_gap = int(round(min_flight_s * rate_hz))
    joined: list[list[int]] = []
    for c in contacts:
        if joined and c[0] - joined[-1][1] < min_gap:
            joined[-1][1] = c[1]
        else:
            joined.append(c)
    min_len = int(round(min_contact_s * rate_hz))
    if drop_partial:
        out = [(s, e) for s, e in joined if e - s >= min_len and s > 0 and e < n]
    else:  # a contact cut by the recording's ends is kept whatever its length
        out = [(s, e) for s, e in joined if e - s >= min_len or s == 0 or e == n]
    return out


# -- feet ----------------------------------------------------------------------------------------


_HEEL_RE = re.compile(r"heel|hee$|hee[^a-z]|calc|^.?hl$", re.IGNORECASE)
_TOE_RE = re.compile(r"toe|mt[1-5]|meta|mth|vmh|fmh|mh[1-5]", re.IGNORECASE)
_SIDE_RE = {
    "r": re.compile(r"^(r[._ -]?|right[._ -]?)|([._ -]r|right)$", re.IGNORECASE),
    "l": re.compile(r"^(l[._ -]?|left[._ -]?)|([._ -]l|left)$", re.IGNORECASE),
}


def foot_marker_names(names: list[str], side: str) -> tuple[list[str], list[str]]:
    """Heel and toe (metatarsal) marker names of one foot, found by common naming patterns.

    Parameters
    ----------
    names
        All marker names.
    side
        ``"r"`` or ``"l"``.

    Returns
    -------
    (list of str, list of str)
        Heel markers (``R.Heel.Bottom``, ``RHEE``, ``RCAL``...) and toe markers (``R.MT1``,
        ``RTOE``, ``RMT5``...). Empty lists when none is recognised.
    """
    side = side.lower()[:1]
    pat = _SIDE_RE[side]
    mine = [n for n in names if pat.search(n) or re.match(rf"^{side}[a-z]", n, re.IGNORECASE)]
    # "R.Heel.Top" / "R.Heel.Lateral" are on the heel counter; prefer the bottom one when present.
    heel = [n for n in mine if _HEEL_RE.search(n)]
    bottom = [n for n in heel if "bottom" in n.lower()]
    toe = [n for n in mine if _TOE_RE.search(n)]
    if not heel or not toe:
        # other conventions (IOR's R_FCC, R_FM1...): by landmark (runmuscles.lab.landmarks)
        from ..lab.landmarks import recognise  # noqa: PLC0415

        hits = {n: recognise(n) for n in names}
        mine_lm = {n: h[0].key for n, h in hits.items() if h is not None and h[1] == side}
        heel = heel or [n for n, k in mine_lm.items() if k == "heel"]
        toe = toe or [n for n, k in mine_lm.items() if k.endswith("metatarsal_head") or k == "toe_tip"]
    return (bottom or heel), toe


@dataclass
class Contact:
    """One foot contact on a plate.

    Attributes
    ----------
    start_idx, end_idx
        Sample range on the plate (``end_idx`` exclusive).
    start_s, end_s
        The same in seconds.
    side
        ``"r"``, ``"l"`` or ``""`` (not assigned).
    distance_m
        Horizontal distance of the early-stance COP from each foot's heel-toe segment
        (``{"r": ..., "l": ...}``).
    height_m
        Height of each foot's lowest heel/toe marker at contact.
    plate
        Index of the plate the contact is on.
    """

    start_idx: int
    end_idx: int
    start_s: float
    end_s: float
    side: str = ""
    distance_m: dict[str, float] = field(default_factory=dict)
    height_m: dict[str, float] = field(default_factory=dict)
    plate: int = 0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points ``p`` from segments ``a``-``b`` (all ``(n, 2)``)."""
    ab = b - a
    t = np.clip(np.sum((p - a) * ab, axis=1) / np.maximum(np.sum(ab * ab, axis=1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


class MarkerSampler:
    """Mean positions of groups of markers at given times (linear, gaps bridged), for many
    queries on one marker table: each group's mean trajectory and its seen samples are worked
    out once (:func:`assign_feet` asks for the same feet at every contact of a trial)."""

    def __init__(self, markers: MarkerTable):
        self.markers = markers
        self._seen: dict[tuple[str, ...], list[tuple[np.ndarray, np.ndarray] | None]] = {}

    def _samples(self, names: list[str]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Per axis, the times and values where the group's mean was seen (None: under two)."""
        key = tuple(names)
        if key not in self._seen:
            m = self.markers
            pos = np.stack([m.marker(nm) for nm in names], axis=1)
            mean = np.nanmean(pos, axis=1) if len(names) > 1 else pos[:, 0]
            axes: list[tuple[np.ndarray, np.ndarray] | None] = []
            for k in range(3):
                ok = np.isfinite(mean[:, k])
                axes.append(None if ok.sum() < 2 else (m.time_s[ok], mean[ok, k]))
            self._seen[key] = axes
        return self._seen[key]

    def at(self, names: list[str], t: np.ndarray) -> np.ndarray:
        """Mean position of ``names`` at times ``t``, shape ``(len(t), 3)``."""
        out = np.empty((t.size, 3))
        for k, seen in enumerate(self._samples(names)):
            out[:, k] = np.nan if seen is None else np.interp(t, seen[0], seen[1])
        return out


def markers_at(markers: MarkerTable, names: list[str], t: np.ndarray) -> np.ndarray:
    """Mean position of some markers at times ``t`` (linear, gaps bridged), shape ``(len(t), 3)``."""
    return MarkerSampler(markers).at(names, t)


def _lowest(sampler: MarkerSampler, names: list[str], t: np.ndarray) -> np.ndarray:
    h = [sampler.at([nm], t)[:, 1] for nm in names]
    return np.nanmin(np.stack(h, axis=1), axis=1)


def assign_feet(
    contacts: list[tuple[int, int]],
    plate: ForcePlate,
    markers: MarkerTable,
    *,
    right: tuple[list[str], list[str]] | None = None,
    left: tuple[list[str], list[str]] | None = None,
    early_s: float = 0.05,
    height_weight: float = 1.0,
) -> list[Contact]:
    """Say which foot made each contact.

    For each contact, the centre of pressure over its first ``early_s`` is compared with each
    foot: horizontal distance from the foot's heel-toe segment plus ``height_weight`` times the
    height of its lowest heel/toe marker at contact. The smaller total wins.

    Parameters
    ----------
    contacts
        From :func:`detect_contacts` on ``plate.force_n[:, 1]``.
    plate
        The plate (OpenSim axes).
    markers
        Marker trajectories in the same axes (from the same :class:`C3DTrial`).
    right, left
        ``(heel names, toe names)`` per foot; found by :func:`foot_marker_names` when omitted.
    early_s
        Length of early stance whose COP is used (s).
    height_weight
        Weight of foot height against COP distance (both in metres).

    Returns
    -------
    list of Contact
        One per contact, with ``side`` set to ``"r"`` or ``"l"``.
    """
    feet = {
        "r": right or foot_marker_names(markers.names, "r"),
        "l": left or foot_marker_names(markers.names, "l"),
    }
    for side, (heel, toe) in feet.items():
        if not heel or not toe:
            raise InputError(
                markers.meta.get("source", "markers"),
                f"cannot find the {'right' if side == 'r' else 'left'} foot's heel and toe markers; "
                f"name them with right=/left= (heel names, toe names)",
            )
    t = plate.time_s
    out = []
    n_early = max(1, int(round(early_s * plate.rate_hz)))
    sampler = MarkerSampler(markers)
    for s, e in contacts:
        idx = np.arange(s, min(e, s + n_early))
        cop = plate.cop_m[idx]
        ok = np.isfinite(cop).all(axis=1)
        if not ok.any():
            idx = np.arange(s, e)
            cop = plate.cop_m[idx]
            ok = np.isfinite(cop).all(axis=1)
        c = Contact(s, e, float(t[s]), float(t[e - 1]) + 1.0 / plate.rate_hz)
        if not ok.any():
            out.append(c)
            continue
        tt = t[idx][ok]
        cop_h = cop[ok][:, [0, 2]]
        for side, (heel, toe) in feet.items():
            hp = sampler.at(heel, tt)[:, [0, 2]]
            tp = sampler.at(toe, tt)[:, [0, 2]]
            d = _segment_distance(cop_h, hp, tp)
            c.distance_m[side] = float(np.nanmedian(d)) if np.isfinite(d).any() else np.inf
            h = _lowest(sampler, heel + toe, np.array([t[s]]))[0]
            c.height_m[side] = float(h) if np.isfinite(h) else np.inf
        score = {k: c.distance_m[k] + height_weight * c.height_m[k] for k in feet}
        if np.isfinite(list(score.values())).any():
            c.side = min(score, key=score.get)
        out.append(c)
    return out


# -- split into two feet -------------------------------------------------------------------------


@dataclass
class FeetGRF:
    """Ground reaction per foot from one shared plate, in OpenSim axes.

    Attributes
    ----------
    time_s
        Plate sample times, shape ``(n,)``.
    force_n, cop_m, torque_nm
        Dicts ``{"r": (n, 3), "l": (n, 3)}``: force on the foot (zero outside its contacts),
        point of application (the COP; held at the nearest contact value where there is no
        force), free moment about the vertical at the COP.
    contacts
        The contacts with their side.
    notes
        What was done and anything suspicious (e.g. two contacts in a row on one foot).
    """

    time_s: np.ndarray
    force_n: dict[str, np.ndarray]
    cop_m: dict[str, np.ndarray]
    torque_nm: dict[str, np.ndarray]
    contacts: list[Contact]
    notes: list[str] = field(default_factory=list)


def _hold_fill(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace rows where ``valid`` is False by the previous valid row (the next one before the first)."""
    out = x.copy()
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        out[:] = 0.0
        return out
    pos = np.searchsorted(idx, np.arange(x.shape[0]), side="right") - 1
    choose = idx[np.maximum(pos, 0)]
    out[~valid] = x[choose[~valid]]
    return out


def _cop_from_wrench(
    force_n: np.ndarray, moment_nm: np.ndarray, surface_y_m: float, unloaded_n: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COP on a horizontal surface and free moment, from force and moment about the origin.

    Moment about the origin of F at P = (px, y, pz) plus a vertical torque t:
    mx = y fz - pz fy, mz = px fy - y fx, my = pz fx - px fz + t.

    Returns
    -------
    (cop_m, free_moment_nm, loaded)
        COP NaN and free moment zero where ``fy <= unloaded_n``.
    """
    f, m, y = force_n, moment_nm, surface_y_m
    loaded = f[:, 1] > unloaded_n
    fy = np.where(loaded, f[:, 1], 1.0)
    px = (m[:, 2] + y * f[:, 0]) / fy
    pz = (y * f[:, 2] - m[:, 0]) / fy
    t = m[:, 1] - pz * f[:, 0] + px * f[:, 2]
    cop = np.column_stack([px, np.full_like(px, y), pz])
    cop[~loaded] = np.nan
    free = np.zeros_like(f)
    free[:, 1] = np.where(loaded, t, 0.0)
    return cop, free, loaded


def split_feet(
    plates: ForcePlate | list[ForcePlate],
    markers: MarkerTable,
    *,
    on_n: float = 50.0,
    off_n: float = 20.0,
    right: tuple[list[str], list[str]] | None = None,
    left: tuple[list[str], list[str]] | None = None,
    lowpass_hz: float | None = None,
    unloaded_n: float = 30.0,
) -> FeetGRF:
    """Right- and left-foot loads from one plate shared by both feet (or from several plates).

    Each contact found by :func:`detect_contacts` (on a plate's vertical force) goes whole to
    the foot :func:`assign_feet` picks. A foot's force and moment (about the lab origin) are
    the sums over the plates it is on; its COP and free moment follow from them on the plates'
    (horizontal) surface. With one plate this is the plate's own signal inside the foot's
    contacts, so right + left equals the plate there; between contacts (flight: only noise,
    below ``off_n``) both feet get zero force. Where the COP is undefined (low force at the
    edges of a contact, or no contact) it is held at the nearest earlier valid value (the
    next one before the first), so the point of application never jumps.

    Parameters
    ----------
    plates
        One processed plate or several with the same sampling (OpenSim axes).
    markers
        Markers of the same trial (OpenSim axes).
    on_n, off_n
        Contact thresholds (N), see :func:`detect_contacts`.
    right, left
        ``(heel names, toe names)`` overrides, see :func:`assign_feet`.
    lowpass_hz
        Low-pass the plates' force and moment (:func:`lowpass_plate`) before splitting;
        contacts and feet are still found on the raw signal.
    unloaded_n
        Vertical force (N) of one foot below which its COP is undefined.

    Returns
    -------
    FeetGRF
    """
    plates = [plates] if isinstance(plates, ForcePlate) else list(plates)
    if not plates:
        raise InputError("split_feet", "no force plates to split")
    n = plates[0].time_s.size
    if any(p.time_s.size != n or p.rate_hz != plates[0].rate_hz for p in plates):
        raise InputError("split_feet", "the plates are not sampled alike (rate or length differ)")
    force = {s: np.zeros((n, 3)) for s in "rl"}
    moment = {s: np.zeros((n, 3)) for s in "rl"}
    notes = []
    assigned: list[Contact] = []
    for pl in plates:
        src = lowpass_plate(pl, lowpass_hz) if lowpass_hz else pl
        found = detect_contacts(pl.force_n[:, 1], pl.rate_hz, on_n=on_n, off_n=off_n, drop_partial=False)
        for c in assign_feet(found, pl, markers, right=right, left=left):
            c.plate = pl.index
            if not c.side:
                notes.append(f"plate {pl.index + 1}: contact at {c.start_s:.3f} s has no valid COP; dropped")
                continue
            sl = slice(c.start_idx, c.end_idx)
            force[c.side][sl] += src.force_n[sl]
            moment[c.side][sl] += src.moment_nm[sl]
            assigned.append(c)
    assigned.sort(key=lambda c: c.start_idx)
    surface_y = float(np.mean([p.corners_m[:, 1].mean() for p in plates]))
    cop, torque = {}, {}
    for s in "rl":
        c_s, t_s, ok = _cop_from_wrench(force[s], moment[s], surface_y, unloaded_n)
        # Low-force edges of a contact take the COP of that same contact, not of the last one.
        for c in assigned:
            if c.side == s:
                sl = slice(c.start_idx, c.end_idx)
                if ok[sl].any():
                    c_s[sl] = _hold_fill(c_s[sl], ok[sl])
        cop[s] = _hold_fill(c_s, np.isfinite(c_s).all(axis=1))
        torque[s] = t_s
    sides = [c.side for c in assigned]
    repeats = sum(1 for a, b in zip(sides, sides[1:], strict=False) if a == b)
    n_r, n_l = sides.count("r"), sides.count("l")
    notes.append(f"{len(assigned)} contacts: {n_r} right, {n_l} left; {repeats} same-foot repeats")
    if repeats:
        notes.append("same foot twice in a row: check the foot markers or the thresholds")
    return FeetGRF(plates[0].time_s, force, cop, torque, assigned, notes)


_COLS = ("vx", "vy", "vz", "px", "py", "pz", "mx", "my", "mz")


def grf_table(feet: FeetGRF, *, prefix: str = "ground_force") -> TimeTable:
    """The per-foot loads as a table with OpenSim's usual column names.

    Columns are ``{prefix}_r_vx..vz`` (force), ``_px..pz`` (point), ``_mx..mz`` (torque), then
    the same for ``_l``: the identifiers ``{prefix}_r_v``, ``_p``, ``_m`` of the ExternalLoads
    file :func:`write_grf` writes.
    """
    labels, blocks = [], []
    for s in "rl":
        labels += [f"{prefix}_{s}_{c}" for c in _COLS]
        blocks += [feet.force_n[s], feet.cop_m[s], feet.torque_nm[s]]
    return TimeTable(feet.time_s, np.hstack(blocks), labels, None, {"units": "N, m, N m"})


def _external_loads_xml(datafile: str, prefix: str) -> ET.ElementTree:
    root = ET.Element("OpenSimDocument", Version="40600")
    el = ET.SubElement(root, "ExternalLoads")
    objs = ET.SubElement(el, "objects")
    for s, name, body in (("r", "RightGRF", "calcn_r"), ("l", "LeftGRF", "calcn_l")):
        ef = ET.SubElement(objs, "ExternalForce", name=name)
        ET.SubElement(ef, "applied_to_body").text = body
        ET.SubElement(ef, "force_expressed_in_body").text = "ground"
        ET.SubElement(ef, "point_expressed_in_body").text = "ground"
        ET.SubElement(ef, "force_identifier").text = f"{prefix}_{s}_v"
        ET.SubElement(ef, "point_identifier").text = f"{prefix}_{s}_p"
        ET.SubElement(ef, "torque_identifier").text = f"{prefix}_{s}_m"
    ET.SubElement(el, "groups")
    ET.SubElement(el, "datafile").text = datafile
    tree = ET.ElementTree(root)
    ET.indent(tree, space="\t")
    return tree


def write_grf(path: str | Path, feet: FeetGRF, *, prefix: str = "ground_force") -> tuple[Path, Path]:
    """Write the per-foot loads as ``<stem>.mot`` and an ExternalLoads ``<stem>.xml`` beside it.

    Parameters
    ----------
    path
        The ``.mot`` file to write (e.g. ``RBDS001runT25_grf.mot``, the name the project's
        ``_grf.xml`` templates expect); the ``.xml`` gets the same stem.
    feet
        From :func:`split_feet`.
    prefix
        Column prefix; the XML's identifiers follow it.

    Returns
    -------
    (Path, Path)
        The ``.mot`` and ``.xml`` paths.
    """
    mot = Path(path).with_suffix(".mot")
    table = grf_table(feet, prefix=prefix)
    write_storage(mot, table, name=mot.stem, extra_header={"DataType": "double"})
    xml = mot.with_suffix(".xml")
    tree = _external_loads_xml(mot.name, prefix)
    with xml.open("wb") as fh:
        fh.write(b'<?xml version="1.0" encoding="UTF-8" ?>\n')
        tree.write(fh, encoding="utf-8", xml_declaration=False)
    return mot, xml


# -- filtering -----------------------------------------------------------------------------------


def lowpass_plate(
    plate: ForcePlate, cutoff_hz: float, *, order: int = 2, unloaded_n: float = 30.0
) -> ForcePlate:
    """Low-pass force and moment (zero-lag Butterworth), then recompute COP and free moment.

    Filtering the force and the moment before dividing one by the other keeps the centre of
    pressure usable at the low loads of early contact, where a treadmill plate's vibration
    noise divided by a small vertical force throws the raw COP by decimetres.

    Parameters
    ----------
    plate
        A processed plate in OpenSim axes (horizontal surface, Y up).
    cutoff_hz
        Cut-off frequency (Hz) of the filter, applied forwards and backwards.
    order
        Order of the Butterworth filter before the forward-backward pass.
    unloaded_n
        Vertical force below which the COP is NaN.

    Returns
    -------
    ForcePlate
        A new plate; ``moment_nm`` is still about the lab origin.
    """
    from .filters import butterworth_lowpass, filtfilt_odd  # noqa: PLC0415 (NumPy only: no scipy.signal)

    if not 0 < cutoff_hz < plate.rate_hz / 2:
        raise InputError(
            f"plate {plate.index + 1}",
            f"cut-off {cutoff_hz} Hz must lie between 0 and {plate.rate_hz / 2} Hz",
        )
    b, a = butterworth_lowpass(order, cutoff_hz / (plate.rate_hz / 2))
    f = filtfilt_odd(b, a, plate.force_n)
    m = filtfilt_odd(b, a, plate.moment_nm)
    y = float(plate.corners_m[:, 1].mean())  # surface height
    cop, free, loaded = _cop_from_wrench(f, m, y, unloaded_n)
    return ForcePlate(
        plate.index,
        plate.plate_type,
        plate.rate_hz,
        plate.time_s,
        f,
        m,
        cop,
        free,
        plate.corners_m,
        loaded,
        list(plate.channels),
    )


def c3d_to_grf(
    c3d_path: str | Path,
    out_dir: str | Path | None = None,
    *,
    lowpass_hz: float | None = None,
    on_n: float = 50.0,
    off_n: float = 20.0,
) -> tuple[FeetGRF, Path, Path]:
    """Read a C3D trial, split its plates into right and left feet and write OpenSim files.

    Parameters
    ----------
    c3d_path
        The trial.
    out_dir
        Where ``<stem>_grf.mot`` and ``<stem>_grf.xml`` go (default: beside the C3D file).
    lowpass_hz
        Optional low-pass of force and moment before splitting (:func:`lowpass_plate`).
    on_n, off_n
        Contact thresholds (N), see :func:`detect_contacts`.

    Returns
    -------
    (FeetGRF, Path, Path)
        The split loads, the ``.mot`` and the ``.xml``.
    """
    from ..readers.c3d import read_c3d  # noqa: PLC0415

    trial = read_c3d(c3d_path)
    loaded = [p for p in trial.plates if p.loaded.any()]
    if not loaded:
        raise InputError(c3d_path, "no loaded force plate in this file: nothing to split into feet")
    feet = split_feet(loaded, trial.markers, on_n=on_n, off_n=off_n, lowpass_hz=lowpass_hz)
    feet.notes = trial.notes + feet.notes
    folder = Path(out_dir) if out_dir is not None else Path(c3d_path).parent
    mot, xml = write_grf(folder / f"{Path(c3d_path).stem}_grf.mot", feet)
    return feet, mot, xml


# -- body weight ---------------------------------------------------------------------------------


def body_weight_from_cycles(
    time_s: np.ndarray, vertical_force_n: np.ndarray, cycles_s: list[tuple[float, float]]
) -> float:
    """Body weight (N): the mean vertical ground reaction force over whole stride cycles.

    Over a whole stride of steady running the body's vertical momentum returns to its
    starting value, so the vertical impulse of the ground equals body weight times the
    stride time (impulse-momentum; Cavagna GA 1975, J Appl Physiol 39:174-179). This holds
    only over whole strides in which every contact was measured: over a force file that
    includes steps off the plates, or partial strides, the mean is too low or too high.

    Parameters
    ----------
    time_s
        Sample times of the force (s).
    vertical_force_n
        Total vertical ground reaction force of both feet (N).
    cycles_s
        ``(start, end)`` of complete measured stride cycles (s), e.g.
        :attr:`runmuscles.kinematics.overground.MeasuredWindow.cycles_s`.

    Raises
    ------
    InputError
        No cycle, or a cycle outside the force samples.
    """
    t = np.asarray(time_s, dtype=float)
    f = np.nan_to_num(np.asarray(vertical_force_n, dtype=float))
    if not cycles_s:
        raise InputError("forces", "no complete measured stride cycle to weigh the runner over")
    impulse, duration = 0.0, 0.0
    for a, b in cycles_s:
        if a < t[0] - 1e-9 or b > t[-1] + 1e-9 or not b > a:
            raise InputError("forces", f"stride cycle {a:g}-{b:g} s is outside the force samples")
        grid = np.concatenate([[a], t[(t > a) & (t < b)], [b]])
        fg = np.interp(grid, t, f)
        impulse += float(np.sum(0.5 * (fg[1:] + fg[:-1]) * np.diff(grid)))
        duration += b - a
    return impulse / duration
