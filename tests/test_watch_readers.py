"""Watch-file readers (FIT, GPX, TCX) against the files' own totals, gpxpy and synthetic files."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.runs import clean_activity, haversine_m
from runmuscles.errors import InputError
from runmuscles.readers.watch import read_activity, read_fit

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "watch"


def _data(name: str) -> Path:
    p = DATA / name
    if not p.exists():
        pytest.skip(f"reference data not present: {p}")
    return p


# --------------------------------------------------------------------------------------------
# a tiny FIT writer (protocol 2.0, little endian) for synthetic files
# --------------------------------------------------------------------------------------------
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
_BASE = {"enum": (0x00, "B"), "uint8": (0x02, "B"), "sint32": (0x85, "i"), "uint16": (0x84, "H")}
_BASE.update({"uint32": (0x86, "I"), "string16": (0x07, "16s"), "bytes16": (0x0D, "16s")})


def _crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16 with the reflected polynomial 0x8005 (0xA001), initial value 0, as FIT specifies."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


class FitWriter:
    """Collects definition and data messages; ``bytes()`` gives the whole file."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.defs: dict[int, tuple[list[str], list[int]]] = {}

    def define(self, local: int, global_num: int, fields: list[tuple[int, str]], dev=()) -> None:
        hdr = 0x40 | local | (0x20 if dev else 0)
        out = struct.pack("<BBBHB", hdr, 0, 0, global_num, len(fields))
        fmts = []
        for num, base in fields:
            code, fmt = _BASE[base]
            out += struct.pack("<BBB", num, struct.calcsize("<" + fmt), code)
            fmts.append(fmt)
        if dev:
            out += struct.pack("<B", len(dev))
            for num, base, dev_index in dev:
                _, fmt = _BASE[base]
                out += struct.pack("<BBB", num, struct.calcsize("<" + fmt), dev_index)
                fmts.append(fmt)
        self.defs[local] = (fmts, [])
        self.body += out

    def data(self, local: int, *values) -> None:
        fmts, _ = self.defs[local]
        self.body += struct.pack("<B", local) + struct.pack("<" + "".join(fmts), *values)

    def bytes(self, corrupt_crc: bool = False) -> bytes:
        head = struct.pack("<BBHI4s", 14, 0x20, 2132, len(self.body), b".FIT")
        head += struct.pack("<H", _crc16(head))
        crc = _crc16(bytes(self.body), _crc16(head))
        return head + bytes(self.body) + struct.pack("<H", crc ^ (0xFFFF if corrupt_crc else 0))


def _ts(dt: datetime) -> int:
    return int((dt - FIT_EPOCH).total_seconds())


def _semi(deg: float) -> int:
    return int(round(deg * 2**31 / 180.0))


