"""The pieces that set the dynamic muscle solution up as MocoInverse's problem (issue 15):
:mod:`runmuscles.muscles.moco_reference`, the Moco preset's terms, Hermite-Simpson collocation.

Fast checks without CasADi in this process (one solve runs in the solver's child process).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from runmuscles.dynamics.inverse import BodyLoad
from runmuscles.model.muscle_curves import degroote_active_force_length, degroote_force_velocity
from runmuscles.muscles.dynamic import _quadrature_weights
from runmuscles.muscles.dynamic_model import DynamicSettings, degroote_rigid_tendon_force
from runmuscles.muscles.moco_reference import (
    MuscleAgreement,
    compare_activations,
    moco_grid,
    moco_settings,
    read_moco_activations,
    resample_body_loads,
    spline_kinematics,
)

DATA = Path(__file__).parent / "data" / "moco_inverse"
RECORD = DATA / "compliant_triceps_continued.json"


def test_moco_grid_is_the_references_time_column():
    record = json.loads(RECORD.read_text())
    grid = moco_grid(
        record["stride"]["t0_s"], record["stride"]["t1_s"], record["settings"]["mesh_interval_s"]
    )
    t, _ = read_moco_activations(DATA / "compliant_triceps_continued.sto")
    assert grid.size == 69  # ceil(0.67 / 0.02) = 34 intervals, each with its midpoint
    assert np.abs(grid - t).max() < 1e-8


def test_moco_settings_are_the_recorded_muscles():
    record = json.loads(RECORD.read_text())
    st = moco_settings(record)
    assert (st.activation_time_constant_s, st.deactivation_time_constant_s) == (0.01, 0.04)
    assert st.activation_smoothing == 0.1  # DeGrooteFregly2016Muscle's default, as recorded
    assert st.transcription == "hermite_simpson" and st.mesh_interval_s is None
    assert st.initial_activation_equals_excitation
    assert st.norm_tendon_force_bounds == (0.0, 5.0) and st.max_tendon_force_rate_per_s == 1000.0
    assert st.compliant == "triceps_surae" and st.rigid_curves == "degroote2016"
    assert st.active_force_width_scale == 1.5 and st.fibre_damping == 0.01
    changed = json.loads(RECORD.read_text())
    next(iter(changed["model"]["muscles"].values()))["activation_dynamics_smoothing"] = 10.0
    with pytest.raises(ValueError, match="activation_dynamics_smoothing"):
        moco_settings(changed)


def test_default_settings_keep_the_projects_choices():
    d, m = DynamicSettings.default(), DynamicSettings.moco()
    assert d.activation_smoothing == 10.0 and m.activation_smoothing == 0.1
    assert not d.initial_activation_equals_excitation and m.initial_activation_equals_excitation
    assert d.transcription == m.transcription == "trapezoidal"
    with pytest.raises(ValueError, match="transcription"):
        d.with_(transcription="euler")


def test_natural_quintic_spline_derivatives():
    t = np.linspace(0.0, 1.0, 41)
    # a quadratic has zero third and fourth derivatives: the natural spline is exact
    q = np.stack([3 * t**2 - t, 0.5 - 2 * t**2], axis=1)
    v, d1, d2 = spline_kinematics(t, q)
    assert np.allclose(v, q) and np.allclose(d1[:, 0], 6 * t - 1) and np.allclose(d2[:, 1], -4.0)
    # a smooth curve: accurate inside, the natural end conditions show at the ends
    s = np.sin(2 * np.pi * t)[:, None]
    _, _, acc = spline_kinematics(t, s)
    exact = -((2 * np.pi) ** 2) * s[:, 0]
    assert np.abs(acc[10:-10, 0] - exact[10:-10]).max() < 0.01 * np.abs(exact).max()
    assert np.abs(acc[0, 0] - exact[0]) > 0.05 * np.abs(exact).max() or abs(exact[0]) < 1e-9
    # between samples
    mid = t[:-1] + 0.0125
    v_mid, _, _ = spline_kinematics(t, q, mid)
    assert np.allclose(v_mid[:, 0], 3 * mid**2 - mid)


def test_loads_resampled_as_opensim_reads_them():
    t = np.linspace(0.0, 0.5, 11)
    force = np.stack([100 * t, 800 - 50 * t, np.zeros_like(t)], axis=1)  # linear: cubic spline exact
    point = np.stack([np.sin(4 * t), np.zeros_like(t), np.ones_like(t)], axis=1)
    load = BodyLoad("calcn_r", force, point, None, False, "grf_r")
    new_t = np.linspace(0.0, 0.5, 23)
    (out,) = resample_body_loads([load], t, new_t)
    assert out.body == "calcn_r" and out.torque_nm is None and out.force_n.shape == (23, 3)
    assert np.allclose(out.force_n[:, 0], 100 * new_t) and np.allclose(out.point_m[:, 2], 1.0)
    assert np.abs(out.point_m[:, 0] - np.sin(4 * new_t)).max() < 5e-3  # natural ends
    (same,) = resample_body_loads([load], t, t)
    assert np.allclose(same.point_m, point)


def test_rigid_degroote_tendon_force_is_opensims():
    params = {
        "max_isometric_force_n": np.array([1000.0, 2000.0]),
        "optimal_fiber_length_m": np.array([0.1, 0.05]),
        "tendon_slack_length_m": np.array([0.2, 0.3]),
        "pennation_at_optimal_rad": np.array([0.0, 0.4]),
        "max_contraction_velocity_lopt_s": np.array([10.0, 10.0]),
    }
    st = DynamicSettings.moco()
    h = 0.05 * np.sin(0.4)
    along = np.array([0.1, 0.06])  # the first at its optimal length
    length = np.array([[0.3, 0.3 + along[1]]])
    speed = np.array([[0.0, -0.2]])
    active, passive = degroote_rigid_tendon_force(length, speed, params, st)
    assert active[0, 0] == pytest.approx(1000.0)  # fl(1) = fv(0) = 1, no pennation
    assert passive[0, 0] == pytest.approx(0.0)
    lm = np.hypot(along[1], h)
    cos_a = along[1] / lm
    vn = -0.2 * cos_a / 0.5
    fl = degroote_active_force_length(lm / 0.05, 1.5)
    assert active[0, 1] == pytest.approx(2000.0 * fl * degroote_force_velocity(vn) * cos_a)
    assert passive[0, 1] == pytest.approx(2000.0 * 0.01 * vn * cos_a)
    # the project's default keeps static optimization's strength and no passive part
    from runmuscles.muscles.dynamic_model import rigid_passive_force_n  # noqa: PLC0415

    assert not np.any(rigid_passive_force_n(length, speed, params, DynamicSettings.default()))


def test_simpson_quadrature_weights():
    t = np.linspace(1.0, 2.0, 9)
    w = _quadrature_weights(t, "hermite_simpson")
    assert w @ t**3 == pytest.approx((2.0**4 - 1.0) / 4.0)  # exact for cubics (time mean)
    assert w @ np.ones_like(t) == pytest.approx(1.0)
    trap = _quadrature_weights(t, "trapezoidal")
    assert trap @ t**3 != pytest.approx((2.0**4 - 1.0) / 4.0, rel=1e-6)


def test_compare_activations():
    t = np.linspace(0.0, 1.0, 21)
    ref = {"a": 0.5 + 0.4 * np.sin(2 * np.pi * t), "b": np.full(t.size, 0.3)}
    ours = np.stack([ref["a"], 0.3 + 0.1 * np.cos(2 * np.pi * t), np.ones(t.size)], axis=1)
    rows = compare_activations(t, ours, ["a", "b", "c"], t, ref)
    assert [r.muscle for r in rows] == ["a", "b"]  # only muscles in both
    assert rows[0].rms == pytest.approx(0.0, abs=1e-12) and rows[0].r == pytest.approx(1.0)
    assert rows[1].rms == pytest.approx(0.1 / np.sqrt(2), rel=0.05) and np.isnan(rows[1].r)
    assert (
        MuscleAgreement("x", 0.2, 0.2, 0.05, 0.9).agrees()
        and not MuscleAgreement("x", 0.2, 0.2, 0.051, 1).agrees()
    )


@pytest.mark.skipif(importlib.util.find_spec("casadi") is None, reason="casadi is not installed")
def test_hermite_simpson_solution_meets_the_moco_dynamics():
    """The trunk block (6 rigid muscles) on 21 frames with the Moco preset in Hermite-Simpson:
    the activations meet De Groote et al.'s dynamics (b = 0.1) in the Hermite-Simpson defects,
    and start at their excitations."""
    from test_dynamic_muscles import _window  # noqa: PLC0415

    from runmuscles.model import RunnerModel  # noqa: PLC0415
    from runmuscles.muscles.dynamic import muscle_blocks, solve_dynamic  # noqa: PLC0415
    from runmuscles.muscles.dynamic_pipeline import dynamic_inputs  # noqa: PLC0415
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    a = analyze_trial(
        spec.model,
        spec.coordinates,
        spec.forces,
        AnalysisOptions(speed_m_s=4.0, strength="volume", cycle=1, residual_reduction=False),
    )
    model = RunnerModel.load(a.model_path)
    geo = model.muscle_geometry(a.coordinates.q, a.coordinates.qdot, strength="volume")
    st = DynamicSettings.moco().with_(
        transcription="hermite_simpson",
        mesh_interval_s=None,
        activation_time_constant_s=0.01,
        deactivation_time_constant_s=0.04,
        tolerance=1e-8,
        constraint_tolerance=1e-8,
    )
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
    blocks, _ = muscle_blocks(inp.moment_arm, inp.reserve_gain)
    trunk = next(b for b in blocks if b.muscles.size == 6)
    sub = _window(inp, slice(20, 41), trunk.muscles, trunk.rows, trunk.reserves)
    sub = dataclasses.replace(sub, rigid_passive_force_n=inp.rigid_passive()[20:41][:, trunk.muscles])
    sol = solve_dynamic(sub, st)
    assert sol.converged, sol.block_status
    act, exc, t = sol.activation, sol.excitation, sub.time_s
    assert np.allclose(act[0], exc[0], atol=1e-6)
    z = 0.5 + 1.5 * act
    f = 0.5 * np.tanh(0.1 * (exc - act))
    rate = ((f + 0.5) / (0.01 * z) + (0.5 - f) * z / 0.04) * (exc - act)
    i = np.arange(0, t.size - 2, 2)
    h = (t[i + 2] - t[i])[:, None]
    hermite = act[i + 1] - 0.5 * (act[i] + act[i + 2]) - h / 8 * (rate[i] - rate[i + 2])
    simpson = act[i + 2] - act[i] - h / 6 * (rate[i] + 4 * rate[i + 1] + rate[i + 2])
    assert np.abs(hermite).max() < 1e-6 and np.abs(simpson).max() < 1e-6
    # the trapezoidal rule would not hold on this solution
    trap = act[1:] - act[:-1] - 0.5 * np.diff(t)[:, None] * (rate[1:] + rate[:-1])
    assert np.abs(trap).max() > 1e-4
    # moments met with the rigid muscles' damping force included
    force = sol.tendon_force_n
    assert np.allclose(force, act * sub.rigid_strength_n + sub.rigid_passive(), atol=1e-6)
    scale = 1.0 + np.abs(sub.target).max()
    assert np.abs(sol.muscle_moment + sol.reserve_moment - sub.target).max() < 1e-5 * scale
