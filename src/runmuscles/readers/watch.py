"""Readers for GPS-watch activity files: FIT, GPX and TCX.

One entry point, :func:`read_activity`, recognises the format from the file's content (the
FIT header's ``.FIT`` signature, the XML root ``<gpx>`` or ``<TrainingCenterDatabase>``), not
from its extension, and returns an :class:`Activity`: the samples as a
:class:`~runmuscles.tables.TimeTable` (time in seconds from the first sample, SI units with
the unit in each column name), the laps, the timer pauses, the totals the file states, and
the warnings raised while reading. Cleaning (outliers, smoothing, grade, stops) is done by
:func:`runmuscles.analyses.runs.clean_activity`, not here: the reader keeps what the file says.

Columns of ``Activity.records`` (always all present, NaN where the file has no value):

========================== ==========================================================
``lat_deg``, ``lon_deg``   position, degrees (FIT stores semicircles: 2**31 = 180 deg)
``distance_m``             the device's cumulative distance
``speed_m_s``              the device's speed (FIT: ``enhanced_speed`` preferred)
``altitude_m``             altitude (FIT: ``enhanced_altitude`` preferred)
``cadence_spm``            **steps** per minute, both feet. FIT and TCX ``RunCadence``
                           store running cadence as strides per minute of one foot
                           (plus ``fractional_cadence``); it is doubled here.
``heart_rate_bpm``         heart rate
``power_w``                running power (native FIT ``power``, else a developer
                           field named "Power", e.g. Stryd's, else GPX/TCX ``power``)
``vertical_oscillation_m`` FIT running dynamics (mm in the file)
``ground_contact_time_s``  FIT ``stance_time`` (ms in the file)
``step_length_m``          FIT ``step_length`` (mm in the file)
``temperature_c``          device temperature
``segment``                0, 1, 2...: GPX track segments / TCX tracks / FIT stretches
                           between timer pauses and FIT running sessions. Consecutive
                           samples of different segments are separated by a recording
                           gap, across which no distance is counted from positions.
========================== ==========================================================

FIT developer fields are kept by name as extra columns ``dev_<name>`` (their units in
``records.meta["units"]``).

Implausible samples are screened in the file's own order before anything else
(:func:`_screen`): positions off the Earth (the declared ``latitude_deg`` /
``longitude_deg`` limits of :data:`runmuscles.validation.LIMITS`) are cleared, samples
whose time stamps run against the order of the samples (a point an hour out of place) are
dropped, each with a named warning in ``Activity.quality``; a file with no position on the
Earth (and no distance or speed) or whose times mostly run backwards is refused with one
line (:class:`~runmuscles.errors.InputError`).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..quality import QualityWarning
from ..tables import TimeTable
from ..validation import LIMITS

__all__ = [
    "Activity",
    "Lap",
    "Pause",
    "RECORD_COLUMNS",
    "read_activity",
    "read_fit",
    "read_gpx",
    "read_tcx",
]

#: The columns every ``Activity.records`` table has, in this order.
RECORD_COLUMNS: tuple[str, ...] = (
    "lat_deg",
    "lon_deg",
    "distance_m",
    "speed_m_s",
    "altitude_m",
    "cadence_spm",
    "heart_rate_bpm",
    "power_w",
    "vertical_oscillation_m",
    "ground_contact_time_s",
    "step_length_m",
    "temperature_c",
    "segment",
)

_SEMICIRCLE_TO_DEG = 180.0 / 2.0**31
# Sports accepted as running (FIT ``sport`` values, TCX ``Sport`` and GPX ``<type>`` words).
_RUN_WORDS = {"running", "run", "trail_running", "treadmill", "treadmill_running", "street_running"}
_NOT_RUN_HINT = {
    "cycling",
    "biking",
    "ride",
    "bike",
    "swimming",
    "walking",
    "hiking",
    "rowing",
    "cross_country_skiing",
}
#: Largest back step of time between consecutive samples taken as clock jitter (put in order).
_CLOCK_JITTER_S = 2.0
_TIMER_STOPS = {"stop", "stop_all", "stop_disable", "stop_disable_all"}


@dataclass(frozen=True)
class Lap:
    """One lap as the file states it (times relative to ``Activity.start_time``).

    Attributes
    ----------
    start_s
        Lap start, seconds from the activity's first sample.
    elapsed_s
        Wall-clock duration (FIT ``total_elapsed_time``; NaN when not stated).
    timer_s
        Timer duration, pauses excluded (FIT ``total_timer_time``, TCX ``TotalTimeSeconds``).
    distance_m
        Lap distance (FIT ``total_distance``, TCX ``DistanceMeters``).
    ascent_m, descent_m
        Lap elevation gain and loss (FIT only; NaN otherwise).
    """

    start_s: float
    elapsed_s: float
    timer_s: float
    distance_m: float
    ascent_m: float = float("nan")
    descent_m: float = float("nan")


@dataclass(frozen=True)
class Pause:
    """An interval without recording: the timer was stopped, or the track has a gap.

    Attributes
    ----------
    start_s, end_s
        Seconds from the activity's first sample.
    kind
        ``"timer"`` (FIT timer stop/start events), ``"gap"`` (between GPX track
        segments / TCX tracks) or ``"session"`` (between two running sessions of a FIT
        multisport file, where another sport or a transition was left out).
    """

    start_s: float
    end_s: float
    kind: str


@dataclass
class Activity:
    """A recorded run, as read from a watch file.

    Attributes
    ----------
    sport
        ``"running"`` (with the sub-sport after a colon when the file states one, e.g.
        ``"running:treadmill"``) or ``"unknown"`` when the file does not say.
    source
        The file path.
    start_time
        UTC time of the first sample (``records.time_s == 0``).
    records
        The samples; see the module docstring for the columns.
    laps
        Laps as stated by the file.
    pauses
        Timer pauses and recording gaps.
    session_totals
        What the file states: ``distance_m``, ``duration_s`` (timer time),
        ``elapsed_s``, ``ascent_m``, ``descent_m`` (NaN when not stated).
    device
        Device or creator name ("" when unknown).
    warnings
        Problems met while reading that did not stop it (truncation, CRC, dropped samples).
    altitude_source
        ``"barometric"`` (the file declares a barometer), ``"gps"`` or ``"none"``.
    corrections
        Counts of what the reader changed (duplicate timestamps merged, samples without
        time dropped, cadence doubled...).
    quality
        The problems among ``warnings`` that bear on the result, named
        (:class:`~runmuscles.quality.QualityWarning`: a truncated file, other sports left
        out, positions off the Earth or out of time order dropped...).
    """

    sport: str
    source: str
    start_time: datetime
    records: TimeTable
    laps: list[Lap] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    session_totals: dict[str, float] = field(default_factory=dict)
    device: str = ""
    warnings: list[str] = field(default_factory=list)
    altitude_source: str = "none"
    corrections: dict[str, int] = field(default_factory=dict)
    quality: list[QualityWarning] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample."""
        t = self.records.time_s
        return float(t[-1] - t[0]) if t.size else 0.0

    def has(self, column: str) -> bool:
        """Whether ``column`` has at least one finite value."""
        return column in self.records and bool(np.isfinite(self.records.column(column)).any())


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
def read_activity(path: str | Path) -> Activity:
    """Read a FIT, GPX or TCX activity file (format recognised from its content).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    Activity
        Samples, laps, pauses, stated totals and reading warnings.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, not a run (e.g. "not a run (sport:
        cycling)"), no time stamps, or no position, distance or speed data.
    """
    p = _check_path(path)
    with p.open("rb") as fh:
        head = fh.read(4096)
    kind = _sniff(head)
    readers = {"fit": read_fit, "gpx": read_gpx, "tcx": read_tcx}
    if kind not in readers:
        raise InputError(p, "is not a FIT, GPX or TCX activity file")
    activity = readers[kind](p)
    named = p.suffix.lower().lstrip(".")
    if named and named != kind:  # read by its content, and said
        activity.quality.append(
            QualityWarning(
                "extension_mismatch",
                f"{p.name}: named .{named} but its content is {kind.upper()}; read as {kind.upper()}",
                affects=("distance", "load"),
            )
        )
    return activity


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_dir():
        raise InputError(p, "is a folder, expected an activity file")
    return p


