"""The run history: idempotent, concurrent and crash-safe import; weekly load and spikes."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runmuscles.history import (
    activities,
    export_csv,
    import_paths,
    open_history,
    store_activity,
    weekly_loads,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
WATCH = DATA / "watch"
# Runs of the shared folder that are runs (the bike ride is refused).
RUN_FILES = (
    "activity-small-fenix2-run.fit",
    "activity-unexpected-eof.fit",
    "cerknicko-jezero.gpx",
    "garmin-fenix-5-run.fit",
    "korita-zbevnica.gpx",
    "test.tcx",
)


def _need_watch():
    if not WATCH.is_dir():
        pytest.skip("shared watch data absent")


def _counts(db: Path) -> tuple[int, int, int]:
    """Activities, distinct hashes, and activities whose group loads are incomplete."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = con.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
        distinct = con.execute("SELECT COUNT(DISTINCT content_hash) FROM activities").fetchone()[0]
        groups = con.execute("SELECT COUNT(DISTINCT muscle_group) FROM group_loads").fetchone()[0]
        partial = con.execute(
            "SELECT COUNT(*) FROM activities a WHERE (SELECT COUNT(*) FROM group_loads g "
            "WHERE g.activity_id = a.id) != ?",
            (groups,),
        ).fetchone()[0]
    finally:
        con.close()
    return n, distinct, partial


def test_import_twice_stores_each_activity_once(tmp_path):
    _need_watch()
    db = tmp_path / "h.sqlite"
    eng = open_history(db)
    first = import_paths(eng, [WATCH])
    by_name = {r.path.name: r for r in first}
    assert by_name["garmin-fenix-5-bike.fit"].status == "error"
    assert "not a run" in by_name["garmin-fenix-5-bike.fit"].message
    assert sorted(n for n, r in by_name.items() if r.status == "added") == sorted(RUN_FILES)
    # A copy under another name is the same content: stored once.
    shutil.copy(WATCH / "test.tcx", tmp_path / "copy.tcx")
    second = import_paths(eng, [WATCH, tmp_path / "copy.tcx"])
    assert {r.status for r in second if r.path.name != "garmin-fenix-5-bike.fit"} == {"duplicate"}
    assert _counts(db) == (len(RUN_FILES), len(RUN_FILES), 0)
    # The stored distance is the reported one: the laps' recorded total (the track's is 4686 m).
    tcx = [a for a in activities(eng) if a["source"].endswith("test.tcx")][0]
    assert tcx["distance_m"] == pytest.approx(4689.2, abs=0.1)
    assert tcx["groups"]["calves"]["impulse_bw_s"] > 0
    assert any("grade" in w for w in json.loads(tcx["warnings"]))


def _import_worker(db: str, paths: list[str], delay_after_first_s: float) -> None:
    eng = open_history(db)
    done = []

    def wait(_res):
        done.append(1)
        if len(done) == 1 and delay_after_first_s:
            time.sleep(delay_after_first_s)

    import_paths(eng, paths, on_result=wait)


def test_two_processes_importing_at_once(tmp_path):
    _need_watch()
    db = tmp_path / "h.sqlite"
    open_history(db).dispose()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_import_worker, args=(str(db), [str(WATCH)], 0.0)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert _counts(db) == (len(RUN_FILES), len(RUN_FILES), 0)


def test_killed_import_keeps_what_was_committed(tmp_path):
    _need_watch()
    db = tmp_path / "h.sqlite"
    open_history(db).dispose()
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_import_worker, args=(str(db), [str(WATCH / f) for f in RUN_FILES], 60.0))
    p.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _counts(db)[0] < 1:
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    assert p.exitcode == -signal.SIGKILL
    n, _, partial = _counts(db)
    assert n == 1 and partial == 0
    # Importing again completes the rest, without duplicating the first.
    res = import_paths(open_history(db), [WATCH / f for f in RUN_FILES])
    assert [r.status for r in res].count("duplicate") == 1
    assert _counts(db) == (len(RUN_FILES), len(RUN_FILES), 0)


#: work per group of the synthetic runs (the tests look at impulse only)
_WORK = {"positive_work_j_per_kg": 1.0, "negative_work_j_per_kg": -1.0}


