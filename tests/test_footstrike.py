"""Foot-strike pattern against the observed patterns of participantInfo.csv (Fukuchi 2017)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.footstrike import (
    classify_strike_angle,
    classify_strike_index,
    foot_angle,
    foot_strikes_from_markers,
    foot_strikes_from_plate,
    strike_index,
    summarise,
)
from runmuscles.kinematics.forceplates import split_feet
from runmuscles.readers.c3d import read_c3d

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fukuchi2017"


def test_strike_index_geometry():
    heel = np.array([1.0, 0.02, 0.5])
    toe = np.array([1.2, 0.05, 0.5])  # 20 cm forward; height is ignored
    assert strike_index(np.array([1.0, 0.0, 0.5]), heel, toe) == pytest.approx(0.0)
    assert strike_index(np.array([1.15, 0.0, 0.53]), heel, toe) == pytest.approx(0.75)
    assert classify_strike_index(0.2) == "rearfoot"
    assert classify_strike_index(0.5) == "midfoot"
    assert classify_strike_index(0.8) == "forefoot"
    # Toe 5 cm above the heel over 20 cm: 14 deg, heel down: rearfoot by Altman & Davis.
    ang = foot_angle(np.array([0.0, 0.0, 0.0]), np.array([0.2, 0.05, 0.0]))
    assert np.degrees(ang) == pytest.approx(np.degrees(np.arctan2(0.05, 0.2)))
    assert classify_strike_angle(ang) == "rearfoot"
    assert classify_strike_angle(np.radians(3.0)) == "midfoot"
    assert classify_strike_angle(np.radians(-5.0)) == "forefoot"


@pytest.fixture(scope="module")
def results():
    if not DATA.exists():
        pytest.skip("fukuchi2017 data not present")
    import pandas as pd

    info = pd.read_csv(DATA / "participantInfo.csv").drop_duplicates("Subject").set_index("Subject")
    rows = []
    for p in sorted(DATA.glob("*/*run*.c3d")):
        t = read_c3d(p)
        static = read_c3d(p.parent / f"{p.parent.name}static.c3d").markers
        feet = split_feet(t.plates[0], t.markers)
        strikes = foot_strikes_from_plate(t.plates[0], t.markers, feet.contacts, static=static)
        summary = summarise(strikes)
        subject = int(re.match(r"RBDS0*(\d+)", p.name).group(1))
        speed = p.stem[-2:]
        for side in "rl":
            observed = str(info.loc[subject, f"{side.upper()}FSI{speed}"]).lower()
            rows.append((p.name, side, observed, summary[side], strikes, t, static))
    return rows


def test_strike_index_agrees_with_observed_patterns(results):
    """Agreement with the 24 observed patterns (4 runners x 3 speeds x 2 feet).

    21/24: the three misses are RBDS010's 'midfoot' labels (2.5 m/s both feet, 3.5 m/s right),
    whose COP lands at 0.76-0.84 of the heel-to-metatarsal length, where RBDS001's 'forefoot'
    labels are (0.75-0.85). No threshold on this index separates the two runners.
    """
    agree = [r for r in results if r[3]["pattern"] == r[2]]
    assert len(results) == 24
    assert len(agree) >= 21, [
        (r[0], r[1], r[2], r[3]["pattern"], round(r[3]["strike_index"], 2)) for r in results
    ]
    # The rearfoot striker (RBDS03) is unambiguous at every speed and both feet.
    for r in results:
        if r[0].startswith("RBDS03"):
            assert r[3]["strike_index"] < 0.33 and r[3]["share"] > 0.7


def test_marker_angle_fallback_agreement_with_observed_patterns(results):
    """Without forces, the pattern comes from the foot-strike angle (Altman & Davis 2012
    thresholds, standing angle removed), taken here at the plate's contact times: 10/24.

    It agrees on the rearfoot striker (6/6) and on RBDS010's forefoot and midfoot labels
    that have a clear angle, but RBDS001's 'forefoot' feet land nearly flat (-2 to +4 deg:
    'midfoot' by the angle, while their COP lands at 0.74-0.84 of the heel-to-metatarsal
    length) and RBDS002's 'midfoot' feet at 2.5 m/s land heel first (+14 deg, 'rearfoot')."""
    agree = 0
    for _name, side, observed, _summary, strikes, t, static in results:
        times = np.array([s.time_s for s in strikes if s.side == side])
        alone = summarise(foot_strikes_from_markers(t.markers, side, times, static=static))
        agree += alone[side]["pattern"] == observed
    assert agree >= 10


def test_marker_angle_agrees_for_the_rearfoot_striker(results):
    """Without forces: the foot-strike angle (static removed) flags RBDS03 as rearfoot (> 8 deg)
    at all speeds, and the strike index and the angle order the runners the same way."""
    for name, side, _obs, summary, strikes, t, static in results:
        if name.startswith("RBDS03"):
            assert summary["angle_rad"] > np.radians(8.0)
            # Same answer from markers alone, at the force-plate contact times.
            times = [s.time_s for s in strikes if s.side == side]
            alone = foot_strikes_from_markers(t.markers, side, np.array(times), static=static)
            assert np.median([s.angle_rad for s in alone]) == pytest.approx(summary["angle_rad"], abs=1e-9)
    si = np.array([r[3]["strike_index"] for r in results])
    ang = np.array([r[3]["angle_rad"] for r in results])
    assert np.corrcoef(si, ang)[0, 1] < -0.7  # more heel-down, COP further back


def test_observed_labels_conflict_with_every_measure(results):
    """Why 21 of 24 is the ceiling for a classifier of these measures (the issue asks for 22).

    The same runner's same foot, with the same strike index, angle and (not asserted here) the
    same heel-to-ball landing lag, carries different labels in ``participantInfo.csv``:
    RBDS010's right foot is 'midfoot' at 3.5 m/s and 'forefoot' at 4.5 m/s, its left foot
    'midfoot' at 2.5 m/s and 'forefoot' at 3.5 m/s. Any rule that gives equal measures the same
    label misses one of each pair; the third 'midfoot' (RBDS010 right, 2.5 m/s) lands further
    forward (index) and more toe-first (angle) than RBDS001's 'forefoot' right foot at 4.5 m/s.
    If the data or labels change, this test says so.
    """
    by = {(r[0][:-4], r[1]): r for r in results}

    def measures(trial: str, side: str) -> tuple[str, float, float]:
        r = by[(trial, side)]
        return r[2], r[3]["strike_index"], float(np.degrees(r[3]["angle_rad"]))

    for a, b in (
        (("RBDS010runT35", "r"), ("RBDS010runT45", "r")),
        (("RBDS010runT25", "l"), ("RBDS010runT35", "l")),
    ):
        la, sa, aa = measures(*a)
        lb, sb, ab = measures(*b)
        assert {la, lb} == {"midfoot", "forefoot"}
        assert abs(sa - sb) < 0.05 and abs(aa - ab) < 1.0, (a, b, sa, sb, aa, ab)
    # a 'forefoot' foot that is less forefoot on both measures than a 'midfoot' one: a rule
    # that is monotone in either measure cannot label both as observed
    lab_mid, s_mid, a_mid = measures("RBDS010runT25", "r")
    lab_fore, s_fore, a_fore = measures("RBDS001runT45", "r")
    assert (lab_mid, lab_fore) == ("midfoot", "forefoot")
    assert s_mid >= s_fore and a_mid <= a_fore, (s_mid, s_fore, a_mid, a_fore)