def _sniff(head: bytes) -> str:
    if len(head) >= 12 and head[8:12] == b".FIT":
        return "fit"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    # skip the XML declaration, comments and processing instructions before the root
    root = re.search(r"<\s*([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]", re.sub(r"<[?!][^>]*>", "", text))
    if root is None:
        return ""
    name = root.group(2).lower()
    if name == "gpx":
        return "gpx"
    if name == "trainingcenterdatabase":
        return "tcx"
    return ""


# --------------------------------------------------------------------------------------------
# assembling
# --------------------------------------------------------------------------------------------
def _assemble(
    path: Path,
    epoch_s: np.ndarray,
    values: dict[str, np.ndarray],
    extra: dict[str, np.ndarray],
    units: dict[str, str],
    corrections: dict[str, int],
    notes: list[str],
) -> tuple[datetime, TimeTable, float]:
    """Sort by time, merge duplicate times, build the table; returns start and t0 (epoch s)."""
    if epoch_s.size == 0:
        raise InputError(path, "has no samples with a time stamp (a run needs time)")
    order = np.argsort(epoch_s, kind="stable")
    epoch_s = epoch_s[order]
    cols = list(RECORD_COLUMNS) + sorted(extra)
    data = np.full((epoch_s.size, len(cols)), np.nan)
    for j, name in enumerate(cols):
        src = values.get(name) if name in values else extra.get(name)
        if src is not None:
            data[:, j] = src[order]
    if np.any(np.diff(epoch_s) < 0):  # pragma: no cover - argsort guarantees this
        raise AssertionError
    dup = np.flatnonzero(np.diff(epoch_s) == 0)
    if dup.size:
        # keep one row per time: later rows fill in what earlier ones lack
        keep = np.ones(epoch_s.size, dtype=bool)
        for i in dup[::-1]:
            later, earlier = data[i + 1], data[i]
            merged = np.where(np.isfinite(later), later, earlier)
            data[i] = merged
            keep[i + 1] = False
        epoch_s, data = epoch_s[keep], data[keep]
        corrections["duplicate_timestamps_merged"] = int(dup.size)
        notes.append(f"{dup.size} sample(s) with a repeated time stamp merged")
    t0 = float(epoch_s[0])
    start = datetime.fromtimestamp(t0, tz=UTC)
    table = TimeTable(epoch_s - t0, data, cols, meta={"source": str(path), "units": units})
    has_pos = np.isfinite(table.column("lat_deg")).any() and np.isfinite(table.column("lon_deg")).any()
    has_dist = np.isfinite(table.column("distance_m")).any()
    has_speed = np.isfinite(table.column("speed_m_s")).any()
    if not (has_pos or has_dist or has_speed):
        raise InputError(path, "no GPS or distance data (no positions, distance or speed samples)")
    return start, table, t0


