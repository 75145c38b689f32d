"""Defaults that give valid numbers, and the one rule that flags figures when they are not.

* the rule (runmuscles.analyses.validity) on arrays: saturation of more than 10 % of the
  muscles for more than 5 % of the stride, and reserves doing more than 10 % of a joint's
  positive work, each just below and just above its limit;
* with the defaults (volume strength, the scaled model's stature), the 14 Hamner 2013
  trials at 3 and 4 m/s give a level-running cost of 3.4-4.6 J/kg/m, the measured range
  (the measured range named in issue 13);
* a flagged result says so in summary.json and its warnings bear on energy and muscles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import HAMNER_SUBJECTS

from runmuscles.analyses.validity import evaluate_validity, figures_flagged, flag_reasons
from runmuscles.kinematics.events import StrideCycle
from runmuscles.pipeline import AnalysisOptions, analyze_runner_trials
from runmuscles.validation import limit


def _case(n_muscles: int, n_saturated: int, saturated_fraction: float, reserve_share: float):
    """One stride of 1 s at 1 kHz: ``n_saturated`` muscles at full activation for
    ``saturated_fraction`` of it; one joint whose reserve makes ``reserve_share`` of the
    net moment (positive work with a constant speed and a positive moment)."""
    t = np.linspace(0.0, 1.0, 1001)
    cycle = StrideCycle("right", 0.0, 0.4, 1.0, 0.2, 1)
    sat = np.zeros((t.size, n_muscles), dtype=bool)
    sat[t < saturated_fraction, :n_saturated] = True
    net = np.full((t.size, 2), 50.0)
    muscle = net.copy()
    muscle[:, 0] *= 1.0 - reserve_share
    speed = np.full((t.size, 2), 2.0)
    names = [f"m{k}_r" for k in range(n_muscles)]
    return evaluate_validity(t, [cycle], names, sat, ["ankle_angle_r", "knee_angle_r"], muscle, net, speed)


def test_saturation_limit() -> None:
    assert limit("saturated_muscle_share").high == 0.10
    assert limit("saturated_stride_fraction").high == 0.05
    assert not _case(100, 10, 0.2, 0.0).flagged  # 10 % of the muscles: at the limit
    got = _case(100, 11, 0.2, 0.0)
    assert got.flagged and [w.code for w in got.warnings] == ["muscles_saturated_over_stride"]
    assert got.warnings[0].affects == ("energy", "muscles") and not got.warnings[0].invalidates
    assert not _case(100, 50, 0.049, 0.0).flagged  # briefly saturated: not flagged
    assert _case(100, 50, 0.06, 0.0).flagged


def test_reserve_work_limit() -> None:
    assert not _case(100, 0, 0.0, 0.09).flagged
    got = _case(100, 0, 0.0, 0.12)
    assert [w.code for w in got.warnings] == ["reserves_do_joint_work"]
    assert got.flagged_joints == ["ankle_angle_r"]
    assert got.reserve_share_of_joint_positive_work["ankle_angle_r"] == pytest.approx(0.12)
    assert "ankle_angle_r" in got.warnings[0].message


def test_figures_flagged_follow_the_warnings() -> None:
    q = {"warnings": [w.as_dict() for w in _case(100, 20, 0.5, 0.3).warnings]}
    assert figures_flagged(q) == {"energy": True, "muscles": True}
    assert len(flag_reasons(q, "energy")) == 2
    assert figures_flagged({"warnings": []}) == {"energy": False, "muscles": False}
    residual = {"code": "pelvis_residuals_above_hicks", "message": "x", "affects": ["muscles"]}
    assert figures_flagged({"warnings": [residual]}) == {"energy": False, "muscles": True}


def test_defaults_are_volume_strength() -> None:
    assert AnalysisOptions().strength == "volume"
    assert AnalysisOptions().height_m is None


@pytest.mark.slow
def test_default_level_cost_of_the_hamner_runners(hamner: Path) -> None:
    """The 14 shared Hamner trials at 3 and 4 m/s, analysed with the defaults, cost 3.4-4.6
    J/kg/m (gross, as ``validate-energy`` reports it); the summary carries the validity
    rule's verdict and the figure flags."""
    from runmuscles.analyses.energetics import energetics_summary

    got = {}
    for folder, v, a in analyze_runner_trials(hamner, subjects=list(HAMNER_SUBJECTS), speeds_m_s=(3, 4)):
        assert a.options.strength == "volume"
        assert any("height" in n and "stature" in n for n in a.quality["notes"])
        got[folder.name, v] = energetics_summary(a)["metabolic_cost_j_per_kg_m"]
        s = a.summary()
        rule = s["quality"]["validity_rule"]
        # joints only: the pelvis's residuals are judged against Hicks et al. (2015) instead
        assert rule["reserve_share_of_joint_positive_work"]
        assert not any(c.startswith("pelvis") for c in rule["reserve_share_of_joint_positive_work"])
        assert s["metabolic_cost_flagged"] == s["quality"]["figures_flagged"]["energy"]
        assert rule["flagged"] == any(
            w["code"] in ("muscles_saturated_over_stride", "reserves_do_joint_work")
            for w in s["quality"]["warnings"]
        )
        print(folder.name, v, f"{got[folder.name, v]:.2f} J/kg/m", "flagged" if rule["flagged"] else "")
    assert len(got) == 14
    assert all(3.4 <= c <= 4.6 for c in got.values()), got


