"""Readers and writers for OpenSim's text formats, without OpenSim.

* ``.mot`` / ``.sto`` tables (OpenSim "Storage" files, including the older SIMM header with
  ``datacolumns``/``range`` and no ``inDegrees`` line),
* ``.trc`` marker files (any length unit; returned in metres),
* ExternalLoads ``.xml`` files with the force table they name.

Values are parsed with NumPy only, so reading a 2 kHz force file takes milliseconds.
Every problem (missing file, truncated row, NaN, missing column) raises
:class:`~runmuscles.errors.InputError` naming the file.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..plausibility import check_time_column
from ..tables import TimeTable
from ..validation import LIMITS

__all__ = [
    "ExternalForceSpec",
    "ExternalLoads",
    "MarkerTable",
    "read_external_loads",
    "read_storage",
    "check_marker_units",
    "read_trc",
    "write_storage",
    "write_trc",
]

_LENGTH_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2, "dm": 0.1, "meters": 1.0, "millimeters": 1e-3}


def _read_text(path: str | Path) -> str:
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_dir():
        raise InputError(p, "is a folder, expected a file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror})") from None
    if b"\x00" in raw[:4096]:
        raise InputError(p, "is not a text file (binary content)")
    return raw.decode("utf-8", errors="replace")


def _parse_numbers(body: str, n_columns: int, path: Path, first_line: int) -> np.ndarray:
    """Parse whitespace-separated numbers into ``(rows, n_columns)``; check every row."""
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if not lines:
        raise InputError(path, "has a header but no data rows")
    tokens = body.split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        for k, ln in enumerate(lines):
            try:
                np.array(ln.split(), dtype=np.float64)
            except ValueError:
                bad = next(t for t in ln.split() if not _is_number(t))
                raise InputError(
                    path, f"data row {k + 1} (line {first_line + k}) has a non-numeric value '{bad}'"
                ) from None
        raise
    if values.size % n_columns or len(lines) * n_columns != values.size:
        for k, ln in enumerate(lines):
            n = len(ln.split())
            if n != n_columns:
                raise InputError(
                    path,
                    f"data row {k + 1} (line {first_line + k}) has {n} values, expected "
                    f"{n_columns} (truncated or malformed file)",
                )
    return values.reshape(-1, n_columns)


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def read_storage(path: str | Path) -> TimeTable:
    """Read an OpenSim ``.mot``/``.sto`` table.

    Parameters
    ----------
    path
        The file. Both the OpenSim 4 header (``key=value`` lines, ``endheader``) and the
        older SIMM header (``datacolumns``, ``datarows``, ``range``) are accepted.

    Returns
    -------
    TimeTable
        ``in_degrees`` is ``True``/``False`` as the header's ``inDegrees`` line says, and
        ``None`` when there is no such line (OpenSim then treats angles as degrees).
        ``meta`` holds the header keys and the ``source`` path.
    """
    p = Path(path)
    text = _read_text(p)
    lines = text.splitlines()
    header: dict[str, str] = {}
    end = None
    for i, line in enumerate(lines):
        s = line.strip()
        if s.lower() == "endheader":
            end = i
            break
        if "=" in s:
            k, v = s.split("=", 1)
            header[k.strip()] = v.strip()
        elif i == 0:
            header["name"] = s
        else:
            parts = s.split(None, 1)
            if len(parts) == 2:
                header.setdefault(parts[0], parts[1])
    if end is None:
        raise InputError(p, "unreadable header: no 'endheader' line (not an OpenSim .mot/.sto file)")
    # The column labels are on the first non-empty line after endheader.
    k = end + 1
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k >= len(lines):
        raise InputError(p, "has a header but no column labels or data")
    labels = lines[k].split("\t") if "\t" in lines[k] else lines[k].split()
    labels = [lab.strip() for lab in labels if lab.strip()]
    if not labels or labels[0].lower() not in ("time", "times", "frame", "frames"):
        raise InputError(
            p, f"unreadable header: first column is '{labels[0] if labels else ''}', expected 'time'"
        )
    body = "\n".join(lines[k + 1 :])
    values = _parse_numbers(body, len(labels), p, k + 2)
    time = values[:, 0]
    check_time_column(time, p)
    deg = header.get("inDegrees")
    in_degrees = None if deg is None else deg.strip().lower() in ("yes", "true", "1")
    meta = {
        "source": str(p),
        "header": header,
        "name": header.get("name", p.stem),
        **_declared_length(header),
    }
    return TimeTable(time, values[:, 1:], labels[1:], in_degrees, meta)


def _declared_length(header: dict[str, str]) -> dict:
    """Frame count and end time a .mot/.sto header declares (``nRows``/``datarows``, ``range``)."""
    out: dict = {}
    for key in ("nRows", "datarows"):
        try:
            out["declared_frames"] = int(float(header[key]))
            break
        except (KeyError, ValueError):
            continue
    with contextlib.suppress(KeyError, ValueError, IndexError):
        out["declared_end_s"] = float(header["range"].split()[1])
    return out


def write_storage(
    path: str | Path,
    table: TimeTable,
    *,
    name: str | None = None,
    in_degrees: bool = False,
    extra_header: dict[str, str] | None = None,
) -> Path:
    """Write a table in OpenSim's ``.sto`` format (readable by OpenSim and its GUI).

    Parameters
    ----------
    path
        Destination file.
    table
        What to write; the first column written is ``time``.
    name
        First header line (defaults to the file stem).
    in_degrees
        Value of the ``inDegrees`` header line.
    extra_header
        More ``key=value`` header lines (units, provenance).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    head = [
        name or p.stem,
        "version=1",
        f"nRows={table.n_frames}",
        f"nColumns={len(table.labels) + 1}",
        f"inDegrees={'yes' if in_degrees else 'no'}",
    ]
    for k, v in (extra_header or {}).items():
        head.append(f"{k}={v}")
    head.append("endheader")
    head.append("\t".join(["time", *table.labels]))
    block = np.column_stack([table.time_s, table.data])
    with p.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(head) + "\n")
        np.savetxt(fh, block, fmt="%.10g", delimiter="\t")
    return p


