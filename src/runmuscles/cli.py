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
        typer.Argument(
            help="A trial: C3D or TRC markers, joint angles (.mot/.sto), or a folder in the hamner2013 "
            "layout (model/, ik/, Run_N_grf.xml) with --trial."
        ),
    ] = None,
    trial_name: Annotated[
        str | None, typer.Option("--trial", help="Trial in the folder, e.g. Run_4.")
    ] = None,
    static: Annotated[
        Path | None, typer.Option(help="Static trial (.c3d/.trc) to scale the model from.")
    ] = None,
    mass_kg: Annotated[float | None, typer.Option("--mass", help="Runner's body mass (kg).")] = None,
    height_m: Annotated[float | None, typer.Option("--height", help="Runner's height (m).")] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="OpenSim .osim model with muscles: taken as scaled, unless --static or --height is given. "
            "Default for lab files: RajagopalLaiUhlrich2023 (full body, 80 muscles), scaled to the runner."
        ),
    ] = None,
    coordinates: Annotated[Path | None, typer.Option(help="Joint angles (.mot/.sto from IK).")] = None,
    forces: Annotated[
        Path | None,
        typer.Option(
            help="ExternalLoads .xml or force .mot with ground reaction forces, or 'estimate': from the "
            "motion alone (written to OUT/grf_estimated.mot and .xml). Without it: a C3D file's force "
            "plates, else the motion alone."
        ),
    ] = None,
    marker_map: Annotated[
        Path | None,
        typer.Option(
            "--markers",
            help="Marker mapping file: lines 'lab_name, model_marker_or_body' (known sets are mapped "
            "without it: Fukuchi 2017, Plug-in Gait, the model's own names).",
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
    """Analyse one trial: per-muscle activation, force and work per stride and phase.

    From lab files (C3D, TRC or joint angles; with or without forces) the model is scaled
    (static trial, or --height/--mass), joint angles come from OpenSim's inverse kinematics
    and forces from the file, the C3D's plates or the motion alone; the chosen path and its
    assumptions are in the quality panel.
    """
    from .pipeline import AnalysisOptions  # noqa: PLC0415

    lab_file = trial if trial is not None and not trial.is_dir() else None
    if trial is None and coordinates is not None:
        lab_file, coordinates = coordinates, None
    show = not (as_json or quiet)
    inputs: dict = {}
    if lab_file is not None:
        if coordinates is not None or trial_name is not None:
            _fail(f"{lab_file}: --trial and --coordinates go with a trial folder, not with a trial file")
        spec, inputs = _prepare_lab(
            lab_file, out, static, model, forces, mass_kg, height_m, marker_map, start, end, show
        )
    else:
        from .trials import resolve_trial  # noqa: PLC0415

        for given, flag in (
            (static, "--static"),
            (mass_kg, "--mass"),
            (height_m, "--height"),
            (marker_map, "--markers"),
        ):
            if given is not None:
                _fail(f"{flag} goes with a C3D, TRC or joint-angle file, not with a trial folder")
        estimate = forces is not None and str(forces) == "estimate"
        spec = resolve_trial(
            trial, trial_name, model=model, coordinates=coordinates, forces=None if estimate else forces
        )
        if estimate:
            from .trials import with_estimated_forces  # noqa: PLC0415

            spec = with_estimated_forces(spec, out)
        inputs["forces_source"] = "estimated from motion alone" if estimate else "measured"
    opts = AnalysisOptions(
        lowpass_hz=lowpass if lowpass > 0 else None,
        activation_exponent=exponent,
        strength=strength,
        cycle=cycle,
        start_s=start,
        end_s=end,
        speed_m_s=speed if speed is not None else spec.speed_m_s,
        speed_source="given" if speed is not None else spec.speed_source,
        **inputs,
    )
    analysis, paths = _run_one(spec, opts, out, show_progress=show)
    if as_json:
        typer.echo(paths["summary"].read_text())
    elif not quiet:
        from .reports.terminal import print_analysis  # noqa: PLC0415

        print_analysis(analysis, out)
    if not no_report:
        _report_after_run(out, announce=show)


def _prepare_lab(trial, out, static, model, forces, mass_kg, height_m, marker_map, start, end, show):
    """Lab files -> (TrialSpec, AnalysisOptions keywords), via :func:`runmuscles.lab.prepare_lab_trial`."""
    from .lab import prepare_lab_trial  # noqa: PLC0415

    progress, _ = _progress_factory(show and sys.stderr.isatty())

    def run(say):
        return prepare_lab_trial(
            trial,
            out,
            static=static,
            model=model,
            forces=forces,
            mass_kg=mass_kg,
            height_m=height_m,
            marker_map=marker_map,
            start_s=start,
            end_s=end,
            progress=say,
        )

    if progress is None:
        lab = run(None)
    else:
        with progress:
            task = progress.add_task("preparing", total=None)
            lab = run(lambda stage: progress.update(task, description=f"{Path(trial).name}: {stage}"))
    for n in lab.notices:
        typer.echo(f"runmuscles: notice: {n}", err=True)
    return lab.spec, {
        "forces_source": lab.forces_source,
        "input_path": lab.path,
        "input_notes": lab.notices + lab.notes,
        "input_flags": lab.flags,
        "input_quality": lab.quality,
        "standing_foot_angle_rad": lab.standing_foot_angle_rad,
    }


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
    tendon: Annotated[
        str,
        typer.Option(help="'compliant' (tendon stretch from the muscle forces, post hoc) or 'rigid'."),
    ] = "compliant",
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Metabolic cost of running (2-5 m/s) against Margaria et al. 1963 and Minetti et al. 2002."""
    from .analyses.energetics import (  # noqa: PLC0415
        BASAL_RATE_W_PER_KG,
        energy_validation_rows,
        energy_validation_summary,
    )
    from .trials import demo_folder  # noqa: PLC0415

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


@app.command("validate-grade")
def validate_grade(
    data: Annotated[
        Path | None,
        typer.Argument(help="hamner2013 runners' folder, or one runner's (default: the bundled runner)."),
    ] = None,
    speeds: Annotated[list[float] | None, typer.Option("--speed", help="Trial speeds (m/s).")] = None,
    grades: Annotated[list[float] | None, typer.Option("--grade", help="Grades (%, -20..20).")] = None,
    adapt: Annotated[
        bool,
        typer.Option("--slope-adaptation/--no-slope-adaptation", help="Runners' slope adaptations."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Metabolic cost on slopes relative to level (what-if engine) against Minetti et al. 2002."""
    from .whatif import grade_cost_rows, grade_cost_summary  # noqa: PLC0415

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


def _pct(part: float, base: float) -> str:
    if base <= 0:
        return "-"
    return f"{round(100 * part / base):+d} %"  # an int: no "-0 %" for a small negative part


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
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for runs.html (a section and body map per run) and runs.json."),
    ] = None,
) -> None:
    """Per run: distance, time, ascent/descent, pace, the load of each muscle group and what
    drove it (pace, hills, cadence)."""
    from .analyses.load_model import summarize_run_file  # noqa: PLC0415

    failed = False
    records = []
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
        records.append(rec)
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
        typer.echo(
            f"  {'group':<18}{'impulse (BW s)':>16}{'+work (J/kg)':>14}{'-work (J/kg)':>14}"
            f"{'pace (BW s)':>13}{'hills':>8}{'cadence':>9}"
        )
        for g, v in sorted(rec["groups"].items(), key=lambda kv: -kv[1]["impulse_bw_s"]):
            d = {k: x["impulse_bw_s"] for k, x in rec["drivers"][g].items()}
            typer.echo(
                f"  {g:<18}{v['impulse_bw_s']:>16.1f}{v['positive_work_j_per_kg']:>14.1f}"
                f"{v['negative_work_j_per_kg']:>14.1f}{d['pace']:>13.1f}"
                f"{_pct(d['hills'], d['pace']):>8}{_pct(d['cadence'], d['pace']):>9}"
            )
        typer.echo(
            "  pace: the same distance and speeds flat at the runners' typical cadence; hills, cadence: "
            "what they added (% of pace)"
        )
        for w in rec["warnings"]:
            typer.echo(f"  warning: {w}")
    if out is not None and records:
        from .reports.runs_html import write_run_report  # noqa: PLC0415

        page = write_run_report(records, out)
        (out / "runs.json").write_text(json.dumps(records, indent=1))
        if not as_json:
            typer.echo(f"written: {page}, {out / 'runs.json'}")
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


