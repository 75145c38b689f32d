"""`runmuscles claims`: a thin layer over runmuscles.claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..validation import choice_check
from ._app import app
from ._runner import RunnerFolder, RunnerTrials


@app.command()
def claims(
    trial: RunnerFolder = None,
    trial_name: RunnerTrials = None,
    strength: Annotated[
        str,
        typer.Option(help="'volume' (default) or 'model'.", callback=choice_check("strength", "--strength")),
    ] = "volume",
    out: Annotated[Path, typer.Option(help="Folder for claims.json.")] = Path("runmuscles-claims"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per claim.")] = False,
) -> None:
    """Popular claims about running muscles, each with the engine's evidence and a verdict."""
    from ..claims import evaluate_claims  # noqa: PLC0415
    from ..outputs import check_output_dir, prepare_output_dir  # noqa: PLC0415
    from ..whatif import load_runner  # noqa: PLC0415

    check_output_dir(out)
    sm = load_runner(trial, trials=trial_name, strength=strength)
    found = [c.as_dict() for c in evaluate_claims(sm)]
    prepare_output_dir(out)
    (out / "claims.json").write_text(json.dumps(found, indent=2, default=float))
    from ..reports.whatif_html import write_claims_report  # noqa: PLC0415

    html_path = write_claims_report(out, json.loads(json.dumps(found, default=float)))
    if as_json:
        for c in found:
            typer.echo(json.dumps(c, default=float))
        return
    from rich.console import Console  # noqa: PLC0415

    con = Console()
    for c in found:
        con.print(f"[bold]({c['id']}) {c['claim']}[/bold]  ->  [cyan]{c['verdict']}[/cyan]")
        for k, v in c["evidence"].items():
            con.print(f"    {k}: {json.dumps(v, default=float)[:160]}")
        con.print(f"    rule: {c['rule']}")
    con.print(f"written: {out / 'claims.json'}, {html_path}")
