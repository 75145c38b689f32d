"""Lab analyses of the app: stored, queued, run in a separate process, their progress on disk.

Each analysis lives in ``<data dir>/analyses/<id>/`` (``id``: 32 hex digits, generated):
``inputs/`` (the uploaded files under generated names), ``job.json`` (the user's file names,
roles and settings), ``status.json`` (state, the stage running and each stage's start, or the
error) and ``results/`` (what ``runmuscles analyze`` writes, with ``report.html``).

One worker thread runs the queued analyses one at a time (model scaling and inverse
kinematics use every core they get), each in a spawned process that calls
:func:`runmuscles.analysis_inputs.analyze_lab_files`, the library call of ``runmuscles
analyze``, and reports every stage as it starts. Analyses left queued or running when a
server stopped are run again when the next one starts (:meth:`LabJobs.resume`).
:meth:`LabJobs.delete` removes an analysis with all its files (stopping it first when it runs).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["ID_PATTERN", "LabJobs", "RESULT_DOWNLOADS", "public_text"]

ID_PATTERN = r"^[0-9a-f]{32}$"
_ID = re.compile(ID_PATTERN)
#: Longest time one analysis may run before it is stopped (s): a C3D session with model
#: scaling and inverse kinematics takes minutes on a laptop.
JOB_TIME_LIMIT_S = 3600.0
#: The result files offered for download: name -> what it is.
RESULT_DOWNLOADS = {
    "summary.json": "summary with the quality panel (JSON)",
    "muscles.csv": "per muscle, stride and phase (CSV)",
    "groups.csv": "per muscle group, side, stride and phase (CSV)",
    "normalized.csv": "mean curves over the gait cycle (CSV)",
    "timeseries.parquet": "every frame's activations and forces (Parquet)",
    "activation.sto": "activations (OpenSim .sto)",
    "force.sto": "muscle forces (OpenSim .sto)",
    "inverse_dynamics.sto": "joint moments (OpenSim .sto)",
    "report.html": "the self-contained report (opens offline)",
}


#: How the page names the library's stages (the lab path's and the pipeline's ``progress`` names).
STAGE_LABELS = {
    "reading": "reading the trial",
    "model": "preparing the model (muscle geometry)",
    "read": "reading the joint angles and forces",
    "checks": "checking the inputs",
    "events": "finding foot strikes and toe-offs",
    "kinematics": "joint angles and their velocities",
    "dynamics": "inverse dynamics (joint moments)",
    "residual reduction": "residual reduction",
    "geometry": "muscle lengths and moment arms",
    "muscles": "muscle forces (static optimization)",
    "analyses": "per-muscle results per stride and phase",
}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # readers never see half a file


#: The command line's options named in the library's messages, as the upload form names them.
FORM_NAMES = {
    "--static": "the static trial",
    "--height": "the height",
    "--mass": "the body mass",
    "--start": "the window's start",
    "--end": "the window's end",
    "--speed": "the running speed",
}


def public_text(text: str, folder: Path, names: dict[str, str], *, form: bool = False) -> str:
    """A message or page with stored paths replaced by the user's file names (no internal path
    shown); ``form``: the command line's options named as the upload form names them."""
    if form:
        for flag, label in FORM_NAMES.items():
            text = re.sub(rf"{flag}\b(?!-)", label, text)
    for stored, name in names.items():
        text = text.replace(str(folder / "inputs" / stored), name).replace(stored, name)
    return text.replace(str(folder / "results"), "results").replace(str(folder), "analysis")


