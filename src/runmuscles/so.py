"""Drop-in for OpenSim's Static Optimization: an AnalyzeTool setup file in, OpenSim's files out.

``runmuscles so SETUP.xml`` reads the setup (model, coordinates, external loads, force-set
files with reserves, time range, coordinate low-pass cutoff, activation exponent,
``use_muscle_physiology``) and writes, like OpenSim,
``<results_directory>/<name>_StaticOptimization_activation.sto`` and ``..._force.sto``:
time, then one column per actuator in OpenSim's order (the model's muscles and its own
coordinate actuators, then the force-set files' actuators; with ``replace_force_set`` only
the files' actuators besides the muscles), at the coordinate file's frames inside the window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError
from .muscles.recruitment import Reserves
from .pipeline import AnalysisOptions, TrialAnalysis, analyze_trial
from .readers.opensim_files import write_storage
from .tables import TimeTable

__all__ = ["run_so_setup", "reserves_for_setup"]


def _concat(parts: list[Reserves]) -> Reserves:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Reserves([], [], np.zeros(0), np.zeros(0), np.zeros(0))
    return Reserves(
        [n for p in parts for n in p.names],
        [c for p in parts for c in p.coordinates],
        np.concatenate([p.optimal_force for p in parts]),
        np.concatenate([p.min_control for p in parts]),
        np.concatenate([p.max_control for p in parts]),
    )


def reserves_for_setup(setup) -> Reserves:
    """The coordinate actuators OpenSim's StaticOptimization would use for ``setup``."""
    from .model import RunnerModel  # noqa: PLC0415
    from .model.actuators import read_coordinate_actuators  # noqa: PLC0415

    parts = []
    if not setup.replace_force_set:
        parts.append(RunnerModel.load(setup.model_file).coordinate_actuators)
    for f in setup.force_set_files:
        parts.append(read_coordinate_actuators(f))
    return _concat(parts)


def run_so_setup(setup_path: str | Path, *, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Run the Static Optimization an AnalyzeTool setup describes; write OpenSim's two files.

    Parameters
    ----------
    setup_path
        AnalyzeTool setup ``.xml`` with a ``StaticOptimization`` analysis.
    out_dir
        Write here instead of the setup's ``<results_directory>``.

    Returns
    -------
    dict
        ``{"activation": path, "force": path}``.
    """
    from .readers.setup_files import read_analyze_setup  # noqa: PLC0415

    setup = read_analyze_setup(setup_path)
    so = setup.static_optimization
    src = setup.path
    if so is None:
        raise InputError(src, "has no StaticOptimization analysis in its <AnalysisSet>")
    if not so.on:
        raise InputError(src, "its StaticOptimization analysis is switched off (<on>false</on>)")
    if setup.coordinates_file is None:
        raise InputError(src, "uses a <states_file>; runmuscles so needs a <coordinates_file>")
    if not so.use_model_force_set:
        raise InputError(src, "use_model_force_set=false (SO without the model's muscles) is not supported")
    start = max(setup.initial_time, so.start_time)
    end = min(setup.final_time, so.end_time)
    cutoff = setup.lowpass_cutoff_frequency_for_coordinates
    opts = AnalysisOptions(
        lowpass_hz=cutoff if cutoff > 0 else None,
        activation_exponent=so.activation_exponent,
        strength="model" if so.use_muscle_physiology else "max_isometric",
        start_s=start,
        end_s=end,
        reserves=reserves_for_setup(setup),
        require_gait_events=False,
        start_at_frame_before=True,
        residual_reduction=False,  # OpenSim's static optimization has none: the exact drop-in
    )
    analysis = analyze_trial(setup.model_file, setup.coordinates_file, setup.external_loads_file, opts)
    results = Path(out_dir) if out_dir is not None else setup.results_directory
    return write_opensim_so_files(analysis, results, setup.name, so.name, step_interval=so.step_interval)


def _external_force_columns(analysis: TrialAnalysis) -> tuple[list[str], np.ndarray]:
    """The external loads as OpenSim's force reporter records them: force and torque in
    ground, point of application in the body the force is applied to."""
    loads = analysis.external_loads
    t = analysis.time_s
    if loads is None:
        return [], np.zeros((t.size, 0))
    from .model import RunnerModel  # noqa: PLC0415

    model = RunnerModel.load(analysis.model_path, cache_dir=analysis.options.cache_dir)
    R, origin = model.body_poses(analysis.coordinates.q)
    d = loads.data

    def at_frames(cols: list[str]) -> np.ndarray:
        return np.column_stack([np.interp(t, d.time_s, d.column(c)) for c in cols])

    labels: list[str] = []
    blocks: list[np.ndarray] = []
    for spec in loads.forces:
        prefix = f"{spec.applied_to_body}_{spec.name}"
        labels += [f"{prefix}_F{a}" for a in "xyz"]
        blocks.append(at_frames(spec.force_columns))
        if spec.point_columns:
            pt = at_frames(spec.point_columns)
            if spec.point_expressed_in_body in ("ground", model.ground_name):
                b = model.body_names.index(spec.applied_to_body)
                pt = np.einsum("fji,fj->fi", R[:, b], pt - origin[:, b])
            labels += [f"{prefix}_p{a}" for a in "xyz"]
            blocks.append(pt)
        if spec.torque_columns:
            labels += [f"{prefix}_T{a}" for a in "xyz"]
            blocks.append(at_frames(spec.torque_columns))
    return labels, np.hstack(blocks) if blocks else np.zeros((t.size, 0))


def write_opensim_so_files(
    analysis: TrialAnalysis,
    results_dir: Path,
    name: str,
    analysis_name: str = "StaticOptimization",
    *,
    step_interval: int = 1,
) -> dict[str, Path]:
    """Write ``<name>_<analysis_name>_activation.sto`` and ``_force.sto`` as OpenSim does."""
    rec = analysis.recruitment
    sel = slice(None, None, max(1, int(step_interval)))
    t = analysis.time_s[sel]
    labels = rec.muscle_names + rec.reserve_names
    act = TimeTable(t, np.hstack([rec.activation, rec.reserve_control])[sel], labels)
    ext_labels, ext_values = _external_force_columns(analysis)
    frc = TimeTable(
        t,
        np.hstack([rec.muscle_force_n, rec.reserve_force, ext_values])[sel],
        labels + ext_labels,
    )
    results_dir.mkdir(parents=True, exist_ok=True)
    header = {"generator": "runmuscles so"}
    return {
        "activation": write_storage(
            results_dir / f"{name}_{analysis_name}_activation.sto",
            act,
            name="Static Optimization Activations",
            extra_header=header,
        ),
        "force": write_storage(
            results_dir / f"{name}_{analysis_name}_force.sto",
            frc,
            name="Static Optimization Forces",
            extra_header=header,
        ),
    }