def _screen(
    path: Path,
    epoch_s: np.ndarray,
    values: dict[str, np.ndarray],
    group: np.ndarray | None,
    notes: list[str],
    quality: list[QualityWarning],
    corrections: dict[str, int],
) -> np.ndarray:
    """Implausible samples, in the file's own order: which to keep (a mask), with warnings.

    * Positions off the Earth (``latitude_deg`` / ``longitude_deg`` of
      :data:`runmuscles.validation.LIMITS`) are cleared; the rest of the sample is kept.
      When no position is left and the file has no distance or speed, the file is refused.
    * Time stamps out of the order of the samples: a device writes its samples as it
      records them, so within each track (``group``) time must not run backwards. The
      samples on the longest stretch of non-decreasing times are kept and the others (a
      point an hour out of place) are dropped. When that would drop more than half of the
      samples (times reversed against the positions, or shuffled), the file is refused.
    """
    n = epoch_s.size
    keep = np.isfinite(epoch_s)
    lat, lon = values.get("lat_deg"), values.get("lon_deg")
    if lat is not None and lon is not None and n:
        has = np.isfinite(lat) | np.isfinite(lon)
        with np.errstate(invalid="ignore"):
            off = has & ((np.abs(lat) > 90.0) | (np.abs(lon) > 180.0) | ~np.isfinite(lat) | ~np.isfinite(lon))
        if off.any():
            k = int(np.flatnonzero(off)[0])
            why = LIMITS["latitude_deg"].problem(lat[k]) or LIMITS["longitude_deg"].problem(lon[k])
            what = f"{int(off.sum())} of {int(has.sum())} position(s) are not on the Earth (first: {why})"
            lat[off] = np.nan
            lon[off] = np.nan
            others = [values.get(c) for c in ("distance_m", "speed_m_s")]
            if off.sum() == has.sum() and not any(v is not None and np.isfinite(v).any() for v in others):
                raise InputError(path, what)
            corrections["positions_off_earth_cleared"] = int(off.sum())
            notes.append(f"{what}; those positions were dropped")
            quality.append(
                QualityWarning(
                    "gps_positions_off_earth",
                    f"{path}: {what}; those positions were dropped",
                    invalidates=bool(off.sum() > 0.5 * has.sum()),
                    affects=("distance", "speed", "grade"),
                )
            )
    grp = np.zeros(n) if group is None else group
    ordered = np.zeros(n, dtype=bool)
    for g in np.unique(grp[keep]):
        idx = np.flatnonzero(keep & (grp == g))
        x = epoch_s[idx]
        kept = _longest_non_decreasing(x)
        ordered[idx[kept]] = True
        # a back step of a second or two is the device's clock jitter (python-fitparse's
        # Fenix 2 multisport file has two of 1 s): such samples are put in order, not dropped
        late = np.setdiff1d(np.arange(x.size), kept)
        if late.size:
            pos = np.searchsorted(kept, late)
            before = x[kept[np.maximum(pos - 1, 0)]] - _CLOCK_JITTER_S
            after = x[kept[np.minimum(pos, kept.size - 1)]] + _CLOCK_JITTER_S
            lower = np.where(pos > 0, before, -np.inf)
            upper = np.where(pos < kept.size, after, np.inf)
            ordered[idx[late[(x[late] >= lower) & (x[late] <= upper)]]] = True
    late = keep & ~ordered
    if late.any():
        n_t = int(keep.sum())
        k = int(np.flatnonzero(late)[0])
        what = (
            f"{int(late.sum())} of {n_t} sample(s) have time stamps out of the order of the samples "
            f"(first: sample {k + 1} at {datetime.fromtimestamp(epoch_s[k], tz=UTC):%Y-%m-%d %H:%M:%S})"
        )
        if late.sum() > 0.5 * n_t:
            raise InputError(path, f"{what}: the times run against the positions (reversed or shuffled)")
        corrections["samples_out_of_time_order_dropped"] = int(late.sum())
        notes.append(f"{what}; dropped")
        quality.append(
            QualityWarning(
                "time_out_of_order",
                f"{path}: {what}; dropped",
                invalidates=bool(late.sum() > 0.1 * n_t),
                affects=("distance", "speed", "time"),
            )
        )
        keep &= ~late
    return keep


def _longest_non_decreasing(x: np.ndarray) -> np.ndarray:
    """Indices of one longest non-decreasing subsequence of ``x`` (patience sorting)."""
    import bisect

    tails: list[float] = []
    tail_idx: list[int] = []
    prev = np.full(x.size, -1)
    for i, v in enumerate(x.tolist()):
        j = bisect.bisect_right(tails, v)
        if j == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[j] = v
            tail_idx[j] = i
        prev[i] = tail_idx[j - 1] if j > 0 else -1
    out = []
    k = tail_idx[-1] if tail_idx else -1
    while k >= 0:
        out.append(k)
        k = int(prev[k])
    return np.asarray(out[::-1], dtype=int)


def _default_units() -> dict[str, str]:
    return {
        "lat_deg": "deg",
        "lon_deg": "deg",
        "distance_m": "m",
        "speed_m_s": "m/s",
        "altitude_m": "m",
        "cadence_spm": "steps/min",
        "heart_rate_bpm": "1/min",
        "power_w": "W",
        "vertical_oscillation_m": "m",
        "ground_contact_time_s": "s",
        "step_length_m": "m",
        "temperature_c": "degC",
        "segment": "",
    }


def _empty_totals() -> dict[str, float]:
    nan = float("nan")
    return {"distance_m": nan, "duration_s": nan, "elapsed_s": nan, "ascent_m": nan, "descent_m": nan}


def _classify_sport(words: list[str]) -> tuple[str | None, str | None]:
    """(running sport or None, first non-running sport named or None)."""
    run, other = None, None
    for w in words:
        key = w.strip().lower().replace(" ", "_")
        if not key:
            continue
        if key in _RUN_WORDS or key.startswith("run"):
            run = run or "running"
        elif other is None and (key in _NOT_RUN_HINT or key not in {"generic", "other", "all"}):
            other = key
    return run, other


