"""Reading EMG recordings: C3D analog channels, CSV tables, OpenSim ``.sto``/``.mot``.

Every reader returns a :class:`~runmuscles.tables.TimeTable` of the EMG channels with
``meta["rate_hz"]`` (the sample rate the times were checked against) and
``meta["rate_source"]`` (where that rate came from). The one time rule,
:func:`check_emg_rate`: when a file has both a time column and a stated rate (its header's,
or the one the user gave), the two must agree within :data:`EMG_RATE_TOLERANCE`, else the
file is refused (a time column written for another rate misplaces every later sample: at
4 % off, a sample 5 s into the file lies 0.2 s, a whole stance, from where it was recorded).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..tables import TimeTable
from ..validation import check

__all__ = ["EMG_RATE_TOLERANCE", "check_emg_rate", "read_emg", "time_column_rate_hz"]

#: Largest relative difference between a time column's sample rate and the stated rate.
#: Recording clocks agree far better than this (crystal oscillators drift by parts per
#: million), so 1 % only passes rounding of the time column and refuses a wrong rate.
EMG_RATE_TOLERANCE = 0.01

# Header keys that state a sample rate in OpenSim storage files and lab exports.
_RATE_KEYS = ("datarate", "rate", "samplerate", "sample_rate", "samplingrate", "frequency", "fs", "rate_hz")


def time_column_rate_hz(time_s: np.ndarray, where: str | Path) -> float:
    """Sample rate of a time column (Hz): samples per second over its whole span.

    Raises :class:`InputError` when the column is too short, not increasing, or not
    evenly sampled (a step more than 50 % off the median step: dropped or repeated samples).
    """
    t = np.asarray(time_s, dtype=float)
    if t.size < 3:
        raise InputError(where, f"has {t.size} samples: too few for EMG")
    if not np.all(np.isfinite(t)):
        raise InputError(where, "the time column has NaN or infinite values")
    dt = np.diff(t)
    if np.any(dt <= 0):
        k = int(np.argmax(dt <= 0)) + 1
        raise InputError(where, f"time is not increasing at sample {k + 1} (t = {t[k]:g} s)")
    med = float(np.median(dt))
    bad = np.abs(dt - med) > 0.5 * med
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(
            where,
            f"the time column is not evenly sampled: step {dt[k]:g} s at t = {t[k]:g} s against a "
            f"typical {med:g} s (dropped or repeated samples)",
        )
    return float((t.size - 1) / (t[-1] - t[0]))


def check_emg_rate(
    time_rate_hz: float,
    stated_hz: float,
    stated_source: str,
    where: str | Path,
    *,
    measured: str = "the time column runs at",
    remedy: str = "correct the time column, or remove it (times are then sample / rate from 0 s)",
) -> None:
    """Refuse a time column (or a file's own rate) that differs from the stated one by more than 1 %."""
    diff = abs(time_rate_hz - stated_hz) / stated_hz
    if diff > EMG_RATE_TOLERANCE:
        raise InputError(
            where,
            f"{measured} {time_rate_hz:.6g} Hz but {stated_source} says {stated_hz:.6g} Hz "
            f"({100 * diff:.1f} % apart, more than {100 * EMG_RATE_TOLERANCE:g} %): {remedy}",
        )


def _header_rate(header: dict[str, str]) -> float | None:
    for k, v in header.items():
        if k.strip().lower().replace(" ", "") in _RATE_KEYS:
            try:
                rate = float(v.split()[0])
            except (ValueError, IndexError):
                continue
            if rate > 0:
                return rate
    return None


def _read_csv(p: Path) -> tuple[np.ndarray | None, np.ndarray, list[str], dict[str, str]]:
    """``(time or None, data, labels, header)``; ``# key = value`` comment lines are header."""
    header: dict[str, str] = {}
    rows: list[list[str]] = []
    text = p.read_text(encoding="utf-8-sig", errors="replace")
    lines = text.splitlines()
    body = []
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = re.match(r"#\s*([A-Za-z_ ]+?)\s*[=:]\s*(\S.*)$", s)
            if m:
                header[m.group(1)] = m.group(2)
            continue
        body.append(line)
    if not body:
        raise InputError(p, "is empty: no column names and no data")
    # the delimiter is the most frequent of tab, comma, semicolon on the header line (channel
    # names may hold spaces: "R TA"); none of them: one column
    counts = {d: body[0].count(d) for d in ("\t", ",", ";")}
    delim = max(counts, key=counts.get) if max(counts.values()) else ","
    rows = list(csv.reader(body, delimiter=delim))
    labels = [c.strip() for c in rows[0]]
    while labels and not labels[-1]:
        labels.pop()
    if not labels:
        raise InputError(p, "has no column names on its first line")
    n = len(labels)
    data = np.full((len(rows) - 1, n), np.nan)
    for i, r in enumerate(rows[1:]):
        vals = [c.strip() for c in r][:n]
        if len(vals) < n:
            raise InputError(p, f"line {i + 2} has {len(vals)} values for {n} columns")
        try:
            data[i] = [float(v) if v else np.nan for v in vals]
        except ValueError:
            raise InputError(p, f"line {i + 2} has a value that is not a number") from None
    if data.shape[0] == 0:
        raise InputError(p, "has column names but no data")
    if labels[0].lower() in ("time", "times", "time_s", "t", "time (s)"):
        return data[:, 0], data[:, 1:], labels[1:], header
    return None, data, labels, header


def read_emg(
    path: str | Path, *, rate_hz: float | None = None, analog_channels: list[str] | None = None
) -> TimeTable:
    """Read the EMG channels of a recording.

    Parameters
    ----------
    path
        ``.c3d`` (its EMG analog channels, found by :func:`runmuscles.readers.c3d.read_c3d`),
        ``.csv``/``.txt`` (a header line of channel names; a first column named ``time`` is
        the time in seconds; ``# rate = 1000`` comment lines may state the rate), or an
        OpenSim ``.sto``/``.mot`` (``DataRate=`` in its header states the rate).
    rate_hz
        The sample rate as the user knows it. A file without a time column needs it (its
        times are then sample / rate from 0 s); a file with one is checked against it and
        against its own header's rate (:func:`check_emg_rate`).
    analog_channels
        C3D only: analog channels to read as EMG besides those whose labels name EMG or a
        muscle (e.g. the channels of a map file).

    Returns
    -------
    TimeTable
        Channels in the file's units; ``meta``: ``source``, ``rate_hz``, ``rate_source``.
    """
    p = Path(path)
    check("emg_rate_hz", rate_hz, "--emg-rate")
    if not p.is_file():
        raise InputError(p, "EMG file not found")
    suffix = p.suffix.lower()
    header: dict[str, str] = {}
    if suffix == ".c3d":
        from .c3d import read_c3d  # noqa: PLC0415

        trial = read_c3d(p)
        emg = trial.emg
        extra = [c for c in (analog_channels or ()) if emg is None or c not in emg.labels]
        if extra and trial.analogs is not None:
            # channels the user names (in the map file) are EMG even if their labels do not say so
            absent = [c for c in extra if c not in trial.analogs.labels]
            if absent:
                raise InputError(p, f"has no analog channel(s) {', '.join(absent)}")
            names = (list(emg.labels) if emg is not None else []) + extra
            emg = trial.analogs.select(names)
        if emg is None:
            names = ", ".join(trial.analogs.labels[:12]) if trial.analogs is not None else "none"
            raise InputError(
                p, f"has no EMG analog channels (analog channels: {names}; name them in --emg-map)"
            )
        file_rate = float(emg.meta["rate_hz"])
        if rate_hz is not None:
            check_emg_rate(
                file_rate,
                rate_hz,
                "--emg-rate",
                p,
                measured="the file's ANALOG:RATE is",
                remedy="the C3D file's rate is used for its samples; correct or drop --emg-rate",
            )
        return TimeTable(
            emg.time_s,
            emg.data,
            list(emg.labels),
            None,
            {"source": str(p), "rate_hz": file_rate, "rate_source": "ANALOG:RATE of the C3D file"},
        )
    if suffix in (".sto", ".mot"):
        from .opensim_files import read_storage  # noqa: PLC0415

        table = read_storage(p)
        time, data, labels = table.time_s, table.data, list(table.labels)
        header = dict(table.meta.get("header", {}))
    elif suffix in (".csv", ".txt", ".tsv"):
        time, data, labels, header = _read_csv(p)
    else:
        raise InputError(p, f"unknown EMG file type '{suffix}' (expected .c3d, .csv, .txt, .sto or .mot)")
    if not labels:
        raise InputError(p, "has no EMG channels")
    stated = [(r, s) for r, s in ((_header_rate(header), "its header"), (rate_hz, "--emg-rate")) if r]
    if time is None:
        if rate_hz is None:
            head_rate = _header_rate(header)
            if head_rate is None:
                raise InputError(
                    p, "has no time column and no stated rate: give the sample rate (--emg-rate)"
                )
            rate_hz = head_rate
        time = np.arange(data.shape[0]) / float(rate_hz)
        rate, source = float(rate_hz), stated[-1][1] if stated else "--emg-rate"
    else:
        rate = time_column_rate_hz(time, p)
        for r, s in stated:
            check_emg_rate(rate, float(r), s, p)
        source = "the time column" + (
            f", agreeing with {' and '.join(s for _, s in stated)}" if stated else ""
        )
    check("emg_rate_hz", rate, str(p))
    return TimeTable(np.asarray(time, float), np.asarray(data, float), labels, None,
                     {"source": str(p), "rate_hz": rate, "rate_source": source})  # fmt: skip
