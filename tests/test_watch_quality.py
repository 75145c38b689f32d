"""Watch files from any device: the reported distance against the file's own recorded totals,
indoor runs, implausible GPS (refused or dropped with a named warning) and the validity mark."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.load_model import summarize_activity, summarize_run_file
from runmuscles.analyses.runs import clean_activity
from runmuscles.errors import InputError
from runmuscles.readers.watch import read_activity

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared" / "data" / "watch"
MULTISPORT = REPO / "tests" / "data" / "watch" / "activity-large-fenxi2-multisport.fit"


def _shared(name: str) -> Path:
    p = SHARED / name
    if not p.exists():
        pytest.skip(f"reference data not present: {p}")
    return p


@functools.lru_cache(maxsize=8)
def _recorded_running_totals(path: Path) -> list[float]:
    """The distances the file itself records for its running part, read independently of the
    reader under test: FIT running sessions' ``total_distance``, TCX running laps'
    ``DistanceMeters``."""
    if path.suffix.lower() == ".fit":
        import fitdecode

        out = []
        with fitdecode.FitReader(str(path)) as reader:
            for frame in reader:
                if (
                    frame.frame_type == fitdecode.FIT_FRAME_DATA
                    and frame.name == "session"
                    and frame.get_value("sport", fallback=None) == "running"
                ):
                    out.append(float(frame.get_value("total_distance")))
        return out
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    return [
        float(lap.findtext("{*}DistanceMeters"))
        for act in root.iter("{*}Activity")
        if act.get("Sport", "").lower().startswith("run")
        for lap in act.findall("{*}Lap")
    ]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, env=env, timeout=300
    )


# --------------------------------------------------------------------------------------------
# the reported distance
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        pytest.param(MULTISPORT, id="multisport"),
        pytest.param("activity-small-fenix2-run.fit", id="fenix2"),
        pytest.param("garmin-fenix-5-run.fit", id="fenix5"),
        pytest.param("test.tcx", id="tcx"),
    ],
)
def test_reported_distance_is_the_running_sessions_recorded_total(path):
    p = path if isinstance(path, Path) else _shared(path)
    totals = _recorded_running_totals(p)
    assert totals, "the file states running totals"
    rec = summarize_run_file(p)
    assert rec["distance_m"] == pytest.approx(sum(totals), rel=0.01)
    assert rec["distance"]["source"] == "recorded"
    # the track agrees with the recorded total within the declared 5 %
    assert abs(rec["distance"]["track_m"] / sum(totals) - 1.0) < 0.05
    assert rec["quality"]["valid"] is True


def test_multisport_keeps_both_running_sessions():
    """python-fitparse's Fenix 2 triathlon-like file: generic, transition, running (2.25 km),
    transition, running (12.74 km), transition, cycling. Its first session's start_time is
    45 min late; start + elapsed time then ran over the first running session and the first
    84 m of the second, which were dropped (12.66 km reported)."""
    totals = _recorded_running_totals(MULTISPORT)
    assert totals == pytest.approx([2245.23, 12740.37])
    act = read_activity(MULTISPORT)
    # the first running session starts at 10:36:00 UTC and is kept
    assert act.start_time.isoformat() == "2015-08-29T10:36:00+00:00"
    assert [round(lap.distance_m) for lap in act.laps] == [2246, 12743]
    # the two sessions are separate segments, with the transition between them left out
    assert [pz.kind for pz in act.pauses] == ["session"]
    assert len(np.unique(act.records.column("segment"))) == 2
    run = clean_activity(act)
    # the second session's distance restarts from zero: joined, not flattened
    assert run.corrections["distance_resets_joined"] == 1
    assert run.totals.distance_m == pytest.approx(sum(totals), rel=0.015)
    assert {w.code for w in run.quality} >= {"other_sports_left_out"}


def test_recorded_distance_far_off_the_track_is_not_reported(tmp_path):
    src = _shared("test.tcx").read_text()
    # the first lap's stated distance tripled: the laps now total about 7.9 km for a 4.7 km track
    lap_head = r"(<Lap [^>]*>\s*<TotalTimeSeconds>[^<]*</TotalTimeSeconds>\s*<DistanceMeters>)([^<]+)"
    first = re.search(lap_head, src)
    assert first is not None
    bad = src[: first.start(2)] + f"{3 * float(first.group(2)):.3f}" + src[first.end(2) :]
    p = tmp_path / "lap_total.tcx"
    p.write_text(bad)
    rec = summarize_run_file(p)
    assert rec["distance"]["source"] == "track"
    assert rec["distance_m"] == pytest.approx(rec["distance"]["track_m"])
    assert rec["distance_m"] == pytest.approx(4689.2, rel=0.01)
    assert "recorded_distance_disagrees" in [w["code"] for w in rec["quality"]["warnings"]]
    assert "5 %" in rec["distance"]["reason"]


def test_load_counts_running_in_range_and_says_what_it_left_out():
    rec = summarize_run_file(_shared("test.tcx"))
    left = rec["load_left_out"]
    assert left["walking_m"] > 500  # the file's slow stretches are walking
    counted = rec["distance_loaded_m"] + left["walking_m"] + left["slower_m"] + left["faster_m"]
    assert counted == pytest.approx(rec["distance"]["track_m"], rel=0.01)
    assert 0 < rec["time_loaded_s"] < rec["moving_time_s"]
    w = [w for w in rec["quality"]["warnings"] if w["code"] == "load_left_out"]
    assert len(w) == 1 and "walking" in w[0]["message"]


# --------------------------------------------------------------------------------------------
# indoor and treadmill runs
# --------------------------------------------------------------------------------------------
def test_indoor_run_without_positions_is_a_level_run():
    """The shared Fenix 2 run with its positions removed: distance and speed from the watch
    only, the altitude still recorded (a barometer indoors)."""
    act = read_activity(_shared("activity-small-fenix2-run.fit"))
    outdoor = summarize_activity(act)
    for c in ("lat_deg", "lon_deg"):
        act.records.data[:, act.records.index(c)] = np.nan
    assert np.isfinite(act.records.column("altitude_m")).any()
    rec = summarize_activity(act)
    assert rec["distance_m"] == pytest.approx(act.session_totals["distance_m"], rel=0.01)
    assert rec["ascent_m"] is None and rec["descent_m"] is None
    assert rec["conditions"]["distance_uphill_m"] == 0 and rec["conditions"]["distance_downhill_m"] == 0
    codes = [w["code"] for w in rec["quality"]["warnings"]]
    assert "grade_unknown_level_assumed" in codes
    assert rec["quality"]["valid"] is True
    # the same running, level: the hills part of the load is gone, the pace part unchanged
    assert rec["drivers"]["calves"]["hills"]["impulse_bw_s"] == 0
    assert rec["drivers"]["calves"]["pace"]["impulse_bw_s"] == pytest.approx(
        outdoor["drivers"]["calves"]["pace"]["impulse_bw_s"], rel=0.02
    )


def test_treadmill_sub_sport_is_level_even_with_altitude(tmp_path):
    from test_watch_readers import write_fit

    p = tmp_path / "treadmill.fit"
    info = write_fit(p, n=300, with_position=False, sessions=((1, 1, 0),))
    rec = summarize_run_file(p)
    assert rec["sport"] == "running:treadmill"
    assert rec["distance_m"] == pytest.approx(info["distance_m"], rel=0.01)
    assert "grade_unknown_level_assumed" in [w["code"] for w in rec["quality"]["warnings"]]
    assert any("treadmill" in w for w in rec["warnings"])


# --------------------------------------------------------------------------------------------
# implausible GPS
# --------------------------------------------------------------------------------------------
_TRKPT = re.compile(r"<trkpt [^>]*>.*?</trkpt>", re.S)


def _mutate_trkpts(text: str, fn) -> str:
    """Apply ``fn(index, block)`` to every ``<trkpt>`` block of a GPX text."""
    counter = iter(range(10**9))
    return _TRKPT.sub(lambda m: fn(next(counter), m.group(0)), text)


def _lat123(block: str) -> str:
    return re.sub(r'lat="[^"]*"', 'lat="123.0"', block)


def test_positions_off_the_earth_are_dropped_with_a_warning(tmp_path):
    src = _shared("cerknicko-jezero.gpx")
    text = src.read_text()
    p = tmp_path / "lat123.gpx"
    p.write_text(_mutate_trkpts(text, lambda i, b: _lat123(b) if i in (50, 51, 52) else b))
    clean = clean_activity(read_activity(src))
    run = clean_activity(read_activity(p))
    assert "gps_positions_off_earth" in [w.code for w in run.quality]
    msg = next(w.message for w in run.quality if w.code == "gps_positions_off_earth")
    assert "3 of" in msg and "123" in msg and "-90 to 90" in msg
    assert run.totals.distance_m == pytest.approx(clean.totals.distance_m, rel=0.02)


def test_a_file_with_no_position_on_the_earth_is_refused(tmp_path):
    text = _shared("cerknicko-jezero.gpx").read_text()
    p = tmp_path / "all123.gpx"
    p.write_text(_mutate_trkpts(text, lambda i, b: _lat123(b)))
    with pytest.raises(InputError, match="not on the Earth"):
        read_activity(p)
    r = _cli("run", str(p))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "all123.gpx" in lines[0] and "123" in lines[0]


def test_times_reversed_against_positions_are_refused(tmp_path):
    text = _shared("cerknicko-jezero.gpx").read_text()
    times = [re.search(r"<time>([^<]+)</time>", b).group(1) for b in _TRKPT.findall(text)]
    rev = times[::-1]
    p = tmp_path / "reversed.gpx"

    def swap(i: int, block: str) -> str:
        return re.sub(r"<time>[^<]+</time>", f"<time>{rev[i]}</time>", block)

    p.write_text(_mutate_trkpts(text, swap))
    with pytest.raises(InputError, match="run against the positions"):
        read_activity(p)
    r = _cli("run", str(p))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "reversed.gpx" in r.stderr


def test_a_point_an_hour_out_of_order_is_dropped(tmp_path):
    src = _shared("cerknicko-jezero.gpx")
    text = src.read_text()

    def later(i: int, block: str) -> str:
        if i != 150:
            return block
        t = re.search(r"<time>([^<]+)</time>", block).group(1)
        moved = datetime.fromisoformat(t.replace("Z", "+00:00")) + timedelta(hours=1)
        return block.replace(t, moved.strftime("%Y-%m-%dT%H:%M:%SZ"))

    p = tmp_path / "hour.gpx"
    p.write_text(_mutate_trkpts(text, later))
    clean_act = read_activity(src)
    act = read_activity(p)
    assert act.records.n_frames == clean_act.records.n_frames - 1
    assert act.duration_s == pytest.approx(clean_act.duration_s)
    run = clean_activity(act)
    assert [w.code for w in act.quality] == ["time_out_of_order"]
    assert run.totals.distance_m == pytest.approx(clean_activity(clean_act).totals.distance_m, rel=0.02)


def test_one_absurd_distance_in_a_tcx_file(tmp_path):
    """One trackpoint's DistanceMeters set to 999999 m: it dropped 2/3 of the run before."""
    src = _shared("test.tcx")
    text = src.read_text()
    pts = list(re.finditer(r"(<Trackpoint>.*?<DistanceMeters>)([0-9.]+)(</DistanceMeters>)", text, re.S))
    k = pts[len(pts) // 3]
    p = tmp_path / "absurd.tcx"
    p.write_text(text[: k.start(2)] + "999999" + text[k.end(2) :])
    clean = clean_activity(read_activity(src))
    run = clean_activity(read_activity(p))
    assert "device_distance_spikes" in [w.code for w in run.quality]
    assert run.totals.distance_m == pytest.approx(clean.totals.distance_m, rel=0.01)
    assert run.totals.moving_time_s == pytest.approx(clean.totals.moving_time_s, rel=0.02)
    rec = summarize_run_file(p)
    assert rec["distance_m"] == pytest.approx(sum(_recorded_running_totals(src)), rel=0.01)


def test_a_speed_spike_beyond_the_acceleration_limit_is_an_outlier(tmp_path):
    from test_watch_readers import write_fit

    p = tmp_path / "spike.fit"
    write_fit(p, n=120, speed_m_s=2.0)
    act = read_activity(p)
    v = act.records.data[:, act.records.index("speed_m_s")]
    v[60] = 12.3  # below the 12.5 m/s speed limit, but 10.3 m/s up and down within 1 s each way
    run = clean_activity(act)
    assert run.corrections["speed_outliers"] == 1
    assert np.abs(run.table.column("speed_m_s") - 2.0).max() < 0.05


def test_body_mass_is_checked_by_the_library_too():
    path = _shared("garmin-fenix-5-run.fit")
    for bad in (-70.0, 0.0, float("nan")):
        with pytest.raises(InputError, match="body_mass_kg"):
            summarize_run_file(path, body_mass_kg=bad)
    assert summarize_run_file(path, body_mass_kg=70.0)["groups"]["calves"]["impulse_n_s"] > 0


# --------------------------------------------------------------------------------------------
# the validity mark in every shell
# --------------------------------------------------------------------------------------------
def test_quality_mark_in_cli_output_runs_json_and_html(tmp_path):
    text = _shared("cerknicko-jezero.gpx").read_text()
    p = tmp_path / "lat123.gpx"
    p.write_text(_mutate_trkpts(text, lambda i, b: _lat123(b) if i == 40 else b))
    out = tmp_path / "out"
    r = _cli("run", str(p), str(_shared("test.tcx")), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "quality: valid" in r.stdout
    assert "[gps_positions_off_earth]" in r.stdout
    assert "distance: the device's recorded distance" in r.stdout  # the TCX file
    recs = json.loads((out / "runs.json").read_text())
    assert [x["quality"]["valid"] for x in recs] == [True, True]
    assert "gps_positions_off_earth" in [w["code"] for w in recs[0]["quality"]["warnings"]]
    html = (out / "runs.html").read_text()
    assert 'data-code="gps_positions_off_earth"' in html
    assert html.count('data-valid="true"') == 2


def test_tcx_with_two_running_activities_and_a_ride(tmp_path):
    """A TCX file holding the shared run, a ride and the run again an hour later: each running
    activity's DistanceMeters restart from zero and both are counted."""
    src = _shared("test.tcx")
    text = src.read_text()
    act = re.search(r'<Activity Sport="Running">.*?</Activity>', text, re.S)
    assert act is not None

    def shifted(block: str, hours: int) -> str:
        def one(m: re.Match) -> str:
            t = datetime.fromisoformat(m.group(0).replace("Z", "+00:00")) + timedelta(hours=hours)
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")

        return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", one, block)

    ride = shifted(act.group(0), 1).replace('Sport="Running"', 'Sport="Biking"')
    second = shifted(act.group(0), 2)
    p = tmp_path / "two_runs.tcx"
    p.write_text(text[: act.end()] + ride + second + text[act.end() :])
    one = summarize_run_file(src)
    rec = summarize_run_file(p)
    assert rec["distance_m"] == pytest.approx(2 * sum(_recorded_running_totals(src)), rel=0.01)
    assert rec["distance"]["track_m"] == pytest.approx(2 * one["distance"]["track_m"], rel=0.01)
    assert "other_sports_left_out" in [w["code"] for w in rec["quality"]["warnings"]]


@pytest.mark.parametrize("name", ["test.tcx", "cerknicko-jezero.gpx"])
def test_a_cut_xml_file_keeps_the_part_before_the_cut(tmp_path, name):
    src = _shared(name)
    raw = src.read_bytes()
    p = tmp_path / f"cut{src.suffix}"
    p.write_bytes(raw[: len(raw) // 2])
    whole = read_activity(src)
    act = read_activity(p)
    assert [w.code for w in act.quality] == ["file_truncated"]
    # the first half of the points, in full: the same times and positions as the whole file's
    n = act.records.n_frames
    assert 0.3 * whole.records.n_frames < n < 0.7 * whole.records.n_frames
    assert np.array_equal(act.records.column("lat_deg"), whole.records.column("lat_deg")[:n], equal_nan=True)
    rec = summarize_run_file(p)
    # a cut file's recorded totals are not the run's: the track's distance is reported
    assert rec["distance"]["source"] == "track"
    assert rec["distance_m"] < 0.7 * summarize_run_file(src)["distance_m"]
    assert "file_truncated" in [w["code"] for w in rec["quality"]["warnings"]]


def test_a_damaged_but_complete_xml_file_is_still_refused(tmp_path):
    text = _shared("test.tcx").read_text()
    p = tmp_path / "broken.tcx"
    p.write_text(text.replace("</Trackpoint>", "</Trackpointt>", 1))
    with pytest.raises(InputError, match="is not valid XML"):
        read_activity(p)


def test_a_run_mostly_off_the_earth_is_marked_not_valid(tmp_path):
    text = _shared("cerknicko-jezero.gpx").read_text()
    p = tmp_path / "mostly_off.gpx"
    p.write_text(_mutate_trkpts(text, lambda i, b: _lat123(b) if i % 3 else b))  # 2 of 3 points
    out = tmp_path / "out"
    r = _cli("run", str(p), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "quality: NOT VALID" in r.stdout and "invalid [gps_positions_off_earth]" in r.stdout
    rec = json.loads((out / "runs.json").read_text())[0]
    assert rec["quality"]["valid"] is False
    assert 'data-valid="false"' in (out / "runs.html").read_text()