def run_job(folder: str, server_pid: int | None = None) -> None:
    """Run one stored analysis (in the worker's child process); writes ``status.json`` throughout.

    ``server_pid``: the app's process; when it is gone (killed), the analysis stops at its next
    stage, its status left "running" for the next start of the app to run it again.
    """
    from ..analysis_inputs import analyze_lab_files  # noqa: PLC0415
    from ..errors import RunmusclesError  # noqa: PLC0415

    base = Path(folder)
    job = json.loads((base / "job.json").read_text(encoding="utf-8"))
    names = {f["stored"]: f["name"] for f in job["files"]}
    status: dict[str, Any] = {"state": "running", "stage": "starting", "stages": [], "started": time.time()}

    def say(stage: str) -> None:
        if server_pid is not None and os.getppid() != server_pid:
            os._exit(1)  # orphaned: the app was killed; it resumes this analysis when started again
        now = time.time()
        if status["stages"]:
            status["stages"][-1]["seconds"] = round(now - status["stages"][-1]["at"], 2)
        stage = STAGE_LABELS.get(stage, stage)
        status["stage"] = stage
        status["stages"].append({"stage": stage, "at": now})
        _write_json(base / "status.json", status)

    def path(role: str) -> Path | None:
        stored = job["roles"].get(role)
        return base / "inputs" / stored if stored else None

    results = base / "results"
    emg = None
    if job["settings"].get("emg"):
        from ..analyses.emg import EmgOptions  # noqa: PLC0415

        emg = EmgOptions(path("trial"))
    try:
        _analysis, _paths, notices = analyze_lab_files(
            path("trial"),
            results,
            static=path("static"),
            model=path("model"),
            forces=path("forces"),
            mass_kg=job["settings"].get("mass_kg"),
            height_m=job["settings"].get("height_m"),
            speed_m_s=job["settings"].get("speed_m_s"),
            start_s=job["settings"].get("start_s"),
            end_s=job["settings"].get("end_s"),
            emg=emg,
            progress=say,
        )
        say("writing the report")
        from ..reports.html import build_report  # noqa: PLC0415

        build_report(
            results, results / "report.html", title=f"Running muscles: {names[job['roles']['trial']]}"
        )
        say("done")
        status.update(state="done", notices=[public_text(n, base, names, form=True) for n in notices])
    except RunmusclesError as exc:
        status.update(state="error", error=public_text(str(exc), base, names, form=True))
    except Exception as exc:  # a bug: said as one, without internals
        status.update(
            state="error",
            error=f"Something went wrong inside runmuscles ({type(exc).__name__}); this is a bug, "
            "please report it with the files you uploaded.",
        )
    status["finished"] = time.time()
    _write_json(base / "status.json", status)


