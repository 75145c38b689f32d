"""The history's storage: migrations, engine settings per run, recompute, profile, compare, backup.

Every storage test runs on SQLite and on PostgreSQL (``$RUNMUSCLES_TEST_POSTGRES_URL``: skipped
locally without it, a failure in CI).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from runmuscles import __version__
from runmuscles.datastore import delete_run, delete_upload, restore_archive, write_archive
from runmuscles.errors import InputError
from runmuscles.history import (
    activities,
    current_settings_key,
    import_paths,
    open_history,
    outdated_runs,
    recent_weeks,
    recompute,
    settings_key,
    store_activity,
    weekly_loads,
)
from runmuscles.history_compare import compare, compare_lines, parse_ref
from runmuscles.migrations import HEAD, HERE
from runmuscles.profile import Profile, load_profile, resolve, save_profile

REPO = Path(__file__).resolve().parents[1]
WATCH = (REPO / ".." / "shared" / "data" / "watch").resolve()
LEGACY = REPO / "tests" / "data" / "history_before_migrations.sqlite"
#: The fixture was made by runmuscles before migrations (its create_all path), importing these
#: three files from ../shared/data/watch (its sources are the paths they had then).
LEGACY_FILES = ("test.tcx", "activity-small-fenix2-run.fit", "korita-zbevnica.gpx")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A new, empty history location on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'h.sqlite'}"
    return request.getfixturevalue("new_postgres_db")


def _need_watch():
    if not WATCH.is_dir():
        pytest.skip("shared watch data absent")


def _old_create_all(url: str) -> None:
    """The tables exactly as runmuscles created them before migrations (``create_all``)."""
    md = sa.MetaData()
    sa.Table(
        "activities",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sport", sa.String(40), nullable=False),
        sa.Column("start_time", sa.DateTime, nullable=False, index=True),
        sa.Column("distance_m", sa.Float, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("ascent_m", sa.Float),
        sa.Column("descent_m", sa.Float),
        sa.Column("warnings", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.Column("drivers", sa.Text),
    )
    sa.Table(
        "group_loads",
        md,
        sa.Column(
            "activity_id", sa.Integer, sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("muscle_group", sa.String(40), primary_key=True),
        *(
            sa.Column(c, sa.Float, nullable=False)
            for c in ("impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg")
        ),
    )
    eng = sa.create_engine(url)
    md.create_all(eng)
    eng.dispose()


def _old_rows(n: int = 3) -> list[tuple[dict, dict]]:
    t0 = datetime(2024, 3, 4, 7, 0)
    out = []
    for i in range(n):
        row = {
            "content_hash": f"{i:064x}",
            "source": f"/nowhere/run{i}.fit",
            "sport": "running",
            "start_time": t0 + timedelta(days=2 * i),
            "distance_m": 5000.0 + 1000 * i,
            "duration_s": 1800.0 + 300 * i,
            "ascent_m": 10.0,
            "descent_m": 12.0,
            "warnings": "[]",
            "imported_at": t0,
            "drivers": None,
        }
        groups = {
            g: {
                "impulse_bw_s": 100.0 * (i + 1) * k,
                "positive_work_j_per_kg": 2.0 * k,
                "negative_work_j_per_kg": -k,
            }
            for k, g in enumerate(("calves", "quadriceps", "gluteals"), start=1)
        }
        out.append((row, groups))
    return out


# -- migrations ----------------------------------------------------------------------------------


def test_head_is_the_newest_script():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def test_a_new_history_is_created_at_the_newest_revision(db_url):
    eng = open_history(db_url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
        cols = {c["name"] for c in sa.inspect(conn).get_columns("activities")}
        assert {"engine_version", "settings", "computed_at"} <= cols
        assert "profile" in sa.inspect(conn).get_table_names()
    eng.dispose()


def test_a_history_made_before_migrations_upgrades_without_loss(db_url):
    """Made with the previous code's create_all (both backends), with rows: every row is kept."""
    _old_create_all(db_url)
    old = _old_rows()
    eng = sa.create_engine(db_url)
    with eng.begin() as conn:
        for row, groups in old:
            new_id = conn.execute(
                sa.text(
                    "INSERT INTO activities (content_hash, source, sport, start_time, distance_m, "
                    "duration_s, ascent_m, descent_m, warnings, imported_at, drivers) VALUES "
                    "(:content_hash, :source, :sport, :start_time, :distance_m, :duration_s, :ascent_m, "
                    ":descent_m, :warnings, "
                    ":imported_at, :drivers) RETURNING id"
                ),
                row,
            ).scalar_one()
            for g, v in groups.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO group_loads VALUES (:a, :g, :impulse_bw_s, :positive_work_j_per_kg, "
                        ":negative_work_j_per_kg)"
                    ),
                    {"a": new_id, "g": g, **v},
                )
    eng.dispose()
    eng = open_history(db_url)
    acts = activities(eng)
    assert len(acts) == len(old)
    for a, (row, groups) in zip(acts, old, strict=True):
        for k in ("content_hash", "source", "start_time", "distance_m", "duration_s"):
            assert a[k] == row[k]
        assert a["groups"] == groups
        assert a["engine_version"] is None and a["settings"] is None  # unknown: stored before 0002
        assert settings_key(a["engine_version"], a["settings"]) == "unknown"
    # opening again changes nothing; a new run can be stored next to the old ones
    eng.dispose()
    eng = open_history(db_url)
    assert len(activities(eng)) == len(old)
    eng.dispose()


