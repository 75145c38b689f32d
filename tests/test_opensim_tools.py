"""OpenSim's own tools run through runmuscles.opensim_adapter.tools, on real running data.

References used: OpenSim's own outputs on the same input (its inverse dynamics against the
residuals of its Static Optimization, its logged marker errors, its IK marker-error file),
the published Hamner et al. (2013) inverse kinematics (an IK optimum must fit the markers
at least as well), and the published gait-cycle times.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError, ModelError
from runmuscles.opensim_adapter.tools import (
    marker_errors_at,
    model_summary,
    run_inverse_dynamics_tool,
    run_inverse_kinematics,
    run_static_optimization,
    run_static_optimization_subprocess,
    scale_model,
)
from runmuscles.readers.opensim_files import read_storage, read_trc, write_storage
from runmuscles.readers.setup_files import write_adapted_setup

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
HAMNER = DATA / "hamner2013" / "subject01"
RAJ = DATA / "rajagopal2016-running"
G = 9.80665

pytestmark = [
    pytest.mark.opensim,
    pytest.mark.skipif(not DATA.exists(), reason="shared reference data not present"),
]


@pytest.fixture(scope="module")
def hamner_so(tmp_path_factory: pytest.TempPathFactory):
    """OpenSim's SO over the first 0.1 s of the Hamner subject01 Run_4 cycle (11 frames)."""
    from reference_cases import hamner_case  # noqa: PLC0415

    case = hamner_case(tmp_path_factory.mktemp("hamner"), max_duration_s=0.1)
    return case, run_static_optimization(case.so_setup)


@pytest.mark.slow
def test_so_writes_muscles_then_reserves_at_the_cycle_times(hamner_so) -> None:
    case, result = hamner_so
    act, frc = read_storage(result.activation_path), read_storage(result.force_path)
    expected = case.muscles + case.model_actuators + case.reserve_names
    assert len(case.muscles) == 92
    assert act.labels == expected
    # The force file also lists the applied ground reaction forces, after the actuators.
    assert frc.labels[: len(expected)] == expected
    assert {lab.split("_externalforce")[0] for lab in frc.labels[len(expected) :]} == {"calcn_l", "calcn_r"}
    # AnalyzeTool starts at the data frame at or before initial_time (0.862 -> 0.86).
    assert act.time_s[0] == pytest.approx(0.86) and act.time_s[-1] == pytest.approx(0.96)
    np.testing.assert_allclose(np.diff(act.time_s), 0.01, atol=1e-9)
    np.testing.assert_array_equal(act.time_s, frc.time_s)
    assert result.n_frames == act.n_frames == 11
    a = act.columns(case.muscles)
    assert a.min() >= 0.01 - 1e-6 and a.max() <= 1 + 1e-6  # the muscles' control bounds
    assert result.run_s > 0 and result.total_s >= result.run_s


@pytest.mark.slow
def test_so_residuals_equal_opensim_inverse_dynamics(hamner_so, tmp_path: Path) -> None:
    """Muscles cannot act on the pelvis's six DOF, so SO's residuals must be ID's pelvis forces.

    This also shows OpenSim read the IK file (SIMM header, no inDegrees line) as degrees:
    read as radians, the pelvis would spin and the residuals reach thousands of newtons.
    """
    case, result = hamner_so
    id_path = run_inverse_dynamics_tool(
        case.model, case.coordinates, case.external_loads, case.t0, case.t1, 12.0, tmp_path
    )
    gen = read_storage(id_path)
    frc = read_storage(result.force_path)
    common = np.intersect1d(np.round(gen.time_s, 6), np.round(frc.time_s, 6))
    assert common.size >= 9
    gi = np.searchsorted(np.round(gen.time_s, 6), common)
    fi = np.searchsorted(np.round(frc.time_s, 6), common)
    for dof, kind in [("tilt", "moment"), ("list", "moment"), ("rotation", "moment")] + [
        (ax, "force") for ax in ("tx", "ty", "tz")
    ]:
        idv = gen.column(f"pelvis_{dof}_{kind}")[gi]
        sov = frc.column(f"pelvis_{dof}_residual")[fi]
        np.testing.assert_allclose(sov, idv, atol=0.01 * np.abs(idv).max() + 0.5)
    mass = model_summary(case.model).mass_kg
    assert np.abs(frc.column("pelvis_ty_residual")).max() < mass * G


