"""Ground reaction forces from motion alone against the forces measured on the treadmill.

Reference: Hamner & Delp (2013) treadmill trials (``../shared/data/hamner2013``), whose
``Run_N_grf.mot`` hold the forces measured under each foot. The shipped maps were fitted on
all seven runners, so single-trial checks with them are in-sample; the accuracy targets are
asserted on held-out estimates (each runner with maps fitted on the six others).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runmuscles.dynamics.grf_estimation import (
    GRFModel,
    baseline_grf,
    estimate_grf,
    estimate_grf_from_coordinates,
    fit_grf_model,
    grf_errors,
    validate_hamner2013,
)
from runmuscles.errors import InputError
from runmuscles.kinematics.forceplates import detect_contacts
from runmuscles.readers.opensim_files import read_external_loads, read_storage
from runmuscles.tables import TimeTable

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hamner2013"
G = 9.80665


def _need_data() -> None:
    if not DATA.is_dir():
        pytest.skip("shared hamner2013 data not present")


def _measured(xml: Path) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, str]]]:
    loads = read_external_loads(xml)
    d = loads.data
    rate = (d.n_frames - 1) / (d.time_s[-1] - d.time_s[0])
    total = np.zeros((d.n_frames, 3))
    contacts = []
    for f in loads.forces:
        fxyz = d.columns(f.force_columns)
        total += fxyz
        side = f.applied_to_body[-1]
        contacts += [(d.time_s[a], d.time_s[b - 1], side) for a, b in detect_contacts(fxyz[:, 1], rate)]
    return d.time_s, total, sorted(contacts)


@pytest.fixture(scope="module")
def subject01_run4():
    _need_data()
    from runmuscles.model.geometry import default_cache_dir
    from runmuscles.model.multibody import load_osim_cached

    folder = DATA / "subject01"
    mb = load_osim_cached(folder / "model" / "subject01_adjusted_scaled.osim", default_cache_dir())
    table = read_storage(folder / "ik" / "Run_4.mot")
    est = estimate_grf_from_coordinates(mb, table)
    return mb, table, est, _measured(folder / "Run_4_grf.xml")


def test_flight_is_exactly_zero_and_one_foot_at_a_time(subject01_run4):
    _, _, est, _ = subject01_run4
    t = est.time_s
    inside = np.zeros(t.size, dtype=bool)
    for c in est.contacts:
        inside |= (t >= c.start_s) & (t <= c.end_s)
    assert (~inside).sum() > 0.15 * t.size  # running: flight phases exist
    for s in "rl":
        assert np.all(est.force_n[s][~inside] == 0.0)
    loaded = {s: np.abs(est.force_n[s][:, 1]) > 0.0 for s in "rl"}
    assert not np.any(loaded["r"] & loaded["l"])  # no double support
    sides = [c.side for c in est.contacts]
    assert all(a != b for a, b in zip(sides[:-1], sides[1:], strict=False))  # feet alternate
    assert np.all(est.total_force_n[inside, 1] >= -1e-9)  # the ground only pushes


def test_contact_timing_and_impulse_match_the_plate(subject01_run4):
    mb, _, est, (tm, fm, meas) = subject01_run4
    # every measured contact (away from the ends) has an estimated one on the same foot
    d_on, d_off = [], []
    for a, b, side in meas:
        if a < est.contacts[0].start_s - 0.05 or b > est.contacts[-1].end_s + 0.05:
            continue
        c = min(est.contacts, key=lambda c: abs(c.start_s - a))
        assert c.side == side
        d_on.append(c.start_s - a)
        d_off.append(c.end_s - b)
    assert len(d_on) >= 12
    # refined timing (the coarse height threshold alone is 10 ms late / 15 ms early here)
    assert np.mean(np.abs(d_on)) < 0.008 and np.mean(np.abs(d_off)) < 0.008
    assert np.max(np.abs(d_on)) < 0.02 and np.max(np.abs(d_off)) < 0.02
    # over whole steps, the vertical impulse carries body weight (steady running)
    t0, t1 = est.contacts[1].start_s, est.contacts[-2].start_s
    sel = (est.time_s >= t0) & (est.time_s < t1)
    mean_bw = est.total_force_n[sel, 1].mean() / (mb.total_mass_kg * G)
    assert mean_bw == pytest.approx(1.0, abs=0.03)
    selm = (tm >= t0) & (tm < t1)
    assert mean_bw == pytest.approx(fm[selm, 1].mean() / (mb.total_mass_kg * G), abs=0.03)


def test_single_trial_beats_the_plain_baseline(subject01_run4):
    mb, table, est, (tm, fm, meas) = subject01_run4
    window = (0.862, 2.91)  # gaitTimes.json: three right strides of Run_4
    bw = mb.total_mass_kg * G
    contacts = [(a, b) for a, b, _ in meas]
    e = grf_errors(est.time_s, est.total_force_n, tm, fm, window, bw, contacts)
    tb, fb = baseline_grf(mb, table)
    b = grf_errors(tb, fb, tm, fm, window, bw, contacts)
    assert e["n_contacts"] >= 6
    assert e["vertical_rmse_bw"] < 0.5 * b["vertical_rmse_bw"]
    assert e["vertical_rmse_bw"] < 0.07
    assert e["peak_vertical_error_pct"] < 5.0
    assert e["fore_aft_rmse_bw"] < 0.5 * b["fore_aft_rmse_bw"]


def test_fore_aft_force_brakes_then_propels(subject01_run4):
    """Along the direction of running (found from the feet's motion, here the model's +x):
    braking in the first third of every contact, propulsion in the last third."""
    _, _, est, _ = subject01_run4
    t, fx = est.time_s, est.total_force_n[:, 0]
    for c in est.contacts:
        early = (t >= c.start_s) & (t <= c.start_s + c.duration_s / 3)
        late = (t >= c.end_s - c.duration_s / 3) & (t <= c.end_s)
        assert fx[early].mean() < -0.05 * est.body_mass_kg * G
        assert fx[late].mean() > 0.05 * est.body_mass_kg * G


def test_projection_method_is_zero_in_flight_too(subject01_run4):
    mb, table, learned, (tm, fm, meas) = subject01_run4
    est = estimate_grf_from_coordinates(mb, table, method="projection")
    inside = np.zeros(est.time_s.size, dtype=bool)
    for c in est.contacts:
        inside |= (est.time_s >= c.start_s) & (est.time_s <= c.end_s)
    assert np.all(est.total_force_n[~inside] == 0.0)
    assert any("sine functions" in n for n in est.notes)
    window, bw = (0.862, 2.91), mb.total_mass_kg * G
    contacts = [(a, b) for a, b, _ in meas]
    e_proj = grf_errors(est.time_s, est.total_force_n, tm, fm, window, bw, contacts)
    e_learned = grf_errors(learned.time_s, learned.total_force_n, tm, fm, window, bw, contacts)
    assert e_learned["vertical_rmse_bw"] < e_proj["vertical_rmse_bw"]
    with pytest.raises(InputError, match="method"):
        estimate_grf_from_coordinates(mb, table, method="magic")


def test_grf_model_round_trips_through_json(subject01_run4, tmp_path):
    mb, table, est, _ = subject01_run4
    shipped = GRFModel.load()
    assert "Hamner" in shipped.provenance["data"]
    back = GRFModel.load(shipped.save(tmp_path / "m.json"))
    again = estimate_grf_from_coordinates(mb, table, model=back)
    np.testing.assert_allclose(again.total_force_n, est.total_force_n, rtol=0, atol=1e-6)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a ground reaction force model"):
        GRFModel.load(tmp_path / "bad.json")


def test_written_files_drive_the_pipeline_like_measured_forces(tmp_path):
    """The .mot + ExternalLoads .xml run through the pipeline unchanged; muscle group shares
    come close to those from the measured forces (bundled demo runner, one stride)."""
    from runmuscles.pipeline import AnalysisOptions, analyze_trial
    from runmuscles.trials import demo_trials

    spec = next(s for s in demo_trials() if s.label.endswith("Run_4"))
    est = estimate_grf(spec.model, spec.coordinates)
    mot, xml = est.write(tmp_path / "grf_estimated.mot")
    loads = read_external_loads(xml)
    assert sorted(f.applied_to_body for f in loads.forces) == ["calcn_l", "calcn_r"]
    back = sum(loads.data.columns(f.force_columns) for f in loads.forces)
    np.testing.assert_allclose(back, est.total_force_n, rtol=1e-8, atol=1e-6)
    opts = AnalysisOptions(cycle=1, strength="volume")
    measured = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    estimated = analyze_trial(spec.model, spec.coordinates, xml, opts)
    c_m, c_e = measured.cycles[0], estimated.cycles[0]
    assert c_e.start_s == pytest.approx(c_m.start_s, abs=0.03)
    assert c_e.end_s == pytest.approx(c_m.end_s, abs=0.03)
    gm, ge = measured.group_summary(), estimated.group_summary()
    diffs = {g: ge[g]["share_of_impulse"] - gm[g]["share_of_impulse"] for g in gm}
    assert max(abs(v) for v in diffs.values()) < 0.05, diffs


def test_motion_without_contacts_is_an_input_error(subject01_run4):
    mb, table, _, _ = subject01_run4
    still = TimeTable(
        table.time_s, np.repeat(table.data[:1], table.n_frames, axis=0), table.labels, None, dict(table.meta)
    )
    # a pose held still has no flight phase: refused before contacts are looked for
    with pytest.raises(InputError, match="assume running.*airborne only 0 %"):
        estimate_grf_from_coordinates(mb, still)


@pytest.mark.slow
def test_all_hamner2013_trials_against_measured_forces():
    """Means over the 28 trials (7 runners, 2-5 m/s), over their gait cycles, each runner
    estimated with maps fitted on the six other runners (held out)."""
    _need_data()
    rows = validate_hamner2013(DATA)
    assert len(rows) == 28 and all(r["held_out"] for r in rows)

    def mean(who: str, key: str) -> float:
        return float(np.mean([r[who][key] for r in rows]))

    est_v, base_v = mean("estimated", "vertical_rmse_bw"), mean("baseline", "vertical_rmse_bw")
    est_p = mean("estimated", "peak_vertical_error_pct")
    est_x, base_x = mean("estimated", "fore_aft_rmse_bw"), mean("baseline", "fore_aft_rmse_bw")
    # measured here (1 kHz force samples), held out: estimate 0.056 / 1.5 % / 0.030 BW,
    # baseline 0.139 / 2.7 % / 0.079 (issue 7's targets: 0.07 / 5 % / 0.05)
    assert est_v <= 0.07
    assert est_p <= 5.0
    assert est_x <= 0.05
    assert est_v < 0.5 * base_v
    assert est_x < 0.5 * base_x
    # better than the baseline in the vertical on nearly every trial (one 3 m/s trial of
    # subject11 is not: 0.090 against 0.084 BW)
    better = sum(r["estimated"]["vertical_rmse_bw"] < r["baseline"]["vertical_rmse_bw"] for r in rows)
    assert better >= 26
    # contact timing against the plate (the coarse height threshold alone: 15 / 19 ms)
    assert mean("timing", "foot_strike_abs_error_ms") < 11.0
    assert mean("timing", "toe_off_abs_error_ms") < 15.0


@pytest.mark.slow
def test_shipped_maps_are_the_fit_on_all_seven_runners():
    _need_data()
    fitted = fit_grf_model(DATA)
    shipped = GRFModel.load()
    assert fitted.provenance["trials"] == shipped.provenance["trials"]
    assert len(shipped.provenance["trials"]) == 28
    for part in ("timing", "shape"):
        a, b = getattr(fitted, part), getattr(shipped, part)
        for k in ("mean", "scale", "weights", "intercept"):
            np.testing.assert_allclose(getattr(b, k), getattr(a, k), rtol=1e-5, atol=1e-9)


def test_validation_and_fitting_refuse_bad_input(tmp_path):
    with pytest.raises(InputError, match="not found"):
        fit_grf_model(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no hamner2013 trials"):
        fit_grf_model(tmp_path)
    _need_data()
    with pytest.raises(InputError, match="unknown options"):
        validate_hamner2013(DATA, trials=[("subject01", "Run_4")], held_out=False, cutoff=3.0)


@pytest.mark.slow
def test_validate_grf_command_prints_the_table_and_fails_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    _need_data()
    env = {**os.environ, "COLUMNS": "160"}
    run = [sys.executable, "-m", "runmuscles", "validate-grf"]
    proc = subprocess.run([*run, str(DATA)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if "subject" in ln and "Run_" in ln]
    assert len(lines) == 28
    mean_row = next(ln for ln in proc.stdout.splitlines() if "mean" in ln)
    numbers = [float(x) for x in mean_row.replace("│", " ").split()[1:]]
    assert numbers[0] < numbers[3]  # vertical RMSE: estimate below the baseline
    bad = subprocess.run([*run, str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "hamner2013 data folder not found" in bad.stderr
