"""Errors and ownership: one line and exit 2 for what a user caused, exit 3 (with a request
to report it) for bugs, and nothing the user owns overwritten (--out folders and files, --db).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from runmuscles.errors import InputError
from runmuscles.history import activities, check_history_file, open_history
from runmuscles.outputs import (
    MARKER,
    check_output_dir,
    check_output_file,
    csv_written_by_runmuscles,
    html_written_by_runmuscles,
    json_written_by_runmuscles,
    prepare_output_dir,
)

REPO = Path(__file__).resolve().parents[1]
WATCH = REPO / ".." / "shared" / "data" / "watch"
BUNDLED_LOAD_MODEL = REPO / "src" / "runmuscles" / "data" / "load_model.json"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def _one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, err
    assert err.startswith("runmuscles: error: "), err
    for n in needles:
        assert n in err, (n, err)
    return err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def user_files(tmp_path: Path) -> dict[str, Path]:
    """Things a user owns: a text file, a one-byte file, another program's SQLite database,
    a folder of their own files, their own JSON, HTML and CSV."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"PK\x03\x04 not ours")
    text = tmp_path / "notes.txt"
    text.write_text("my notes\n")
    one = tmp_path / "one.bin"
    one.write_bytes(b"x")
    other_db = tmp_path / "other.sqlite"
    con = sqlite3.connect(other_db)
    con.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    con.execute("INSERT INTO contacts VALUES ('A', '1')")
    con.commit()
    con.close()
    other_json = tmp_path / "settings.json"
    other_json.write_text('{"theme": "dark"}\n')
    other_html = tmp_path / "page.html"
    other_html.write_text("<!DOCTYPE html><html><body>my page</body></html>\n")
    other_csv = tmp_path / "table.csv"
    other_csv.write_text("a,b\n1,2\n")
    return {
        "folder": folder,
        "text": text,
        "one": one,
        "other_db": other_db,
        "json": other_json,
        "html": other_html,
        "csv": other_csv,
    }


# -- output folders ---------------------------------------------------------------------
def test_output_dir_new_empty_marked_and_refused(tmp_path: Path, user_files) -> None:
    new = tmp_path / "a" / "b"
    assert check_output_dir(new) == new and not new.exists()  # checking writes nothing
    prepare_output_dir(new)
    assert (new / MARKER).is_file()
    (new / "summary.json").write_text("{}")
    prepare_output_dir(new)  # ours: may be rewritten
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_output_dir(empty)
    assert (empty / MARKER).is_file()
    with pytest.raises(InputError, match=r"other files in it \(thesis.docx\).*no \.runmuscles-output"):
        prepare_output_dir(user_files["folder"], "--figures")
    assert sorted(p.name for p in user_files["folder"].iterdir()) == ["thesis.docx"]
    with pytest.raises(InputError, match="--out must be a folder, and this is an existing file"):
        check_output_dir(user_files["text"])
    with pytest.raises(InputError, match="notes.txt is a file, not a folder"):
        check_output_dir(user_files["text"] / "sub")
    assert user_files["text"].read_text() == "my notes\n"


def test_output_files_replace_only_runmuscles_own(tmp_path: Path, user_files) -> None:
    for key, owned in (
        ("json", json_written_by_runmuscles),
        ("html", html_written_by_runmuscles),
        ("csv", csv_written_by_runmuscles("week_start")),
    ):
        with pytest.raises(InputError, match="exists and was not written by runmuscles"):
            check_output_file(user_files[key], owned)
        assert check_output_file(tmp_path / f"new.{key}", owned) == tmp_path / f"new.{key}"
    # runmuscles' own files may be replaced: the bundled load table, a report, a weekly CSV
    assert check_output_file(BUNDLED_LOAD_MODEL, json_written_by_runmuscles) == BUNDLED_LOAD_MODEL
    page = tmp_path / "report.html"
    page.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>runmuscles 0.1</body></html>")
    check_output_file(page, html_written_by_runmuscles)
    weekly = tmp_path / "weeks.csv"
    weekly.write_text("week_start,group,runs\n2024-01-01,calves,1\n")
    check_output_file(weekly, csv_written_by_runmuscles("week_start"))
    empty = tmp_path / "empty.json"
    empty.write_text("")
    check_output_file(empty, json_written_by_runmuscles)
    with pytest.raises(InputError, match="must be a file, and this is a folder"):
        check_output_file(user_files["folder"], json_written_by_runmuscles)