# --------------------------------------------------------------------------------------------
# FIT
# --------------------------------------------------------------------------------------------
def read_fit(path: str | Path) -> Activity:
    """Read a FIT activity file with :mod:`fitdecode`.

    Only the running sessions are kept (sport ``running``, any sub-sport: treadmill, trail,
    street...); records outside them are dropped. A session spans from its start to its end
    stamp (:func:`_fit_session_of`); each running session is its own segment, with a
    ``"session"`` pause between two of them, and ``session_totals`` sum the running
    sessions' stated totals. A truncated file yields the records read
    before the break, with a warning; a CRC mismatch is a warning, the data are kept.

    Parameters
    ----------
    path
        A ``.fit`` file.

    Returns
    -------
    Activity
        See :func:`read_activity`. Cadence is converted from the file's strides per minute
        of one foot (``cadence`` + ``fractional_cadence``) to steps per minute (x 2).

    Raises
    ------
    InputError
        Not a FIT file, nothing readable, not a run ("not a run (sport: cycling)"), no
        position, distance or speed data.
    """
    import fitdecode

    p = _check_path(path)
    notes: list[str] = []
    quality: list[QualityWarning] = []
    corrections: dict[str, int] = {}
    recs: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    laps: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    sport_msgs: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    file_id: dict[str, Any] = {}
    dev_units: dict[str, str] = {}
    bins = {"session": sessions, "lap": laps, "event": events, "sport": sport_msgs, "device_info": devices}
    n_frames = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fitdecode.FitReader(
                str(p),
                check_crc=fitdecode.CrcCheck.WARN,
                error_handling=fitdecode.ErrorHandling.WARN,
            ) as reader:
                for frame in reader:
                    if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                        continue
                    n_frames += 1
                    name = frame.name
                    if name == "record":
                        recs.append(_fit_record(frame, dev_units))
                    elif name == "file_id":
                        file_id = {f.name: f.value for f in frame.fields if f.value is not None}
                    elif name in bins:
                        bins[name].append({f.name: f.value for f in frame.fields if f.value is not None})
        except fitdecode.FitHeaderError as exc:
            if n_frames == 0:
                raise InputError(p, f"is not a readable FIT file ({exc})") from None
            notes.append(f"FIT header problem after {len(recs)} records: {exc}")
        except (fitdecode.FitEOFError, fitdecode.FitParseError, fitdecode.FitCRCError) as exc:
            if not recs:
                raise InputError(p, f"is truncated or corrupt and has no readable records ({exc})") from None
            notes.append(f"file is truncated or corrupt ({exc}); kept the {len(recs)} records read before")
            quality.append(
                QualityWarning(
                    "file_truncated",
                    f"{p}: the file is truncated or corrupt; the {len(recs)} records before the break "
                    "are the run",
                    affects=("distance", "time", "load"),
                )
            )
            corrections["truncated"] = 1
    for w in caught:
        msg = str(w.message)
        if "crc" in msg.lower():
            notes.append(f"CRC mismatch ({msg.strip()}); data kept")
            quality.append(
                QualityWarning("file_crc_mismatch", f"{p}: CRC mismatch ({msg.strip()}); data kept")
            )
            corrections["crc_mismatch"] = corrections.get("crc_mismatch", 0) + 1
        else:
            notes.append(f"fitdecode: {msg.strip()}")
    if not recs:
        raise InputError(p, "has no record messages (no samples)")

    # -- sport and session windows ------------------------------------------------------
    epoch = np.array([r["timestamp"].timestamp() if r.get("timestamp") is not None else np.nan for r in recs])
    no_time = ~np.isfinite(epoch)
    if no_time.any():
        corrections["records_without_time_dropped"] = int(no_time.sum())
        notes.append(f"{int(no_time.sum())} record(s) without a time stamp dropped")
    keep = ~no_time
    run_sessions: list[dict[str, Any]] = []
    session_of = np.full(epoch.size, -1)  # index into ``sessions`` of each record, -1: none
    sport_name = "unknown"
    if sessions:
        others = [s for s in sessions if str(s.get("sport", "generic")) != "running"]
        run_sessions = [s for s in sessions if str(s.get("sport", "generic")) == "running"]
        if not run_sessions:
            raise InputError(p, f"not a run (sport: {others[0].get('sport', 'unknown')})")
        if others:
            notes.append(f"multi-sport file: kept {len(run_sessions)} running session(s) of {len(sessions)}")
            quality.append(
                QualityWarning(
                    "other_sports_left_out",
                    f"{p}: multi-sport file: {len(run_sessions)} running session(s) of {len(sessions)} kept "
                    f"(left out: {', '.join(sorted({str(s.get('sport', 'generic')) for s in others}))})",
                    affects=("distance", "time"),
                )
            )
        subs = {str(s.get("sub_sport")) for s in run_sessions if s.get("sub_sport") not in (None, "generic")}
        sport_name = "running" + (":" + ",".join(sorted(subs)) if subs else "")
        session_of = _fit_session_of(sessions, epoch)
        is_run_session = np.array([str(s.get("sport", "generic")) == "running" for s in sessions])
        in_run = (session_of >= 0) & is_run_session[np.maximum(session_of, 0)]
        outside = keep & ~in_run
        if outside.any():
            corrections["records_outside_running_sessions"] = int(outside.sum())
        keep &= in_run
    else:
        stated = [str(m.get("sport")) for m in sport_msgs + laps if m.get("sport") is not None]
        run, other = _classify_sport(stated)
        if run:
            sport_name = "running"
        elif other:
            raise InputError(p, f"not a run (sport: {other})")
        else:
            notes.append("the file does not state its sport (no session message); treated as a run")
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise InputError(p, "has no records inside its running session(s)")
    # the running sessions' spans of kept records, in time order
    run_windows = sorted(
        (float(epoch[idx][session_of[idx] == k].min()), float(epoch[idx][session_of[idx] == k].max()))
        for k in set(session_of[idx].tolist())
        if k >= 0
    )

    values = {name: np.full(idx.size, np.nan) for name in RECORD_COLUMNS}
    extra: dict[str, np.ndarray] = {}
    units = _default_units()
    for k, i in enumerate(idx):
        r = recs[i]
        for name, v in r.items():
            if name == "timestamp":
                continue
            if name.startswith("dev_"):
                if name not in extra:
                    extra[name] = np.full(idx.size, np.nan)
                    units[name] = dev_units.get(name, "")
                extra[name][k] = v
            else:
                values[name][k] = v
    values["segment"][:] = 0.0
    if not np.isfinite(values["power_w"]).any():
        for name in extra:
            if name in ("dev_power", "dev_power_w") and np.isfinite(extra[name]).any():
                values["power_w"] = extra[name].copy()
                notes.append(f"power taken from the developer field '{name[4:]}'")
                break
    if np.isfinite(values["cadence_spm"]).any():
        corrections["cadence_doubled_from_strides_per_min"] = int(np.isfinite(values["cadence_spm"]).sum())

    ok = _screen(p, epoch[idx], values, None, notes, quality, corrections)
    values = {k: v[ok] for k, v in values.items()}
    extra = {k: v[ok] for k, v in extra.items()}
    start, table, t0 = _assemble(p, epoch[idx][ok], values, extra, units, corrections, notes)

    # -- laps, pauses, totals -----------------------------------------------------------
    def rel(dt: Any) -> float:
        return float(dt.timestamp() - t0) if dt is not None else float("nan")

    def in_windows(dt: Any) -> bool:
        if not sessions or dt is None:
            return True
        # a lap starts with (or inside) its session: placed half a second in
        k = int(_fit_session_of(sessions, np.array([dt.timestamp() + 0.5]))[0])
        return k >= 0 and str(sessions[k].get("sport", "generic")) == "running"

    lap_list = [
        Lap(
            start_s=rel(lap.get("start_time")),
            elapsed_s=_f(lap.get("total_elapsed_time")),
            timer_s=_f(lap.get("total_timer_time")),
            distance_m=_f(lap.get("total_distance")),
            ascent_m=_f(lap.get("total_ascent")),
            descent_m=_f(lap.get("total_descent")),
        )
        for lap in laps
        if in_windows(lap.get("start_time"))
    ]
    pauses = _fit_pauses(events, t0, float(table.time_s[-1]))
    # a new segment after each timer pause and at each running session's start (the other
    # sports between them are left out): no distance is counted across either
    ends = np.array([pz.end_s for pz in pauses])
    after_pause = np.searchsorted(ends, table.time_s + 1e-9, side="right")
    starts = np.array([a - t0 for a, _ in run_windows[1:]])
    in_session = np.searchsorted(starts, table.time_s + 1e-9, side="right")
    change = (np.diff(after_pause) != 0) | (np.diff(in_session) != 0)
    table.data[:, table.index("segment")] = np.concatenate([[0], np.cumsum(change)])
    t_rec = table.time_s
    for k in np.flatnonzero(np.diff(in_session) != 0).tolist():
        if not any(pz.start_s <= t_rec[k] + 1.0 and pz.end_s >= t_rec[k + 1] - 1.0 for pz in pauses):
            pauses.append(Pause(float(t_rec[k]), float(t_rec[k + 1]), "session"))
    pauses.sort(key=lambda pz: pz.start_s)
    totals = _empty_totals()
    if run_sessions:
        for key, fld in (
            ("distance_m", "total_distance"),
            ("duration_s", "total_timer_time"),
            ("elapsed_s", "total_elapsed_time"),
            ("ascent_m", "total_ascent"),
            ("descent_m", "total_descent"),
        ):
            vals = [_f(s.get(fld)) for s in run_sessions]
            totals[key] = float(np.sum(vals)) if all(np.isfinite(vals)) else float("nan")
    elif lap_list:
        totals["distance_m"] = float(np.nansum([lap.distance_m for lap in lap_list]))
        totals["duration_s"] = float(np.nansum([lap.timer_s for lap in lap_list]))

    device = " ".join(
        str(file_id.get(k))
        for k in ("manufacturer", "garmin_product", "product")
        if file_id.get(k) is not None
    )
    baro = any(str(d.get("local_device_type", "")) == "barometer" for d in devices)
    has_alt = bool(np.isfinite(table.column("altitude_m")).any())
    alt_src = "none" if not has_alt else ("barometric" if baro else "gps")
    return Activity(
        sport=sport_name,
        source=str(p),
        start_time=start,
        records=table,
        laps=lap_list,
        pauses=pauses,
        session_totals=totals,
        device=device,
        warnings=notes,
        altitude_source=alt_src,
        corrections=corrections,
        quality=quality,
    )


