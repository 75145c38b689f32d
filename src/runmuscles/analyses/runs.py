"""Cleaning a recorded run: a labelled 1 Hz table of speed, grade and cadence.

:func:`clean_activity` takes an :class:`~runmuscles.readers.watch.Activity` (any of FIT, GPX,
TCX) and returns a :class:`CleanRun`. What it does, in order (every change is counted in
``CleanRun.corrections``):

1. **GPS outliers** (``gps_points_dropped``): a position that implies a speed above
   ``max_speed_m_s`` (plus ``gps_slack_m`` of position error) from the last accepted one is
   dropped ("teleport"). If ``reanchor_points`` positions in a row are dropped but agree
   with each other, they are accepted (``gps_reanchored``): the runner really is there, and
   the last accepted fix is dropped instead when it was never checked (first of a segment)
   or when the fix before it reaches the new positions directly (a lone bad fix after a
   signal gap). Times of dropped fixes: ``CleanRun.rejected_fix_times_s``.
2. **Distance**: the device's own distance field when the file has one, otherwise the
   haversine sum over accepted positions (not across recording gaps), otherwise the time
   integral of speed. A device distance that restarts from zero at a segment change (each
   session of a FIT multisport file) is continued (``distance_resets_joined``); samples far
   off their neighbours (one absurd value) are replaced by interpolation
   (``distance_spikes``); the rest is made monotonic (``distance_backsteps``). Increments
   faster than ``max_speed_m_s`` are replaced by the neighbouring plausible rate
   (``distance_jumps``).
3. **Resampling** to a uniform grid (``sample_rate_hz``, default 1 Hz) by linear
   interpolation of the cumulative distance and of the other channels.
4. **Speed**: the device's speed when present, else the time derivative of distance;
   samples above ``max_speed_m_s``, or off both neighbours by more than
   ``max_acceleration_m_s2`` allows, are outliers (``speed_outliers``), then a running median
   over ``speed_median_s`` removes spikes (``speed_spikes``: samples more than
   ``speed_spike_m_s`` from the median), then a zero-phase 2nd-order Butterworth low-pass at
   ``speed_cutoff_hz`` smooths what is left. The median keeps real steps (a start, a stop)
   sharp while rejecting single-sample GPS jumps; the low-pass removes the remaining
   sample-to-sample jitter.
5. **Stops**: samples inside timer pauses and recording gaps, and stretches where the
   smoothed speed stays below ``stop_speed_m_s`` for at least ``min_stop_s``, are not moving
   (``stops``, ``stopped_s``, ``timer_pauses``, ``recording_gaps``).
6. **Elevation and grade**: altitude spikes (more than ``altitude_spike_m`` from a running
   median, ``altitude_spikes``) are removed; altitude is then expressed against distance and
   averaged twice over ``grade_window_m`` of distance (a triangular window; 30 m for
   barometric altitude, 100 m for GPS altitude, which is several times noisier), and the
   grade is its slope in percent, clipped to +-``max_grade_pct`` (``grade_clipped``).
   Ascent and descent count altitude changes larger than a hysteresis of 2 m (barometric)
   or 5 m (GPS). A treadmill or indoor run, or one without GPS positions (distance and speed
   from a foot pod or the watch), has no grade in the file: it is taken as level (0 %), its
   ascent and descent are unknown, and a ``grade_unknown_level_assumed`` warning says so.
7. **Gait**: moving samples are "run" when the cadence is at least ``run_cadence_spm``
   (or, without cadence, when the speed is at least ``walk_run_speed_m_s``), else "walk";
   labels are then smoothed by a majority vote over ``min_gait_s``
   (``gait_samples_relabelled``).

The limits of speed and acceleration are the declared ``gps_speed_m_s`` and
``gps_acceleration_m_s2`` (:data:`runmuscles.validation.LIMITS`). What was dropped or
assumed is also named in ``CleanRun.quality`` (:class:`~runmuscles.quality.QualityWarning`).
:func:`reported_distance` chooses the distance to report: the file's recorded total unless it
disagrees with the track.

One hour of 1 Hz data is read and cleaned in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

from ..errors import InputError
from ..kinematics.filters import butterworth_lowpass, filtfilt_odd
from ..quality import QualityWarning
from ..readers.watch import Activity
from ..tables import TimeTable
from ..validation import LIMITS

__all__ = ["CleanRun", "GaitSegment", "RunTotals", "clean_activity", "haversine_m", "reported_distance"]

#: Mean Earth radius (IUGG), m: Moritz H (2000) Geodetic Reference System 1980, J Geodesy 74:128-133.
EARTH_RADIUS_M = 6371008.8
# Preferred walk-to-run transition speed of adults, about 2.0 m/s: Hreljac A (1993) Preferred
# and energetically optimal gait transition speeds in human locomotion. Med Sci Sports Exerc
# 25:1158-1162.
WALK_RUN_SPEED_M_S = 2.0
# Running cadence is rarely below ~150 steps/min and walking rarely above ~130 steps/min
# (Cavanagh PR, Kram R (1989) Med Sci Sports Exerc 21:467-479; Tudor-Locke C et al. (2018)
# Br J Sports Med 52:776-788, walking cadence 100-130 steps/min): 140 separates them.
RUN_CADENCE_SPM = 140.0
#: Fastest plausible speed between GPS points and largest plausible acceleration, from the
#: declared limits (:data:`runmuscles.validation.LIMITS`, ``gps_speed_m_s`` and
#: ``gps_acceleration_m_s2``, with their sources there).
GPS_MAX_SPEED_M_S = float(LIMITS["gps_speed_m_s"].high or 12.5)
GPS_MAX_ACCELERATION_M_S2 = float(LIMITS["gps_acceleration_m_s2"].high or 10.0)

TABLE_COLUMNS: tuple[str, ...] = (
    "distance_m",
    "speed_m_s",
    "grade_pct",
    "altitude_m",
    "cadence_spm",
    "heart_rate_bpm",
    "power_w",
    "moving",
)


@dataclass(frozen=True)
class GaitSegment:
    """A stretch of one gait.

    Attributes
    ----------
    start_s, end_s
        First and last sample time, s.
    gait
        ``"run"``, ``"walk"`` or ``"stop"``.
    distance_m
        Distance covered.
    """

    start_s: float
    end_s: float
    gait: str
    distance_m: float


@dataclass(frozen=True)
class RunTotals:
    """Totals of a cleaned run.

    Attributes
    ----------
    distance_m
        Total distance.
    moving_time_s, elapsed_time_s
        Time moving; time from first to last sample.
    ascent_m, descent_m
        Elevation gain and loss (NaN without altitude).
    mean_speed_m_s
        Distance covered while moving / moving time.
    mean_pace_s_per_km
        ``1000 / mean_speed_m_s``.
    """

    distance_m: float
    moving_time_s: float
    elapsed_time_s: float
    ascent_m: float
    descent_m: float
    mean_speed_m_s: float
    mean_pace_s_per_km: float


@dataclass
class CleanRun:
    """A cleaned run on a uniform time grid.

    Attributes
    ----------
    table
        Time ``time_s`` (s from the first sample) and the columns ``distance_m``,
        ``speed_m_s``, ``grade_pct``, ``altitude_m`` (smoothed), ``cadence_spm``
        (steps/min), ``heart_rate_bpm``, ``power_w``, ``moving`` (1.0 / 0.0).
    moving
        Boolean per sample.
    gait
        ``"run"``, ``"walk"`` or ``"stop"`` per sample.
    segments
        Runs of equal gait.
    totals
        Distance, times, ascent, descent, mean pace.
    corrections
        Count of every correction (reader's ones prefixed ``read_``).
    sport, source, start_time, warnings
        From the activity (the warnings extended by cleaning).
    options
        The options used.
    rejected_fix_times_s
        Times (s, on the activity's record clock) of the GPS fixes dropped as outliers.
    quality
        Named problems (:class:`~runmuscles.quality.QualityWarning`): the reader's ones and
        the cleaning's (GPS jumps and distance spikes dropped, grade taken as level).
    """

    table: TimeTable
    moving: np.ndarray
    gait: np.ndarray
    segments: list[GaitSegment]
    totals: RunTotals
    corrections: dict[str, int]
    sport: str
    source: str
    start_time: datetime
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    rejected_fix_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    quality: list[QualityWarning] = field(default_factory=list)

    @property
    def time_s(self) -> np.ndarray:
        return self.table.time_s

    def to_pandas(self):  # pragma: no cover - thin wrapper
        """The table as a DataFrame with ``moving`` as bool and ``gait`` as text."""
        df = self.table.to_pandas()
        df["moving"] = self.moving
        df["gait"] = self.gait
        return df


def haversine_m(lat1_deg: np.ndarray, lon1_deg: np.ndarray, lat2_deg: np.ndarray, lon2_deg: np.ndarray):
    """Great-circle distance on a sphere of radius :data:`EARTH_RADIUS_M`.

    Parameters
    ----------
    lat1_deg, lon1_deg, lat2_deg, lon2_deg
        Positions in degrees (broadcastable arrays).

    Returns
    -------
    numpy.ndarray
        Distance in metres.
    """
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2_deg) - np.asarray(lon1_deg))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# --------------------------------------------------------------------------------------------
def clean_activity(
    activity: Activity,
    *,
    sample_rate_hz: float = 1.0,
    max_speed_m_s: float = GPS_MAX_SPEED_M_S,
    max_acceleration_m_s2: float = GPS_MAX_ACCELERATION_M_S2,
    gps_slack_m: float = 10.0,
    reanchor_points: int = 5,
    speed_median_s: float = 5.0,
    speed_spike_m_s: float = 1.5,
    speed_cutoff_hz: float = 0.1,
    stop_speed_m_s: float = 0.5,
    min_stop_s: float = 10.0,
    altitude_spike_m: float = 15.0,
    grade_window_m: float | None = None,
    max_grade_pct: float = 40.0,
    ascent_hysteresis_m: float | None = None,
    walk_run_speed_m_s: float = WALK_RUN_SPEED_M_S,
    run_cadence_spm: float = RUN_CADENCE_SPM,
    min_gait_s: float = 15.0,
    altitude_source: str | None = None,
) -> CleanRun:
    """Clean a recorded run and resample it to a uniform grid.

    Parameters
    ----------
    activity
        As returned by :func:`runmuscles.readers.watch.read_activity`.
    sample_rate_hz
        Output rate (1 Hz by default).
    max_speed_m_s
        Fastest plausible running speed; faster GPS jumps, distance increments and speed
        samples are outliers (default: the declared ``gps_speed_m_s`` limit, 12.5 m/s).
    max_acceleration_m_s2
        A speed sample that differs from both its neighbours by more than this times the
        time between them is an outlier (default: the declared ``gps_acceleration_m_s2``).
    gps_slack_m
        Position error allowed on top of ``max_speed_m_s * dt`` before a fix is a jump.
    reanchor_points
        Consecutive rejected but self-consistent fixes after which they are accepted.
    speed_median_s, speed_spike_m_s, speed_cutoff_hz
        Running-median window, spike threshold, and low-pass cut-off of the speed.
    stop_speed_m_s, min_stop_s
        Below this speed for at least this long is a stop.
    altitude_spike_m
        Altitude samples further than this from the running median are removed.
    grade_window_m
        Distance window of the grade (default 30 m barometric, 100 m GPS altitude).
    max_grade_pct
        Grade clip, percent.
    ascent_hysteresis_m
        Smallest altitude change counted in ascent/descent (default 2 m barometric, 5 m GPS).
    walk_run_speed_m_s, run_cadence_spm
        Walk/run thresholds (speed only when there is no cadence).
    min_gait_s
        Majority-vote window for the walk/run labels.
    altitude_source
        ``"barometric"`` or ``"gps"`` to override ``activity.altitude_source`` (many FIT
        files from watches with a barometric altimeter do not declare it).

    Returns
    -------
    CleanRun
        The uniform table, ``moving``, ``gait``, segments, totals and corrections.

    Raises
    ------
    InputError
        An activity with fewer than two samples, or a non-positive ``sample_rate_hz``.
    """
    opts = {k: v for k, v in locals().items() if k != "activity"}
    rec = activity.records
    src = activity.source
    if rec.n_frames < 2:
        raise InputError(src, f"has {rec.n_frames} sample(s): too few to clean")
    if not sample_rate_hz > 0:
        raise InputError("clean_activity", f"sample_rate_hz must be positive, got {sample_rate_hz}")
    corr: dict[str, int] = {f"read_{k}": int(v) for k, v in activity.corrections.items()}
    notes = list(activity.warnings)
    quality = list(activity.quality)
    t = rec.time_s - rec.time_s[0]

    def col(name: str) -> np.ndarray:
        return rec.column(name).copy() if name in rec else np.full(t.size, np.nan)

    lat, lon = col("lat_deg"), col("lon_deg")
    seg = col("segment")
    seg[~np.isfinite(seg)] = 0.0

    # 1. GPS outliers ------------------------------------------------------------------------
    pos_ok = np.isfinite(lat) & np.isfinite(lon)
    rejected_s = np.zeros(0)
    null = pos_ok & (np.abs(lat) < 1e-9) & (np.abs(lon) < 1e-9)
    if null.any():
        corr["gps_null_points"] = int(null.sum())
        pos_ok &= ~null
    n_pos = int(pos_ok.sum())
    if n_pos >= 2:
        accepted, n_reanchor = _reject_gps_jumps(
            t, lat, lon, seg, pos_ok, max_speed_m_s, gps_slack_m, reanchor_points
        )
        dropped = pos_ok & ~accepted
        corr["gps_points_dropped"] = int(dropped.sum())
        rejected_s = t[dropped] + rec.time_s[0]
        if dropped.any():
            quality.append(
                QualityWarning(
                    "gps_jumps_dropped",
                    f"{src}: {int(dropped.sum())} of {n_pos} GPS position(s) imply a speed above "
                    f"{max_speed_m_s:g} m/s from the track and were dropped",
                    invalidates=bool(dropped.sum() > 0.5 * n_pos),  # most of the track is not a run
                    affects=("distance", "speed", "grade"),
                )
            )
        corr["gps_reanchored"] = int(n_reanchor)
        lat[~accepted] = np.nan
        lon[~accepted] = np.nan
        pos_ok = accepted

    # 2. distance at the record times -------------------------------------------------------
    dist_dev = col("distance_m")
    speed_dev = col("speed_m_s")
    if np.isfinite(dist_dev).sum() >= max(2, 0.5 * t.size):
        dist_source = "device"
        dist = _fill_nan(t, dist_dev)
        dist, n_resets = _join_segment_resets(t, dist, seg, max_speed_m_s, gps_slack_m)
        if n_resets:
            corr["distance_resets_joined"] = n_resets
        spiked = _distance_spikes(t, dist, max_speed_m_s, gps_slack_m)
        if spiked.any():
            corr["distance_spikes"] = int(spiked.sum())
            k = int(np.flatnonzero(spiked)[0])
            quality.append(
                QualityWarning(
                    "device_distance_spikes",
                    f"{src}: {int(spiked.sum())} recorded distance sample(s) far off their neighbours "
                    f"(e.g. {dist_dev[k]:.0f} m at {t[k]:.0f} s) were replaced by interpolation",
                    affects=("distance", "speed"),
                )
            )
            dist = _fill_nan(t, np.where(spiked, np.nan, dist))
        backsteps = int(np.sum(np.diff(dist) < 0))
        if backsteps:
            corr["distance_backsteps"] = backsteps
            dist = np.maximum.accumulate(dist)
    elif pos_ok.sum() >= 2:
        dist_source = "gps"
        dist = _gps_distance(t, lat, lon, seg, pos_ok)
    elif np.isfinite(speed_dev).sum() >= 2:
        dist_source = "speed"
        v = np.clip(_fill_nan(t, speed_dev), 0.0, None)
        inc = 0.5 * (v[1:] + v[:-1]) * np.diff(t)
        inc[np.diff(seg) != 0] = 0.0
        dist = np.concatenate([[0.0], np.cumsum(inc)])
    else:
        raise InputError(src, "no GPS or distance data (no positions, distance or speed samples)")
    dist = dist - dist[0]
    dist, n_jumps = _limit_rate(t, dist, max_speed_m_s)
    if n_jumps:
        corr["distance_jumps"] = n_jumps

    # 3. resampling --------------------------------------------------------------------------
    dt = 1.0 / sample_rate_hz
    tg = np.arange(0.0, t[-1] + 0.5 * dt, dt)
    dist_g = np.interp(tg, t, dist)
    in_pause = np.zeros(tg.size, dtype=bool)
    n_timer = n_gap = 0
    for p in activity.pauses:
        inside = (tg > p.start_s) & (tg < p.end_s)
        in_pause |= inside
        if p.kind == "timer":
            n_timer += 1
        else:
            n_gap += 1
    corr["timer_pauses"] = n_timer
    corr["recording_gaps"] = n_gap

    # 4. speed -------------------------------------------------------------------------------
    if np.isfinite(speed_dev).sum() >= max(2, 0.5 * t.size):
        spd_raw = np.interp(tg, t, _fill_nan(t, speed_dev))
    else:
        spd_raw = np.gradient(dist_g, tg) if tg.size > 1 else np.zeros(tg.size)
    spd_raw[in_pause] = 0.0
    out = (spd_raw > max_speed_m_s) | (spd_raw < 0) | ~np.isfinite(spd_raw)
    out |= _acceleration_spikes(tg, spd_raw, max_acceleration_m_s2)
    corr["speed_outliers"] = int(out.sum())
    if out.all():
        spd_raw[:] = 0.0
    elif out.any():
        good = ~out
        spd_raw[out] = np.interp(tg[out], tg[good], spd_raw[good])
    width = max(1, int(round(speed_median_s * sample_rate_hz)) | 1)
    med = median_filter(spd_raw, size=width, mode="nearest")
    spikes = np.abs(spd_raw - med) > speed_spike_m_s
    corr["speed_spikes"] = int(spikes.sum())
    spd = np.where(spikes, med, spd_raw)
    if tg.size > 15 and speed_cutoff_hz < 0.5 * sample_rate_hz:
        b, a = butterworth_lowpass(2, speed_cutoff_hz / (0.5 * sample_rate_hz))
        spd = filtfilt_odd(b, a, spd)
    spd = np.clip(spd, 0.0, max_speed_m_s)
    spd[in_pause] = 0.0

    # 5. stops -------------------------------------------------------------------------------
    slow = (spd < stop_speed_m_s) | in_pause
    moving = np.ones(tg.size, dtype=bool)
    n_stops = 0
    for a_i, b_i in _runs(slow):
        dur = (b_i - a_i) * dt
        if dur >= min_stop_s or in_pause[a_i:b_i].any():
            moving[a_i:b_i] = False
            if not in_pause[a_i:b_i].all():
                n_stops += 1
    corr["stops"] = n_stops
    corr["stopped_s"] = int(round((~moving).sum() * dt))

    # 6. elevation and grade -----------------------------------------------------------------
    alt_rec = col("altitude_m")
    alt_src = altitude_source or activity.altitude_source
    if alt_src not in ("barometric", "gps", "none"):
        raise InputError("clean_activity", f"altitude_source must be 'barometric' or 'gps', got '{alt_src}'")
    baro = alt_src == "barometric"
    win_m = grade_window_m if grade_window_m is not None else (30.0 if baro else 100.0)
    hyst_m = ascent_hysteresis_m if ascent_hysteresis_m is not None else (2.0 if baro else 5.0)
    ascent = descent = float("nan")
    if np.isfinite(alt_rec).sum() >= 2:
        fin = np.isfinite(alt_rec)
        a_f = alt_rec[fin]
        # a window of about 31 s of samples
        n_win = max(3, int(round(31.0 / max(np.median(np.diff(t[fin])), 1e-3)))) | 1
        med_a = median_filter(a_f, size=min(n_win, a_f.size | 1), mode="nearest")
        spike = np.abs(a_f - med_a) > altitude_spike_m
        corr["altitude_spikes"] = int(spike.sum())
        a_f = np.where(spike, np.nan, a_f)
        alt_clean = np.full(t.size, np.nan)
        alt_clean[fin] = a_f
        alt_g = np.interp(tg, t, _fill_nan(t, alt_clean))
        alt_s, grade, ascent, descent, n_clip = _grade(dist_g, alt_g, win_m, max_grade_pct, hyst_m)
        corr["grade_clipped"] = n_clip
    else:
        alt_s = np.full(tg.size, np.nan)
        grade = np.full(tg.size, np.nan)
        notes.append("no altitude: grade unknown (NaN)")
    indoor = _indoor_reason(activity.sport, n_pos)
    if indoor:
        # no track to climb: a treadmill's incline and an indoor route's hills are not in the
        # file, and barometric altitude indoors follows the weather and the building
        grade = np.zeros(tg.size)
        ascent = descent = float("nan")
        notes.append(f"{indoor}: grade unknown, taken as level")
    if indoor or not np.isfinite(grade).any():
        quality.append(
            QualityWarning(
                "grade_unknown_level_assumed",
                f"{src}: {indoor or 'no altitude'}: grade unknown, the run is taken as level",
                affects=("grade", "load"),
            )
        )

    # other channels -------------------------------------------------------------------------
    def chan(name: str) -> np.ndarray:
        y = col(name)
        fin = np.isfinite(y)
        if fin.sum() < 1:
            return np.full(tg.size, np.nan)
        out_y = np.interp(tg, t[fin], y[fin])
        out_y[(tg < t[fin][0]) | (tg > t[fin][-1])] = np.nan
        return out_y

    cad = chan("cadence_spm")
    hr = chan("heart_rate_bpm")
    pw = chan("power_w")
    for y in (cad, hr, pw):
        y[in_pause] = np.nan

    # 7. gait --------------------------------------------------------------------------------
    has_cad = np.isfinite(cad) & (cad > 0)
    is_run = np.where(has_cad, cad >= run_cadence_spm, spd >= walk_run_speed_m_s)
    n_gw = max(1, int(round(min_gait_s * sample_rate_hz)) | 1)
    relabelled = 0
    if moving.any():
        # majority vote over the moving samples only (stops split the vote)
        for a_i, b_i in _runs(moving):
            block = is_run[a_i:b_i].astype(float)
            voted = median_filter(block, size=min(n_gw, block.size | 1), mode="nearest") > 0.5
            relabelled += int(np.sum(voted != is_run[a_i:b_i]))
            is_run[a_i:b_i] = voted
    corr["gait_samples_relabelled"] = relabelled
    gait = np.where(~moving, "stop", np.where(is_run, "run", "walk")).astype("<U4")
    segments = [
        GaitSegment(float(tg[a_i]), float(tg[b_i - 1]), str(gait[a_i]), float(dist_g[b_i - 1] - dist_g[a_i]))
        for a_i, b_i in _runs_labels(gait)
    ]

    # totals ---------------------------------------------------------------------------------
    moving_dist = float(np.diff(dist_g)[moving[:-1]].sum())
    moving_time = float(moving[:-1].sum() * dt)  # interval [t_i, t_i+1) moving when sample i is
    mean_speed = moving_dist / moving_time if moving_time > 0 else float("nan")
    totals = RunTotals(
        distance_m=float(dist_g[-1] - dist_g[0]),
        moving_time_s=moving_time,
        elapsed_time_s=float(tg[-1] - tg[0]),
        ascent_m=float(ascent),
        descent_m=float(descent),
        mean_speed_m_s=float(mean_speed),
        mean_pace_s_per_km=float(1000.0 / mean_speed) if mean_speed > 0 else float("nan"),
    )
    data = np.column_stack([dist_g, spd, grade, alt_s, cad, hr, pw, moving.astype(float)])
    table = TimeTable(
        tg,
        data,
        list(TABLE_COLUMNS),
        meta={
            "source": src,
            "distance_source": dist_source,
            "altitude_source": alt_src,
            "grade_window_m": win_m,
        },
    )
    return CleanRun(
        table=table,
        moving=moving,
        gait=gait,
        segments=segments,
        totals=totals,
        corrections=corr,
        sport=activity.sport,
        source=src,
        start_time=activity.start_time,
        warnings=notes,
        options=opts,
        rejected_fix_times_s=rejected_s,
        quality=quality,
    )


def reported_distance(activity: Activity, run: CleanRun) -> dict[str, Any]:
    """The distance to report for a run: the device's recorded total unless the track disagrees.

    The recorded total is what the file states for its running part (FIT: the running
    sessions' ``total_distance``, or the laps' when a truncated file has no session; TCX:
    the laps' ``DistanceMeters``; GPX states none). The track's distance is the cleaned
    samples' (:attr:`CleanRun.totals`). The recorded total is reported unless the two
    differ by more than the declared ``recorded_vs_track_distance_pct`` limit
    (:data:`runmuscles.validation.LIMITS`); then the track's is reported, with a warning.
    A truncated file's recorded totals are not used (they cover the laps written before the
    cut, or the whole run when the cut falls inside a lap's track).

    Parameters
    ----------
    activity
        The activity as read.
    run
        Its cleaned run.

    Returns
    -------
    dict
        ``distance_m`` (reported), ``source`` (``"recorded"`` or ``"track"``),
        ``recorded_m`` (``None`` when the file states none), ``track_m``,
        ``track_source`` (``"device"`` cumulative distance, ``"gps"`` positions or
        ``"speed"``), ``difference_pct`` (recorded against track, ``None`` without a
        recorded total), ``reason`` (one line) and ``warnings``
        (:class:`~runmuscles.quality.QualityWarning`).
    """
    recorded = float(activity.session_totals.get("distance_m", float("nan")))
    track = float(run.totals.distance_m)
    out: dict[str, Any] = {
        "distance_m": track,
        "source": "track",
        "recorded_m": recorded if np.isfinite(recorded) and recorded > 0 else None,
        "track_m": track,
        "track_source": str(run.table.meta.get("distance_source", "")),
        "difference_pct": None,
        "reason": "the file states no recorded distance: the track's distance",
        "warnings": [],
    }
    if out["recorded_m"] is None:
        return out
    if activity.corrections.get("truncated"):
        out["reason"] = (
            "the track's distance: the file is truncated, so its recorded totals do not cover the run "
            f"(recorded {recorded / 1000:.2f} km)"
        )
        return out
    lim = LIMITS["recorded_vs_track_distance_pct"]
    diff = 100.0 * (recorded - track) / track if track > 0 else float("inf")
    out["difference_pct"] = diff if np.isfinite(diff) else None
    if lim.problem(abs(diff)) is None:
        out.update(
            distance_m=recorded,
            source="recorded",
            reason=f"the device's recorded distance (the track's is {track / 1000:.2f} km, {diff:+.1f} %)",
        )
        return out
    out["reason"] = (
        f"the track's distance: the file's recorded {recorded / 1000:.2f} km differs from its track's "
        f"{track / 1000:.2f} km by {diff:+.1f} %, more than the {lim.high:g} % a GPS watch's distance "
        "is off (the recorded total or the track is damaged)"
    )
    out["warnings"] = [
        QualityWarning(
            "recorded_distance_disagrees",
            f"{run.source}: recorded distance {recorded / 1000:.2f} km and track {track / 1000:.2f} km "
            f"differ by {diff:+.1f} %; the track's distance is reported",
            affects=("distance",),
        )
    ]
    return out


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _fill_nan(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaNs (constant beyond the ends)."""
    fin = np.isfinite(y)
    if fin.all():
        return y.astype(float, copy=True)
    if not fin.any():
        return np.zeros_like(y, dtype=float)
    return np.interp(t, t[fin], y[fin])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges where ``mask`` is True."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    d = np.diff(m.astype(np.int8))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _runs_labels(labels: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges of equal consecutive labels."""
    if labels.size == 0:
        return []
    cut = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [labels.size]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _reject_gps_jumps(
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    seg: np.ndarray,
    pos_ok: np.ndarray,
    max_speed: float,
    slack_m: float,
    reanchor: int,
) -> tuple[np.ndarray, int]:
    """Forward pass accepting fixes reachable from the last accepted one at ``max_speed``."""
    idx = np.flatnonzero(pos_ok)
    accepted = np.zeros(t.size, dtype=bool)
    # distances between consecutive valid fixes, vectorised, to spot a bad first fix
    d_next = haversine_m(lat[idx[:-1]], lon[idx[:-1]], lat[idx[1:]], lon[idx[1:]])
    dt_next = np.diff(t[idx])
    bad_step = d_next > max_speed * dt_next + slack_m
    start = 0
    if bad_step.size >= 2 and bad_step[0] and not bad_step[1]:
        start = 1  # the first fix is the outlier
    lat_r, lon_r = np.radians(lat), np.radians(lon)
    cos_lat = np.cos(lat_r)
    anchor = idx[start]
    accepted[anchor] = True
    unchecked = True  # the anchor was accepted without a check (first fix of a segment)
    previous = -1  # the accepted fix before the anchor, in the same segment
    pending: list[int] = []

    def reachable(j: int, k: int) -> bool:
        dist = float(haversine_m(lat[j], lon[j], lat[k], lon[k]))
        return dist <= max_speed * (t[k] - t[j]) + slack_m

    n_reanchor = 0
    r2 = 2.0 * 6371008.8
    for i in idx[start + 1 :].tolist():
        if seg[i] != seg[anchor]:
            accepted[i] = True
            anchor, pending, unchecked, previous = i, [], True, -1
            continue
        sdp = np.sin(0.5 * (lat_r[i] - lat_r[anchor]))
        sdl = np.sin(0.5 * (lon_r[i] - lon_r[anchor]))
        d = r2 * np.arcsin(min(1.0, np.sqrt(sdp * sdp + cos_lat[i] * cos_lat[anchor] * sdl * sdl)))
        if d <= max_speed * (t[i] - t[anchor]) + slack_m:
            accepted[i] = True
            anchor, pending, unchecked, previous = i, [], False, anchor
            continue
        # rejected; do the rejected fixes form a consistent track of their own?
        if pending and not reachable(pending[-1], i):
            pending = []
        pending.append(i)
        if len(pending) >= reanchor:
            # the anchor was the outlier if it was never checked, or if the fix before it
            # reaches the new track directly (a lone bad fix after a signal gap)
            if unchecked or (previous >= 0 and reachable(previous, pending[0])):
                accepted[anchor] = False
            accepted[pending] = True
            anchor, pending, unchecked, previous = i, [], False, pending[-2]
            n_reanchor += 1
    return accepted, n_reanchor


def _gps_distance(
    t: np.ndarray, lat: np.ndarray, lon: np.ndarray, seg: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """Cumulative haversine distance over accepted fixes, nothing across segment changes."""
    idx = np.flatnonzero(ok)
    inc = haversine_m(lat[idx[:-1]], lon[idx[:-1]], lat[idx[1:]], lon[idx[1:]])
    inc[seg[idx[1:]] != seg[idx[:-1]]] = 0.0
    cum = np.concatenate([[0.0], np.cumsum(inc)])
    # samples without a fix: interpolate in time between fixes
    return np.interp(t, t[idx], cum)


def _indoor_reason(sport: str, n_positions: int) -> str:
    """Why the run has no usable grade ("" when it has one): a treadmill or indoor sport, or
    no GPS positions (distance and speed from a foot pod or the watch's accelerometer)."""
    sub = sport.split(":", 1)[1] if ":" in sport else ""
    if any(w in sub for w in ("treadmill", "indoor", "virtual")):
        return f"a {sub.replace('_', ' ')} run"
    if n_positions < 2:
        return "no GPS positions (an indoor or treadmill run)"
    return ""


def _distance_spikes(t: np.ndarray, dist: np.ndarray, max_speed: float, slack_m: float) -> np.ndarray:
    """Samples of a recorded cumulative distance far off their neighbours (one or two absurd
    values in an otherwise steady record).

    A cumulative distance rises monotonically, so the median of five consecutive samples is
    the middle one; a sample further from that median than ``max_speed`` covers in the
    window's time (plus ``slack_m``) cannot be a distance the runner covered. Real steps (a
    GPS reacquired after a tunnel) stay monotonic and are not flagged.
    """
    if dist.size < 5:
        return np.zeros(dist.size, dtype=bool)
    med = median_filter(dist, size=5, mode="nearest")
    lo = np.concatenate([[t[0]] * 2, t[:-2]])
    hi = np.concatenate([t[2:], [t[-1]] * 2])
    return np.abs(dist - med) > max_speed * np.maximum(hi - lo, 1.0) + slack_m


def _acceleration_spikes(t: np.ndarray, v: np.ndarray, max_acc: float) -> np.ndarray:
    """Speed samples that differ from both neighbours, in the same direction, by more than
    ``max_acc`` allows in the time between them (a one-sample spike no runner can make)."""
    out = np.zeros(v.size, dtype=bool)
    if v.size < 3:
        return out
    with np.errstate(invalid="ignore"):
        up = (v[1:-1] - v[:-2]) / np.maximum(t[1:-1] - t[:-2], 1e-9)
        down = (v[1:-1] - v[2:]) / np.maximum(t[2:] - t[1:-1], 1e-9)
        out[1:-1] = ((up > max_acc) & (down > max_acc)) | ((up < -max_acc) & (down < -max_acc))
    return out


def _join_segment_resets(
    t: np.ndarray, dist: np.ndarray, seg: np.ndarray, max_speed: float, slack_m: float
) -> tuple[np.ndarray, int]:
    """Continue a device distance that restarts from zero at a segment change.

    Multisport FIT files count each session's distance from zero. Where the distance drops
    at a segment change, the later samples are offset to continue from the last one; the
    new segment's first value is kept as distance covered since its start when it is
    reachable at ``max_speed`` in the time between the two samples (else it is an offset
    of another kind and counts nothing).
    """
    cut = np.flatnonzero((np.diff(seg) != 0) & (np.diff(dist) < 0))
    if cut.size == 0:
        return dist, 0
    out = dist.copy()
    for i in cut.tolist():
        after = out[i + 1]
        since_start = after if 0.0 <= after <= max_speed * (t[i + 1] - t[i]) + slack_m else 0.0
        out[i + 1 :] += out[i] - after + since_start
    return out, int(cut.size)


def _limit_rate(t: np.ndarray, dist: np.ndarray, max_speed: float) -> tuple[np.ndarray, int]:
    """Replace distance increments faster than ``max_speed`` by the neighbouring rate."""
    dt = np.diff(t)
    inc = np.diff(dist)
    # a 1 s floor on dt so that sub-second time stamps do not make every step a jump
    bad = inc > max_speed * np.maximum(dt, 1.0)
    if not bad.any():
        return dist, 0
    rate = np.where(dt > 0, inc / np.where(dt > 0, dt, 1.0), 0.0)
    good = ~bad
    mid = 0.5 * (t[1:] + t[:-1])
    if good.any():
        rate[bad] = np.interp(mid[bad], mid[good], rate[good])
    else:
        rate[bad] = 0.0
    inc = np.where(bad, rate * dt, inc)
    return np.concatenate([[dist[0]], dist[0] + np.cumsum(inc)]), int(bad.sum())


def _grade(
    dist_g: np.ndarray, alt_g: np.ndarray, window_m: float, max_pct: float, hyst_m: float
) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """Altitude averaged over a distance window, its slope (%), ascent, descent, clip count."""
    total = float(dist_g[-1] - dist_g[0])
    if total < 1.0:
        flat = np.full(dist_g.size, float(np.nanmean(alt_g)))
        return flat, np.zeros(dist_g.size), 0.0, 0.0, 0
    # altitude against distance on a 1 m grid (first sample at each distance)
    d_u, first = np.unique(dist_g, return_index=True)
    a_u = alt_g[first]
    step_m = 1.0
    dgrid = np.arange(d_u[0], d_u[-1] + 0.5 * step_m, step_m)
    a_d = np.interp(dgrid, d_u, a_u)
    n_w = max(1, int(round(window_m / step_m)))
    # two passes of a moving average = a triangular window: its slope averages the noise of
    # every sample, where one pass would difference two single samples at the window's edges
    a_s = a_d
    if n_w > 1:
        a_s = uniform_filter1d(uniform_filter1d(a_d, size=n_w, mode="nearest"), size=n_w, mode="nearest")
    g_d = np.gradient(a_s, step_m) * 100.0
    grade = np.interp(dist_g, dgrid, g_d)
    clipped = np.abs(grade) > max_pct
    grade = np.clip(grade, -max_pct, max_pct)
    alt_s = np.interp(dist_g, dgrid, a_s)
    ascent, descent = _ascent_descent(a_s[:: max(1, n_w // 4)], hyst_m)
    return alt_s, grade, ascent, descent, int(clipped.sum())


def _ascent_descent(alt: np.ndarray, hyst_m: float) -> tuple[float, float]:
    """Sum of rises and falls between extrema that differ by at least ``hyst_m`` (zig-zag)."""
    ascent = descent = 0.0
    last = cand = float(alt[0])
    trend = 0
    for x in alt.tolist():
        if trend == 0:
            if x - last >= hyst_m:
                trend, cand = 1, x
            elif last - x >= hyst_m:
                trend, cand = -1, x
        elif trend == 1:
            if x > cand:
                cand = x
            elif cand - x >= hyst_m:
                ascent += cand - last
                last, trend, cand = cand, -1, x
        else:
            if x < cand:
                cand = x
            elif x - cand >= hyst_m:
                descent += last - cand
                last, trend, cand = cand, 1, x
    if trend == 1:
        ascent += cand - last
    elif trend == -1:
        descent += last - cand
    return ascent, descent