def test_opensim_reads_a_simm_header_without_indegrees_as_degrees(tmp_path: Path) -> None:
    """Hamner's IK files have no inDegrees line; OpenSim must treat them as degrees."""
    model = HAMNER / "model" / "subject01_adjusted_scaled.osim"
    loads = tmp_path / "grf.xml"
    write_adapted_setup(
        HAMNER / "Run_4_grf.xml", loads, "ExternalLoads", {"datafile": str(HAMNER / "Run_4_grf.mot")}
    )
    raw = HAMNER / "ik" / "Run_4.mot"
    table = read_storage(raw)
    assert table.in_degrees is None
    results = {}
    for label, path in (("raw", raw), ("deg", tmp_path / "deg.mot"), ("rad", tmp_path / "rad.mot")):
        if label != "raw":
            write_storage(path, table, in_degrees=label == "deg")
        gen = read_storage(run_inverse_dynamics_tool(model, path, loads, 0.86, 0.96, 12.0, tmp_path / label))
        results[label] = gen
    np.testing.assert_allclose(results["raw"].data, results["deg"].data, rtol=1e-6, atol=1e-6)
    weight_n = model_summary(model).mass_kg * G
    assert np.abs(results["deg"].column("pelvis_ty_force")).max() < weight_n
    assert np.abs(results["rad"].column("pelvis_ty_force")).max() > 10 * weight_n


@pytest.mark.slow
def test_so_in_a_subprocess_gives_the_same_result(hamner_so, tmp_path: Path) -> None:
    case, result = hamner_so
    setup = write_adapted_setup(
        case.so_setup, tmp_path / "sub_setup.xml", "AnalyzeTool", {"results_directory": str(tmp_path)}
    )
    sub = run_static_optimization_subprocess(setup)
    assert sub.activation_path.parent == tmp_path
    np.testing.assert_allclose(
        read_storage(sub.activation_path).data, read_storage(result.activation_path).data, atol=1e-6
    )
    assert sub.total_s > sub.run_s > 0 and sub.n_frames == 11


def test_so_setup_problems_are_one_line_errors(tmp_path: Path) -> None:
    from reference_cases import hamner_case  # noqa: PLC0415

    case = hamner_case(tmp_path, max_duration_s=0.02)
    missing = write_adapted_setup(
        case.so_setup, tmp_path / "m.xml", "AnalyzeTool", {"model_file": str(tmp_path / "gone.osim")}
    )
    with pytest.raises(InputError, match="model_file"):
        run_static_optimization(missing)
    not_a_model = tmp_path / "model.osim"
    not_a_model.write_text("<OpenSimDocument><Model><BodySet><objects><Body name='b'>")
    broken = write_adapted_setup(
        case.so_setup, tmp_path / "b.xml", "AnalyzeTool", {"model_file": str(not_a_model)}
    )
    with pytest.raises(ModelError) as err:
        run_static_optimization(broken)
    assert "\n" not in str(err.value) and "b.xml" in str(err.value)
    assert "model.osim" in str(err.value) and "Thrown at" not in str(err.value)


def test_scaling_matches_opensims_logged_marker_error(tmp_path: Path) -> None:
    r = scale_model(
        tmp_path / "scaled.osim",
        setup_xml=RAJ / "setup" / "scale_setup_run.xml",
        generic_model=DATA / "models" / "Rajagopal2016.osim",
        static_trc=RAJ / "static_run.trc",
    )
    assert r.logged_marker_error is not None
    rms, mx, worst = r.logged_marker_error
    assert r.marker_rms_m == pytest.approx(rms, abs=1e-6)
    assert r.marker_max_m == pytest.approx(mx, abs=1e-6) and r.worst_marker == worst
    assert 0.005 < r.marker_rms_m < 0.05
    # The generic model has two knee markers the static trial lacks.
    assert r.missing_markers == ["R_tibial_plateau", "L_tibial_plateau"]
    assert model_summary(r.model_path).mass_kg == pytest.approx(72.84, abs=1e-6)  # setup's <mass>


def test_scaling_reports_a_renamed_marker_by_name(tmp_path: Path) -> None:
    lines = (RAJ / "static_run.trc").read_text().split("\n")
    assert "\tRTH2\t" in lines[3]
    lines[3] = lines[3].replace("\tRTH2\t", "\tRTH2_moved\t")
    trc = tmp_path / "static_renamed.trc"
    trc.write_text("\n".join(lines))
    assert "RTH2_moved" in read_trc(trc).names
    r = scale_model(
        tmp_path / "scaled.osim",
        setup_xml=RAJ / "setup" / "scale_setup_run.xml",
        generic_model=DATA / "models" / "Rajagopal2016.osim",
        static_trc=trc,
    )
    assert "RTH2" in r.missing_markers and len(r.missing_markers) == 3
    assert r.unused_trial_markers == ["RTH2_moved"]
    assert "RTH2" not in r.marker_errors_m


