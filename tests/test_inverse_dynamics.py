"""Inverse dynamics against OpenSim 4.6's InverseDynamicsSolver on the same inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from multibody_cases import FEET, MODELS, data_path, model_of, random_state, reference_of

from runmuscles.dynamics.inverse import BodyLoad, body_loads_from_external_loads, inverse_dynamics
from runmuscles.errors import InputError
from runmuscles.model.multibody import coordinates_from_table
from runmuscles.readers import read_external_loads, read_storage

pytestmark = pytest.mark.opensim


def _max_rel_error(tau: np.ndarray, tau_ref: np.ndarray) -> float:
    return float((np.abs(tau - tau_ref) / np.maximum(1.0, np.abs(tau_ref))).max())


def _as_reference_loads(loads: list[BodyLoad]):
    return [(ld.body, ld.force_n, ld.point_m, ld.torque_nm, ld.point_in_body) for ld in loads]


def _random_foot_loads(model, q_frames: int, feet: tuple[str, str], seed: int) -> list[BodyLoad]:
    rng = np.random.default_rng(seed)
    n = q_frames
    right, left = feet
    force = rng.normal([0, 1500, 0], [300, 500, 100], (n, 3))
    return [
        # point in ground (as force plates give it), with a free torque
        BodyLoad(right, force, rng.normal([1.0, 0.0, 0.1], 0.3, (n, 3)), rng.normal(0, 10, (n, 3))),
        # point in the foot's own frame, no torque
        BodyLoad(
            left, 0.7 * force[::-1], rng.normal([0.1, -0.02, 0.0], 0.05, (n, 3)), None, point_in_body=True
        ),
        # no point: at the body origin
        BodyLoad("pelvis", rng.normal(0, 50, (n, 3)), None, rng.normal(0, 5, (n, 3))),
    ]


@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.parametrize("with_loads", [False, True])
def test_random_states_match_opensim(key, with_loads):
    model, ref = model_of(key), reference_of(key)
    q, qd, qdd = random_state(model, 20, seed=10 + with_loads)
    loads = _random_foot_loads(model, 20, FEET[key], seed=3) if with_loads else []
    tau = inverse_dynamics(model, q, qd, qdd, loads)
    tau_ref = ref.inverse_dynamics(q, qd, qdd, _as_reference_loads(loads))
    assert np.abs(tau_ref).max() > 100  # not a trivial comparison
    assert _max_rel_error(tau, tau_ref) < 1e-9


@pytest.fixture(scope="module")
def run4():
    """hamner2013 subject01 Run_4, first gait cycle: q (rad, m), qdot, qddot, loads."""
    model = model_of("hamner")
    ik = read_storage(data_path("hamner2013/subject01/ik/Run_4.mot"))
    assert ik.in_degrees is None  # SIMM header: the angles are degrees
    cycle = json.loads(data_path("hamner2013/subject01/gaitTimes.json").read_text())["cycles"]["run4"][
        "cycle1"
    ]
    ik = ik.window(cycle["initialTime"], cycle["finalTime"])
    q = coordinates_from_table(model, ik)
    i_knee = model.coordinate_index("knee_angle_r")
    np.testing.assert_allclose(q[:, i_knee], np.deg2rad(ik.column("knee_angle_r")))
    np.testing.assert_allclose(q[:, model.coordinate_index("pelvis_ty")], ik.column("pelvis_ty"))
    t = ik.time_s
    qd = np.gradient(q, t, axis=0)
    qdd = np.gradient(qd, t, axis=0)
    ext = read_external_loads(data_path("hamner2013/subject01/Run_4_grf.xml"))
    loads = body_loads_from_external_loads(model, ext, t)
    return model, t, q, qd, qdd, loads, ext


def test_real_running_stride_matches_opensim(run4):
    model, t, q, qd, qdd, loads, _ = run4
    assert 60 <= len(t) <= 100
    tau = inverse_dynamics(model, q, qd, qdd, loads)
    tau_ref = reference_of("hamner").inverse_dynamics(q, qd, qdd, _as_reference_loads(loads))
    assert _max_rel_error(tau, tau_ref) < 1e-9
    # physiological sizes: peak knee and ankle moments in running are 100-300 N m
    i_knee, i_ankle = model.coordinate_index("knee_angle_r"), model.coordinate_index("ankle_angle_r")
    assert 80 < np.abs(tau[:, i_knee]).max() < 400
    assert 80 < np.abs(tau[:, i_ankle]).max() < 400


def test_vertical_residual_balances_weight_and_ground_force(run4):
    """Over a stride, the pelvis_ty force without ground forces averages about body weight;
    with them it drops by exactly the measured vertical ground force."""
    model, t, q, qd, qdd, loads, _ = run4
    i_ty = model.coordinate_index("pelvis_ty")
    free = inverse_dynamics(model, q, qd, qdd)[:, i_ty]
    loaded = inverse_dynamics(model, q, qd, qdd, loads)[:, i_ty]
    grf_y = sum(ld.force_n[:, 1] for ld in loads)
    np.testing.assert_allclose(free - loaded, grf_y, rtol=1e-12, atol=1e-9)
    weight = model.total_mass_kg * -model.gravity_m_s2[1]
    assert np.mean(free) == pytest.approx(weight, rel=0.05)
    assert abs(np.mean(loaded)) < 0.1 * weight


def test_external_loads_are_interpolated_to_frame_times(run4):
    model, t, _, _, _, loads, ext = run4
    right = next(ld for ld in loads if ld.body == "calcn_r")
    spec = next(s for s in ext.forces if s.applied_to_body == "calcn_r")
    # at a time that is a force sample, the value is the sample itself
    k = int(np.argmin(np.abs(ext.data.time_s - t[5])))
    at = body_loads_from_external_loads(model, ext, ext.data.time_s[k : k + 1])
    r = next(ld for ld in at if ld.body == "calcn_r")
    np.testing.assert_allclose(r.force_n[0], ext.data.columns(spec.force_columns)[k])
    assert right.point_m is not None and right.torque_nm is not None and not right.point_in_body
    with pytest.raises(InputError, match="forces cover"):
        body_loads_from_external_loads(model, ext, np.array([t[0], ext.data.time_s[-1] + 1.0]))


def test_shape_errors_name_the_problem():
    model = model_of("gait10dof")
    q, qd, qdd = random_state(model, 3)
    with pytest.raises(InputError, match="force has shape"):
        inverse_dynamics(model, q, qd, qdd, [BodyLoad("calcn_r", np.zeros((2, 3)))])
    with pytest.raises(InputError, match="no body 'foot'"):
        inverse_dynamics(model, q, qd, qdd, [BodyLoad("foot", np.zeros((3, 3)))])


def test_long_series_processed_in_blocks_matches_opensim():
    """More frames than one internal block: frames at both ends still equal OpenSim's."""
    model, ref = model_of("rajagopal"), reference_of("rajagopal")
    n = 450
    q, qd, qdd = random_state(model, n, seed=21)
    loads = _random_foot_loads(model, n, FEET["rajagopal"], seed=22)
    tau = inverse_dynamics(model, q, qd, qdd, loads)
    for sl in (slice(0, 4), slice(190, 196), slice(n - 4, n)):
        sub = [
            BodyLoad(ld.body, ld.force_n[sl], None if ld.point_m is None else ld.point_m[sl],
                     None if ld.torque_nm is None else ld.torque_nm[sl], ld.point_in_body)
            for ld in loads
        ]  # fmt: skip
        tau_ref = ref.inverse_dynamics(q[sl], qd[sl], qdd[sl], _as_reference_loads(sub))
        assert _max_rel_error(tau[sl], tau_ref) < 1e-9


def test_ground_forces_equal_opensim_external_force_components():
    """OpenSim applying Run_4_grf.xml itself (ExternalForce components, its own reading of
    the force file) gives the same generalized forces, at force-sample times."""
    from runmuscles.opensim_adapter.reference import OpenSimReference

    xml = data_path("hamner2013/subject01/Run_4_grf.xml")
    ref = OpenSimReference(data_path(MODELS["hamner"]), external_loads=xml)
    model = model_of("hamner")
    ext = read_external_loads(xml)
    times = ext.data.time_s[[1200, 1500, 1800, 2400]]
    q, qd, qdd = random_state(model, times.size, seed=8)
    tau = inverse_dynamics(model, q, qd, qdd, body_loads_from_external_loads(model, ext, times))
    tau_ref = ref.inverse_dynamics_model_forces(times, q, qd, qdd)
    assert _max_rel_error(tau, tau_ref) < 1e-9
    assert np.abs(tau - inverse_dynamics(model, q, qd, qdd)).max() > 100  # the loads matter
