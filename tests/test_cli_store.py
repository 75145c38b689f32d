"""The command line over the stored profile, compare and recompute (`profile`, `run`, `history`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import one_line_error, run_cli


@pytest.fixture
def watch(shared_data: Path) -> Path:
    return shared_data / "watch"


@pytest.fixture(autouse=True)
def own_data_home(tmp_path, monkeypatch):
    """The default history lives in this test's folder (never the user's)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("RUNMUSCLES_DB", raising=False)


def test_profile_command_sets_shows_and_refuses(tmp_path):
    db = tmp_path / "h.sqlite"
    p = run_cli("profile", "--db", db, "--mass", "64", "--cadence", "176", "--units", "mi", "--sex", "female")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "body mass: 64 kg",
        "height: not set",
        "sex: female",
        "usual cadence: 176 steps/min",
        "units: mi",
    ]
    assert "body mass: 64 kg" in run_cli("profile", "--db", db).stdout  # kept
    one_line_error(run_cli("profile", "--db", db, "--cadence", "20"), "--cadence")
    one_line_error(run_cli("profile", "--db", db, "--units", "furlong"), "--units")
    p = run_cli("profile", "--db", db, "--clear", "--height", "1.7")
    assert "body mass: not set" in p.stdout and "height: 1.7 m" in p.stdout


def test_run_uses_the_profile_unless_a_flag_overrides_it_and_says_which(tmp_path, watch):
    tcx = watch / "test.tcx"
    p = run_cli("run", tcx)
    assert p.returncode == 0, p.stderr
    assert "body mass: not set (no --mass and none in the profile)" in p.stdout
    assert "4.69 km" in p.stdout
    assert not (tmp_path / "xdg" / "runmuscles").exists()  # reading a profile creates no history
    assert run_cli("profile", "--mass", "64", "--cadence", "176", "--units", "mi").returncode == 0
    p = run_cli("run", tcx)
    assert "body mass: 64 kg (from the profile)" in p.stdout
    assert "usual cadence: 176 steps/min (from the profile)" in p.stdout
    assert "2.91 mi" in p.stdout and "the runner's usual cadence (176 steps/min" in p.stdout
    assert re.search(r"pace \d+:\d\d /mi", p.stdout) and "/km" not in p.stdout
    p = run_cli("run", tcx, "--mass", "80", "--json")
    assert "body mass: 80 kg (from --mass)" in p.stderr
    import json

    rec = json.loads(p.stdout.splitlines()[0])
    calves = rec["groups"]["calves"]
    assert calves["impulse_n_s"] / calves["impulse_bw_s"] == pytest.approx(80 * 9.81, rel=1e-3)  # 80 kg
    assert rec["conditions"]["cadence_source"].startswith("the profile's")


def test_history_compare_and_recompute(tmp_path, watch):
    db = tmp_path / "h.sqlite"
    shutil.copy(watch / "test.tcx", tmp_path / "a.tcx")
    p = run_cli(
        "history", "--db", db, "--import", tmp_path / "a.tcx", "--import", watch / "garmin-fenix-5-run.fit"
    )
    assert p.returncode == 0, p.stderr
    assert "mixed settings" not in p.stdout and "--recompute" not in p.stdout
    p = run_cli("history", "--db", db, "--compare", "1", "2")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("A: run 1 of ") and "calves" in p.stdout and "per km" in p.stdout
    one_line_error(run_cli("history", "--db", db, "--compare", "1", "../../etc/passwd"), "--compare")
    one_line_error(
        run_cli("history", "--db", db, "--compare", "2024-01-03", "2024-01-10"), "no runs in that week"
    )
    assert "nothing to recompute" in run_cli("history", "--db", db, "--recompute").stdout
    # a new usual cadence: the stored runs were computed with other settings
    assert run_cli("profile", "--db", db, "--cadence", "170").returncode == 0
    p = run_cli("history", "--db", db)
    assert "2 runs were computed with another engine version or settings" in p.stdout
    p = run_cli("history", "--db", db, "--recompute")
    assert p.returncode == 0 and "run 1: recomputed" in p.stdout and "run 2: recomputed" in p.stdout
    assert "--recompute" not in run_cli("history", "--db", db).stdout
    # a run whose file is gone cannot be recomputed: one line each, exit 2, the rest still done
    (tmp_path / "a.tcx").unlink()
    assert run_cli("profile", "--db", db, "--cadence", "180").returncode == 0
    p = run_cli("history", "--db", db, "--recompute")
    assert p.returncode == 2 and "run 2: recomputed" in p.stdout
    assert "runmuscles: error: run 1: its file is no longer where it was imported from" in p.stderr


def test_backup_and_restore_commands_give_the_same_history(tmp_path, watch):
    data = tmp_path / "data"
    assert run_cli("history", "--db", data / "history.sqlite", "--import", watch / "test.tcx").returncode == 0
    assert run_cli("profile", "--db", data / "history.sqlite", "--units", "mi").returncode == 0
    out = tmp_path / "b.zip"
    p = run_cli("backup", out, "--data-dir", data)
    assert p.returncode == 0 and "1 runs, 0 files" in p.stdout, p.stderr
    one_line_error(run_cli("backup", out, "--data-dir", data), "exists already")
    p = run_cli("restore", out, "--data-dir", tmp_path / "new")
    assert p.returncode == 0 and "restored 1 runs" in p.stdout, p.stderr
    before = run_cli("history", "--db", data / "history.sqlite").stdout
    after = run_cli("history", "--db", tmp_path / "new" / "history.sqlite").stdout
    assert before == after and " mi" in after
    one_line_error(run_cli("restore", out, "--data-dir", tmp_path / "new"), "empty")
    one_line_error(run_cli("restore", tmp_path / "none.zip", "--data-dir", tmp_path / "x"), "not found")


def test_backup_of_a_missing_data_folder_is_refused(tmp_path):
    """A mistyped --data-dir gives one line, not an empty backup (nor a new empty history)."""
    missing = tmp_path / "no-such-folder"
    one_line_error(run_cli("backup", tmp_path / "b.zip", "--data-dir", missing), "no such data folder")
    assert not missing.exists() and not (tmp_path / "b.zip").exists()
