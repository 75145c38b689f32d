"""Claims: popular claims about running muscles, each with its verdict and evidence in words."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...reports.claims_text import evidence_lines
from ..app import render

router = APIRouter()


@router.get("/claims")
def claims_page(request: Request):
    found = request.app.state.demo.claims()
    shown = [{**c, "lines": evidence_lines(c["evidence"])} for c in found]
    return render(request, "claims.html", {"claims": shown})
