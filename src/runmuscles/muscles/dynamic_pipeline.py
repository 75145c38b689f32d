"""The dynamic muscle solution inside an analysis: inputs from the static problem, results as a
:class:`~runmuscles.muscles.recruitment.RecruitmentResult`, failures as quality warnings.

:func:`dynamic_recruitment` takes what :func:`runmuscles.pipeline.analyze_motion` already has
(the model, its muscle geometry at the frames, the assembled static-optimization problem and
its solution, which seeds the collocation) and returns the dynamic solution in the same
tables, with tendon and fibre states added. When a block does not converge the static solution
stays the result and a ``dynamic_not_converged`` warning says so; it never raises for that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import RunmusclesError
from ..model.muscle_curves import CLASS_CODES
from ..quality import QualityWarning
from .dynamic import DynamicInputs, DynamicSolution, solve_dynamic
from .dynamic_model import (
    DynamicSettings,
    compliant_mask,
    muscle_curve_tables,
    muscle_parameter_overrides,
    rigid_passive_force_n,
    rigid_strength_n,
)
from .recruitment import RecruitmentProblem, RecruitmentResult

__all__ = ["dynamic_inputs", "dynamic_recruitment", "dynamic_result"]

#: An activation within this of its upper bound counts as saturated (the interior-point solver
#: stops just inside its bounds).
SATURATION_TOLERANCE = 1e-3


def dynamic_inputs(
    model,
    geo,
    problem: RecruitmentProblem,
    static: RecruitmentResult,
    time_s: np.ndarray,
    settings: DynamicSettings,
    *,
    model_path: str | Path | None = None,
) -> DynamicInputs:
    """Assemble :class:`~runmuscles.muscles.dynamic.DynamicInputs`.

    Parameters
    ----------
    model
        :class:`runmuscles.model.RunnerModel`.
    geo
        Its :meth:`~runmuscles.model.RunnerModel.muscle_geometry` at the frames (the strength
        model's maximum isometric forces are in ``geo.muscle_params``).
    problem, static
        The static-optimization problem and its solution (the seed).
    time_s
        Frame times.
    settings
        :class:`~runmuscles.muscles.dynamic_model.DynamicSettings`.
    model_path
        The ``.osim`` file (its tendon curves); default: the geometry's source.
    """
    from ..analyses.energetics import tendon_properties  # noqa: PLC0415

    gm = model.geometry
    params = dict(getattr(geo, "muscle_params", None) or gm.params)
    names = list(problem.muscle_names)
    classes = list(gm.muscle_class)
    code = np.array([CLASS_CODES[c] for c in classes])
    path = model_path if model_path is not None else gm.model_path
    tendon, vmax, changes = muscle_parameter_overrides(
        names, tendon_properties(path, names, classes), params["max_contraction_velocity_lopt_s"], settings
    )
    params["max_contraction_velocity_lopt_s"] = vmax
    curves = muscle_curve_tables(code, params, gm.curve_tables, tendon, settings)
    strength = rigid_strength_n(
        geo.length_m, geo.speed_m_s, code, params, gm.curve_tables, settings, geo.strength_n
    )
    keep = problem.keep_rows if problem.keep_rows is not None else list(range(problem.b.shape[1]))
    M = len(names)
    arm = problem.muscle_moment_arm[:, keep]
    gain = problem.A_res[:, keep][:, :, problem.free_res]
    seed_res = static.reserve_control[:, problem.free_res]
    return DynamicInputs(
        time_s=np.asarray(time_s, dtype=float),
        length_m=np.asarray(geo.length_m, dtype=float),
        speed_m_s=np.asarray(geo.speed_m_s, dtype=float),
        moment_arm=arm,
        rigid_strength_n=strength,
        reserve_gain=gain,
        target=problem.b,
        reserve_lower=np.asarray(problem.lower[M:], dtype=float),
        reserve_upper=np.asarray(problem.upper[M:], dtype=float),
        min_activation=np.asarray(problem.lower[:M], dtype=float),
        max_activation=np.asarray(problem.upper[:M], dtype=float),
        max_isometric_force_n=np.asarray(params["max_isometric_force_n"], dtype=float),
        optimal_fiber_length_m=np.asarray(params["optimal_fiber_length_m"], dtype=float),
        tendon_slack_length_m=np.asarray(params["tendon_slack_length_m"], dtype=float),
        pennation_at_optimal_rad=np.asarray(params["pennation_at_optimal_rad"], dtype=float),
        max_contraction_velocity_lopt_s=vmax,
        compliant=compliant_mask(names, settings.compliant),
        curves=curves,
        seed_activation=np.asarray(static.activation, dtype=float),
        seed_reserve=np.asarray(seed_res, dtype=float),
        rigid_passive_force_n=rigid_passive_force_n(geo.length_m, geo.speed_m_s, params, settings),
        parameter_changes=changes,
    )


def dynamic_result(
    problem: RecruitmentProblem,
    static: RecruitmentResult,
    sol: DynamicSolution,
    parameter_changes: dict | None = None,
) -> RecruitmentResult:
    """The dynamic solution in static optimization's tables (tendon and fibre states added)."""
    x_res = static.reserve_control.copy()
    x_res[:, problem.free_res] = sol.reserve_control
    force = sol.tendon_force_n
    muscle_moment = (problem.muscle_moment_arm @ force[..., None])[..., 0]
    reserve_moment = (problem.A_res @ x_res[..., None])[..., 0]
    M = force.shape[1]
    upper = np.asarray(problem.upper[:M], dtype=float)
    F = force.shape[0]
    notes = list(problem.notes)
    notes.append(
        "muscles: dynamic solution (compliant tendons and activation dynamics, direct collocation; "
        f"{len(sol.block_status)} blocks, {sol.wall_s:.1f} s)"
    )
    return RecruitmentResult(
        muscle_names=list(static.muscle_names),
        reserve_names=list(static.reserve_names),
        reserve_coordinates=list(static.reserve_coordinates),
        activation=sol.activation,
        muscle_force_n=force,
        reserve_control=x_res,
        reserve_force=x_res * problem.reserves.optimal_force,
        coordinate_names=list(static.coordinate_names),
        target_moment=problem.target,
        muscle_moment=muscle_moment,
        reserve_moment=reserve_moment,
        saturated=sol.activation >= upper - SATURATION_TOLERANCE,
        converged=np.full(F, sol.converged),
        iterations=np.full(F, max((s["iterations"] for s in sol.block_status), default=0)),
        notes=notes,
        solution="dynamic",
        excitation=sol.excitation,
        tendon_length_m=sol.tendon_length_m,
        fibre_length_m=sol.fibre_length_m,
        fibre_velocity_m_s=sol.fibre_velocity_m_s,
        parameter_changes=dict(parameter_changes or {}),
    )


def dynamic_recruitment(
    model,
    geo,
    problem: RecruitmentProblem,
    static: RecruitmentResult,
    time_s: np.ndarray,
    settings: DynamicSettings | None = None,
) -> tuple[RecruitmentResult, list[QualityWarning], DynamicSolution | None]:
    """Solve the dynamic problem; the static solution and a warning when it fails.

    Returns
    -------
    result, warnings, solution
        ``result`` is the dynamic :class:`RecruitmentResult` (or ``static`` on failure).
    """
    st = settings or DynamicSettings()
    try:
        inputs = dynamic_inputs(model, geo, problem, static, time_s, st)
        sol = solve_dynamic(inputs, st)
    except (
        RuntimeError,
        ValueError,
        KeyError,
        ImportError,
        OSError,
        np.linalg.LinAlgError,
        RunmusclesError,
    ) as exc:
        msg = (
            f"the dynamic muscle solution failed ({type(exc).__name__}: {str(exc)[:120]}); "
            "static optimization's is the result"
        )
        return static, [QualityWarning("dynamic_failed", msg, affects=("muscles",))], None
    if not sol.converged:
        bad = [s for s in sol.block_status if not s["converged"]]
        msg = (
            f"the dynamic muscle solution did not converge in {len(bad)} of {len(sol.block_status)} blocks "
            f"({', '.join(s['status'] for s in bad)}); static optimization's is the result"
        )
        return static, [QualityWarning("dynamic_not_converged", msg, affects=("muscles",))], sol
    return dynamic_result(problem, static, sol, inputs.parameter_changes), [], sol
