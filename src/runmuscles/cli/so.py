"""`runmuscles so`: the drop-in for OpenSim's Static Optimization (runmuscles.so)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._app import app


@app.command()
def so(
    setup: Annotated[Path, typer.Argument(help="OpenSim AnalyzeTool setup .xml with a StaticOptimization.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Drop-in for OpenSim's Static Optimization: same setup file, same output files."""
    from ..so import run_so_setup  # noqa: PLC0415

    written = run_so_setup(setup)
    if as_json:
        typer.echo(json.dumps({k: str(v) for k, v in written.items()}))
    else:
        for k, v in written.items():
            typer.echo(f"{k}: {v}")
