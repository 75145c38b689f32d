"""`runmuscles analyze`: one trial, from a trial folder or a lab's files (runmuscles.pipeline, .lab)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..validation import choice_check, option_check
from ._app import app, fail, progress_factory, report_after_run


@app.command()
def analyze(
    trial: Annotated[
        Path | None,
        typer.Argument(
            help="A trial: C3D or TRC markers, joint angles (.mot/.sto), a folder in the hamner2013 "
            "layout (model/, ik/, Run_N_grf.xml) with --trial, or an OpenCap or Pose2Sim output folder "
            "(scaled .osim and IK .mot; --trial picks the .mot)."
        ),
    ] = None,
    trial_name: Annotated[
        str | None, typer.Option("--trial", help="Trial in the folder, e.g. Run_4.")
    ] = None,
    static: Annotated[
        Path | None, typer.Option(help="Static trial (.c3d/.trc) to scale the model from.")
    ] = None,
    mass_kg: Annotated[
        float | None,
        typer.Option(
            "--mass", help="Runner's body mass (kg).", callback=option_check("body_mass_kg", "--mass")
        ),
    ] = None,
    height_m: Annotated[
        float | None,
        typer.Option(
            "--height",
            help="Runner's height (m): scales a lab trial's model, and sets the volume strength model's "
            "height (default: the scaled model's stature).",
            callback=option_check("height_m", "--height"),
        ),
    ] = None,
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
            help="Marker mapping file: lines 'lab_name, model_marker_or_body'. Rarely needed: anatomical "
            "landmarks are recognised by name across Plug-in Gait, Helen Hayes, CAST, IOR, Cleveland, "
            "Fukuchi 2017 and the model's own names.",
        ),
    ] = None,
    start: Annotated[
        float | None,
        typer.Option(help="Start of the analysis window (s).", callback=option_check("start_s", "--start")),
    ] = None,
    end: Annotated[
        float | None,
        typer.Option(help="End of the analysis window (s).", callback=option_check("end_s", "--end")),
    ] = None,
    cycle: Annotated[
        int | None,
        typer.Option(
            help="Analyse only this stride cycle (1-based, right foot).",
            callback=option_check("cycle", "--cycle"),
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the results.")] = Path("runmuscles-results"),
    lowpass: Annotated[
        float,
        typer.Option(
            help="Low-pass cutoff for coordinates (Hz); 0: none.",
            callback=option_check("lowpass_hz", "--lowpass"),
        ),
    ] = 12.0,
    exponent: Annotated[
        float,
        typer.Option(
            help="Activation exponent of the objective.",
            callback=option_check("activation_exponent", "--exponent"),
        ),
    ] = 2.0,
    strength: Annotated[
        str,
        typer.Option(
            help="'volume' (default: muscle volumes from mass and height, Handsfield 2014, with the "
            "scaled model's stature when --height is not given) or 'model' (the model's own F0).",
            callback=choice_check("strength", "--strength"),
        ),
    ] = "volume",
    muscles: Annotated[
        str,
        typer.Option(
            help="Muscle solution: 'static' (static optimization, rigid tendons) or 'dynamic' (compliant "
            "tendons and activation dynamics by direct collocation, De Groote et al. 2016).",
            callback=choice_check("muscles", "--muscles"),
        ),
    ] = "static",
    speed: Annotated[
        float | None,
        typer.Option(help="Running speed (m/s), if known.", callback=option_check("speed_m_s", "--speed")),
    ] = None,
    accept_ik_error: Annotated[
        bool,
        typer.Option(
            "--accept-ik-error",
            help="Go on when inverse kinematics fits the markers worse than 4 cm RMS (mean over frames); "
            "the result is then marked not valid.",
        ),
    ] = False,
    ik: Annotated[
        str | None,
        typer.Option(
            "--ik",
            help="Inverse kinematics of C3D/TRC markers: 'own' (default: the project's multibody "
            "model, all frames at once) or 'opensim' (OpenSim's InverseKinematicsTool).",
            callback=choice_check("ik", "--ik"),
        ),
    ] = None,
    stance_only: Annotated[
        bool,
        typer.Option(
            "--stance-only",
            help="Force plates that catch no complete stride (fewer than three consecutive measured "
            "steps): analyse the measured stance(s) alone, labelled stance-only.",
        ),
    ] = False,
    emg: Annotated[
        Path | None,
        typer.Option(
            help="EMG to compare with the activations: C3D (its EMG analog channels), CSV (time column "
            "and one column per channel) or .sto/.mot; raw or envelopes (detected). Adds an 'emg' block "
            "to summary.json and EMG-vs-activation plots to the report."
        ),
    ] = None,
    emg_map: Annotated[
        Path | None,
        typer.Option(
            help="EMG channel map: lines 'channel, muscle' (model muscle names joined by '+', an "
            "abbreviation such as TA or R GMAX, or 'ignore'). Without it channels are matched by name."
        ),
    ] = None,
    emg_rate: Annotated[
        float | None,
        typer.Option(
            help="EMG sample rate (Hz): needed for a file without a time column; a time column that "
            "differs from it by more than 1 % is refused.",
            callback=option_check("emg_rate_hz", "--emg-rate"),
        ),
    ] = None,
    emg_kind: Annotated[
        str,
        typer.Option(
            help="'auto' (detected), 'raw' (band-pass, rectify, low-pass), 'rectified' (low-pass) or "
            "'envelope'."
        ),
    ] = "auto",
    emg_side: Annotated[
        str | None,
        typer.Option(help="Side of EMG channels whose names do not say it (default: the reference side)."),
    ] = None,
    emg_delay: Annotated[
        float,
        typer.Option(
            help="Electromechanical delay (s): EMG is compared this much later (Cavanagh & Komi 1979).",
            callback=option_check("emg_delay_s", "--emg-delay"),
        ),
    ] = 0.05,
    emg_normalise: Annotated[
        str,
        typer.Option(
            help="EMG envelope normalisation: 'stride_peaks' (mean of its per-stride peaks) or "
            "'trial_peak' (its peak over the recording)."
        ),
    ] = "stride_peaks",
    residual_reduction: Annotated[
        bool,
        typer.Option(
            "--residual-reduction/--no-residual-reduction",
            help="Adjust masses, the trunk's mass centre and the pelvis motion so that the pelvis "
            "residuals fall within the Hicks et al. 2015 thresholds (as OpenSim's RRA); the changes are "
            "in summary.json's quality.residual_reduction. On by default; --no-residual-reduction "
            "analyses the motion and masses as given.",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write report.html.")] = False,
) -> None:
    """Analyse one trial: per-muscle activation, force and work per stride and phase.

    From lab files (C3D, TRC or joint angles; with or without forces) the model is scaled
    (static trial, or --height/--mass), joint angles come from inverse kinematics (the
    project's own by default, OpenSim's with --ik opensim), forces from the file, the C3D's
    plates or the motion alone, and residual reduction adjusts masses and pelvis motion to the
    forces (--no-residual-reduction: off); the chosen path and its assumptions are in the
    quality panel.
    """
    from ..analysis_inputs import analyze_one, lab_only_options_given  # noqa: PLC0415
    from ..outputs import check_output_dir  # noqa: PLC0415
    from ..process_memory import tune_for_one_analysis  # noqa: PLC0415

    tune_for_one_analysis()  # one analysis per process: no huge-page compaction, reuse freed pages

    emg_options = None
    if emg is not None:
        from ..analyses.emg import EmgOptions  # noqa: PLC0415  (no SciPy import until EMG is processed)

        emg_options = EmgOptions(
            emg,
            map_path=emg_map,
            rate_hz=emg_rate,
            kind=emg_kind,
            default_side=emg_side,
            delay_s=emg_delay,
            normalisation=emg_normalise,
        )
    elif emg_map is not None or emg_rate is not None:
        fail("--emg-map and --emg-rate go with --emg")
    check_output_dir(out)
    lab_file = trial if trial is not None and not trial.is_dir() else None
    if trial is None and coordinates is not None:
        lab_file, coordinates = coordinates, None
    show = not (as_json or quiet)
    if lab_file is None and trial is not None and trial.is_dir() and coordinates is None:
        from ..lab.markerless import find_session  # noqa: PLC0415

        session = find_session(trial, trial_name)  # an OpenCap or Pose2Sim output folder
        if session is not None:
            lab_file, model, note = session.lab_inputs(model, height_m, mass_kg)
            trial_name = None
            if show:
                typer.echo(f"runmuscles: notice: {note}", err=True)
    if lab_file is not None:
        if coordinates is not None or trial_name is not None:
            fail(f"{lab_file}: --trial and --coordinates go with a trial folder, not with a trial file")
    else:
        flags = {
            "static": "--static",
            "stance_only": "--stance-only",
            "mass_kg": "--mass",
            "marker_map": "--markers",
            "ik": "--ik",
            "accept_ik_error": "--accept-ik-error",
        }
        given = lab_only_options_given(
            static=static,
            mass_kg=mass_kg,
            marker_map=marker_map,
            ik=ik,
            stance_only=stance_only,
            accept_ik_error=accept_ik_error,
        )
        if given:
            fail(f"{flags[given[0]]} goes with a C3D, TRC or joint-angle file, not with a trial folder")
    progress, _ = progress_factory(show and sys.stderr.isatty())
    named = lab_file if lab_file is not None else (coordinates or trial)
    label = trial_name or (Path(named).name if named is not None else "trial")

    def run(say):
        return analyze_one(
            out,
            lab_file=lab_file,
            folder=trial,
            trial=trial_name,
            model=model,
            coordinates=coordinates,
            forces=forces,
            static=static,
            mass_kg=mass_kg,
            height_m=height_m,
            marker_map=marker_map,
            start_s=start,
            end_s=end,
            stance_only=stance_only,
            accept_ik_error=accept_ik_error,
            ik=ik,
            lowpass_hz=lowpass,
            activation_exponent=exponent,
            strength=strength,
            cycle=cycle,
            speed_m_s=speed,
            emg=emg_options,
            residual_reduction=residual_reduction,
            muscles=muscles,
            progress=say,
            notify=lambda n: typer.echo(f"runmuscles: notice: {n}", err=True),
        )

    if progress is None:
        analysis, paths, _notices = run(None)
    else:
        with progress:
            task = progress.add_task("analysing", total=None)
            analysis, paths, _notices = run(
                lambda stage: progress.update(task, description=f"{label}: {stage}")
            )
    if as_json:
        typer.echo(paths["summary"].read_text())
    elif not quiet:
        from ..reports.terminal import print_analysis  # noqa: PLC0415

        print_analysis(analysis, out)
    if not no_report:
        report_after_run(out, announce=show)
