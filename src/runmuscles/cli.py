"""Command line: a thin layer over :mod:`runmuscles.pipeline` and :mod:`runmuscles.so`.

Every command prints a one-line message and exits non-zero on bad input; no tracebacks.
Heavy modules are imported inside the commands, so ``runmuscles --help`` is instant.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import RunmusclesError

# The engine's linear algebra is many small matrices (tens of rows), where BLAS threads only
# add overhead and contend for cores; one thread per process (set before NumPy loads, which
# happens inside the commands).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    help=(
        "Which muscles does running work, and how much? Per-muscle activation, force and work over "
        "the running stride, from OpenSim models and real data."
    ),
)

_EXIT_INPUT = 2
_EXIT_INTERNAL = 3


def _fail(message: str, code: int = _EXIT_INPUT) -> None:
    typer.echo(f"runmuscles: error: {message}", err=True)
    raise typer.Exit(code)


def _progress_factory(enabled: bool):
    """A rich progress bar that appears only after the work has taken a second."""
    if not enabled:
        return None, None
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    return progress, progress


@app.command()
def analyze(
    trial: Annotated[
        Path | None,
        typer.Argument(help="A trial folder in the hamner2013 layout (model/, ik/, Run_N_grf.xml), or omit."),
    ] = None,
    trial_name: Annotated[
        str | None, typer.Option("--trial", help="Trial in the folder, e.g. Run_4.")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="OpenSim .osim model with muscles (scaled).")] = None,
    coordinates: Annotated[Path | None, typer.Option(help="Joint angles (.mot/.sto from IK).")] = None,
    forces: Annotated[
        Path | None,
        typer.Option(
            help="ExternalLoads .xml with ground reaction forces, or 'estimate': from the motion alone "
            "(written to OUT/grf_estimated.mot and .xml)."
        ),
    ] = None,
    start: Annotated[float | None, typer.Option(help="Start of the analysis window (s).")] = None,
    end: Annotated[float | None, typer.Option(help="End of the analysis window (s).")] = None,
    cycle: Annotated[
        int | None, typer.Option(help="Analyse only this stride cycle (1-based, right foot).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = Path("runmuscles-results"),
    lowpass: Annotated[float, typer.Option(help="Low-pass cutoff for coordinates (Hz); 0: none.")] = 12.0,
    exponent: Annotated[float, typer.Option(help="Activation exponent of the objective.")] = 2.0,
    strength: Annotated[
        str, typer.Option(help="'model' (the model's F0) or 'volume' (Handsfield 2014).")
    ] = "model",
    speed: Annotated[float | None, typer.Option(help="Running speed (m/s), if known.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.html.")] = False,
) -> None:
    """Analyse one trial: per-muscle activation, force and work per stride and phase."""
    from .pipeline import AnalysisOptions  # noqa: PLC0415
    from .trials import resolve_trial  # noqa: PLC0415

    estimate = forces is not None and str(forces) == "estimate"
    spec = resolve_trial(
        trial, trial_name, model=model, coordinates=coordinates, forces=None if estimate else forces
    )
    if estimate:
        from .trials import with_estimated_forces  # noqa: PLC0415

        spec = with_estimated_forces(spec, out)
    opts = AnalysisOptions(
        lowpass_hz=lowpass if lowpass > 0 else None,
        activation_exponent=exponent,
        strength=strength,
        cycle=cycle,
        start_s=start,
        end_s=end,
        speed_m_s=speed if speed is not None else spec.speed_m_s,
        speed_source="given" if speed is not None else spec.speed_source,
        forces_source="estimated from motion alone" if estimate else "measured",
    )
    analysis, paths = _run_one(spec, opts, out, show_progress=not (as_json or quiet))
    if as_json:
        typer.echo(paths["summary"].read_text())
    elif not quiet:
        from .reports.terminal import print_analysis  # noqa: PLC0415

        print_analysis(analysis, out)
    if not no_report:
        _report_after_run(out, announce=not (as_json or quiet))


def _run_one(spec, opts, out: Path, *, show_progress: bool):
    from .pipeline import analyze_trial  # noqa: PLC0415
    from .results import write_results  # noqa: PLC0415

    progress, _ = _progress_factory(show_progress and sys.stderr.isatty())
    if progress is None:
        analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    else:
        with progress:
            task = progress.add_task("analysing", total=None)
            analysis = analyze_trial(
                spec.model,
                spec.coordinates,
                spec.forces,
                opts,
                progress=lambda stage: progress.update(task, description=f"{spec.label}: {stage}"),
            )
    paths = write_results(analysis, out)
    return analysis, paths


@app.command()
def so(
    setup: Annotated[Path, typer.Argument(help="OpenSim AnalyzeTool setup .xml with a StaticOptimization.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")] = False,
) -> None:
    """Drop-in for OpenSim's Static Optimization: same setup file, same output files."""
    from .so import run_so_setup  # noqa: PLC0415

    written = run_so_setup(setup)
    if as_json:
        typer.echo(json.dumps({k: str(v) for k, v in written.items()}))
    else:
        for k, v in written.items():
            typer.echo(f"{k}: {v}")


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
    from .pipeline import AnalysisOptions  # noqa: PLC0415
    from .trials import demo_trials  # noqa: PLC0415

    analyses = []
    for spec in demo_trials():
        opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength=strength)
        analysis, paths = _run_one(spec, opts, out / spec.label, show_progress=not as_json)
        analyses.append((spec, analysis, paths))
    if not no_report:
        _report_after_run(out, announce=not as_json)
    if as_json:
        typer.echo(json.dumps({spec.label: json.loads(p["summary"].read_text()) for spec, _, p in analyses}))
        return
    from .reports.terminal import print_demo  # noqa: PLC0415

    print_demo([(s, a) for s, a, _ in analyses], out)