def write_fit(
    path: Path,
    n: int = 120,
    speed_m_s: float = 3.0,
    cadence_per_foot: tuple[int, float] = (85, 0.5),
    sessions: tuple[tuple[int, int, int], ...] = ((1, 0, 0),),
    pause: tuple[int, int] | None = None,
    with_position: bool = True,
    with_distance: bool = True,
    with_speed: bool | None = None,
    with_dev_power: bool = False,
    corrupt_crc: bool = False,
) -> dict:
    """A run heading north at constant speed, 1 Hz; sessions are (sport, sub_sport, first record).

    Returns the values written, for the assertions.
    """
    t0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
    w = FitWriter()
    w.define(0, 0, [(0, "enum"), (1, "uint16"), (2, "uint16"), (4, "uint32")])
    w.data(0, 4, 1, 2697, _ts(t0))
    if with_dev_power:
        w.define(5, 207, [(1, "bytes16"), (3, "uint8")])
        w.data(5, b"stryd-test-app!!", 0)
        w.define(6, 206, [(0, "uint8"), (1, "uint8"), (2, "uint8"), (3, "string16"), (8, "string16")])
        w.data(6, 0, 0, 0x84, b"Power", b"Watts")
    w.define(1, 21, [(253, "uint32"), (0, "enum"), (1, "enum"), (4, "uint8")])
    w.data(1, _ts(t0), 0, 0, 0)  # timer start
    with_speed = with_distance if with_speed is None else with_speed
    rec_fields = [(253, "uint32")]
    if with_position:
        rec_fields += [(0, "sint32"), (1, "sint32")]
    if with_distance:
        rec_fields += [(5, "uint32")]
    if with_speed:
        rec_fields += [(6, "uint16")]
    rec_fields += [(2, "uint16"), (3, "uint8"), (4, "uint8"), (53, "uint8")]
    rec_fields += [(39, "uint16"), (41, "uint16"), (85, "uint16")]
    w.define(2, 20, rec_fields, dev=((0, "uint16", 0),) if with_dev_power else ())
    lat0, lon0 = 46.05, 14.50
    m_per_deg = np.pi * 6371008.8 / 180.0
    dist = 0.0
    times = []
    for i in range(n):
        t = t0 + timedelta(seconds=i)
        if pause and pause[0] <= i < pause[1]:
            continue
        if pause and i == pause[1]:
            w.data(1, _ts(t), 0, 0, 0)  # timer restarts
        if i > 0 and not (pause and i == pause[1]):
            dist += speed_m_s
        vals = [_ts(t)]
        if with_position:
            vals += [_semi(lat0 + dist / m_per_deg), _semi(lon0)]
        if with_distance:
            vals += [int(round(dist * 100))]
        if with_speed:
            vals += [int(round(speed_m_s * 1000))]
        vals += [int(round((300.0 + 500.0) * 5)), 150, cadence_per_foot[0], int(cadence_per_foot[1] * 128)]
        vals += [800, 2500, 11000]  # 80.0 mm, 250.0 ms, 1100.0 mm
        if with_dev_power:
            vals += [275]
        w.data(2, *vals)
        times.append(i)
        if pause and i == pause[0] - 1:
            w.data(1, _ts(t + timedelta(seconds=1)), 0, 4, 0)  # timer stop_all
    w.define(3, 18, [(253, "uint32"), (2, "uint32"), (5, "enum"), (6, "enum")] + [(9, "uint32")])
    bounds = [s[2] for s in sessions] + [n]
    for k, (sport, sub, first) in enumerate(sessions):
        start = t0 + timedelta(seconds=first)
        end = t0 + timedelta(seconds=bounds[k + 1] - 1)
        w.data(3, _ts(end), _ts(start), sport, sub, int(round(dist * 100)))
    path.write_bytes(w.bytes(corrupt_crc=corrupt_crc))
    return {"distance_m": dist, "times": times, "t0": t0}


def write_gpx(path: Path, lat, lon, ele=None, times=None, hr=None, cad=None, sport="running") -> None:
    """GPX 1.1 with Garmin TrackPointExtension v1 hr/cad (times: datetimes or None)."""
    pts = []
    for i in range(len(lat)):
        s = f'<trkpt lat="{lat[i]:.8f}" lon="{lon[i]:.8f}">'
        if ele is not None:
            s += f"<ele>{ele[i]:.3f}</ele>"
        if times is not None:
            s += f"<time>{times[i].strftime('%Y-%m-%dT%H:%M:%SZ')}</time>"
        if hr is not None or cad is not None:
            s += "<extensions><gpxtpx:TrackPointExtension>"
            s += f"<gpxtpx:hr>{hr[i]}</gpxtpx:hr>" if hr is not None else ""
            s += f"<gpxtpx:cad>{cad[i]}</gpxtpx:cad>" if cad is not None else ""
            s += "</gpxtpx:TrackPointExtension></extensions>"
        pts.append(s + "</trkpt>")
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="runmuscles-test" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>test</name><type>{sport}</type><trkseg>" + "".join(pts) + "</trkseg></trk></gpx>"
    )


# --------------------------------------------------------------------------------------------
# real files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["activity-small-fenix2-run.fit", "garmin-fenix-5-run.fit", "activity-unexpected-eof.fit"]
)
def test_fit_run_distance_matches_session_total(name):
    act = read_activity(_data(name))
    assert act.sport.startswith("running")
    total = act.session_totals["distance_m"]
    run = clean_activity(act)
    assert abs(run.totals.distance_m / total - 1.0) < 0.01
    # the last distance record, uncleaned, is the session total too
    assert abs(np.nanmax(act.records.column("distance_m")) / total - 1.0) < 0.01


