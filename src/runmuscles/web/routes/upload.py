"""Upload: watch files (FIT, GPX, TCX, several at once, or a zip of them) into the history.

The files are stored first (under generated names, see :mod:`runmuscles.web.uploads`), then
imported with :func:`runmuscles.history.import_paths`, the same function as
``runmuscles history --import``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..app import render
from ..uploads import GZ_SUFFIXES, UploadRefused, check_content, extract_zip, gunzip, receive_upload

router = APIRouter()


@router.get("/upload")
def upload_form(request: Request):
    return render(request, "upload.html", {})


@router.post("/upload")
async def upload(request: Request):
    store = request.app.state.uploads
    _batch, folder = store.new_batch()
    received = await receive_upload(request, folder)
    activities, skipped = [], []
    try:
        for f in received:
            if f.suffix in GZ_SUFFIXES:
                activities.append(await run_in_threadpool(gunzip, f, folder))
                continue
            check_content(f)
            if f.suffix == ".zip":
                inner, left = await run_in_threadpool(extract_zip, f, folder)
                activities += inner
                skipped += [f"{f.name}: {n}" for n in left]
            else:
                activities.append(f)
    except UploadRefused:
        import shutil  # noqa: PLC0415

        shutil.rmtree(folder, ignore_errors=True)
        raise
    kept = [*received, *(f for f in activities if f not in received)]
    store.write_manifest(folder, kept, {})  # stored before processing
    results = await run_in_threadpool(_import, request.app.state.engine, activities)
    store.write_manifest(folder, kept, results)
    rows = [{"name": f.name, **results[f.file_id]} for f in activities]
    return render(request, "upload_done.html", {"rows": rows, "skipped": skipped})


def _import(engine, files) -> dict[str, dict]:
    """Each file's import outcome, its stored path replaced by the user's file name."""
    from ...history import import_paths  # noqa: PLC0415

    by_path = {str(f.path): f for f in files}
    out: dict[str, dict] = {}
    for r in import_paths(engine, [f.path for f in files]):
        f = by_path[str(r.path)]
        message = r.message.replace(str(f.path), f.name).replace(str(f.path.parent), "upload")
        out[f.file_id] = {"status": r.status, "activity_id": r.activity_id, "message": message}
    return out