def _run_row(start: datetime, tag: str) -> dict:
    """The activity row of a synthetic 10 km flat run starting at ``start``."""
    return {
        "content_hash": f"{start.isoformat()}-{tag}",
        "source": "synthetic",
        "sport": "running",
        "start_time": start,
        "distance_m": 10000.0,
        "duration_s": 3000.0,
        "ascent_m": 0.0,
        "descent_m": 0.0,
        "warnings": "[]",
        "imported_at": start,
    }


def _add(eng, start: datetime, calves: float, quads: float) -> None:
    groups = {"calves": {"impulse_bw_s": calves, **_WORK}, "quadriceps": {"impulse_bw_s": quads, **_WORK}}
    store_activity(eng, _run_row(start, f"{calves}"), groups)


def test_weekly_comparison_is_uncoupled_and_descriptive(tmp_path):
    eng = open_history(f"sqlite:///{tmp_path / 'w.sqlite'}")
    monday = datetime(2026, 3, 2, 7, 0)
    for w in range(4):  # three steady weeks, then a hilly week: calf load 2x, quads unchanged
        for day in (0, 2, 4):
            _add(eng, monday + timedelta(weeks=w, days=day), 100.0 * (2 if w == 3 else 1), 80.0)
    rows = weekly_loads(eng)
    assert len(rows) == 4 * 2
    last = {r["group"]: r for r in rows if r["week_start"] == "2026-03-23"}
    # this week 600 against the mean of the 3 weeks before, 300 (not a 4-week mean that
    # includes this week, 375, which would read 1.6): ratio 2.0
    assert last["calves"]["load"] == pytest.approx(600.0)
    assert last["calves"]["previous_load"] == pytest.approx(300.0)
    assert last["calves"]["ratio"] == pytest.approx(2.0)
    assert last["calves"]["rise"] and "+100 % vs the mean of the previous 3 weeks" in last["calves"]["note"]
    assert "not validated for injury" in last["calves"]["note"]
    assert last["quadriceps"]["ratio"] == pytest.approx(1.0) and not last["quadriceps"]["rise"]
    assert all(r["ratio"] is None for r in rows if r["week_start"] < "2026-03-23")
    for r in rows:  # the wording follows the evidence in runners
        assert not re.search(r"danger|sweet spot|risk|acute:chronic", r["note"], re.IGNORECASE)
    out = export_csv(rows, tmp_path / "w.csv")
    assert out.read_text().splitlines()[0].startswith("week_start,group,runs")
    assert len(out.read_text().splitlines()) == 9


def test_no_ratio_without_a_base(tmp_path):
    """One run after three empty weeks is not a spike: there is no base to compare with."""
    eng = open_history(tmp_path / "b.sqlite")
    monday = datetime(2026, 3, 2, 7, 0)
    _add(eng, monday, 100.0, 80.0)
    _add(eng, monday + timedelta(weeks=4), 100.0, 80.0)
    rows = weekly_loads(eng)
    assert len({r["week_start"] for r in rows}) == 5
    assert all(r["ratio"] is None and not r["rise"] for r in rows)


