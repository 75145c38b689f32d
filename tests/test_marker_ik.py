"""Marker inverse kinematics on the own multibody model (runmuscles.kinematics.marker_ik).

Exactness on the model itself (Jacobian against finite differences, a known pose recovered
from its own markers), and agreement with OpenSim's InverseKinematicsTool on the same scaled
models and markers: a Fukuchi 2017 C3D trial through the lab path and a Hamner 2013 TRC
(within 0.5 deg RMS per rotational coordinate and 2 mm per translation, the IK quality gate
giving the same verdict), with the scaled model of the first run taken from the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from runmuscles.kinematics import marker_ik as mi
from runmuscles.model.multibody import coordinates_from_table, fill_dependent_coordinates, load_osim
from runmuscles.readers.opensim_files import MarkerTable, read_storage, read_trc, write_trc

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FUKUCHI = DATA / "fukuchi2017"
HAMNER01 = DATA / "hamner2013" / "subject01"
MAX_RMS_DEG = 0.5
MAX_RMS_M = 0.002


def _need(p: Path) -> Path:
    if not p.exists():
        pytest.skip(f"{p} is not present")
    return p


def _hamner_model():
    osim = _need(HAMNER01 / "model" / "subject01_adjusted_scaled.osim")
    mb = load_osim(osim)
    return osim, mb, mi.read_model_markers(osim, mb)


def _leg_markers(mb, mk) -> list[str]:
    legs = ("pelvis", "femur", "tibia", "calcn", "toes", "talus")
    return [m for m, b in zip(mk.names, mk.bodies, strict=True) if b.rsplit("_", 1)[0] in legs]


def test_jacobian_equals_finite_differences() -> None:
    _, mb, mk = _hamner_model()
    names = _leg_markers(mb, mk)
    idx = [mk.names.index(m) for m in names]
    bodies = [mk.bodies[i] for i in idx]
    free = mi._free_coordinates(mb, set(bodies))
    rng = np.random.default_rng(3)
    q = np.tile(mb.default_values, (5, 1))
    q[:, free] += rng.uniform(-0.4, 0.4, (5, free.size)) * np.where(
        np.array([mb.motion_types[c] == "rotational" for c in free]), 1.0, 0.1
    )
    q = fill_dependent_coordinates(mb, q)[0]
    n, m = q.shape[0], len(idx)
    body_idx = np.array([mb.body_index(b) for b in bodies])
    prob = mi._Problem(
        mb,
        body_idx,
        mk.location_m[idx],
        np.zeros((n, m, 3)),
        np.ones((n, m)),
        free,
        np.zeros(0, int),
        np.zeros(0),
        np.zeros(0),
    )
    rows = np.arange(n)
    J, _ = prob.jacobian(q, rows)
    h = 1e-6
    for a, c in enumerate(free):
        qp, qm = q.copy(), q.copy()
        qp[:, c] += h
        qm[:, c] -= h
        fd = (
            prob.residual(fill_dependent_coordinates(mb, qp)[0], rows)
            - prob.residual(fill_dependent_coordinates(mb, qm)[0], rows)
        ) / (2 * h)
        assert np.max(np.abs(J[a] - fd)) < 1e-7, mb.coordinate_names[c]


def test_a_pose_is_recovered_from_its_own_markers() -> None:
    """Markers placed by the model in known poses (hip, knee and ankle of a running stride,
    the pelvis turned and moved) give those poses back, to a thousandth of a degree."""
    _, mb, mk = _hamner_model()
    names = _leg_markers(mb, mk)
    idx = [mk.names.index(m) for m in names]
    bodies = [mk.bodies[i] for i in idx]
    free = mi._free_coordinates(mb, set(bodies))
    n = 40
    phase = np.linspace(0, 2 * np.pi, n, endpoint=False)
    q = np.tile(mb.default_values, (n, 1))
    deg = np.pi / 180
    set_ = {
        "pelvis_tilt": -10 * deg + 3 * deg * np.sin(2 * phase),
        "pelvis_rotation": 5 * deg * np.sin(phase),
        "pelvis_tx": 0.3 + 0.02 * np.sin(phase),
        "pelvis_ty": 0.95 + 0.04 * np.cos(2 * phase),
        "hip_flexion_r": 20 * deg + 30 * deg * np.sin(phase),
        "hip_flexion_l": 20 * deg - 30 * deg * np.sin(phase),
        "knee_angle_r": -(60 * deg + 50 * deg * np.cos(phase)),
        "knee_angle_l": -(60 * deg - 50 * deg * np.cos(phase)),
        "ankle_angle_r": 15 * deg * np.sin(phase),
        "hip_adduction_l": 5 * deg * np.cos(phase),
    }
    for c, v in set_.items():
        q[:, mb.coordinate_index(c)] = v
    q = fill_dependent_coordinates(mb, q)[0]
    model_markers = mi.ModelMarkers(names, bodies, mk.location_m[idx])
    x = mi.marker_positions(mb, model_markers, q)
    x[7, 0] = np.nan  # a marker missing in one frame drops out of that frame only
    trial = MarkerTable(np.arange(n) / 100.0, x, names, 100.0, "m")
    res = mi.solve_marker_ik(mb, mk, trial, dict.fromkeys(names, 1.0))
    err = np.abs(res.q[:, free] - q[:, free])
    assert np.degrees(err.max()) < 1e-3, dict(zip(res.free, np.degrees(err.max(axis=0)), strict=True))
    assert res.rms_m.max() < 1e-6


def _compare(own_mot: Path, ref_mot: Path, osim: Path, skip: tuple[str, ...] = ()) -> dict[str, float]:
    """RMS difference per coordinate (degrees or metres) between two IK results."""
    mb = load_osim(osim)
    a, b = read_storage(own_mot), read_storage(ref_mot)
    assert np.allclose(a.time_s, b.time_s, atol=1e-6)
    qa, qb = coordinates_from_table(mb, a), coordinates_from_table(mb, b)
    out = {}
    for i, c in enumerate(mb.coordinate_names):
        if c in skip or mb.locked[i]:
            continue
        d = qa[:, i] - qb[:, i]
        out[c] = float(np.sqrt(np.mean(d**2)) * (180 / np.pi if mb.motion_types[i] == "rotational" else 1.0))
    return out


def _check(diff: dict[str, float], mb) -> None:
    for c, v in diff.items():
        limit = MAX_RMS_M if mb.motion_types[mb.coordinate_index(c)] == "translational" else MAX_RMS_DEG
        assert v < limit, (c, v, diff)


@pytest.mark.slow
@pytest.mark.opensim
def test_agrees_with_opensim_on_a_fukuchi_c3d_trial(tmp_path: Path, monkeypatch) -> None:
    """The lab path with ``ik="opensim"`` then ``ik="own"`` on the same C3D window: the same
    scaled model (the second from the cache), coordinates within 0.5 deg RMS, the same IK
    quality verdict and marker errors within a millimetre."""
    from runmuscles.lab import prepare_lab_trial

    folder = _need(FUKUCHI / "RBDS001")
    monkeypatch.setenv("RUNMUSCLES_CACHE_DIR", str(tmp_path / "cache"))
    kw = dict(static=folder / "RBDS001static.c3d", mass_kg=62.0, height_m=1.81, start_s=6.0, end_s=6.5)
    trial = folder / "RBDS001runT35.c3d"
    ref = prepare_lab_trial(trial, tmp_path / "opensim", ik="opensim", **kw)
    own = prepare_lab_trial(trial, tmp_path / "own", ik="own", **kw)
    assert any("reused from the cache" in n for n in own.notes)
    assert Path(own.spec.model).read_bytes() == Path(ref.spec.model).read_bytes()
    assert own.quality["scaling"] == ref.quality["scaling"]
    iq_ref, iq_own = ref.quality["inverse_kinematics"], own.quality["inverse_kinematics"]
    assert iq_own["solver"] == "own" and iq_ref["solver"] == "opensim"
    assert iq_own["frames"] == iq_ref["frames"] > 100
    assert abs(iq_own["marker_rms_m_mean"] - iq_ref["marker_rms_m_mean"]) < 0.001
    assert iq_own["marker_rms_m_mean"] <= iq_ref["marker_rms_m_mean"] + 1e-5  # the same minimum or lower
    assert iq_own.get("cause_code") == iq_ref.get("cause_code")
    for k in ("frames_rms_above_2cm", "frames_max_above_4cm"):  # the per-frame verdicts
        assert abs(iq_own[k] - iq_ref[k]) <= 0.02, k
    lumbar = ("lumbar_extension", "lumbar_bending", "lumbar_rotation")  # set from the pelvis afterwards
    mb = load_osim(own.spec.model)
    diff = _compare(own.spec.coordinates, ref.spec.coordinates, Path(own.spec.model), skip=lumbar)
    _check(diff, mb)
    assert {"hip_flexion_r", "knee_angle_l", "ankle_angle_r", "pelvis_tx"} <= set(diff)
    assert [w.code for w in own.warnings] == [w.code for w in ref.warnings]  # the IK gate's among them


@pytest.mark.slow
@pytest.mark.opensim
def test_agrees_with_opensim_on_a_hamner_trc(tmp_path: Path) -> None:
    """Hamner 2013 subject01 at 4 m/s, half a second, every leg and pelvis marker weighted 1:
    the own solver's coordinates within 0.5 deg RMS of OpenSim's InverseKinematicsTool."""
    from runmuscles.opensim_adapter.tools import run_inverse_kinematics

    osim, mb, mk = _hamner_model()
    full = read_trc(_need(HAMNER01 / "Run_4.trc"))
    keep = (full.time_s >= full.time_s[0] + 1.0) & (full.time_s < full.time_s[0] + 1.5)
    trial = MarkerTable(
        full.time_s[keep], full.positions_m[keep], full.names, full.rate_hz, full.source_units
    )
    trc = write_trc(tmp_path / "run4.trc", trial)
    weights = dict.fromkeys([m for m in _leg_markers(mb, mk) if m in trial.names], 1.0)
    assert len(weights) >= 20
    ref = run_inverse_kinematics(osim, trc, tmp_path / "opensim" / "ik.mot", marker_weights=weights)
    own = mi.run_marker_ik(osim, read_trc(trc), tmp_path / "own" / "ik.mot", marker_weights=weights)
    free = set(own.result.free)
    diff = _compare(own.coordinates_path, ref.coordinates_path, osim)
    _check({c: v for c, v in diff.items() if c in free}, mb)
    assert np.mean(own.rms_m) <= np.mean(ref.rms_m) + 1e-5
    assert abs(np.mean(own.rms_m) - np.mean(ref.rms_m)) < 0.001


def test_ik_choice_is_declared_and_refused_by_name(tmp_path: Path) -> None:
    from runmuscles.validation import CHOICES

    assert set(CHOICES["ik"]) == {"own", "opensim"}
    proc = run_cli("analyze", str(tmp_path / "x.c3d"), "--ik", "simbody", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--ik" in proc.stderr


def test_ik_files_read_back_as_opensim_writes_them(tmp_path: Path) -> None:
    """Coordinates in degrees with OpenSim's names, and the two error files the quality
    checks read (``marker_error_RMS``/``_max``, ``<marker>_tx``... locations)."""
    _, mb, mk = _hamner_model()
    names = _leg_markers(mb, mk)[:12]
    idx = [mk.names.index(m) for m in names]
    q = np.tile(mb.default_values, (3, 1))
    q[:, mb.coordinate_index("knee_angle_r")] = -0.5
    q = fill_dependent_coordinates(mb, q)[0]
    x = mi.marker_positions(mb, mi.ModelMarkers(names, [mk.bodies[i] for i in idx], mk.location_m[idx]), q)
    x[:, 0, 0] += 0.01
    trial = MarkerTable(np.array([0.0, 0.01, 0.02]), x, names, 100.0, "m")
    run = mi.run_marker_ik(
        HAMNER01 / "model" / "subject01_adjusted_scaled.osim",
        trial,
        tmp_path / "ik.mot",
        marker_weights=dict.fromkeys(names, 1.0),
    )
    back = read_storage(run.coordinates_path)
    assert back.in_degrees is not False
    assert back.column("knee_angle_r") == pytest.approx(np.degrees([-0.5] * 3), abs=0.5)
    err = read_storage(run.marker_errors_path)
    assert err.column("marker_error_RMS") == pytest.approx(run.rms_m)
    assert np.all(err.column("marker_error_max") >= err.column("marker_error_RMS"))
    loc = read_storage(run.marker_locations_path)
    assert f"{names[0]}_tx" in loc.labels and loc.data.shape == (3, 3 * len(names))
    assert set(json.loads(json.dumps(run.marker_mean_error_m))) == set(names)


def test_markers_without_data_do_not_count_as_tracked() -> None:
    """Named markers that are blank in every frame leave too few to fit: refused by name."""
    _, mb, mk = _hamner_model()
    names = _leg_markers(mb, mk)
    idx = [mk.names.index(m) for m in names]
    x = mi.marker_positions(
        mb,
        mi.ModelMarkers(names, [mk.bodies[i] for i in idx], mk.location_m[idx]),
        np.tile(mb.default_values, (5, 1)),
    )
    x[:, 2:, :] = np.nan  # two markers with data, the rest named but empty
    trial = MarkerTable(np.arange(5) / 100.0, x, names, 100.0, "m")
    from runmuscles.errors import InputError  # noqa: PLC0415

    with pytest.raises(InputError, match="only 2 tracked markers with data"):
        mi.solve_marker_ik(mb, mk, trial, dict.fromkeys(names, 1.0))
