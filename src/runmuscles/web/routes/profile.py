"""Profile: the runner's mass, height, sex, usual cadence and units (:mod:`runmuscles.profile`).

The same stored profile as ``runmuscles profile``: the history's imports use its cadence where
a file has none, and every page shows distances in its units.
"""

from __future__ import annotations

from dataclasses import fields

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from ...errors import InputError
from ...profile import Profile, load_profile, save_profile
from ...validation import CHOICES, LIMITS
from ..app import render

router = APIRouter()

#: Form fields: (name, label, unit) for the numbers, in the order shown.
NUMBERS = (
    ("body_mass_kg", "Body mass", "kg"),
    ("height_m", "Height", "m"),
    ("cadence_spm", "Usual cadence", "steps/min"),
)


@router.get("/profile")
def profile_page(request: Request, saved: int = Query(0, ge=0, le=1)):
    p = load_profile(request.app.state.engine)
    numbers = [
        {"name": n, "label": label, "unit": unit, "value": getattr(p, n), "low": LIMITS[n].low,
         "high": LIMITS[n].high, "basis": LIMITS[n].basis}
        for n, label, unit in NUMBERS
    ]  # fmt: skip
    return render(
        request,
        "profile.html",
        {"profile": p, "numbers": numbers, "choices": CHOICES, "saved": bool(saved)},
    )


@router.post("/profile")
async def profile_save(request: Request):
    form = await request.form()
    values: dict[str, float | str | None] = {}
    for f in fields(Profile):
        raw = str(form.get(f.name) or "").strip()[:40]
        if not raw:
            values[f.name] = None
        elif f.name in ("sex", "units"):
            values[f.name] = raw
        else:
            try:
                values[f.name] = float(raw.replace(",", "."))
            except ValueError:
                raise InputError(f.name.replace("_", " "), f"'{raw}' is not a number") from None
    save_profile(request.app.state.engine, Profile(**values))
    return RedirectResponse("/profile?saved=1", status_code=303)
