"""Markerless inputs (OpenCap, Pose2Sim) and the running check of forces from motion.

Public example outputs, copied into ``tests/data/opencap`` and ``tests/data/pose2sim`` (see
their PROVENANCE.md): OpenCap's walking and squats with its scaled model, Pose2Sim's balancing
trial (keypoints ``.trc``, joint angles ``.mot`` and its scaled kinematic model). None has force
plates and none is running, so ``analyze`` must refuse forces from motion for each, with the
reason on one line; the hamner2013 running trials (2-5 m/s) must pass the same check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_line_error

from runmuscles.dynamics.grf_estimation import running_support
from runmuscles.errors import InputError
from runmuscles.lab.markerless import (
    check_not_keypoints,
    describe_markerless,
    find_session,
    keypoint_markers,
    muscle_count,
    spine_as_lumbar_joint,
)
from runmuscles.model.geometry import default_cache_dir
from runmuscles.model.multibody import load_osim_cached
from runmuscles.readers import read_storage, read_trc

DATA = Path(__file__).resolve().parent / "data"
OPENCAP_MODEL = DATA / "opencap" / "LaiArnoldModified2017_contacts.osim"
OPENCAP_WALK = DATA / "opencap" / "walking1_videoAndMocap.mot"
OPENCAP_SQUAT = DATA / "opencap" / "squats1_videoAndMocap.mot"
P2S_MODEL = DATA / "pose2sim" / "Model_Pose2Sim_body25b_scaled.osim"
P2S_MOT = DATA / "pose2sim" / "S00_P00_T01_BalancingTrial_filt_butterworth_0-100_body25b.mot"
P2S_TRC = DATA / "pose2sim" / "S00_P00_T01_BalancingTrial_0-100_filt_butterworth.trc"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, timeout=900
    )


def _support(model: Path, coordinates: Path):
    return running_support(load_osim_cached(model, default_cache_dir()), read_storage(coordinates))


def test_running_trials_pass_the_running_check(hamner: Path) -> None:
    from runmuscles.trials import resolve_trial

    for subject in ("subject01", "subject03", "subject11"):
        for speed in (2, 5):  # the slowest runs come closest to double support
            spec = resolve_trial(hamner / subject, f"Run_{speed}")
            p = _support(spec.model, spec.coordinates)
            assert p.not_running() is None, (subject, speed, p.as_dict())
            assert p.flight_fraction > 0.15 and p.double_support_fraction < 0.1


def test_public_markerless_examples_are_not_running() -> None:
    walk = _support(OPENCAP_MODEL, OPENCAP_WALK)
    assert walk.flight_fraction == 0.0 and "airborne only 0 %" in walk.not_running()
    squat = _support(OPENCAP_MODEL, OPENCAP_SQUAT)
    assert squat.double_support_fraction > 0.9
    assert "both feet are on the ground together" in squat.not_running()
    balance = _support(P2S_MODEL, P2S_MOT)
    assert balance.flight_fraction == 0.0 and balance.not_running() is not None


def test_opencap_reading_path() -> None:
    """OpenCap's scaled model reads as a muscle model carrying every coordinate of its angles."""
    from runmuscles.model import RunnerModel

    assert describe_markerless(OPENCAP_MODEL) == "OpenCap" and muscle_count(OPENCAP_MODEL) == 80
    model = RunnerModel.load(OPENCAP_MODEL)
    angles = read_storage(OPENCAP_WALK)
    assert len(model.muscle_names) == 80 and model.body_mass_kg == pytest.approx(78.2, abs=0.01)
    assert set(model.coordinate_names) == set(angles.labels)


def test_opencap_through_analyze_refuses_forces_from_motion(tmp_path: Path) -> None:
    # no forces given: estimated from motion, which walking is refused
    proc = run_cli("analyze", str(OPENCAP_WALK), "--model", str(OPENCAP_MODEL), "--out", str(tmp_path / "w"))
    one_line_error(proc, OPENCAP_WALK.name, "assume running", "airborne only 0 %", "--forces")
    proc = run_cli(
        "analyze", str(OPENCAP_SQUAT), "--model", str(OPENCAP_MODEL), "--forces", "estimate",
        "--out", str(tmp_path / "s"),
    )  # fmt: skip
    one_line_error(proc, "both feet are on the ground together", "--forces")
    assert not (tmp_path / "s" / "summary.json").exists() and not (tmp_path / "w" / "summary.json").exists()


def test_pose2sim_keypoints_are_not_landmarks(tmp_path: Path) -> None:
    names = read_trc(P2S_TRC).names
    assert len(keypoint_markers(names)) == len(names) == 21
    with pytest.raises(InputError, match="pose-estimation keypoints"):
        check_not_keypoints(names, P2S_TRC)
    # anatomical landmark sets are not keypoints (Plug-in Gait, the OpenCap model's own markers)
    pig = ["LASI", "RASI", "LPSI", "RPSI", "LKNE", "RKNE", "LANK", "RANK", "LHEE", "RTOE"]
    check_not_keypoints(pig, "pig")
    check_not_keypoints(["r.ASIS_study", "r_knee_study", "r_ankle_study", "r_calc_study", "RHJC"], "opencap")
    proc = run_cli("analyze", str(P2S_TRC), "--height", "1.7", "--mass", "70", "--out", str(tmp_path / "t"))
    one_line_error(proc, "pose-estimation keypoints", "RHip", ".mot")


