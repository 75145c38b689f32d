"""Compare two runs or two weeks: :func:`runmuscles.history_compare.compare`, as
``runmuscles history --compare A B`` gives it."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from ...analyses.groups import GROUP_LABELS
from ...history import activities
from ...history_compare import compare, parse_ref
from ..app import render

router = APIRouter()

#: A run id or a date: short, plain values (anything else is refused before the library sees it).
REF = r"^[0-9-]{1,18}$"


@router.get("/compare")
def compare_page(
    request: Request,
    a: str | None = Query(None, max_length=18, pattern=REF),
    b: str | None = Query(None, max_length=18, pattern=REF),
):
    engine = request.app.state.engine
    acts = activities(engine)
    weeks = sorted({(x["start_time"].date().toordinal() - x["start_time"].weekday()) for x in acts})
    from datetime import date  # noqa: PLC0415

    context = {
        "runs": [{"id": x["id"], "start": f"{x['start_time']:%Y-%m-%d %H:%M}"} for x in acts][::-1],
        "weeks": [date.fromordinal(w).isoformat() for w in weeks][::-1],
        "a": a or "",
        "b": b or "",
        "result": None,
        "labels": GROUP_LABELS,
    }
    if a and b:
        context["result"] = compare(engine, parse_ref(a, "a"), parse_ref(b, "b"))
    return render(request, "compare.html", context)