# -- report: a thin layer over runmuscles.reports.html ------------------------------------


def _report_after_run(results: Path, *, announce: bool) -> None:
    """Write report.html after an analysis; a failure here does not fail the analysis."""
    from .reports.html import build_report  # noqa: PLC0415

    try:
        path = build_report(results)
    except RunmusclesError as exc:
        typer.echo(f"runmuscles: warning: no report written: {exc}", err=True)
        return
    if announce:
        typer.echo(f"report: {path}", err=True)


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
    from .reports.html import build_report, export_figures  # noqa: PLC0415

    path = build_report(results, out, open_browser=open_)
    typer.echo(f"report: {path}")
    if figures is not None:
        written, note = export_figures(results, figures)
        typer.echo(f"figures: {len(written)} files in {figures}")
        if note:
            typer.echo(f"runmuscles: note: {note}", err=True)


# -- validate-energy (issue 6): a thin layer over runmuscles.analyses.energetics -------------
@app.command("validate-energy")
def validate_energy(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="hamner2013 folder (subjectNN/...) or one runner's folder; omit: the bundled runner."
        ),
    ] = None,
    strength: Annotated[
        str, typer.Option(help="'volume' (Handsfield 2014) or 'model' (the model's F0).")
    ] = "volume",
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Metabolic cost of running (2-5 m/s) against Margaria et al. 1963 and Minetti et al. 2002."""
    from .analyses.energetics import (  # noqa: PLC0415
        MARGARIA_1963_J_PER_KG_M,
        MINETTI_2002_J_PER_KG_M,
        energy_validation_rows,
    )
    from .trials import demo_folder  # noqa: PLC0415

    rows = energy_validation_rows(data if data is not None else demo_folder(), strength=strength)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    lo, hi = MARGARIA_1963_J_PER_KG_M
    mean, sd = MINETTI_2002_J_PER_KG_M
    table = Table(title=f"Cost of running, strength={strength} (Umberger 2003 model, Uchida 2016 settings)")
    for col in ("runner", "speed m/s", "gross J/kg/m", "net J/kg/m", "gross W/kg", "kcal/km"):
        table.add_column(col, justify="right")
    table.add_column(f"gross vs Margaria 1963 {lo:g}-{hi:g}")
    table.add_column(f"net vs Minetti 2002 {mean:.2f}+-{sd:.2f}")

    def fmt(v):
        return "-" if v is None else f"{v:.2f}"

    for r in rows:
        g = r["gross_j_per_kg_m"]
        table.add_row(
            r["subject"],
            f"{r['speed_m_s']:g}",
            fmt(g),
            fmt(r["net_j_per_kg_m"]),
            fmt(r["gross_power_w_per_kg"]),
            "-" if r["kcal_per_km"] is None else f"{r['kcal_per_km']:.0f}",
            "-" if g is None else f"{(g - 0.5 * (lo + hi)) / (0.5 * (lo + hi)):+.0%}",
            "-" if r["net_j_per_kg_m"] is None else f"{(r['net_j_per_kg_m'] - mean) / sd:+.1f} SD",
        )
    Console().print(table)


# -- validate-grf: ground reaction forces from motion alone vs measured (grf_estimation) -----------


@app.command("validate-grf")
def validate_grf(
    data: Annotated[
        Path, typer.Argument(help="The hamner2013 folder (subjectNN/ with model/, ik/, Run_N_grf.xml).")
    ] = Path("../shared/data/hamner2013"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Forces from motion alone against the measured ones, per trial, next to the plain baseline
    (the estimate held out: each runner with maps fitted on the other runners only)."""
    from .dynamics.grf_estimation import validate_hamner2013  # noqa: PLC0415

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


