"""C3D lab files in, OpenSim-convention arrays out.

:func:`read_c3d` reads a C3D file with ``ezc3d`` and returns a :class:`C3DTrial`:

* markers in metres (``POINT:UNITS``), gaps (negative residual or an exact ``(0, 0, 0)``) as NaN;
* every analog channel, scaled (``ANALOG:SCALE``, ``OFFSET``, ``GEN_SCALE``), with labels, units, rate;
* EMG channels kept apart (labels with ``EMG`` or a muscle name);
* force platforms (``FORCE_PLATFORM`` types 2 and 4; 4 applies ``CAL_MATRIX``): ground reaction
  force on the body (N), its moment about the lab origin (N m), centre of pressure on the plate
  surface (m, NaN while the plate is unloaded) and the free moment about the vertical (N m);
* events (``EVENT`` group) when present.

Everything is rotated into OpenSim's axes: Y up, X the direction of progression, Z to the
runner's right. The vertical comes from the plates' surface normal (or, without plates, from
where pelvis and foot markers are), progression from the belt's motion under the stance foot
(treadmill) or from the body's displacement (overground). What was chosen is written in
``C3DTrial.notes``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..tables import TimeTable
from .opensim_files import MarkerTable, check_marker_units

__all__ = ["C3DEvent", "C3DTrial", "ForcePlate", "read_c3d"]

_LENGTH_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2, "dm": 0.1, "meters": 1.0, "millimeters": 1e-3}
_MOMENT_TO_NM = {"nm": 1.0, "n.m": 1.0, "n*m": 1.0, "nmm": 1e-3, "n.mm": 1e-3, "n*mm": 1e-3}

# Analog labels that are EMG: an explicit "EMG" or a lower-limb / trunk muscle name (long form
# anywhere in the label, short form as a whole token).
_EMG_LONG = (
    "emg",
    "soleus",
    "gastroc",
    "tibialis",
    "tib_ant",
    "peroneus",
    "fibularis",
    "vastus",
    "rectus",
    "biceps",
    "semitend",
    "semimem",
    "glut",
    "hamstring",
    "adductor",
    "sartorius",
    "gracilis",
    "iliopsoas",
    "psoas",
    "erector",
    "oblique",
    "tensor",
)
_EMG_SHORT = {
    "sol",
    "gas",
    "gaslat",
    "gasmed",
    "gl",
    "gm",
    "mg",
    "lg",
    "ta",
    "pl",
    "vl",
    "vm",
    "rf",
    "bf",
    "bflh",
    "st",
    "sm",
    "gmax",
    "gmed",
    "tfl",
    "add",
}

# Marker-name patterns used to find feet and pelvis (vertical sign, foot assignment).
_FOOT_RE = re.compile(r"heel|hee\b|toe|mt[1-5]|meta|calc|foot|ankle|mall", re.IGNORECASE)
_PELVIS_RE = re.compile(r"asis|psis|iliac|sacr|pelv|ilium|crest|\bsac\b", re.IGNORECASE)

_UNLOADED_N = 30.0  # vertical force below which the COP is not defined (noise of a running treadmill)


@dataclass
class ForcePlate:
    """One force platform, processed, in OpenSim's axes (Y up, X forward).

    Attributes
    ----------
    index
        Position in the file's ``FORCE_PLATFORM`` group (0-based).
    plate_type
        ``FORCE_PLATFORM:TYPE`` (2 or 4).
    rate_hz
        Analog sampling rate.
    time_s
        Shape ``(n,)``.
    force_n
        Ground reaction force on the body, shape ``(n, 3)``.
    moment_nm
        Moment of the ground reaction about the lab origin, shape ``(n, 3)``.
    cop_m
        Centre of pressure on the plate surface, shape ``(n, 3)``; NaN while unloaded.
    free_moment_nm
        Torque about the vertical through the COP, shape ``(n, 3)`` (only Y is non-zero);
        zero while unloaded.
    corners_m
        Plate corners, shape ``(4, 3)``.
    loaded
        ``vertical force > threshold``, shape ``(n,)``.
    channels
        The analog labels the plate used.
    """

    index: int
    plate_type: int
    rate_hz: float
    time_s: np.ndarray
    force_n: np.ndarray
    moment_nm: np.ndarray
    cop_m: np.ndarray
    free_moment_nm: np.ndarray
    corners_m: np.ndarray
    loaded: np.ndarray
    channels: list[str] = field(default_factory=list)

    @property
    def centre_m(self) -> np.ndarray:
        return self.corners_m.mean(axis=0)

    def contains(self, points_m: np.ndarray, *, margin_m: float = 0.0) -> np.ndarray:
        """Whether points (``(..., 3)``) lie over the plate's surface (horizontal check)."""
        c = self.corners_m
        u = c[3] - c[2]  # corner 3 -> 4: plate x
        v = c[1] - c[2]  # corner 3 -> 2: plate y
        d = np.asarray(points_m) - c[2]
        su = (d @ u) / (u @ u)
        sv = (d @ v) / (v @ v)
        mu = margin_m / np.linalg.norm(u)
        mv = margin_m / np.linalg.norm(v)
        return (su >= -mu) & (su <= 1 + mu) & (sv >= -mv) & (sv <= 1 + mv)


