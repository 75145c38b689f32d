"""`runmuscles backup` and `runmuscles restore`: the whole data folder and history as one zip
(thin layer over runmuscles.datastore; the app's My data page does the same)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app

_DATA_DIR = typer.Option("--data-dir", help="Uploads and history folder (default: user data folder).")
_DB = typer.Option(
    "--db", help="History database (URL or SQLite file; default: history.sqlite in --data-dir)."
)


def _open(data_dir: Path | None, db: str | None):
    from ..history import open_history  # noqa: PLC0415
    from ..web.app import default_data_dir  # noqa: PLC0415

    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return folder, open_history(db or folder / "history.sqlite")


@app.command()
def backup(
    out: Annotated[Path, typer.Argument(help="The zip to write (the tables as CSV, the rows, the uploads).")],
    data_dir: Annotated[Path | None, _DATA_DIR] = None,
    db: Annotated[str | None, _DB] = None,
) -> None:
    """Export everything (a zip of the uploaded files and the history's tables), restorable
    with `runmuscles restore`."""
    from ..datastore import write_archive  # noqa: PLC0415
    from ..errors import InputError  # noqa: PLC0415

    if out.exists():
        raise InputError(out, "exists already; give a new file name (a backup never overwrites)")
    if data_dir is not None and not data_dir.is_dir():  # never an empty backup of a mistyped folder
        raise InputError(data_dir, "no such data folder")
    folder, engine = _open(data_dir, db)
    counts = write_archive(engine, folder, out)
    typer.echo(f"wrote {out}: {counts['runs']} runs, {counts['files']} files")


@app.command()
def restore(
    archive: Annotated[
        Path, typer.Argument(help="A zip written by `runmuscles backup` (or the app's export).")
    ],
    data_dir: Annotated[Path | None, _DATA_DIR] = None,
    db: Annotated[str | None, _DB] = None,
) -> None:
    """Restore a backup into an empty data folder and history (never merges or overwrites)."""
    from ..datastore import restore_archive  # noqa: PLC0415
    from ..errors import InputError  # noqa: PLC0415

    if not archive.is_file():
        raise InputError(archive, "file not found")
    folder, engine = _open(data_dir, db)
    counts = restore_archive(engine, folder, archive, archive.name)
    typer.echo(f"restored {counts['runs']} runs and {counts['files']} files into {folder}")