def test_fenix2_laps_and_running_cadence():
    act = read_activity(_data("activity-small-fenix2-run.fit"))
    assert act.records.n_frames == 2809
    assert len(act.laps) == 4
    # the laps add up to the session (the file's own totals)
    assert sum(lap.distance_m for lap in act.laps) == pytest.approx(act.session_totals["distance_m"], abs=0.1)
    cad = act.records.column("cadence_spm")
    moving = act.records.column("speed_m_s") > 2.0
    # a runner's cadence in steps/min is 150-200: the per-foot value was doubled
    assert 150.0 < np.nanmedian(cad[moving]) < 200.0
    vo = act.records.column("vertical_oscillation_m")
    assert 0.04 < np.nanmedian(vo) < 0.15  # 4-15 cm (Garmin reports mm)
    gct = act.records.column("ground_contact_time_s")
    assert 0.15 < np.nanmedian(gct) < 0.35
    assert act.start_time == datetime(2015, 8, 15, 14, 45, 8, tzinfo=UTC)


def test_fenix2_ascent_close_to_device_total():
    act = read_activity(_data("activity-small-fenix2-run.fit"))
    # the Fenix 2 altimeter is barometric, though the file does not declare a barometer
    run = clean_activity(act, altitude_source="barometric")
    assert abs(run.totals.ascent_m - act.session_totals["ascent_m"]) < 0.15 * act.session_totals["ascent_m"]
    assert (
        abs(run.totals.descent_m - act.session_totals["descent_m"]) < 0.15 * act.session_totals["descent_m"]
    )


def test_bike_file_is_refused():
    with pytest.raises(InputError, match=r"not a run \(sport: cycling\)") as err:
        read_activity(_data("garmin-fenix-5-bike.fit"))
    assert "garmin-fenix-5-bike.fit" in str(err.value)
    assert "\n" not in str(err.value)


def test_truncated_fit_keeps_records_with_warning():
    act = read_activity(_data("activity-unexpected-eof.fit"))
    assert act.records.n_frames == 14
    assert any("truncated" in w for w in act.warnings)
    assert act.corrections["truncated"] == 1


def test_fenix5_barometer_and_running_dynamics():
    act = read_activity(_data("garmin-fenix-5-run.fit"))
    assert act.altitude_source == "barometric"  # the file declares a local barometer
    step = act.records.column("step_length_m")
    assert 0.5 < np.nanmedian(step) < 1.5
    # cadence x step length ~ speed while running: steps/min / 60 * m = m/s
    cad = act.records.column("cadence_spm")
    spd = act.records.column("speed_m_s")
    ok = (spd > 2.5) & np.isfinite(step) & (cad > 0)
    assert np.median(cad[ok] / 60.0 * step[ok] / spd[ok]) == pytest.approx(1.0, abs=0.1)


def test_tcx_run():
    act = read_activity(_data("test.tcx"))
    assert act.sport == "running"
    assert len(act.laps) == 3
    assert act.device.startswith("Forerunner 410")
    run = clean_activity(act)
    lap_total = act.session_totals["distance_m"]
    assert abs(run.totals.distance_m / lap_total - 1.0) < 0.01
    assert np.isfinite(act.records.column("heart_rate_bpm")).sum() > 300
    # timer time of the laps vs. the span of the trackpoints
    assert run.totals.elapsed_time_s == pytest.approx(act.session_totals["duration_s"], abs=2.0)


def _gpxpy_timed_length(path: Path, drop_times_s=()) -> float:
    import gpxpy

    gpx = gpxpy.parse(path.read_text())
    drop = {round(t) for t in drop_times_s}
    total = 0.0
    for trk in gpx.tracks:
        for seg in trk.segments:
            if not seg.points or seg.points[0].time is None:
                continue
            seg.points = [p for p in seg.points if round(p.time.timestamp()) not in drop]
            total += seg.length_2d()
    return total


