"""Overground trials: plates under some steps (runmuscles.kinematics.overground, runmuscles.lab).

The overground trials are made here from a Fukuchi 2017 treadmill trial (one plate under the
belt, 2.5 s of it): moved over fixed ground at the belt speed, the belt plate cut into plates
under chosen steps, rotated into another lab's axes, renamed to Plug-in Gait and given
marker gaps (:mod:`overground_cases`). They must give what the same treadmill markers give
through the same lab path:

* plates under three consecutive steps (one complete stride): the stride is found, the
  activations agree within 0.02 RMS over it and the body mass within 2 %;
* plates under two steps: refused with one line offering ``--stance-only``; with it, the
  same on the measured stances, labelled stance-only.

And bad input: a plate struck by both feet at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import one_line_error, run_cli

from runmuscles.errors import InputError
from runmuscles.kinematics.forceplates import body_weight_from_cycles
from runmuscles.kinematics.overground import Step, measured_window

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overground_cases as oc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FUKUCHI = REPO / ".." / "shared" / "data" / "fukuchi2017"
RUNNER, SPEED = "RBDS03", "35"
HEIGHT_M = 1.77  # participantInfo.csv
WINDOW_S = (5.0, 7.5)  # of the treadmill trial
GAPS = {  # Fukuchi name: (start, end) s from the window's start, each shorter than MAX_GAP_S
    "R.Thigh.Top.Lateral": (0.5, 0.56),
    "L.Shank.Top.Medial": (0.7, 0.78),
    "R.ASIS": (0.9, 0.95),
    "L.Heel.Bottom": (1.3, 1.36),
}


# -- the pieces, on made-up steps -------------------------------------------------------------------


def _steps(*spec: tuple[str, float, bool]) -> list[Step]:
    """Running steps 0.25 s long, one every 0.35 s: ``(side, start, measured)``."""
    return [Step(s, t, t + 0.25, m, 1 if m else None) for s, t, m in spec]


def test_three_consecutive_measured_steps_make_one_stride() -> None:
    steps = _steps(
        ("l", 0.0, False), ("r", 0.35, True), ("l", 0.7, True), ("r", 1.05, True), ("l", 1.4, False)
    )
    w = measured_window(steps)
    assert (w.kind, w.side, w.start_s, w.end_s) == ("stride", "right", 0.35, 1.05)
    assert w.cycles_s == [(0.35, 1.05)]
    assert any("left out: 2 step(s) off the plates" in n for n in w.notes)


def test_left_right_left_gives_a_left_stride_and_the_longest_run_wins() -> None:
    w = measured_window(_steps(("l", 0.0, True), ("r", 0.35, True), ("l", 0.7, True), ("r", 1.05, False)))
    assert (w.kind, w.side, w.start_s, w.end_s) == ("stride", "left", 0.0, 0.7)
    # two measured cycles back to back beat one; a gap between runs splits them
    steps = _steps(
        ("r", 0.0, True),
        ("l", 0.35, True),
        ("r", 0.7, True),
        ("l", 1.05, False),
        ("r", 1.4, True),
        ("l", 1.75, True),
        ("r", 2.1, True),
        ("l", 2.45, True),
        ("r", 2.8, True),
    )
    w = measured_window(steps)
    assert (w.start_s, w.end_s) == (1.4, 2.8) and len(w.cycles_s) == 3


def test_same_foot_twice_on_plates_is_not_a_stride() -> None:
    """Right steps two strides apart on plates, the steps between them off: no cycle."""
    steps = _steps(
        ("r", 0.0, True), ("l", 0.35, False), ("r", 0.7, False), ("l", 1.05, False), ("r", 1.4, True)
    )
    with pytest.raises(InputError, match="catch no complete stride.*--stance-only"):
        measured_window(steps)
    w = measured_window(steps, stance_only=True)
    assert w.kind == "stance_only" and (w.start_s, w.end_s) == (0.0, 0.25) and not w.cycles_s


def test_two_measured_steps_are_stance_only() -> None:
    steps = _steps(("r", 0.0, False), ("l", 0.35, True), ("r", 0.7, True), ("l", 1.05, False))
    with pytest.raises(InputError, match=r"L 0.35-0.60 s \(plate 1\), R 0.70-0.95 s \(plate 1\)"):
        measured_window(steps)
    w = measured_window(steps, stance_only=True)
    assert (w.kind, w.side, w.start_s, w.end_s) == ("stance_only", "left", 0.35, 0.95)


def test_every_step_measured_imposes_no_window() -> None:
    steps = _steps(*[("rl"[k % 2], 0.35 * k, True) for k in range(8)])
    w = measured_window(steps)
    assert w.kind == "all_measured" and w.start_s is None and len(w.cycles_s) == 3


def test_walking_double_support_needs_both_contacts_measured() -> None:
    """Overlapping steps (walking): the left step under the right strike must be measured too."""
    steps = [
        Step("l", 0.0, 0.7, False),
        Step("r", 0.55, 1.25, True, 1),
        Step("l", 1.1, 1.8, True, 2),
        Step("r", 1.65, 2.35, True, 3),
    ]
    with pytest.raises(InputError, match="no complete stride"):
        measured_window(steps)
    steps[0].measured, steps[0].plate = True, 4
    assert measured_window(steps).kind == "all_measured"


def test_body_weight_from_whole_cycles_only() -> None:
    """A vertical force that averages 700 N over each stride: whole strides give 700 N,
    however the cycles fall on the samples; half a stride does not."""
    rate = 1000.0
    t = np.arange(0, 3.0, 1 / rate)
    stride = 0.7
    phase = (t % stride) / stride
    f = np.where(phase < 0.35, 700.0 / 0.35 * (np.pi / 2) * np.sin(np.pi * phase / 0.35), 0.0)
    cycles = [(0.1234, 0.1234 + stride), (0.1234 + stride, 0.1234 + 2 * stride)]
    assert body_weight_from_cycles(t, f, cycles) == pytest.approx(700.0, rel=2e-3)
    assert abs(body_weight_from_cycles(t, f, [(0.0, stride / 2)]) - 700.0) > 100.0
    with pytest.raises(InputError, match="no complete measured stride"):
        body_weight_from_cycles(t, f, [])


# -- overground versions of a treadmill trial ------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    folder = FUKUCHI / RUNNER
    if not folder.exists():
        pytest.skip("fukuchi2017 data not present")
    d = tmp_path_factory.mktemp("overground")
    src = oc.cut(folder / f"{RUNNER}runT{SPEED}.c3d", *WINDOW_S)
    assert 2 * src.keep.sum() == src.keep_an.sum()
    contacts = oc.contacts_overground(src)
    # the first contact is cut by the window's start; 1, 2, 3 are right, left, right
    return {
        "belt_m_s": src.belt_m_s,
        "treadmill": oc.treadmill_version(src, d / "treadmill.c3d"),
        "static_treadmill": folder / f"{RUNNER}static.c3d",
        "three": oc.overground_version(src, d / "runway_three_steps.c3d", [1, 2, 3], gaps=GAPS),
        "two": oc.overground_version(src, d / "runway_two_steps.c3d", [1, 2], gaps=GAPS),
        "static": oc.static_version(folder / f"{RUNNER}static.c3d", d / "static.c3d"),
        "n_contacts": len(contacts),
        "dir": d,
    }


def _analyse(trial: Path, static: Path, out: Path, *, residual_reduction: bool | None = None, **kw):
    from runmuscles.analysis_inputs import analysis_options
    from runmuscles.lab import prepare_lab_trial
    from runmuscles.pipeline import analyze_trial

    lab = prepare_lab_trial(trial, out, static=static, height_m=HEIGHT_M, **kw)
    # the settings as the command line makes them (the window as given, or the plates')
    opts = analysis_options(
        lab.spec,
        lab.analysis_inputs(),
        height_m=HEIGHT_M,
        start_s=kw.get("start_s"),
        end_s=kw.get("end_s"),
        residual_reduction=residual_reduction,
    )
    return lab, analyze_trial(lab.spec.model, lab.spec.coordinates, lab.spec.forces, opts)


def _activation_rms(time_s: np.ndarray, activation: np.ndarray, ref, lo: float, hi: float) -> float:
    """RMS difference of all muscles' activations (columns in ``ref``'s muscle order) from
    the reference analysis' over ``lo``-``hi``, on ``time_s``'s frames."""
    keep = (time_s >= lo - 1e-6) & (time_s <= hi + 1e-6)
    t = time_s[keep]
    act_ref = np.column_stack(
        [np.interp(t, ref.time_s, ref.recruitment.activation[:, k]) for k in range(len(ref.muscle_names))]
    )
    return float(np.sqrt(np.mean((activation[keep] - act_ref) ** 2)))


@pytest.fixture(scope="module")
def three_steps(built):
    """The runway with plates under three steps, through the lab path and the analysis."""
    # residual reduction off here and in the treadmill's: it fits each window's own mass and
    # pelvis motion to its own forces, so the two paths' small force differences would become
    # different models; what these tests compare is the lab path's windows and forces
    return _analyse(built["three"], built["static"], built["dir"] / "three", residual_reduction=False)


@pytest.fixture(scope="module")
def treadmill(built, three_steps):
    """The same treadmill markers through the same lab path, over the stride the plates of
    the three-step runway cover (the two-step runway's stances lie inside it)."""
    lab, _ = three_steps
    lo, hi = lab.window_s
    return _analyse(
        built["treadmill"],
        built["static_treadmill"],
        built["dir"] / "tm",
        start_s=lo,
        end_s=hi,
        residual_reduction=False,
    )


@pytest.mark.slow
def test_plates_under_three_steps_match_the_treadmill(built, three_steps, treadmill) -> None:
    lab, og = three_steps
    assert lab.analysis_kind == "stride" and lab.side == "right" and lab.window_s is not None
    lo, hi = lab.window_s
    assert 0.55 < hi - lo < 0.85  # one stride at 3.5 m/s
    notes = " ".join(lab.notes)
    assert "1 right stride cycle(s) in which every contact is on the force plates" in notes
    assert "left out: 3 step(s) off the plates" in notes
    assert "forward = lab -X" in notes and "vertical = lab +Z" in notes  # the lab's axes were found
    assert lab.quality["markers"]["renamed"]["RHEE"] == "RCAL"  # Plug-in Gait names mapped
    s = og.summary()
    assert s["analysis_kind"] == "stride" and s["n_strides"] == 1
    assert s["speed_m_s"] == pytest.approx(built["belt_m_s"], rel=0.03)
    assert "pelvis markers" in s["speed_source"]
    assert any("left out: 3 step(s)" in n for n in s["quality"]["notes"])
    ref_lab, ref = treadmill
    assert ref_lab.window_s is None  # a treadmill measures every step
    assert og.body_mass_kg == pytest.approx(ref.body_mass_kg, rel=0.02)
    assert og.body_mass_kg == pytest.approx(lab.quality["mass_from_forces_kg"])
    # the same right foot strikes (to a plate sample or two: the belt's noise before contact)
    ref_strikes = np.array([c.start_s for c in ref.events.cycles["right"]])
    assert np.abs(ref_strikes - og.cycles[0].start_s).min() < 0.01
    assert og.muscle_names == ref.muscle_names
    rms = _activation_rms(og.time_s, og.recruitment.activation, ref, lo, hi)
    print(f"{lab.analysis_kind} {lo:.3f}-{hi:.3f} s: activation RMS {rms:.4f}, mass {og.body_mass_kg:.2f} kg")
    assert rms < 0.02, rms


@pytest.mark.slow
def test_plates_under_two_steps_are_stance_only(built, treadmill, tmp_path: Path) -> None:
    # refused without --stance-only (one line, offering it), and without a mass
    proc = run_cli(
        "analyze", str(built["two"]), "--static", str(built["static"]), "--out", str(tmp_path / "x")
    )
    one_line_error(proc, "runway_two_steps.c3d: the force plates catch no complete stride", "--stance-only")
    proc = run_cli(
        "analyze",
        str(built["two"]),
        "--static",
        str(built["static"]),
        "--stance-only",
        "--out",
        str(tmp_path / "y"),
    )
    one_line_error(proc, "--mass", "no complete measured stride")
    # with it (the treadmill's mass given), through the command line
    import json

    from runmuscles.readers.opensim_files import read_storage

    _, ref = treadmill
    out = tmp_path / "og"
    proc = run_cli(
        "analyze",
        str(built["two"]),
        "--static",
        str(built["static"]),
        "--stance-only",
        "--mass",
        f"{ref.body_mass_kg:.4f}",
        "--height",
        f"{HEIGHT_M:g}",
        "--out",
        str(out),
        "--json",
        "--no-report",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(proc.stdout)
    assert s["analysis_kind"] == "stance_only" and s["n_strides"] == 0
    # forces on some contacts only: the default residual reduction is not applied, and says why
    assert s["quality"]["residual_reduction"]["applied"] is False
    assert "stance only" in s["quality"]["residual_reduction"]["reason"]
    assert "stance_only" in [w["code"] for w in s["quality"]["warnings"]]
    assert any("stance-only window" in n for n in s["quality"]["notes"])
    lo, hi = s["analysis_window_s"]
    assert 0.45 < hi - lo < 0.75  # right strike to left toe-off
    assert ref.time_s[0] <= lo + 1e-6 and hi <= ref.time_s[-1] + 1e-6
    act = read_storage(out / "activation.sto")
    rms = _activation_rms(act.time_s, act.columns(ref.muscle_names), ref, lo, hi)
    print(f"stance_only {lo:.3f}-{hi:.3f} s: activation RMS {rms:.4f}")
    assert rms < 0.02, rms


def test_a_plate_struck_by_both_feet_at_once_is_refused(tmp_path: Path) -> None:
    """Walking's double support on one plate: the centre of pressure moves from the right
    foot to the left while both stand on the plate. One line naming the plate and time."""
    rate, an_rate = 100.0, 1000.0
    t = np.arange(0, 2.0, 1 / rate)
    # standing feet 20 cm apart on a plate, pelvis above (OpenSim axes: X forward, Y up, Z right)
    base = {
        "RHEE": [0.0, 0.05, 0.1],
        "RTOE": [0.2, 0.03, 0.1],
        "LHEE": [0.0, 0.05, -0.1],
        "LTOE": [0.2, 0.03, -0.1],
        "RASI": [0.15, 0.95, 0.12],
        "LASI": [0.15, 0.95, -0.12],
        "RPSI": [-0.05, 1.0, 0.05],
        "LPSI": [-0.05, 1.0, -0.05],
    }
    xyz = np.tile(np.array(list(base.values()))[None], (t.size, 1, 1))
    ta = np.arange(0, 2.0, 1 / an_rate)
    load = np.clip(np.minimum((ta - 0.3) / 0.1, (1.7 - ta) / 0.1), 0.0, 1.0)
    force = np.column_stack([0 * ta, 700.0 * load, 0 * ta])
    # COP from under the right foot (z = 0.1) to under the left (z = -0.1), x = 0.1
    z = np.interp(ta, [0.3, 0.7, 1.3, 1.7], [0.1, 0.1, -0.1, -0.1])
    cop = np.column_stack([np.full_like(ta, 0.1), 0 * ta, z])
    moment = np.cross(cop, force)
    corners = np.array([[0.5, 0, 0.3], [-0.3, 0, 0.3], [-0.3, 0, -0.3], [0.5, 0, -0.3]])
    plate = oc.PlateSignal(corners, force, moment)
    c3d = oc.write_c3d(tmp_path / "walk.c3d", list(base), xyz, rate, [plate], an_rate, oc.LAB_FROM_OSIM)
    proc = run_cli("analyze", str(c3d), "--mass", "71.4", "--height", "1.75", "--out", str(tmp_path / "out"))
    err = one_line_error(proc, "plate 1: both feet are on it at once from", "double support")
    assert not (tmp_path / "out" / "summary.json").exists()
    start = float(err.split("at once from ")[1].split(" ")[0])
    assert 0.3 <= start <= 1.0, err
    # the centre of pressure stays under the right foot (the left one only touches): one foot
    # carries the load, accepted
    from runmuscles.kinematics.forceplates import split_feet
    from runmuscles.kinematics.overground import check_one_foot_per_contact
    from runmuscles.readers.c3d import read_c3d

    cop[:, 2] = 0.1
    plate = oc.PlateSignal(corners, force, np.cross(cop, force))
    c3d = oc.write_c3d(tmp_path / "one_foot.c3d", list(base), xyz, rate, [plate], an_rate, oc.LAB_FROM_OSIM)
    tr = read_c3d(c3d)
    feet = split_feet(tr.plates, tr.markers)
    check_one_foot_per_contact(feet, tr.markers, tr.plates)
    assert [c.side for c in feet.contacts] == ["r"]


def test_cli_offers_stance_only_without_running_ik(built, tmp_path: Path) -> None:
    """The refusal comes before any OpenSim work, and summary.json is not written."""
    out = tmp_path / "out"
    proc = run_cli("analyze", str(built["two"]), "--mass", "63", "--out", str(out), "--json")
    one_line_error(proc, "give --stance-only")
    assert not (out / "summary.json").exists() and not (out / "ik.mot").exists()


def test_a_runway_widens_the_models_pelvis_limits(tmp_path: Path) -> None:
    """Markers 12 m down a runway: the default model's pelvis_tx limits (+-5 m) are widened
    in a copy; on a treadmill (markers within a few metres of the origin) nothing changes."""
    from runmuscles.lab import default_model
    from runmuscles.lab.runway import widen_root_translations
    from runmuscles.model.multibody import load_osim
    from runmuscles.readers.opensim_files import MarkerTable

    t = np.arange(0, 2.0, 0.01)
    pos = np.zeros((t.size, 2, 3))
    pos[:, :, 0] = 5.0 + 3.5 * t[:, None]  # 5 to 12 m along X
    pos[:, 0, 1], pos[:, 1, 1] = 1.0, 0.05
    runway = MarkerTable(t, pos, ["RASI", "RHEE"], 100.0, "m", {})
    path, note = widen_root_translations(default_model(), runway, tmp_path)
    assert path != default_model() and note is not None and "pelvis_tx" in note
    mb = load_osim(path)
    lo, hi = mb.ranges[mb.coordinate_names.index("pelvis_tx")]
    assert lo <= -5.0 and hi >= pos[:, :, 0].max() + 0.5 - 1e-3
    assert "pelvis_ty" not in note and "pelvis_tz" not in note
    pos[:, :, 0] = 2.0 + 0.1 * np.sin(t[:, None])
    same, none = widen_root_translations(
        default_model(), MarkerTable(t, pos, ["RASI", "RHEE"], 100.0, "m", {}), tmp_path
    )
    assert same == default_model() and none is None


def test_without_markers_a_lopsided_cycle_hides_unmeasured_steps() -> None:
    """Forces alone (no markers to show the steps off the plates): right, left, then the right
    foot two strides later is not a stride; right, left, right one step apart each is."""
    hidden = _steps(("r", 0.0, True), ("l", 0.35, True), ("r", 1.4, True))
    with pytest.raises(InputError, match="no complete stride"):
        measured_window(hidden)
    w = measured_window(_steps(("r", 0.0, True), ("l", 0.35, True), ("r", 0.7, True)))
    assert w.kind == "all_measured" and w.cycles_s == [(0.0, 0.7)]


@pytest.mark.slow
def test_a_runway_as_joint_angles_and_a_forces_file(built, three_steps, tmp_path: Path) -> None:
    """The same runway as another lab would hand it over: joint angles and a force .mot. The
    body mass comes from the measured stride (not the whole file, mostly without a foot on a
    plate), the speed from the pelvis translation."""
    from runmuscles.lab import prepare_lab_trial

    lab, _ = three_steps
    folder = built["dir"] / "three"
    forces = folder / "grf.mot"
    whole_file = oc.mean_vertical_force_kg(forces)
    lab2 = prepare_lab_trial(folder / "ik.mot", tmp_path, model=lab.spec.model, forces=forces)
    mass = lab2.quality["mass_from_forces_kg"]
    assert mass == pytest.approx(lab.quality["mass_from_forces_kg"], rel=0.005)
    assert whole_file < 0.6 * mass  # what the whole file would have said
    assert lab2.spec.speed_m_s == pytest.approx(built["belt_m_s"], rel=0.03)
    assert "pelvis_tx" in lab2.spec.speed_source


def test_a_given_window_over_steps_off_the_plates_is_found() -> None:
    from runmuscles.kinematics.overground import unmeasured_between

    steps = _steps(("r", 0.0, True), ("l", 0.35, True), ("r", 0.7, True), ("l", 1.05, False))
    assert unmeasured_between(steps, 0.0, 0.7) == []
    assert [st.start_s for st in unmeasured_between(steps, 0.5, None)] == [1.05]


def test_body_mass_from_a_static_trial_on_a_plate(tmp_path: Path) -> None:
    """Standing still on a plate with both feet: the mean vertical force over g; a foot
    beside the plate (half the weight on it): no mass."""
    from runmuscles.lab.forces import static_plate_mass_kg
    from runmuscles.readers.c3d import read_c3d

    rate, an_rate = 100.0, 1000.0
    t = np.arange(0, 2.0, 1 / rate)
    base = {
        "RHEE": [0.0, 0.05, 0.1],
        "RTOE": [0.2, 0.03, 0.1],
        "LHEE": [0.0, 0.05, -0.1],
        "LTOE": [0.2, 0.03, -0.1],
        "RASI": [0.15, 0.95, 0.12],
        "LASI": [0.15, 0.95, -0.12],
    }
    xyz = np.tile(np.array(list(base.values()))[None], (t.size, 1, 1))
    ta = np.arange(0, 2.0, 1 / an_rate)
    force = np.column_stack([0 * ta, np.full_like(ta, 700.0), 0 * ta])
    cop = np.column_stack([np.full_like(ta, 0.1), 0 * ta, 0 * ta])
    corners = np.array([[0.5, 0, 0.3], [-0.3, 0, 0.3], [-0.3, 0, -0.3], [0.5, 0, -0.3]])
    plate = oc.PlateSignal(corners, force, np.cross(cop, force))
    c3d = oc.write_c3d(tmp_path / "static.c3d", list(base), xyz, rate, [plate], an_rate, oc.LAB_FROM_OSIM)
    mass, how = static_plate_mass_kg(read_c3d(c3d))
    assert mass == pytest.approx(700.0 / 9.80665, rel=1e-6) and "static trial" in how
    xyz[:, 2:4, 2] -= 0.5  # the left foot beside the plate
    c3d = oc.write_c3d(tmp_path / "beside.c3d", list(base), xyz, rate, [plate], an_rate, oc.LAB_FROM_OSIM)
    mass, how = static_plate_mass_kg(read_c3d(c3d))
    assert mass is None and "left foot is not on a plate" in how