def _fit_session_of(sessions: list[dict[str, Any]], epoch: np.ndarray) -> np.ndarray:
    """Index into ``sessions`` of the session each time (epoch s) falls in; -1 for none.

    A session spans from its ``start_time`` to its message's ``timestamp`` (the session's
    end; ``start_time + total_elapsed_time`` when the end is missing). The end stamp is
    trusted over the elapsed time: some multisport files (python-fitparse's Fenix 2
    triathlon, ``activity-large-fenxi2-multisport.fit``) state a first session's
    ``start_time`` 45 min late with its full elapsed time, and start + elapsed then runs
    over the next (running) session. Where spans still overlap, the later-starting session
    wins (a session starts when the one before has ended). Times up to 1 s outside every
    span go to the nearest session (an end stamp may fall just before the last record).
    """
    spans: list[tuple[float, float, int]] = []
    for k, s in enumerate(sessions):
        st, end = s.get("start_time"), s.get("timestamp")
        el = _f(s.get("total_elapsed_time"))
        a = st.timestamp() if st is not None else math.nan
        b = end.timestamp() if end is not None else math.nan
        if not math.isfinite(a) and math.isfinite(b) and math.isfinite(el):
            a = b - el
        if math.isfinite(a) and not (math.isfinite(b) and b >= a):
            b = a + el if math.isfinite(el) else a
        if math.isfinite(a) and math.isfinite(b):
            spans.append((a, b, k))
    spans.sort()
    out = np.full(epoch.size, -1)
    with np.errstate(invalid="ignore"):
        for slack in (1.0, 0.0):  # the 1 s of slack first, then the exact spans over it
            for a, b, k in spans:
                out[(epoch >= a - slack) & (epoch <= b + slack)] = k
    return out


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "field"