@dataclass
class C3DEvent:
    """One event of the file's ``EVENT`` group."""

    label: str
    context: str
    time_s: float


@dataclass
class C3DTrial:
    """Everything read from a C3D file, in OpenSim's axes and SI units.

    Attributes
    ----------
    source
        The file.
    markers
        Marker trajectories in metres (NaN in gaps).
    analogs
        All analog channels, scaled, in their own units (``meta['units']`` per label).
    emg
        The EMG channels only (``None`` if there are none).
    plates
        Processed force platforms (empty when the file has none usable).
    events
        Events of the ``EVENT`` group, time-ordered.
    rotation
        ``(3, 3)`` matrix taking lab vectors to OpenSim axes (``v_osim = rotation @ v_lab``).
    notes
        What was detected and chosen (axes, units, sign conventions, gaps, problems).
    belt_speed_m_s
        Treadmill belt speed seen under the stance feet (``None`` when not a treadmill trial).
    """

    source: str
    markers: MarkerTable
    analogs: TimeTable | None
    emg: TimeTable | None
    plates: list[ForcePlate]
    events: list[C3DEvent]
    rotation: np.ndarray
    notes: list[str] = field(default_factory=list)
    belt_speed_m_s: float | None = None


# -- parameter access ----------------------------------------------------------------------------


def _param(params: dict, group: str, name: str, default=None):
    g = params.get(group)
    if not isinstance(g, dict) or name not in g:
        return default
    return g[name].get("value", default)


def _strings(params: dict, group: str, name: str) -> list[str]:
    v = _param(params, group, name, [])
    if isinstance(v, str):
        return [v.strip()]
    return [str(s).strip() for s in list(v)]


def _numbers(params: dict, group: str, name: str) -> np.ndarray:
    v = _param(params, group, name, None)
    if v is None:
        return np.zeros(0)
    return np.asarray(v, dtype=float)


def _numbered(params: dict, group: str, name: str, kind: str) -> list:
    """A parameter that may continue in NAME2, NAME3... (long label lists)."""
    get = _strings if kind == "str" else (lambda p, g, n: list(_numbers(p, g, n).ravel()))
    out = list(get(params, group, name))
    k = 2
    while isinstance(params.get(group), dict) and f"{name}{k}" in params[group]:
        out += list(get(params, group, f"{name}{k}"))
        k += 1
    return out


# -- reading -------------------------------------------------------------------------------------


