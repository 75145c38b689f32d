"""`runmuscles validate-energy`: a thin layer over runmuscles.analyses.energetics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..validation import choice_check
from ._app import app


@app.command("validate-energy")
def validate_energy(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="hamner2013 folder (subjectNN/...) or one runner's folder; omit: the bundled runner."
        ),
    ] = None,
    strength: Annotated[
        str,
        typer.Option(
            help="'volume' (Handsfield 2014) or 'model' (the model's F0).",
            callback=choice_check("strength", "--strength"),
        ),
    ] = "volume",
    tendon: Annotated[
        str,
        typer.Option(
            help="'compliant' (tendon stretch from the muscle forces, post hoc) or 'rigid'.",
            callback=choice_check("tendon", "--tendon"),
        ),
    ] = "compliant",
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Metabolic cost of running (2-5 m/s) against Margaria et al. 1963 and Minetti et al. 2002."""
    from ..analyses.energetics import (  # noqa: PLC0415
        BASAL_RATE_W_PER_KG,
        energy_validation_rows,
        energy_validation_summary,
    )
    from ..trials import demo_folder  # noqa: PLC0415

    rows = energy_validation_rows(
        data if data is not None else demo_folder(), strength=strength, tendon=tendon
    )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    summary = energy_validation_summary(rows)
    margaria = summary["references"]["margaria_1963_net_j_per_kg_m"]
    minetti = summary["references"]["minetti_2002_net_j_per_kg_m"]
    table = Table(
        title=f"Cost of level running, strength={strength}, {tendon} tendon: Umberger et al. (2003) "
        "muscle energy model "
        f"with the settings of Uchida et al. (2016); gross = net + basal {BASAL_RATE_W_PER_KG:g} W/kg",
        caption=(
            f"Measured (net): Margaria et al. (1963) J Appl Physiol 18:367-370, {margaria:.2f} J/kg/m "
            f"(1 kcal/kg/km); Minetti et al. (2002) J Appl Physiol 93:1039-1046, "
            f"{minetti['mean']:.2f} +- {minetti['sd']:.2f} J/kg/m; both independent of speed. "
            "Change over speed: largest / smallest gross cost - 1. "
            "Reserve share: positive ankle work done by the (metabolically free) reserve."
        ),
    )
    for col in ("runner", "speed m/s", "gross J/kg/m", "net J/kg/m", "gross W/kg", "kcal/km"):
        table.add_column(col, justify="right")
    table.add_column("net vs Margaria 1963", justify="right")
    table.add_column("net vs Minetti 2002", justify="right")
    table.add_column("change over speed", justify="right")
    table.add_column("reserve share ankle +work", justify="right")

    def fmt(v, digits=2):
        return "-" if v is None else f"{v:.{digits}f}"

    def vs_refs(net):
        if net is None:
            return "-", "-"
        return f"{(net - margaria) / margaria:+.0%}", f"{(net - minetti['mean']) / minetti['sd']:+.1f} SD"

    last = None
    for r in rows:
        if last is not None and r["subject"] != last:
            table.add_section()
        last = r["subject"]
        var = summary["runners"].get(r["subject"], {}).get("gross_variation")
        share = r.get("reserve_share_of_ankle_positive_work")
        table.add_row(
            r["subject"],
            f"{r['speed_m_s']:g}",
            fmt(r["gross_j_per_kg_m"]),
            fmt(r["net_j_per_kg_m"]),
            fmt(r["gross_power_w_per_kg"]),
            fmt(r["kcal_per_km"], 0),
            *vs_refs(r["net_j_per_kg_m"]),
            "-" if var is None else f"{var:.0%}",
            "-" if share is None else f"{share:.0%}",
        )
    runners = len(summary["runners"])
    if runners > 1:
        table.add_section()
        var = summary["mean_gross_variation"]
        for v, m in summary["mean"].items():
            table.add_row(
                f"mean of {m['n_runners']}",
                f"{v:g}",
                fmt(m["gross_j_per_kg_m"]),
                fmt(m["net_j_per_kg_m"]),
                "",
                "",
                *vs_refs(m["net_j_per_kg_m"]),
                "-" if var is None else f"{var:.0%}",
                "",
            )
    table.add_section()
    table.add_row("Margaria 1963", "any", "", fmt(margaria), "", "", "", "", "", "")
    table.add_row(
        "Minetti 2002", "any", "", f"{minetti['mean']:.2f}+-{minetti['sd']:.2f}", "", "", "", "", "", ""
    )
    Console(width=200).print(table)
