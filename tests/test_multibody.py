"""The NumPy multibody model against OpenSim 4.6 on the same models (no mocks)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from multibody_cases import MODELS, data_path, model_of, random_state, reference_of, synthetic_osim

from runmuscles.errors import InputError
from runmuscles.model.functions import SimmSpline
from runmuscles.model.multibody import (
    Multibody,
    coupler_slopes,
    fill_dependent_coordinates,
    forward_kinematics,
    load_osim,
    mass_center,
    project_to_independent,
)

pytestmark = pytest.mark.opensim


@pytest.mark.parametrize("key", list(MODELS))
def test_coordinates_bodies_and_mass_match_opensim(key):
    model, ref = model_of(key), reference_of(key)
    assert model.coordinate_names == ref.coordinate_names
    # Simbody's mobility (u) order, as found by setting one speed at a time in OpenSim
    np.testing.assert_array_equal(ref.u_index[model.mobility_order], np.arange(model.n_coordinates))
    assert set(model.body_names[1:]) == set(ref.bodies)
    assert model.total_mass_kg == pytest.approx(ref.model.getTotalMass(ref.state), rel=1e-12)
    g = ref.gravity
    np.testing.assert_array_equal(model.gravity_m_s2, g)
    assert list(model.locked) == ref.locked
    for i, c in enumerate(ref.coordinates):
        motion = {1: "rotational", 2: "translational", 3: "coupled"}[int(c.getMotionType())]
        assert model.motion_types[i] == motion, c.getName()


def test_locked_and_coupled_coordinates_reported():
    ham = model_of("hamner")
    assert "subtalar_angle_r" in ham.locked_coordinates and "mtp_angle_l" in ham.locked_coordinates
    raj = model_of("rajagopal")
    assert raj.dependent_coordinates == ["knee_angle_r_beta", "knee_angle_l_beta"]
    assert "knee_angle_r_beta" not in raj.independent_coordinates
    assert "knee_angle_r" in raj.independent_coordinates


@pytest.mark.parametrize("key", list(MODELS))
def test_mass_center_and_body_poses_match_opensim(key):
    model, ref = model_of(key), reference_of(key)
    q, _, _ = random_state(model, 8, seed=1)
    com, _, _ = mass_center(model, q)
    np.testing.assert_allclose(com, ref.mass_center(q), atol=1e-12)
    kin = forward_kinematics(model, q)
    for body in ("calcn_r", "torso" if "torso" in model.body_names else "pelvis"):
        R_ref, p_ref = ref.body_poses(q, body)
        b = model.body_index(body)
        np.testing.assert_allclose(kin.R[:, b], R_ref, atol=1e-12)
        np.testing.assert_allclose(kin.p_m[:, b], p_ref, atol=1e-12)


@pytest.mark.parametrize("key", list(MODELS))
def test_branch_gives_the_same_poses_as_the_whole_tree_against_opensim(key):
    """A branch (the feet and their ancestors) moves its bodies exactly as the whole model
    does, and OpenSim agrees; bodies off the branch are gone, coordinates all kept."""
    model, ref = model_of(key), reference_of(key)
    feet = [b for b in model.body_names if b.startswith(("calcn", "toes"))]
    branch = model.branch(feet)
    assert branch.coordinate_names == model.coordinate_names
    assert "torso" not in branch.body_names and "pelvis" in branch.body_names
    assert len(branch.body_names) < len(model.body_names)
    q, _, _ = random_state(model, 8, seed=3)
    kin, kb = forward_kinematics(model, q), forward_kinematics(branch, q)
    for body in branch.body_names[1:]:
        b, bb = model.body_index(body), branch.body_index(body)
        np.testing.assert_array_equal(kb.p_m[:, bb], kin.p_m[:, b])
        np.testing.assert_array_equal(kb.R[:, bb], kin.R[:, b])
    R_ref, p_ref = ref.body_poses(q, "calcn_r")
    np.testing.assert_allclose(kb.R[:, branch.body_index("calcn_r")], R_ref, atol=1e-12)
    np.testing.assert_allclose(kb.p_m[:, branch.body_index("calcn_r")], p_ref, atol=1e-12)
    with pytest.raises(InputError, match="no body"):
        model.branch(["no_such_body"])


def test_mass_center_velocity_and_acceleration_are_derivatives_of_position():
    """COM velocity/acceleration equal central differences of the position along a smooth path."""
    model = model_of("rajagopal")
    t = np.linspace(0.0, 0.5, 2001)
    h = t[1] - t[0]
    rng = np.random.default_rng(3)
    a, w, ph = (
        rng.uniform(0.1, 0.5, model.n_coordinates),
        rng.uniform(2, 8, model.n_coordinates),
        rng.uniform(0, 6, model.n_coordinates),
    )
    q = a * np.sin(w * t[:, None] + ph)
    qd = a * w * np.cos(w * t[:, None] + ph)
    qdd = -a * w**2 * np.sin(w * t[:, None] + ph)
    q, qd, qdd = fill_dependent_coordinates(model, q, qd, qdd)
    exact = forward_kinematics(model, q, qd, qdd, simbody_compatible=False)
    pos, vel, acc = mass_center(model, q, kinematics=exact)
    np.testing.assert_allclose(vel[1:-1], (pos[2:] - pos[:-2]) / (2 * h), atol=2e-5)
    fd = (vel[2:] - vel[:-2]) / (2 * h)
    err = np.abs(acc[1:-1] - fd)
    # (a few frames straddle spline knots/ends, where the second derivative jumps)
    assert np.median(err) < 1e-5 and np.percentile(err, 99.9) < 5e-4
    # Simbody's velocity-product term for the knee's coupled rotations (what OpenSim
    # computes) is not the exact derivative: a visibly larger error.
    err_simbody = np.abs(mass_center(model, q, qd, qdd)[2][1:-1] - fd)
    assert np.median(err_simbody) > 10 * np.median(err)
    # and the dependent coordinates' speeds are derivatives of their values
    dep = model.couplers[0].dependent
    np.testing.assert_allclose(qd[1:-1, dep], (q[2:, dep] - q[:-2, dep]) / (2 * h), atol=1e-5)
    np.testing.assert_allclose(qdd[1:-1, dep], (qd[2:, dep] - qd[:-2, dep]) / (2 * h), atol=1e-3)


def test_coupler_projection_is_virtual_work():
    """tau_indep . dq_indep equals tau . dq for a motion that respects the couplers."""
    model = model_of("lai")
    q, _, _ = random_state(model, 5, seed=4)
    q, _, _ = fill_dependent_coordinates(model, q)
    tau = np.random.default_rng(5).normal(0, 50, q.shape)
    dq = np.random.default_rng(6).normal(0, 1, q.shape)
    slopes = coupler_slopes(model, q)
    for k, c in enumerate(model.couplers):
        dq[:, c.dependent] = slopes[:, k] * dq[:, c.independent]
    proj = project_to_independent(model, tau, q)
    np.testing.assert_allclose((proj * dq).sum(1), (tau * dq).sum(1), rtol=1e-12)
    assert np.all(proj[:, [c.dependent for c in model.couplers]] == 0)


def test_simm_spline_equals_opensim_including_extrapolation():
    from runmuscles.opensim_adapter import opensim

    osim = opensim()
    x = np.array([-2.0944, -1.74533, -1.39626, -1.0472, -0.698132, -0.349066, -0.174533, 0.197344, 0.337395])
    y = np.array([-0.0032, 0.00179, 0.00411, 0.0041, 0.00212, -0.001, -0.0031, -0.005227, -0.005435])
    for n in (2, 3, 4, 9):
        ours = SimmSpline(x[:n], y[:n])
        theirs = osim.SimmSpline()
        for xv, yv in zip(x[:n], y[:n], strict=True):
            theirs.addPoint(float(xv), float(yv))
        xs = np.linspace(x[0] - 0.5, x[n - 1] + 0.5, 57)
        f, d1, d2 = ours.evaluate(xs)
        for k, xv in enumerate(xs):
            v = osim.Vector(1, float(xv))
            assert f[k] == pytest.approx(theirs.calcValue(v), abs=1e-14)
            assert d1[k] == pytest.approx(theirs.calcDerivative([0], v), abs=1e-12)
            assert d2[k] == pytest.approx(theirs.calcDerivative([0, 0], v), abs=1e-10)


def test_every_joint_type_matches_opensim(tmp_path):
    from runmuscles.dynamics.inverse import inverse_dynamics
    from runmuscles.opensim_adapter.reference import OpenSimReference

    path = synthetic_osim(tmp_path / "synthetic.osim")
    model, ref = load_osim(path), OpenSimReference(path)
    assert model.coordinate_names == ref.coordinate_names
    np.testing.assert_array_equal(ref.u_index[model.mobility_order], np.arange(model.n_coordinates))
    assert sorted(set(model.joint_types)) == sorted(
        ["FreeJoint", "BallJoint", "GimbalJoint", "UniversalJoint", "SliderJoint", "PlanarJoint", "PinJoint"]
        + ["WeldJoint", "CustomJoint"]
    )
    q, qd, qdd = random_state(model, 10, seed=2)
    np.testing.assert_allclose(mass_center(model, q)[0], ref.mass_center(q), atol=1e-12)
    tau = inverse_dynamics(model, q, qd, qdd)
    tau_ref = ref.inverse_dynamics(q, qd, qdd)
    assert np.abs(tau - tau_ref).max() < 1e-9 * max(1.0, np.abs(tau_ref).max())
    # OpenSim's partial velocities for j_custom2 ignore its constant first rotation and its
    # accelerations for j_custom follow Simbody's approximate velocity-product term: the
    # exact dynamics differ from OpenSim's there.
    exact = inverse_dynamics(model, q, qd, qdd, simbody_compatible=False)
    assert np.abs(exact - tau_ref).max() > 1.0


def test_cache_round_trip_is_identical(tmp_path):
    """(Its speed is measured by ``benchmarks/bench_parts.py``.)"""
    model = model_of("hamner")
    path = model.save(tmp_path / "hamner.pkl")
    again = Multibody.load(path)
    q, qd, qdd = random_state(model, 4)
    from runmuscles.dynamics.inverse import inverse_dynamics

    np.testing.assert_array_equal(inverse_dynamics(again, q, qd, qdd), inverse_dynamics(model, q, qd, qdd))
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="junk.pkl"):
        Multibody.load(tmp_path / "junk.pkl")


def test_cached_loader_reuses_and_invalidates(tmp_path):
    from runmuscles.model.multibody import load_osim_cached

    src = tmp_path / "m.osim"
    src.write_text(data_path(MODELS["gait10dof"]).read_text())
    first = load_osim_cached(src, tmp_path / "cache")
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1
    again = load_osim_cached(src, tmp_path / "cache")
    assert again.coordinate_names == first.coordinate_names and again is not first
    # an edited model is parsed again (different mass), not served from the old cache
    src.write_text(src.read_text().replace("<mass>11.776999999999999</mass>", "<mass>12.5</mass>", 1))
    os.utime(src, ns=(files[0].stat().st_mtime_ns + 10**9,) * 2)
    edited = load_osim_cached(src, tmp_path / "cache")
    assert edited.total_mass_kg == pytest.approx(first.total_mass_kg + 12.5 - 11.777)


def test_parsing_twice_gives_the_same_model():
    """(Parsing speed is measured by ``benchmarks/bench_parts.py``.)"""
    path = data_path(MODELS["rajagopal"])
    a, b = load_osim(path), load_osim(path)
    assert a.coordinate_names == b.coordinate_names
    np.testing.assert_array_equal(a.mass_kg, b.mass_kg)


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = data_path(MODELS["gait10dof"]).read_text()
    assert old in text
    out = tmp_path / "edited.osim"
    out.write_text(text.replace(old, new, 1))
    return out


def test_unsupported_joint_is_a_clear_error(tmp_path):
    text = data_path(MODELS["gait10dof"]).read_text()
    i = text.index("<PinJoint name=")
    name = text[i:].split('"')[1]
    j = text.index("</PinJoint>", i)
    edited = text[:i] + "<EllipsoidJoint" + text[i + len("<PinJoint") : j] + "</EllipsoidJoint>"
    edited += text[j + len("</PinJoint>") :]
    p = tmp_path / "ellipsoid.osim"
    p.write_text(edited)
    with pytest.raises(InputError, match=f"joint '{name}' has type EllipsoidJoint"):
        load_osim(p)


def test_unsupported_function_is_a_clear_error(tmp_path):
    p = _edited(tmp_path, "<SimmSpline", "<GCVSpline")
    text = p.read_text()
    k = text.index("<GCVSpline")
    text = text[:k] + text[k:].replace("</SimmSpline>", "</GCVSpline>", 1)
    p.write_text(text)
    with pytest.raises(InputError, match="GCVSpline"):
        load_osim(p)


def test_bad_inputs_are_clear_errors(tmp_path):
    model = model_of("gait10dof")
    with pytest.raises(InputError, match="expected"):
        mass_center(model, np.zeros((3, model.n_coordinates + 1)))
    with pytest.raises(InputError, match="NaN"):
        mass_center(model, np.full((3, model.n_coordinates), np.nan))
    with pytest.raises(InputError, match="not found"):
        load_osim(tmp_path / "missing.osim")
    (tmp_path / "old.osim").write_text('<OpenSimDocument Version="30000"><Model name="m"/></OpenSimDocument>')
    with pytest.raises(InputError, match="OpenSim 4"):
        load_osim(tmp_path / "old.osim")


def test_coordinates_from_table_converts_degrees_and_fills_couplers():
    from runmuscles.model.multibody import coordinates_from_table
    from runmuscles.tables import TimeTable

    model = model_of("rajagopal")
    knee_deg = np.array([-10.0, -45.0, -90.0])
    table = TimeTable(
        [0.0, 0.01, 0.02], np.column_stack([knee_deg, [0.9, 0.95, 1.0]]), ["knee_angle_r", "pelvis_ty"]
    )
    q = coordinates_from_table(model, table)  # no inDegrees line: degrees, as OpenSim reads it
    np.testing.assert_allclose(q[:, model.coordinate_index("knee_angle_r")], np.deg2rad(knee_deg))
    np.testing.assert_allclose(q[:, model.coordinate_index("pelvis_ty")], [0.9, 0.95, 1.0])
    beta = model.couplers[0]
    expected = beta.scale * beta.function(np.deg2rad(knee_deg))
    np.testing.assert_allclose(q[:, beta.dependent], expected)
    hip = model.coordinate_index("hip_flexion_r")
    assert np.all(q[:, hip] == model.default_values[hip])
    table.in_degrees = False
    assert coordinates_from_table(model, table)[0, model.coordinate_index("knee_angle_r")] == -10.0
    with pytest.raises(InputError, match="none of the coordinates"):
        coordinates_from_table(model, TimeTable([0.0], [[1.0]], ["nothing"]))


@pytest.mark.parametrize("key", ["rajagopal", "hamner", "fukuchi"])
def test_shared_position_kinematics_give_the_same_motion(key):
    """forward_kinematics with positions from position_kinematics (also taken at repeated
    frames) equals the one-call result exactly, for other speeds and accelerations too."""
    from runmuscles.model.multibody import forward_kinematics, position_kinematics  # noqa: PLC0415

    mb = model_of(key)
    q, qd, qdd = random_state(mb, 7, seed=3)
    frames = np.array([2, 0, 0, 6, 5, 2])
    for simbody in (True, False):
        pos = position_kinematics(mb, q, simbody_compatible=simbody).take(frames)
        qd2, qdd2 = 2.0 * qd[frames] + 0.1, qdd[frames] - 0.3
        ref = forward_kinematics(mb, q[frames], qd2, qdd2, simbody_compatible=simbody)
        got = forward_kinematics(mb, q[frames], qd2, qdd2, simbody_compatible=simbody, positions=pos)
        for name in ("R_t", "p_t", "w_t", "v0_t", "alpha_t", "a0_t", "joint_E_t", "joint_p_PM_t", "joint_ds"):
            np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
    with pytest.raises(InputError, match="other frames"):
        forward_kinematics(mb, q[:3], qd[:3], qdd[:3], positions=position_kinematics(mb, q))
