"""What-if for the bundled runner: sliders for speed, slope, cadence, trunk lean, overstride and
wind, and choices of foot strike and surface; the page's script asks ``/api/whatif``.

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


#: The page's sliders: element id, Condition field, label, the declared limit (its range), step, unit, help.
SLIDERS = (
    ("grade", "grade_pct", "Slope", 1.0, "%", "positive uphill"),
    (
        "cadence",
        "cadence_pct",
        "Cadence",
        1.0,
        "% of the recorded",
        "steps per minute against the runner's own",
    ),
    ("lean", "lean_deg", "Trunk lean", 1.0, "deg", "extra forward lean; negative: more upright"),
    ("overstride", "overstride_m", "Overstride", 0.01, "m", "foot further ahead of the body at contact"),
    ("wind", "wind_m_s", "Wind", 0.5, "m/s", "head wind positive, tail wind negative; overground only"),
)
#: The neutral value of each slider (the recorded condition).
NEUTRAL = {"grade_pct": 0.0, "cadence_pct": 100.0, "lean_deg": 0.0, "overstride_m": 0.0, "wind_m_s": 0.0}


def speed_slider(speeds_m_s: list[float], baseline_m_s: float) -> dict[str, Any]:
    """The speed slider over the runner's measured speeds, or disabled with the reason (one speed)."""
    if len(speeds_m_s) < 2:
        return {
            "low": baseline_m_s,
            "high": baseline_m_s,
            "value": baseline_m_s,
            "disabled": True,
            "reason": f"This runner was measured at one speed only ({baseline_m_s:g} m/s): another speed "
            "needs trials at two speeds or more.",
        }
    return {
        "low": min(speeds_m_s),
        "high": max(speeds_m_s),
        "value": baseline_m_s,
        "disabled": False,
        "reason": "",
    }


@router.get("/whatif")
def whatif_page(request: Request):
    demo = request.app.state.demo
    base = demo.baseline()
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
    sliders = [
        {
            "id": element_id,
            "name": key,
            "label": label,
            "low": LIMITS[key].low,
            "high": LIMITS[key].high,
            "step": step,
            "unit": unit,
            "help": help_text,
            "value": NEUTRAL[key],
        }
        for element_id, key, label, step, unit, help_text in SLIDERS
    ]
    return render(
        request,
        "whatif.html",
        {
            "bodymap": Markup(svg),
            "groups": _groups(base),
            "speed": base["baseline_speed_m_s"],
            "speed_slider": speed_slider(list(demo.runner().speeds_m_s), base["baseline_speed_m_s"]),
            "sliders": sliders,
            "grade_low": lim.low,
            "grade_high": lim.high,
        },
    )


@router.get("/api/whatif")
def whatif_api(
    request: Request,
    grade_pct: float = Query(0.0, ge=-1e6, le=1e6),
    speed_m_s: float | None = Query(None, ge=-1e6, le=1e6),
    cadence_pct: float | None = Query(None, ge=-1e6, le=1e6),
    lean_deg: float = Query(0.0, ge=-1e6, le=1e6),
    overstride_m: float = Query(0.0, ge=-1e6, le=1e6),
    wind_m_s: float = Query(0.0, ge=-1e6, le=1e6),
    strike: str | None = Query(None, pattern="^(rearfoot|forefoot)$"),
    surface: str | None = Query(None, pattern="^(treadmill|overground)$"),
):
    from ...whatif import Condition  # noqa: PLC0415

    demo = request.app.state.demo
    baseline = demo.baseline()
    if speed_m_s is not None and abs(speed_m_s - baseline["baseline_speed_m_s"]) < 1e-9:
        speed_m_s = None
    if cadence_pct is not None and abs(cadence_pct - 100.0) < 1e-9:
        cadence_pct = None  # the slider's neutral: as recorded (and adapted on a slope)
    cond = Condition(
        speed_m_s=speed_m_s,
        grade_pct=grade_pct,
        cadence_pct=cadence_pct,
        lean_deg=lean_deg,
        overstride_m=overstride_m,
        strike=strike,
        surface=surface,
        wind_m_s=wind_m_s,
    )
    changes = cond.changes()
    # every condition is remembered and the ones next to it are computed ahead
    payload = demo.whatif(cond)
    loads = {g: v[QUANTITY] for g, v in payload["whatif"]["groups"].items()}
    return {
        "grade_pct": grade_pct,
        "condition": changes,
        "baseline_speed_m_s": payload["baseline_speed_m_s"],
        "groups": _groups(payload),
        "fills": group_fills(loads, _top(baseline)),
        "notes": payload["whatif"]["notes"],
    }


@router.get("/api/whatif/status")
def whatif_status(request: Request):
    """How far computing ahead has come: conditions remembered, queued and computing."""
    return request.app.state.demo.service.counts()
