"""Home: the bundled demo runner and the most recent runs."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..app import render
from .runs import run_rows

router = APIRouter()


@router.get("/")
def home(request: Request):
    rows = run_rows(request)
    analyses = request.app.state.lab_jobs.listing()[:5]
    return render(request, "home.html", {"runs": rows[::-1][:10], "n_runs": len(rows), "analyses": analyses})
