"""Markers from any lab (runmuscles.lab.landmarks, .gaps, .axes, .ik_quality).

Landmark names across conventions, gap filling, lab axes and the inverse-kinematics gate's
diagnosis, on real marker data (Hamner 2013 from ../shared; OpenSim's Gait2354 example and
the ezc3d Qualisys test file from tests/data). The end-to-end runs of a public overground
trial and the gate through ``analyze`` are in tests/test_public_trial.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.lab.axes import detect_axes, rotate_markers
from runmuscles.lab.gaps import fill_gaps
from runmuscles.lab.ik_quality import IKDiagnosis, diagnose_ik, ik_gate
from runmuscles.lab.landmarks import LANDMARKS, describe, recognise
from runmuscles.lab.markers import model_marker_bodies, plan_markers
from runmuscles.readers.opensim_files import MarkerTable, read_trc, write_trc
from runmuscles.validation import MAX_GAP_S

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
GAIT2354 = REPO / "tests" / "data" / "opensim_gait2354"
MODEL = REPO / "src" / "runmuscles" / "data" / "models" / "RajagopalLaiUhlrich2023.osim"


def _hamner_run() -> MarkerTable:
    p = DATA / "hamner2013" / "subject01" / "Run_4.trc"
    if not p.is_file():
        pytest.skip("../shared/data/hamner2013 is not present")
    return read_trc(p)


# one landmark, many conventions (lab name -> (landmark key, side))
CONVENTIONS = {
    # Plug-in Gait / Helen Hayes
    "RASI": ("asis", "r"),
    "LPSI": ("psis", "l"),
    "SACR": ("sacrum", None),
    "RKNE": ("lateral_femoral_epicondyle", "r"),
    "LANK": ("lateral_malleolus", "l"),
    "RHEE": ("heel", "r"),
    "LTOE": ("second_metatarsal_head", "l"),
    "RSHO": ("acromion", "r"),
    "C7": ("c7", None),
    "CLAV": ("jugular_notch", None),
    "Subject1:LKNE": ("lateral_femoral_epicondyle", "l"),
    "RMKNE": ("medial_femoral_epicondyle", "r"),
    # IOR / CAST (Leardini 2007; Cappozzo 1995), Italian sides
    "L_IAS": ("asis", "l"),
    "R_IPS": ("psis", "r"),
    "R_FLE": ("lateral_femoral_epicondyle", "r"),
    "L_FME": ("medial_femoral_epicondyle", "l"),
    "R_FAL": ("lateral_malleolus", "r"),
    "L_TAM": ("medial_malleolus", "l"),
    "R_FCC": ("heel", "r"),
    "L_FM1": ("first_metatarsal_head", "l"),
    "R_FM5": ("fifth_metatarsal_head", "r"),
    "R_FM2": ("second_metatarsal_head", "r"),
    "CV7": ("c7", None),
    "DFLE": ("lateral_femoral_epicondyle", "r"),
    "SFAL": ("lateral_malleolus", "l"),
    "R_GT": ("greater_trochanter", "r"),
    "L VMH": ("fifth_metatarsal_head", "l"),
    # Cleveland Clinic (OpenSim's Gait2354 data), Fukuchi 2017
    "R.Knee.Lat": ("lateral_femoral_epicondyle", "r"),
    "L.Ankle.Med": ("medial_malleolus", "l"),
    "V.Sacral": ("sacrum", None),
    "R.Toe.Lat": ("fifth_metatarsal_head", "r"),
    "R.Toe.Med": ("first_metatarsal_head", "r"),
    "R.Toe.Tip": ("toe_tip", "r"),
    "R.Acromium": ("acromion", "r"),
    "R.Knee": ("lateral_femoral_epicondyle", "r"),
    "L.Ankle.Medial": ("medial_malleolus", "l"),
    "R.Heel.Top": ("heel", "r"),
    "L.MT1": ("first_metatarsal_head", "l"),
    "R.GTR": ("greater_trochanter", "r"),
    # words, case, separators, suffixes
    "Right Lateral Epicondyle": ("lateral_femoral_epicondyle", "r"),
    "left_medial_malleolus": ("medial_malleolus", "l"),
    "knee_lat_r": ("lateral_femoral_epicondyle", "r"),
    "HeelL": ("heel", "l"),
    "LeftHeel": ("heel", "l"),
    "RT_KNEE": ("lateral_femoral_epicondyle", "r"),
    "lt-ankle-med": ("medial_malleolus", "l"),
    "r heel": ("heel", "r"),
    "l met 5": ("fifth_metatarsal_head", "l"),
    # the model's own names
    "RLFC": ("lateral_femoral_epicondyle", "r"),
    "LMMAL": ("medial_malleolus", "l"),
    "RCAL": ("heel", "r"),
    # not landmarks (segment markers, a landmark without a side)
    "RTHI": None,
    "LTIB": None,
    "R.Thigh.Upper": None,
    "R.Heel.Bottom": None,
    "Heel": None,
    "WAND": None,
}


def test_landmark_synonyms_across_conventions() -> None:
    got = {}
    for name in CONVENTIONS:
        hit = recognise(name)
        got[name] = None if hit is None else (hit[0].key, hit[1])
    wrong = {n: (got[n], want) for n, want in CONVENTIONS.items() if got[n] != want}
    assert not wrong, wrong
    assert describe("R_FLE") == "right lateral femoral epicondyle"
    # one table: every landmark has synonyms and a body; the keys are unique
    assert len({lm.key for lm in LANDMARKS}) == len(LANDMARKS)
    assert all(lm.synonyms and lm.body for lm in LANDMARKS)


def test_plan_from_landmarks_needs_no_map() -> None:
    mm, bodies = model_marker_bodies(MODEL)
    ior = [
        "L_IAS",
        "R_IAS",
        "L_IPS",
        "R_IPS",
        "R_FLE",
        "R_FME",
        "R_FAL",
        "R_TAM",
        "R_FCC",
        "R_FM1",
        "R_FM2",
        "R_FM5",
    ]
    ior += ["R_FTC", "R_GT", "CV7", "SNJ", "R_WAND1"]
    plan = plan_markers(ior, mm, bodies)
    assert plan.rename == {
        "L_IAS": "LASI", "R_IAS": "RASI", "L_IPS": "LPSI", "R_IPS": "RPSI", "R_FLE": "RLFC", "R_FME": "RMFC",
        "R_FAL": "RLMAL", "R_TAM": "RMMAL", "R_FCC": "RCAL", "R_FM1": "RTOE", "R_FM5": "RMT5", "CV7": "C7",
        "SNJ": "CLAV",
    }  # fmt: skip
    # the first metatarsal head takes RTOE; the second tracks the foot; the trochanter (no model marker)
    # tracks the thigh
    assert plan.tracking["R_FM2"] == "calcn_r" and plan.tracking["R_GT"] == "femur_r"
    assert plan.how["R_FLE"].startswith("landmark: right lateral femoral epicondyle")
    rows = {r["lab"]: r for r in plan.mapping_table()}
    assert rows["R_FAL"]["model"] == "RLMAL" and rows["R_FAL"]["role"] == "renamed"
    # a sacrum marker is the hip joint centres' posterior landmark under its own name
    assert plan_markers(["RASI", "LASI", "V.Sacral"], mm, bodies).sacrum == "V.Sacral"


def test_static_trial_lacking_a_landmark_is_named(tmp_path: Path) -> None:
    from runmuscles.lab import prepare_lab_trial

    static = read_trc(GAIT2354 / "subject01_static.trc")
    drop = [k for k, n in enumerate(static.names) if n.startswith(("R.Knee", "L.Knee"))]
    keep = [k for k in range(len(static.names)) if k not in drop]
    cut = MarkerTable(
        static.time_s, static.positions_m[:, keep], [static.names[k] for k in keep], static.rate_hz, "mm", {}
    )
    s = write_trc(tmp_path / "static_without_knees.trc", cut)
    with pytest.raises(InputError) as exc:
        prepare_lab_trial(
            GAIT2354 / "subject01_walk1.trc",
            tmp_path / "out",
            static=s,
            forces=GAIT2354 / "subject01_walk1_grf.xml",
            mass_kg=72.6,
        )
    msg = str(exc.value)
    assert "static_without_knees.trc" in msg and "lacks the markers needed to scale the thigh" in msg
    assert (
        "RLFC (right lateral femoral epicondyle)" in msg and "RMFC (right medial femoral epicondyle)" in msg
    )


def test_gaps_filled_up_to_the_limit_long_ones_left_and_absent_markers_dropped() -> None:
    run = _hamner_run()
    rate = run.rate_hz
    pos = run.positions_m.copy()
    k_short, k_long, k_zero, k_gone = 0, 1, 2, 3
    n_short = int(np.floor(MAX_GAP_S * rate)) - 2  # within the limit (bridged: n + 1 sample steps)
    n_long = int(np.ceil(2 * MAX_GAP_S * rate))
    pos[100 : 100 + n_short, k_short] = np.nan
    pos[200 : 200 + n_long, k_long] = np.nan
    pos[300 : 300 + n_short, k_zero] = 0.0  # zeros are gaps too
    pos[: int(0.6 * len(pos)), k_gone] = np.nan
    pos[:3, 5] = np.nan  # at the start: no spline across the edge
    holed = MarkerTable(run.time_s, pos, list(run.names), rate, "mm", {})
    filled, rep = fill_gaps(holed)
    names = run.names
    # short gaps: a cubic spline through the seen samples, close to the true trajectory (running: 2 mm)
    for k, a in ((k_short, 100), (k_zero, 300)):
        err = np.abs(filled.marker(names[k])[a : a + n_short] - run.positions_m[a : a + n_short, k])
        assert np.isfinite(err).all() and err.max() < 0.01, (names[k], err.max())
    assert set(rep.filled_s) == {names[k_short], names[k_zero]} and rep.zeros_frames == n_short
    # long and edge gaps: left as NaN (blank in the .trc: zero weight in OpenSim IK), said
    assert np.isnan(filled.marker(names[k_long])[200 : 200 + n_long]).all()
    assert np.isnan(filled.marker(names[5])[:3]).all()
    assert set(rep.unfilled_s) == {names[k_long], names[5]}
    assert rep.longest_unfilled_s[names[k_long]] == pytest.approx((n_long + 1) / rate, rel=0.01)
    # mostly missing: dropped by name
    assert names[k_gone] not in filled.names and rep.dropped[names[k_gone]] == pytest.approx(0.6, abs=0.01)
    text = " ".join(rep.flags("Run_4.trc"))
    assert f"{names[k_gone]} (60 % missing)" in text
    # the gaps left open are named by the one gap check (runmuscles.plausibility)
    from runmuscles.plausibility import marker_gap_warnings

    (w,), _ = marker_gap_warnings(filled, "Run_4.trc")
    assert w.code == "marker_gap_too_long" and names[k_long] in w.message
    # a complete table passes unchanged
    same, rep2 = fill_gaps(run)
    assert np.array_equal(same.positions_m, run.positions_m) and not (rep2.filled_s or rep2.dropped)


@pytest.mark.parametrize(
    "lab_from_osim",
    [
        np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),  # Z up, running along +Y, right = +X
        np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),  # Z up, running along -X
        np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),  # Y up, running along +Z
    ],
)
def test_lab_axes_detected_and_undone(lab_from_osim: np.ndarray) -> None:
    run = _hamner_run()
    assert detect_axes(run).is_identity  # OpenSim's own axes stay
    lab = rotate_markers(run, lab_from_osim)
    ax = detect_axes(lab)
    assert ax.found and ax.snapped and not ax.sides_mirrored
    np.testing.assert_allclose(ax.rotation @ lab_from_osim, np.eye(3), atol=1e-12)
    # sides exchanged in the labels: right markers on the left, said
    swapped = MarkerTable(
        run.time_s,
        run.positions_m,
        [("L" + n[1:] if n[0] == "R" else "R" + n[1:] if n[0] == "L" else n) for n in run.names],
        run.rate_hz,
        "mm",
        {},
    )
    assert detect_axes(swapped).sides_mirrored


def test_lab_axes_overground_from_travel() -> None:
    trc = GAIT2354 / "subject01_static.trc"
    static = read_trc(trc)
    assert detect_axes(static).is_identity
    # a static trial facing another way (the Hamner static trials face lab +Z): turned to face +X
    hamner_static = DATA / "rajagopal2016-running" / "static_run.trc"
    if hamner_static.is_file():
        ax = detect_axes(read_trc(hamner_static))
        assert (
            ax.snapped and np.allclose(ax.rotation[0], [0, 0, 1]) and np.allclose(ax.rotation[1], [0, 1, 0])
        )


def _diagnosis_case(
    tmp_path: Path, offset: dict[str, np.ndarray], first: float = 0.0, turned: bool = False
) -> IKDiagnosis:
    """Markers and 'model markers' of a real trial, the model's displaced as given."""
    run = _hamner_run()
    sub = MarkerTable(run.time_s[:200], run.positions_m[:200], list(run.names), run.rate_hz, "mm", {})
    trc = write_trc(tmp_path / "markers.trc", sub)
    model = sub.positions_m.copy()
    rng = np.random.default_rng(0)
    model += rng.normal(0.0, 0.004, model.shape)  # a good fit: 4 mm noise
    for name, d in offset.items():
        model[:, sub.names.index(name)] += d
    model[:10] += first
    if turned:  # the model facing back: turned 180 deg about the vertical through the pelvis
        centre = np.nanmean(model[:, [sub.names.index(n) for n in ("RASI", "LASI")]], axis=1, keepdims=True)
        model = (model - centre) * np.array([-1.0, 1.0, -1.0]) + centre
    cols = [f"{n}_t{a}" for n in sub.names for a in "xyz"]
    lines = [
        "model_marker_locations",
        "version=1",
        f"nRows={sub.time_s.size}",
        f"nColumns={len(cols) + 1}",
        "inDegrees=no",
        "endheader",
        "time\t" + "\t".join(cols),
    ]
    for i, t in enumerate(sub.time_s):
        lines.append(f"{t:.6f}\t" + "\t".join(f"{v:.6f}" for v in model[i].ravel()))
    sto = tmp_path / "ik_model_marker_locations.sto"
    sto.write_text("\n".join(lines) + "\n")
    return diagnose_ik(trc, sto)


