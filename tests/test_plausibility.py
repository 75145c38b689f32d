"""Physical plausibility and damaged files (runmuscles.plausibility), on mutated copies of the
shared trials: each class of bad input ends in exit 2 with one line naming the file, or in
exit 0 with a named warning in summary.json; the real trials raise no alarm."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import HAMNER, HAMNER_SUBJECTS, SHARED_DATA

from runmuscles import plausibility as pl
from runmuscles.constants import STANDARD_GRAVITY_M_S2
from runmuscles.errors import InputError
from runmuscles.readers.opensim_files import read_external_loads, read_storage, read_trc
from runmuscles.validation import LIMITS, MAX_GAP_S

TRIAL = "Run_3"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, timeout=900
    )


# -- mutated copies of one hamner2013 trial ------------------------------------------------------


def _split_storage(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(header lines up to the column labels, labels, data) of a .mot/.sto file."""
    lines = path.read_text().splitlines()
    end = next(i for i, ln in enumerate(lines) if ln.strip().lower() == "endheader")
    k = end + 1
    while not lines[k].strip():
        k += 1
    labels = lines[k].split("\t") if "\t" in lines[k] else lines[k].split()
    data = np.array([ln.split() for ln in lines[k + 1 :] if ln.strip()], dtype=float)
    return lines[: k + 1], [lab.strip() for lab in labels], data


def _write_storage(path: Path, head: list[str], data: np.ndarray) -> None:
    body = "\n".join("\t".join(f"{v:.10g}" for v in row) for row in data)
    path.write_text("\n".join(head) + "\n" + body + "\n")


def _trial_copy(tmp_path: Path, *, forces=None, angles=None) -> Path:
    """A hamner2013 subject01 trial folder in tmp_path; ``forces(labels, data)`` and
    ``angles(labels, data)`` change the force and joint angle tables (returning the data)."""
    src = HAMNER / "subject01"
    dst = tmp_path / "subject01"
    (dst / "ik").mkdir(parents=True)
    (dst / "model").mkdir()
    model = next((src / "model").glob("*scaled*.osim"))
    (dst / "model" / model.name).symlink_to(model)
    for name, fn, rel in ((f"{TRIAL}_grf.mot", forces, ""), (f"{TRIAL}.mot", angles, "ik/")):
        head, labels, data = _split_storage(src / rel / name)
        if fn is not None:
            data = fn(labels, data.copy())
        _write_storage(dst / rel / name, head, data)
    (dst / f"{TRIAL}_grf.xml").write_text((src / f"{TRIAL}_grf.xml").read_text())
    return dst


def _vertical_columns(labels: list[str]) -> list[int]:
    """Indices of the vertical force columns of the hamner force files (``*_vy``)."""
    cols = [i for i, lab in enumerate(labels) if lab.endswith("_vy")]
    assert len(cols) == 2, labels
    return cols


