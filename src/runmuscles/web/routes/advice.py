"""Advice: what the running asks of each muscle group, and cited exercises for it.

The same library calls as ``runmuscles advice``: a week of the history
(:func:`~runmuscles.analyses.advice.advice_for_week`) or one run of it
(:func:`~runmuscles.analyses.advice.advice_for_stored_run`), shown with the report's
rendering (:func:`~runmuscles.reports.advice_html.advice_section_html`).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Query, Request
from markupsafe import Markup

from ...analyses.advice import advice_for_stored_run, advice_for_week
from ...reports.advice_html import advice_section_html
from ..app import render
from .runs import run_rows, weeks

router = APIRouter()


@router.get("/advice")
def advice_page(
    request: Request,
    week: str | None = Query(None, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$"),
):
    engine = request.app.state.engine
    week_rows, _ = weeks(engine)
    if not week_rows:
        return render(request, "advice.html", {"section": None, "weeks": [], "title": "Advice"})
    advice = advice_for_week(engine, week)
    return render(
        request,
        "advice.html",
        {
            "section": Markup(advice_section_html(advice, "week-advice")),
            "title": f"Advice for the {advice['source']['label']}",
            "weeks": [w["week_start"] for w in week_rows],
        },
    )


@router.get("/runs/{run_id}/advice")
def run_advice_page(request: Request, run_id: int = Path(ge=1, le=2**62)):
    found = [r for r in run_rows(request) if r["id"] == run_id]
    if not found:
        raise HTTPException(404)
    run = found[0]
    advice = advice_for_stored_run(request.app.state.engine, run_id)
    return render(
        request,
        "advice.html",
        {
            "section": Markup(advice_section_html(advice, "run-advice")),
            "title": f"Advice for the run of {run['start']} UTC ({run['name']})",
            "run": run,
            "weeks": [w["week_start"] for w in weeks(request.app.state.engine)[0]],
        },
    )