def _fit_record(frame: Any, dev_units: dict[str, str]) -> dict[str, Any]:
    """One FIT ``record`` message to SI values keyed by our column names."""
    raw: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for fd in frame.fields:
        v = fd.value
        if v is None:
            continue
        if getattr(fd.field_def, "is_dev", False):
            name = "dev_" + _snake(str(fd.name))
            if isinstance(v, int | float):
                out[name] = float(v)
                dev_units[name] = str(fd.units or "")
            continue
        raw[fd.name] = v
    out["timestamp"] = raw.get("timestamp")
    if "position_lat" in raw and "position_long" in raw:
        out["lat_deg"] = raw["position_lat"] * _SEMICIRCLE_TO_DEG
        out["lon_deg"] = raw["position_long"] * _SEMICIRCLE_TO_DEG
    if "distance" in raw:
        out["distance_m"] = float(raw["distance"])
    spd = raw.get("enhanced_speed", raw.get("speed"))
    if spd is not None:
        out["speed_m_s"] = float(spd)
    alt = raw.get("enhanced_altitude", raw.get("altitude"))
    if alt is not None:
        out["altitude_m"] = float(alt)
    if "cadence" in raw:
        # FIT running cadence: strides per minute of one foot (+ fractional part): x 2 = steps/min
        out["cadence_spm"] = 2.0 * (float(raw["cadence"]) + float(raw.get("fractional_cadence") or 0.0))
    if "heart_rate" in raw:
        out["heart_rate_bpm"] = float(raw["heart_rate"])
    if "power" in raw:
        out["power_w"] = float(raw["power"])
    if "vertical_oscillation" in raw:
        out["vertical_oscillation_m"] = float(raw["vertical_oscillation"]) * 1e-3
    if "stance_time" in raw:
        out["ground_contact_time_s"] = float(raw["stance_time"]) * 1e-3
    if "step_length" in raw:
        out["step_length_m"] = float(raw["step_length"]) * 1e-3
    if "temperature" in raw:
        out["temperature_c"] = float(raw["temperature"])
    return out


def _fit_pauses(events: list[dict[str, Any]], t0: float, t_last: float) -> list[Pause]:
    """Timer stop -> start intervals (a final stop without a restart is the end, not a pause)."""
    pauses: list[Pause] = []
    stopped_at: float | None = None
    timed = [e for e in events if str(e.get("event")) == "timer" and e.get("timestamp") is not None]
    timed.sort(key=lambda e: e["timestamp"])
    for e in timed:
        t = e["timestamp"].timestamp() - t0
        kind = str(e.get("event_type"))
        if kind in _TIMER_STOPS and stopped_at is None:
            stopped_at = t
        elif kind == "start" and stopped_at is not None:
            if t > stopped_at and stopped_at < t_last:
                pauses.append(Pause(float(stopped_at), float(t), "timer"))
            stopped_at = None
    return pauses


# --------------------------------------------------------------------------------------------
# GPX
# --------------------------------------------------------------------------------------------
def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def read_gpx(path: str | Path) -> Activity:
    """Read a GPX 1.0/1.1 track with :mod:`gpxpy`.

    All tracks and segments with time stamps are read, in time order; each segment gets its
    own ``segment`` number, and the interval between segments becomes a ``"gap"`` pause.
    Tracks without any time (saved tracks, routes) are skipped with a warning. Garmin
    ``TrackPointExtension`` children (``hr``, ``cad``, ``speed``, ``power``, any namespace
    prefix) are read. GPX ``cad`` for running is in strides per minute of one foot in the
    files Garmin and Strava export: values whose moving median is below 130 are doubled to
    steps per minute (with a warning); higher values are taken as steps per minute already.

    Parameters
    ----------
    path
        A ``.gpx`` file.

    Returns
    -------
    Activity
        See :func:`read_activity`; ``session_totals`` are NaN (GPX states none).

    Raises
    ------
    InputError
        Not parseable, no time stamps ("a run needs time"), a non-running ``<type>``.
    """
    import gpxpy
    import gpxpy.gpx

    p = _check_path(path)
    notes: list[str] = []
    quality: list[QualityWarning] = []
    corrections: dict[str, int] = {}
    try:
        gpx = gpxpy.parse(p.read_text(encoding="utf-8", errors="replace"))
    except gpxpy.gpx.GPXException as exc:
        root = _recover_truncated_xml(p, "trkpt", ("lat", "lon"))
        if root is None:
            raise InputError(p, f"is not a valid GPX file ({exc})") from None
        from lxml import etree

        try:
            gpx = gpxpy.parse(etree.tostring(root, encoding="unicode"))
        except gpxpy.gpx.GPXException:
            raise InputError(p, f"is not a valid GPX file ({exc})") from None
        _note_truncated_xml(p, exc, notes, quality, corrections)
    types = [t.type for t in gpx.tracks if t.type]
    run, other = _classify_sport(types)
    if not run and other and other in _NOT_RUN_HINT:
        raise InputError(p, f"not a run (sport: {other})")
    sport = "running" if run else "unknown"
    if not run:
        notes.append("the file does not state a running sport; treated as a run")

    cols: dict[str, list[float]] = {k: [] for k in ("lat_deg", "lon_deg", "altitude_m", "heart_rate_bpm")}
    cols.update({"cad_raw": [], "speed_m_s": [], "power_w": [], "segment": []})
    epoch: list[float] = []
    segments = []
    n_untimed_pts = 0
    for ti, trk in enumerate(gpx.tracks):
        for seg in trk.segments:
            timed = [pt for pt in seg.points if pt.time is not None]
            n_untimed_pts += len(seg.points) - len(timed)
            if timed:
                segments.append((timed[0].time.timestamp(), timed))
            elif seg.points:
                notes.append(
                    f"track {ti + 1} ('{trk.name or ''}') has {len(seg.points)} points without time: skipped"
                )
    if not segments:
        raise InputError(p, "has no time stamps: a run needs time (is this a route or a saved track?)")
    if n_untimed_pts:
        corrections["points_without_time_dropped"] = n_untimed_pts
    segments.sort(key=lambda s: s[0])
    for si, (_, pts) in enumerate(segments):
        for pt in pts:
            epoch.append(pt.time.timestamp())
            cols["lat_deg"].append(float(pt.latitude))
            cols["lon_deg"].append(float(pt.longitude))
            cols["altitude_m"].append(float(pt.elevation) if pt.elevation is not None else math.nan)
            hr = cad = spd = pw = math.nan
            for ext in pt.extensions or []:
                for el in ext.iter():
                    name = _local(el.tag)
                    txt = (el.text or "").strip()
                    if not txt:
                        continue
                    val = _f(txt)
                    if name in ("hr", "heartrate"):
                        hr = val
                    elif name in ("cad", "cadence", "runcadence"):
                        cad = val
                    elif name == "speed":
                        spd = val
                    elif name in ("power", "watts"):
                        pw = val
            if getattr(pt, "speed", None) is not None and not np.isfinite(spd):
                spd = float(pt.speed)
            cols["heart_rate_bpm"].append(hr)
            cols["cad_raw"].append(cad)
            cols["speed_m_s"].append(spd)
            cols["power_w"].append(pw)
            cols["segment"].append(float(si))
    values = {k: np.asarray(v, dtype=float) for k, v in cols.items() if k != "cad_raw"}
    values["cadence_spm"] = _cadence_to_spm(np.asarray(cols["cad_raw"], dtype=float), notes, corrections)
    epoch_arr = np.asarray(epoch, dtype=float)
    ok = _screen(p, epoch_arr, values, values["segment"], notes, quality, corrections)
    values = {k: v[ok] for k, v in values.items()}
    start, table, t0 = _assemble(p, epoch_arr[ok], values, {}, _default_units(), corrections, notes)
    pauses = _segment_gaps(table)
    has_alt = bool(np.isfinite(table.column("altitude_m")).any())
    return Activity(
        sport=sport,
        source=str(p),
        start_time=start,
        records=table,
        laps=[],
        pauses=pauses,
        session_totals=_empty_totals(),
        device=str(gpx.creator or ""),
        warnings=notes,
        altitude_source="gps" if has_alt else "none",
        corrections=corrections,
        quality=quality,
    )


