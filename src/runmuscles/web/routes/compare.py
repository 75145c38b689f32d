"""Compare two runs or two weeks: :func:`runmuscles.history_compare.compare`, as
``runmuscles history --compare A B`` gives it."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from ...analyses.groups import GROUP_LABELS
from ...history_compare import choices, compare, parse_ref
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
    result = compare(engine, parse_ref(a, "a"), parse_ref(b, "b")) if a and b else None
    return render(
        request,
        "compare.html",
        {**choices(engine), "a": a or "", "b": b or "", "result": result, "labels": GROUP_LABELS},
    )