def test_pose2sim_angles_need_a_muscle_model_and_are_not_running(tmp_path: Path) -> None:
    assert describe_markerless(P2S_MODEL) == "Pose2Sim" and muscle_count(P2S_MODEL) == 0
    proc = run_cli("analyze", str(P2S_MOT), "--model", str(P2S_MODEL), "--out", str(tmp_path / "m"))
    one_line_error(proc, P2S_MODEL.name, "has no muscles", "--height and --mass")
    # on the default model scaled by height: the spine read as one lumbar joint, then refused
    proc = run_cli("analyze", str(P2S_MOT), "--height", "1.7", "--mass", "70", "--out", str(tmp_path / "d"))
    one_line_error(proc, "assume running", "airborne only 0 %")
    assert (tmp_path / "d" / f"{P2S_MOT.stem}_for_model.mot").exists()


def test_spine_summed_into_the_lumbar_joint() -> None:
    table = read_storage(P2S_MOT)
    joined = spine_as_lumbar_joint(table)
    assert joined is not None and spine_as_lumbar_joint(joined) is None
    joints = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")
    for lumbar, suffix in (("lumbar_extension", "Flex_Ext"), ("lumbar_rotation", "axial_rotation")):
        want = sum(table.data[:, table.labels.index(f"{j}_{suffix}")] for j in joints)
        np.testing.assert_allclose(joined.data[:, joined.labels.index(lumbar)], want)
    assert spine_as_lumbar_joint(read_storage(OPENCAP_WALK)) is None


def test_output_folders_run_through_analyze(hamner: Path, tmp_path: Path) -> None:
    """``analyze FOLDER``: OpenCap's and Pose2Sim's outputs found in their folder, then the same paths."""
    session = find_session(DATA / "opencap", "walking1")
    assert (session.source, session.model, session.coordinates) == ("OpenCap", OPENCAP_MODEL, OPENCAP_WALK)
    assert find_session(DATA / "pose2sim").model_has_muscles is False
    assert find_session(hamner / "subject01") is None  # the hamner2013 layout is not markerless
    with pytest.raises(InputError, match="walking1_videoAndMocap"):
        find_session(DATA / "opencap")  # two trials: name one
    proc = run_cli("analyze", str(DATA / "opencap"), "--trial", "walking1", "--quiet", "--out", str(tmp_path))
    one_line_error(proc, OPENCAP_WALK.name, "airborne only 0 %", "--forces")
    proc = run_cli("analyze", str(DATA / "pose2sim"), "--quiet", "--out", str(tmp_path))
    one_line_error(proc, "Pose2Sim model has no muscles", "--height and --mass")
    proc = run_cli(
        "analyze",
        str(DATA / "pose2sim"),
        "--height",
        "1.7",
        "--mass",
        "70",
        "--quiet",
        "--out",
        str(tmp_path),
    )
    one_line_error(proc, "assume running", "airborne only 0 %")
    assert not (tmp_path / "summary.json").exists()


OPENCAP_SESSION = DATA / "opencap_session"


def test_opencap_session_download_goes_through_analyze_and_walking_is_refused(tmp_path: Path) -> None:
    """A whole OpenCap session download (its own folder layout): found, read, walking refused."""
    session = find_session(OPENCAP_SESSION)
    assert session.source == "OpenCap"
    assert session.coordinates == OPENCAP_SESSION / "OpenSimData" / "Kinematics" / "walk.mot"
    assert session.model.name == "LaiArnoldModified2017_poly_withArms_weldHand_scaled.osim"
    assert session.model_has_muscles
    proc = run_cli("analyze", str(OPENCAP_SESSION), "--quiet", "--out", str(tmp_path / "out"))
    one_line_error(proc, "walk.mot", "airborne only 0 %", "--forces")
    assert not (tmp_path / "out" / "summary.json").exists()


def test_running_trial_in_the_opencap_layout_runs_through_analyze(hamner: Path, tmp_path: Path) -> None:
    """A running trial laid out as an OpenCap download gives exactly the direct analysis.

    The folder path (``analyze FOLDER``) must find the model and the angles and then take the
    same steps as naming them (``--model --coordinates --forces estimate``): forces from the
    motion alone, which a running trial allows.
    """
    subject = hamner / "subject01"
    model = subject / "model" / "subject01_adjusted_scaled.osim"
    folder = tmp_path / "session"
    (folder / "OpenSimData" / "Model").mkdir(parents=True)
    (folder / "OpenSimData" / "Kinematics").mkdir(parents=True)
    shutil.copy(model, folder / "OpenSimData" / "Model" / model.name)
    shutil.copy(subject / "ik" / "Run_4.mot", folder / "OpenSimData" / "Kinematics" / "Run_4.mot")
    proc = run_cli("analyze", str(folder), "--cycle", "1", "--quiet", "--out", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(
        "analyze",
        "--model",
        str(model),
        "--coordinates",
        str(subject / "ik" / "Run_4.mot"),
        "--forces",
        "estimate",
        "--cycle",
        "1",
        "--quiet",
        "--out",
        str(tmp_path / "b"),
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("muscles.csv", "groups.csv", "normalized.csv", "activation.sto", "force.sto"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["n_strides"] == 1 and summary["quality"]["valid"]
    assert summary["provenance"]["coordinates"].endswith("Run_4.mot")
