"""Run cleaning: outliers, grade, stops, gait, on constructed tracks and real watch files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.runs import EARTH_RADIUS_M, clean_activity
from runmuscles.errors import InputError
from runmuscles.readers.watch import read_activity

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "watch"
M_PER_DEG = np.pi * EARTH_RADIUS_M / 180.0
T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)


def _data(name: str) -> Path:
    p = DATA / name
    if not p.exists():
        pytest.skip(f"reference data not present: {p}")
    return p


def track(speed_m_s: np.ndarray, lat0: float = 46.0, lon0: float = 14.5):
    """Positions of a runner heading due north at the given per-second speeds (first at rest)."""
    north_m = np.concatenate([[0.0], np.cumsum(speed_m_s[1:])])
    return lat0 + north_m / M_PER_DEG, np.full(north_m.size, lon0), north_m


def write_gpx(path: Path, segments: list[dict]) -> None:
    """GPX 1.1; each segment: dict(lat, lon, ele, t_s, [hr], [cad]) with t_s seconds from T0."""
    body = []
    for s in segments:
        pts = []
        for i in range(len(s["lat"])):
            t = (T0 + timedelta(seconds=float(s["t_s"][i]))).strftime("%Y-%m-%dT%H:%M:%SZ")
            x = f'<trkpt lat="{s["lat"][i]:.9f}" lon="{s["lon"][i]:.9f}"><ele>{s["ele"][i]:.3f}</ele>'
            x += f"<time>{t}</time>"
            if "cad" in s or "hr" in s:
                x += "<extensions><ns3:TrackPointExtension>"
                x += f"<ns3:hr>{s['hr'][i]}</ns3:hr>" if "hr" in s else ""
                x += f"<ns3:cad>{s['cad'][i]}</ns3:cad>" if "cad" in s else ""
                x += "</ns3:TrackPointExtension></extensions>"
            pts.append(x + "</trkpt>")
        body.append("<trkseg>" + "".join(pts) + "</trkseg>")
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        "<trk><type>running</type>" + "".join(body) + "</trk></gpx>"
    )


def write_tcx(path: Path, lat, lon, ele, dist_m, speed_m_s, run_cadence) -> None:
    """TCX with one lap, ActivityExtension v2 TPX Speed and RunCadence (per foot)."""
    pts = []
    for i in range(len(lat)):
        t = (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(
            f"<Trackpoint><Time>{t}</Time><Position><LatitudeDegrees>{lat[i]:.9f}</LatitudeDegrees>"
            f"<LongitudeDegrees>{lon[i]:.9f}</LongitudeDegrees></Position>"
            f"<AltitudeMeters>{ele[i]:.2f}</AltitudeMeters><DistanceMeters>{dist_m[i]:.2f}</DistanceMeters>"
            f"<HeartRateBpm><Value>150</Value></HeartRateBpm><Extensions><ns3:TPX><ns3:Speed>{speed_m_s[i]:.3f}"
            f"</ns3:Speed><ns3:RunCadence>{run_cadence[i]}</ns3:RunCadence></ns3:TPX></Extensions></Trackpoint>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"><Activities>'
        f'<Activity Sport="Running"><Id>{T0.isoformat()}</Id><Lap StartTime="{T0.isoformat()}">'
        f"<TotalTimeSeconds>{len(lat) - 1}</TotalTimeSeconds>"
        f"<DistanceMeters>{dist_m[-1]:.2f}</DistanceMeters>"
        "<Track>" + "".join(pts) + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    )


def _steady(n: int = 600, v: float = 3.0, ele=None, **extra) -> dict:
    lat, lon, north = track(np.full(n, v))
    ele = np.full(n, 200.0) if ele is None else ele(north)
    return dict(lat=lat, lon=lon, ele=ele, t_s=np.arange(n), **extra)


# --------------------------------------------------------------------------------------------
def test_teleport_outlier_is_dropped_and_counted(tmp_path):
    seg = _steady(600, 3.0)
    seg["lon"] = seg["lon"].copy()
    seg["lon"][300] += 2000.0 / (M_PER_DEG * np.cos(np.radians(46.0)))  # 2 km east for one fix
    seg["lat"] = seg["lat"].copy()
    seg["lat"][450:453] += 400.0 / M_PER_DEG  # a 3-fix excursion 400 m ahead (multipath)
    p = tmp_path / "teleport.gpx"
    write_gpx(p, [seg])
    run = clean_activity(read_activity(p))
    assert run.corrections["gps_points_dropped"] == 4
    assert np.allclose(np.sort(run.rejected_fix_times_s), [300, 450, 451, 452])
    assert run.totals.distance_m == pytest.approx(599 * 3.0, rel=0.01)
    assert run.table.column("speed_m_s").max() < 3.5
    assert (run.gait == "run").all()  # no cadence: 3 m/s is above the walk-run speed


def test_bad_first_fix_is_dropped(tmp_path):
    seg = _steady(120, 3.0)
    seg["lat"] = seg["lat"].copy()
    seg["lat"][0] -= 1500.0 / M_PER_DEG
    p = tmp_path / "first.gpx"
    write_gpx(p, [seg])
    run = clean_activity(read_activity(p))
    assert run.corrections["gps_points_dropped"] == 1
    assert run.totals.distance_m == pytest.approx(119 * 3.0, rel=0.02)


@pytest.mark.parametrize("noise_m", [0.0, 3.0])
def test_flat_vs_hilly_grade(tmp_path, noise_m):
    rng = np.random.default_rng(7)
    n = 1200
    noise = rng.normal(0.0, noise_m, n) if noise_m else np.zeros(n)
    flat = _steady(n, 3.0, ele=lambda d: 200.0 + noise)
    hill = _steady(n, 3.0, ele=lambda d: 200.0 + 0.05 * d + noise)
    write_gpx(tmp_path / "flat.gpx", [flat])
    write_gpx(tmp_path / "hill.gpx", [hill])
    g_flat = clean_activity(read_activity(tmp_path / "flat.gpx"))
    g_hill = clean_activity(read_activity(tmp_path / "hill.gpx"))
    gf = g_flat.table.column("grade_pct")
    gh = g_hill.table.column("grade_pct")
    assert abs(np.median(gf)) < 0.3
    assert np.median(gh) == pytest.approx(5.0, abs=0.3)
    inner = slice(60, -60)  # away from the ends of the distance window
    assert np.percentile(np.abs(gf[inner]), 95) < (0.1 if noise_m == 0 else 2.0)
    assert np.percentile(np.abs(gh[inner] - 5.0), 95) < (0.1 if noise_m == 0 else 2.0)
    # constructed climb: 5 % of 3597 m
    assert g_hill.totals.ascent_m == pytest.approx(0.05 * 3597.0, rel=0.05)
    assert g_flat.totals.ascent_m < 10.0


def test_up_and_down_hill(tmp_path):
    n = 1000
    seg = _steady(n, 3.0, ele=lambda d: 100.0 + 0.08 * np.minimum(d, 3000.0 - d))
    write_gpx(tmp_path / "updown.gpx", [seg])
    run = clean_activity(read_activity(tmp_path / "updown.gpx"))
    g = run.table.column("grade_pct")
    d = run.table.column("distance_m")
    assert np.median(g[(d > 300) & (d < 1200)]) == pytest.approx(8.0, abs=0.2)
    assert np.median(g[(d > 1800) & (d < 2700)]) == pytest.approx(-8.0, abs=0.2)
    peak = 0.08 * 1500.0
    assert run.totals.ascent_m == pytest.approx(peak, rel=0.05)
    # down to 3 m before the start altitude (the track ends at 2997 m)
    assert run.totals.descent_m == pytest.approx(peak - 0.08 * 3.0, rel=0.05)


def test_stop_is_detected_and_counted(tmp_path):
    rng = np.random.default_rng(3)
    v = np.concatenate([np.full(300, 3.0), np.zeros(60), np.full(300, 3.0)])
    lat, lon, north = track(v)
    lat = lat + rng.normal(0.0, 0.2, lat.size) / M_PER_DEG  # stationary GPS jitter
    p = tmp_path / "stop.gpx"
    write_gpx(p, [dict(lat=lat, lon=lon, ele=np.full(v.size, 50.0), t_s=np.arange(v.size))])
    run = clean_activity(read_activity(p))
    assert run.corrections["stops"] == 1
    stopped = run.gait == "stop"
    assert stopped.sum() == pytest.approx(60, abs=8)
    t_stop = run.time_s[stopped]
    assert t_stop.min() >= 295 and t_stop.max() <= 366
    assert run.totals.moving_time_s == pytest.approx(run.totals.elapsed_time_s - 60, abs=8)
    assert run.totals.mean_speed_m_s == pytest.approx(3.0, abs=0.1)
    assert run.totals.mean_pace_s_per_km == pytest.approx(1000.0 / 3.0, rel=0.04)


def test_walk_run_segmentation_by_cadence(tmp_path):
    v = np.concatenate([np.full(300, 3.5), np.full(300, 1.4), np.full(300, 3.5)])
    cad_foot = np.concatenate([np.full(300, 86), np.full(300, 56), np.full(300, 86)])
    lat, lon, _ = track(v)
    p = tmp_path / "walkrun.gpx"
    seg = dict(lat=lat, lon=lon, ele=np.full(v.size, 10.0), t_s=np.arange(v.size), cad=cad_foot)
    write_gpx(p, [seg])
    run = clean_activity(read_activity(p))
    moving = [s for s in run.segments if s.gait != "stop"]
    assert [s.gait for s in moving] == ["run", "walk", "run"]
    assert moving[1].start_s == pytest.approx(300, abs=10)
    assert moving[1].end_s == pytest.approx(600, abs=10)
    assert moving[1].distance_m == pytest.approx(300 * 1.4, rel=0.1)
    # the per-foot cadence was doubled to steps/min
    assert np.nanmedian(run.table.column("cadence_spm")[run.gait == "run"]) == pytest.approx(172.0)


def test_recording_gap_adds_no_distance_and_is_not_moving(tmp_path):
    a = _steady(200, 3.0)
    b = _steady(200, 3.0)
    b["lat"] = b["lat"] + 500.0 / M_PER_DEG  # 500 m further on, after 120 s without recording
    b["t_s"] = b["t_s"] + 320
    p = tmp_path / "gap.gpx"
    write_gpx(p, [a, b])
    act = read_activity(p)
    assert len(act.pauses) == 1 and act.pauses[0].kind == "gap"
    run = clean_activity(act)
    assert run.corrections["recording_gaps"] == 1
    assert run.totals.distance_m == pytest.approx(2 * 199 * 3.0, rel=0.005)
    assert not run.moving[(run.time_s > 200) & (run.time_s < 319)].any()


def test_tcx_device_speed_outlier_and_run_cadence(tmp_path):
    n = 400
    lat, lon, north = track(np.full(n, 3.2))
    speed = np.full(n, 3.2)
    speed[200] = 25.0  # a sensor glitch
    p = tmp_path / "glitch.tcx"
    write_tcx(p, lat, lon, np.full(n, 30.0), north, speed, np.full(n, 88))
    act = read_activity(p)
    assert np.allclose(act.records.column("cadence_spm"), 176.0)
    run = clean_activity(act)
    assert run.corrections["speed_outliers"] == 1
    assert run.table.column("speed_m_s").max() < 3.5
    assert run.totals.distance_m == pytest.approx(north[-1], rel=1e-6)


def test_output_is_a_uniform_labelled_grid(tmp_path):
    seg = _steady(300, 3.0, hr=[140] * 300, cad=[170] * 300)
    p = tmp_path / "grid.gpx"
    write_gpx(p, [seg])
    run = clean_activity(read_activity(p))
    assert np.allclose(np.diff(run.time_s), 1.0)
    for name in ("distance_m", "speed_m_s", "grade_pct", "cadence_spm", "heart_rate_bpm", "moving"):
        assert name in run.table
    assert run.moving.dtype == bool and set(np.unique(run.gait)) <= {"run", "walk", "stop"}
    assert np.allclose(run.table.column("cadence_spm"), 170.0)  # already steps/min: not doubled
    with pytest.raises(InputError, match="sample_rate_hz"):
        clean_activity(read_activity(p), sample_rate_hz=0.0)


def test_fenix2_cleaned_against_the_files_own_totals():
    act = read_activity(_data("activity-small-fenix2-run.fit"))
    run = clean_activity(act)
    tot = act.session_totals
    assert abs(run.totals.distance_m / tot["distance_m"] - 1.0) < 0.01
    assert abs(run.totals.moving_time_s / tot["duration_s"] - 1.0) < 0.01
    assert run.totals.elapsed_time_s == pytest.approx(tot["elapsed_s"], abs=2.0)
    # the GPS settles during the first seconds: 30 m in 1 s at the start is a jump
    assert run.corrections["distance_jumps"] >= 1
    # the altitude of the first seconds reads 142 m instead of 55 m: removed as spikes
    assert run.corrections["altitude_spikes"] >= 3
    assert np.nanmax(run.table.column("altitude_m")) < 100.0
    assert (run.gait == "run").mean() > 0.9
    assert run.table.column("speed_m_s").max() < 7.0