def test_ik_diagnosis_names_worst_markers_and_cause(tmp_path: Path) -> None:
    run = _hamner_run()
    names = run.names
    r_elbow = next(n for n in names if describe(n) == "right lateral humeral epicondyle")
    l_elbow = next(n for n in names if describe(n) == "left lateral humeral epicondyle")
    # a steady 6 cm offset on one marker: mapped to the wrong landmark
    d = _diagnosis_case(tmp_path, {r_elbow: np.array([0.0, 0.06, 0.0])})
    assert (
        d.code == "constant_offset"
        and d.worst[0][0] == r_elbow
        and d.worst[0][1] == pytest.approx(0.06, abs=0.01)
    )
    # right and left elbows exchanged
    k_r, k_l = names.index(r_elbow), names.index(l_elbow)
    swap = run.positions_m[:200, k_l] - run.positions_m[:200, k_r]
    d = _diagnosis_case(tmp_path, {r_elbow: swap, l_elbow: -swap})
    assert d.code == "swapped_sides" and r_elbow in d.cause and l_elbow in d.cause
    # first frames far off (IK started far from the pose)
    d = _diagnosis_case(tmp_path, {}, first=0.3)
    assert d.code == "initial_pose"
    # the model facing back (IK started facing +X, the runner faced -X): not mistaken for swapped sides
    d = _diagnosis_case(tmp_path, {}, turned=True)
    assert d.code == "initial_pose" and re.search(r"faces 1[78]\d deg away", d.cause)
    # the whole body off: axes
    d = _diagnosis_case(tmp_path, dict.fromkeys(names, np.array([0.0, 0.0, 0.1])))
    assert d.code == "whole_body"
    # the gate: fine below 2 cm, flagged above, stops above 4 cm unless accepted (then not valid)
    assert ik_gate(0.015, d, accept=False, where="t.trc") == []
    (w,) = ik_gate(0.03, d, accept=False, where="t.trc")
    assert w.code == "ik_marker_error" and not w.invalidates
    with pytest.raises(
        InputError, match=r"t.trc: inverse kinematics marker error 6.4 cm RMS .*--accept-ik-error"
    ):
        ik_gate(0.064, d, accept=False, where="t.trc")
    (w,) = ik_gate(0.064, d, accept=True, where="t.trc")
    assert w.code == "ik_marker_error_above_limit" and w.invalidates


