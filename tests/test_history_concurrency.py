"""Concurrent first use of a new history: separate processes, SQLite and PostgreSQL.

Each process starts at the same moment (a barrier), opens a history that does not exist
yet (so every one of them may try to create the schema) and imports the same runs, each
process in its own order. Nothing may fail, be lost or be stored twice.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import traceback
from pathlib import Path

import pytest

WATCH = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "watch"
RUN_FILES = (
    "activity-small-fenix2-run.fit",
    "activity-unexpected-eof.fit",
    "cerknicko-jezero.gpx",
    "garmin-fenix-5-run.fit",
    "korita-zbevnica.gpx",
    "test.tcx",
)
NOT_A_RUN = "garmin-fenix-5-bike.fit"


def _worker(url: str, files: list[str], barrier, report: str) -> None:
    """Open the history at the barrier, import ``files``; write the outcome (or the error)."""
    try:
        from runmuscles.history import import_paths, open_history

        barrier.wait(timeout=120)
        engine = open_history(url)
        res = import_paths(engine, files)
        engine.dispose()
        out = {"results": [[r.path.name, r.status, r.activity_id, r.message] for r in res]}
    except BaseException:  # noqa: BLE001 - reported to the test, which fails on it
        out = {"error": traceback.format_exc()}
    Path(report).write_text(json.dumps(out))


def _run_concurrently(url: str, n: int, tmp_path: Path) -> list[dict]:
    if not WATCH.is_dir():
        pytest.skip("shared watch data absent")
    names = [*RUN_FILES, NOT_A_RUN]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    procs, reports = [], []
    for k in range(n):
        order = names[k % len(names) :] + names[: k % len(names)]  # each process its own order
        report = tmp_path / f"worker{n}_{k}.json"
        reports.append(report)
        procs.append(
            ctx.Process(target=_worker, args=(url, [str(WATCH / f) for f in order], barrier, str(report)))
        )
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    outs = []
    for p, report in zip(procs, reports, strict=True):
        assert p.exitcode == 0, f"worker exited with {p.exitcode}"
        out = json.loads(report.read_text())
        assert "error" not in out, out.get("error")
        outs.append(out)
    return outs


def _check(url: str, outs: list[dict]) -> None:
    """Each run added exactly once, every other process saw it as a duplicate of that row."""
    import sqlalchemy as sa

    by_file: dict[str, list[tuple[str, int | None]]] = {}
    for out in outs:
        for name, status, activity_id, _msg in out["results"]:
            by_file.setdefault(name, []).append((status, activity_id))
    assert set(by_file) == {*RUN_FILES, NOT_A_RUN}
    assert {s for s, _ in by_file[NOT_A_RUN]} == {"error"}
    for name in RUN_FILES:
        seen = by_file[name]
        assert len(seen) == len(outs)
        assert [s for s, _ in seen].count("added") == 1, (name, seen)
        assert {s for s, _ in seen} <= {"added", "duplicate"}, (name, seen)
        assert len({i for _, i in seen}) == 1, (name, seen)  # the duplicates name the stored row
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            n, distinct = conn.execute(
                sa.text("SELECT COUNT(*), COUNT(DISTINCT content_hash) FROM activities")
            ).one()
            groups = conn.execute(sa.text("SELECT COUNT(DISTINCT muscle_group) FROM group_loads")).scalar()
            partial = conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM activities a WHERE (SELECT COUNT(*) FROM group_loads g "
                    "WHERE g.activity_id = a.id) != :n"
                ),
                {"n": groups},
            ).scalar()
    finally:
        engine.dispose()
    assert (n, distinct, partial) == (len(RUN_FILES), len(RUN_FILES), 0)
    assert groups > 0


@pytest.mark.slow
@pytest.mark.parametrize("n", [4, 8])
def test_concurrent_first_imports_sqlite(tmp_path: Path, n: int) -> None:
    db = tmp_path / "new" / "history.sqlite"
    outs = _run_concurrently(str(db), n, tmp_path)
    _check(f"sqlite:///{db}", outs)
    import sqlite3

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("n", [4, 8])
def test_concurrent_first_imports_postgresql(new_postgres_db: str, tmp_path: Path, n: int) -> None:
    outs = _run_concurrently(new_postgres_db, n, tmp_path)
    _check(new_postgres_db, outs)


def test_postgresql_schema_is_created_once_by_many_openers(new_postgres_db: str, tmp_path: Path) -> None:
    """Only the schema race, without imports: eight processes open a new database at once."""
    outs = _run_concurrently_open_only([new_postgres_db], 8, tmp_path)
    assert outs == ["ok"] * 8
    import sqlalchemy as sa

    engine = sa.create_engine(new_postgres_db)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"activities", "group_loads"} <= tables


def _open_worker(urls: list[str], barrier, report: str) -> None:
    """For each URL in turn: wait for every process, then open that new history at once."""
    try:
        from runmuscles.history import open_history

        for url in urls:
            barrier.wait(timeout=120)
            open_history(url).dispose()
        out = "ok"
    except BaseException:  # noqa: BLE001 - reported to the test, which fails on it
        out = traceback.format_exc()
    Path(report).write_text(out)


def _run_concurrently_open_only(urls: list[str], n: int, tmp_path: Path) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    reports = [tmp_path / f"open{k}.txt" for k in range(n)]
    procs = [ctx.Process(target=_open_worker, args=(urls, barrier, str(r))) for r in reports]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    return [
        r.read_text() if r.exists() else f"no report (exit {p.exitcode})"
        for p, r in zip(procs, reports, strict=True)
    ]


def test_sqlite_schema_is_created_once_by_many_openers(tmp_path: Path) -> None:
    """Three new histories in a row, each opened by eight processes at the same moment."""
    urls = [str(tmp_path / f"round{k}" / "history.sqlite") for k in range(3)]
    assert _run_concurrently_open_only(urls, 8, tmp_path) == ["ok"] * 8