def _analyze(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("analyze", str(folder), "--trial", TRIAL, "--out", str(out), "--no-report", "-q", *extra)


def _refused(r: subprocess.CompletedProcess, *words: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("runmuscles: error: "), lines[0]
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def _summary(r: subprocess.CompletedProcess, out: Path) -> dict:
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((out / "summary.json").read_text())


def _codes(summary: dict) -> list[str]:
    return [w["code"] for w in summary["quality"]["warnings"]]


needs_hamner = pytest.mark.skipif(not HAMNER.is_dir(), reason="../shared/data/hamner2013 is not present")


# -- forces against body weight ------------------------------------------------------------------


@needs_hamner
@pytest.mark.parametrize(
    ("name", "mutate", "words"),
    [
        ("x1000", lambda lab, d: _scale_forces(lab, d, 1000.0), ("x body weight", "newtons expected")),
        ("one_1e30_sample", lambda lab, d: _spike(lab, d), ("1e+30 N", "spike", "t = ")),
        ("negated_vertical", lambda lab, d: _negate(lab, d), ("negative", "axes flipped")),
        ("all_zero_vertical", lambda lab, d: _zero(lab, d), ("zero throughout",)),
        ("another_runner", lambda lab, d: _scale_forces(lab, d, 0.6), ("weigh the runner at", "72.8 kg")),
    ],
)
def test_impossible_forces_are_refused_naming_the_file(tmp_path, name, mutate, words):
    folder = _trial_copy(tmp_path, forces=mutate)
    line = _refused(_analyze(folder, tmp_path / "out"), *words)
    assert f"{TRIAL}_grf.mot" in line


def _scale_forces(labels, data, factor):
    force_cols = [i for i, lab in enumerate(labels) if lab.endswith(("_vx", "_vy", "_vz"))]
    data[:, force_cols] *= factor
    return data


def _spike(labels, data):
    data[data.shape[0] // 3, _vertical_columns(labels)[0]] = 1e30
    return data


def _negate(labels, data):
    data[:, _vertical_columns(labels)] *= -1.0
    return data


def _zero(labels, data):
    data[:, _vertical_columns(labels)] = 0.0
    return data


@needs_hamner
def test_forces_in_wrong_units_refused_on_the_lab_path_before_anything_else(tmp_path):
    """Joint angles + forces file + --mass (the lab path, no inverse kinematics)."""
    folder = _trial_copy(tmp_path, forces=lambda lab, d: _scale_forces(lab, d, 1000.0))
    model = next((folder / "model").glob("*.osim"))
    r = run_cli(
        "analyze",
        str(folder / "ik" / f"{TRIAL}.mot"),
        "--model",
        str(model),
        "--forces",
        str(folder / f"{TRIAL}_grf.xml"),
        "--mass",
        "72.8",
        "--out",
        str(tmp_path / "out"),
        "--no-report",
        "-q",
    )
    _refused(r, "the forces weigh the runner at 7.", "kg", "newtons expected", f"{TRIAL}_grf.mot")


def test_check_forces_without_a_mass_weighs_the_runner_and_refuses_an_absurd_one():
    t = np.arange(0.0, 6.0, 0.001)
    bw = 70.0 * STANDARD_GRAVITY_M_S2
    # alternating stances of 0.25 s every 0.35 s (steps), half-sine of 2.5 BW
    right = np.zeros_like(t)
    left = np.zeros_like(t)
    for k, t0 in enumerate(np.arange(0.1, 5.8, 0.35)):
        sel = (t >= t0) & (t < t0 + 0.25)
        (right if k % 2 == 0 else left)[sel] = 2.5 * bw * np.sin(np.pi * (t[sel] - t0) / 0.25)
    forces = {"right": right, "left": left}
    mean_n, n = pl.stride_vertical_impulse_bw(t, forces, 1.0)
    assert n >= 10
    assert mean_n / STANDARD_GRAVITY_M_S2 == pytest.approx(70.0 * 2.5 * 0.25 * 2 / np.pi / 0.35, rel=0.02)
    assert pl.check_forces(t, forces, None, "f.mot") == []
    with pytest.raises(InputError, match="weigh the runner at .* kg"):
        pl.check_forces(t, {k: 1000 * v for k, v in forces.items()}, None, "f.mot")
    with pytest.raises(InputError, match="spike"):
        spiked = dict(forces, right=right.copy())
        spiked["right"][2000] = 1e30
        pl.check_forces(t, spiked, None, "f.mot")


@needs_hamner
@pytest.mark.parametrize("subject", HAMNER_SUBJECTS)
def test_real_forces_pass_and_weigh_the_runner(subject):
    """No false alarm: every hamner2013 trial's forces pass against its model's mass, and the
    vertical impulse of its strides is within 4 % of body weight x time."""
    from runmuscles.model.multibody import load_osim

    folder = HAMNER / subject
    mass_kg = load_osim(next((folder / "model").glob("*scaled*.osim"))).total_mass_kg
    for run in (2, 3, 4, 5):
        loads = read_external_loads(folder / f"Run_{run}_grf.xml")
        t, vert, cols = pl.vertical_by_foot(loads)
        assert pl.check_forces(t, vert, mass_kg, loads.source, columns=cols) == []
        ratio, n = pl.stride_vertical_impulse_bw(t, vert, mass_kg * STANDARD_GRAVITY_M_S2)
        assert n >= 5
        assert abs(ratio - 1.0) < 0.045, (subject, run, ratio)


# -- the stated speed against the motion's ----------------------------------------------------------


@needs_hamner
def test_speed_far_from_the_motions_is_a_warning_then_an_error(tmp_path):
    folder = _trial_copy(tmp_path)
    out = tmp_path / "ok"
    s = _summary(_analyze(folder, out), out)
    assert "speed_mismatch" not in _codes(s)
    out = tmp_path / "fast"
    s = _summary(_analyze(folder, out, "--speed", "4.5"), out)
    assert s["quality"]["valid"] is True
    msg = next(w["message"] for w in s["quality"]["warnings"] if w["code"] == "speed_mismatch")
    assert "--speed is 4.5 m/s" in msg and "stance foot" in msg
    _refused(_analyze(folder, tmp_path / "absurd", "--speed", "9"), "--speed is 9 m/s", f"{TRIAL}.mot")


def test_check_speed_uses_the_declared_limits():
    lo, hi = LIMITS["speed_ratio_stated_to_motion"].low, LIMITS["speed_ratio_stated_to_motion"].high
    assert pl.check_speed(3.0, (3.0 / (hi - 0.01), "x"), "f") == []
    assert [w.code for w in pl.check_speed(3.0, (3.0 / (hi + 0.05), "x"), "f")] == ["speed_mismatch"]
    assert [w.code for w in pl.check_speed(3.0, (3.0 / (lo - 0.05), "x"), "f")] == ["speed_mismatch"]
    with pytest.raises(InputError, match="m/s"):
        pl.check_speed(3.0, (1.0, "x"), "f")
    assert pl.check_speed(None, (3.0, "x"), "f") == []
    assert pl.check_speed(3.0, None, "f") == []


# -- joint angle ranges -----------------------------------------------------------------------------


@needs_hamner
@pytest.mark.parametrize(
    ("column", "change"),
    [("knee_angle_r", lambda v: np.degrees(v)), ("hip_flexion_l", lambda v: v + 200.0)],
)
def test_joint_angles_far_outside_the_models_ranges_are_refused(tmp_path, column, change):
    def mutate(labels, data):
        j = labels.index(column)
        data[:, j] = change(data[:, j])
        return data

    folder = _trial_copy(tmp_path, angles=mutate)
    _refused(_analyze(folder, tmp_path / "out"), f"column '{column}'", "model's range", f"{TRIAL}.mot")


# -- damaged files --------------------------------------------------------------------------------


@needs_hamner
def test_reordered_time_is_refused_naming_the_row(tmp_path):
    def swap(labels, data):
        data[[100, 101]] = data[[101, 100]]
        return data

    folder = _trial_copy(tmp_path, angles=swap)
    _refused(_analyze(folder, tmp_path / "out"), f"{TRIAL}.mot", "not increasing at data row 102")


@needs_hamner
def test_joint_angles_cut_short_keep_the_part_present_with_a_warning(tmp_path):
    out = tmp_path / "whole"
    whole = _summary(_analyze(_trial_copy(tmp_path / "a"), out), out)
    folder = _trial_copy(tmp_path / "b", angles=lambda lab, d: d[: d.shape[0] // 2])
    out = tmp_path / "cut"
    s = _summary(_analyze(folder, out), out)
    msg = next(w["message"] for w in s["quality"]["warnings"] if w["code"] == "file_truncated")
    assert f"{TRIAL}.mot" in msg and "declares 475 frames" in msg
    assert 0 < s["n_strides"] < whole["n_strides"]
    assert "file_truncated" not in _codes(whole)


@needs_hamner
def test_a_long_hole_in_the_joint_angles_is_not_bridged(tmp_path):
    """1 s of rows missing: the strides over it are dropped and said, none is counted."""
    out = tmp_path / "whole"
    whole = _summary(_analyze(_trial_copy(tmp_path / "a"), out), out)

    def hole(labels, data):
        t = data[:, 0]
        return data[(t < 2.0) | (t > 3.0)]

    out = tmp_path / "hole"
    s = _summary(_analyze(_trial_copy(tmp_path / "b", angles=hole), out), out)
    codes = _codes(s)
    assert "gap_too_long" in codes and "strides_dropped_for_gaps" in codes
    assert "file_truncated" not in codes  # rows missing inside the span are a gap, not a cut
    for st in s["strides"]:
        assert st["end_s"] <= 2.0 + 1e-6 or st["start_s"] >= 3.0 - 1e-6
    assert s["n_strides"] < whole["n_strides"]


@needs_hamner
def test_a_short_hole_is_interpolated_and_noted(tmp_path):
    def hole(labels, data):
        return np.delete(data, [200, 201, 202], axis=0)  # 30 ms at 100 Hz

    out = tmp_path / "out"
    s = _summary(_analyze(_trial_copy(tmp_path, angles=hole), out), out)
    assert "gap_too_long" not in _codes(s)
    assert any("short gap" in n for n in s["quality"]["notes"])


@needs_hamner
def test_forces_cut_short_are_said(tmp_path):
    folder = _trial_copy(tmp_path, forces=lambda lab, d: d[: int(0.7 * d.shape[0])])
    out = tmp_path / "out"
    s = _summary(_analyze(folder, out), out)
    msg = next(w["message"] for w in s["quality"]["warnings"] if w["code"] == "file_truncated")
    assert f"{TRIAL}_grf.mot" in msg


@needs_hamner
def test_a_long_hole_in_the_forces_drops_the_strides_over_it(tmp_path):
    def hole(labels, data):
        t = data[:, 0]
        return data[(t < 2.0) | (t > 2.5)]

    out = tmp_path / "out"
    s = _summary(_analyze(_trial_copy(tmp_path, forces=hole), out), out)
    msg = next(w["message"] for w in s["quality"]["warnings"] if w["code"] == "gap_too_long")
    assert f"{TRIAL}_grf.mot" in msg and "forces missing from 1.999 to 2.501 s" in msg
    assert "strides_dropped_for_gaps" in _codes(s) and s["n_strides"] > 0
    for st in s["strides"]:
        assert st["end_s"] <= 2.0 or st["start_s"] >= 2.5


def test_truncated_c3d_is_detected_from_its_own_header(tmp_path):
    from runmuscles.readers.c3d import read_c3d

    src = SHARED_DATA / "fukuchi2017" / "RBDS001" / "RBDS001runT35.c3d"
    if not src.is_file():
        pytest.skip("fukuchi2017 is not present")
    whole = read_c3d(src)
    assert pl.truncation_warnings(whole.markers.time_s, whole.markers.meta) == []
    raw = src.read_bytes()
    cut = tmp_path / "half.c3d"
    cut.write_bytes(raw[: len(raw) // 2])
    half = read_c3d(cut)
    (w,) = pl.truncation_warnings(half.markers.time_s, half.markers.meta)
    assert w.code == "file_truncated"
    assert "half.c3d" in w.message and "declares 4500 frames (30 s)" in w.message
    assert half.markers.time_s.size < 2300


def _trc_text() -> str:
    src = HAMNER / "subject01" / f"{TRIAL}.trc"
    if not src.is_file():
        pytest.skip("hamner2013 is not present")
    return src.read_text()


def test_truncated_trc_is_said_and_a_trimmed_one_is_not(tmp_path):
    text = _trc_text()
    whole = tmp_path / "whole.trc"
    whole.write_text(text)
    m = read_trc(whole)
    assert pl.truncation_warnings(m.time_s, m.meta) == []
    cut = tmp_path / "cut.trc"
    cut.write_text(text[: len(text) // 2])  # cut inside a row
    m = read_trc(cut)
    (w,) = pl.truncation_warnings(m.time_s, m.meta)
    assert w.code == "file_truncated" and "cut.trc" in w.message
    # the published subject10/11 files declare up to 7 % more frames than they hold: no alarm
    for path in sorted((SHARED_DATA / "hamner2013").glob("subject1[01]/Run_*.trc")):
        m = read_trc(path)
        assert pl.truncation_warnings(m.time_s, m.meta) == [], path


def test_trc_with_reordered_time_is_refused(tmp_path):
    lines = _trc_text().splitlines()
    lines[20], lines[21] = lines[21], lines[20]
    p = tmp_path / "swapped.trc"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"swapped.trc: Time is not increasing at data row 16"):
        read_trc(p)


# -- gaps -------------------------------------------------------------------------------------------


def test_find_gaps_counts_missing_rows_and_missing_samples():
    t = np.arange(0.0, 2.0, 0.01)
    assert pl.find_gaps(t) == []
    holed = np.delete(t, np.arange(50, 80))  # 0.3 s of rows missing
    (g,) = pl.find_gaps(holed)
    assert g.start_s == pytest.approx(0.49) and g.end_s == pytest.approx(0.80) and g.rows == 30
    x = np.ones((t.size, 3))
    x[100:104] = np.nan  # 40 ms
    x[150:170] = 0.0  # 200 ms of zero-filled samples
    gaps = pl.find_gaps(t, x, zero_is_missing=True)
    assert [round(g.duration_s, 3) for g in gaps] == [0.05, 0.21]
    long, warnings, notes = pl.gap_warnings(gaps, "m.trc", "markers")
    assert [g.rows for g in long] == [20] and [w.code for w in warnings] == ["gap_too_long"]
    assert notes and "1 short gap" in notes[0]
    assert pytest.approx(0.1) == MAX_GAP_S


def test_marker_gaps_longer_than_the_limit_are_named():
    m = read_trc(HAMNER / "subject01" / f"{TRIAL}.trc") if HAMNER.is_dir() else pytest.skip("no hamner")
    assert pl.marker_gap_warnings(m, "x.trc")[0] == []
    m.positions_m[100:140, 3, :] = np.nan  # 0.4 s at 100 Hz
    m.positions_m[200:203, 5, :] = 0.0  # zero-filled, 30 ms
    (w,), notes = pl.marker_gap_warnings(m, "x.trc")
    assert w.code == "marker_gap_too_long" and m.names[3] in w.message
    assert m.names[5] not in w.message and notes


def test_strides_over_a_gap_are_dropped_and_a_requested_one_is_refused():
    from runmuscles.kinematics.events import StrideCycle

    cycles = [StrideCycle("right", a, a + 0.2, a + 0.7, a + 0.1, k + 1) for k, a in enumerate([0, 0.7, 1.4])]
    checks = pl.InputChecks([], [], [pl.Gap(0.8, 1.0, 19)], "ik.mot")
    kept = checks.keep_cycles(cycles)
    assert [c.index for c in kept] == [1, 3]
    assert [w.code for w in checks.warnings] == ["strides_dropped_for_gaps"]
    with pytest.raises(InputError, match="cycle 2 overlap"):
        checks.keep_cycles(cycles[1:2], requested=2)
    with pytest.raises(InputError, match="window 0.75-1.3 s overlaps data gaps .* no complete stride"):
        checks.keep_cycles([], window_s=(0.75, 1.3))
    assert checks.keep_cycles([], window_s=(1.1, 1.3)) == []


def test_time_column_check_names_the_row():
    pl.check_time_column(np.array([0.0, 0.1, 0.2]), "f")
    said = r"f: time is not increasing at data row 3 \(t = 0.05 s after 0.1 s\)"
    with pytest.raises(InputError, match=said):
        pl.check_time_column(np.array([0.0, 0.1, 0.05]), "f")
    with pytest.raises(InputError, match="non-finite value at data row 2"):
        pl.check_time_column(np.array([0.0, np.nan, 0.2]), "f")


def test_mot_header_declaring_more_rows_or_a_longer_span_is_a_truncation(tmp_path):
    p = tmp_path / "a.mot"
    rows = "".join(f"{k / 100}\t1\n" for k in range(6))
    p.write_text("a\nnRows=10\nnColumns=2\nendheader\ntime\tx\n" + rows)
    t = read_storage(p)
    (w,) = pl.truncation_warnings(t.time_s, t.meta)
    assert "declares 10 frames" in w.message
    p.write_text("a\ndatarows 6\nrange 0 0.2\nendheader\ntime\tx\n" + rows)
    t = read_storage(p)
    (w,) = pl.truncation_warnings(t.time_s, t.meta)
    assert "to 0.2 s" in w.message
    p.write_text("a\nnRows=6\nendheader\ntime\tx\n" + rows)
    t = read_storage(p)
    assert pl.truncation_warnings(t.time_s, t.meta) == []


@needs_hamner
def test_motion_speed_overground_from_the_pelvis_and_on_a_treadmill_from_the_stance_foot():
    """The treadmill trial as recorded: the stance foot moves back at the belt's speed; the
    same motion carried forward at that speed (pelvis_tx + v t) is overground: the pelvis."""
    from runmuscles.kinematics.coordinates import prepare_coordinates
    from runmuscles.model import RunnerModel

    folder = HAMNER / "subject01"
    model = RunnerModel.load(next((folder / "model").glob("*scaled*.osim")))
    table = read_storage(folder / "ik" / f"{TRIAL}.mot")
    loads = read_external_loads(folder / f"{TRIAL}_grf.xml")
    t_f, vert, _ = pl.vertical_by_foot(loads)
    feet = {"right": "calcn_r", "left": "calcn_l"}

    def speed(tab):
        ck = prepare_coordinates(
            tab, model.coordinate_names, model.rotational, lowpass_hz=12.0, fill=model.fill_values(tab)
        )
        q, _, _ = model.complete_coordinates(ck.q, ck.qdot, ck.qddot)
        return pl.motion_speed_m_s(model, ck.time_s, q, {"time_s": t_f, **vert}, feet)

    belt, how = speed(table)
    assert belt == pytest.approx(3.0, rel=0.05) and "stance foot" in how
    moved = table.data.copy()
    moved[:, table.labels.index("pelvis_tx")] += 3.0 * (table.time_s - table.time_s[0])
    ground, how = speed(type(table)(table.time_s, moved, table.labels, table.in_degrees, table.meta))
    assert ground == pytest.approx(3.0, rel=0.05) and "pelvis" in how
    (w,) = pl.check_speed(4.5, (ground, how), "ik.mot", stated_from="--speed")
    assert w.code == "speed_mismatch" and "pelvis" in w.message


_CHECK_CODES = {
    "file_truncated",
    "gap_too_long",
    "strides_dropped_for_gaps",
    "speed_mismatch",
    "marker_gap_too_long",
}


@needs_hamner
@pytest.mark.parametrize(
    ("subject", "run"),
    # the closest calls on the shared data: subject02 Run_5 flexes the knee 13 deg beyond its
    # model's range; subject19 Run_5's belt speed (5 m/s) is 12 % above its stance foot's
    [("subject02", "Run_5"), ("subject19", "Run_5"), ("subject10", "Run_2")],
)
def test_real_trials_raise_no_alarm(tmp_path, subject, run):
    out = tmp_path / "out"
    r = run_cli("analyze", str(HAMNER / subject), "--trial", run, "--out", str(out), "--no-report", "-q")
    s = _summary(r, out)
    assert not _CHECK_CODES & set(_codes(s)), s["quality"]["warnings"]
    assert s["n_strides"] >= 3


@pytest.mark.parametrize("name", ["RBDS001/RBDS001runT25.c3d", "RBDS002/RBDS002runT45.c3d"])
def test_real_c3d_trials_pass_the_checks(tmp_path, name):
    """No false alarm on the Fukuchi 2017 C3D files: whole, their plates' forces plausible
    (weighing the runner within 5 % of the mass in participantInfo.csv)."""
    from runmuscles.lab.forces import split_plates
    from runmuscles.readers.c3d import read_c3d

    path = SHARED_DATA / "fukuchi2017" / name
    if not path.is_file():
        pytest.skip("fukuchi2017 is not present")
    c3d = read_c3d(path)
    assert pl.truncation_warnings(c3d.markers.time_s, c3d.markers.meta) == []
    _, _, feet = split_plates(c3d, tmp_path, "grf")
    vertical = {"right": feet.force_n["r"][:, 1], "left": feet.force_n["l"][:, 1]}
    assert pl.check_forces(feet.time_s, vertical, None, path) == []
    mean_n, n = pl.stride_vertical_impulse_bw(feet.time_s, vertical, 1.0)
    mass_kg = {"RBDS001": 62.0, "RBDS002": 80.0}[name.split("/")[0]]
    assert n > 50 and mean_n / STANDARD_GRAVITY_M_S2 == pytest.approx(mass_kg, rel=0.05)
