"""One trial's inputs and settings, the same for ``runmuscles analyze`` and ``runmuscles batch``.

Both commands turn what they were given into a :class:`~runmuscles.trials.TrialSpec` and
:class:`~runmuscles.pipeline.AnalysisOptions` here, then call
:func:`runmuscles.pipeline.analyze_trial` and :func:`runmuscles.results.write_results`; a
batch's trial therefore gives the files ``analyze`` gives on the same inputs.

* :func:`folder_trial_inputs`: a trial folder in the hamner2013 layout (with
  ``forces="estimate"``: the forces from the motion alone, written into ``out``);
* lab files go through :func:`runmuscles.lab.prepare_lab_trial`, whose
  :meth:`~runmuscles.lab.LabTrial.analysis_inputs` gives the same keywords;
* :func:`analysis_options`: the settings, with ``analyze``'s defaults for those not given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import AnalysisOptions
    from .trials import TrialSpec

__all__ = ["analysis_options", "analyze_lab_files", "folder_trial_inputs"]


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
    """A lab trial's files analysed as ``runmuscles analyze TRIAL --out OUT`` analyses them.

    :func:`runmuscles.lab.prepare_lab_trial` (model scaling, inverse kinematics, forces), then
    :func:`runmuscles.pipeline.analyze_trial` with :func:`analysis_options`' defaults (the
    command's) and :func:`runmuscles.results.write_results` into ``out``. ``progress`` is
    called with the name of each stage as it starts (both steps name theirs); ``emg``: the
    :class:`~runmuscles.analyses.emg.EmgOptions` of ``--emg``.

    Returns
    -------
    (analysis, paths, notices)
        The :class:`~runmuscles.pipeline.TrialAnalysis`, the written files by kind, and the lab
        path's notices (what it assumed).
    """
    from .lab import prepare_lab_trial  # noqa: PLC0415
    from .pipeline import analyze_trial  # noqa: PLC0415
    from .results import write_results  # noqa: PLC0415

    lab = prepare_lab_trial(
        trial,
        out,
        static=static,
        model=model,
        forces=forces,
        mass_kg=mass_kg,
        height_m=height_m,
        start_s=start_s,
        end_s=end_s,
        progress=progress,
    )
    spec = lab.spec
    opts = analysis_options(
        spec,
        lab.analysis_inputs(),
        height_m=height_m,
        speed_m_s=speed_m_s,
        start_s=start_s,
        end_s=end_s,
        emg=emg,
    )
    analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts, progress=progress)
    return analysis, write_results(analysis, out), list(lab.notices)