@dataclass
class MarkerTable:
    """Marker trajectories in metres.

    Attributes
    ----------
    time_s
        Shape ``(n_frames,)``.
    positions_m
        Shape ``(n_frames, n_markers, 3)``; NaN where a marker was not seen.
    names
        Marker names.
    rate_hz
        The file's data rate.
    source_units
        The length unit the file declared (``mm``, ``m``...).
    meta
        Header keys and the ``source`` path.
    """

    time_s: np.ndarray
    positions_m: np.ndarray
    names: list[str]
    rate_hz: float
    source_units: str
    meta: dict = field(default_factory=dict)

    def marker(self, name: str) -> np.ndarray:
        try:
            return self.positions_m[:, self.names.index(name), :]
        except ValueError:
            raise InputError(self.meta.get("source"), f"marker '{name}' is missing") from None


def read_trc(path: str | Path) -> MarkerTable:
    """Read a ``.trc`` marker file; positions are converted to metres.

    Missing samples (empty fields) become NaN. The unit comes from the header's ``Units``
    field; an unknown unit is an error, not a guess.
    """
    p = Path(path)
    text = _read_text(p)
    lines = text.splitlines()
    if len(lines) < 6 or not lines[0].startswith("PathFileType"):
        raise InputError(
            p, "unreadable header: not a .trc file (first line should start with 'PathFileType')"
        )
    keys = lines[1].split("\t")
    vals = lines[2].split("\t")
    hdr = {k.strip(): v.strip() for k, v in zip(keys, vals, strict=False)}
    units = hdr.get("Units", "").strip().lower()
    if units not in _LENGTH_TO_M:
        raise InputError(p, f"unknown length unit '{hdr.get('Units', '')}' in the header (expected mm or m)")
    try:
        rate = float(hdr.get("DataRate", "nan"))
        n_markers_hdr = int(float(hdr.get("NumMarkers", "-1")))
    except ValueError:
        raise InputError(p, "unreadable header: DataRate/NumMarkers are not numbers") from None
    name_fields = lines[3].split("\t")
    names = [n.strip() for n in name_fields[2:] if n.strip()]
    if n_markers_hdr >= 0 and len(names) != n_markers_hdr:
        raise InputError(p, f"header says {n_markers_hdr} markers but names {len(names)}")
    n_cols = 2 + 3 * len(names)
    rows = []
    body = [(k, ln) for k, ln in enumerate(lines[5:]) if ln.strip()]
    # a file cut inside its last row: that row has fewer fields than the one before it
    cut = (
        not text.endswith("\n")
        and len(body) > 1
        and len(_trc_fields(body[-1][1])) < min(n_cols, len(_trc_fields(body[-2][1])))
    )
    for k, ln in body:
        f = _trc_fields(ln)
        if len(f) < n_cols:
            # Trailing missing markers may be dropped; pad with NaN only if the row is
            # otherwise intact (frame and time present).
            if len(f) < 2:
                raise InputError(p, f"data row at line {k + 6} is truncated")
            f = f + [""] * (n_cols - len(f))
        try:
            rows.append([float(x) if x.strip() else math.nan for x in f[:n_cols]])
        except ValueError:
            raise InputError(p, f"data row at line {k + 6} has a non-numeric value") from None
    if not rows:
        raise InputError(p, "has a header but no data rows")
    arr = np.asarray(rows, dtype=float)
    time = arr[:, 1]
    check_time_column(time, p, what="Time")
    pos = arr[:, 2:].reshape(arr.shape[0], len(names), 3) * _LENGTH_TO_M[units]
    check_marker_units(pos, units, p)
    meta = {"source": str(p), "header": hdr, "last_row_incomplete": cut}
    try:
        meta["declared_frames"] = int(float(hdr["NumFrames"]))
        meta["declared_frames_tolerated"] = LIMITS["declared_frames_missing_fraction"].high
    except (KeyError, ValueError):
        pass
    if math.isfinite(rate) and rate > 0 and time.size > 2:
        # times written rounded (60 Hz as 0.017, 0.033...): the header's rate gives the exact grid
        grid = time[0] + np.arange(time.size) / rate
        off = float(np.max(np.abs(time - grid)))
        if 1e-6 < off < 0.25 / rate:
            time = grid
            meta["time_note"] = f"times rounded in the file (up to {1000 * off:.1f} ms): taken at {rate:g} Hz"
    return MarkerTable(time, pos, names, rate, units, meta)


