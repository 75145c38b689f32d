"""The user's data as a whole: delete a run or an upload, export and back up everything, restore.

A data folder holds ``uploads/`` (the stored watch files, one folder per upload with its
``manifest.json``, see :mod:`runmuscles.web.uploads`) and the history database (by default
``history.sqlite`` in the same folder; any SQLAlchemy URL works).

* :func:`write_archive` writes one zip that is both the export and the backup:
  ``tables/*.csv`` (activities, group loads, profile, weekly loads: for reading in a
  spreadsheet), ``runmuscles-backup.json`` (every table row, exactly, with the schema
  revision: for :func:`restore_archive`) and ``uploads/`` (the stored files).
* :func:`restore_archive` fills an empty history and data folder from such a zip: the same
  runs (ids included), loads, settings and profile, and the uploaded files, whose stored
  paths are rewritten to the new folder. The zip is checked as an upload is (no entry that
  leaves its folder, no links, no entry compressed more than 100 times; names of plain
  letters, digits, ``.``, ``_`` and ``-``), and a history or folder that already holds
  data is refused (a restore never merges or overwrites).
* :func:`delete_upload` removes one upload's files and the runs imported from them;
  :func:`delete_run` one run (and its file when it was uploaded).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InputError

__all__ = [
    "ARCHIVE_FORMAT",
    "BACKUP_NAME",
    "delete_run",
    "delete_upload",
    "history_is_empty",
    "list_uploads",
    "restore_archive",
    "write_archive",
]

#: Version of the archive's layout.
ARCHIVE_FORMAT = 1
BACKUP_NAME = "runmuscles-backup.json"
#: Largest archive restored (bytes, uncompressed in all): the upload cap of a zip.
MAX_RESTORE_BYTES = 1024 << 20
_PLAIN = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_BATCH = re.compile(r"^[0-9a-f]{32}$")
_TABLES = ("activities", "group_loads", "profile")
_DATETIMES = {"start_time", "imported_at", "computed_at", "updated_at"}


def _uploads_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "uploads"


#: The data folder's stored folders an archive holds: the uploaded watch files, and the app's
#: lab analyses (``analyses/<id>/``: inputs, settings, status and results; see
#: :mod:`runmuscles.web.lab_jobs`).
STORED_FOLDERS = ("uploads", "analyses")


def _rows(engine, name: str) -> list[dict[str, Any]]:
    import sqlalchemy as sa  # noqa: PLC0415

    from .history import _schema  # noqa: PLC0415

    t = _schema()["loads" if name == "group_loads" else name]
    order = [t.c.id] if "id" in t.c else [t.c.activity_id, t.c.muscle_group]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*order))]


def history_is_empty(engine) -> bool:
    """No runs and no profile stored."""
    return not _rows(engine, "activities") and not _rows(engine, "profile")


def _relative_source(source: str, root: Path) -> str | None:
    """``uploads/<batch>/<file>`` for a source stored under the uploads folder, else ``None``."""
    try:
        rel = Path(source).resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return str(PurePosixPath("uploads", *rel.parts))


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def write_archive(engine, data_dir: str | Path, out) -> dict[str, int]:
    """Write the export/backup zip of a data folder and its history to ``out`` (a path or a
    binary file object). Returns counts: ``runs``, ``files``."""
    from . import __version__  # noqa: PLC0415
    from .history import weekly_loads  # noqa: PLC0415
    from .migrations import HEAD  # noqa: PLC0415

    root = _uploads_root(data_dir)
    tables = {name: [_jsonable(r) for r in _rows(engine, name)] for name in _TABLES}
    for r in tables["activities"]:
        r["source_in_archive"] = _relative_source(r["source"], root)
    backup = {
        "format": ARCHIVE_FORMAT,
        "schema_revision": HEAD,
        "runmuscles_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }
    n_files = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "README.txt",
            "runmuscles export and backup.\n"
            "tables/: the history as CSV (activities, group_loads, profile, weekly_loads).\n"
            f"{BACKUP_NAME}: the same rows exactly, for `restore` (runmuscles serve: My data).\n"
            "uploads/: the uploaded files, one folder per upload (manifest.json names them).\n"
            "analyses/: the app's lab analyses, one folder each (inputs, job.json, results).\n",
        )
        zf.writestr(BACKUP_NAME, json.dumps(backup, indent=1))
        weekly = weekly_loads(engine)
        for name, rows in (*tables.items(), ("weekly_loads", weekly)):
            buf = io.StringIO()
            if rows:
                w = csv.DictWriter(buf, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
            zf.writestr(f"tables/{name}.csv", buf.getvalue())
        for folder in STORED_FOLDERS:
            base = Path(data_dir) / folder
            if not base.is_dir():
                continue
            for f in sorted(base.rglob("*")):
                if f.is_file() and not f.is_symlink() and not f.name.endswith(".tmp"):
                    zf.write(f, str(PurePosixPath(folder, *f.relative_to(base).parts)))
                    n_files += 1
    return {"runs": len(tables["activities"]), "files": n_files}


def _remove_stored(data_dir: str | Path) -> None:
    """Remove what a failed restore wrote (the folders were empty before it)."""
    for folder in STORED_FOLDERS:
        shutil.rmtree(Path(data_dir) / folder, ignore_errors=True)


def _check_archive(zf: zipfile.ZipFile, name: str) -> None:
    from .web.uploads import UploadRefused, _check_entry  # noqa: PLC0415

    total = 0
    for info in zf.infolist():
        try:
            _check_entry(name, info)
        except UploadRefused as exc:
            raise InputError(name, exc.problem) from None
        parts = PurePosixPath(info.filename).parts
        if not all(_PLAIN.match(p) for p in parts):
            raise InputError(
                name, "has an entry whose name is not a plain file name; not a runmuscles backup"
            )
        total += info.file_size
        if total > MAX_RESTORE_BYTES:
            raise InputError(name, f"holds more than {MAX_RESTORE_BYTES >> 20} MB uncompressed")


def restore_archive(engine, data_dir: str | Path, archive, name: str = "backup") -> dict[str, int]:
    """Restore a zip of :func:`write_archive` into an empty history and data folder.

    Parameters
    ----------
    engine
        The (empty) history, from :func:`runmuscles.history.open_history`.
    data_dir
        The data folder whose ``uploads/`` receives the files (must hold none).
    archive
        A path or a binary file object.
    name
        How the archive is named in messages.

    Returns
    -------
    dict
        ``runs`` and ``files`` restored. Raises :class:`~runmuscles.errors.InputError` for
        an archive that is not a runmuscles backup, one of a newer schema, or a history or
        folder that is not empty (nothing is changed then).
    """
    import sqlalchemy as sa  # noqa: PLC0415

    from .history import _KNOWN_REVISIONS, _schema  # noqa: PLC0415

    root = _uploads_root(data_dir)
    if not history_is_empty(engine):
        raise InputError("restore", "the history already holds runs or a profile; restore into an empty one")
    for folder in STORED_FOLDERS:
        held = Path(data_dir) / folder
        if held.is_dir() and any(held.iterdir()):
            raise InputError("restore", f"the data folder already holds {folder}; restore into an empty one")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise InputError(name, "is not a readable zip archive") from None
    with zf:
        _check_archive(zf, name)
        try:
            backup = json.loads(zf.read(BACKUP_NAME))
        except KeyError:
            raise InputError(name, f"has no {BACKUP_NAME}: not a runmuscles backup") from None
        except ValueError:
            raise InputError(name, f"its {BACKUP_NAME} is not valid JSON") from None
        if not isinstance(backup, dict) or backup.get("format") != ARCHIVE_FORMAT:
            raise InputError(name, "is not a runmuscles backup of a format this version reads")
        if backup.get("schema_revision") not in _KNOWN_REVISIONS:
            raise InputError(
                name,
                f"was written by a newer runmuscles (schema {backup.get('schema_revision')}); upgrade first",
            )
        tables = backup.get("tables") or {}
        t = _schema()
        columns = {
            "activities": {c.name for c in t["activities"].columns},
            "group_loads": {c.name for c in t["loads"].columns},
            "profile": {c.name for c in t["profile"].columns},
        }
        rows: dict[str, list[dict[str, Any]]] = {}
        for tname in _TABLES:
            got = tables.get(tname, [])
            if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
                raise InputError(name, f"its table {tname} is not a list of rows")
            rows[tname] = []
            for r in got:
                row = {k: v for k, v in r.items() if k in columns[tname]}
                for k in _DATETIMES & row.keys():
                    if row[k] is not None:
                        try:
                            row[k] = datetime.fromisoformat(row[k])
                        except (TypeError, ValueError):
                            raise InputError(name, f"its {tname}.{k} '{row[k]}' is not a time") from None
                if tname == "activities" and r.get("source_in_archive"):
                    rel = PurePosixPath(r["source_in_archive"])
                    if rel.parts[:1] != ("uploads",) or not all(_PLAIN.match(p) for p in rel.parts):
                        raise InputError(name, "has a run whose stored file is outside its uploads folder")
                    row["source"] = str(root.joinpath(*rel.parts[1:]))
                rows[tname].append(row)
        files = [
            i
            for i in zf.infolist()
            if not i.is_dir() and PurePosixPath(i.filename).parts[:1] in {(f,) for f in STORED_FOLDERS}
        ]
        written: list[Path] = []
        try:
            for info in files:
                dest = Path(data_dir).joinpath(*PurePosixPath(info.filename).parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, dest.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                written.append(dest)
            with engine.begin() as conn:
                if rows["activities"]:
                    conn.execute(sa.insert(t["activities"]), rows["activities"])
                if rows["group_loads"]:
                    conn.execute(sa.insert(t["loads"]), rows["group_loads"])
                if rows["profile"]:
                    conn.execute(sa.insert(t["profile"]), rows["profile"])
                if engine.dialect.name == "postgresql" and rows["activities"]:
                    # ids were given: the sequence continues after the largest
                    conn.execute(
                        sa.text(
                            "SELECT setval(pg_get_serial_sequence('activities', 'id'), "
                            "(SELECT MAX(id) FROM activities))"
                        )
                    )
        except (sa.exc.DBAPIError, OSError) as exc:
            _remove_stored(data_dir)
            raise InputError(
                name, f"could not be restored ({type(exc).__name__}); nothing was kept"
            ) from None
        except Exception:
            _remove_stored(data_dir)
            raise
    return {"runs": len(rows["activities"]), "files": len(written)}


def list_uploads(data_dir: str | Path) -> list[dict[str, Any]]:
    """The uploads, newest first: ``batch`` (its id), ``uploaded`` (time of its manifest,
    UTC), ``files`` (the client's names and outcomes)."""
    root = _uploads_root(data_dir)
    out = []
    if not root.is_dir():
        return out
    for m in root.glob("*/manifest.json"):
        try:
            rows = json.loads(m.read_text())
        except (OSError, ValueError):
            rows = []
        out.append(
            {
                "batch": m.parent.name,
                "uploaded": datetime.fromtimestamp(m.stat().st_mtime, UTC).replace(tzinfo=None),
                "files": [
                    {"name": r.get("name", "?"), "status": r.get("status", "")}
                    for r in rows
                    if isinstance(r, dict)
                    and r.get("suffix") != ".zip"
                    and not str(r.get("suffix")).endswith(".gz")
                ],
            }
        )
    return sorted(out, key=lambda u: u["uploaded"], reverse=True)


def _batch_folder(data_dir: str | Path, batch: str) -> Path:
    if not _BATCH.match(batch or ""):
        raise InputError("upload", "not an upload id")
    folder = _uploads_root(data_dir) / batch
    if not folder.is_dir():
        raise InputError("upload", "no such upload")
    return folder


def delete_upload(engine, data_dir: str | Path, batch: str) -> dict[str, int]:
    """Remove one upload: the runs imported from its files, then its files. Returns counts."""
    from .history import activities, delete_activity  # noqa: PLC0415

    folder = _batch_folder(data_dir, batch).resolve()
    runs = 0
    for a in activities(engine):
        try:
            Path(a["source"]).resolve().relative_to(folder)
        except ValueError:
            continue
        delete_activity(engine, a["id"])
        runs += 1
    files = sum(1 for f in folder.rglob("*") if f.is_file())
    shutil.rmtree(folder)
    return {"runs": runs, "files": files}


def delete_run(engine, data_dir: str | Path, activity_id: int) -> dict[str, Any]:
    """Remove one run from the history, and its file when it is an uploaded one (the upload's
    manifest then marks it ``deleted``, so it is not imported again on restart)."""
    from .history import activities, delete_activity  # noqa: PLC0415

    row = delete_activity(engine, activity_id)
    root = _uploads_root(data_dir).resolve()
    src = Path(row["source"])
    removed = False
    if any(a["source"] == row["source"] for a in activities(engine)):
        return {"id": activity_id, "file_removed": False}  # another run still refers to the file
    try:
        rel = src.resolve().relative_to(root)
    except (ValueError, OSError):
        rel = None
    if rel is not None and len(rel.parts) == 2:
        manifest = root / rel.parts[0] / "manifest.json"
        try:
            rows = json.loads(manifest.read_text())
        except (OSError, ValueError):
            rows = []
        for r in rows:
            if isinstance(r, dict) and r.get("path") == rel.parts[1]:
                r["status"] = "deleted"
        if rows:
            tmp = manifest.with_name("manifest.json.tmp")
            tmp.write_text(json.dumps(rows, indent=1, default=str))
            tmp.replace(manifest)
        src.unlink(missing_ok=True)
        removed = True
    return {"id": activity_id, "file_removed": removed}
