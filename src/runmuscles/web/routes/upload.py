"""Upload: watch files (FIT, GPX, TCX, several at once, or a zip of them) into the history.

The files are stored first (under generated names, see :mod:`runmuscles.web.uploads`), then
imported with :func:`runmuscles.history.import_paths`, the same function as
``runmuscles history --import``, each file under a time limit (:mod:`runmuscles.web.importer`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..app import render
from ..importer import import_files
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
    limit_s = request.app.state.settings.import_time_limit_s
    results = await run_in_threadpool(import_files, request.app.state.db, activities, time_limit_s=limit_s)
    store.write_manifest(folder, kept, results)
    rows = [{"name": f.name, **results[f.file_id]} for f in activities]
    return render(request, "upload_done.html", {"rows": rows, "skipped": skipped})
