"""The web app: :func:`create_app` builds it from :class:`WebSettings`.

Pages are server-rendered (Jinja2) and thin: route handlers call the same library functions
as the command line (history, what-if, claims, the body map's SVG) and format their results.
The app serves its own style sheet and script as files, so its Content-Security-Policy
allows no inline code (see :mod:`runmuscles.web.security`).
"""

from __future__ import annotations

import os
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import InputError
from .security import LOOPBACK_HOSTS, SECURITY_HEADERS, SESSION_COOKIE, Guard, GuardRefusal
from .uploads import UploadRefused, UploadStore

__all__ = ["DemoRunner", "WebSettings", "create_app", "default_data_dir"]

HERE = Path(__file__).parent


def default_data_dir() -> Path:
    """The user data folder: ``$XDG_DATA_HOME/runmuscles``, else ``~/.local/share/runmuscles``
    (the folder of the history's default database, :func:`runmuscles.history.default_db_url`)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "runmuscles"


@dataclass
class WebSettings:
    """What one server runs with.

    Attributes
    ----------
    data_dir
        Uploads (``uploads/``) and, unless ``db`` says otherwise, the history.
    db
        The history's SQLAlchemy URL or SQLite file (default: ``data_dir/history.sqlite``).
    host, port
        Where the server listens (for the Host allowlist).
    token
        The launch token (default: a new random one).
    extra_hosts
        More host names the ``Host`` header may carry (e.g. ``testserver`` in tests).
    prefetch
        Once a what-if is answered, compute the conditions one slider move away from it in the
        background (:mod:`runmuscles.whatif.ahead`).
    import_time_limit_s
        Longest time one uploaded file may take to be read (:mod:`runmuscles.web.importer`).
    whatif_workers
        Processes that compute what-ifs (0: a thread of the server's process).
    """

    data_dir: Path = field(default_factory=default_data_dir)
    db: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    extra_hosts: tuple[str, ...] = ()
    prefetch: bool = True
    import_time_limit_s: float = 60.0
    whatif_workers: int = 2

    def allowed_hosts(self) -> set[str]:
        return {*LOOPBACK_HOSTS, self.host.strip("[]").lower(), *self.extra_hosts}


class DemoRunner:
    """The bundled runner, loaded on first use and shared by the pages.

    What-if comparisons come from a :class:`~runmuscles.whatif.ahead.WhatIfService`: computed
    in ``workers`` processes, remembered, and (with ``prefetch``) computed ahead for the
    sliders' steps once the first is answered; every answer is the exact one for its condition.
    The claims use a runner loaded in this process.
    """

    def __init__(self, *, workers: int = 2, prefetch: bool = True) -> None:
        from ..whatif.ahead import WhatIfService  # noqa: PLC0415

        self._lock = threading.RLock()
        self._runner = None
        self._claims: list[dict[str, Any]] | None = None
        self.prefetch = prefetch
        self.service = WhatIfService(workers=workers)

    def runner(self):
        from ..whatif import load_runner  # noqa: PLC0415

        with self._lock:
            if self._runner is None:
                self._runner = load_runner(None)
            return self._runner

    def whatif(self, cond) -> dict[str, Any]:
        """The comparison of ``cond`` against the baseline; with ``prefetch``, the conditions one
        slider move away are queued next."""
        payload = self.service.payload(cond)
        if self.prefetch:
            self.service.ahead()  # every slider's range around the baseline (the first time)
            self.service.ahead(cond)  # before it: the steps next to this condition
        return payload

    def whatif_grade(self, grade_pct: float) -> dict[str, Any]:
        """:meth:`whatif` of a slope."""
        from ..whatif import Condition  # noqa: PLC0415

        return self.whatif(Condition(grade_pct=float(grade_pct)))

    def stop(self) -> None:
        self.service.close()

    def baseline(self) -> dict[str, Any]:
        from ..whatif import Condition  # noqa: PLC0415

        return self.whatif(Condition())

    def claims(self) -> list[dict[str, Any]]:
        from ..claims import evaluate_claims  # noqa: PLC0415

        with self._lock:
            if self._claims is None:
                self._claims = [c.as_dict() for c in evaluate_claims(self.runner())]
            return self._claims


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The app for ``settings``: opens (creates) the history, prepares the uploads folder.

    Raises :class:`~runmuscles.errors.InputError` when the history cannot be opened.
    """
    from ..history import open_history  # noqa: PLC0415

    settings = settings or WebSettings()
    data_dir = Path(settings.data_dir).expanduser()
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # health data: the user's own
    except OSError as exc:
        raise InputError(data_dir, f"cannot create the data folder ({exc.strerror or exc})") from None
    db = str(settings.db) if settings.db else str(data_dir / "history.sqlite")
    engine = open_history(db)
    token = {"launch_token": settings.token} if settings.token else {}
    cookie = f"{SESSION_COOKIE}_{settings.port}"
    guard = Guard.for_hosts(settings.allowed_hosts(), cookie_name=cookie, **token)

    demo = DemoRunner(workers=settings.whatif_workers, prefetch=settings.prefetch)

    store = UploadStore(data_dir)
    from .lab_jobs import LabJobs  # noqa: PLC0415

    lab_jobs = LabJobs(data_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # uploads stored but not imported when a server stopped: imported now, in the background
        # (the history skips a file it already holds, so nothing is stored twice)
        unfinished = store.unfinished()
        if unfinished:
            threading.Thread(
                target=_resume, args=(store, db, unfinished, settings.import_time_limit_s), daemon=True
            ).start()
        lab_jobs.resume()  # lab analyses a stopped server left unfinished
        yield
        demo.stop()
        lab_jobs.stop()

    app = FastAPI(title="runmuscles", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    from ..profile import format_distance  # noqa: PLC0415

    templates.env.filters["distance"] = format_distance  # {{ metres|distance(units) }}
    app.state.settings = settings
    app.state.guard = guard
    app.state.engine = engine
    app.state.db = db
    app.state.templates = templates
    app.state.uploads = store
    app.state.demo = demo
    app.state.lab_jobs = lab_jobs

    def page_error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            resp: Response = JSONResponse({"error": message}, status_code=status)
        else:
            resp = templates.TemplateResponse(
                request,
                "error.html",
                {
                    "status": status,
                    "message": message,
                    "csrf_token": getattr(request.state, "csrf_token", ""),
                },
                status_code=status,
            )
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    @app.middleware("http")
    async def _guards(request: Request, call_next):
        return await guard(request, call_next, lambda req, exc: page_error(req, exc.status, exc.message))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        text = {404: "There is no such page.", 405: "This page does not take that kind of request."}
        return page_error(request, exc.status_code, text.get(exc.status_code, "The request was refused."))

    @app.exception_handler(RequestValidationError)
    async def _bad_params(request: Request, exc: RequestValidationError) -> Response:
        names = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return page_error(request, 422, f"This address has a value the page cannot use ({', '.join(names)}).")

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> Response:
        # the place is named unless it is a file path (internal paths are not shown)
        where = exc.where if exc.where and not any(c in exc.where for c in "/\\") else None
        return page_error(request, 400, f"{where}: {exc.problem}" if where else exc.problem)

    @app.exception_handler(UploadRefused)
    async def _refused(request: Request, exc: UploadRefused) -> Response:
        return page_error(request, 400, f"{exc.name}: {exc.problem}")

    @app.exception_handler(GuardRefusal)
    async def _guard_refused(request: Request, exc: GuardRefusal) -> Response:
        return page_error(request, exc.status, exc.message)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        return page_error(
            request,
            500,
            f"Something went wrong inside runmuscles ({type(exc).__name__}); this is a bug, please report "
            "it with what you did.",
        )

    # the report's style sheet and script, the same files the offline report.html inlines
    app.mount("/static/report", StaticFiles(directory=str(HERE.parent / "reports" / "static")), name="report")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    from .routes import advice, claims, compare, home, lab, mydata, profile, runs, upload, whatif  # noqa: PLC0415

    for module in (home, upload, lab, runs, compare, advice, claims, whatif, profile, mydata):
        app.include_router(module.router)
    return app


def _resume(store: UploadStore, db: str, unfinished, time_limit_s: float) -> None:
    from .importer import import_files  # noqa: PLC0415

    for folder, rows, files in unfinished:
        store.record_results(folder, rows, import_files(db, files, time_limit_s=time_limit_s))


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A page from its template, with what every page needs (the CSRF token, the nav)."""
    templates: Jinja2Templates = request.app.state.templates
    from ..profile import load_profile  # noqa: PLC0415

    units = load_profile(request.app.state.engine).shown_units  # the profile's, on every page
    ctx = {"csrf_token": getattr(request.state, "csrf_token", ""), "units": units, **context}
    return templates.TemplateResponse(request, name, ctx, status_code=status)
