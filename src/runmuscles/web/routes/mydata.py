"""My data: delete a run, an upload or a lab analysis, export everything (one zip, which is also
the backup), restore a backup into an empty data folder. The work is :mod:`runmuscles.datastore`'s
(a lab analysis: :meth:`runmuscles.web.lab_jobs.LabJobs.delete`, which stops it if it runs)."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path as FsPath

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ...datastore import (
    delete_run,
    delete_upload,
    history_is_empty,
    list_uploads,
    restore_archive,
    write_archive,
)
from ..app import render
from ..lab_jobs import ID_PATTERN
from ..uploads import UploadRefused, check_content, receive_upload
from .runs import run_rows

router = APIRouter()


def _data_dir(request: Request) -> FsPath:
    return request.app.state.uploads.root.parent


@router.get("/mydata")
def mydata_page(request: Request):
    data_dir = _data_dir(request)
    engine = request.app.state.engine
    uploads = list_uploads(data_dir)
    analyses = request.app.state.lab_jobs.listing()
    return render(
        request,
        "mydata.html",
        {
            "runs": run_rows(request)[::-1],
            "uploads": uploads,
            "analyses": analyses,
            "empty": history_is_empty(engine) and not uploads and not analyses,
            "done": request.query_params.get("done", "")[:20],
        },
    )


@router.post("/mydata/runs/{run_id}/delete")
def delete_run_route(request: Request, run_id: int = Path(ge=1, le=2**62)):
    delete_run(request.app.state.engine, _data_dir(request), run_id)
    return RedirectResponse("/mydata?done=run-deleted", status_code=303)


@router.post("/mydata/uploads/{batch}/delete")
def delete_upload_route(request: Request, batch: str = Path(pattern=r"^[0-9a-f]{32}$")):
    delete_upload(request.app.state.engine, _data_dir(request), batch)
    return RedirectResponse("/mydata?done=upload-deleted", status_code=303)


@router.post("/mydata/analyses/{job_id}/delete")
def delete_analysis_route(request: Request, job_id: str = Path(pattern=ID_PATTERN, max_length=32)):
    request.app.state.lab_jobs.delete(job_id)
    return RedirectResponse("/mydata?done=analysis-deleted", status_code=303)


@router.get("/mydata/export")
def export(request: Request):
    data_dir = _data_dir(request)
    tmp = data_dir / f".export-{uuid.uuid4().hex}.zip"
    try:
        write_archive(request.app.state.engine, data_dir, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    name = f"runmuscles-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip"
    return FileResponse(
        tmp,
        media_type="application/zip",
        filename=name,
        background=BackgroundTask(tmp.unlink, missing_ok=True),
    )


@router.post("/mydata/restore")
async def restore(request: Request):
    data_dir = _data_dir(request)
    folder = data_dir / f".restore-{uuid.uuid4().hex}"
    try:
        received = await receive_upload(request, folder, field="backup")
        if len(received) != 1 or received[0].suffix != ".zip":
            raise UploadRefused(received[0].name, "a backup is one zip written by Export")
        check_content(received[0])
        await run_in_threadpool(
            restore_archive, request.app.state.engine, data_dir, received[0].path, received[0].name
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return RedirectResponse("/mydata?done=restored", status_code=303)
