"""Joint angles and forces that disagree are not presented as valid (runmuscles.analyses.consistency).

A shared trial as published is consistent (valid); the same trial with its centre of
pressure moved 0.3 m forwards (residual moments) or sideways (centre of pressure beside the
feet), or its forces 0.1 s late (feet elsewhere or in the air), is not: ``quality.valid``
is false with the warning ``kinematics_forces_inconsistent``, which names the likely fix.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.consistency import cop_outside_foot, kinematics_forces_consistency
from runmuscles.readers import read_storage, write_storage
from runmuscles.tables import TimeTable

CODE = "kinematics_forces_inconsistent"


def _shifted_forces(subject: Path, trial: str, tmp: Path, shift_m: float) -> Path:
    """The trial's ExternalLoads with every centre of pressure moved ``shift_m`` along x."""
    grf = read_storage(subject / f"{trial}_grf.mot")
    data = grf.data.copy()
    for k, label in enumerate(grf.labels):
        if label.endswith("_px"):
            loaded = np.abs(data[:, grf.labels.index(label[:-3] + "_vy")]) > 0
            data[loaded, k] += shift_m
    write_storage(tmp / f"{trial}_grf.mot", TimeTable(grf.time_s, data, grf.labels, False, grf.meta))
    shutil.copy(subject / f"{trial}_grf.xml", tmp / f"{trial}_grf.xml")
    return tmp / f"{trial}_grf.xml"