def test_the_committed_history_of_the_previous_code_upgrades_and_recomputes(tmp_path):
    """A small SQLite history written by runmuscles before migrations (tests/data)."""
    _need_watch()
    db = tmp_path / "old.sqlite"
    shutil.copy(LEGACY, db)
    con = sqlite3.connect(db)
    assert {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {
        "activities",
        "group_loads",
    }
    before = con.execute("SELECT id, content_hash, distance_m FROM activities ORDER BY id").fetchall()
    loads_before = con.execute("SELECT * FROM group_loads ORDER BY activity_id, muscle_group").fetchall()
    # the files are where this checkout keeps ../shared
    for (aid,), name in zip(
        con.execute("SELECT id FROM activities ORDER BY id").fetchall(), LEGACY_FILES, strict=True
    ):
        con.execute("UPDATE activities SET source = ? WHERE id = ?", (str(WATCH / name), aid))
    con.commit()
    con.close()
    eng = open_history(db)
    acts = activities(eng)
    assert sorted((a["id"], a["content_hash"], a["distance_m"]) for a in acts) == before
    con = sqlite3.connect(db)
    assert (
        con.execute("SELECT * FROM group_loads ORDER BY activity_id, muscle_group").fetchall() == loads_before
    )
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    con.close()
    assert sorted(outdated_runs(eng)) == sorted(a["id"] for a in acts)
    done = recompute(eng)
    assert {r.status for r in done} == {"recomputed"}
    assert outdated_runs(eng) == []
    after = activities(eng)
    assert all(a["engine_version"] == __version__ for a in after)
    # the recomputed loads are what this engine gives the same files in a new history (the
    # stored ones came from the load model of the code that made the file; it has changed since)
    fresh = open_history(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    import_paths(fresh, [WATCH / name for name in LEGACY_FILES])
    by_hash = {a["content_hash"]: a for a in activities(fresh)}
    for b in after:
        want = by_hash[b["content_hash"]]
        for g in want["groups"]:
            got, expected = b["groups"][g]["impulse_bw_s"], want["groups"][g]["impulse_bw_s"]
            assert got == pytest.approx(expected, rel=1e-9)
    fresh.dispose()
    eng.dispose()


def test_a_history_of_a_newer_runmuscles_is_refused(db_url):
    open_history(db_url).dispose()
    eng = sa.create_engine(db_url)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    eng.dispose()
    with pytest.raises(InputError, match="newer runmuscles"):
        open_history(db_url)


# -- engine settings, mixed weeks, recompute ----------------------------------------------------------


def test_each_run_keeps_engine_version_and_settings_and_mixed_weeks_are_marked(db_url, tmp_path):
    _need_watch()
    eng = open_history(db_url)
    (tmp_path / "w").mkdir()
    shutil.copy(WATCH / "test.tcx", tmp_path / "w" / "run.tcx")
    [res] = import_paths(eng, [tmp_path / "w" / "run.tcx"])
    [a] = activities(eng)
    settings = json.loads(a["settings"])
    assert a["engine_version"] == __version__
    assert settings["load_model"]["date"] and settings["strength"] == "volume"
    assert settings["usual_cadence_spm"] is None
    assert outdated_runs(eng) == []
    # a second run in the same week, stored by another engine version: the week is marked
    row = {
        k: a[k] for k in ("source", "sport", "distance_m", "duration_s", "ascent_m", "descent_m", "warnings")
    }
    row.update(
        content_hash="f" * 64,
        start_time=a["start_time"] + timedelta(hours=1),
        imported_at=a["imported_at"],
        engine_version="0.0.1",
        settings=a["settings"],
    )
    other = store_activity(eng, row, a["groups"])
    weeks, _ = recent_weeks(eng, 4)
    assert weeks[-1]["mixed_settings"] is True
    assert outdated_runs(eng) == [other]
    # the profile's cadence changes the settings of what an import stores now: both are outdated
    save_profile(eng, Profile(cadence_spm=176.0))
    assert current_settings_key(eng) != settings_key(a["engine_version"], a["settings"])
    assert sorted(outdated_runs(eng)) == sorted([a["id"], other])
    done = {r.activity_id: r for r in recompute(eng)}
    assert done[a["id"]].status == "recomputed"
    assert done[other].status == "error"  # its content is not the file's: left as it was
    assert "changed" in done[other].message
    weeks, _ = recent_weeks(eng, 4)
    assert weeks[-1]["mixed_settings"] is True  # still mixed: one run could not be recomputed
    fixed = [x for x in activities(eng) if x["id"] == a["id"]][0]
    assert json.loads(fixed["settings"])["usual_cadence_spm"] == 176.0
    # test.tcx has no cadence: the profile's 176 steps/min differs from the runners' typical one
    assert fixed["groups"]["calves"]["impulse_bw_s"] != pytest.approx(a["groups"]["calves"]["impulse_bw_s"])
    delete_run(eng, tmp_path / "nodata", other)
    weeks, _ = recent_weeks(eng, 4)
    assert weeks[-1]["mixed_settings"] is False
    (tmp_path / "w" / "run.tcx").unlink()
    [gone] = recompute(eng, [a["id"]])
    assert gone.status == "error" and "no longer" in gone.message
    with pytest.raises(InputError, match="no such run"):
        recompute(eng, [999])
    eng.dispose()


# -- profile ---------------------------------------------------------------------------------------


def test_profile_is_stored_checked_and_resolved(db_url):
    eng = open_history(db_url)
    assert load_profile(eng) == Profile()
    p = save_profile(eng, Profile(body_mass_kg=61.5, height_m=1.7, sex="female", cadence_spm=172, units="mi"))
    assert load_profile(eng) == p
    save_profile(eng, Profile(units="km"))
    assert load_profile(eng) == Profile(units="km")
    for bad in (
        {"body_mass_kg": 2.0},
        {"height_m": 170.0},
        {"cadence_spm": 20.0},
        {"units": "yd"},
        {"sex": "x"},
    ):
        with pytest.raises(InputError):
            Profile(**bad)
    assert resolve(70.0, 61.5, "--mass").source == "flag"
    assert resolve(None, 61.5, "--mass").said("body mass", "kg") == "body mass: 61.5 kg (from the profile)"
    assert "not set" in resolve(None, None, "--mass").said("body mass", "kg")
    eng.dispose()


# -- compare -----------------------------------------------------------------------------------------


def test_compare_two_runs_and_two_weeks(db_url):
    eng = open_history(db_url)
    t0 = datetime(2024, 3, 4, 7, 0)  # a Monday
    for i, (days, scale, dist) in enumerate(((0, 1.0, 5000.0), (2, 1.0, 5000.0), (7, 1.5, 10000.0))):
        store_activity(
            eng,
            {
                "content_hash": f"{i:064x}",
                "source": f"/x/{i}.fit",
                "sport": "running",
                "start_time": t0 + timedelta(days=days),
                "distance_m": dist,
                "duration_s": 1800.0,
                "ascent_m": None,
                "descent_m": None,
                "warnings": "[]",
                "imported_at": t0,
                "engine_version": __version__,
                "settings": "{}",
            },
            {
                "calves": {
                    "impulse_bw_s": 200.0 * scale,
                    "positive_work_j_per_kg": 1.0,
                    "negative_work_j_per_kg": -1.0,
                },
                "shin": {"impulse_bw_s": 50.0, "positive_work_j_per_kg": 0.2, "negative_work_j_per_kg": -0.1},
            },
        )
    r = compare(eng, "1", "3")
    calves = {g["group"]: g for g in r["groups"]}["calves"]["impulse_bw_s"]
    assert (calves["a"], calves["b"], calves["change_pct"]) == (200.0, 300.0, pytest.approx(50.0))
    assert calves["per_km_change_pct"] == pytest.approx(-25.0)  # twice the distance, 1.5 times the load
    assert r["comparable"] is True and r["distance_change_pct"] == pytest.approx(100.0)
    assert "largest rise: calves +50 %; smallest rise: shin +0 %" in r["notes"][0]
    w = compare(eng, "2024-03-06", "2024-03-11")  # any day of each week
    assert w["a"]["runs"] == 2 and w["b"]["runs"] == 1
    wc = {g["group"]: g for g in w["groups"]}["calves"]["impulse_bw_s"]
    assert (wc["a"], wc["b"]) == (400.0, 300.0)
    text = "\n".join(compare_lines(w, "mi"))
    assert "week of 2024-03-04" in text and "6.21 mi" in text and "-25 %" in text
    with pytest.raises(InputError, match="not a run with a week"):
        compare(eng, "1", "2024-03-04")
    with pytest.raises(InputError, match="no such run"):
        compare(eng, "1", "99")
    with pytest.raises(InputError, match="no runs"):
        compare(eng, "2024-01-01", "2024-03-04")
    for bad in ("../etc", "1;DROP", "2024-13-45", "-1", "0"):
        with pytest.raises(InputError):
            parse_ref(bad)
    eng.dispose()


# -- my data: delete, export, backup and restore ------------------------------------------------------


def test_backup_restores_the_same_history_into_an_empty_data_folder(
    db_url, tmp_path, postgres_or_sqlite_second
):
    _need_watch()
    data = tmp_path / "data"
    batch = data / "uploads" / ("a" * 32)
    batch.mkdir(parents=True)
    shutil.copy(WATCH / "test.tcx", batch / "f1.tcx")
    (batch / "manifest.json").write_text(
        json.dumps(
            [{"file_id": "f1", "name": "my run.tcx", "suffix": ".tcx", "path": "f1.tcx", "size_bytes": 1}]
        )
    )
    lab = data / "analyses" / ("b" * 32)  # an app lab analysis: its settings and results
    (lab / "results").mkdir(parents=True)
    (lab / "job.json").write_text(json.dumps({"files": {"trial": "RBDS001runT35.c3d"}}))
    (lab / "results" / "summary.json").write_text(json.dumps({"n_strides": 3}))
    eng = open_history(db_url)
    import_paths(eng, [batch / "f1.tcx", WATCH / "korita-zbevnica.gpx"])
    save_profile(eng, Profile(body_mass_kg=70.0, units="mi"))
    archive = tmp_path / "backup.zip"
    assert write_archive(eng, data, archive) == {"runs": 2, "files": 4}
    new_data = tmp_path / "new"
    eng2 = open_history(postgres_or_sqlite_second)
    assert restore_archive(eng2, new_data, archive) == {"runs": 2, "files": 4}
    for f in ("job.json", "results/summary.json"):
        assert (new_data / "analyses" / ("b" * 32) / f).read_bytes() == (lab / f).read_bytes()

    def same(rows):
        return [{k: v for k, v in r.items() if k != "source"} for r in rows]

    assert same(activities(eng2)) == same(activities(eng))
    assert weekly_loads(eng2) == weekly_loads(eng)
    assert load_profile(eng2) == load_profile(eng)
    restored = [a["source"] for a in activities(eng2)]
    assert str(new_data / "uploads" / ("a" * 32) / "f1.tcx") in restored
    assert str(WATCH / "korita-zbevnica.gpx") in restored  # not an upload: where it was
    assert (new_data / "uploads" / ("a" * 32) / "f1.tcx").read_bytes() == (batch / "f1.tcx").read_bytes()
    # a new run after a restore gets a new id (PostgreSQL's sequence follows the restored ids)
    shutil.copy(WATCH / "cerknicko-jezero.gpx", tmp_path / "c.gpx")
    [r] = import_paths(eng2, [tmp_path / "c.gpx"])
    assert r.status == "added" and r.activity_id == 3
    # never into a history or folder that holds data
    with pytest.raises(InputError, match="empty"):
        restore_archive(eng2, tmp_path / "other", archive)
    # deleting the upload removes its run and its files
    assert delete_upload(eng2, new_data, "a" * 32) == {"runs": 1, "files": 2}
    assert not (new_data / "uploads" / ("a" * 32)).exists()
    assert len(activities(eng2)) == 2
    with pytest.raises(InputError, match="not an upload id"):
        delete_upload(eng2, new_data, "../../etc")
    eng.dispose()
    eng2.dispose()


@pytest.fixture
def postgres_or_sqlite_second(db_url, tmp_path, request):
    """A second empty history on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'second.sqlite'}"
    return request.getfixturevalue("new_postgres_db_2")


@pytest.fixture
def new_postgres_db_2(postgres_url):
    import uuid

    admin_url = sa.engine.make_url(postgres_url)
    name = f"runmuscles_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.parametrize(
    "entries, said",
    [
        ({"runmuscles-backup.json": b"{}"}, "not a runmuscles backup"),
        ({"README.txt": b"x"}, "no runmuscles-backup.json"),
        ({"../evil.json": b"{}"}, "outside its folder"),
        ({"uploads/a b/x.fit": b"x"}, "plain file name"),
        ({"runmuscles-backup.json": b"not json"}, "not valid JSON"),
    ],
)
def test_a_zip_that_is_not_a_clean_backup_is_refused(tmp_path, entries, said):
    import zipfile

    z = tmp_path / "b.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    eng = open_history(tmp_path / "h.sqlite")
    with pytest.raises(InputError, match=said):
        restore_archive(eng, tmp_path / "data", z, "b.zip")
    assert activities(eng) == [] and not (tmp_path / "data" / "uploads").exists()
    eng.dispose()
