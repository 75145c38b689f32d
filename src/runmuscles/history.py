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
* **Weeks**: :func:`weekly_loads` sums each group's load per ISO week (Monday, UTC) and
  gives the acute:chronic workload ratio, this week's load over the mean weekly load of
  the four weeks ending with it (the "coupled" 7-day : 28-day ratio of Gabbett TJ (2016)
  The training-injury prevention paradox, Br J Sports Med 50:273-280), with a flag when it
  exceeds :data:`SPIKE_RATIO`. Each activity also stores what drove its load (pace, hills,
  cadence: see :func:`runmuscles.analyses.load_model.run_load`); a spike's note names the
  part that rose most against its own 4-week average, e.g. "calves load +45 % vs your 4-week
  average: mostly the hilly runs".
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = [
    "ImportResult",
    "SPIKE_RATIO",
    "default_db_url",
    "export_csv",
    "import_paths",
    "open_history",
    "store_activity",
    "activities",
    "weekly_loads",
]

#: Acute:chronic ratios above 1.3 leave the 0.8-1.3 "sweet spot" of Gabbett (2016), Br J
#: Sports Med 50:273-280, where injury risk rises.
SPIKE_RATIO = 1.3
#: Weeks in the chronic window (28 days).
CHRONIC_WEEKS = 4
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
    _TABLES.update(metadata=md, activities=activities, loads=loads)
    return _TABLES


def open_history(db: str | Path | None = None):
    """Open (and create if needed) the history database.

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
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url, connect_args={"timeout": 60} if is_sqlite else {})
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise InputError(url, f"cannot open the history database ({exc})") from None
    if is_sqlite:

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - runs per connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    try:
        _schema()["metadata"].create_all(engine)
        _add_missing_columns(engine)
    except sa.exc.OperationalError as exc:
        raise InputError(url, f"cannot open the history database ({exc.orig})") from None
    return engine


def _add_missing_columns(engine) -> None:
    """Bring a database written by an older runmuscles up to the current columns."""
    import sqlalchemy as sa  # noqa: PLC0415

    have = {c["name"] for c in sa.inspect(engine).get_columns("activities")}
    if "drivers" not in have:
        with engine.begin() as conn:
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
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in ACTIVITY_SUFFIXES))
        elif p.exists():
            files.append(p)
        else:
            raise InputError(p, "file or folder not found")
    return files


def _find(conn, digest: str) -> int | None:
    import sqlalchemy as sa  # noqa: PLC0415

    act = _schema()["activities"]
    return conn.execute(sa.select(act.c.id).where(act.c.content_hash == digest)).scalar_one_or_none()


def import_paths(
    engine,
    paths: Iterable[str | Path],
    *,
    on_result: Callable[[ImportResult], None] | None = None,
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

    Returns
    -------
    list of ImportResult
    """
    import sqlalchemy as sa  # noqa: PLC0415

    from .analyses.load_model import load_load_model, summarize_activity  # noqa: PLC0415
    from .readers.watch import read_activity  # noqa: PLC0415

    model = load_load_model()
    results: list[ImportResult] = []
    for f in _expand(paths):
        digest = content_hash(f)
        with engine.connect() as conn:
            found = _find(conn, digest)
        if found is not None:
            res = ImportResult(f, "duplicate", found)
        else:
            try:
                rec = summarize_activity(read_activity(f), model=model)
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
            by_id[m["activity_id"]]["groups"][m["muscle_group"]] = {c: m[c] for c in LOAD_COLUMNS}
    return rows


def _monday(d: datetime) -> date:
    return d.date() - timedelta(days=d.weekday())


_DRIVER_TEXT = {
    "pace": "mostly more or faster running",
    "hills": "mostly the hilly runs",
    "cadence": "mostly the change of cadence",
}


def weekly_loads(engine, quantity: str = "impulse_bw_s") -> list[dict[str, Any]]:
    """Per ISO week and group: load, acute:chronic ratio, spike flag and what drove it.

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
        ``chronic_load`` (mean weekly load of the 4 weeks ending with this one),
        ``acwr`` (load / chronic_load, ``None`` before 4 weeks of history, with runs in
        fewer than 2 of the 3 weeks before, or with no chronic load), ``spike``
        (acwr > :data:`SPIKE_RATIO`), ``note``, ``pace_load``, ``hills_load``,
        ``cadence_load`` (the week's load split by what drove it; ``None`` when a run of
        the week has no drivers stored) and ``driver`` (for a spike: the part that rose
        most against its 4-week average, when every run of those weeks has drivers).
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
        w0 = max(0, w - CHRONIC_WEEKS + 1)
        for g in groups:
            window = load[g][w0 : w + 1]
            chronic = sum(window) / CHRONIC_WEEKS
            # A ratio needs an established base: runs in at least MIN_BASE_WEEKS of the 3
            # weeks before (otherwise one short run after a break reads as a 300 % spike).
            base = sum(1 for k in range(w0, w) if runs[k])
            full = w + 1 >= CHRONIC_WEEKS and base >= MIN_BASE_WEEKS
            acwr = load[g][w] / chronic if full and chronic > 0 else None
            spike = acwr is not None and acwr > SPIKE_RATIO
            driver = None
            if spike and all(known[w0 : w + 1]):
                driver = main_driver(
                    {k: parts[g][k][w] - sum(parts[g][k][w0 : w + 1]) / CHRONIC_WEEKS for k in DRIVERS}
                )
            note = ""
            if spike:
                note = f"{g} load {100 * (load[g][w] / chronic - 1):+.0f} % vs your 4-week average"
                if driver is not None:
                    note += f": {_DRIVER_TEXT[driver]}"
            out.append(
                {
                    "week_start": (first + timedelta(weeks=w)).isoformat(),
                    "group": g,
                    "runs": runs[w],
                    "distance_m": dist[w],
                    "quantity": quantity,
                    "load": load[g][w],
                    "chronic_load": chronic,
                    "acwr": acwr,
                    "spike": spike,
                    "note": note,
                    **{f"{k}_load": (parts[g][k][w] if known[w] else None) for k in DRIVERS},
                    "driver": driver,
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
    path = Path(path)
    if not rows:
        path.write_text("")
        return path
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path
