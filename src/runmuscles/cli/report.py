"""`runmuscles report`: a thin layer over runmuscles.reports.html."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._app import app


@app.command()
def report(
    results: Annotated[
        Path, typer.Argument(help="A results folder, or a folder of per-speed results folders (demo).")
    ],
    open_: Annotated[bool, typer.Option("--open", help="Open the report in the default browser.")] = False,
    figures: Annotated[
        Path | None, typer.Option("--figures", help="Also write every figure here as SVG (and PNG).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Report file (default: RESULTS/report.html).")] = None,
) -> None:
    """Write one self-contained report.html (body map, stride, speeds, quality) from result tables."""
    from ..outputs import check_output_dir, check_output_file, html_written_by_runmuscles  # noqa: PLC0415
    from ..reports.html import build_report, export_figures  # noqa: PLC0415

    if out is not None:
        check_output_file(out, html_written_by_runmuscles)
    if figures is not None:
        check_output_dir(figures, "--figures")
    path = build_report(results, out, open_browser=open_)
    typer.echo(f"report: {path}")
    if figures is not None:
        written, note = export_figures(results, figures)
        typer.echo(f"figures: {len(written)} files in {figures}")
        if note:
            typer.echo(f"runmuscles: note: {note}", err=True)