class LabJobs:
    """The analyses folder of a data directory, and the worker that runs its queue."""

    def __init__(self, data_dir: Path, *, time_limit_s: float = JOB_TIME_LIMIT_S) -> None:
        self.root = Path(data_dir) / "analyses"
        self.time_limit_s = time_limit_s
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._proc = None
        self._running_id: str | None = None  # the analysis whose process runs (under _lock)
        self._deleting: set[str] = set()  # analyses being deleted: not started, no status written

    # -- storage -------------------------------------------------------------------------
    def new(self) -> tuple[str, Path]:
        """A new analysis id and its inputs folder (created)."""
        job_id = uuid.uuid4().hex
        inputs = self.root / job_id / "inputs"
        inputs.mkdir(parents=True, mode=0o700)
        return job_id, inputs

    def folder(self, job_id: str) -> Path | None:
        """The analysis's folder, or ``None`` for an id that is not one (never a path outside)."""
        if not _ID.match(job_id or ""):
            return None
        d = self.root / job_id
        return d if (d / "job.json").is_file() else None

    def record(self, job_id: str, files: list[dict[str, str]], roles: dict[str, str], settings: dict) -> None:
        """Write ``job.json`` and a queued status (the upload is stored before it is processed)."""
        d = self.root / job_id
        _write_json(
            d / "job.json", {"files": files, "roles": roles, "settings": settings, "created": time.time()}
        )
        _write_json(d / "status.json", {"state": "queued", "stage": "waiting for its turn", "stages": []})

    def job(self, job_id: str) -> dict[str, Any] | None:
        d = self.folder(job_id)
        return json.loads((d / "job.json").read_text(encoding="utf-8")) if d else None

    def status(self, job_id: str) -> dict[str, Any] | None:
        d = self.folder(job_id)
        if d is None:
            return None
        try:
            return json.loads((d / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"state": "queued", "stage": "waiting for its turn", "stages": []}

    def listing(self) -> list[dict[str, Any]]:
        """Every analysis, newest first: id, the trial's name, when, state."""
        rows = []
        if not self.root.is_dir():
            return rows
        for d in self.root.iterdir():
            job = self.job(d.name)
            if job is None:
                continue
            names = {f["stored"]: f["name"] for f in job["files"]}
            st = self.status(d.name) or {}
            rows.append(
                {
                    "id": d.name,
                    "trial": names.get(job["roles"].get("trial"), "trial"),
                    "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(job.get("created", 0))),
                    "state": st.get("state", "queued"),
                    "_t": job.get("created", 0),
                }
            )
        return sorted(rows, key=lambda r: -r["_t"])

    def delete(self, job_id: str, *, wait_s: float = 30.0) -> dict[str, int]:
        """Remove one analysis: its uploaded inputs, settings, status and results. A queued one
        is never started; a running one is stopped first. Returns ``{"files": n}`` (the files
        removed). Raises :class:`~runmuscles.errors.InputError` for an id that is no analysis."""
        from ..errors import InputError  # noqa: PLC0415

        d = self.folder(job_id)
        if d is None:
            raise InputError("analysis", "no such analysis")
        with self._lock:
            self._deleting.add(job_id)
            proc = self._proc if self._running_id == job_id else None
        try:
            if proc is not None:
                if proc.is_alive():
                    proc.kill()
                deadline = time.monotonic() + wait_s
                while time.monotonic() < deadline:  # the worker has reaped it and moved on
                    with self._lock:
                        if self._running_id != job_id:
                            break
                    time.sleep(0.02)
            files = sum(1 for f in d.rglob("*") if f.is_file())
            try:
                shutil.rmtree(d)
            except FileNotFoundError:  # deleted by another request meanwhile
                raise InputError("analysis", "no such analysis") from None
        finally:
            with self._lock:
                self._deleting.discard(job_id)
        return {"files": files}

    # -- running -------------------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="lab-analyses", daemon=True)
                self._worker.start()

    def resume(self) -> list[str]:
        """Queue again the analyses a stopped server left queued or running; returns their ids."""
        again = [r["id"] for r in reversed(self.listing()) if r["state"] in ("queued", "running")]
        for job_id in again:
            _write_json(
                self.root / job_id / "status.json",
                {"state": "queued", "stage": "waiting for its turn (the app restarted)", "stages": []},
            )
            self.submit(job_id)
        return again

    def stop(self) -> None:
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()

    def _work(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            d = self.root / job_id
            with self._lock:
                if job_id in self._deleting or not (d / "job.json").is_file():
                    continue  # deleted while queued
                proc = ctx.Process(target=run_job, args=(str(d), os.getpid()), daemon=True)
                self._proc = proc
                self._running_id = job_id
                proc.start()
            try:
                self._finish_job(job_id, d, proc)
            finally:
                with self._lock:
                    self._proc = None
                    self._running_id = None

    def _finish_job(self, job_id: str, d: Path, proc) -> None:
        """Wait for an analysis's process; say in its status why it stopped, unless deleted."""
        proc.join(self.time_limit_s)
        if proc.is_alive():
            proc.kill()
            proc.join()
            if job_id in self._deleting:
                return
            st = self.status(job_id) or {}
            st.update(state="error", error=f"took longer than {self.time_limit_s / 60:g} minutes; stopped")
            _write_json(d / "status.json", st)
        elif proc.exitcode != 0 and not self._stop.is_set() and job_id not in self._deleting:
            st = self.status(job_id) or {}
            if st.get("state") not in ("done", "error"):
                st.update(
                    state="error",
                    error="the analysis stopped unexpectedly (out of memory?); not finished",
                )
                _write_json(d / "status.json", st)