def read_c3d(path: str | Path, *, unloaded_n: float = _UNLOADED_N) -> C3DTrial:
    """Read a C3D file: markers, analogs, EMG, force plates and events, in OpenSim's axes.

    Parameters
    ----------
    path
        The ``.c3d`` file.
    unloaded_n
        Vertical force (N) below which a plate counts as unloaded: its centre of pressure is
        NaN and its free moment zero there.

    Returns
    -------
    C3DTrial
        Markers in metres, plate forces in N, moments in N m, COP in m; Y up, X forward.
        ``notes`` says which lab axes became vertical and forward and why.

    Raises
    ------
    InputError
        Missing or unreadable file; a marker cloud whose size does not fit its declared
        unit (e.g. a body 2 mm tall); a force plate with a type this reader does not handle.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_dir():
        raise InputError(p, "is a folder, expected a .c3d file")
    try:
        import ezc3d  # noqa: PLC0415 - optional heavy import, only for C3D
    except ImportError:  # pragma: no cover - ezc3d is a dependency
        raise InputError(p, "reading C3D needs the 'ezc3d' package (pip install ezc3d)") from None
    try:
        c = ezc3d.c3d(str(p))
    except Exception as exc:  # ezc3d raises RuntimeError/IOError with terse messages
        raise InputError(p, f"not a readable C3D file ({str(exc).strip() or type(exc).__name__})") from None
    params = c["parameters"]
    notes: list[str] = []

    markers = _read_markers(c, params, p, notes)
    declared = _declared_frames(p, params)
    if declared is not None:
        markers.meta["declared_frames"] = declared
    analogs, analog_units = _read_analogs(c, params, p, markers.time_s[0] if markers.time_s.size else 0.0)
    plates_lab = _read_plates(params, analogs, analog_units, markers, p, notes)
    emg = _select_emg(analogs, analog_units, {ch for pl in plates_lab for ch in pl.channels})
    if emg is not None:
        notes.append(f"EMG channels: {', '.join(emg.labels)}")
    events = _read_events(params)

    rotation, belt = _choose_axes(markers, plates_lab, notes)
    markers.positions_m = markers.positions_m @ rotation.T
    plates = [_finish_plate(pl, rotation, unloaded_n, notes) for pl in plates_lab]
    return C3DTrial(str(p), markers, analogs, emg, plates, events, rotation, notes, belt)


def _declared_frames(p: Path, params: dict) -> int | None:
    """The frame count of the C3D header (first and last frame), read from the file itself.

    ezc3d shortens its own header to the frames it could read, so a truncated file looks
    whole through it; the file's header block keeps the count the writer declared (C3D
    User Guide, Motion Lab Systems 2008, ch. 3: words 4-5 first and last frame). ``None``
    when the header cannot say (a last frame of 65535 means "more than fit in 16 bits").
    """
    try:
        with p.open("rb") as fh:
            head = fh.read(512)
            fh.seek((head[0] - 1) * 512 + 3)
            processor = fh.read(1)
    except (OSError, IndexError):
        return None
    if len(head) < 512 or head[1] != 0x50 or not processor:
        return None
    order = ">" if processor[0] == 86 else "<"  # 84 Intel, 85 DEC: little-endian; 86 MIPS: big
    first, last = struct.unpack(order + "HH", head[6:10])
    if last == 0xFFFF or last < first:
        return None
    return int(last - first + 1)


def _read_markers(c: dict, params: dict, p: Path, notes: list[str]) -> MarkerTable:
    pts = np.asarray(c["data"]["points"], dtype=float)  # (4, n_markers, n_frames)
    names = _numbered(params, "POINT", "LABELS", "str")
    n_markers = pts.shape[1]
    names = (names + [f"marker_{k + 1}" for k in range(len(names), n_markers)])[:n_markers]
    rate_arr = _numbers(params, "POINT", "RATE").ravel()
    rate = float(rate_arr[0]) if rate_arr.size else 0.0
    if not rate > 0:
        rate = float(c["header"]["points"]["frame_rate"])
    units_list = _strings(params, "POINT", "UNITS")
    units = (units_list[0] if units_list else "mm").strip().lower()
    if units not in _LENGTH_TO_M:
        raise InputError(p, f"unknown marker unit POINT:UNITS = '{units}' (expected mm, cm or m)")
    scale = _LENGTH_TO_M[units]
    xyz = np.transpose(pts[:3], (2, 1, 0)).copy()  # (n_frames, n_markers, 3)
    res = c["data"].get("meta_points", {}).get("residuals")
    gap = np.all(xyz == 0.0, axis=2)
    if res is not None:
        gap |= np.asarray(res, dtype=float)[0].T < 0
    xyz[gap] = np.nan
    xyz *= scale
    n_frames = xyz.shape[0]
    first = int(c["header"]["points"].get("first_frame", 0))
    time = (first + np.arange(n_frames)) / rate if rate > 0 else np.arange(n_frames, dtype=float)
    if n_markers and gap.any():
        frac = gap.mean(axis=0)
        worst = int(np.argmax(frac))
        notes.append(
            f"marker gaps: {100 * gap.mean():.1f}% of samples set to NaN (worst '{names[worst]}' "
            f"{100 * frac[worst]:.0f}%)"
        )
    check_marker_units(xyz, units, p)
    notes.append(f"markers: {n_markers} at {rate:g} Hz, POINT:UNITS '{units}' converted to metres")
    return MarkerTable(time, xyz, names, rate, units, {"source": str(p)})


def _read_analogs(c: dict, params: dict, p: Path, t0: float) -> tuple[TimeTable | None, dict[str, str]]:
    an = np.asarray(c["data"]["analogs"], dtype=float)
    if an.size == 0 or an.ndim != 3 or an.shape[1] == 0:
        return None, {}
    data = an[0].T  # (n_samples, n_channels)
    n_ch = data.shape[1]
    labels = _numbered(params, "ANALOG", "LABELS", "str")
    labels = (labels + [f"analog_{k + 1}" for k in range(len(labels), n_ch)])[:n_ch]
    # Make labels unique (some files repeat them).
    seen: dict[str, int] = {}
    for k, lab in enumerate(labels):
        if lab in seen:
            seen[lab] += 1
            labels[k] = f"{lab}_{seen[lab]}"
        else:
            seen[lab] = 0
    units = _numbered(params, "ANALOG", "UNITS", "str")
    units = (units + [""] * n_ch)[:n_ch]
    rate_arr = _numbers(params, "ANALOG", "RATE").ravel()
    rate = float(rate_arr[0]) if rate_arr.size else float(c["header"]["analogs"]["frame_rate"])
    if not rate > 0:
        raise InputError(p, "ANALOG:RATE is missing or zero although the file has analog data")
    time = t0 + np.arange(data.shape[0]) / rate
    unit_map = dict(zip(labels, units, strict=True))
    meta = {"source": str(p), "units": unit_map, "rate_hz": rate}
    return TimeTable(time, data, labels, None, meta), unit_map


def _select_emg(analogs: TimeTable | None, units: dict[str, str], exclude: set[str]) -> TimeTable | None:
    """The analog channels that are EMG (never a force plate's channels)."""
    if analogs is None:
        return None
    keep = []
    for lab in analogs.labels:
        if lab in exclude:
            continue
        low = lab.lower()
        tokens = set(re.split(r"[^a-z0-9]+", low)) - {""}
        tokens |= {t.rstrip("0123456789") for t in tokens}
        tokens |= {t[1:] for t in tokens if t[:1] in "rl" and len(t) > 2}  # RTA, LSOL...
        tokens |= {t[:-1] for t in tokens if t[-1:] in "rl" and len(t) > 2}
        if any(k in low for k in _EMG_LONG) or tokens & _EMG_SHORT:
            keep.append(lab)
    if not keep:
        return None
    t = analogs.select(keep)
    t.meta = dict(t.meta, units={k: units.get(k, "") for k in keep})
    return t


def _read_events(params: dict) -> list[C3DEvent]:
    used = _numbers(params, "EVENT", "USED").ravel()
    n = int(used[0]) if used.size else 0
    if n <= 0:
        return []
    labels = (_strings(params, "EVENT", "LABELS") + [""] * n)[:n]
    contexts = (_strings(params, "EVENT", "CONTEXTS") + [""] * n)[:n]
    times = _numbers(params, "EVENT", "TIMES")
    two_rows = times.ndim == 2 and times.shape[0] == 2
    t = times[0, :n] * 60.0 + times[1, :n] if two_rows else times.ravel()[:n]  # minutes, seconds
    ev = [C3DEvent(labels[k], contexts[k], float(t[k])) for k in range(min(n, t.size))]
    return sorted(ev, key=lambda e: e.time_s)


# -- force plates (lab frame first) ------------------------------------------------------------


@dataclass
class _LabPlate:
    index: int
    plate_type: int
    rate_hz: float
    time_s: np.ndarray
    axes: np.ndarray  # (3, 3): columns = plate x, y, z axes in the lab
    origin_lab_m: np.ndarray  # transducer origin in the lab
    surface_z_m: float  # surface plane, plate z coordinate (plate frame)
    f_plate: np.ndarray  # (n, 3) plate frame, as measured
    m_plate: np.ndarray  # (n, 3) about the transducer origin, plate frame, N m
    corners_m: np.ndarray  # (4, 3) lab
    channels: list[str]
    sign: float = 1.0


def _read_plates(
    params: dict,
    analogs: TimeTable | None,
    units: dict[str, str],
    markers: MarkerTable,
    p: Path,
    notes: list[str],
) -> list[_LabPlate]:
    used = _numbers(params, "FORCE_PLATFORM", "USED").ravel()
    n_plates = int(used[0]) if used.size else 0
    if n_plates <= 0:
        notes.append("no force plates in this file (FORCE_PLATFORM:USED is 0 or missing)")
        return []
    if analogs is None:
        notes.append(f"FORCE_PLATFORM lists {n_plates} plate(s) but the file has no analog data: no forces")
        return []
    length = _LENGTH_TO_M[markers.source_units]
    types = _numbers(params, "FORCE_PLATFORM", "TYPE").ravel().astype(int)
    channel = _numbers(params, "FORCE_PLATFORM", "CHANNEL")
    corners = _numbers(params, "FORCE_PLATFORM", "CORNERS")
    origin = _numbers(params, "FORCE_PLATFORM", "ORIGIN")
    cal = _numbers(params, "FORCE_PLATFORM", "CAL_MATRIX")
    store = (_strings(params, "FORCE_PLATFORM", "MATRIX_STORE") or ["BYCOLUMN"])[0].upper()
    zero = _numbers(params, "FORCE_PLATFORM", "ZERO").ravel().astype(int)
    data = analogs.data
    ratio = max(1, round(analogs.meta["rate_hz"] / markers.rate_hz)) if markers.rate_hz > 0 else 1
    out = []
    for k in range(n_plates):
        if k >= types.size:
            raise InputError(p, f"FORCE_PLATFORM:TYPE has no entry for plate {k + 1}")
        ptype = int(types[k])
        if ptype not in (2, 4):
            raise InputError(
                p, f"force plate {k + 1} is of TYPE {ptype}; only TYPE 2 and 4 (six channels) are supported"
            )
        ch = channel.reshape(channel.shape[0], -1, order="F") if channel.ndim == 1 else channel
        idx = ch[:6, k].astype(int) - 1 if ch.ndim == 2 else None
        if idx is None or np.any(idx < 0) or np.any(idx >= data.shape[1]):
            raise InputError(p, f"FORCE_PLATFORM:CHANNEL for plate {k + 1} names channels that do not exist")
        raw = data[:, idx].copy()
        if zero.size >= 2 and zero[0] > 0 and zero[1] >= zero[0]:
            a, b = (zero[0] - 1) * ratio, zero[1] * ratio
            if b <= raw.shape[0]:
                raw -= raw[a:b].mean(axis=0)
                notes.append(f"plate {k + 1}: zeroed on frames {zero[0]}-{zero[1]} (FORCE_PLATFORM:ZERO)")
        if ptype == 4:
            if cal.ndim < 2 or cal.size < 36 * (k + 1):
                raise InputError(p, f"force plate {k + 1} is TYPE 4 but FORCE_PLATFORM:CAL_MATRIX is missing")
            mat = cal.reshape(6, 6, -1, order="F")[:, :, k] if cal.ndim != 3 else cal[:, :, k]
            if store == "BYROW":
                mat = mat.T
            raw = raw @ mat.T
        lab_units = [units.get(analogs.labels[i], "") for i in idx]
        m_unit = lab_units[3].replace(" ", "").lower() or "nmm"
        if m_unit not in _MOMENT_TO_NM:
            raise InputError(p, f"plate {k + 1}: unknown moment unit '{lab_units[3]}' (expected Nmm or Nm)")
        f_plate = raw[:, :3]
        m_plate = raw[:, 3:] * _MOMENT_TO_NM[m_unit]
        cn = corners.reshape(3, 4, -1, order="F")[:, :, k] if corners.ndim != 3 else corners[:, :, k]
        cn = cn.T * length  # (4, 3) lab
        ax_x = cn[0] - cn[1]
        ax_y = cn[0] - cn[3]
        ax_z = np.cross(ax_x, ax_y)
        ax_y = np.cross(ax_z, ax_x)
        axes = np.column_stack([v / np.linalg.norm(v) for v in (ax_x, ax_y, ax_z)])
        org = (origin.reshape(3, -1, order="F")[:, k] if origin.ndim == 1 else origin[:, k]) * length
        if org[2] > 0:
            # The C3D guide defines ORIGIN as the vector from the transducer's origin to the centre
            # of the working surface, in plate axes (z down): its z is negative. Some writers store
            # the opposite vector; flip it, as ezc3d and Motion Analysis readers do.
            org = -org
            notes.append(f"plate {k + 1}: ORIGIN had z > 0; read as the opposite vector")
        centre = cn.mean(axis=0)
        origin_lab = centre - axes @ org
        out.append(
            _LabPlate(
                k,
                ptype,
                float(analogs.meta["rate_hz"]),
                analogs.time_s,
                axes,
                origin_lab,
                float(org[2]),
                f_plate,
                m_plate,
                cn,
                [analogs.labels[i] for i in idx],
            )
        )
    return out


def _finish_plate(pl: _LabPlate, rotation: np.ndarray, unloaded_n: float, notes: list[str]) -> ForcePlate:
    """COP, free moment and moment about the lab origin; rotate into OpenSim axes."""
    f = pl.f_plate * pl.sign
    m = pl.m_plate * pl.sign
    h = pl.surface_z_m
    fx, fy, fz = f.T
    mx, my, mz = m.T
    rot = rotation @ pl.axes  # plate axes -> OpenSim axes
    force = f @ rot.T
    loaded = force[:, 1] > unloaded_n
    # Moment about the transducer origin of a force F at P = (px, py, h) plus a torque (0, 0, tz):
    # mx = py fz - h fy, my = h fx - px fz, mz = px fy - py fx + tz.
    fz_safe = np.where(loaded, fz, 1.0)
    px = np.where(loaded, (h * fx - my) / fz_safe, 0.0)
    py = np.where(loaded, (mx + h * fy) / fz_safe, 0.0)
    tz = np.where(loaded, mz - px * fy + py * fx, 0.0)
    cop_plate = np.column_stack([px, py, np.full_like(px, h)])
    cop = cop_plate @ rot.T + rotation @ pl.origin_lab_m
    cop[~loaded] = np.nan
    free = np.column_stack([np.zeros_like(tz), np.zeros_like(tz), tz]) @ rot.T
    moment = m @ rot.T + np.cross(rotation @ pl.origin_lab_m, force)
    corners = pl.corners_m @ rotation.T
    notes.append(
        f"plate {pl.index + 1}: TYPE {pl.plate_type}, {pl.rate_hz:g} Hz, loaded "
        f"{100 * loaded.mean():.0f}% of samples (vertical force > {unloaded_n:g} N)"
    )
    return ForcePlate(
        pl.index,
        pl.plate_type,
        pl.rate_hz,
        pl.time_s,
        force,
        moment,
        cop,
        free,
        corners,
        loaded,
        pl.channels,
    )


# -- axes ------------------------------------------------------------------------------------------


def _unit_axis(v: np.ndarray, notes: list[str], what: str, snap_deg: float = 15.0) -> np.ndarray:
    """Normalise; snap to the nearest lab axis when within ``snap_deg``."""
    v = v / np.linalg.norm(v)
    k = int(np.argmax(np.abs(v)))
    ang = np.degrees(np.arccos(min(1.0, abs(v[k]))))
    if ang <= snap_deg:
        s = np.zeros(3)
        s[k] = np.sign(v[k])
        return s
    notes.append(f"{what} is {ang:.0f} deg off any lab axis; used as measured")
    return v


def _axis_name(v: np.ndarray) -> str:
    k = int(np.argmax(np.abs(v)))
    if abs(v[k]) > 0.999:
        return ("+" if v[k] > 0 else "-") + "XYZ"[k]
    return "(" + ", ".join(f"{x:.2f}" for x in v) + ")"


def _named_mean(markers: MarkerTable, pattern: re.Pattern[str]) -> np.ndarray | None:
    sel = [i for i, n in enumerate(markers.names) if pattern.search(n)]
    if not sel:
        return None
    pts = markers.positions_m[:, sel, :]
    if not np.isfinite(pts).any():
        return None
    return np.nanmean(pts.reshape(-1, 3), axis=0)


def _choose_axes(
    markers: MarkerTable, plates: list[_LabPlate], notes: list[str]
) -> tuple[np.ndarray, float | None]:
    """Rotation from lab axes to OpenSim axes (rows: X forward, Y up, Z right, in lab coordinates)."""
    pos = markers.positions_m
    have_markers = pos.size and np.isfinite(pos).any()
    centroid = np.nanmean(pos.reshape(-1, 3), axis=0) if have_markers else None
    up = None
    if plates:
        normal = plates[0].axes[:, 2]  # plate z, along the vertical
        if centroid is not None:
            side = float((centroid - plates[0].corners_m.mean(axis=0)) @ normal)
            up = -normal if side < 0 else normal
            how = "normal of force plate 1, pointing to the side the markers are on"
        else:
            up = -normal
            how = "normal of force plate 1 (plate z taken as pointing down, C3D convention)"
    if up is None and have_markers:
        pelvis = _named_mean(markers, _PELVIS_RE)
        foot = _named_mean(markers, _FOOT_RE)
        if pelvis is not None and foot is not None:
            up = pelvis - foot
            how = "from foot markers up to pelvis markers"
    if up is None:
        up = np.array([0.0, 0.0, 1.0])
        how = "assumed lab +Z (no plates, no recognisable foot/pelvis markers)"
    up = _unit_axis(up, notes, "vertical")
    # Sign of the plate signal: the ground pushes the body up, so the reaction's mean is up.
    for pl in plates:
        f_up = (pl.f_plate @ pl.axes.T) @ up
        push = f_up[np.abs(f_up) > 2 * _UNLOADED_N]
        if push.size < 10:
            notes.append(f"plate {pl.index + 1}: never loaded; its sign convention could not be checked")
        elif np.median(push) < 0:
            pl.sign = -1.0
            notes.append(
                f"plate {pl.index + 1}: signals are the force on the plate (median {np.median(push):.0f} N "
                f"along the vertical when loaded); negated to give the ground reaction on the body"
            )
        else:
            notes.append(f"plate {pl.index + 1}: signals are already the ground reaction on the body")
    fwd, how_fwd, belt = _progression(markers, up, plates)
    fwd = fwd - (fwd @ up) * up
    fwd = _unit_axis(fwd, notes, "progression")
    right = np.cross(fwd, up)
    rot = np.vstack([fwd, up, right])
    notes.append(
        f"axes: vertical = lab {_axis_name(up)} ({how}); forward = lab {_axis_name(fwd)} ({how_fwd}); "
        f"OpenSim X,Y,Z = lab {_axis_name(fwd)}, {_axis_name(up)}, {_axis_name(right)}"
    )
    return rot, belt


def _progression(
    markers: MarkerTable, up: np.ndarray, plates: list[_LabPlate]
) -> tuple[np.ndarray, str, float | None]:
    """Direction of progression in the lab, and how it was found."""
    pos = markers.positions_m
    n = pos.shape[0]
    if n >= 10 and np.isfinite(pos).any() and markers.rate_hz > 0:
        dt = 1.0 / markers.rate_hz
        height = pos @ up
        # Overground: the body's centroid moves a long way.
        cen = np.nanmean(pos, axis=1)
        ok = np.isfinite(cen).all(axis=1)
        if ok.sum() > 2:
            first, last = cen[ok][0], cen[ok][-1]
            disp = (last - first) - ((last - first) @ up) * up
            dur = (np.flatnonzero(ok)[-1] - np.flatnonzero(ok)[0]) * dt
            if dur > 0 and np.linalg.norm(disp) / dur > 0.5:
                return disp, f"overground: the body moved {np.linalg.norm(disp):.2f} m", None
        # Treadmill: markers near the floor and nearly still vertically move with the belt.
        floor = np.nanpercentile(height, 1)
        vel = np.gradient(pos, dt, axis=0)
        vz = vel @ up
        low = (height < floor + 0.04) & (np.abs(vz) < 0.1)
        if low.sum() > 20:
            v = vel[low]
            v = v[np.isfinite(v).all(axis=1)]
            vh = v - np.outer(v @ up, up)
            mean_v = np.median(vh, axis=0)
            speed = float(np.linalg.norm(mean_v))
            if speed > 0.3:
                how = f"treadmill: belt moves backwards under the stance foot at {speed:.2f} m/s"
                return -mean_v, how, speed
        # Standing: heel to toe.
        heel = _named_mean(markers, re.compile(r"heel|hee\b|calc", re.IGNORECASE))
        toe = _named_mean(markers, re.compile(r"toe|mt[1-5]|meta", re.IGNORECASE))
        if heel is not None and toe is not None:
            return toe - heel, "heel-to-toe direction of the feet", None
    if plates:
        return plates[0].axes[:, 1], "plate 1's y axis (no movement to tell)", None
    return np.array([1.0, 0.0, 0.0]), "assumed lab +X (no movement to tell)", None