def test_gpx_without_hr_or_cadence_korita():
    path = _data("korita-zbevnica.gpx")
    act = read_activity(path)
    assert not act.has("heart_rate_bpm") and not act.has("cadence_spm")
    assert any("without time" in w for w in act.warnings)  # the saved track has no times
    run = clean_activity(act)
    ref = _gpxpy_timed_length(path)
    assert abs(run.totals.distance_m / ref - 1.0) < 0.01
    assert np.isnan(run.table.column("cadence_spm")).all()


def test_gpx_cerknicko_teleport_dropped_and_length_agrees():
    path = _data("cerknicko-jezero.gpx")
    act = read_activity(path)
    rec = act.records
    lat, lon = rec.column("lat_deg"), rec.column("lon_deg")
    seg = rec.column("segment")
    same = seg[1:] == seg[:-1]
    raw = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])[same].sum()
    # our haversine on the raw fixes vs gpxpy's own length
    assert abs(raw / _gpxpy_timed_length(path) - 1.0) < 0.01
    run = clean_activity(act)
    # the file has a 184 m jump in 2 s where the GPS reacquires; it is dropped and counted
    assert run.corrections["gps_points_dropped"] >= 1
    drop_s = run.rejected_fix_times_s + act.start_time.timestamp()
    ref = _gpxpy_timed_length(path, drop_s)
    assert abs(run.totals.distance_m / ref - 1.0) < 0.01
    assert run.corrections["recording_gaps"] == 6


# --------------------------------------------------------------------------------------------
# synthetic files
# --------------------------------------------------------------------------------------------
def test_fit_per_foot_cadence_is_converted(tmp_path):
    p = tmp_path / "run.fit"
    write_fit(p, n=60, cadence_per_foot=(85, 0.5))
    act = read_fit(p)
    # 85.5 strides/min of one foot = 171 steps/min
    assert np.allclose(act.records.column("cadence_spm"), 171.0)
    assert np.allclose(act.records.column("vertical_oscillation_m"), 0.080)
    assert np.allclose(act.records.column("ground_contact_time_s"), 0.250)
    assert np.allclose(act.records.column("step_length_m"), 1.100)
    assert np.allclose(act.records.column("altitude_m"), 300.0)
    assert not act.warnings


def test_fit_developer_power_timer_pause_and_totals(tmp_path):
    p = tmp_path / "stryd.fit"
    info = write_fit(p, n=200, with_dev_power=True, pause=(80, 110))
    act = read_activity(p)
    assert "dev_power" in act.records
    assert act.records.meta["units"]["dev_power"] == "Watts"
    assert np.allclose(act.records.column("power_w"), 275.0)
    assert len(act.pauses) == 1
    assert act.pauses[0].kind == "timer"
    assert act.pauses[0].start_s == pytest.approx(80.0) and act.pauses[0].end_s == pytest.approx(110.0)
    seg = act.records.column("segment")
    assert set(seg[act.records.time_s < 80]) == {0.0} and set(seg[act.records.time_s >= 110]) == {1.0}
    run = clean_activity(act)
    assert run.corrections["timer_pauses"] == 1
    assert not run.moving[(run.time_s > 81) & (run.time_s < 109)].any()
    assert run.totals.distance_m == pytest.approx(info["distance_m"], rel=1e-3)
    assert run.totals.moving_time_s == pytest.approx(200 - 1 - 30, abs=3)


def test_fit_multisport_keeps_running_session(tmp_path):
    p = tmp_path / "multi.fit"
    write_fit(p, n=120, sessions=((2, 0, 0), (1, 1, 60)))  # cycling then treadmill running
    act = read_activity(p)
    assert act.sport == "running:treadmill"
    assert act.records.n_frames == 60
    assert act.corrections["records_outside_running_sessions"] == 60
    assert any("multi-sport" in w for w in act.warnings)


def test_fit_crc_error_warns_and_keeps_data(tmp_path):
    p = tmp_path / "crc.fit"
    write_fit(p, n=30, corrupt_crc=True)
    act = read_activity(p)
    assert act.records.n_frames == 30
    assert any("CRC" in w for w in act.warnings)


