"""Runs: every run in the history, and one run's body map of load and what drove it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from markupsafe import Markup

from ...analyses.groups import GROUP_LABELS
from ...reports.bodymap import group_load_map_svg
from ...reports.svg import GROUP_ORDER
from ..app import render

router = APIRouter()


def run_rows(request: Request) -> list[dict[str, Any]]:
    """The history's activities (oldest first) with their display names and a few numbers."""
    from ...history import activities  # noqa: PLC0415

    names = request.app.state.uploads.names()
    rows = []
    for a in activities(request.app.state.engine):
        rows.append(
            {
                "id": a["id"],
                "name": names.get(a["source"], "imported file"),
                "start": a["start_time"].strftime("%Y-%m-%d %H:%M"),
                "distance_km": a["distance_m"] / 1000,
                "distance_m": a["distance_m"],
                "engine_version": a.get("engine_version"),
                "settings": json.loads(a["settings"]) if a.get("settings") else None,
                "duration": _clock(a["duration_s"]),
                "sport": a["sport"],
                "groups": a["groups"],
                "drivers": a.get("drivers"),
                "warnings": json.loads(a["warnings"] or "[]"),
                "ascent_m": a.get("ascent_m"),
            }
        )
    return rows


def _clock(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


#: Weeks with runs shown on the runs page (the most recent).
WEEKS_SHOWN = 8


def weeks(engine) -> tuple[list[dict[str, Any]], list[str]]:
    """The last weeks with runs, newest first (:func:`runmuscles.history.recent_weeks`, as
    ``runmuscles history`` prints them), and the single-run spikes' notes in them."""
    from ...history import recent_weeks  # noqa: PLC0415

    shown, spikes = recent_weeks(engine, WEEKS_SHOWN)
    out = [
        {
            "week_start": wk["week_start"],
            "runs": wk["runs"],
            "distance_km": wk["distance_m"] / 1000,
            "distance_m": wk["distance_m"],
            "mixed": wk["mixed_settings"],
            "groups": [
                {
                    "label": GROUP_LABELS.get(r["group"], r["group"]).split(" (")[0],
                    "load": r["load"],
                    "ratio": r["ratio"],
                    "note": r["note"] if r["rise"] else "",
                }
                for r in wk["groups"]
            ],
        }
        for wk in reversed(shown)
    ]
    return out, [s["note"] for s in spikes]


@router.get("/runs")
def runs_page(
    request: Request,
    recomputed: int | None = Query(None, ge=0, le=10**9),
    failed: int | None = Query(None, ge=0, le=10**9),
):
    from ...history import MIXED_NOTE, outdated_runs  # noqa: PLC0415

    engine = request.app.state.engine
    week_rows, spikes = weeks(engine)
    return render(
        request,
        "runs.html",
        {
            "runs": run_rows(request)[::-1],
            "weeks": week_rows,
            "spikes": spikes,
            "outdated": len(outdated_runs(engine)),
            "mixed_note": MIXED_NOTE,
            "recomputed": recomputed,
            "failed": failed,
        },
    )


@router.post("/runs/recompute")
async def recompute_runs(request: Request):
    """Recompute, from their files, the runs stored with another engine version or settings
    (:func:`runmuscles.history.recompute`, as ``runmuscles history --recompute``)."""
    from starlette.concurrency import run_in_threadpool  # noqa: PLC0415
    from starlette.responses import RedirectResponse  # noqa: PLC0415

    from ...history import recompute  # noqa: PLC0415

    done = await run_in_threadpool(recompute, request.app.state.engine)
    bad = sum(1 for r in done if r.status == "error")
    return RedirectResponse(f"/runs?recomputed={len(done) - bad}&failed={bad}", status_code=303)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: int = Path(ge=1, le=2**62)):
    found = [r for r in run_rows(request) if r["id"] == run_id]
    if not found:
        raise HTTPException(404)
    r = found[0]
    groups = r["groups"]
    drivers = json.loads(r["drivers"]) if r["drivers"] else {}
    svg = group_load_map_svg(
        {g: v["impulse_bw_s"] for g, v in groups.items()},
        label="force impulse",
        unit="BW s",
        figure_id="run-bodymap",
        title=f"Body map of {r['name']}: force impulse per muscle group",
    )
    order = [g for g in GROUP_ORDER if g in groups] + sorted(g for g in groups if g not in GROUP_ORDER)
    table = []
    for g in sorted(order, key=lambda g: -groups[g]["impulse_bw_s"]):
        d = drivers.get(g, {})
        table.append(
            {
                "group": g,
                "label": GROUP_LABELS.get(g, g).split(" (")[0],
                "impulse": groups[g]["impulse_bw_s"],
                "pos_work": groups[g]["positive_work_j_per_kg"],
                "neg_work": groups[g]["negative_work_j_per_kg"],
                **{k: (d.get(k) or {}).get("impulse_bw_s") for k in ("pace", "hills", "cadence")},
            }
        )
    return render(request, "run.html", {"run": r, "bodymap": Markup(svg), "table": table})
