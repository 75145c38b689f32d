"""A history of runs and their per-group muscle load, in a database.

The store is reached through SQLAlchemy (2.x): by default an SQLite file in the user's data
folder (``$RUNMUSCLES_DB`` as a URL, else ``$XDG_DATA_HOME/runmuscles/history.sqlite``,
else ``~/.local/share/runmuscles/history.sqlite``); any SQLAlchemy URL (e.g.
``postgresql+psycopg://user@host/db``) works as well, given its driver.

* **Idempotent import**: an activity is identified by the SHA-256 of its file's bytes
  (``activities.content_hash``, unique). A file already stored is skipped; two processes
  importing the same file at once both try to insert it, the database's unique constraint
  lets one win and the other reports it as a duplicate.
* **Atomic per file**: an activity and its per-group loads are inserted in one transaction,
  committed before the next file is read, so an import that is killed loses at most the
  file it was working on. SQLite runs in WAL mode with a busy timeout, so concurrent
  importers wait for each other instead of failing.
* **Safe first use**: the schema is created in one transaction that holds the database's
  write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so processes that
  open a new history at the same moment create it once; none fails.
* **Migrations**: the schema is versioned with Alembic (:mod:`runmuscles.migrations`, scripts
  inside the package). A new history is created by running every revision; a history of an
  older runmuscles is upgraded on open, inside the same lock, rows kept; one made before
  migrations existed is recognised and stamped as the first revision; one of a newer
  runmuscles is refused.
* **Engine settings per run**: each stored run keeps the engine version and
  :func:`engine_settings` (load model, strength, residual reduction, muscle solution, the
  profile's usual cadence). :func:`week_settings` tells weeks that mix settings (marked by
  ``runmuscles history`` and the app's runs page); :func:`recompute` computes runs again
  from their files with the current ones.
* **Nothing else overwritten**: an existing file that is not a runmuscles history (a text
  file, a one-byte file, another program's SQLite database) is refused, never rewritten;
  error messages show a database URL without its password.
* **Weeks**: :func:`weekly_loads` sums each group's load per ISO week (Monday, UTC) and
  compares it, descriptively, with the mean weekly load of the three weeks before
  (uncoupled: this week is not part of its own baseline). The coupled acute:chronic
  "sweet spot" of Gabbett TJ (2016) Br J Sports Med 50:273-280 is not used: the coupled
  ratio is biased (Lolli L et al. 2019, Br J Sports Med 53:921-922), its problems
  "should discourage its use" (Wang C et al. 2020, Sports Med 50:1243-1254), and in
  5,205 runners it did not predict running injury (Frandsen JSB et al. 2025, Br J Sports
  Med 59:1203-1210). A week more than :data:`RISE_RATIO` times its baseline is marked as a
  rise, shown as descriptive and "not validated for injury". Each activity also stores
  what drove its load (pace, hills, cadence: see
  :func:`runmuscles.analyses.load_model.run_load`); a rise's note names the part that rose
  most against its own baseline, e.g. "calves load +45 % vs the mean of the previous 3
  weeks: mostly the hilly runs".
* **Single runs**: :func:`single_run_spikes` finds each run more than 10 % longer than the
  longest run of the previous 30 days, the exposure that did predict injury in those
  5,205 runners (hazard rate ratio 1.64 for 10-30 % longer; Frandsen 2025). It was
  validated for distance only; the per-group comparisons given with it are descriptive.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = [
    "ImportResult",
    "MIXED_NOTE",
    "RecomputeResult",
    "current_settings_key",
    "delete_activity",
    "engine_settings",
    "outdated_runs",
    "recompute",
    "settings_key",
    "week_settings",
    "RISE_RATIO",
    "SINGLE_RUN_RISE",
    "SINGLE_RUN_WINDOW_DAYS",
    "default_db_url",
    "export_csv",
    "import_paths",
    "open_history",
    "store_activity",
    "activities",
    "check_history_file",
    "recent_weeks",
    "single_run_spikes",
    "weekly_loads",
]

#: A week's load above 1.3 times the mean of the 3 weeks before is marked as a rise: a display
#: threshold of this package (30 % echoes the weekly progression studied by Nielsen RO et al.
#: 2014, J Orthop Sports Phys Ther 44:739-747, where it was not significant), descriptive and
#: not validated for injury.
RISE_RATIO = 1.3
#: Weeks before this one that form its baseline (uncoupled).
BASE_WEEKS = 3
#: A run more than 10 % longer than the longest run of the previous 30 days (Frandsen JSB et
#: al. 2025, Br J Sports Med 59:1203-1210: hazard rate ratio 1.64 (1.31-2.05) for 10-30 %,
#: 1.52 for 30-100 %, 2.28 (1.50-3.48) for more than 100 % longer, in 5,205 runners).
SINGLE_RUN_RISE = 0.10
SINGLE_RUN_WINDOW_DAYS = 30
#: Frandsen 2025's categories of a single-run spike (upper bounds of the increase).
SINGLE_RUN_CATEGORIES = (
    (0.30, "small spike (10-30 %)"),
    (1.00, "moderate spike (30-100 %)"),
    (math.inf, "large spike (over 100 %)"),
)
#: Weeks with runs, of the 3 before, needed for a ratio (a design choice of this package).
MIN_BASE_WEEKS = 2
ACTIVITY_SUFFIXES = (".fit", ".gpx", ".tcx")
LOAD_COLUMNS = ("impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg")


def default_db_url() -> str:
    """``$RUNMUSCLES_DB``, else an SQLite file in the user data folder."""
    env = os.environ.get("RUNMUSCLES_DB")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'runmuscles' / 'history.sqlite'}"


def _url(db: str | Path | None) -> str:
    if db is None:
        return default_db_url()
    s = str(db)
    return s if "://" in s else f"sqlite:///{Path(s).expanduser().resolve()}"


_TABLES: dict[str, Any] = {}


def _schema():
    """The tables (built once, on first use: keeps `import runmuscles` light)."""
    if _TABLES:
        return _TABLES
    import sqlalchemy as sa  # noqa: PLC0415

    md = sa.MetaData()
    activities = sa.Table(
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
        # JSON: per group, the pace / hills / cadence parts of each load (NULL: not known)
        sa.Column("drivers", sa.Text),
        # revision 0002: what computed the loads (NULL: stored before runmuscles kept it)
        sa.Column("engine_version", sa.String(40)),
        sa.Column("settings", sa.Text),  # JSON of engine_settings()
        sa.Column("computed_at", sa.DateTime),
    )
    loads = sa.Table(
        "group_loads",
        md,
        sa.Column(
            "activity_id", sa.Integer, sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("muscle_group", sa.String(40), primary_key=True),
        *(sa.Column(c, sa.Float, nullable=False) for c in LOAD_COLUMNS),
    )
    profile = sa.Table(
        "profile",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("body_mass_kg", sa.Float),
        sa.Column("height_m", sa.Float),
        sa.Column("sex", sa.String(12)),
        sa.Column("cadence_spm", sa.Float),
        sa.Column("units", sa.String(2)),
        sa.Column("updated_at", sa.DateTime),
    )
    _TABLES.update(metadata=md, activities=activities, loads=loads, profile=profile)
    return _TABLES


#: Columns of ``activities`` that every runmuscles history has had (older ones lack ``drivers``):
#: a database whose ``activities`` table lacks them belongs to another program.
_CORE_COLUMNS = frozenset(
    {"id", "content_hash", "source", "sport", "start_time", "distance_m", "duration_s", "warnings"}
)
#: Key of the PostgreSQL advisory lock held while the schema is created ("runm" in ASCII).
_SCHEMA_LOCK_KEY = 0x72756E6D
#: Tries of schema creation on a database without a lock that serialises it (other dialects).
_SCHEMA_TRIES = 5
_SQLITE_HEADER = b"SQLite format 3\x00"


def _shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    import sqlalchemy as sa  # noqa: PLC0415

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return url


def _sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (``None``: in memory, or not SQLite)."""
    if not url.startswith("sqlite") or "://" not in url:
        return None
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        return None
    return Path(rest[1:].split("?", 1)[0])


