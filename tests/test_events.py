"""Gait events from vertical force agree with the published gait cycles of hamner2013."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import HAMNER_SUBJECTS

from runmuscles.kinematics.events import contact_intervals, detect_gait_events, phase_labels
from runmuscles.readers import read_external_loads


def _events(path: Path):
    d = read_external_loads(path).data
    return detect_gait_events(
        d.time_s,
        {"right": d.column("R_ground_force_vy"), "left": d.column("L_ground_force_vy")},
        {"right": d.column("R_ground_force_vx"), "left": d.column("L_ground_force_vx")},
    )


@pytest.mark.parametrize("subject", HAMNER_SUBJECTS)
def test_foot_strikes_match_published_cycles(hamner: Path, subject: str) -> None:
    times = json.loads((hamner / subject / "gaitTimes.json").read_text())["cycles"]
    for speed in (2, 3, 4, 5):
        ev = _events(hamner / subject / f"Run_{speed}_grf.xml")
        ours = ev.feet["right"].foot_strikes_s
        published = list(times[f"run{speed}"].values())
        for k, cyc in enumerate(published):
            assert np.min(np.abs(ours - cyc["initialTime"])) < 0.006
            if k + 1 < len(published) and published[k + 1]["initialTime"] == cyc["finalTime"]:
                assert np.min(np.abs(ours - cyc["finalTime"])) < 0.006
        c = ev.cycles["right"][0]
        # running: stance is at most about half the stride, braking precedes propulsion
        assert 0.2 < c.stance_fraction < 0.6
        assert c.start_s < c.braking_end_s < c.toe_off_s < c.end_s
        # left strikes alternate with right ones
        left = ev.feet["left"].foot_strikes_s
        assert np.any((left > c.start_s) & (left < c.end_s))


def test_events_robust_to_noise_and_drift(hamner: Path) -> None:
    d = read_external_loads(hamner / "subject01" / "Run_4_grf.xml").data
    fy = d.column("R_ground_force_vy")
    clean = contact_intervals(fy, 1000.0)
    rng = np.random.default_rng(3)
    drift = 30.0 * (d.time_s - d.time_s[0]) / (d.time_s[-1] - d.time_s[0])  # 30 N over the trial
    noisy = fy + rng.normal(0, 8.0, fy.size) + drift
    got = contact_intervals(noisy, 1000.0)
    assert len(got) == len(clean)
    starts = np.array([a for a, _ in got])
    ref = np.array([a for a, _ in clean])
    assert np.max(np.abs(starts - ref)) <= 6  # samples (ms)


def test_phase_labels_cover_the_cycle(hamner: Path) -> None:
    ev = _events(hamner / "subject01" / "Run_4_grf.xml")
    c = ev.cycle("right", 1)
    t = np.linspace(c.start_s, c.end_s, 500)
    lab = phase_labels(t, c)
    assert set(lab) == {"braking", "propulsion", "early_swing", "late_swing"}
    assert list(dict.fromkeys(lab)) == ["braking", "propulsion", "early_swing", "late_swing"]