def test_cli_run_json_and_exit_code():
    _need_watch()
    import subprocess
    import sys

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "runmuscles",
            "run",
            "--json",
            str(WATCH / "test.tcx"),
            str(WATCH / "garmin-fenix-5-bike.fit"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    ok, bad = (json.loads(line) for line in p.stdout.splitlines())
    for key in ("sport", "distance_m", "duration_s", "ascent_m", "descent_m", "groups", "units", "warnings"):
        assert key in ok
    assert ok["distance_m"] == pytest.approx(4689.2, abs=0.1)  # the laps' recorded total
    assert ok["distance"]["source"] == "recorded" and ok["distance"]["track_m"] == pytest.approx(4686, abs=1)
    assert ok["quality"]["valid"] is True
    assert set(ok["groups"]["calves"]) >= {"impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg"}
    assert "not a run" in bad["error"] and "Traceback" not in p.stderr


def _add_parts(eng, start: datetime, parts: dict[str, tuple[float, float, float]], tag: str = "") -> None:
    """A run whose per-group impulse is split into (pace, hills, cadence)."""
    row = _run_row(start, tag)
    row["drivers"] = json.dumps(
        {
            g: {k: {"impulse_bw_s": x} for k, x in zip(("pace", "hills", "cadence"), p, strict=True)}
            for g, p in parts.items()
        }
    )
    store_activity(eng, row, {g: {"impulse_bw_s": sum(p), **_WORK} for g, p in parts.items()})


@pytest.mark.parametrize(
    ("last_week", "driver", "text"),
    [
        ({"calves": (100.0, 80.0, 0.0), "quadriceps": (80.0, -2.0, 0.0)}, "hills", "mostly the hilly runs"),
        (
            {"calves": (180.0, 0.0, 0.0), "quadriceps": (80.0, 0.0, 0.0)},
            "pace",
            "mostly more or faster running",
        ),
        (
            {"calves": (100.0, 0.0, 80.0), "quadriceps": (80.0, 0.0, 0.0)},
            "cadence",
            "mostly the change of cadence",
        ),
    ],
    ids=["hills", "pace", "cadence"],
)
def test_spike_note_names_what_drove_it(tmp_path, last_week, driver, text):
    eng = open_history(tmp_path / "d.sqlite")
    monday = datetime(2026, 3, 2, 7, 0)
    steady = {"calves": (100.0, 0.0, 0.0), "quadriceps": (80.0, 0.0, 0.0)}
    for w in range(4):
        for day in (0, 2, 4):
            _add_parts(
                eng, monday + timedelta(weeks=w, days=day), last_week if w == 3 else steady, f"{w}{day}"
            )
    last = {r["group"]: r for r in weekly_loads(eng) if r["week_start"] == "2026-03-23"}
    calves = last["calves"]
    # this week 540 against the previous 3 weeks' mean 300: ratio 1.8
    assert calves["ratio"] == pytest.approx(1.8) and calves["rise"]
    assert calves["driver"] == driver
    assert calves["note"] == (
        f"calves load +80 % vs the mean of the previous 3 weeks: {text} "
        "(descriptive; not validated for injury)"
    )
    assert sum(calves[f"{k}_load"] for k in ("pace", "hills", "cadence")) == pytest.approx(calves["load"])
    assert not last["quadriceps"]["rise"] and last["quadriceps"]["driver"] is None


def test_old_database_gains_the_drivers_column(tmp_path):
    """A history written before drivers were stored opens, keeps its runs, and their spikes
    are flagged without a driver (unknown), while new runs store theirs."""
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(
        """
        CREATE TABLE activities (id INTEGER PRIMARY KEY AUTOINCREMENT,
          content_hash VARCHAR(64) NOT NULL UNIQUE, source TEXT NOT NULL,
          sport VARCHAR(40) NOT NULL, start_time DATETIME NOT NULL,
          distance_m FLOAT NOT NULL, duration_s FLOAT NOT NULL, ascent_m FLOAT, descent_m FLOAT,
          warnings TEXT NOT NULL, imported_at DATETIME NOT NULL);
        CREATE TABLE group_loads (
          activity_id INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
          muscle_group VARCHAR(40) NOT NULL, impulse_bw_s FLOAT NOT NULL,
          positive_work_j_per_kg FLOAT NOT NULL, negative_work_j_per_kg FLOAT NOT NULL,
          PRIMARY KEY (activity_id, muscle_group));
        INSERT INTO activities VALUES (1, 'abc', 'old.fit', 'running', '2026-03-02 07:00:00.000000',
          5000, 1500, NULL, NULL, '[]', '2026-03-02 08:00:00.000000');
        INSERT INTO group_loads VALUES (1, 'calves', 50, 1, -1);
        """
    )
    con.commit()
    con.close()
    eng = open_history(db)
    monday = datetime(2026, 3, 2, 7, 0)
    for w in range(4):
        for day in (1, 3):
            calves = (150.0, 0.0, 0.0) if w == 3 else (50.0, 0.0, 0.0)
            _add_parts(eng, monday + timedelta(weeks=w, days=day), {"calves": calves}, f"{w}{day}")
    acts = activities(eng)
    assert acts[0]["source"] == "old.fit" and acts[0]["drivers"] is None
    assert json.loads(acts[1]["drivers"])["calves"]["pace"]["impulse_bw_s"] == 50.0
    last = [r for r in weekly_loads(eng) if r["week_start"] == "2026-03-23"][0]
    assert last["rise"] and last["driver"] is None
    assert last["note"].endswith("previous 3 weeks (descriptive; not validated for injury)")
