"""One trial's inputs and settings, the same for ``runmuscles analyze`` and ``runmuscles batch``.

:func:`analyze_one` is the one library path from a trial's files to its written results:
``runmuscles analyze``, the app's lab analyses (:func:`analyze_lab_files`) and each trial of
``runmuscles batch`` call it, so a batch's trial gives the files ``analyze`` gives on the same
inputs. Its steps:

* :func:`folder_trial_inputs`: a trial folder in the hamner2013 layout (with
  ``forces="estimate"``: the forces from the motion alone, written into ``out``);
* lab files go through :func:`runmuscles.lab.prepare_lab_trial`, whose
  :meth:`~runmuscles.lab.LabTrial.analysis_inputs` gives the same keywords;
* :func:`analysis_options`: the settings, with ``analyze``'s defaults for those not given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import AnalysisOptions, TrialAnalysis
    from .trials import TrialSpec

__all__ = ["analysis_options", "analyze_lab_files", "analyze_one", "folder_trial_inputs", "trial_inputs"]


def folder_trial_inputs(
    folder: str | Path | None,
    trial: str | None,
    out: str | Path,
    *,
    model: str | Path | None = None,
    coordinates: str | Path | None = None,
    forces: str | Path | None = None,
) -> tuple[TrialSpec, dict]:
    """A trial folder's files, and the :class:`AnalysisOptions` keywords saying where the
    forces came from.

    ``forces="estimate"`` estimates the ground reaction forces from the motion alone
    (:func:`runmuscles.trials.with_estimated_forces`, written into ``out``).
    """
    from .trials import resolve_trial, with_estimated_forces  # noqa: PLC0415

    estimate = forces is not None and str(forces) == "estimate"
    spec = resolve_trial(
        Path(folder) if folder is not None else None,
        trial,
        model=Path(model) if model else None,
        coordinates=Path(coordinates) if coordinates else None,
        forces=None if estimate or not forces else Path(forces),
    )
    if estimate:
        spec = with_estimated_forces(spec, out)
    return spec, {"forces_source": "estimated from motion alone" if estimate else "measured"}


def analysis_options(
    spec: TrialSpec,
    inputs: dict,
    *,
    lowpass_hz: float | None = None,
    activation_exponent: float | None = None,
    strength: str | None = None,
    height_m: float | None = None,
    cycle: int | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    speed_m_s: float | None = None,
    emg=None,
    cache_dir: str | Path | None = None,
    residual_reduction: bool | None = None,
    muscles: str | None = None,
) -> AnalysisOptions:
    """The analysis settings of one trial.

    ``None`` takes :class:`~runmuscles.pipeline.AnalysisOptions`' default (the command's);
    ``lowpass_hz=0`` means no filter. A ``speed_m_s`` given is recorded as given, else the
    trial's own (e.g. from its name in the hamner2013 layout) with its source. A window in
    ``inputs`` (the lab path's, when force plates impose one) takes the place of
    ``start_s``/``end_s``: the lab path already made it from them.
    """
    from .pipeline import AnalysisOptions  # noqa: PLC0415

    inputs = dict(inputs)
    if "start_s" in inputs or "end_s" in inputs:
        start_s, end_s = inputs.pop("start_s", start_s), inputs.pop("end_s", end_s)
    defaults = AnalysisOptions()
    lowpass = defaults.lowpass_hz if lowpass_hz is None else lowpass_hz
    exponent = defaults.activation_exponent if activation_exponent is None else activation_exponent
    return AnalysisOptions(
        lowpass_hz=lowpass if lowpass and lowpass > 0 else None,
        activation_exponent=exponent,
        strength=strength or defaults.strength,
        height_m=height_m,
        cycle=cycle,
        start_s=start_s,
        end_s=end_s,
        speed_m_s=speed_m_s if speed_m_s is not None else spec.speed_m_s,
        speed_source="given" if speed_m_s is not None else spec.speed_source,
        emg=emg,
        cache_dir=Path(cache_dir) if cache_dir else None,
        residual_reduction=defaults.residual_reduction if residual_reduction is None else residual_reduction,
        muscles=muscles or defaults.muscles,
        **inputs,
    )


def lab_only_options_given(
    *,
    static: str | Path | None = None,
    mass_kg: float | None = None,
    marker_map: str | Path | None = None,
    ik: str | None = None,
    stance_only: bool = False,
    accept_ik_error: bool = False,
) -> list[str]:
    """The options given that only a lab file (C3D, TRC or joint angles) can use, in this
    order: ``static``, ``stance_only``, ``mass_kg``, ``marker_map``, ``ik``,
    ``accept_ik_error`` (a trial folder has its own model, mass and angles)."""
    values = {
        "static": static,
        "stance_only": stance_only or None,
        "mass_kg": mass_kg,
        "marker_map": marker_map,
        "ik": ik,
        "accept_ik_error": accept_ik_error or None,
    }
    return [k for k, v in values.items() if v is not None]


def trial_inputs(
    out: str | Path,
    *,
    lab_file: str | Path | None = None,
    folder: str | Path | None = None,
    trial: str | None = None,
    model: str | Path | None = None,
    coordinates: str | Path | None = None,
    forces: str | Path | None = None,
    static: str | Path | None = None,
    mass_kg: float | None = None,
    height_m: float | None = None,
    marker_map: str | Path | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    stance_only: bool = False,
    accept_ik_error: bool = False,
    ik: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TrialSpec, dict, list[str]]:
    """One trial's files made ready for the analysis: ``(spec, inputs, notices)``.

    ``lab_file`` (C3D, TRC or joint angles) goes through :func:`runmuscles.lab.prepare_lab_trial`
    (model scaling, inverse kinematics, forces; ``ik`` ``None``: the project's own); otherwise
    ``folder`` + ``trial`` (or ``coordinates``) through :func:`folder_trial_inputs`. ``inputs``
    are the :class:`AnalysisOptions` keywords the preparation decided (forces' source, a window
    imposed by the plates, warnings); ``notices`` what the lab path assumed.
    """
    if lab_file is None:
        given = lab_only_options_given(
            static=static,
            mass_kg=mass_kg,
            marker_map=marker_map,
            ik=ik,
            stance_only=stance_only,
            accept_ik_error=accept_ik_error,
        )
        if given:
            where = folder if folder is not None else coordinates
            raise InputError(
                str(where),
                f"{', '.join(given)}: only with a C3D, TRC or joint-angle file, not a trial folder",
            )
        spec, inputs = folder_trial_inputs(
            folder, trial, out, model=model, coordinates=coordinates, forces=forces
        )
        return spec, inputs, []
    from .lab import prepare_lab_trial  # noqa: PLC0415

    lab = prepare_lab_trial(
        lab_file,
        out,
        static=static,
        model=model,
        forces=forces,
        mass_kg=mass_kg,
        height_m=height_m,
        marker_map=marker_map,
        start_s=start_s,
        end_s=end_s,
        stance_only=stance_only,
        progress=progress,
        accept_ik_error=accept_ik_error,
        ik=ik or "own",
    )
    return lab.spec, lab.analysis_inputs(), list(lab.notices)


def analyze_one(
    out: str | Path,
    *,
    lab_file: str | Path | None = None,
    folder: str | Path | None = None,
    trial: str | None = None,
    model: str | Path | None = None,
    coordinates: str | Path | None = None,
    forces: str | Path | None = None,
    static: str | Path | None = None,
    mass_kg: float | None = None,
    height_m: float | None = None,
    marker_map: str | Path | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    stance_only: bool = False,
    accept_ik_error: bool = False,
    ik: str | None = None,
    lowpass_hz: float | None = None,
    activation_exponent: float | None = None,
    strength: str | None = None,
    cycle: int | None = None,
    speed_m_s: float | None = None,
    emg=None,
    cache_dir: str | Path | None = None,
    residual_reduction: bool | None = None,
    muscles: str | None = None,
    progress: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> tuple[TrialAnalysis, dict[str, Path], list[str]]:
    """One trial analysed and written into ``out``: the one library path of ``runmuscles
    analyze``, the app's lab analyses and each ``runmuscles batch`` trial.

    :func:`trial_inputs` (the files made ready), :func:`analysis_options` (settings left
    ``None`` take the command's defaults), :func:`runmuscles.pipeline.analyze_trial` and
    :func:`runmuscles.results.write_results`. ``progress`` is called with the name of each
    stage as it starts (preparation's and the analysis'); ``notify`` with each of the lab
    path's notices as soon as the preparation is done (before the long stages); ``emg``: the
    :class:`~runmuscles.analyses.emg.EmgOptions` of ``--emg``.

    Returns
    -------
    (analysis, paths, notices)
        The :class:`~runmuscles.pipeline.TrialAnalysis`, the written files by kind, and the lab
        path's notices (what it assumed).
    """
    from .pipeline import analyze_trial  # noqa: PLC0415
    from .results import write_results  # noqa: PLC0415

    spec, inputs, notices = trial_inputs(
        out,
        lab_file=lab_file,
        folder=folder,
        trial=trial,
        model=model,
        coordinates=coordinates,
        forces=forces,
        static=static,
        mass_kg=mass_kg,
        height_m=height_m,
        marker_map=marker_map,
        start_s=start_s,
        end_s=end_s,
        stance_only=stance_only,
        accept_ik_error=accept_ik_error,
        ik=ik,
        progress=progress,
    )
    if notify is not None:
        for n in notices:
            notify(n)
    opts = analysis_options(
        spec,
        inputs,
        lowpass_hz=lowpass_hz,
        activation_exponent=activation_exponent,
        strength=strength,
        height_m=height_m,
        cycle=cycle,
        start_s=start_s,
        end_s=end_s,
        speed_m_s=speed_m_s,
        emg=emg,
        cache_dir=cache_dir,
        residual_reduction=residual_reduction,
        muscles=muscles,
    )
    analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts, progress=progress)
    return analysis, write_results(analysis, out), notices


def analyze_lab_files(
    trial: str | Path,
    out: str | Path,
    *,
    static: str | Path | None = None,
    model: str | Path | None = None,
    forces: str | Path | None = None,
    mass_kg: float | None = None,
    height_m: float | None = None,
    speed_m_s: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    emg=None,
    progress=None,
):
    """A lab trial's files analysed as ``runmuscles analyze TRIAL --out OUT`` analyses them:
    :func:`analyze_one` with ``lab_file=trial`` (kept for the app's callers).

    Returns
    -------
    (analysis, paths, notices)
    """
    return analyze_one(
        out,
        lab_file=trial,
        static=static,
        model=model,
        forces=forces,
        mass_kg=mass_kg,
        height_m=height_m,
        speed_m_s=speed_m_s,
        start_s=start_s,
        end_s=end_s,
        emg=emg,
        progress=progress,
    )