# -- the history database ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("text", "not an SQLite database"),
        ("one", "not an SQLite database"),
        ("other_db", r"SQLite database of another program \(tables: contacts\)"),
        ("folder", "--db is a folder"),
    ],
)
def test_db_that_is_not_a_history_is_refused_untouched(user_files, key: str, problem: str) -> None:
    path = user_files[key]
    before = _digest(path) if path.is_file() else sorted(p.name for p in path.iterdir())
    with pytest.raises(InputError, match=problem) as info:
        open_history(path)
    assert str(path) in str(info.value)
    after = _digest(path) if path.is_file() else sorted(p.name for p in path.iterdir())
    assert after == before
    assert not Path(f"{path}-wal").exists()


def test_db_new_empty_and_own_are_accepted(tmp_path: Path) -> None:
    new = tmp_path / "deep" / "h.sqlite"
    open_history(new).dispose()
    check_history_file(new)  # now a runmuscles history
    open_history(new).dispose()
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")  # nothing in it to lose: becomes a history
    eng = open_history(empty)
    assert activities(eng) == []
    eng.dispose()
    # an empty SQLite database (no tables) is accepted too
    blank = tmp_path / "blank.sqlite"
    sqlite3.connect(blank).execute("PRAGMA user_version = 1").connection.close()
    open_history(blank).dispose()


def test_db_with_an_activities_table_of_another_program(tmp_path: Path) -> None:
    db = tmp_path / "strava.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE activities (id INTEGER PRIMARY KEY, title TEXT)")
    con.execute("CREATE TABLE group_loads (x)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="'activities' table that is not runmuscles'"):
        open_history(db)


def test_postgresql_foreign_activities_table_and_hidden_password(new_postgres_db: str) -> None:
    import sqlalchemy as sa

    eng = sa.create_engine(new_postgres_db)
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE activities (id SERIAL PRIMARY KEY, title TEXT)")
    eng.dispose()
    with pytest.raises(InputError, match="'activities' table that is not runmuscles'") as info:
        open_history(new_postgres_db)
    url = sa.engine.make_url(new_postgres_db)
    if url.password:
        assert url.password not in str(info.value) and "***" in str(info.value)


def test_unreachable_server_is_one_line_without_password() -> None:
    with pytest.raises(InputError, match="cannot open the history database") as info:
        open_history("postgresql+psycopg://someone:s3cret-pw@127.0.0.1:1/nothing")
    assert "s3cret-pw" not in str(info.value) and "\n" not in str(info.value)


# -- the command line -------------------------------------------------------------------
def test_cli_refuses_what_the_user_owns(tmp_path: Path, user_files) -> None:
    """Each command, before any work: exit 2, one line naming the path, nothing changed."""
    mine, text = user_files["folder"], user_files["text"]
    trial = tmp_path / "trial-folder"
    trial.mkdir()
    cases = [
        (("analyze", str(trial), "--out", str(mine)), mine, "no .runmuscles-output marker"),
        (("analyze", str(trial), "--out", str(text)), text, "--out must be a folder"),
        (("whatif", "--out", str(mine)), mine, "other files in it"),
        (("claims", "--out", str(text)), text, "--out must be a folder"),
        (("demo", "--out", str(mine)), mine, "other files in it"),
        (("run", str(text), "--out", str(mine)), mine, "other files in it"),
        (("run", str(text), "--db", str(text)), text, "not a runmuscles history"),
        (("report", str(trial), "--figures", str(mine)), mine, "--figures is a folder with other files"),
        (("report", str(trial), "--out", str(user_files["html"])), user_files["html"], "not written by"),
        (
            ("load-model", "build", str(trial), "--out", str(user_files["json"])),
            user_files["json"],
            "not written by runmuscles",
        ),
        (("history", "--db", str(user_files["one"])), user_files["one"], "not an SQLite database"),
        (("history", "--db", str(user_files["other_db"])), user_files["other_db"], "another program"),
        (
            ("history", "--db", str(tmp_path / "h.sqlite"), "--csv", str(user_files["csv"])),
            user_files["csv"],
            "--csv exists and was not written by runmuscles",
        ),
    ]
    before = {k: _digest(p) for k, p in user_files.items() if p.is_file()}
    for args, where, problem in cases:
        proc = _cli(*args)
        _one_line_error(proc, str(where), problem)
        assert proc.stdout == "", (args, proc.stdout)
    assert {k: _digest(p) for k, p in user_files.items() if p.is_file()} == before
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.docx"]


def test_cli_out_folder_is_marked_and_rewritable(tmp_path: Path) -> None:
    if not WATCH.is_dir():
        pytest.skip("shared watch data absent")
    out = tmp_path / "runs"
    gpx = WATCH / "cerknicko-jezero.gpx"
    first = _cli("run", str(gpx), "--json", "--out", str(out), "--db", str(tmp_path / "h.sqlite"))
    assert first.returncode == 0, first.stderr
    assert (out / MARKER).is_file() and (out / "runs.json").is_file()
    again = _cli("run", str(gpx), "--json", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "runs.json").read_text())[0]["file"].endswith("cerknicko-jezero.gpx")


