"""Uploaded activity files into the history, each read under a time limit.

The files are imported by :func:`runmuscles.history.import_paths` (as ``runmuscles history
--import`` does) in a separate process. A file whose reading takes longer than the limit
(a crafted file that keeps a parser busy) is refused: the process is ended and the files
after it are imported by a new one. Nothing of a file that was being read is in the history
then: each file is stored in one transaction (see :mod:`runmuscles.history`).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from .uploads import StoredFile

__all__ = ["IMPORT_TIME_LIMIT_S", "import_files"]

#: Longest time one file may take to be read and stored (issue 16's suggested 60 s; the
#: shared watch files take well under a second each here).
IMPORT_TIME_LIMIT_S = 60.0
#: Longest time a new import process may take to start (Python, NumPy, the load model).
START_LIMIT_S = 120.0


def _child(db: str, paths: list[str], conn) -> None:  # pragma: no cover - runs in the child
    from ..history import import_paths, open_history  # noqa: PLC0415

    engine = open_history(db)
    from ..analyses.load_model import load_load_model  # noqa: PLC0415

    load_load_model()
    conn.send(("ready",))
    import_paths(
        engine,
        paths,
        on_result=lambda r: conn.send(("result", str(r.path), r.status, r.activity_id, r.message)),
    )
    conn.send(("done",))


def import_files(
    db: str, files: list[StoredFile], *, time_limit_s: float = IMPORT_TIME_LIMIT_S
) -> dict[str, dict]:
    """Import stored files; returns, per file id, ``status``, ``activity_id`` and ``message``.

    The message names the file by the user's name, never by its stored path.
    """
    ctx = multiprocessing.get_context("spawn")
    by_path = {str(f.path): f for f in files}
    out: dict[str, dict] = {}
    remaining = list(files)
    while remaining:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(db, [str(f.path) for f in remaining], child), daemon=True)
        proc.start()
        child.close()
        try:
            if not parent.poll(START_LIMIT_S) or parent.recv()[0] != "ready":
                raise EOFError
            while remaining:
                if not parent.poll(time_limit_s):
                    f = remaining.pop(0)
                    out[f.file_id] = _error(f"took longer than {time_limit_s:g} s to read; not imported")
                    break
                msg = parent.recv()
                if msg[0] == "done":  # every file was reported; one that was not is an error
                    for f in remaining:
                        out[f.file_id] = _error("was not imported")
                    remaining.clear()
                    break
                _, path, status, activity_id, message = msg
                f = by_path[path]
                remaining.remove(f)
                message = message.replace(str(f.path), f.name).replace(str(Path(f.path).parent), "upload")
                out[f.file_id] = {"status": status, "activity_id": activity_id, "message": message}
        except (EOFError, OSError):
            if remaining:  # the reader stopped on this file
                f = remaining.pop(0)
                out[f.file_id] = _error("could not be read (the reader stopped on it); not imported")
        finally:
            parent.close()
            if proc.is_alive():
                proc.kill()
            proc.join()
    return out


def _error(message: str) -> dict:
    return {"status": "error", "activity_id": None, "message": message}
