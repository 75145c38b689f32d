"""`runmuscles validate-grade`: a thin layer over runmuscles.whatif's grade-cost rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..validation import option_check
from ._app import app


@app.command("validate-grade")
def validate_grade(
    data: Annotated[
        Path | None,
        typer.Argument(help="hamner2013 runners' folder, or one runner's (default: the bundled runner)."),
    ] = None,
    speeds: Annotated[
        list[float] | None,
        typer.Option("--speed", help="Trial speeds (m/s).", callback=option_check("speed_m_s", "--speed")),
    ] = None,
    grades: Annotated[
        list[float] | None,
        typer.Option("--grade", help="Grades (%, -20..20).", callback=option_check("grade_pct", "--grade")),
    ] = None,
    adapt: Annotated[
        bool,
        typer.Option("--slope-adaptation/--no-slope-adaptation", help="Runners' slope adaptations."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Metabolic cost on slopes relative to level (what-if engine) against Minetti et al. 2002."""
    from ..whatif import grade_cost_rows, grade_cost_summary  # noqa: PLC0415

    rows = grade_cost_rows(
        data,
        speeds_m_s=tuple(speeds or (3.0, 4.0)),
        grades_pct=tuple(grades or (-10.0, 10.0)),
        slope_adaptation=adapt,
    )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    table = Table(
        title="Net metabolic cost on a slope / level: the what-if engine (tilted gravity"
        + (", slope adaptation" if adapt else ", recorded form")
        + ") with the default energy model, against the polynomial of Minetti et al. (2002)",
        caption="Minetti AE et al. (2002) J Appl Physiol 93:1039-1046: measured cost of running on "
        "gradients of -45 to +45 %, fitted by a fifth-order polynomial; ratio error = ratio / "
        "Minetti's - 1; delta eff. = work against gravity per metre (g sin(atan(grade))) / change "
        "of net cost from level (measured uphill: about 0.4).",
    )
    cols = ("runner", "speed m/s", "grade %", "net J/kg/m", "level J/kg/m", "ratio", "Minetti", "error")
    for col in (*cols, "delta eff.", "Minetti's"):
        table.add_column(col, justify="right")

    def fmt(v, spec=".2f"):
        return "-" if v is None else format(v, spec)

    for r in rows:
        table.add_row(
            r["subject"],
            f"{r['speed_m_s']:g}",
            f"{r['grade_pct']:+g}",
            fmt(r["net_j_per_kg_m"]),
            fmt(r["level_net_j_per_kg_m"]),
            fmt(r["ratio_to_level"], ".3f"),
            fmt(r["minetti_2002_ratio"], ".3f"),
            fmt(r["ratio_error"], "+.0%"),
            fmt(r["delta_efficiency"]),
            fmt(r["minetti_2002_delta_efficiency"]),
        )
    if len({r["subject"] for r in rows}) > 1 or len({r["speed_m_s"] for r in rows}) > 1:
        table.add_section()
        for g, m in grade_cost_summary(rows).items():
            table.add_row(
                f"mean of {m['n_trials']}",
                "",
                f"{g:+g}",
                "",
                "",
                f"{m['mean_ratio_to_level']:.3f}",
                f"{m['minetti_2002_ratio']:.3f}",
                f"{m['ratio_error']:+.0%}",
                fmt(m["mean_delta_efficiency"]),
                fmt(m["minetti_2002_delta_efficiency"]),
            )
    Console(width=160).print(table)