def _trc_fields(line: str) -> list[str]:
    f = line.rstrip("\r\n").split("\t")
    return f if len(f) >= 2 else line.split()


def check_marker_units(xyz_m: np.ndarray, units: str, path: str | Path) -> None:
    """Refuse a marker cloud whose size cannot be a human body in the declared unit.

    Parameters
    ----------
    xyz_m
        Positions in metres as converted from the declared unit, ``(frames, markers, 3)``.
    units
        The unit the file declared (``mm``, ``m``...).
    path
        The file, for the message.

    Raises
    ------
    InputError
        The median extent of the markers over the frames is below 0.1 m or above 5 m.
    """
    if xyz_m.ndim != 3 or xyz_m.shape[1] < 3:
        return
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
        ext = np.nanmax(xyz_m, axis=1) - np.nanmin(xyz_m, axis=1)  # (n_frames, 3)
        size = np.nanmax(ext, axis=1)
    if not np.isfinite(size).any():
        return
    size_m = float(np.nanmedian(size))
    per_unit = _LENGTH_TO_M.get(units.lower(), 1.0)
    if size_m < 0.1:
        raise InputError(
            path,
            f"markers span only {size_m / per_unit:.3g} {units} although the file says '{units}': "
            f"a body this small is impossible; the file's unit is wrong (values are probably in metres)",
        )
    if size_m > 5.0:
        raise InputError(
            path,
            f"markers span {size_m / per_unit:.3g} {units} ({size_m:.3g} m) although the file says "
            f"'{units}': a body this large is impossible; the file's unit is wrong (values are "
            f"probably in millimetres)",
        )