load_model_app = typer.Typer(
    no_args_is_help=True,
    help="The per-group load table (speed x grade x cadence) that `runmuscles run` integrates.",
)
app.add_typer(load_model_app, name="load-model")


def _numbers(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        _fail(f"--{name}: '{text}' is not a comma-separated list of numbers")
        raise  # unreachable: _fail exits


@load_model_app.command("build")
def load_model_build(
    data: Annotated[Path, typer.Argument(help="The hamner2013 folder (subjectNN/ with model/, ik/).")],
    out: Annotated[Path, typer.Option(help="Where to write the table (JSON).")] = Path("load_model.json"),
    speeds: Annotated[str, typer.Option(help="Trials Run_N to use, m/s, comma-separated.")] = "2,3,4,5",
    grades: Annotated[
        str, typer.Option(help="Grades of the table, %, comma-separated (-20 to 20, with 0).")
    ] = "-15,-10,-5,0,5,10,15",
    cadences: Annotated[
        str, typer.Option(help="Cadences, % of each runner's own, comma-separated (80-120, with 100).")
    ] = "90,95,100,105,110",
    subject: Annotated[
        list[str] | None, typer.Option("--subject", help="Only these subject folders (repeat).")
    ] = None,
    strength: Annotated[str, typer.Option(help="'volume' (default) or 'model'.")] = "volume",
) -> None:
    """Rebuild the load table: analyse each runner's trials once, then every grade x cadence
    with the what-if engine (minutes: about 15 s per trial with the default axes)."""
    import time  # noqa: PLC0415

    from .analyses.load_model import build_load_model  # noqa: PLC0415

    speed_list = _numbers(speeds, "speeds")
    t0 = time.perf_counter()
    m = build_load_model(
        data,
        out,
        speeds_m_s=speed_list,  # type: ignore[arg-type]
        grades_pct=_numbers(grades, "grades"),
        cadences_pct=_numbers(cadences, "cadences"),
        subjects=subject,
        strength=strength,
        progress=lambda line: typer.echo(line, err=True),
    )
    n_s, n_g, n_c = (len(m[k]) for k in ("speeds_m_s", "grades_pct", "cadences_pct"))
    prov = m["provenance"]
    typer.echo(
        f"wrote {out}: {len(m['groups'])} groups x {n_s} speeds x {n_g} grades x {n_c} cadences, "
        f"{len(prov['runners'])} runners, {prov['conditions_failed']} conditions failed, "
        f"{time.perf_counter() - t0:.0f} s"
    )


# --- end of everyday runs ---


# -- what-if and claims: thin layers over runmuscles.whatif and runmuscles.claims ------------


_RunnerFolder = Annotated[
    Path | None,
    typer.Argument(help="A runner's trial folder (hamner2013 layout); omit for the bundled runner."),
]
_RunnerTrials = Annotated[
    list[str] | None, typer.Option("--trial", help="Trials to use (default: every Run_N).")
]


@app.command()
def whatif(
    trial: _RunnerFolder = None,
    trial_name: _RunnerTrials = None,
    at: Annotated[
        float | None, typer.Option(help="Baseline: the trial at this speed (m/s; default: nearest 3.5).")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Running speed (m/s), inside the measured ones.")
    ] = None,
    grade: Annotated[float, typer.Option(help="Slope in % (positive uphill), -20 to 20.")] = 0.0,
    cadence: Annotated[
        float | None,
        typer.Option(
            help="Step frequency, % of the recorded (default: as recorded, plus the slope's adaptation)."
        ),
    ] = None,
    lean: Annotated[float, typer.Option(help="Extra forward trunk lean (deg).")] = 0.0,
    surface: Annotated[
        str | None, typer.Option(help="'treadmill' or 'overground' (default: as recorded).")
    ] = None,
    wind: Annotated[float, typer.Option(help="Head wind (+) or tail wind (-), m/s, overground.")] = 0.0,
    belt: Annotated[
        float, typer.Option("--belt-fluctuation", help="Treadmill belt-speed dip in stance (%).")
    ] = 0.0,
    overstride: Annotated[
        float, typer.Option(help="Foot lands this much further ahead (m, 0-0.15): a longer stance.")
    ] = 0.0,
    strike: Annotated[str | None, typer.Option(help="Landing: 'rearfoot' or 'forefoot'.")] = None,
    adapt: Annotated[
        bool,
        typer.Option(
            "--slope-adaptation/--no-slope-adaptation",
            help="On a slope, add runners' adaptations (step frequency, trunk and foot angles).",
        ),
    ] = True,
    strength: Annotated[str, typer.Option(help="'volume' (default) or 'model'.")] = "volume",
    out: Annotated[Path, typer.Option(help="Folder for whatif.json and whatif.csv.")] = Path(
        "runmuscles-whatif"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """What if the runner ran faster, uphill, on a treadmill, with a higher cadence or more lean?

    Recomputes dynamics and muscles for the changed condition (see runmuscles.whatif) and
    prints per-group load per stride against the baseline trial.
    """
    from .analyses.groups import MAIN_GROUPS  # noqa: PLC0415
    from .whatif import Condition, compare_groups, load_runner, load_shifts  # noqa: PLC0415

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
    ref = at if at is not None else min(sm.speeds_m_s, key=lambda v: abs(v - 3.5))
    engine = sm.engine_at(ref)
    if engine is None:
        _fail(f"no trial at {ref:g} m/s (this runner has {', '.join(f'{v:g}' for v in sm.speeds_m_s)})")
    base = engine.baseline(energetics=True)
    if speed is not None and abs(speed - ref) > 1e-9:
        res = sm.evaluate(cond, energetics=True)
    else:
        from dataclasses import replace  # noqa: PLC0415

        res = engine.evaluate(replace(cond, speed_m_s=None), energetics=True)
    cmp = compare_groups(base, res)
    payload = {
        "runner": str(trial) if trial else "bundled demo runner (Hamner & Delp 2013, subject01)",
        "baseline_speed_m_s": ref,
        "condition": cond.changes(),
        "baseline": {"groups": base.groups, "stride": base.stride, "energetics": base.energetics},
        "whatif": {
            "groups": res.groups,
            "stride": res.stride,
            "energetics": res.energetics,
            "quality": res.quality,
            "notes": res.notes,
        },
        "change": cmp,
        "shifts": load_shifts(base, res),
        "units": {
            "impulse_bw_s_per_stride": "body-weight seconds per stride (both legs)",
            "positive_work_j_per_kg_per_stride": "J per kg body mass per stride",
            "negative_work_j_per_kg_per_stride": "J per kg body mass per stride (negative)",
            "peak_force_bw": "peak of one side's summed group force, body weights",
        },
    }
    out.mkdir(parents=True, exist_ok=True)
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
    from .reports.whatif_html import write_whatif_report  # noqa: PLC0415

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
    for n in res.notes:
        con.print(f"  - {n}")
    con.print(f"written: {out / 'whatif.json'}, {out / 'whatif.csv'}, {html_path}")


@app.command()
def claims(
    trial: _RunnerFolder = None,
    trial_name: _RunnerTrials = None,
    strength: Annotated[str, typer.Option(help="'volume' (default) or 'model'.")] = "volume",
    out: Annotated[Path, typer.Option(help="Folder for claims.json.")] = Path("runmuscles-claims"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per claim.")] = False,
) -> None:
    """Popular claims about running muscles, each with the engine's evidence and a verdict."""
    from .claims import evaluate_claims  # noqa: PLC0415
    from .whatif import load_runner  # noqa: PLC0415

    sm = load_runner(trial, trials=trial_name, strength=strength)
    found = [c.as_dict() for c in evaluate_claims(sm)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "claims.json").write_text(json.dumps(found, indent=2, default=float))
    from .reports.whatif_html import write_claims_report  # noqa: PLC0415

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