def test_fit_without_position_distance_or_speed_is_refused(tmp_path):
    p = tmp_path / "hr_only.fit"
    write_fit(p, n=30, with_position=False, with_distance=False)
    with pytest.raises(InputError, match="no GPS or distance data"):
        read_activity(p)


def test_fit_treadmill_distance_without_gps(tmp_path):
    p = tmp_path / "treadmill.fit"
    info = write_fit(p, n=100, with_position=False, sessions=((1, 1, 0),))
    run = clean_activity(read_activity(p))
    assert run.table.meta["distance_source"] == "device"
    assert run.totals.distance_m == pytest.approx(info["distance_m"], rel=1e-6)


def test_fit_treadmill_speed_only(tmp_path):
    p = tmp_path / "speed_only.fit"
    info = write_fit(p, n=100, with_position=False, with_distance=False, with_speed=True)
    run = clean_activity(read_activity(p))
    assert run.table.meta["distance_source"] == "speed"
    assert run.totals.distance_m == pytest.approx(info["distance_m"], rel=1e-6)


def test_fit_truncated_before_any_record_is_a_clear_error(tmp_path):
    p = tmp_path / "cut.fit"
    write_fit(p, n=30)
    p.write_bytes(p.read_bytes()[:40])  # header and the first definition only
    with pytest.raises(InputError, match="no readable records") as err:
        read_activity(p)
    assert "\n" not in str(err.value)


def test_format_is_recognised_from_content(tmp_path):
    p = tmp_path / "actually_fit.gpx"
    write_fit(p, n=20)
    assert read_activity(p).records.n_frames == 20
    bad = tmp_path / "notes.fit"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not a FIT, GPX or TCX"):
        read_activity(bad)
    with pytest.raises(InputError, match="file not found"):
        read_activity(tmp_path / "missing.fit")


def test_gpx_extensions_hr_and_cadence(tmp_path):
    p = tmp_path / "ext.gpx"
    n = 50
    t0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
    times = [t0 + timedelta(seconds=i) for i in range(n)]
    lat = 46.0 + np.arange(n) * 3.0 / 111195.0
    write_gpx(
        p, lat, np.full(n, 14.5), np.full(n, 300.0), times, hr=[140 + i % 5 for i in range(n)], cad=[88] * n
    )
    act = read_activity(p)
    assert act.sport == "running"
    assert np.array_equal(act.records.column("heart_rate_bpm"), [140 + i % 5 for i in range(n)])
    assert np.allclose(act.records.column("cadence_spm"), 176.0)  # per foot, doubled
    assert act.corrections["cadence_doubled_from_strides_per_min"] == n


def test_gpx_ride_is_refused(tmp_path):
    p = tmp_path / "ride.gpx"
    n = 20
    times = [datetime(2024, 5, 1, 8, tzinfo=UTC) + timedelta(seconds=i) for i in range(n)]
    write_gpx(p, 46.0 + np.arange(n) * 1e-4, np.full(n, 14.5), np.full(n, 300.0), times, sport="cycling")
    with pytest.raises(InputError, match=r"not a run \(sport: cycling\)"):
        read_activity(p)


def test_gpx_without_time_is_refused(tmp_path):
    p = tmp_path / "route.gpx"
    n = 20
    write_gpx(p, 46.0 + np.arange(n) * 1e-4, np.full(n, 14.5), np.full(n, 300.0), times=None)
    with pytest.raises(InputError, match="a run needs time"):
        read_activity(p)


def test_one_hour_is_read_cleaned_and_loaded(tmp_path):
    """One hour at 1 Hz read, cleaned and integrated over the speed x grade x cadence load
    table (its time, target < 1 s, is measured by ``benchmarks/bench_parts.py``)."""
    from runmuscles.analyses.load_model import load_load_model, run_load

    p = tmp_path / "hour.fit"
    write_fit(p, n=3600)
    run = clean_activity(read_activity(p))
    load = run_load(run, model=load_load_model())
    assert run.table.n_frames == 3600
    assert load["distance_loaded_m"] == pytest.approx(run.totals.distance_m, rel=0.01)
    assert load["conditions"]["cadence_source"] == "file"