def write_trc(path: str | Path, markers: MarkerTable, *, names: list[str] | None = None) -> Path:
    """Write markers as an OpenSim ``.trc`` file (metres, tab-separated, gaps left empty).

    Parameters
    ----------
    path
        Destination file.
    markers
        The trajectories (metres).
    names
        Marker names to write in the header instead of ``markers.names`` (same order).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    names = list(markers.names if names is None else names)
    if len(names) != markers.positions_m.shape[1]:
        raise InputError(p, f"{len(names)} names for {markers.positions_m.shape[1]} markers")
    n = markers.time_s.size
    rate = markers.rate_hz if markers.rate_hz > 0 else (n - 1) / float(markers.time_s[-1] - markers.time_s[0])
    head = [
        f"PathFileType\t4\t(X/Y/Z)\t{p.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:g}\t{rate:g}\t{n}\t{len(names)}\tm\t{rate:g}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{nm}\t\t" for nm in names),
        "\t\t" + "\t".join(f"X{k + 1}\tY{k + 1}\tZ{k + 1}" for k in range(len(names))),
    ]
    xyz = markers.positions_m.reshape(n, -1)
    row_fmt = "\t".join(["%.6f"] * xyz.shape[1])  # one format per row (a gap: the field left empty)
    finite = np.isfinite(xyz)
    with p.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(head) + "\n")
        for i in range(n):
            if finite[i].all():
                vals = row_fmt % tuple(xyz[i])
            else:
                vals = "\t".join(f"{v:.6f}" if math.isfinite(v) else "" for v in xyz[i])
            fh.write(f"{i + 1}\t{markers.time_s[i]:.10g}\t{vals}\n")
    return p


@dataclass
class ExternalForceSpec:
    """One ``ExternalForce`` of an ExternalLoads file."""

    name: str
    applied_to_body: str
    force_expressed_in_body: str
    point_expressed_in_body: str
    force_columns: list[str]
    point_columns: list[str] | None
    torque_columns: list[str] | None


@dataclass
class ExternalLoads:
    """Ground reaction forces (or other external loads) and the bodies they act on.

    Attributes
    ----------
    forces
        One spec per ``ExternalForce``.
    data
        The force table the file names (N, m, N m as recorded).
    source
        The ``.xml`` path (or the force file when built from a bare ``.mot``).
    lowpass_cutoff_hz
        The file's ``lowpass_cutoff_frequency_for_load_kinematics`` (negative: none).
    """

    forces: list[ExternalForceSpec]
    data: TimeTable
    source: str
    lowpass_cutoff_hz: float = -1.0

    def force_on(self, body: str) -> list[ExternalForceSpec]:
        return [f for f in self.forces if f.applied_to_body == body]


def _identifier_columns(table: TimeTable, ident: str | None, what: str, xml: Path) -> list[str] | None:
    if ident is None or not ident.strip():
        return None
    ident = ident.strip()
    for suffix in (("x", "y", "z"), ("1", "2", "3"), ("X", "Y", "Z")):
        cols = [ident + s for s in suffix]
        if all(c in table for c in cols):
            return cols
    raise InputError(
        table.source,
        f"{what} columns '{ident}x/y/z' named in {xml.name} are missing from the force file",
    )


def _unique_name(name: str, used: set[str]) -> str:
    """OpenSim's names for repeated (or unnamed) forces: ``x``, then ``x_0``, ``x_1``..."""
    out, n = name, 0
    while out in used:
        out = f"{name}_{n}"
        n += 1
    used.add(out)
    return out


def read_external_loads(path: str | Path, *, data_file: str | Path | None = None) -> ExternalLoads:
    """Read an OpenSim ExternalLoads ``.xml`` file and the force table it names.

    Parameters
    ----------
    path
        The ``.xml`` file.
    data_file
        Use this force file instead of the ``<datafile>`` named inside (relative paths in
        the XML are resolved against the XML's folder, as OpenSim does).
    """
    p = Path(path)
    text = _read_text(p)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(p, f"is not valid XML ({exc})") from None
    el = root.find(".//ExternalLoads")
    if el is None:
        el = root if root.tag == "ExternalLoads" else None
    if el is None:
        raise InputError(p, "has no <ExternalLoads> element")
    if data_file is None:
        df = (el.findtext("datafile") or "").strip()
        if not df:
            raise InputError(p, "names no <datafile> with the forces")
        data_path = Path(df) if Path(df).is_absolute() else p.parent / df
    else:
        data_path = Path(data_file)
    table = read_storage(data_path)
    specs = []
    used: set[str] = set()
    for k, ef in enumerate(el.iter("ExternalForce")):
        body = (ef.findtext("applied_to_body") or "").strip()
        if not body:
            raise InputError(p, f"ExternalForce {k + 1} has no <applied_to_body>")
        specs.append(
            ExternalForceSpec(
                name=_unique_name(ef.get("name") or "externalforce", used),
                applied_to_body=body,
                force_expressed_in_body=(ef.findtext("force_expressed_in_body") or "ground").strip(),
                point_expressed_in_body=(ef.findtext("point_expressed_in_body") or "ground").strip(),
                force_columns=_identifier_columns(table, ef.findtext("force_identifier"), "force", p) or [],
                point_columns=_identifier_columns(table, ef.findtext("point_identifier"), "point", p),
                torque_columns=_identifier_columns(table, ef.findtext("torque_identifier"), "torque", p),
            )
        )
        if not specs[-1].force_columns:
            raise InputError(p, f"ExternalForce '{specs[-1].name}' has no <force_identifier>")
    if not specs:
        raise InputError(p, "contains no <ExternalForce>")
    cutoff = float((el.findtext("lowpass_cutoff_frequency_for_load_kinematics") or "-1").strip() or -1)
    used = [c for s in specs for c in s.force_columns + (s.point_columns or []) + (s.torque_columns or [])]
    sub = table.columns(used)
    if not np.all(np.isfinite(sub)):
        r, c = np.argwhere(~np.isfinite(sub))[0]
        raise InputError(
            data_path, f"NaN or infinite value in column '{used[c]}' at t = {table.time_s[r]:g} s"
        )
    return ExternalLoads(specs, table, str(p), cutoff)
