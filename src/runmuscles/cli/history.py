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
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--compare",
            metavar="A B",
            help="Compare two runs (ids) or two weeks (a date in each, YYYY-MM-DD): per-group load.",
        ),
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="Compute again, from their files, the runs stored with another engine version or settings.",
        ),
    ] = False,
) -> None:
    """Weeks of runs: per-group load against the mean of the previous three weeks (descriptive),
    and single runs more than 10 % longer than the longest of the previous 30 days. Weeks that
    mix runs computed with different engine settings are marked (--recompute fixes them)."""
    from ..history import (  # noqa: PLC0415
        export_csv,
        import_paths,
        open_history,
        weekly_loads,
    )
    from ..outputs import check_output_file, csv_written_by_runmuscles  # noqa: PLC0415
    from ..profile import load_profile  # noqa: PLC0415

    if csv_out is not None:
        check_output_file(csv_out, csv_written_by_runmuscles("week_start"), "--csv")
    refs = None
    if compare is not None:
        from ..history_compare import parse_ref  # noqa: PLC0415

        refs = (parse_ref(compare[0]), parse_ref(compare[1]))  # refused before any work
    engine = open_history(db)
    units = load_profile(engine).shown_units
    failed = False
    if add:
        for r in import_paths(engine, add):
            if r.status == "error":  # one line on stderr; the other files are still imported
                failed = True
                said = r.message if str(r.path) in r.message else f"{r.path}: {r.message}"
                typer.echo(f"runmuscles: error: {said}", err=True)
            else:
                typer.echo(f"{r.path}: {r.status}")
    if recompute:
        from ..history import recompute as recompute_runs  # noqa: PLC0415

        done = recompute_runs(engine)
        for r in done:
            if r.status == "error":
                failed = True
                typer.echo(f"runmuscles: error: run {r.activity_id}: {r.message}", err=True)
            else:
                typer.echo(f"run {r.activity_id}: {r.status}")
        if not done:
            typer.echo("every run is computed with the current engine and settings: nothing to recompute")
    if refs is not None:
        from ..history_compare import compare as compare_refs  # noqa: PLC0415
        from ..history_compare import compare_lines  # noqa: PLC0415

        for line in compare_lines(compare_refs(engine, *refs), units):
            typer.echo(line)
        if failed:
            raise typer.Exit(EXIT_INPUT)
        return
    rows = weekly_loads(engine, quantity)
    if csv_out is not None:
        export_csv(rows, csv_out)
        typer.echo(f"wrote {csv_out}")
    if not rows:
        typer.echo("no runs in the history yet (runmuscles history --import FOLDER)")
    else:
        _print_weeks(engine, rows, weeks, units)
    if failed:  # like `runmuscles run`: a file that could not be imported is exit 2
        raise typer.Exit(EXIT_INPUT)


def _print_weeks(engine, rows: list[dict], weeks: int, units: str = "km") -> None:
    from ..history import MIXED_NOTE, outdated_runs, recent_weeks  # noqa: PLC0415
    from ..profile import format_distance  # noqa: PLC0415

    shown, spikes = recent_weeks(engine, weeks, rows)
    for wk in shown:
        typer.echo(
            f"week of {wk['week_start']}: {wk['runs']} runs, {format_distance(wk['distance_m'], units, 1)}"
            + (f"  [mixed settings: {MIXED_NOTE}]" if wk["mixed_settings"] else "")
        )
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
    old = outdated_runs(engine)
    if old:
        typer.echo(
            f"{len(old)} run{'s were' if len(old) != 1 else ' was'} computed with another engine version or "
            "settings than the current ones: runmuscles history --recompute"
        )