def test_a_whole_leg_with_the_other_sides_labels_is_said() -> None:
    # inverse kinematics can fit it (the model's right leg follows the left leg): the marker error
    # does not show it, the markers' side of the pelvis does
    from runmuscles.lab.ik_quality import markers_on_wrong_side, wrong_side_warning

    run = _hamner_run()
    assert markers_on_wrong_side(run, {}) == [] and wrong_side_warning(run, {}) == []
    leg = ("TH", "TB", "CAL", "TOE", "MT5")
    names = [
        ({"R": "L", "L": "R"}[n[0]] + n[1:]) if n[0] in "RL" and n[1:].startswith(leg) else n
        for n in run.names
    ]
    swapped = MarkerTable(run.time_s, run.positions_m, names, run.rate_hz, "mm", {})
    wrong = markers_on_wrong_side(swapped, {})
    assert {"RTH1", "LTH1", "RTH2", "LTH2", "LTB1"} <= set(wrong)
    assert "RASI" not in wrong and "RACR" not in wrong
    (w,) = wrong_side_warning(swapped, {})
    assert w.code == "markers_on_wrong_side" and "RTH" in w.message and not w.invalidates


def test_trc_times_rounded_in_the_file_are_taken_on_the_rate_grid() -> None:
    walk = read_trc(GAIT2354 / "subject01_walk1.trc")  # 60 Hz written as 0.017, 0.033 ...
    np.testing.assert_allclose(np.diff(walk.time_s), 1 / 60, rtol=1e-9)
    assert "taken at 60 Hz" in walk.meta["time_note"]