def _foreign_tables_problem(tables: set[str], activity_columns: set[str]) -> str | None:
    """Why a database with these tables is not a runmuscles history (``None``: it is, or is empty)."""
    if "activities" in tables and not activity_columns >= _CORE_COLUMNS:
        return (
            "has an 'activities' table that is not runmuscles' (it lacks "
            + ", ".join(sorted(_CORE_COLUMNS - activity_columns))
            + "); refusing to use it"
        )
    return None


def check_history_file(path: str | Path) -> None:
    """Refuse an existing file that is not a runmuscles history (it is never overwritten).

    A new path, or an empty file, may become a history. An existing file must be an SQLite
    database that is empty or holds runmuscles' tables: a text file, a one-byte file or
    another program's SQLite database raises :class:`~runmuscles.errors.InputError`.
    """
    import sqlite3  # noqa: PLC0415
    from urllib.parse import quote  # noqa: PLC0415

    p = Path(path)
    if p.is_dir():
        raise InputError(p, "--db is a folder; give a history database file (or a database URL)")
    if not p.exists() or p.stat().st_size == 0:
        return
    try:
        with p.open("rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise InputError(p, f"--db cannot be read ({exc.strerror or exc})") from None
    if head != _SQLITE_HEADER:
        raise InputError(
            p, "is not a runmuscles history (not an SQLite database); refusing to use or overwrite it"
        )
    try:
        con = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True, timeout=60)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            cols = (
                {r[1] for r in con.execute("PRAGMA table_info(activities)")}
                if "activities" in tables
                else set()
            )
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(
            p, f"is a damaged or unreadable SQLite database ({exc}); refusing to use it"
        ) from None
    problem = _foreign_tables_problem(tables, cols)
    if problem is None and tables and not {"activities", "group_loads"} <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        problem = (
            f"is an SQLite database of another program (tables: {shown}); refusing to write a runmuscles "
            "history into it"
        )
    if problem is not None:
        raise InputError(p, problem)