def test_energy_sentence_is_flagged_only_when_a_warning_bears_on_energy() -> None:
    from runmuscles.reports.narrative import energy_sentence

    plain = {
        "metabolic_cost_j_per_kg_m": 4.0,
        "energetics": {"kcal_per_km": 70.0},
        "quality": {"warnings": []},
    }
    assert energy_sentence(plain) == "Estimated energy cost: 4.00 J/kg/m (70 kcal/km)."
    warned = dict(plain, quality={"warnings": [w.as_dict() for w in _case(100, 20, 0.5, 0.0).warnings]})
    text = energy_sentence(warned)
    assert "FLAGGED" in text and "20 of 100 muscles" in text
    muscles_only = {"code": "pelvis_residuals_above_hicks", "message": "x", "affects": ["muscles"]}
    assert "FLAGGED" not in energy_sentence(dict(plain, quality={"warnings": [muscles_only]}))
    assert energy_sentence({"metabolic_cost_j_per_kg_m": None}) is None


def test_terminal_and_summary_show_the_flag_energy_first(hamner: Path, tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from runmuscles.pipeline import analyze_trial
    from runmuscles.reports.terminal import print_analysis
    from runmuscles.trials import resolve_trial

    spec = resolve_trial(hamner / "subject01", "Run_4")
    a = analyze_trial(spec.model, spec.coordinates, spec.forces, AnalysisOptions(speed_m_s=4.0, cycle=1))
    s = a.summary()
    buf = StringIO()
    print_analysis(a, tmp_path, Console(file=buf, width=300))
    lines = buf.getvalue().splitlines()
    assert lines[1].startswith("Estimated energy cost")  # after the trial's header line
    assert ("FLAGGED" in lines[1]) == s["metabolic_cost_flagged"]
    assert s["metabolic_cost_flagged"] == bool(flag_reasons(s["quality"], "energy"))
    # the model's own strength (the drop-in's default) is still an option, and flagged too
    m = analyze_trial(
        spec.model, spec.coordinates, spec.forces, AnalysisOptions(speed_m_s=4.0, cycle=1, strength="model")
    )
    assert m.summary()["metabolic_cost_flagged"]
    assert (
        m.quality["validity_rule"]["saturated_muscle_share"]
        > s["quality"]["validity_rule"]["saturated_muscle_share"]
    )


def test_analyze_height_sets_the_volume_strength(hamner: Path, tmp_path: Path) -> None:
    """`analyze` defaults to volume strength; --height (now also with a trial folder) sets its
    height, and without it the notes say the scaled model's stature was taken."""
    import json
    import subprocess
    import sys

    def run(*extra: str) -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "runmuscles", "analyze", str(hamner / "subject01"), "--trial", "Run_4"]
            + ["--cycle", "1", "--out", str(tmp_path / "o"), "--json", "--no-report", *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    given = run("--height", "1.70")
    assert given["settings"]["strength"] == "volume" and given["settings"]["height_m"] == 1.70
    assert any("height 1.70 m (as given)" in n for n in given["quality"]["notes"])
    default = run()
    assert default["settings"]["height_m"] is None
    assert any(
        "height 1.81 m (not given: the scaled model's stature" in n for n in default["quality"]["notes"]
    )
    model = run("--strength", "model")
    assert model["settings"]["strength"] == "model" and not any(
        "strength scaled by muscle volume" in n for n in model["quality"]["notes"]
    )
    # a shorter runner has less muscle volume: weaker muscles, more saturation
    assert (
        given["quality"]["validity_rule"]["saturated_muscle_share"]
        >= (default["quality"]["validity_rule"]["saturated_muscle_share"])
    )
