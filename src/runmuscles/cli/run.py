"""`runmuscles run`: per-group load of watch runs (thin layer over analyses.load_model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import RunmusclesError
from ..validation import option_check
from ._app import EXIT_INPUT, app


def _fmt_duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _pct(part: float, base: float) -> str:
    if base <= 0:
        return "-"
    return f"{round(100 * part / base):+d} %"  # an int: no "-0 %" for a small negative part


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="FIT, GPX or TCX files of runs.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="Also store the runs in this history (URL or SQLite file).")
    ] = None,
    mass_kg: Annotated[
        float | None,
        typer.Option(
            "--mass",
            help="Body mass (kg): adds loads in N s and J (default: the profile's, runmuscles profile).",
            callback=option_check("body_mass_kg", "--mass"),
        ),
    ] = None,
    cadence_spm: Annotated[
        float | None,
        typer.Option(
            "--cadence",
            help="Usual cadence (steps/min), used where a file has none (default: the profile's).",
            callback=option_check("cadence_spm", "--cadence"),
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for runs.html (a section and body map per run) and runs.json."),
    ] = None,
) -> None:
    """Per run: distance, time, ascent/descent, pace, the load of each muscle group and what
    drove it (pace, hills, cadence)."""
    from ..analyses.load_model import summarize_run_file  # noqa: PLC0415
    from ..outputs import check_output_dir  # noqa: PLC0415
    from ..profile import format_distance, format_pace, profile_from_db, resolve  # noqa: PLC0415

    if out is not None:
        check_output_dir(out)
    history = None
    if db is not None:  # a --db that is not a runmuscles history is refused before any work
        from ..history import open_history  # noqa: PLC0415

        history = open_history(db)
    stored = profile_from_db(db)
    mass = resolve(mass_kg, stored.body_mass_kg, "--mass")
    cadence = resolve(cadence_spm, stored.cadence_spm, "--cadence")
    units = stored.shown_units
    # which value was used, and from where: said with the first result (a file refused alone
    # gets its one error line and nothing else)
    said = [mass.said("body mass", "kg"), cadence.said("usual cadence", "steps/min")]
    failed = False
    records = []
    for f in files:
        try:
            rec = summarize_run_file(f, body_mass_kg=mass.value, usual_cadence_spm=cadence.value)
        except RunmusclesError as exc:
            failed = True
            if as_json:  # the JSON stream says which file failed; stderr has the one line as always
                typer.echo(json.dumps({"file": str(f), "error": str(exc)}))
            typer.echo(f"runmuscles: error: {exc}", err=True)
            continue
        records.append(rec)
        for line in said:
            typer.echo(line, err=as_json)
        said = []
        if as_json:
            typer.echo(json.dumps(rec))
            continue
        pace = rec["pace_s_per_km"]
        asc, desc = rec["ascent_m"], rec["descent_m"]
        typer.echo(
            f"{f.name}: {rec['sport']}, {format_distance(rec['distance_m'], units)}"
            + f" in {_fmt_duration(rec['duration_s'])}"
            + (f", pace {format_pace(pace, units)}" if pace else "")
            + (f", +{asc:.0f} m / -{desc:.0f} m" if asc is not None and desc is not None else "")
        )
        typer.echo(
            f"  {'group':<18}{'impulse (BW s)':>16}{'+work (J/kg)':>14}{'-work (J/kg)':>14}"
            f"{'pace (BW s)':>13}{'hills':>8}{'cadence':>9}"
        )
        for g, v in sorted(rec["groups"].items(), key=lambda kv: -kv[1]["impulse_bw_s"]):
            d = {k: x["impulse_bw_s"] for k, x in rec["drivers"][g].items()}
            typer.echo(
                f"  {g:<18}{v['impulse_bw_s']:>16.1f}{v['positive_work_j_per_kg']:>14.1f}"
                f"{v['negative_work_j_per_kg']:>14.1f}{d['pace']:>13.1f}"
                f"{_pct(d['hills'], d['pace']):>8}{_pct(d['cadence'], d['pace']):>9}"
            )
        typer.echo(
            "  pace: the same distance and speeds flat at the runners' typical cadence; hills, cadence: "
            "what they added (% of pace)"
        )
        dist = rec.get("distance") or {}
        typer.echo(f"  distance: {dist.get('reason', 'the track')}")
        lo, hi = rec["load_speed_range_m_s"]
        out_m = rec["load_left_out"]
        left = ", ".join(
            f"{out_m[k] / 1000:.2f} km {what}"
            for k, what in (
                ("walking_m", "walking"),
                ("slower_m", f"slower than {lo:g} m/s"),
                ("faster_m", f"faster than {hi:g} m/s"),
            )
            if out_m[k] >= 0.5
        )
        typer.echo(
            f"  load: counts {rec['distance_loaded_m'] / 1000:.2f} km"
            f" in {_fmt_duration(rec['time_loaded_s'])} of running at {lo:g}-{hi:g} m/s"
            + (f"; left out: {left}" if left else "")
        )
        q = rec["quality"]
        typer.echo(f"  quality: {'valid' if q['valid'] else 'NOT VALID'}")
        for w in q["warnings"]:
            typer.echo(f"  {'invalid' if w['invalidates'] else 'check'} [{w['code']}]: {w['message']}")
        for w in rec["warnings"]:
            typer.echo(f"  warning: {w}")
    if out is not None and records:
        from ..reports.runs_html import write_run_report  # noqa: PLC0415

        page = write_run_report(records, out, units=units)
        (out / "runs.json").write_text(json.dumps(records, indent=1))
        if not as_json:
            typer.echo(f"written: {page}, {out / 'runs.json'}")
    if history is not None:
        from ..history import import_paths  # noqa: PLC0415

        for r in import_paths(history, files, usual_cadence_spm=cadence.value):
            if not as_json:
                typer.echo(f"history: {r.path.name}: {r.status}", err=True)
    if failed:
        raise typer.Exit(EXIT_INPUT)