def _recover_truncated_xml(path: Path, point_tag: str, required: tuple[str, ...]) -> Any:
    """The part of a cut XML file before the cut (lxml's recovering parser), or ``None``.

    Only a file that is well-formed up to a point and then ends is recovered: one whose
    text does not close its root element. The last point element (where the cut fell) and
    any missing one of the ``required`` attributes or its time are removed.
    """
    from lxml import etree

    raw = path.read_bytes()
    tail = raw.rstrip()[-64:].decode("utf-8", errors="replace")
    if re.search(r"</\s*[\w:]*(gpx|TrainingCenterDatabase)\s*>$", tail):
        return None  # the file is complete: its damage is not a cut
    try:
        root = etree.fromstring(raw, etree.XMLParser(recover=True, resolve_entities=False, huge_tree=True))
    except etree.XMLSyntaxError:
        return None
    if root is None:
        return None
    points = list(root.iter(f"{{*}}{point_tag}"))
    for k, el in enumerate(points):
        has_time = any(_local(c.tag) == "time" and (c.text or "").strip() for c in el)
        # the last point is where the cut fell: whatever it holds may be cut short
        if k == len(points) - 1 or any(el.get(a) is None for a in required) or not has_time:
            el.getparent().remove(el)
    return root


def _note_truncated_xml(
    path: Path, exc: Exception, notes: list[str], quality: list[QualityWarning], corrections: dict[str, int]
) -> None:
    msg = " ".join(str(exc).split())
    notes.append(f"file is cut short ({msg}); kept the points before the cut")
    corrections["truncated"] = 1
    quality.append(
        QualityWarning(
            "file_truncated",
            f"{path}: the file is cut short ({msg}); the points before the cut are the run",
            affects=("distance", "time", "load"),
        )
    )


def _cadence_to_spm(cad: np.ndarray, notes: list[str], corrections: dict[str, int]) -> np.ndarray:
    """Double per-foot running cadence (median of non-zero values below 130/min) to steps/min.

    Running is 150-200 steps/min, i.e. 75-100 strides/min of one foot; walking is 100-130
    steps/min. A median below 130 over the moving samples is therefore a per-foot value.
    """
    moving = cad[np.isfinite(cad) & (cad > 0)]
    if moving.size == 0:
        return cad
    if float(np.median(moving)) < 130.0:
        notes.append("cadence given per foot (strides/min): doubled to steps/min")
        corrections["cadence_doubled_from_strides_per_min"] = int(np.isfinite(cad).sum())
        return 2.0 * cad
    return cad


def _segment_gaps(table: TimeTable) -> list[Pause]:
    seg = table.column("segment")
    t = table.time_s
    change = np.flatnonzero(np.diff(seg) != 0)
    return [Pause(float(t[i]), float(t[i + 1]), "gap") for i in change if t[i + 1] > t[i]]