def test_history_import_of_a_bad_file_is_exit_2_and_keeps_the_good_ones(tmp_path: Path, user_files) -> None:
    if not WATCH.is_dir():
        pytest.skip("shared watch data absent")
    gpx, text = WATCH / "cerknicko-jezero.gpx", user_files["text"]
    proc = _cli("history", "--db", str(tmp_path / "h.sqlite"), "--import", str(gpx), "--import", str(text))
    _one_line_error(proc, str(text), "not a FIT, GPX or TCX")
    assert f"{gpx}: added" in proc.stdout and "week of" in proc.stdout
    again = _cli("history", "--db", str(tmp_path / "h.sqlite"), "--import", str(gpx))
    assert again.returncode == 0 and f"{gpx}: duplicate" in again.stdout, again.stderr


def test_validate_grf_without_trials_or_with_one_runner(tmp_path: Path) -> None:
    _one_line_error(_cli("validate-grf", str(tmp_path)), str(tmp_path), "has no trials to validate")
    subject = tmp_path / "subject01"
    (subject / "ik").mkdir(parents=True)
    (subject / "gaitTimes.json").write_text("{}")
    (subject / "ik" / "Run_4.mot").write_text("")
    _one_line_error(_cli("validate-grf", str(tmp_path)), "has one runner (subject01)", "at least two")


def test_cli_other_commands_on_empty_or_wrong_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_line_error(_cli("report", str(empty)), str(empty), "no summary.json")
    _one_line_error(
        _cli("load-model", "build", str(empty), "--out", str(tmp_path / "lm.json")), str(empty), "no subject"
    )
    _one_line_error(_cli("whatif", "--at", "9", "--out", str(tmp_path / "w")), "--at: no trial at 9 m/s")
    setup = tmp_path / "setup.xml"
    setup.write_text("<OpenSimDocument><Model/></OpenSimDocument>")
    _one_line_error(_cli("so", str(setup)), str(setup))
    setup.write_text("not xml at all")
    _one_line_error(_cli("so", str(setup)), str(setup), "not valid XML")


# -- exit 3: bugs ------------------------------------------------------------------------
def test_internal_error_line_asks_for_a_report() -> None:
    from runmuscles.cli import internal_error_line

    line = internal_error_line(
        ZeroDivisionError("division by zero\nsecond line"),
        ["runmuscles", "history", "--db", "postgresql+psycopg://me:pw123@host/db", "--weeks", "3"],
    )
    assert line.startswith("runmuscles: internal error: ZeroDivisionError: division by zero second line")
    assert "please report" in line and "command line" in line
    assert "runmuscles history --db postgresql+psycopg://me:***@host/db --weeks 3" in line
    assert "pw123" not in line and "\n" not in line


def test_a_bug_exits_3_with_one_line(tmp_path: Path) -> None:
    """A command that fails by a programming error (here one registered by the test)."""
    code = (
        "import sys\n"
        "from runmuscles.cli import app, main\n"
        "@app.command('boom')\n"
        "def boom() -> None:\n"
        "    {}['missing']\n"
        "sys.argv = ['runmuscles', 'boom']\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("runmuscles: internal error: KeyError: 'missing'")
    assert "please report it with the command line you ran (runmuscles boom)" in err


def test_file_system_refusal_is_a_user_error(tmp_path: Path) -> None:
    """An OSError naming a file (here: a report into a folder that is a file) is exit 2."""
    if os.name != "posix":
        pytest.skip("POSIX paths")
    code = (
        "import sys\n"
        "from runmuscles.cli import app, main\n"
        "@app.command('write')\n"
        "def write(path: str) -> None:\n"
        "    open(path, 'w').write('x')\n"
        f"sys.argv = ['runmuscles', 'write', {str(tmp_path / 'no' / 'such' / 'dir' / 'f.txt')!r}]\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"runmuscles: error: {tmp_path / 'no' / 'such' / 'dir' / 'f.txt'}: " + (
        "No such file or directory"
    )


def test_input_errors_survive_a_pickle() -> None:
    """A forked helper's refusal reaches its parent by pickle, as the same one line (before, the
    pool's result thread died rebuilding it and the parent stopped with an internal error)."""
    import pickle  # noqa: PLC0415

    from runmuscles.errors import InputError, ModelError  # noqa: PLC0415

    for err in (InputError("forces.mot", "a NaN  at 2.0 s"), ModelError("m.osim", "no muscles")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.where == err.where
