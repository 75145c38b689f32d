"""`runmuscles validate-grf`: forces from motion alone against the force plates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._app import app


@app.command("validate-grf")
def validate_grf(
    data: Annotated[
        Path, typer.Argument(help="The hamner2013 folder (subjectNN/ with model/, ik/, Run_N_grf.xml).")
    ] = Path("../shared/data/hamner2013"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Forces from motion alone against the measured ones, per trial, next to the plain baseline
    (the estimate held out: each runner with maps fitted on the other runners only)."""
    from ..dynamics.grf_estimation import validate_hamner2013  # noqa: PLC0415

    rows = validate_hamner2013(data)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    keys = ("vertical_rmse_bw", "peak_vertical_error_pct", "fore_aft_rmse_bw")
    timing = ("foot_strike_abs_error_ms", "toe_off_abs_error_ms")
    table = Table(
        title="Ground reaction force from motion alone vs measured (over the gait cycles; estimate held out: "
        "each runner with maps fitted on the other runners only)"
    )
    table.add_column("trial", no_wrap=True)
    for who in ("estimate", "baseline"):
        for head in ("vert RMSE (BW)", "peak err (%)", "fore-aft RMSE (BW)"):
            table.add_column(f"{who}\n{head}", justify="right")
    table.add_column("estimate\n|strike| (ms)", justify="right")
    table.add_column("estimate\n|toe-off| (ms)", justify="right")
    means = {w: [sum(r[w][k] for r in rows) / len(rows) for k in keys] for w in ("estimated", "baseline")}
    t_means = [sum(r["timing"][k] for r in rows) / len(rows) for k in timing]
    for r in rows:
        table.add_row(
            f"{r['subject']} {r['trial']}",
            *[f"{r[w][k]:.1f}" if "pct" in k else f"{r[w][k]:.3f}" for w in means for k in keys],
            *[f"{r['timing'][k]:.0f}" for k in timing],
        )
    cells = [f"{v:.1f}" if i == 1 else f"{v:.3f}" for w in means for i, v in enumerate(means[w])]
    table.add_row("mean", *cells, *[f"{v:.0f}" for v in t_means], style="bold")
    Console().print(table)