# --------------------------------------------------------------------------------------------
# TCX
# --------------------------------------------------------------------------------------------
def _parse_time(text: str | None) -> float:
    if not text:
        return math.nan
    s = text.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return math.nan
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def read_tcx(path: str | Path) -> Activity:
    """Read a Garmin Training Center (TCX) file with :mod:`lxml`.

    Running activities (``<Activity Sport="Running">``) are kept; laps give ``StartTime``,
    ``TotalTimeSeconds`` and ``DistanceMeters``; trackpoints give ``Time``, ``Position``,
    ``AltitudeMeters``, ``DistanceMeters``, ``HeartRateBpm``, ``Cadence`` and the
    ActivityExtension ``TPX`` ``Speed`` and ``RunCadence`` (strides per minute of one foot,
    doubled to steps/min). Each ``<Track>`` is a segment: Garmin starts a new one after a
    timer pause, so the interval between tracks is a ``"gap"`` pause.

    Parameters
    ----------
    path
        A ``.tcx`` file.

    Returns
    -------
    Activity
        See :func:`read_activity`; ``session_totals`` sum the laps (distance, timer time).

    Raises
    ------
    InputError
        Not parseable, no activity, not a run ("not a run (sport: biking)"), no times.
    """
    from lxml import etree

    p = _check_path(path)
    notes: list[str] = []
    quality: list[QualityWarning] = []
    corrections: dict[str, int] = {}
    try:
        root = etree.parse(str(p), etree.XMLParser(resolve_entities=False, huge_tree=True)).getroot()
    except (etree.XMLSyntaxError, OSError) as exc:
        recovered = _recover_truncated_xml(p, "Trackpoint", ())
        if recovered is None or not recovered.findall(".//{*}Trackpoint"):
            raise InputError(p, f"is not valid XML ({exc})") from None
        root = recovered
        _note_truncated_xml(p, exc, notes, quality, corrections)
    acts = root.findall(".//{*}Activities/{*}Activity")
    if not acts:
        raise InputError(p, "has no <Activity> (a course or workout file, not a recorded activity)")
    sports = [str(a.get("Sport", "")) for a in acts]
    run_acts = [a for a, s in zip(acts, sports, strict=True) if s.lower().startswith("run")]
    if not run_acts:
        unknown = [a for a, s in zip(acts, sports, strict=True) if s.lower() in ("other", "")]
        if unknown and len(unknown) == len(acts):
            run_acts = unknown
            notes.append("the file does not state a running sport (Sport='Other'); treated as a run")
        else:
            raise InputError(p, f"not a run (sport: {next(s for s in sports if s).lower()})")
    sport = "running" if run_acts[0].get("Sport", "").lower().startswith("run") else "unknown"
    if len(run_acts) < len(acts):
        notes.append(f"multi-sport file: kept {len(run_acts)} running activity(ies) of {len(acts)}")
        quality.append(
            QualityWarning(
                "other_sports_left_out",
                f"{p}: multi-sport file: {len(run_acts)} running activity(ies) of {len(acts)} kept",
                affects=("distance", "time"),
            )
        )

    names = ("lat_deg", "lon_deg", "distance_m", "speed_m_s", "altitude_m", "heart_rate_bpm", "power_w")
    cols: dict[str, list[float]] = {k: [] for k in names}
    cad_plain: list[float] = []
    cad_run: list[float] = []
    seg: list[float] = []
    epoch: list[float] = []
    lap_raw: list[tuple[float, float, float]] = []
    n_no_time = 0
    si = -1

    def num(el: Any, tag: str) -> float:
        found = el.find(tag)
        return _f(found.text) if found is not None and found.text else math.nan

    for act in run_acts:
        if si >= 0:
            si += 1  # each activity is its own segment: its DistanceMeters start from zero
        for lap in act.findall("{*}Lap"):
            si = max(si, 0)
            lap_raw.append(
                (
                    _parse_time(lap.get("StartTime")),
                    num(lap, "{*}TotalTimeSeconds"),
                    num(lap, "{*}DistanceMeters"),
                )
            )
            for k_trk, trk in enumerate(lap.findall("{*}Track")):
                # a lap's first track continues the previous one; a further track in the
                # same lap follows a timer pause (Garmin starts a new <Track> on resume)
                if k_trk > 0:
                    si += 1
                for tp in trk.findall("{*}Trackpoint"):
                    t = _parse_time(tp.findtext("{*}Time"))
                    if not np.isfinite(t):
                        n_no_time += 1
                        continue
                    epoch.append(t)
                    seg.append(float(si))
                    pos = tp.find("{*}Position")
                    cols["lat_deg"].append(num(pos, "{*}LatitudeDegrees") if pos is not None else math.nan)
                    cols["lon_deg"].append(num(pos, "{*}LongitudeDegrees") if pos is not None else math.nan)
                    cols["altitude_m"].append(num(tp, "{*}AltitudeMeters"))
                    cols["distance_m"].append(num(tp, "{*}DistanceMeters"))
                    hr = tp.find("{*}HeartRateBpm")
                    cols["heart_rate_bpm"].append(num(hr, "{*}Value") if hr is not None else math.nan)
                    cad_plain.append(num(tp, "{*}Cadence"))
                    spd = rc = pw = math.nan
                    ext = tp.find("{*}Extensions")
                    if ext is not None:
                        for el in ext.iter():
                            name = _local(el.tag)
                            if name == "speed":
                                spd = _f(el.text)
                            elif name == "runcadence":
                                rc = _f(el.text)
                            elif name in ("watts", "power"):
                                pw = _f(el.text)
                    cols["speed_m_s"].append(spd)
                    cols["power_w"].append(pw)
                    cad_run.append(rc)
    if not epoch:
        raise InputError(p, "has no trackpoints with a time: a run needs time")
    if n_no_time:
        corrections["points_without_time_dropped"] = n_no_time
    values = {k: np.asarray(v, dtype=float) for k, v in cols.items()}
    run_c = np.asarray(cad_run, dtype=float)
    plain_c = np.asarray(cad_plain, dtype=float)
    if np.isfinite(run_c).any():
        # RunCadence: strides/min of one foot (Garmin ActivityExtension v2) -> steps/min
        values["cadence_spm"] = 2.0 * run_c
        corrections["cadence_doubled_from_strides_per_min"] = int(np.isfinite(run_c).sum())
    else:
        values["cadence_spm"] = _cadence_to_spm(plain_c, notes, corrections)
    values["segment"] = np.asarray(seg, dtype=float)
    epoch_arr = np.asarray(epoch, dtype=float)
    ok = _screen(p, epoch_arr, values, values["segment"], notes, quality, corrections)
    values = {k: v[ok] for k, v in values.items()}
    start, table, t0 = _assemble(p, epoch_arr[ok], values, {}, _default_units(), corrections, notes)
    laps = [Lap(start_s=s - t0, elapsed_s=math.nan, timer_s=d, distance_m=x) for s, d, x in lap_raw]
    totals = _empty_totals()
    if laps:
        totals["distance_m"] = float(np.nansum([lap.distance_m for lap in laps]))
        totals["duration_s"] = float(np.nansum([lap.timer_s for lap in laps]))
    creator = root.find(".//{*}Activity/{*}Creator/{*}Name")
    has_alt = bool(np.isfinite(table.column("altitude_m")).any())
    return Activity(
        sport=sport,
        source=str(p),
        start_time=start,
        records=table,
        laps=laps,
        pauses=_segment_gaps(table),
        session_totals=totals,
        device=(creator.text or "").strip() if creator is not None else "",
        warnings=notes,
        altitude_source="gps" if has_alt else "none",
        corrections=corrections,
        quality=quality,
    )
