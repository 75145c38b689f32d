"""`runmuscles demo`: the bundled runner at four speeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, report_after_run, run_one


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = Path("runmuscles-demo"),
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary per speed.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.html.")] = False,
    strength: Annotated[
        str,
        typer.Option(
            help="'volume' (Handsfield 2014 volumes; default here) or 'model' (the model's own F0)."
        ),
    ] = "volume",
) -> None:
    """Analyse the bundled runner (Hamner & Delp 2013, subject 01) at 2, 3, 4 and 5 m/s.

    The published Hamner 2010 model is too weak for running (most muscles saturate and
    large reserve torques are needed), so the demo scales muscle strength from the
    runner's mass and height by muscle volume unless told otherwise.
    """
    from ..outputs import prepare_output_dir  # noqa: PLC0415
    from ..pipeline import AnalysisOptions  # noqa: PLC0415
    from ..trials import demo_trials  # noqa: PLC0415

    prepare_output_dir(out)
    analyses = []
    for spec in demo_trials():
        opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength=strength)
        analysis, paths = run_one(spec, opts, out / spec.label, show_progress=not as_json)
        analyses.append((spec, analysis, paths))
    if not no_report:
        report_after_run(out, announce=not as_json)
    if as_json:
        typer.echo(json.dumps({spec.label: json.loads(p["summary"].read_text()) for spec, _, p in analyses}))
        return
    from ..reports.terminal import print_demo  # noqa: PLC0415

    print_demo([(s, a) for s, a, _ in analyses], out)