def open_history(db: str | Path | None = None):
    """Open (and create if needed) the history database.

    A path that holds something other than a runmuscles history is refused (see
    :func:`check_history_file`); the schema is created once even when several processes
    open a new history at the same moment (see :func:`_ensure_schema`).

    Parameters
    ----------
    db
        An SQLAlchemy URL, a path of an SQLite file, or ``None`` for :func:`default_db_url`.

    Returns
    -------
    sqlalchemy.engine.Engine
    """
    import sqlalchemy as sa  # noqa: PLC0415

    url = _url(db)
    shown = _shown(url)
    is_sqlite = url.startswith("sqlite")
    path = _sqlite_path(url) if is_sqlite else None
    if path is not None:
        check_history_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(path, f"cannot create the history's folder ({exc.strerror or exc})") from None
    try:
        engine = sa.create_engine(url, connect_args={"timeout": 60} if is_sqlite else {})
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise InputError(shown, f"cannot open the history database ({exc})") from None
    if is_sqlite:

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - runs per connection
            import contextlib  # noqa: PLC0415
            import sqlite3  # noqa: PLC0415

            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            with contextlib.suppress(sqlite3.OperationalError):
                # WAL is kept by the file once set; on a new file another process may hold
                # the lock this needs (SQLite then answers "locked" at once, without waiting).
                # The history works in either mode, and a later connection sets it.
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    import random  # noqa: PLC0415
    import time  # noqa: PLC0415

    deadline = time.monotonic() + _LOCKED_WAIT_S
    while True:
        try:
            _ensure_schema(engine, shown)
            return engine
        except sa.exc.DBAPIError as exc:
            # SQLite answers "database is locked" without waiting where waiting could
            # deadlock (a reader upgrading to a writer, a WAL snapshot gone stale): the other
            # process's transaction ends, so the open is tried again, within a limit.
            if is_sqlite and _is_locked(exc) and time.monotonic() < deadline:
                engine.dispose()
                time.sleep(0.05 + 0.25 * random.random())
                continue
            engine.dispose()
            raise InputError(shown, f"cannot open the history database ({exc.orig})") from None


#: How long :func:`open_history` keeps trying an SQLite history another process has locked (s).
_LOCKED_WAIT_S = 120.0


