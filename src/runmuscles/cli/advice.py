"""`runmuscles advice`: what running asks of each muscle group, and cited exercises for it
(thin layer over runmuscles.analyses.advice)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..validation import option_check
from ._app import app


@app.command()
def advice(
    source: Annotated[
        Path | None,
        typer.Argument(help="A results folder (runmuscles analyze) or a watch file (FIT, GPX, TCX)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="History database (URL or SQLite file): without SOURCE, advice for a week of it; "
            "with a watch file, the single-run check against it.",
        ),
    ] = None,
    week: Annotated[
        str | None, typer.Option(help="With --db and no SOURCE: the week containing this date (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the advice as one JSON object.")] = False,
    cadence_spm: Annotated[
        float | None,
        typer.Option(
            "--cadence",
            help="Usual cadence (steps/min), used where a watch file has none (default: the profile's).",
            callback=option_check("cadence_spm", "--cadence"),
        ),
    ] = None,
) -> None:
    """Per muscle group: load per km, demand relative to capacity, change with speed and
    grade; the groups your running stresses most and least; 2-3 cited exercises for each;
    and the single-run check (a run >10 % longer than the longest of the previous 30 days)."""
    from ..analyses import advice as adv  # noqa: PLC0415
    from ..profile import profile_from_db  # noqa: PLC0415

    units = profile_from_db(db).shown_units  # the text's distances, as the profile says
    if source is None:
        if db is None:
            raise InputError("advice", "give a results folder, a watch file, or --db HISTORY")
        from ..history import open_history  # noqa: PLC0415

        result = adv.advice_for_week(open_history(db), week, units=units)
    elif source.is_dir():
        result = adv.advice_for_results(source, units=units)
    elif source.suffix.lower() in _activity_suffixes():
        from ..analyses.load_model import summarize_run_file  # noqa: PLC0415
        from ..profile import profile_from_db, resolve  # noqa: PLC0415

        if not source.exists():
            raise InputError(source, "file not found")
        cadence = resolve(cadence_spm, profile_from_db(db).cadence_spm, "--cadence")
        typer.echo(cadence.said("usual cadence", "steps/min"), err=as_json)
        history = None
        if db is not None:
            from ..history import activities, content_hash, open_history  # noqa: PLC0415

            digest = content_hash(source)
            history = [a for a in activities(open_history(db)) if a["content_hash"] != digest]
        result = adv.advice_for_run(
            summarize_run_file(source, usual_cadence_spm=cadence.value), history=history, units=units
        )
    elif source.exists():
        raise InputError(source, "not a results folder or a FIT, GPX or TCX file")
    else:
        raise InputError(source, "file or folder not found")
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        for line in adv.advice_lines(result):
            typer.echo(line)


def _activity_suffixes() -> tuple[str, ...]:
    """The watch files' suffixes (imported when the command runs: the history module is not
    loaded at every command's start-up)."""
    from ..history import ACTIVITY_SUFFIXES  # noqa: PLC0415

    return ACTIVITY_SUFFIXES