def test_uniform_scaling_without_a_setup(tmp_path: Path) -> None:
    model = HAMNER / "model" / "genericModel.osim"
    r = scale_model(
        tmp_path / "s01.osim",
        generic_model=model,
        static_trc=HAMNER / "model" / "static.trc",
        mass_kg=70.0,
        height_m=1.75,
    )
    assert model_summary(r.model_path).mass_kg == pytest.approx(70.0, abs=1e-6)
    assert r.logged_marker_error is not None
    assert r.marker_rms_m == pytest.approx(r.logged_marker_error[0], abs=1e-6)
    assert r.marker_rms_m < 0.08 and r.missing_markers == []
    assert "<height>1750.0</height>" in r.setup_path.read_text()
    # One factor for every segment, and it maps the model onto a runner of about the trial's size.
    factors = {ln.strip() for ln in r.setup_path.read_text().splitlines() if "<scales>" in ln}
    assert len(factors) == 1
    f = float(factors.pop().split(">")[1].split()[0])
    assert 0.9 < f < 1.2


def test_ik_errors_agree_with_an_independent_computation_and_beat_the_published_ik(tmp_path: Path) -> None:
    model, trc = HAMNER / "model" / "subject01_adjusted_scaled.osim", HAMNER / "Run_4.trc"
    r = run_inverse_kinematics(model, trc, tmp_path / "run4.mot", t0=0.86, t1=0.96)
    assert r.time_s.size == 11 and r.missing_markers == []
    assert r.marker_errors_path.name == "run4_ik_marker_errors.sto"
    coords = read_storage(r.coordinates_path)
    assert coords.in_degrees is True and "knee_angle_r" in coords
    t, rms, mx = marker_errors_at(model, r.coordinates_path, trc)
    np.testing.assert_allclose(rms, r.rms_m, atol=1e-6)
    np.testing.assert_allclose(mx, r.max_m, atol=1e-6)
    assert np.all(r.rms_m < 0.03)
    # IK minimises the (equally weighted) squared marker error: the published coordinates,
    # computed with other weights, cannot fit these markers better.
    published = read_storage(HAMNER / "ik" / "Run_4.mot").window(0.86, 0.96)
    write_storage(tmp_path / "published.mot", published, in_degrees=True)
    _, rms_pub, _ = marker_errors_at(model, tmp_path / "published.mot", trc)
    assert np.all(rms_pub >= r.rms_m - 1e-6)


def test_ik_with_explicit_weights_and_bad_inputs(tmp_path: Path) -> None:
    model, trc = HAMNER / "model" / "subject01_adjusted_scaled.osim", HAMNER / "Run_4.trc"
    markers = read_trc(trc).names
    weights = dict.fromkeys(markers, 1.0)
    weights["NOT_A_MARKER"] = 0.0
    r = run_inverse_kinematics(model, trc, tmp_path / "w.mot", marker_weights=weights, t0=0.9, t1=0.92)
    assert r.time_s.size == 3
    with pytest.raises(InputError, match="marker file not found"):
        run_inverse_kinematics(model, tmp_path / "none.trc", tmp_path / "x.mot")
    with pytest.raises(InputError, match="empty"):
        run_inverse_kinematics(model, trc, tmp_path / "x.mot", t0=1.0, t1=0.5)


@pytest.mark.slow
def test_rajagopal_case_finds_the_published_cycle_and_caches(tmp_path: Path) -> None:
    from reference_cases import rajagopal_case  # noqa: PLC0415

    case = rajagopal_case(tmp_path / "a", cache_dir=tmp_path / "cache")
    assert case.info["from_cache"] is False
    # Same runner and trial as Hamner subject01 Run_4, whose cycle 1 is published.
    ref = json.loads((HAMNER / "gaitTimes.json").read_text())["cycles"]["run4"]["cycle1"]
    assert case.t0 == pytest.approx(ref["initialTime"], abs=0.015)
    assert case.t1 == pytest.approx(ref["finalTime"], abs=0.015)
    ik = read_storage(case.coordinates)
    assert ik.time_s[0] <= case.t0 and ik.time_s[-1] >= case.t1
    assert case.info["ik_marker_rms_mean_m"] < 0.03
    assert set(case.model_actuators) >= {"lumbar_ext", "shoulder_flex_r"}
    assert not any(n.startswith(("lumbar", "arm", "knee_angle_r_beta")) for n in case.reserve_names)
    again = rajagopal_case(tmp_path / "b", cache_dir=tmp_path / "cache")
    assert again.info["from_cache"] is True and again.model == case.model