def test_forces_file_in_the_labs_axes_is_told_by_the_centre_of_pressure(tmp_path: Path) -> None:
    # a lab with Y up running along -X: the vertical alone cannot tell the forces' axes
    from runmuscles.lab.force_axes import forces_frame, rotate_external_loads
    from runmuscles.readers.opensim_files import read_external_loads

    run = _hamner_run()
    xml = DATA / "hamner2013" / "subject01" / "Run_4_grf.xml"
    loads = read_external_loads(xml)
    lab_to_osim = np.diag([-1.0, 1.0, -1.0])
    ax = detect_axes(rotate_markers(run, lab_to_osim.T))
    np.testing.assert_allclose(ax.rotation, lab_to_osim, atol=1e-12)
    fr = forces_frame(loads, run, ax.rotation)  # forces exported in OpenSim's axes
    assert fr.frame == "opensim" and fr.cop_to_foot_m["opensim"] < 0.15 < 1.0 < fr.cop_to_foot_m["lab"]
    # the same forces written in the lab's axes: told, and turned back exactly
    d = loads.data
    cols = [
        c for f in loads.forces for trip in (f.force_columns, f.point_columns, f.torque_columns) for c in trip
    ]
    lab_data = d.data.copy()
    for k in range(0, len(cols), 3):
        idx = [d.labels.index(c) for c in cols[k : k + 3]]
        lab_data[:, idx] = lab_data[:, idx] @ lab_to_osim  # v_lab = R^T v_osim
    loads.data.data[:] = lab_data
    assert forces_frame(loads, run, ax.rotation).frame == "lab"
    turned = read_external_loads(rotate_external_loads(xml, loads, ax.rotation, tmp_path))
    original = read_external_loads(xml)
    for c in cols:
        np.testing.assert_allclose(turned.data.column(c), original.data.column(c), atol=1e-5)
    assert [f.applied_to_body for f in turned.forces] == [f.applied_to_body for f in original.forces]
