"""`runmuscles profile`: the runner's stored profile (thin layer over runmuscles.profile)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from ..validation import choice_check, option_check
from ._app import app


@app.command()
def profile(
    db: Annotated[str | None, typer.Option("--db", help="History database (URL or SQLite file).")] = None,
    mass_kg: Annotated[
        float | None,
        typer.Option("--mass", help="Body mass (kg).", callback=option_check("body_mass_kg", "--mass")),
    ] = None,
    height_m: Annotated[
        float | None,
        typer.Option("--height", help="Standing height (m).", callback=option_check("height_m", "--height")),
    ] = None,
    sex: Annotated[
        str | None, typer.Option(help="female, male or unspecified.", callback=choice_check("sex", "--sex"))
    ] = None,
    cadence_spm: Annotated[
        float | None,
        typer.Option(
            "--cadence",
            help="Usual cadence (steps/min): used where a watch file has none.",
            callback=option_check("cadence_spm", "--cadence"),
        ),
    ] = None,
    units: Annotated[
        str | None,
        typer.Option(help="Distances shown in km or mi.", callback=choice_check("units", "--units")),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget the stored profile first.")] = False,
) -> None:
    """Show or set the runner's profile. `run`, `advice`, `history` and the app use it instead of
    per-command flags (a flag still overrides it, and each says where its value came from)."""
    from ..history import open_history  # noqa: PLC0415
    from ..profile import Profile, load_profile, save_profile  # noqa: PLC0415

    engine = open_history(db)
    current = Profile() if clear else load_profile(engine)
    given = {
        "body_mass_kg": mass_kg,
        "height_m": height_m,
        "sex": sex,
        "cadence_spm": cadence_spm,
        "units": units,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if changes or clear:
        current = save_profile(engine, replace(current, **changes))
    shown = {
        "body mass": (current.body_mass_kg, "kg"),
        "height": (current.height_m, "m"),
        "sex": (current.sex, ""),
        "usual cadence": (current.cadence_spm, "steps/min"),
        "units": (current.units, ""),
    }
    for name, (value, unit) in shown.items():
        text = (
            "not set" if value is None else f"{value:g} {unit}".strip() if isinstance(value, float) else value
        )
        typer.echo(f"{name}: {text}")
