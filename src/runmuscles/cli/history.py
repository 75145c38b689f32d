"""`runmuscles history`: weeks of runs (thin layer over runmuscles.history)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..validation import option_check
from ._app import EXIT_INPUT, app


@app.command()
def history(
    db: Annotated[str | None, typer.Option("--db", help="History database (URL or SQLite file).")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write the weekly rows as CSV.")] = None,
    add: Annotated[
        list[Path] | None, typer.Option("--import", help="Import these files or folders first.")
    ] = None,
    quantity: Annotated[
        str, typer.Option(help="impulse_bw_s, positive_work_j_per_kg or negative_work_j_per_kg.")
    ] = "impulse_bw_s",
    weeks: Annotated[
        int,
        typer.Option(
            help="Show the last N weeks that have runs (the CSV has all).",
            callback=option_check("weeks", "--weeks"),
        ),
    ] = 12,
) -> None:
    """Weeks of runs: per-group load against the mean of the previous three weeks (descriptive),
    and single runs more than 10 % longer than the longest of the previous 30 days."""
    from ..history import (  # noqa: PLC0415
        export_csv,
        import_paths,
        open_history,
        weekly_loads,
    )
    from ..outputs import check_output_file, csv_written_by_runmuscles  # noqa: PLC0415

    if csv_out is not None:
        check_output_file(csv_out, csv_written_by_runmuscles("week_start"), "--csv")
    engine = open_history(db)
    failed = False
    if add:
        for r in import_paths(engine, add):
            if r.status == "error":  # one line on stderr; the other files are still imported
                failed = True
                said = r.message if str(r.path) in r.message else f"{r.path}: {r.message}"
                typer.echo(f"runmuscles: error: {said}", err=True)
            else:
                typer.echo(f"{r.path}: {r.status}")
    rows = weekly_loads(engine, quantity)
    if csv_out is not None:
        export_csv(rows, csv_out)
        typer.echo(f"wrote {csv_out}")
    if not rows:
        typer.echo("no runs in the history yet (runmuscles history --import FOLDER)")
    else:
        _print_weeks(engine, rows, weeks)
    if failed:  # like `runmuscles run`: a file that could not be imported is exit 2
        raise typer.Exit(EXIT_INPUT)


def _print_weeks(engine, rows: list[dict], weeks: int) -> None:
    from ..history import recent_weeks  # noqa: PLC0415

    shown, spikes = recent_weeks(engine, weeks, rows)
    for wk in shown:
        typer.echo(f"week of {wk['week_start']}: {wk['runs']} runs, {wk['distance_m'] / 1000:.1f} km")
        for r in wk["groups"]:
            ratio = f"x{r['ratio']:.2f}" if r["ratio"] is not None else "-"
            typer.echo(
                f"  {r['group']:<18}{r['load']:>10.1f}  vs previous 3 weeks {ratio}"
                + (f"  {r['note']}" if r["rise"] else "")
            )
    typer.echo("(weekly comparisons are descriptive: not validated for injury)")
    typer.echo("single runs more than 10 % longer than the longest of the previous 30 days:")
    for s in spikes:
        typer.echo(f"  {s['note']}")
    if not spikes:
        typer.echo("  none in the weeks shown")
