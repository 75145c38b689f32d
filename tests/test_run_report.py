"""`runmuscles run --out`: the run report with its body map; `runmuscles load-model build` errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.load_model import summarize_run_file
from runmuscles.analyses.runs import EARTH_RADIUS_M
from runmuscles.reports.bodymap import BODY_MAP_GROUPS
from runmuscles.reports.runs_html import run_report_html, write_run_report

REPO = Path(__file__).resolve().parents[1]
M_PER_DEG = np.pi * EARTH_RADIUS_M / 180.0
T0 = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)


def _hilly_gpx(path: Path, duration_s: int = 1800, speed_m_s: float = 3.2) -> Path:
    """A run due north at a steady speed over rolling hills (7 %), with cadence (per foot)."""
    t = np.arange(duration_s + 1)
    north = speed_m_s * t
    phase = np.mod(north, 1200.0) / 1200.0
    ele = 250.0 + 0.07 * 1200.0 * np.where(phase < 0.5, phase, 1.0 - phase)
    pts = "".join(
        f'<trkpt lat="{46.0 + north[i] / M_PER_DEG:.8f}" lon="14.5"><ele>{ele[i]:.2f}</ele>'
        f"<time>{(T0 + timedelta(seconds=int(t[i]))).strftime('%Y-%m-%dT%H:%M:%SZ')}</time>"
        "<extensions><ns3:TrackPointExtension><ns3:cad>86</ns3:cad></ns3:TrackPointExtension></extensions>"
        "</trkpt>"
        for i in range(t.size)
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        "<trk><type>running</type><trkseg>" + pts + "</trkseg></trk></gpx>"
    )
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, env=env, timeout=300
    )


def _numbers_in(html: str, rec: dict) -> None:
    """Every group's impulse, work and drivers, as the page formats them, are on the page."""
    for g, v in rec["groups"].items():
        row = re.search(rf'<tr class="group-row" data-group="{g}">(.*?)</tr>', html, re.S)
        assert row, f"no table row for {g}"
        cells = dict(re.findall(r'data-col="(\w+)">([^<]*)<', row.group(1)))
        assert cells["impulse_bw_s"] == f"{v['impulse_bw_s']:.1f}"
        assert cells["positive_work_j_per_kg"] == f"{v['positive_work_j_per_kg']:.1f}"
        assert cells["negative_work_j_per_kg"] == f"{v['negative_work_j_per_kg']:.1f}"
        d = rec["drivers"][g]
        assert cells["pace"] == f"{d['pace']['impulse_bw_s']:.1f}"
        assert cells["hills"] == f"{d['hills']['impulse_bw_s']:+.1f}"
        assert cells["cadence"] == f"{d['cadence']['impulse_bw_s']:+.1f}"


def _body_map_values(html: str) -> dict[str, set[float]]:
    got: dict[str, set[float]] = {}
    for m in re.finditer(r'<path class="region"[^>]*data-group="(\w+)"[^>]*data-v-load="([^"]*)"', html):
        got.setdefault(m.group(1), set()).add(float(m.group(2)))
    return got


def test_run_report_has_body_map_and_the_groups_numbers(tmp_path):
    rec = summarize_run_file(_hilly_gpx(tmp_path / "hills.gpx"))
    path = write_run_report([rec], tmp_path / "out")
    assert path.name == "runs.html" and path.exists()
    html = path.read_text()
    _numbers_in(html, rec)
    # body map: every drawn group, both sides, coloured by the run's impulse of that group
    values = _body_map_values(html)
    assert set(values) == set(BODY_MAP_GROUPS)
    for g in BODY_MAP_GROUPS:
        assert values[g] == {float(f"{rec['groups'][g]['impulse_bw_s']:.6g}")}
    fills = set(re.findall(r'<path class="region"[^>]*fill="(#[0-9a-f]{6})"', html))
    assert len(fills) > 3  # coloured by load, not one colour
    assert "hills.gpx" in html and "uphill" in html
    # several runs: one section each
    two = run_report_html([rec, rec])
    assert two.count('<section class="run"') == 2


def test_cli_run_out_writes_report_and_json(tmp_path):
    gpx = _hilly_gpx(tmp_path / "hills.gpx")
    out = tmp_path / "report"
    p = _cli("run", str(gpx), "--json", "--out", str(out))
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout.splitlines()[0])
    assert json.loads((out / "runs.json").read_text()) == [rec]
    html = (out / "runs.html").read_text()
    _numbers_in(html, rec)
    # the drivers in the JSON: pace, hills and cadence add up to each group's load
    assert rec["units"]["impulse_bw_s"].startswith("body-weight seconds")
    for g, d in rec["drivers"].items():
        total = sum(d[k]["impulse_bw_s"] for k in ("pace", "hills", "cadence"))
        assert total == pytest.approx(rec["groups"][g]["impulse_bw_s"], rel=1e-9)
    assert rec["conditions"]["cadence_source"] == "file"
    # the terminal table shows the split
    text = _cli("run", str(gpx))
    assert text.returncode == 0, text.stderr
    assert "pace (BW s)" in text.stdout and "hills" in text.stdout and "cadence" in text.stdout
    calves = next(line for line in text.stdout.splitlines() if line.strip().startswith("calves"))
    assert re.search(r"[+-]\d+ %\s+[+-]\d+ %$", calves)


def test_cli_load_model_build_wrong_folder(tmp_path):
    p = _cli("load-model", "build", str(tmp_path / "nowhere"), "--out", str(tmp_path / "lm.json"))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr
    assert "nowhere: not found" in p.stderr
    (tmp_path / "empty").mkdir()
    p = _cli("load-model", "build", str(tmp_path / "empty"))
    assert p.returncode == 2 and "no subject folders with ik/" in p.stderr
    p = _cli("load-model", "build", str(tmp_path / "empty"), "--cadences", "90,95")
    assert p.returncode == 2 and "must include 100" in p.stderr
    assert not (tmp_path / "lm.json").exists()


def test_run_report_follows_the_profile_units(tmp_path):
    """``runmuscles run --out`` with a profile in miles: distances and pace in mi (never km),
    in the run's facts and its advice section; the same numbers as the km page."""
    from runmuscles.profile import format_distance, format_pace

    gpx = _hilly_gpx(tmp_path / "hills.gpx")
    db = str(tmp_path / "h.sqlite")
    p = _cli("profile", "--db", db, "--units", "mi")
    assert p.returncode == 0, p.stderr
    out = tmp_path / "report"
    p = _cli("run", str(gpx), "--json", "--out", str(out), "--db", db)
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout.splitlines()[0])
    html = (out / "runs.html").read_text()
    km_word = re.compile(r"\bkm\b|/km\b|per-km")
    assert not km_word.search(html), km_word.search(html)
    assert format_distance(rec["distance_m"], "mi") in html
    assert format_pace(rec["pace_s_per_km"], "mi") in html and "/mi" in html
    assert "impulse (BW s/mi)" in html  # the advice section's table
    _numbers_in(html, rec)  # the loads themselves do not change with the unit
    km_page = run_report_html([rec])
    assert format_distance(rec["distance_m"], "km") in km_page and "impulse (BW s/km)" in km_page
