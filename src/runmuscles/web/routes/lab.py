"""Lab sessions: uploaded, stored, analysed as ``runmuscles analyze`` does, and shown.

``POST /lab`` stores the files (:mod:`runmuscles.web.lab_uploads` checks them and names
their roles) and queues the analysis (:mod:`runmuscles.web.lab_jobs`); the analysis page
shows its progress stage by stage until it is done, then the results with the report's own
rendering (:func:`runmuscles.reports.html.analysis_sections_html`): the page and the offline
``report.html`` are drawn by the same code, styled and scripted by the same files.
"""

from __future__ import annotations

import shutil
import time

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from ...errors import InputError
from ...validation import check, check_window
from ..app import render
from ..lab_jobs import ID_PATTERN, RESULT_DOWNLOADS, public_text
from ..lab_uploads import (
    LAB_SIZE_CAP_BYTES,
    LAB_WHAT,
    assign_roles,
    check_lab_content,
    content_names,
    extract_lab_zip,
)
from ..uploads import UploadRefused, receive_upload

router = APIRouter()
JobId = PathParam(pattern=ID_PATTERN, max_length=32)
#: Form fields: name -> (the declared limit checked, its label on the page).
NUMBER_FIELDS = {
    "mass_kg": ("body_mass_kg", "body mass"),
    "height_m": ("height_m", "height"),
    "speed_m_s": ("speed_m_s", "running speed"),
    "start_s": ("start_s", "start of the window"),
    "end_s": ("end_s", "end of the window"),
}


def _number(fields: dict[str, str], name: str) -> float | None:
    raw = fields.get(name, "").strip()
    if not raw:
        return None
    key, label = NUMBER_FIELDS[name]
    try:
        value = float(raw)
    except ValueError:
        raise InputError(label, f"'{raw[:20]}' is not a number") from None
    check(key, value, label)
    return value


def _store(files, inputs) -> tuple[list, list[str]]:
    """Content checks and zips (in a worker thread): the session's files and the entries left out."""
    kept, skipped = [], []
    for f in files:
        check_lab_content(f)
        if f.suffix == ".zip":
            inner, left = extract_lab_zip(f, inputs)
            kept += inner
            skipped += left
            f.path.unlink()
        else:
            kept.append(f)
    return kept, skipped


@router.post("/lab")
async def lab_upload(request: Request):
    jobs = request.app.state.lab_jobs
    job_id, inputs = jobs.new()
    fields: dict[str, str] = {}
    try:
        received = await receive_upload(
            request, inputs, ("trial", "static"), caps=LAB_SIZE_CAP_BYTES, what=LAB_WHAT, fields_out=fields
        )
        settings = {name: _number(fields, name) for name in NUMBER_FIELDS}
        check_window(settings.get("start_s"), settings.get("end_s"), "analysis window")
        settings["emg"] = fields.get("emg") == "on"
        files, skipped = await run_in_threadpool(_store, received, inputs)
        session = await run_in_threadpool(assign_roles, files)
        before = {id(getattr(session, r)): r for r in ("trial", "static", "model") if getattr(session, r)}
        session = await run_in_threadpool(content_names, session)
        files = [getattr(session, before[id(f)]) if id(f) in before else f for f in files]
    except (UploadRefused, InputError):
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise
    if settings["emg"] and session.trial.suffix != ".c3d":
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise InputError(
            "EMG", "the EMG compared with the activations comes from a C3D trial's analog channels"
        )
    jobs.record(
        job_id,
        [{"stored": f.path.name, "name": f.name} for f in files],
        {role: f.path.name for role, f in vars(session).items() if f is not None},
        {**settings, "skipped": skipped},
    )
    jobs.submit(job_id)
    return RedirectResponse(f"/analyses/{job_id}", status_code=303)


def _found(request: Request, job_id: str) -> tuple[dict, dict]:
    jobs = request.app.state.lab_jobs
    job, status = jobs.job(job_id), jobs.status(job_id)
    if job is None or status is None:
        raise HTTPException(404)
    return job, status


def _progress(status: dict) -> dict:
    """What the page shows of a status: state, the stage and how long it has run, earlier stages."""
    now = time.time()
    stages = [
        {"stage": s["stage"], "seconds": s.get("seconds", round(now - s["at"], 1))}
        for s in status.get("stages", [])
        if s["stage"] != "done"
    ]
    started = status.get("started")
    return {
        "state": status.get("state", "queued"),
        "stage": status.get("stage", ""),
        "elapsed_s": round((status.get("finished") or now) - started, 1) if started else 0.0,
        "stages": stages,
        "error": status.get("error"),
    }


@router.get("/api/analyses/{job_id}")
def analysis_status(request: Request, job_id: str = JobId):
    _job, status = _found(request, job_id)
    return _progress(status)


@router.get("/analyses")
def analyses_page(request: Request):
    return render(request, "analyses.html", {"analyses": request.app.state.lab_jobs.listing()})


@router.get("/analyses/{job_id}")
def analysis_page(request: Request, job_id: str = JobId):
    from ...reports.html import analysis_sections_html  # noqa: PLC0415
    from ...reports.resultset import load_results  # noqa: PLC0415

    job, status = _found(request, job_id)
    names = {f["stored"]: f["name"] for f in job["files"]}
    files = {role: names.get(stored, "?") for role, stored in job["roles"].items()}
    ctx = {"job_id": job_id, "files": files, "settings": job["settings"], "progress": _progress(status)}
    if status.get("state") != "done":
        return render(request, "analysis_progress.html", ctx)
    results = request.app.state.lab_jobs.root / job_id / "results"
    rs = load_results(results)
    quality = rs.summary.get("quality", {})
    downloads = [{"name": n, "what": what} for n, what in RESULT_DOWNLOADS.items() if (results / n).is_file()]
    return render(
        request,
        "analysis.html",
        {
            **ctx,
            "sections": Markup(public_text(analysis_sections_html(rs, "t0"), results.parent, names)),
            "valid": quality.get("valid", True),
            "warnings": quality.get("warnings", []),
            "notices": status.get("notices", []),
            "downloads": downloads,
        },
    )


@router.get("/analyses/{job_id}/files/{name}")
def analysis_file(request: Request, job_id: str = JobId, name: str = PathParam(max_length=40)):
    _found(request, job_id)
    if name not in RESULT_DOWNLOADS:  # the listed files only: never a path
        raise HTTPException(404)
    path = request.app.state.lab_jobs.root / job_id / "results" / name
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, filename=name, content_disposition_type="attachment")