def _is_locked(exc: Exception) -> bool:
    """Whether an SQLAlchemy error is SQLite's "database is locked" / "busy"."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "busy" in text


def _schema_state(conn) -> tuple[bool, str | None]:
    """(the schema is at the newest revision, why the database is not a runmuscles history)."""
    import sqlalchemy as sa  # noqa: PLC0415

    from .migrations import HEAD  # noqa: PLC0415  (alembic itself is imported only to upgrade)

    insp = sa.inspect(conn)
    tables = set(insp.get_table_names())
    cols = {c["name"] for c in insp.get_columns("activities")} if "activities" in tables else set()
    problem = _foreign_tables_problem(tables, cols)
    revs = (
        conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        if "alembic_version" in tables
        else []
    )
    rev = revs[0] if len(revs) == 1 else None
    if problem is None and rev is not None and rev not in _KNOWN_REVISIONS:
        problem = (
            f"was written by a newer runmuscles (schema revision {rev}; this one knows up to {HEAD}); "
            "upgrade runmuscles to use it"
        )
    return rev == HEAD, problem


#: Schema revisions this code can read or upgrade (:mod:`runmuscles.migrations`).
_KNOWN_REVISIONS = ("0001", "0002")


def _ensure_schema(engine, shown: str) -> None:
    """Create or upgrade the schema (Alembic revisions), once, even under concurrent first use.

    The migration runs in one transaction that holds the database's write lock from its
    start (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-level advisory lock), so a
    second process waits, then finds the schema upgraded. Other databases retry when a
    concurrent creation makes theirs fail. A schema at the newest revision is seen without
    any lock. A history made before migrations (tables, no ``alembic_version``) is stamped
    as the first revision and upgraded: its rows are kept (:func:`runmuscles.migrations.upgrade`).
    """
    import sqlalchemy as sa  # noqa: PLC0415

    from .migrations import upgrade  # noqa: PLC0415

    with engine.connect() as conn:
        ready, problem = _schema_state(conn)
    if problem is not None:
        raise InputError(shown, problem)
    if ready:
        return
    dialect = engine.dialect.name
    for attempt in range(_SCHEMA_TRIES):
        try:
            with engine.connect() as conn:
                if dialect == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                elif dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                ready, problem = _schema_state(conn)
                if problem is not None:
                    raise InputError(shown, problem)
                if not ready:
                    tables = set(sa.inspect(conn).get_table_names())
                    legacy = "activities" in tables and "alembic_version" not in tables
                    if legacy:
                        _add_missing_columns(conn)
                    upgrade(conn, legacy=legacy)
                conn.commit()
            return
        except (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.OperationalError):
            # Another process created a table between our check and our CREATE (dialects
            # without a lock above); the next try sees it. A lasting error is raised.
            if attempt == _SCHEMA_TRIES - 1 or dialect in ("sqlite", "postgresql"):
                raise
            import time  # noqa: PLC0415

            time.sleep(0.2 * (attempt + 1))


def _add_missing_columns(conn) -> None:
    """Bring a history made before migrations to revision 0001 (it may lack ``drivers``)."""
    import sqlalchemy as sa  # noqa: PLC0415

    have = {c["name"] for c in sa.inspect(conn).get_columns("activities")}
    if "drivers" not in have:
        conn.execute(sa.text("ALTER TABLE activities ADD COLUMN drivers TEXT"))


@dataclass(frozen=True)
class ImportResult:
    """Outcome of importing one file.

    Attributes
    ----------
    path
        The file.
    status
        ``"added"``, ``"duplicate"`` (already stored) or ``"error"``.
    activity_id
        Row id in ``activities`` (``None`` on error).
    message
        The error, or the run's warnings joined.
    """

    path: Path
    status: str
    activity_id: int | None
    message: str = ""


def content_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in ACTIVITY_SUFFIXES)
            if not found:
                raise InputError(p, f"holds no activity files ({', '.join(sorted(ACTIVITY_SUFFIXES))})")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise InputError(p, "file or folder not found")
    return files


def _find(conn, digest: str) -> int | None:
    import sqlalchemy as sa  # noqa: PLC0415

    act = _schema()["activities"]
    return conn.execute(sa.select(act.c.id).where(act.c.content_hash == digest)).scalar_one_or_none()


def engine_settings(model: dict[str, Any], usual_cadence_spm: float | None = None) -> dict[str, Any]:
    """What a stored run's loads depend on besides its file: kept with each activity.

    ``load_model`` (the table's format, build date and the runmuscles that built it),
    the settings its trials were analysed with (``strength``, ``residual_reduction``,
    ``muscle_solution``: ``None`` when the table does not record them) and the
    ``usual_cadence_spm`` assumed where a file has no cadence (the profile's; ``None``: the
    runners' typical cadence). Two runs with different settings (or engine versions) are not
    comparable as they stand; :func:`recompute` brings them to the current ones.
    """
    prov = model.get("provenance", {}) or {}
    built = prov.get("settings", {}) or {}
    return {
        "load_model": {
            "format": model.get("format"),
            "date": prov.get("date"),
            "runmuscles_version": prov.get("runmuscles_version"),
        },
        "strength": built.get("strength"),
        "residual_reduction": built.get("residual_reduction"),
        "muscle_solution": built.get("muscle_solution", built.get("muscles")),
        "usual_cadence_spm": usual_cadence_spm,
    }


def settings_key(engine_version: str | None, settings: str | dict | None) -> str:
    """A short fingerprint of (engine version, settings); ``unknown`` for rows stored before
    runmuscles kept them (schema revision 0001)."""
    if engine_version is None and settings is None:
        return "unknown"
    if isinstance(settings, str):
        try:
            settings = json.loads(settings)
        except ValueError:
            settings = {"unreadable": settings}
    text = json.dumps({"engine_version": engine_version, "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _current_settings(engine, model: dict[str, Any], usual_cadence_spm: float | None) -> dict[str, Any]:
    if usual_cadence_spm is None:
        from .profile import load_profile  # noqa: PLC0415

        usual_cadence_spm = load_profile(engine).cadence_spm
    return engine_settings(model, usual_cadence_spm)


def import_paths(
    engine,
    paths: Iterable[str | Path],
    *,
    on_result: Callable[[ImportResult], None] | None = None,
    usual_cadence_spm: float | None = None,
) -> list[ImportResult]:
    """Import activity files (and folders of them) into the history, one transaction each.

    Parameters
    ----------
    engine
        From :func:`open_history`.
    paths
        Files (FIT, GPX, TCX) or folders (searched recursively for those suffixes).
    on_result
        Called after each file with its :class:`ImportResult` (its row already committed).
    usual_cadence_spm
        The cadence assumed where a file has none (default: the history's profile, see
        :mod:`runmuscles.profile`; without one, the runners' typical cadence).

    Returns
    -------
    list of ImportResult
        Each stored run keeps the engine version and :func:`engine_settings`.
    """
    import sqlalchemy as sa  # noqa: PLC0415

    from . import __version__  # noqa: PLC0415
    from .analyses.load_model import load_load_model, summarize_activity  # noqa: PLC0415
    from .readers.watch import read_activity  # noqa: PLC0415

    model = load_load_model()
    settings = _current_settings(engine, model, usual_cadence_spm)
    cadence = settings["usual_cadence_spm"]
    results: list[ImportResult] = []
    for f in _expand(paths):
        digest = content_hash(f)
        with engine.connect() as conn:
            found = _find(conn, digest)
        if found is not None:
            res = ImportResult(f, "duplicate", found)
        else:
            try:
                rec = summarize_activity(read_activity(f), model=model, usual_cadence_spm=cadence)
            except InputError as exc:
                res = ImportResult(f, "error", None, str(exc))
            else:
                start = datetime.fromisoformat(rec["start_time"]).astimezone(UTC).replace(tzinfo=None)
                warnings = rec["warnings"]
                row = {
                    "content_hash": digest,
                    "source": str(f),
                    "sport": rec["sport"],
                    "start_time": start,
                    "distance_m": rec["distance_m"],
                    "duration_s": rec["duration_s"],
                    "ascent_m": rec["ascent_m"],
                    "descent_m": rec["descent_m"],
                    "warnings": json.dumps(warnings),
                    "imported_at": datetime.now(UTC).replace(tzinfo=None),
                    "drivers": json.dumps(rec["drivers"]),
                    "engine_version": __version__,
                    "settings": json.dumps(settings, sort_keys=True),
                    "computed_at": datetime.now(UTC).replace(tzinfo=None),
                }
                try:
                    new_id = store_activity(engine, row, rec["groups"])
                    res = ImportResult(f, "added", new_id, "; ".join(warnings))
                except sa.exc.IntegrityError:
                    # Another importer stored the same content meanwhile.
                    with engine.connect() as conn:
                        res = ImportResult(f, "duplicate", _find(conn, digest))
        results.append(res)
        if on_result is not None:
            on_result(res)
    return results


def store_activity(engine, row: dict[str, Any], groups: dict[str, dict[str, float]]) -> int:
    """Insert one activity and its per-group loads in one transaction.

    Parameters
    ----------
    engine
        From :func:`open_history`.
    row
        Columns of ``activities`` (``content_hash``, ``source``, ``sport``, ``start_time``
        as naive UTC, ``distance_m``, ``duration_s``, ``ascent_m``, ``descent_m``,
        ``warnings`` as JSON text, ``imported_at``; optionally ``drivers``: JSON text of
        the run's ``drivers`` from :func:`~runmuscles.analyses.load_model.run_load`).
    groups
        Per group: ``impulse_bw_s``, ``positive_work_j_per_kg``, ``negative_work_j_per_kg``.

    Returns
    -------
    int
        The new activity id. Raises ``sqlalchemy.exc.IntegrityError`` when the content hash
        is stored already (nothing is written then).
    """
    import sqlalchemy as sa  # noqa: PLC0415

    t = _schema()
    with engine.begin() as conn:
        new_id = conn.execute(sa.insert(t["activities"]).values(**row)).inserted_primary_key[0]
        conn.execute(
            sa.insert(t["loads"]),
            [
                {"activity_id": new_id, "muscle_group": g, **{c: v[c] for c in LOAD_COLUMNS}}
                for g, v in groups.items()
            ],
        )
    return int(new_id)


_SHIPPED_SETTINGS: dict[tuple[int, int], dict[str, Any]] = {}


def _shipped_model_settings() -> dict[str, Any]:
    """:func:`engine_settings` of the shipped load model, read once per version of its file
    (the runs page asks on every view)."""
    from importlib import resources  # noqa: PLC0415

    from .analyses.load_model import LOAD_MODEL_FILE, load_load_model  # noqa: PLC0415

    st = Path(str(resources.files("runmuscles") / "data" / LOAD_MODEL_FILE)).stat()
    key = (st.st_mtime_ns, st.st_size)
    if key not in _SHIPPED_SETTINGS:
        _SHIPPED_SETTINGS.clear()
        _SHIPPED_SETTINGS[key] = engine_settings(load_load_model())
    return dict(_SHIPPED_SETTINGS[key])


def current_settings_key(engine, usual_cadence_spm: float | None = None) -> str:
    """:func:`settings_key` of what an import would store now (this engine, the shipped load
    model, the profile's cadence)."""
    from . import __version__  # noqa: PLC0415
    from .profile import load_profile  # noqa: PLC0415

    settings = _shipped_model_settings()
    cadence = usual_cadence_spm if usual_cadence_spm is not None else load_profile(engine).cadence_spm
    settings["usual_cadence_spm"] = cadence
    return settings_key(__version__, settings)


def outdated_runs(engine, acts: list[dict[str, Any]] | None = None) -> list[int]:
    """Ids of the runs whose loads were computed with another engine version or other settings
    than an import would use now (including runs stored before the history kept them)."""
    key = current_settings_key(engine)
    acts = activities(engine) if acts is None else acts
    return [a["id"] for a in acts if settings_key(a.get("engine_version"), a.get("settings")) != key]


@dataclass(frozen=True)
class RecomputeResult:
    """Outcome of recomputing one stored run: ``recomputed``, ``current`` (nothing to do) or
    ``error`` (with the reason; the stored run is left as it was)."""

    activity_id: int
    status: str
    message: str = ""


def recompute(
    engine,
    ids: Iterable[int] | None = None,
    *,
    usual_cadence_spm: float | None = None,
    on_result: Callable[[RecomputeResult], None] | None = None,
) -> list[RecomputeResult]:
    """Compute stored runs again from their files with the current engine and settings.

    Parameters
    ----------
    engine
        From :func:`open_history`.
    ids
        The runs to recompute (every one given, even if current); ``None``: every run whose
        :func:`settings_key` differs from the current one (:func:`outdated_runs`).
    usual_cadence_spm
        Default: the profile's (as :func:`import_paths`).

    Each run is rewritten in one transaction (its row and its group loads), so a recompute
    that is stopped leaves every run either as it was or fully recomputed. A run whose file
    is gone, or whose file no longer has the content that was imported, is left as it was
    and reported as an error.
    """
    import sqlalchemy as sa  # noqa: PLC0415

    from . import __version__  # noqa: PLC0415
    from .analyses.load_model import load_load_model, summarize_activity  # noqa: PLC0415
    from .readers.watch import read_activity  # noqa: PLC0415

    model = load_load_model()
    settings = _current_settings(engine, model, usual_cadence_spm)
    key = settings_key(__version__, settings)
    wanted = None if ids is None else {int(i) for i in ids}
    acts = activities(engine)
    if wanted is not None:
        missing = wanted - {a["id"] for a in acts}
        if missing:
            raise InputError(f"run {min(missing)}", "no such run in the history")
    t = _schema()
    out: list[RecomputeResult] = []
    for a in acts:
        if wanted is not None and a["id"] not in wanted:
            continue
        if wanted is None and settings_key(a.get("engine_version"), a.get("settings")) == key:
            continue
        path = Path(a["source"])
        if not path.is_file():
            res = RecomputeResult(a["id"], "error", "its file is no longer where it was imported from")
        elif content_hash(path) != a["content_hash"]:
            res = RecomputeResult(a["id"], "error", "its file has changed since it was imported")
        else:
            try:
                rec = summarize_activity(
                    read_activity(path), model=model, usual_cadence_spm=settings["usual_cadence_spm"]
                )
            except InputError as exc:
                res = RecomputeResult(a["id"], "error", str(exc))
            else:
                start = datetime.fromisoformat(rec["start_time"]).astimezone(UTC).replace(tzinfo=None)
                values = {
                    "sport": rec["sport"],
                    "start_time": start,
                    "distance_m": rec["distance_m"],
                    "duration_s": rec["duration_s"],
                    "ascent_m": rec["ascent_m"],
                    "descent_m": rec["descent_m"],
                    "warnings": json.dumps(rec["warnings"]),
                    "drivers": json.dumps(rec["drivers"]),
                    "engine_version": __version__,
                    "settings": json.dumps(settings, sort_keys=True),
                    "computed_at": datetime.now(UTC).replace(tzinfo=None),
                }
                with engine.begin() as conn:
                    conn.execute(
                        sa.update(t["activities"]).where(t["activities"].c.id == a["id"]).values(**values)
                    )
                    conn.execute(sa.delete(t["loads"]).where(t["loads"].c.activity_id == a["id"]))
                    conn.execute(
                        sa.insert(t["loads"]),
                        [
                            {"activity_id": a["id"], "muscle_group": g, **{c: v[c] for c in LOAD_COLUMNS}}
                            for g, v in rec["groups"].items()
                        ],
                    )
                res = RecomputeResult(a["id"], "recomputed")
        out.append(res)
        if on_result is not None:
            on_result(res)
    return out


def delete_activity(engine, activity_id: int) -> dict[str, Any]:
    """Remove one run and its group loads (one transaction); returns the removed row.

    Raises :class:`~runmuscles.errors.InputError` when the history has no such run.
    """
    import sqlalchemy as sa  # noqa: PLC0415

    t = _schema()
    with engine.begin() as conn:
        row = conn.execute(sa.select(t["activities"]).where(t["activities"].c.id == activity_id)).first()
        if row is None:
            raise InputError(f"run {activity_id}", "no such run in the history")
        conn.execute(sa.delete(t["loads"]).where(t["loads"].c.activity_id == activity_id))
        conn.execute(sa.delete(t["activities"]).where(t["activities"].c.id == activity_id))
    return dict(row._mapping)


def activities(engine) -> list[dict[str, Any]]:
    """Every stored activity with its per-group loads (``groups``), oldest first."""
    import sqlalchemy as sa  # noqa: PLC0415

    t = _schema()
    act, loads = t["activities"], t["loads"]
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(act).order_by(act.c.start_time, act.c.id))]
        by_id = {r["id"]: r for r in rows}
        for r in rows:
            r["groups"] = {}
        for lr in conn.execute(sa.select(loads)):
            m = lr._mapping
            row = by_id.get(m["activity_id"])
            if row is None:  # committed by another import between the two reads (PostgreSQL's
                continue  # read committed): it is not in this view yet
            row["groups"][m["muscle_group"]] = {c: m[c] for c in LOAD_COLUMNS}
    return rows


def _monday(d: datetime) -> date:
    return d.date() - timedelta(days=d.weekday())


_DRIVER_TEXT = {
    "pace": "mostly more or faster running",
    "hills": "mostly the hilly runs",
    "cadence": "mostly the change of cadence",
}


def weekly_loads(engine, quantity: str = "impulse_bw_s") -> list[dict[str, Any]]:
    """Per ISO week and group: load, compared descriptively with the three weeks before.

    Parameters
    ----------
    engine
        From :func:`open_history`.
    quantity
        One of ``impulse_bw_s``, ``positive_work_j_per_kg``, ``negative_work_j_per_kg``.

    Returns
    -------
    list of dict
        One row per week (every week from the first to the last run, empty ones included)
        and group: ``week_start`` (ISO date, Monday), ``group``, ``runs``, ``distance_m``,
        ``load`` (``quantity`` summed; negative work as a positive magnitude),
        ``previous_load`` (mean weekly load of the 3 weeks before; ``None`` in the first 3
        weeks), ``ratio`` (load / previous_load: uncoupled; ``None`` in the first 3 weeks,
        with runs in fewer than 2 of the 3 weeks before, or with no previous load),
        ``rise`` (ratio > :data:`RISE_RATIO`: descriptive, not validated for injury),
        ``note``, ``pace_load``, ``hills_load``, ``cadence_load`` (the week's load split by
        what drove it; ``None`` when a run of the week has no drivers stored) and
        ``driver`` (for a rise: the part that rose most against its own baseline, when
        every run of those weeks has drivers).
    """
    from .analyses.load_model import DRIVERS, main_driver  # noqa: PLC0415

    if quantity not in LOAD_COLUMNS:
        raise InputError(quantity, f"unknown load quantity (one of {', '.join(LOAD_COLUMNS)})")
    acts = activities(engine)
    if not acts:
        return []
    groups = sorted({g for a in acts for g in a["groups"]})
    first, last = _monday(acts[0]["start_time"]), _monday(acts[-1]["start_time"])
    n_weeks = (last - first).days // 7 + 1
    load = {g: [0.0] * n_weeks for g in groups}
    parts = {g: {k: [0.0] * n_weeks for k in DRIVERS} for g in groups}
    known = [True] * n_weeks  # every run of the week has drivers
    runs, dist = [0] * n_weeks, [0.0] * n_weeks
    sign = -1.0 if quantity.startswith("negative") else 1.0
    for a in acts:
        w = (_monday(a["start_time"]) - first).days // 7
        runs[w] += 1
        dist[w] += a["distance_m"]
        for g, v in a["groups"].items():
            load[g][w] += abs(v[quantity])
        drv = _drivers(a.get("drivers"))
        if drv is None:
            known[w] = False
            continue
        for g in groups:
            for k in DRIVERS:
                parts[g][k][w] += sign * float(drv.get(g, {}).get(k, {}).get(quantity, 0.0))
    out: list[dict[str, Any]] = []
    for w in range(n_weeks):
        w0 = w - BASE_WEEKS
        for g in groups:
            previous = sum(load[g][w0:w]) / BASE_WEEKS if w0 >= 0 else None
            # A comparison needs an established base: runs in at least MIN_BASE_WEEKS of the 3
            # weeks before (otherwise one short run after a break reads as a 300 % rise).
            base = sum(1 for k in range(max(w0, 0), w) if runs[k])
            ratio = (
                load[g][w] / previous
                if previous is not None and previous > 0 and base >= MIN_BASE_WEEKS
                else None
            )
            rise = ratio is not None and ratio > RISE_RATIO
            driver = None
            if rise and all(known[w0 : w + 1]):
                driver = main_driver(
                    {k: parts[g][k][w] - sum(parts[g][k][w0:w]) / BASE_WEEKS for k in DRIVERS}
                )
            note = ""
            if rise:
                note = f"{g} load {100 * (ratio - 1):+.0f} % vs the mean of the previous 3 weeks"
                if driver is not None:
                    note += f": {_DRIVER_TEXT[driver]}"
                note += " (descriptive; not validated for injury)"
            out.append(
                {
                    "week_start": (first + timedelta(weeks=w)).isoformat(),
                    "group": g,
                    "runs": runs[w],
                    "distance_m": dist[w],
                    "quantity": quantity,
                    "load": load[g][w],
                    "previous_load": previous,
                    "ratio": ratio,
                    "rise": rise,
                    "note": note,
                    **{f"{k}_load": (parts[g][k][w] if known[w] else None) for k in DRIVERS},
                    "driver": driver,
                }
            )
    return out


def _as_utc_naive(t: datetime | str) -> datetime:
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo is not None else t


def single_run_spikes(
    runs: Iterable[dict[str, Any]],
    *,
    rise: float = SINGLE_RUN_RISE,
    window_days: float = SINGLE_RUN_WINDOW_DAYS,
    quantity: str = "impulse_bw_s",
    units: str = "km",
) -> list[dict[str, Any]]:
    """Runs more than ``rise`` longer than the longest run of the previous ``window_days``.

    The check that predicted running injury in 5,205 runners (Frandsen JSB et al. 2025, Br J
    Sports Med 59:1203-1210): validated for distance. Per group, the run's load against the
    largest single-run load of the same window is given too, as descriptive only.

    Parameters
    ----------
    runs
        Dicts with ``start_time`` (datetime or ISO text; naive means UTC), ``distance_m`` and
        optionally ``groups`` (per group ``quantity``) and ``source`` / ``file`` (e.g.
        :func:`activities` or records of
        :func:`~runmuscles.analyses.load_model.summarize_run_file`), in any order.
    rise, window_days
        The threshold (0.10: 10 % longer) and the window (30 days before the run's start).
    quantity
        The per-group load compared descriptively.
    units
        The distances in ``note`` (``km`` or ``mi``: the profile's, :mod:`runmuscles.profile`).

    Returns
    -------
    list of dict
        Per spike, oldest first: ``source``, ``start_time`` (ISO), ``distance_m``,
        ``longest_previous_m``, ``longer_pct``, ``category`` (Frandsen 2025's small /
        moderate / large spike), ``validated`` (``"distance"``), ``note`` and
        ``groups_over`` (per group whose load also exceeds ``1 + rise`` times its largest
        single-run load of the window: ``group``, ``longer_pct``, ``note``, marked "not
        validated for injury"). A run with no run in the window before it is not checked.
    """
    rows = sorted(
        (
            {
                "t": _as_utc_naive(r["start_time"]),
                "d": float(r["distance_m"]),
                "src": str(r.get("source") or r.get("file") or ""),
                "groups": r.get("groups") or {},
            }
            for r in runs
        ),
        key=lambda r: r["t"],
    )
    from .profile import format_distance  # noqa: PLC0415
    from .validation import check_choice  # noqa: PLC0415

    check_choice("units", units, "units")
    window = timedelta(days=window_days)
    out: list[dict[str, Any]] = []
    for i, r in enumerate(rows):
        prev = [p for p in rows[:i] if r["t"] - window <= p["t"] < r["t"]]
        if not prev:
            continue
        longest = max(p["d"] for p in prev)
        if longest <= 0 or r["d"] <= (1.0 + rise) * longest:
            continue
        frac = r["d"] / longest - 1.0
        category = next(name for upper, name in SINGLE_RUN_CATEGORIES if frac <= upper)
        over = []
        for g, v in sorted(r["groups"].items()):
            if g == "other" or quantity not in v:
                continue
            best = max((abs(p["groups"].get(g, {}).get(quantity, 0.0)) for p in prev), default=0.0)
            x = abs(v[quantity])
            if best > 0 and x > (1.0 + rise) * best:
                over.append(
                    {
                        "group": g,
                        "longer_pct": 100.0 * (x / best - 1.0),
                        "note": f"{g} load {100 * (x / best - 1):+.0f} % vs its largest single run of the "
                        f"previous {window_days:g} days (descriptive; not validated for injury)",
                    }
                )
        out.append(
            {
                "source": r["src"],
                "start_time": r["t"].isoformat(),
                "distance_m": r["d"],
                "longest_previous_m": longest,
                "longer_pct": 100.0 * frac,
                "category": category,
                "validated": "distance",
                "note": f"{r['t'].date().isoformat()}: {format_distance(r['d'], units, 1)}, "
                f"{100 * frac:.0f} % longer than the longest run of the previous {window_days:g} days "
                f"({format_distance(longest, units, 1)}): "
                f"a {category}. "
                "In 5,205 runners, runs more than 10 % longer than that were followed by more running "
                "injuries (Frandsen JSB et al. 2025, Br J Sports Med 59:1203-1210).",
                "groups_over": over,
            }
        )
    return out


def _drivers(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        d = json.loads(text)
    except ValueError:
        return None
    return d if isinstance(d, dict) else None


def export_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows (e.g. from :func:`weekly_loads`) as CSV; returns the path."""
    from .outputs import check_output_file, csv_written_by_runmuscles  # noqa: PLC0415

    first_column = next(iter(rows[0])) if rows else "week_start"
    path = check_output_file(path, csv_written_by_runmuscles(first_column), "--csv")
    if not rows:
        path.write_text("")
        return path
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def recent_weeks(engine, n: int, rows: list[dict] | None = None) -> tuple[list[dict], list[dict]]:
    """The last ``n`` weeks with runs, oldest first, and the single-run spikes from the first
    of them on (what ``runmuscles history`` and the app's runs page show).

    Each week: ``week_start``, ``runs``, ``distance_m`` and ``groups`` (its
    :func:`weekly_loads` rows, highest load first). ``rows`` are :func:`weekly_loads`' rows
    when the caller already has them.
    """
    rows = weekly_loads(engine) if rows is None else rows
    shown = sorted({r["week_start"] for r in rows if r["runs"]})[-n:]
    acts = activities(engine)
    keys = week_settings(acts)
    weeks = []
    for w in shown:
        wr = sorted((r for r in rows if r["week_start"] == w), key=lambda r: -r["load"])
        weeks.append(
            {
                "week_start": w,
                "runs": wr[0]["runs"],
                "distance_m": wr[0]["distance_m"],
                "groups": wr,
                "mixed_settings": len(keys.get(w, ())) > 1,
            }
        )
    spikes = [s for s in single_run_spikes(acts) if shown and s["start_time"][:10] >= shown[0]]
    return weeks, spikes


#: What a week that mixes engine settings is told (history command and runs page).
MIXED_NOTE = (
    "mixes runs computed with different engine versions or settings: its loads are not comparable "
    "as they stand (recompute them)"
)


def week_settings(acts: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Per ISO week (Monday, ISO date): the :func:`settings_key` of its runs. A week with more
    than one key mixes results of different engine versions or settings."""
    out: dict[str, set[str]] = {}
    for a in acts:
        w = _monday(a["start_time"]).isoformat()
        out.setdefault(w, set()).add(settings_key(a.get("engine_version"), a.get("settings")))
    return out
