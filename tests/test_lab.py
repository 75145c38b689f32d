"""Lab files to analysis (runmuscles.lab): marker names, scaling, forces, and bad input.

The end-to-end runs go through the command line, from C3D (Fukuchi 2017: scale, IK, one
treadmill plate split into two feet, ID, muscles), from TRC (Hamner 2013) and from a C3D
file without force plates. By default one Fukuchi trial runs; ``RUNMUSCLES_LAB_ALL=1`` runs
all twelve (4 runners x 3 speeds; ``benchmarks/bench_lab.py`` times them).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_line_error, run_cli

from runmuscles.errors import InputError
from runmuscles.lab import prepare_lab_trial
from runmuscles.lab.forces import external_loads_for_mot
from runmuscles.lab.markers import (
    compare_with_static,
    hip_joint_centres,
    model_marker_bodies,
    plan_markers,
    read_marker_map,
)
from runmuscles.lab.scaling import check_mass_and_height, scale_measurements, stature_estimate_m
from runmuscles.readers.opensim_files import (
    MarkerTable,
    read_external_loads,
    read_storage,
    read_trc,
    write_trc,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
FUKUCHI = DATA / "fukuchi2017"
HAMNER01 = DATA / "hamner2013" / "subject01"
MODEL = REPO / "src" / "runmuscles" / "data" / "models" / "RajagopalLaiUhlrich2023.osim"
# recorded mass (kg), height (m) of participantInfo.csv
RUNNERS = {"RBDS001": (62.0, 1.81), "RBDS002": (80.0, 1.83), "RBDS03": (65.4, 1.77), "RBDS010": (64.75, 1.69)}
DEFAULT_TRIALS = {("RBDS03", "35")}


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def _observed(runner: str, speed: str) -> dict[str, str]:
    import pandas as pd

    info = pd.read_csv(FUKUCHI / "participantInfo.csv").drop_duplicates("Subject").set_index("Subject")
    subject = int(re.match(r"RBDS0*(\d+)", runner).group(1))
    return {
        side: str(info.loc[subject, f"{side[0].upper()}FSI{speed}"]).lower() for side in ("right", "left")
    }


# -- marker names ------------------------------------------------------------------------------


def test_known_sets_tracking_markers_and_a_users_mapping(tmp_path: Path) -> None:
    mm, bodies = model_marker_bodies(MODEL)
    fukuchi = ["R.ASIS", "L.PSIS", "R.Knee", "L.Ankle.Medial", "R.Heel.Top", "R.Heel.Bottom", "L.MT1"]
    fukuchi += ["R.Thigh.Top.Lateral", "L.Shank.Bottom.Medial", "R.Iliac.Crest", "R.GTR", "Unknown7"]
    plan = plan_markers(fukuchi, mm, bodies)
    assert plan.rename == {
        "R.ASIS": "RASI",
        "L.PSIS": "LPSI",
        "R.Knee": "RLFC",
        "L.Ankle.Medial": "LMMAL",
        "R.Heel.Top": "RCAL",
        "L.MT1": "LTOE",
    }
    assert plan.tracking == {
        "R.Heel.Bottom": "calcn_r",
        "R.Thigh.Top.Lateral": "femur_r",
        "L.Shank.Bottom.Medial": "tibia_l",
        "R.Iliac.Crest": "pelvis",
        "R.GTR": "femur_r",
    }
    assert plan.ignored == ["Unknown7"] and "RMT5" in plan.model_missing
    # Plug-in Gait
    pig = plan_markers(["LASI", "RKNE", "LANK", "RHEE", "LTOE", "RTHI", "LTIB", "SACR"], mm, bodies)
    assert pig.rename == {"LASI": "LASI", "RKNE": "RLFC", "LANK": "LLMAL", "RHEE": "RCAL", "LTOE": "LTOE"}
    assert pig.tracking == {"RTHI": "femur_r", "LTIB": "tibia_l", "SACR": "pelvis"}
    # a user's mapping wins; a target that is neither marker nor body is refused by name
    f = tmp_path / "map.csv"
    f.write_text("# lab, model\nKNEE_OUT, RLFC\nWAND\tfemur_l\nR.Knee -\n")
    user = read_marker_map(f)
    plan = plan_markers(["KNEE_OUT", "WAND", "R.Knee"], mm, bodies, user_map=user)
    assert plan.rename == {"KNEE_OUT": "RLFC"} and plan.tracking == {"WAND": "femur_l"}
    assert plan.ignored == ["R.Knee"] and plan.how["WAND"] == "your mapping"
    f.write_text("KNEE_OUT, kneecap\n")
    with pytest.raises(InputError, match="map.csv: maps 'KNEE_OUT' to 'kneecap', which is neither"):
        plan_markers(["KNEE_OUT"], mm, bodies, user_map=read_marker_map(f), source=f)
    f.write_text("only_one_column\n")
    with pytest.raises(InputError, match="line 1: expected"):
        read_marker_map(f)


def test_hip_joint_centres_follow_harrington_2007() -> None:
    # pelvis 0.24 m wide (ASIS), 0.16 m deep (mid-ASIS to mid-PSIS), Y up, Z right, rotated 30 deg about Y
    names = ["RASI", "LASI", "RPSI", "LPSI"]
    local = np.array([[0.0, 0.0, 0.12], [0.0, 0.0, -0.12], [-0.16, 0.0, 0.05], [-0.16, 0.0, -0.05]])
    a = np.radians(30.0)
    rot = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    origin = np.array([1.0, 0.9, 0.3])
    pos = (local @ rot.T + origin)[None].repeat(3, axis=0)
    hjc = hip_joint_centres(MarkerTable(np.arange(3) / 100.0, pos, names, 100.0, "m"))
    expect_r = np.array([-0.24 * 0.16 - 0.0099, -0.30 * 0.24 - 0.0109, 0.33 * 0.24 + 0.0073])
    np.testing.assert_allclose(hjc["RHJC"][0], expect_r @ rot.T + origin, atol=1e-12)
    np.testing.assert_allclose(hjc["LHJC"][0], expect_r * [1, 1, -1] @ rot.T + origin, atol=1e-12)
    assert hip_joint_centres(MarkerTable(np.zeros(1), pos[:1, :2], names[:2], 100.0, "m")) is None


def test_static_trial_relabels_swapped_markers_and_refuses_another_body() -> None:
    from runmuscles.readers.c3d import read_c3d

    _need(FUKUCHI)
    mm, bodies = model_marker_bodies(MODEL)
    static = read_c3d(FUKUCHI / "RBDS001" / "RBDS001static.c3d").markers
    for speed, expect in (("35", {"R.MT1": "R.MT5", "R.MT5": "R.MT1"}), ("45", {})):
        trial = read_c3d(FUKUCHI / "RBDS001" / f"RBDS001runT{speed}.c3d").markers
        plan = plan_markers(static.names, mm, bodies)
        relabel, notes = compare_with_static(
            static, trial, plan.body_of, static_source="static", trial_source="trial"
        )
        # in RBDS001runT35 the right forefoot markers are swapped relative to the static trial
        assert relabel == expect
        assert "static trial fits" in notes[0]
    # Hamner 2013: subject02's static trial for subject01's running
    _need(HAMNER01)
    s02 = read_trc(DATA / "hamner2013" / "subject02" / "model" / "static.trc")
    run = read_trc(HAMNER01 / "Run_3.trc")
    plan = plan_markers(s02.names, mm, bodies)
    with pytest.raises(
        InputError, match=r"static.trc: does not fit the runner of Run_3.trc: .* another person"
    ):
        compare_with_static(
            s02, run, plan.body_of, static_source=str(s02.meta["source"]), trial_source="Run_3.trc"
        )


# -- scaling ---------------------------------------------------------------------------------------


def test_measurements_need_the_leg_landmarks_and_name_them() -> None:
    mm, bodies = model_marker_bodies(MODEL)
    full = {"RASI", "LASI", "RPSI", "LPSI", "RHJC", "LHJC", "RLFC", "RMFC", "LLFC", "LMFC"}
    full |= {"RLMAL", "RMMAL", "LLMAL", "LMMAL", "RCAL", "RTOE", "RMT5", "LCAL", "LTOE", "LMT5"}
    meas, notes = scale_measurements(full, bodies)
    by_name = {m.name: m for m in meas}
    assert set(by_name) == {"pelvis_X", "pelvis_Y", "pelvis_Z", "thigh", "shank", "foot", "rest"}
    assert by_name["thigh"].bodies == {b: "X Y Z" for b in ("femur_r", "femur_l", "patella_r", "patella_l")}
    # the trunk and arms have no markers: scaled with the legs, said so
    assert "torso" in by_name["rest"].bodies and any("thighs and shanks" in n for n in notes)
    covered = {b for m in meas for b in m.bodies}
    assert covered == set(bodies) - {"ground"}
    lab = {"RLFC": "R.Knee", "LLFC": "L.Knee", "RMFC": "R.Knee.Medial", "LMFC": "L.Knee.Medial"}
    with pytest.raises(
        InputError, match=r"lacks the markers needed to scale the thigh, shank: .*RLFC \(R.Knee\)"
    ):
        scale_measurements(full - set(lab), bodies, lab_names=lab, source="static.c3d")
    # a running trial: only pairs whose distance does not change with the pose: on one segment, and
    # hip joint centre - femoral epicondyles - malleoli (centre and axis of the joint between them)
    meas, notes = scale_measurements(full, bodies, running_trial=True)
    assert {m.name for m in meas} == {"pelvis_X", "pelvis_Y", "pelvis_Z", "thigh", "shank", "foot", "rest"}
    assert any("thighs and shanks" in n for n in notes)
    # without the knee and ankle landmarks (shoe and cluster markers only): the rest with the feet
    feet_only = full - {"RLFC", "RMFC", "LLFC", "LMFC", "RLMAL", "RMMAL", "LLMAL", "LMMAL", "RHJC", "LHJC"}
    meas, notes = scale_measurements(feet_only, bodies, running_trial=True)
    assert {m.name for m in meas} == {"pelvis", "foot", "rest"}
    assert any("scaled with the feet" in n for n in notes)


def test_stature_estimate_and_plausible_mass_and_height() -> None:
    _need(HAMNER01)
    # Hamner subject01 is 1.80 m (the scale setup of the same runner in rajagopal2016-running)
    assert stature_estimate_m(HAMNER01 / "model" / "subject01_adjusted_scaled.osim") == pytest.approx(
        1.80, rel=0.02
    )
    check_mass_and_height(62.0, 1.81)
    with pytest.raises(InputError, match=r"--height: 181 m is outside .*\(in cm\? that is 1.81 m\)"):
        check_mass_and_height(62.0, 181.0)
    with pytest.raises(InputError, match=r"--mass: 62000 kg is outside .*\(in g\? that is 62 kg\)"):
        check_mass_and_height(62000.0, None)


# -- forces ------------------------------------------------------------------------------------------


def test_external_loads_for_a_force_mot(tmp_path: Path) -> None:
    _need(HAMNER01)
    mot = HAMNER01 / "Run_4_grf.mot"
    xml, _ = external_loads_for_mot(mot, tmp_path / "f.xml")
    built = read_external_loads(xml)
    published = read_external_loads(HAMNER01 / "Run_4_grf.xml")
    pairs = {f.applied_to_body: (f.force_columns, f.point_columns, f.torque_columns) for f in built.forces}
    assert pairs == {
        f.applied_to_body: (f.force_columns, f.point_columns, f.torque_columns) for f in published.forces
    }
    # without side names: the right foot is the one whose centre of pressure is further right (+Z)
    t = read_storage(mot)
    labels = [re.sub(r"^R_", "", re.sub(r"^L_", "1_", c)) for c in t.labels]
    from runmuscles.readers.opensim_files import write_storage
    from runmuscles.tables import TimeTable

    anon = write_storage(tmp_path / "anon.mot", TimeTable(t.time_s, t.data, labels, None, {}))
    xml, notes = external_loads_for_mot(anon, tmp_path / "anon.xml")
    right = next(f for f in read_external_loads(xml).forces if f.applied_to_body == "calcn_r")
    assert right.force_columns[0] == "ground_force_vx" and "no side in the column names" in notes[0]
    one = write_storage(tmp_path / "one.mot", t.select([c for c in t.labels if c.startswith("R_")]))
    with pytest.raises(InputError, match="one.mot: expected two forces .* found 1"):
        external_loads_for_mot(one, tmp_path / "one.xml")


# -- bad input through prepare_lab_trial (stops before OpenSim runs) -----------------------------------


def test_bad_lab_input_is_refused_by_name(tmp_path: Path) -> None:
    from runmuscles.readers.c3d import read_c3d

    _need(FUKUCHI)
    trial = FUKUCHI / "RBDS001" / "RBDS001runT25.c3d"
    static = FUKUCHI / "RBDS001" / "RBDS001static.c3d"
    # a mass far from what the force plate weighs
    with pytest.raises(
        InputError,
        match=r"--mass: 95 kg, but the force plates of RBDS001runT25.c3d weigh the runner at 6\d\.\d kg",
    ):
        prepare_lab_trial(trial, tmp_path / "a", static=static, mass_kg=95.0)
    # a static trial without the knee markers: scaling names them
    st = read_c3d(static).markers
    keep = [k for k, n in enumerate(st.names) if "Knee" not in n]
    no_knees = MarkerTable(st.time_s, st.positions_m[:, keep], [st.names[k] for k in keep], st.rate_hz, "m")
    trc = write_trc(tmp_path / "static_no_knees.trc", no_knees)
    with pytest.raises(
        InputError,
        match=r"static_no_knees.trc: the static trial lacks the markers needed to scale the thigh, shank: "
        r".*RLFC \(right lateral femoral epicondyle\)",
    ):
        prepare_lab_trial(trial, tmp_path / "b", static=trc, mass_kg=62.0)
    # metres written into a file that says millimetres
    bad = MarkerTable(st.time_s, st.positions_m / 1000.0, st.names, st.rate_hz, "m")
    text = write_trc(tmp_path / "mm.trc", bad).read_text().replace("\tm\t", "\tmm\t", 1)
    (tmp_path / "mm.trc").write_text(text)
    with pytest.raises(InputError, match=r"mm.trc: markers span only .* mm .* unit is wrong"):
        prepare_lab_trial(tmp_path / "mm.trc", tmp_path / "c", mass_kg=62.0, height_m=1.81)
    # joint angles cannot be scaled from a static trial, and need a height to scale the default model
    ik = _need(HAMNER01 / "ik" / "Run_4.mot")
    with pytest.raises(InputError, match="a coordinates file has none"):
        prepare_lab_trial(ik, tmp_path / "d", static=static, mass_kg=62.0)
    with pytest.raises(InputError, match="--height: a coordinates file has no markers to scale the model"):
        prepare_lab_trial(ik, tmp_path / "e", mass_kg=72.0)
    with pytest.raises(InputError, match=r"notes.txt: is not a trial file"):
        prepare_lab_trial(tmp_path / "notes.txt", tmp_path / "f")


def test_static_trial_of_another_runner_is_refused_by_height(tmp_path: Path) -> None:
    """RBDS010's static trial (1.69 m) for RBDS002 (1.83 m): similar marker distances (same
    cluster plates), but the scaled model is 10 % shorter than --height says."""
    _need(FUKUCHI)
    with pytest.raises(
        InputError,
        match=r"RBDS010static.c3d: scales the model to a runner 1.6\d m tall, but --height says 1.83 m",
    ):
        prepare_lab_trial(
            FUKUCHI / "RBDS002" / "RBDS002runT35.c3d",
            tmp_path,
            static=FUKUCHI / "RBDS010" / "RBDS010static.c3d",
            mass_kg=80.0,
            height_m=1.83,
            start_s=5.0,
            end_s=5.5,
        )


# -- end to end through the command line ---------------------------------------------------------------


def _fukuchi_cases() -> list:
    everything = os.environ.get("RUNMUSCLES_LAB_ALL") == "1"
    cases = []
    for runner in RUNNERS:
        for speed in ("25", "35", "45"):
            marks = (
                []
                if everything or (runner, speed) in DEFAULT_TRIALS
                else [pytest.mark.skip("RUNMUSCLES_LAB_ALL=1")]
            )
            cases.append(pytest.param(runner, speed, marks=marks, id=f"{runner}-{speed}"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize(("runner", "speed"), _fukuchi_cases())
def test_fukuchi_c3d_end_to_end(runner: str, speed: str, tmp_path: Path) -> None:
    """C3D + static trial -> scale, IK, one treadmill plate split into two feet, ID, muscles."""
    folder = _need(FUKUCHI / runner)
    mass, height = RUNNERS[runner]
    out = tmp_path / "out"
    proc = run_cli(
        "analyze",
        str(folder / f"{runner}runT{speed}.c3d"),
        "--static",
        str(folder / f"{runner}static.c3d"),
        "--mass",
        f"{mass:g}",
        "--height",
        f"{height:g}",
        "--start",
        "5",
        "--end",
        "7",
        "--out",
        str(out),
        "--json",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(proc.stdout)
    q = s["quality"]
    assert s["settings"]["forces_source"] == "measured"
    assert (
        "scaled from the static trial" in q["input"]["path"]
        and "split into right and left foot" in q["input"]["path"]
    )
    # the given mass scales the model; residual reduction (on by default) adjusts it within +-2 %
    rr = q["residual_reduction"]
    assert rr["body_mass_before_kg"] == pytest.approx(mass)
    assert s["body_mass_kg"] == rr["body_mass_after_kg"] and abs(rr["mass_change_percent"]) <= 2.0 + 1e-9
    assert s["speed_m_s"] == pytest.approx(int(speed) / 10, rel=0.05)
    assert s["n_strides"] >= 1 and 1.8 < s["peak_vertical_grf_bw"] < 3.5  # RBDS002 3.5 m/s: 1 in 2 s
    ik = q["input"]["inverse_kinematics"]
    assert ik["marker_rms_m_mean"] < 0.025, ik  # 1.2-2.0 cm on these trials
    assert ik["frames_without_markers"] == 0
    assert abs(q["input"]["scaling"]["stature_estimate_m"] - height) < 0.07 * height
    for f in ("grf.mot", "grf.xml", "ik.mot", "markers.trc", "summary.json", "activation.sto"):
        assert (out / f).exists(), f
    fs = s["foot_strike"]
    assert {fs["right"], fs["left"]} <= {"rearfoot", "midfoot", "forefoot"}
    assert {r["side"] for r in fs["strides"]} == {"right", "left"} and len(fs["strides"]) >= 4
    assert all(r["strike_index"] is not None for r in fs["strides"])
    observed = _observed(runner, speed)
    if runner in ("RBDS001", "RBDS03"):  # unambiguous strikers (forefoot, rearfoot) at every speed
        assert (fs["right"], fs["left"]) == (observed["right"], observed["left"]), fs


@pytest.mark.slow
def test_c3d_without_force_plates_takes_the_motion_alone_path(tmp_path: Path) -> None:
    import ezc3d

    from runmuscles.readers.c3d import read_c3d

    folder = _need(FUKUCHI / "RBDS03")
    src = read_c3d(folder / "RBDS03runT35.c3d").markers
    keep = (src.time_s >= 4.5) & (src.time_s < 7.5)
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [src.rate_hz]
    c["parameters"]["POINT"]["LABELS"]["value"] = src.names
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, len(src.names), int(keep.sum())))
    pts[:3] = np.transpose(np.nan_to_num(src.positions_m[keep]) * 1000.0, (2, 1, 0))
    c["data"]["points"] = pts
    c3d = tmp_path / "no_plates.c3d"
    c.write(str(c3d))
    out = tmp_path / "out"
    mass, height = RUNNERS["RBDS03"]
    args = ["analyze", str(c3d), "--static", str(folder / "RBDS03static.c3d"), "--mass", f"{mass:g}"]
    proc = run_cli(*args, "--height", f"{height:g}", "--out", str(out), "--json", "--no-report")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "runmuscles: notice: no_plates.c3d has no loaded force plate: ground reaction forces are estimated"
        in proc.stderr
    )
    s = json.loads(proc.stdout)
    assert s["settings"]["forces_source"] == "estimated from motion alone"
    assert "forces estimated from the motion alone" in s["quality"]["input"]["path"]
    assert (out / "grf_estimated.mot").exists() and (out / "grf_estimated.xml").exists()
    fs = s["foot_strike"]
    # without measured forces the pattern comes from the foot's angle; RBDS03 lands on the heel
    assert "angle" in fs["method"] and (fs["right"], fs["left"]) == ("rearfoot", "rearfoot")
    assert all(r["strike_index"] is None for r in fs["strides"])
    assert s["n_strides"] >= 2


def test_trc_with_a_force_mot_and_a_scaled_model(tmp_path: Path) -> None:
    """Hamner subject01: TRC markers, the published scaled model, forces as a bare .mot."""
    _need(HAMNER01)
    out = tmp_path / "out"
    proc = run_cli(
        "analyze",
        str(HAMNER01 / "Run_4.trc"),
        "--model",
        str(HAMNER01 / "model" / "subject01_adjusted_scaled.osim"),
        "--forces",
        str(HAMNER01 / "Run_4_grf.mot"),
        "--cycle",
        "1",
        "--out",
        str(out),
        "--json",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(proc.stdout)
    q = s["quality"]
    assert q["input"]["path"].startswith("TRC Run_4.trc: model subject01_adjusted_scaled.osim as given")
    assert q["input"]["inverse_kinematics"]["marker_rms_m_mean"] < 0.02
    # the model's mass, adjusted by residual reduction (on by default) within +-2 %
    rr = q["residual_reduction"]
    assert rr["body_mass_before_kg"] == pytest.approx(72.84, abs=0.01)
    assert s["body_mass_kg"] == rr["body_mass_after_kg"] and abs(rr["mass_change_percent"]) <= 2.0 + 1e-9
    # the published cycle 1 (0.862-1.546 s), found in the forces
    assert s["stride_time_s"] == pytest.approx(1.546 - 0.862, abs=0.01)
    assert (out / "forces.xml").exists() and s["foot_strike"]["right"] in ("rearfoot", "midfoot", "forefoot")


def test_cli_bad_lab_input_one_line(tmp_path: Path) -> None:
    _need(FUKUCHI)
    trial = FUKUCHI / "RBDS001" / "RBDS001runT25.c3d"
    proc = run_cli("analyze", str(trial), "--static", str(tmp_path / "none.c3d"), "--out", str(tmp_path))
    one_line_error(proc, "none.c3d", "static trial not found")
    proc = run_cli("analyze", str(trial), "--height", "181", "--out", str(tmp_path))
    one_line_error(proc, "--height", "181 m is outside", "(in cm? that is 1.81 m)")
    proc = run_cli("analyze", str(FUKUCHI / "RBDS001"), "--static", str(trial), "--out", str(tmp_path))
    one_line_error(proc, "--static goes with a C3D, TRC or joint-angle file")
    ik_flags = ((("--ik", "opensim"), "--ik goes with"), (("--accept-ik-error",), "--accept-ik-error goes"))
    for flags, said in ik_flags:
        proc = run_cli("analyze", str(FUKUCHI / "RBDS001"), *flags, "--out", str(tmp_path))
        one_line_error(proc, said, "not with a trial folder")


def test_scaling_without_a_static_trial(tmp_path: Path) -> None:
    """By --height (one factor, markers placed on the running trial), and from the running
    trial's own markers (no height: pelvis and feet measured; flagged); the mass from the
    force plate when --mass is not given."""
    from runmuscles.opensim_adapter.tools import model_summary

    folder = _need(FUKUCHI / "RBDS03")
    trial = folder / "RBDS03runT35.c3d"
    by_height = prepare_lab_trial(trial, tmp_path / "h", height_m=1.77, start_s=5.0, end_s=5.4)
    assert "scaled by height (1.77 m), markers placed on the running trial" in by_height.path
    assert stature_estimate_m(by_height.spec.model) == pytest.approx(1.77, rel=0.005)
    mass = by_height.quality["mass_from_forces_kg"]
    assert model_summary(by_height.spec.model).mass_kg == pytest.approx(mass) and 60.0 < mass < 67.0
    assert any("body mass" in n and "mean vertical force" in n for n in by_height.notes)
    assert by_height.quality["inverse_kinematics"]["marker_rms_m_mean"] < 0.03
    assert by_height.standing_foot_angle_rad is None  # no static pose: the model's default pose
    from_markers = prepare_lab_trial(trial, tmp_path / "m", mass_kg=65.4, start_s=5.0, end_s=5.4)
    assert "scaled from the running trial RBDS03runT35.c3d" in from_markers.path
    assert any("scaled from the running trial's markers" in f for f in from_markers.flags)
    # approximate: shoe markers make the feet look short against the model's landmarks
    assert from_markers.quality["scaling"]["stature_estimate_m"] == pytest.approx(1.77, rel=0.15)
    # inverse kinematics over the window and 0.25 s either side (4.75-5.65 s, 150 Hz)
    t = read_storage(from_markers.spec.coordinates).time_s
    assert t[0] == pytest.approx(4.75, abs=1 / 150) and t[-1] == pytest.approx(5.65, abs=1 / 150)


def test_frames_without_any_tracked_marker_are_counted_apart() -> None:
    """A frame where no weighted marker was seen has no marker error to average: it is not
    a perfect fit (both inverse-kinematics solvers write 0 there)."""
    import numpy as np

    from runmuscles.lab import _frames_with_markers
    from runmuscles.readers.opensim_files import MarkerTable

    pos = np.ones((5, 3, 3))
    pos[1] = np.nan  # nothing seen
    pos[2, :2] = np.nan  # only the unweighted marker seen
    pos[3, 0] = np.nan  # one weighted marker still seen
    table = MarkerTable(np.arange(5) * 0.01, pos, ["A", "B", "C"], 100.0, "m", {})
    seen = _frames_with_markers(table, {"A": 1.0, "B": 1.0, "C": 0.0}, 5)
    assert seen.tolist() == [True, False, False, True, True]
    # frames that do not line up with the trial's: nothing is left out
    assert _frames_with_markers(table, {"A": 1.0}, 4).all()
