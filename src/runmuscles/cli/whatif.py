"""`runmuscles whatif`: a thin layer over runmuscles.whatif."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..validation import choice_check, option_check
from ._app import app
from ._runner import RunnerFolder, RunnerTrials


@app.command()
def whatif(
    trial: RunnerFolder = None,
    trial_name: RunnerTrials = None,
    at: Annotated[
        float | None, typer.Option(help="Baseline: the trial at this speed (m/s; default: nearest 3.5).")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            help="Running speed (m/s), inside the measured ones.",
            callback=option_check("speed_m_s", "--speed"),
        ),
    ] = None,
    grade: Annotated[
        float,
        typer.Option(
            help="Slope in % (positive uphill), -20 to 20.", callback=option_check("grade_pct", "--grade")
        ),
    ] = 0.0,
    cadence: Annotated[
        float | None,
        typer.Option(
            help="Step frequency, % of the recorded (default: as recorded, plus the slope's adaptation).",
            callback=option_check("cadence_pct", "--cadence"),
        ),
    ] = None,
    lean: Annotated[
        float,
        typer.Option(help="Extra forward trunk lean (deg).", callback=option_check("lean_deg", "--lean")),
    ] = 0.0,
    surface: Annotated[
        str | None,
        typer.Option(
            help="'treadmill' or 'overground' (default: as recorded).",
            callback=choice_check("surface", "--surface"),
        ),
    ] = None,
    wind: Annotated[
        float,
        typer.Option(
            help="Head wind (+) or tail wind (-), m/s, overground.",
            callback=option_check("wind_m_s", "--wind"),
        ),
    ] = 0.0,
    belt: Annotated[
        float,
        typer.Option(
            "--belt-fluctuation",
            help="Treadmill belt-speed dip in stance (%).",
            callback=option_check("belt_fluctuation_pct", "--belt-fluctuation"),
        ),
    ] = 0.0,
    overstride: Annotated[
        float,
        typer.Option(
            help="Foot lands this much further ahead (m, 0-0.15): a longer stance.",
            callback=option_check("overstride_m", "--overstride"),
        ),
    ] = 0.0,
    strike: Annotated[
        str | None,
        typer.Option(help="Landing: 'rearfoot' or 'forefoot'.", callback=choice_check("strike", "--strike")),
    ] = None,
    adapt: Annotated[
        bool,
        typer.Option(
            "--slope-adaptation/--no-slope-adaptation",
            help="On a slope, add runners' adaptations (step frequency, trunk and foot angles).",
        ),
    ] = True,
    strength: Annotated[
        str,
        typer.Option(help="'volume' (default) or 'model'.", callback=choice_check("strength", "--strength")),
    ] = "volume",
    out: Annotated[Path, typer.Option(help="Folder for whatif.json and whatif.csv.")] = Path(
        "runmuscles-whatif"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """What if the runner ran faster, uphill, on a treadmill, with a higher cadence or more lean?

    Recomputes dynamics and muscles for the changed condition (see runmuscles.whatif) and
    prints per-group load per stride against the baseline trial.
    """
    from ..analyses.groups import MAIN_GROUPS  # noqa: PLC0415
    from ..outputs import check_output_dir, prepare_output_dir  # noqa: PLC0415
    from ..whatif import Condition, load_runner  # noqa: PLC0415
    from ..whatif.compare import BUNDLED_RUNNER_LABEL, whatif_payload  # noqa: PLC0415

    check_output_dir(out)
    cond = Condition(
        speed_m_s=speed,
        grade_pct=grade,
        cadence_pct=cadence,
        lean_deg=lean,
        surface=surface,
        belt_fluctuation_pct=belt,
        wind_m_s=wind,
        overstride_m=overstride,
        strike=strike,
        slope_adaptation=adapt,
    )
    cond.validate()
    sm = load_runner(trial, trials=trial_name, strength=strength)
    payload = whatif_payload(sm, cond, at=at, runner=str(trial) if trial else BUNDLED_RUNNER_LABEL)
    ref = payload["baseline_speed_m_s"]
    cmp = payload["change"]
    base_energetics = payload["baseline"]["energetics"]
    base_quality = payload["baseline"]["quality"]
    prepare_output_dir(out)
    (out / "whatif.json").write_text(json.dumps(payload, indent=2, default=float))
    import csv  # noqa: PLC0415

    with (out / "whatif.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["group", "quantity", "baseline", "whatif", "change_pct"])
        for g, row in cmp.items():
            for k in (
                "impulse_bw_s_per_stride",
                "positive_work_j_per_kg_per_stride",
                "negative_work_j_per_kg_per_stride",
                "peak_force_bw",
            ):
                w.writerow([g, k, row[f"baseline_{k}"], row[k], row[f"change_pct_{k}"]])
    for level in ("group", "muscle"):
        rows = sm.table(level=level)
        with (out / f"speed_table_{level}s.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    from ..reports.whatif_html import write_whatif_report  # noqa: PLC0415

    html_path = write_whatif_report(out, json.loads(json.dumps(payload, default=float)))
    if as_json:
        typer.echo(json.dumps(payload, default=float))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    tab = Table(title=f"What if {cond.changes() or 'nothing changes'} (baseline: trial at {ref:g} m/s)")
    for col in (
        "group",
        "impulse BW s/stride",
        "change",
        "positive work J/kg",
        "change",
        "negative work J/kg",
        "change",
    ):
        tab.add_column(col, justify="right" if col != "group" else "left")
    for g in MAIN_GROUPS:
        if g not in cmp:
            continue
        r = cmp[g]
        tab.add_row(
            g,
            f"{r['impulse_bw_s_per_stride']:.3f}",
            f"{r['change_pct_impulse_bw_s_per_stride']:+.1f} %",
            f"{r['positive_work_j_per_kg_per_stride']:.3f}",
            f"{r['change_pct_positive_work_j_per_kg_per_stride']:+.1f} %",
            f"{r['negative_work_j_per_kg_per_stride']:.3f}",
            f"{r['change_pct_negative_work_j_per_kg_per_stride']:+.1f} %",
        )
    con = Console()
    con.print(tab)
    for name, v in payload["shifts"].items():
        con.print(
            f"  {name.replace('_', ' ')}: {100 * v['baseline_share']:.1f} % -> "
            f"{100 * v['whatif_share']:.1f} % of all muscle impulse ({v['change_pp']:+.1f} points)"
        )
    res_energetics, res_quality = payload["whatif"]["energetics"], payload["whatif"]["quality"]
    cost0, cost1 = (
        base_energetics.get("metabolic_cost_j_per_kg_m"),
        res_energetics.get("metabolic_cost_j_per_kg_m"),
    )
    if cost0 is not None and cost1 is not None:
        from rich.markup import escape  # noqa: PLC0415

        reasons = res_quality.get("energy_flag_reasons") or base_quality.get("energy_flag_reasons") or []
        line = f"  energy cost: {cost0:.2f} -> {cost1:.2f} J/kg/m"
        if reasons:
            line += " (FLAGGED: " + "; ".join(reasons) + ")"
        con.print(f"[yellow]{escape(line)}[/yellow]" if reasons else escape(line))
    for n in payload["whatif"]["notes"]:
        con.print(f"  - {n}")
    con.print(f"written: {out / 'whatif.json'}, {out / 'whatif.csv'}, {html_path}")
