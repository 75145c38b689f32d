"""Residual reduction (issue 15, item 1): the library function, its switch in the pipeline and the
command line, and the done-when check on the 28 shared Hamner trials."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import HAMNER_SUBJECTS
from typer.testing import CliRunner

from runmuscles.analyses.groups import group_members
from runmuscles.cli import app
from runmuscles.dynamics.inverse import BodyLoad, inverse_dynamics
from runmuscles.dynamics.residual_reduction import (
    KINEMATIC_LIMIT_M,
    KINEMATIC_LIMIT_RAD,
    SEGMENT_S,
    _adjusted,
    _root,
    reduce_residuals,
    why_not_reduced,
)
from runmuscles.errors import InputError
from runmuscles.kinematics.coordinates import prepare_coordinates
from runmuscles.model import RunnerModel
from runmuscles.pipeline import AnalysisOptions, analyze_trial
from runmuscles.readers import read_external_loads, read_storage
from runmuscles.trials import resolve_trial
from runmuscles.whatif import Condition, WhatIfEngine


def _stride(folder: Path, trial: str, cycles: int = 1):
    """The first published right stride cycles of a Hamner trial: model, times, q, qd, qdd, loads."""
    from runmuscles.dynamics.inverse import body_loads_from_external_loads

    spec = resolve_trial(folder, trial)
    model = RunnerModel.load(spec.model)
    table = read_storage(spec.coordinates)
    published = json.loads((folder / "gaitTimes.json").read_text())["cycles"][trial.lower().replace("_", "")]
    start, end = published["cycle1"]["initialTime"], published[f"cycle{cycles}"]["finalTime"]
    ck = prepare_coordinates(
        table,
        model.coordinate_names,
        model.rotational,
        lowpass_hz=12.0,
        start_s=start,
        end_s=end,
        fill=model.fill_values(table),
    )
    q, qd, qdd = model.complete_coordinates(ck.q, ck.qdot, ck.qddot)
    loads = body_loads_from_external_loads(model.multibody, read_external_loads(spec.forces), ck.time_s)
    return model, ck.time_s, q, qd, qdd, loads


def _consistent_loads(mb, q, qd, qdd, loads):
    """The measured loads plus a wrench on the pelvis that makes the pelvis residuals zero."""
    idx, _ = _root(mb)
    base = inverse_dynamics(mb, q, qd, qdd, loads)[:, idx]
    n = q.shape[0]
    G = np.empty((n, 6, 6))
    for k in range(6):
        unit = np.zeros((n, 3))
        unit[:, k % 3] = 1.0
        extra = BodyLoad("pelvis", unit if k < 3 else np.zeros((n, 3)), None, unit if k >= 3 else None)
        G[:, :, k] = inverse_dynamics(mb, q, qd, qdd, [*loads, extra])[:, idx] - base
    w = np.linalg.solve(G, -base[:, :, None])[:, :, 0]
    return [*loads, BodyLoad("pelvis", w[:, :3], None, w[:, 3:], name="consistency")]


@pytest.fixture(scope="module")
def stride(hamner: Path):
    return _stride(hamner / "subject01", "Run_4")


def test_recovers_a_wrong_mass_and_trunk_mass_centre(stride) -> None:
    model, t, q, qd, qdd, loads = stride
    mb = model.multibody
    consistent = _consistent_loads(mb, q, qd, qdd, loads)
    idx, _ = _root(mb)
    assert np.abs(inverse_dynamics(mb, q, qd, qdd, consistent)[:, idx]).max() < 1e-6
    trunk = mb.body_names.index("torso")
    shift = np.array([0.02, 0.0, -0.015])
    wrong = _adjusted(mb, 1.015, trunk, shift)
    rr = reduce_residuals(wrong, t, q, qd, qdd, consistent)
    # the reduction undoes the error it is given: the mass to 0.1 %, the trunk's horizontal
    # mass-centre position to 2 mm (its vertical position hardly acts on the pelvis), with next to
    # no change of the motion, and the residuals vanish
    assert rr.mass_scale * 1.015 == pytest.approx(1.0, abs=0.001)
    got = wrong.com_m[trunk] + rr.trunk_com_shift_m
    assert got[[0, 2]] == pytest.approx(mb.com_m[trunk][[0, 2]], abs=0.002)
    assert max(rr.coordinate_change_rms.values()) < 1e-3
    assert rr.before["force_n"]["peak"] > 30.0
    assert rr.after["force_n"]["peak"] < 3.0 and rr.after["moment_nm"]["peak"] < 3.0


def test_real_stride_within_thresholds_with_small_changes(stride) -> None:
    model, t, q, qd, qdd, loads = stride
    rr = reduce_residuals(model.multibody, t, q, qd, qdd, loads)
    assert not rr.before["force_n"]["within_threshold"] or not rr.before["moment_nm"]["within_threshold"]
    assert rr.within_thresholds
    assert rr.kinematics_within_limits
    assert abs(rr.mass_scale - 1.0) <= 0.02 + 1e-12
    # only the pelvis coordinates move; the returned forces are the adjusted model's
    others = [i for i in range(q.shape[1]) if model.coordinate_names[i] not in rr.coordinates]
    assert np.array_equal(rr.q[:, others], q[:, others])
    tau = inverse_dynamics(rr.multibody, rr.q, rr.qdot, rr.qddot, loads)
    assert np.allclose(tau, rr.generalized_forces)
    # the corrections are consistent in time: qdot and qddot are the derivatives of the change
    root = _root(model.multibody)[0]
    dq, dqd = rr.q[:, root] - q[:, root], rr.qdot[:, root] - qd[:, root]
    assert np.abs(dqd).max() > 1e-3
    assert np.allclose(np.gradient(dq, t, axis=0)[2:-2], dqd[2:-2], atol=0.1 * np.abs(dqd).max())
    d = rr.as_dict()
    assert d["residuals_after"]["force_n"]["peak"] <= d["residuals_after"]["force_n"]["threshold_hicks_2015"]
    assert set(d["kinematic_changes"]) == set(rr.coordinates)


def test_long_window_in_segments(hamner: Path) -> None:
    """Two strides (longer than one segment): one set of masses, every frame corrected."""
    model, t, q, qd, qdd, loads = _stride(hamner / "subject02", "Run_3", cycles=2)
    assert t[-1] - t[0] > SEGMENT_S
    rr = reduce_residuals(model.multibody, t, q, qd, qdd, loads)
    assert rr.after["force_n"]["peak"] < 0.5 * rr.before["force_n"]["peak"]
    assert rr.after["moment_nm"]["peak"] < 0.5 * rr.before["moment_nm"]["peak"]
    assert rr.kinematics_within_limits
    half = t.size // 2
    root = _root(model.multibody)[0]
    for part in (slice(0, half), slice(half, None)):
        assert np.abs(rr.q[part][:, root] - q[part][:, root]).max() > 0.0


def test_rejects_too_few_frames(stride) -> None:
    model, t, q, qd, qdd, loads = stride
    cut = [
        BodyLoad(ld.body, ld.force_n[:3], ld.point_m[:3], ld.torque_nm[:3], ld.point_in_body) for ld in loads
    ]
    with pytest.raises(InputError, match="at least 4 frames"):
        reduce_residuals(model.multibody, t[:3], q[:3], qd[:3], qdd[:3], cut)


def test_default_reduction_skipped_with_its_reason_where_it_cannot_run(stride, hamner: Path) -> None:
    model, t, q, qd, qdd, loads = stride
    assert why_not_reduced(model.multibody, t.size, loads) == ""
    assert "no ground reaction forces" in why_not_reduced(model.multibody, t.size, None)
    assert "at least 4" in why_not_reduced(model.multibody, 3, loads)
    # an analysis without forces (as OpenSim's SO allows) runs on the motion as given, and says so
    spec = resolve_trial(hamner / "subject02", "Run_3")
    a = analyze_trial(
        spec.model, spec.coordinates, None, AnalysisOptions(require_gait_events=False, start_s=1.0, end_s=1.3)
    )
    assert a.residual_reduction is None and a.quality["residual_reduction"]["applied"] is False
    assert a.body_mass_kg == RunnerModel.load(spec.model).body_mass_kg
    assert any(
        n.startswith("residual reduction not applied: no ground reaction forces") for n in a.quality["notes"]
    )


def test_pipeline_switch_on_by_default_and_reported(hamner: Path, tmp_path: Path) -> None:
    assert AnalysisOptions().residual_reduction is True
    spec = resolve_trial(hamner / "subject02", "Run_3")
    off = analyze_trial(
        spec.model, spec.coordinates, spec.forces, AnalysisOptions(cycle=1, residual_reduction=False)
    )
    assert "residual_reduction" not in off.quality
    on = analyze_trial(spec.model, spec.coordinates, spec.forces, AnalysisOptions(cycle=1))
    rr = on.quality["residual_reduction"]
    for kind in ("force_n", "moment_nm"):
        assert on.quality["residuals"][kind]["peak"] == pytest.approx(rr["residuals_after"][kind]["peak"])
        assert off.quality["residuals"][kind]["peak"] == pytest.approx(rr["residuals_before"][kind]["peak"])
    assert rr["within_thresholds"]
    assert any(n.startswith("residual reduction:") for n in on.quality["notes"])
    assert not any(w["code"] == "pelvis_residuals_above_hicks" for w in on.quality["warnings"])
    # the reported mass is the adjusted one, and the torques and per-kg numbers rest on it
    assert off.body_mass_kg == pytest.approx(rr["body_mass_before_kg"], rel=1e-12)
    assert on.body_mass_kg == pytest.approx(rr["body_mass_after_kg"], rel=1e-12)
    assert on.body_mass_kg == pytest.approx(off.body_mass_kg * rr["mass_scale"], rel=1e-12)
    assert on.body_mass_kg == on.residual_reduction.multibody.total_mass_kg
    assert on.summary()["body_mass_kg"] == on.body_mass_kg
    assert on.quality["body_weight_n"] == pytest.approx(on.body_mass_kg * 9.80665, rel=1e-12)
    calves = group_members(on.muscle_names)["calves"]
    g = next(
        r for r in on.group_rows() if (r["group"], r["side"], r["phase"]) == ("calves", "both", "stride")
    )
    work_j = sum(r["positive_work_j"] for r in on.muscle_rows() if r["muscle"] in calves)
    assert g["positive_work_j_per_kg"] == pytest.approx(work_j / on.body_mass_kg, rel=1e-12)
    assert g["positive_work_j_per_kg"] != pytest.approx(work_j / off.body_mass_kg, rel=1e-6)
    # what-ifs start from the reduced motion and the adjusted model, without reducing again
    engine = WhatIfEngine(on)
    assert engine.model.multibody is on.residual_reduction.multibody
    res = engine.evaluate(Condition(grade_pct=1.0))
    assert "residual_reduction" not in res.analysis.quality
    assert "residual_reduction" not in res.analysis.timings_s
    # the command line's switch reaches the summary
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "analyze",
            str(hamner / "subject02"),
            "--trial",
            "Run_3",
            "--cycle",
            "1",
            "--out",
            str(out),
            "--quiet",
            "--no-report",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quality"]["residual_reduction"]["applied"] is True
    assert summary["settings"]["residual_reduction"] is True


@pytest.mark.slow
def test_done_when_on_all_28_hamner_trials(hamner: Path) -> None:
    """Issue 15's done-when: on all 28 shared trials (one stride each), the peak pelvis residuals
    within the Hicks et al. 2015 thresholds on at least 80 % of trials, with kinematic changes
    of at most 2 deg RMS per rotation and 2 cm RMS per translation."""
    within = []
    for subject in HAMNER_SUBJECTS:
        for v in (2, 3, 4, 5):
            model, t, q, qd, qdd, loads = _stride(hamner / subject, f"Run_{v}")
            rr = reduce_residuals(model.multibody, t, q, qd, qdd, loads)
            for (name, rms), rot in zip(rr.coordinate_change_rms.items(), rr.rotational, strict=True):
                assert rms <= (KINEMATIC_LIMIT_RAD if rot else KINEMATIC_LIMIT_M) + 1e-9, (subject, v, name)
            assert abs(rr.mass_scale - 1.0) <= 0.02 + 1e-12
            within.append(rr.within_thresholds)
    assert len(within) == 28
    assert sum(within) >= 0.8 * len(within), sum(within)


def test_linear_programme_same_optimum_with_piqp_and_highs(stride, monkeypatch) -> None:
    """The step's programme, solved by PIQP (the default) and by HiGHS (the fallback), on a real
    stride: the optimum is unique, and both find it (the parameters to ~1e-7 of their scale)."""
    import sys

    import runmuscles.dynamics.residual_reduction as rr_mod

    pytest.importorskip("piqp")
    captured = []
    solve = rr_mod._solve_lp

    def spy(*args):
        captured.append(args)
        return solve(*args)

    monkeypatch.setattr(rr_mod, "_solve_lp", spy)
    model, t, q, qd, qdd, loads = stride
    reduce_residuals(model.multibody, t, q, qd, qdd, loads)
    assert len(captured) >= 2
    for args in captured[:2]:
        x_piqp, ratio_piqp = solve(*args)
        with monkeypatch.context() as m:
            m.setitem(sys.modules, "piqp", None)  # its import fails: HiGHS answers
            x_highs, ratio_highs = solve(*args)
        assert np.isfinite(ratio_piqp) and ratio_piqp == pytest.approx(ratio_highs, rel=1e-7)
        # mass scale - 1 and trunk shift (m), then the spline coefficients (rad, m)
        assert np.abs(x_piqp - x_highs).max() < 1e-6
        assert np.abs(x_highs).max() > 1e-3  # a real step, not the zero of a failed solve


def test_perturbed_residuals_equal_one_inverse_dynamics_per_perturbation(stride) -> None:
    """The Jacobian's 18 perturbed runs with shared position kinematics and blocks of frames
    equal plain inverse dynamics of each perturbed state (to rounding)."""
    from runmuscles.dynamics.residual_reduction import _perturbed_residuals  # noqa: PLC0415

    model, t, q, qd, qdd, loads = stride
    mb = model.multibody
    idx, _ = _root(mb)
    h = np.full(6, 1e-6)
    got = _perturbed_residuals(mb, q, qd, qdd, loads, idx, h)
    assert got.shape == (18, t.size, 6)
    for m in (0, 4, 7, 11, 12, 17):
        which, c = divmod(m, 6)
        state = [q.copy(), qd.copy(), qdd.copy()]
        state[which][:, idx[c]] += h[c]
        ref = inverse_dynamics(mb, *state, loads)[:, idx]
        np.testing.assert_allclose(got[m], ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_segments_in_processes_give_the_same_result(hamner: Path) -> None:
    """Three segments: the second and third solved in two forked processes (one of which also
    computes the forces before) equal the serial run."""
    model, t, q, qd, qdd, loads = _stride(hamner / "subject02", "Run_3", cycles=3)
    assert t[-1] - t[0] > 2 * SEGMENT_S
    serial = reduce_residuals(model.multibody, t, q, qd, qdd, loads, processes=1)
    forked = reduce_residuals(model.multibody, t, q, qd, qdd, loads, processes=2)
    for name in ("q", "qdot", "qddot", "generalized_forces"):
        np.testing.assert_array_equal(getattr(forked, name), getattr(serial, name), err_msg=name)
    assert forked.mass_scale == serial.mass_scale
    assert forked.iterations == serial.iterations
    assert forked.before == serial.before and forked.after == serial.after
    # the forces after are the inverse dynamics of the whole result, bit for bit (a what-if's
    # baseline recomputes them from the adjusted model and motion)
    whole = inverse_dynamics(forked.multibody, forked.q, forked.qdot, forked.qddot, loads)
    np.testing.assert_array_equal(forked.generalized_forces, whole)
    before = inverse_dynamics(model.multibody, q, qd, qdd, loads)[:, _root(model.multibody)[0]]
    assert forked.before["force_n"]["peak"] == pytest.approx(np.abs(before[:, :3]).max(), rel=1e-12)


def test_default_processes_follow_the_callers_limits(monkeypatch) -> None:
    """Forked helpers only where the caller may have them: not where $RUNMUSCLES_SOLVER_PROCESSES
    is 1 (batch workers), not from a thread other than the main one (the web app's analyses)."""
    import os
    import sys
    import threading

    from runmuscles.dynamics import residual_reduction as rr_mod
    from runmuscles.muscles.dynamic_model import SOLVER_PROCESSES_ENV

    monkeypatch.setenv(SOLVER_PROCESSES_ENV, "1")
    assert rr_mod.default_processes() == 1
    monkeypatch.delenv(SOLVER_PROCESSES_ENV)
    got = []
    worker = threading.Thread(target=lambda: got.append(rr_mod.default_processes()))
    worker.start()
    worker.join()
    assert got == [1]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if sys.platform.startswith("linux") and usable >= 2 and threading.active_count() == 1:
        assert rr_mod.default_processes() == min(rr_mod.PARALLEL_PROCESSES, usable)
        monkeypatch.setenv(SOLVER_PROCESSES_ENV, "2")
        assert rr_mod.default_processes() == 2


def test_later_segments_reuse_their_first_jacobian(hamner: Path, monkeypatch) -> None:
    """Segments with the masses held fixed linearise once and stop early (see
    FIXED_MASS_PREDICTION_TOLERANCE); their results are as good as with a fresh Jacobian every pass
    and every pass (peaks within a few per cent, kinematic changes within the limits)."""
    from runmuscles.dynamics import residual_reduction as rr_mod

    model, t, q, qd, qdd, loads = _stride(hamner / "subject02", "Run_3", cycles=3)
    n_seg = int(np.ceil((t[-1] - t[0]) / SEGMENT_S - 1e-9))
    assert n_seg >= 3
    calls = {"free": 0, "fixed": 0}
    real = rr_mod._segment_jacobian

    def counted(*args):
        calls["free" if args[10] is None else "fixed"] += 1
        return real(*args)

    monkeypatch.setattr(rr_mod, "_segment_jacobian", counted)
    reused = reduce_residuals(model.multibody, t, q, qd, qdd, loads, processes=1)
    # at most once per later segment (none where a segment is within the thresholds as measured)
    assert 1 <= calls["fixed"] <= n_seg - 1
    assert calls["free"] >= 1
    monkeypatch.setattr(rr_mod, "REUSE_JACOBIAN_WITH_FIXED_MASSES", False)
    # and every pass the segment that sets the masses would take (no early stop)
    monkeypatch.setattr(rr_mod, "_fixed_mass_segment_done", lambda peak, predicted: False)
    calls.update(free=0, fixed=0)
    fresh = reduce_residuals(model.multibody, t, q, qd, qdd, loads, processes=1)
    assert calls["fixed"] > n_seg - 1  # the comparison really relinearised
    assert reused.mass_scale == fresh.mass_scale
    np.testing.assert_array_equal(reused.trunk_com_shift_m, fresh.trunk_com_shift_m)
    assert reused.kinematics_within_limits and fresh.kinematics_within_limits
    for kind in ("force_n", "moment_nm"):
        assert reused.after[kind]["peak"] <= 1.05 * fresh.after[kind]["peak"], kind


def test_fixed_mass_segments_stop_at_the_thresholds_or_the_prediction() -> None:
    """A segment with the masses held fixed stops once each of its peak ratios is within its
    threshold or near what its last step's linearisation predicted; not before a first step
    unless every peak is within its threshold."""
    from runmuscles.dynamics.residual_reduction import FIXED_MASS_PREDICTION_TOLERANCE as tol
    from runmuscles.dynamics.residual_reduction import _fixed_mass_segment_done as done

    assert done(np.array([0.9, 1.0]), None)
    assert not done(np.array([0.9, 1.2]), None)
    # the moments' peak far above the threshold, but as predicted: no further pass
    assert done(np.array([0.95, 3.0]), np.array([0.8, 3.0 / (1.0 + 0.5 * tol)]))
    assert not done(np.array([0.95, 3.0]), np.array([0.8, 3.0 / (1.0 + 2.0 * tol)]))
    # a force peak above its threshold and above its prediction needs a pass, whatever the moments
    assert not done(np.array([1.15, 3.0]), np.array([0.8, 3.0]))


def test_fixed_mass_segment_within_thresholds_is_left_as_measured(stride) -> None:
    """A segment that holds the masses fixed and whose residuals are within the thresholds before
    any change takes no pass and changes nothing (RRA's least change); with thresholds below its
    peaks the same segment takes its passes."""
    from runmuscles.dynamics.residual_reduction import _fit_segment

    model, t, q, qd, qdd, loads = stride
    mb = model.multibody
    idx, rot = _root(mb)
    r = inverse_dynamics(mb, q, qd, qdd, loads)[:, idx]
    limits = 2.0 * np.abs(r).max(axis=0).clip(min=1.0)  # every residual at most half its threshold
    kin_peak = np.where(rot, KINEMATIC_LIMIT_RAD, KINEMATIC_LIMIT_M)
    use = np.ones((t.size, 6), dtype=bool)
    args = (mb, t, q, qd, qdd, list(loads), idx, 0, limits, kin_peak, use, 0.02, 4)
    params, dq, dqd, dqdd, passes = _fit_segment(*args, np.zeros(4))
    assert passes == 0
    assert np.array_equal(params, np.zeros(4))
    assert not dq.any() and not dqd.any() and not dqdd.any()
    tight = limits / 8.0  # every peak above its threshold: the fixed-mass segment works
    *_, passes = _fit_segment(*args[:8], tight, *args[9:], np.zeros(4))
    assert passes >= 1


def test_jacobian_from_every_other_frame(stride) -> None:
    """The Jacobian from per-frame derivatives at every second frame: exact at those frames,
    close to the every-frame Jacobian in between; at 150 Hz every second frame is used
    (DERIVATIVE_SPACING_S), at 100 Hz every frame."""
    from runmuscles.dynamics import residual_reduction as rr_mod

    model, t, q, qd, qdd, loads = stride
    mb = model.multibody
    idx, _ = _root(mb)
    basis, dbasis, ddbasis = rr_mod._spline_basis(t, rr_mod.KNOT_SPACING_S)
    x = np.zeros(4 + 6 * basis.shape[1])
    r0 = inverse_dynamics(mb, q, qd, qdd, loads)[:, idx]
    args = (mb, 0, x, mb, q, qd, qdd, r0, list(loads), idx, np.zeros(4), basis, dbasis, ddbasis)
    every = rr_mod._segment_jacobian(*args, 1)
    other = rr_mod._segment_jacobian(*args, 2)
    scale = np.abs(every).max()
    np.testing.assert_allclose(other[::2], every[::2], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(other[-1], every[-1], rtol=0, atol=1e-9 * scale)
    assert not np.array_equal(other, every)
    assert np.linalg.norm(other - every) < 0.1 * np.linalg.norm(every)
    assert int(rr_mod.DERIVATIVE_SPACING_S * 150.0 + 1e-9) == 2
    assert int(rr_mod.DERIVATIVE_SPACING_S * 100.0 + 1e-9) == 1
