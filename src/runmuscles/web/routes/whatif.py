"""What-if for the bundled runner: a grade slider; the page's script asks ``/api/whatif``.

The JSON endpoint calls :func:`runmuscles.whatif.compare.whatif_payload` (as ``runmuscles
whatif`` does) and returns each group's what-if load, its change against the baseline and
its body-map colour (:func:`runmuscles.reports.bodymap.group_fills`, the colours of the
drawn map).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from markupsafe import Markup

from ...analyses.groups import GROUP_LABELS, MAIN_GROUPS
from ...reports.bodymap import group_fills, group_load_map_svg
from ...validation import LIMITS
from ..app import render

router = APIRouter()
QUANTITY = "impulse_bw_s_per_stride"
#: The map's darkest colour is this many times the baseline's largest group, so loads that
#: grow stay distinguishable (a display choice).
TOP_HEADROOM = 1.5


def _top(baseline: dict[str, Any]) -> float:
    return TOP_HEADROOM * max(v[QUANTITY] for v in baseline["baseline"]["groups"].values())


def _groups(payload: dict[str, Any]) -> list[dict[str, Any]]:
    change = payload["change"]
    return [
        {
            "group": g,
            "label": GROUP_LABELS.get(g, g).split(" (")[0],
            "baseline": change[g][f"baseline_{QUANTITY}"],
            "whatif": change[g][QUANTITY],
            "change_pct": change[g][f"change_pct_{QUANTITY}"],
        }
        for g in MAIN_GROUPS
        if g in change
    ]


@router.get("/whatif")
def whatif_page(request: Request):
    base = request.app.state.demo.baseline()
    loads = {g: v[QUANTITY] for g, v in base["baseline"]["groups"].items()}
    svg = group_load_map_svg(
        loads,
        label="impulse per stride",
        unit="BW s",
        figure_id="whatif-bodymap",
        title="Body map: force impulse per stride and muscle group",
        digits=2,
        top=_top(base),
    )
    lim = LIMITS["grade_pct"]
    return render(
        request,
        "whatif.html",
        {
            "bodymap": Markup(svg),
            "groups": _groups(base),
            "speed": base["baseline_speed_m_s"],
            "grade_low": lim.low,
            "grade_high": lim.high,
        },
    )


@router.get("/api/whatif")
def whatif_api(request: Request, grade_pct: float = Query(ge=-1e6, le=1e6)):
    demo = request.app.state.demo
    payload = demo.whatif_grade(grade_pct)
    loads = {g: v[QUANTITY] for g, v in payload["whatif"]["groups"].items()}
    return {
        "grade_pct": grade_pct,
        "baseline_speed_m_s": payload["baseline_speed_m_s"],
        "groups": _groups(payload),
        "fills": group_fills(loads, _top(demo.baseline())),
        "notes": payload["whatif"]["notes"],
    }


@router.get("/api/whatif/status")
def whatif_status(request: Request):
    """How far computing ahead has come: conditions remembered, queued and computing."""
    return request.app.state.demo.service.counts()