def _analyze(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "runmuscles", "analyze", *args, "--json", "--no-report"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_shared_trial_valid_and_shifted_forces_not(hamner: Path, tmp_path: Path) -> None:
    subject = hamner / "subject01"
    same = _analyze(str(subject), "--trial", "Run_4", "--cycle", "1", "--out", str(tmp_path / "a"))
    q = same["quality"]
    assert q["valid"] is True and CODE not in [w["code"] for w in q["warnings"]]
    assert q["consistency"]["consistent"] is True
    assert q["consistency"]["cop_outside_foot_stance_fraction"] < 0.1

    xml = _shifted_forces(subject, "Run_4", tmp_path, 0.3)
    moved = _analyze(
        str(subject), "--trial", "Run_4", "--forces", str(xml), "--cycle", "1", "--out", str(tmp_path / "b")
    )
    q = moved["quality"]
    assert q["valid"] is False
    (w,) = [w for w in q["warnings"] if w["code"] == CODE]
    assert w["invalidates"] is True
    assert "pelvis residual moments" in w["message"] and "--model" in w["message"]
    assert q["consistency"]["residual_hicks_ratio_p95"]["moment_nm"] > 15.0
    assert any(
        f.startswith("NOT VALID: joint angles and ground reaction forces disagree") for f in q["flags"]
    )


def _inverse_dynamics_inputs(subject: Path, trial: str):
    """Model, coordinates, body loads and frame times of a trial (inverse dynamics inputs)."""
    from runmuscles.dynamics.inverse import body_loads_from_external_loads
    from runmuscles.kinematics.coordinates import prepare_coordinates
    from runmuscles.model import RunnerModel
    from runmuscles.readers.opensim_files import read_external_loads
    from runmuscles.trials import resolve_trial

    spec = resolve_trial(subject, trial)
    model = RunnerModel.load(spec.model)
    table = read_storage(spec.coordinates)
    loads = read_external_loads(spec.forces)
    lo = max(table.time_s[0], loads.data.time_s[0]) + 0.1
    hi = min(table.time_s[-1], loads.data.time_s[-1]) - 0.1
    ck = prepare_coordinates(
        table, model.coordinate_names, model.rotational, lowpass_hz=12.0, start_s=lo, end_s=hi,
        fill=model.fill_values(table),
    )  # fmt: skip
    q, _, _ = model.complete_coordinates(ck.q, ck.qdot, ck.qddot)
    return model, q, body_loads_from_external_loads(model.multibody, loads, ck.time_s), ck.time_s


def test_cop_against_the_stance_foot(hamner: Path) -> None:
    model, q, loads, time_s = _inverse_dynamics_inputs(hamner / "subject01", "Run_4")
    bw = model.body_mass_kg * 9.80665
    cop = cop_outside_foot(model.multibody, q, loads, bw)
    assert min(cop.stance_frames.values()) > 50
    assert cop.median_m() == 0.0 and cop.fraction_beyond(0.10) < 0.05
    numbers, warnings = kinematics_forces_consistency(cop, {"force_n": 1.5, "moment_nm": 3.0})
    assert numbers["consistent"] and not warnings
    # the forces 0.1 s late (out of step with the motion): the feet are elsewhere or in the air
    frames = int(round(0.1 / np.median(np.diff(time_s))))
    late = [copy.deepcopy(ld) for ld in loads]
    for ld in late:
        ld.force_n, ld.point_m = np.roll(ld.force_n, frames, axis=0), np.roll(ld.point_m, frames, axis=0)
    assert cop_outside_foot(model.multibody, q, late, bw).fraction_beyond(0.10) > 0.5
    # the same forces 0.3 m to the side (a plate origin entered wrongly): beside the feet all stance
    for ld in loads:
        ld.point_m = ld.point_m + np.array([0.0, 0.0, 0.3])
    cop = cop_outside_foot(model.multibody, q, loads, bw)
    assert cop.fraction_beyond(0.10) > 0.9
    numbers, warnings = kinematics_forces_consistency(cop, {"force_n": 1.5, "moment_nm": 3.0})
    assert not numbers["consistent"]
    assert [w.code for w in warnings] == [CODE] and warnings[0].invalidates
    assert "centre of pressure" in warnings[0].message


@pytest.mark.parametrize(
    ("force", "moment", "ok"), [(6.9, 14.9, True), (7.1, 1.0, False), (1.0, 15.5, False)]
)
def test_residual_limits(force: float, moment: float, ok: bool) -> None:
    numbers, warnings = kinematics_forces_consistency(None, {"force_n": force, "moment_nm": moment})
    assert numbers["consistent"] is ok and (not warnings) is ok


def test_lab_angles_of_the_other_knee_convention_are_negated(hamner: Path, tmp_path: Path) -> None:
    """Hamner's own IK (gait2392 family: knee flexion negative) on the default model (Rajagopal
    family: positive) scaled by height: the knees are negated, and angles and forces then agree."""
    from runmuscles.lab import default_model
    from runmuscles.lab.conventions import match_sign_conventions
    from runmuscles.model.multibody import load_osim
    from runmuscles.trials import resolve_trial

    subject = hamner / "subject01"
    table = read_storage(subject / "ik" / "Run_4.mot")
    fixed, flipped = match_sign_conventions(table, load_osim(default_model()))
    assert flipped == ["knee_angle_r", "knee_angle_l"]
    k = table.labels.index("knee_angle_r")
    np.testing.assert_allclose(fixed.data[:, k], -table.data[:, k])
    # on the model they were computed on, and OpenCap's angles on OpenCap's model: nothing changes
    assert match_sign_conventions(table, load_osim(resolve_trial(subject, "Run_4").model))[1] == []
    data = Path(__file__).resolve().parent / "data" / "opencap"
    walk = read_storage(data / "walking1_videoAndMocap.mot")
    assert match_sign_conventions(walk, load_osim(data / "LaiArnoldModified2017_contacts.osim"))[1] == []

    s = _analyze(
        str(subject / "ik" / "Run_4.mot"), "--forces", str(subject / "Run_4_grf.xml"), "--height", "1.80",
        "--cycle", "1", "--out", str(tmp_path / "lab"),
    )  # fmt: skip
    q = s["quality"]
    assert q["valid"] is True and q["consistency"]["consistent"] is True
    assert q["consistency"]["cop_outside_foot_stance_fraction"] < 0.1
    assert any("knee_angle_r, knee_angle_l" in f and "negated" in f for f in q["flags"])
