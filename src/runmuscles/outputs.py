"""Where runmuscles writes: output folders and files that never overwrite what a user owns.

Every folder runmuscles writes results into carries a marker file, :data:`MARKER`. A folder
may be written when it is new, empty, or has the marker; a non-empty folder without it
(the user's own files, say a home folder given by mistake as ``--out``) is refused with one
line, before anything is computed. A single output file (a load table, a report page, a
CSV) may replace only a file that runmuscles wrote, recognised by its content.

One pair of functions serves every command and library writer:
:func:`check_output_dir` (no side effects: for a command to fail early) and
:func:`prepare_output_dir` (creates the folder and its marker: for the code that writes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .errors import InputError

__all__ = [
    "MARKER",
    "check_output_dir",
    "check_output_file",
    "csv_written_by_runmuscles",
    "html_written_by_runmuscles",
    "json_written_by_runmuscles",
    "prepare_output_dir",
]

#: The file that marks a folder as written by runmuscles (and so safe to rewrite).
MARKER = ".runmuscles-output"
_MARKER_TEXT = (
    "This folder was written by runmuscles. Its files may be replaced when runmuscles writes here "
    "again; delete this file to protect them.\n"
)
#: Bytes read from an existing output file to decide whether runmuscles wrote it.
_SNIFF_BYTES = 65536


def _refusal(path: Path, option: str) -> str | None:
    """Why ``path`` must not be used as an output folder, or ``None`` when it may be."""
    if path.is_symlink() and not path.exists():
        return f"{option} is a broken link"
    if path.exists() and not path.is_dir():
        return f"{option} must be a folder, and this is an existing file (give a new or empty folder)"
    if not path.exists():
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    return f"{option} cannot be created: {parent} is a file, not a folder"
                break
        return None
    if (path / MARKER).is_file():
        return None
    try:
        entries = [p.name for p in path.iterdir()]
    except OSError as exc:
        return f"{option} cannot be read ({exc.strerror or exc})"
    if entries:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        return (
            f"{option} is a folder with other files in it ({shown}) that runmuscles did not write "
            f"(no {MARKER} marker); give a new or empty folder, so nothing of yours is overwritten"
        )
    return None


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Refuse, without writing anything, a folder that runmuscles must not write into.

    Parameters
    ----------
    path
        The output folder.
    option
        The option it came from, named in the message (e.g. ``--out``, ``--figures``).

    Returns
    -------
    Path
        ``path``. Raises :class:`~runmuscles.errors.InputError` when it is an existing file,
        cannot be created, or is a non-empty folder without :data:`MARKER`.
    """
    p = Path(path)
    why = _refusal(p, option)
    if why is not None:
        raise InputError(p, why)
    return p


def prepare_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Create (if needed) and mark an output folder, after :func:`check_output_dir`.

    Returns
    -------
    Path
        The folder, now existing and holding :data:`MARKER`.
    """
    p = check_output_dir(path, option)
    try:
        p.mkdir(parents=True, exist_ok=True)
        marker = p / MARKER
        if not marker.is_file():
            marker.write_text(_MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise InputError(p, f"{option} cannot be written ({exc.strerror or exc})") from None
    return p


def check_output_file(
    path: str | Path, written_by_runmuscles: Callable[[Path], bool], option: str = "--out"
) -> Path:
    """Refuse an output file that exists and was not written by runmuscles.

    Parameters
    ----------
    path
        The file to be written.
    written_by_runmuscles
        Given the existing file, whether runmuscles wrote it (e.g.
        :func:`json_written_by_runmuscles`).
    option
        The option it came from, named in the message.

    Returns
    -------
    Path
        ``path`` (an empty or absent file passes). Raises
        :class:`~runmuscles.errors.InputError` otherwise.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(p, f"{option} must be a file, and this is a folder")
    if not p.exists():
        for parent in p.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise InputError(p, f"{option} cannot be created: {parent} is a file, not a folder")
                break
        return p
    try:
        empty = p.stat().st_size == 0
        owned = empty or written_by_runmuscles(p)
    except OSError as exc:
        raise InputError(p, f"{option} cannot be read ({exc.strerror or exc})") from None
    if not owned:
        raise InputError(
            p,
            f"{option} exists and was not written by runmuscles; refusing to overwrite it (give a new name)",
        )
    return p


def _head(path: Path, n: int = _SNIFF_BYTES) -> str:
    with path.open("rb") as fh:
        return fh.read(n).decode("utf-8", errors="replace")


def json_written_by_runmuscles(path: Path) -> bool:
    """A JSON object whose ``provenance.built_by`` (or ``generator``) names runmuscles."""
    if not _head(path, 1).startswith("{"):
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    prov = data.get("provenance")
    built_by = prov.get("built_by", "") if isinstance(prov, dict) else ""
    return str(built_by).startswith("runmuscles") or data.get("generator") == "runmuscles"


def html_written_by_runmuscles(path: Path) -> bool:
    """An HTML page of runmuscles' reports (their doctype, and runmuscles named in the page)."""
    text = _head(path)
    return text.lstrip().lower().startswith("<!doctype html") and "runmuscles" in text


def csv_written_by_runmuscles(first_column: str) -> Callable[[Path], bool]:
    """A CSV file whose header starts with ``first_column`` (runmuscles' own layout)."""

    def owned(path: Path) -> bool:
        return _head(path, 4096).startswith(f"{first_column},")

    return owned