# --- everyday runs and their history (issue 5): thin layer over analyses.load_model and history ---


def _fmt_duration(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="FIT, GPX or TCX files of runs.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="Also store the runs in this history (URL or SQLite file).")
    ] = None,
    mass_kg: Annotated[
        float | None, typer.Option("--mass", help="Body mass (kg): adds loads in N s and J.")
    ] = None,
) -> None:
    """Per run: distance, time, ascent/descent, pace and the load of each muscle group."""
    from .analyses.load_model import summarize_run_file  # noqa: PLC0415

    failed = False
    for f in files:
        try:
            rec = summarize_run_file(f, body_mass_kg=mass_kg)
        except RunmusclesError as exc:
            failed = True
            if as_json:
                typer.echo(json.dumps({"file": str(f), "error": str(exc)}))
            else:
                typer.echo(f"runmuscles: error: {exc}", err=True)
            continue
        if as_json:
            typer.echo(json.dumps(rec))
            continue
        pace = rec["pace_s_per_km"]
        asc, desc = rec["ascent_m"], rec["descent_m"]
        typer.echo(
            f"{f.name}: {rec['sport']}, {rec['distance_m'] / 1000:.2f} km"
            + f" in {_fmt_duration(rec['duration_s'])}"
            + (f", pace {int(pace // 60)}:{int(pace % 60):02d} /km" if pace else "")
            + (f", +{asc:.0f} m / -{desc:.0f} m" if asc is not None and desc is not None else "")
        )
        typer.echo(f"  {'group':<18}{'impulse (BW s)':>16}{'+work (J/kg)':>14}{'-work (J/kg)':>14}")
        for g, v in sorted(rec["groups"].items(), key=lambda kv: -kv[1]["impulse_bw_s"]):
            typer.echo(
                f"  {g:<18}{v['impulse_bw_s']:>16.1f}{v['positive_work_j_per_kg']:>14.1f}"
                f"{v['negative_work_j_per_kg']:>14.1f}"
            )
        for w in rec["warnings"]:
            typer.echo(f"  warning: {w}")
    if db is not None:
        from .history import import_paths, open_history  # noqa: PLC0415

        for r in import_paths(open_history(db), files):
            if not as_json:
                typer.echo(f"history: {r.path.name}: {r.status}", err=True)
    if failed:
        raise typer.Exit(_EXIT_INPUT)


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
    weeks: Annotated[int, typer.Option(help="Show the last N weeks that have runs (the CSV has all).")] = 12,
) -> None:
    """Weeks of runs: per-group load, acute:chronic ratio and spikes."""
    from .history import export_csv, import_paths, open_history, weekly_loads  # noqa: PLC0415

    engine = open_history(db)
    if add:
        for r in import_paths(engine, add):
            typer.echo(f"{r.path}: {r.status}" + (f" ({r.message})" if r.status == "error" else ""))
    rows = weekly_loads(engine, quantity)
    if csv_out is not None:
        export_csv(rows, csv_out)
        typer.echo(f"wrote {csv_out}")
    if not rows:
        typer.echo("no runs in the history yet (runmuscles history --import FOLDER)")
        return
    shown = sorted({r["week_start"] for r in rows if r["runs"]})[-weeks:]
    for w in shown:
        wr = [r for r in rows if r["week_start"] == w]
        typer.echo(f"week of {w}: {wr[0]['runs']} runs, {wr[0]['distance_m'] / 1000:.1f} km")
        for r in sorted(wr, key=lambda r: -r["load"]):
            ratio = f"{r['acwr']:.2f}" if r["acwr"] is not None else "-"
            typer.echo(
                f"  {r['group']:<18}{r['load']:>10.1f}  A:C {ratio}"
                + (f"  ! {r['note']}" if r["spike"] else "")
            )


# --- end of everyday runs ---


def main() -> None:
    """Entry point: run the app, turning every error into one line and an exit code."""
    try:
        # without standalone mode click returns (not raises) the code of a typer.Exit
        rv = app(standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except RunmusclesError as exc:
        typer.echo(f"runmuscles: error: {exc}", err=True)
        sys.exit(_EXIT_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("runmuscles: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors and anything unexpected
        import click  # noqa: PLC0415

        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        if no_args and isinstance(exc, no_args):  # bare `runmuscles`: show the manual
            typer.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        if isinstance(exc, click.ClickException):
            typer.echo(f"runmuscles: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(f"runmuscles: internal error: {type(exc).__name__}: {first}", err=True)
        sys.exit(_EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
