"""All 28 hamner2013 trials through the command line, with physics checks on the results.

* peak vertical ground reaction force 2-3.2 body weights at 3-5 m/s (Hamner & Delp 2013
  report 2.5-2.9 BW over 3-5 m/s; Cavanagh & Lafortune 1980, J Biomech 13:397-406: 2-3 BW);
* the triceps surae (soleus and gastrocnemii) carry the largest share of the ankle
  plantarflexors' force impulse in stance;
* muscle moments plus reserves reproduce the joint moments at every frame.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import HAMNER_SUBJECTS
from typer.testing import CliRunner

from runmuscles.cli import app

pytestmark = pytest.mark.slow

TRIALS = [(s, f"Run_{v}") for s in HAMNER_SUBJECTS for v in (2, 3, 4, 5)]
PLANTARFLEXORS = ("soleus", "med_gas", "lat_gas", "tib_post", "flex_dig", "flex_hal", "per_brev", "per_long")
TRICEPS_SURAE = ("soleus", "med_gas", "lat_gas")


@pytest.fixture(scope="module")
def results(hamner: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    runner = CliRunner()
    out_root = tmp_path_factory.mktemp("hamner")
    got = {}
    for subject, trial in TRIALS:
        out = out_root / f"{subject}_{trial}"
        res = runner.invoke(
            app, ["analyze", str(hamner / subject), "--trial", trial, "--out", str(out), "--quiet"]
        )
        assert res.exit_code == 0, (subject, trial, res.output, res.exception)
        got[(subject, trial)] = out
    return got


def test_every_trial_and_stride_has_results_and_quality(results: dict) -> None:
    for key, out in results.items():
        s = json.loads((out / "summary.json").read_text())
        assert s["n_strides"] >= 3, key
        assert len(s["strides"]) == s["n_strides"]
        for st in s["strides"]:
            assert isinstance(st["flags"], list)
            assert 0.2 < st["stance_fraction"] < 0.65 or any("stance" in f for f in st["flags"])
        assert s["quality"]["solver_converged_all_frames"], key


def test_angles_and_forces_agree_on_every_shared_trial(results: dict) -> None:
    """runmuscles.analyses.consistency: no shared trial is refused (measured: residual forces
    1.3-4.1 x and moments 3.0-8.1 x the Hicks et al. 2015 thresholds at the 95th percentile of
    frames, centre of pressure beyond 10 cm of the foot on at most 6 % of stance)."""
    for key, out in results.items():
        c = json.loads((out / "summary.json").read_text())["quality"]["consistency"]
        assert c["consistent"], (key, c)
        assert c["cop_outside_foot_stance_fraction"] < 0.1, key
        assert c["residual_hicks_ratio_p95"]["force_n"] < 4.5, key


def test_peak_vertical_grf(results: dict) -> None:
    for (subject, trial), out in results.items():
        if trial == "Run_2":
            continue
        s = json.loads((out / "summary.json").read_text())
        assert 2.0 <= s["peak_vertical_grf_bw"] <= 3.2, (subject, trial, s["peak_vertical_grf_bw"])


def test_triceps_surae_dominates_plantarflexor_stance_impulse(results: dict) -> None:
    for key, out in results.items():
        with (out / "muscles.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        for side in ("_r", "_l"):  # each leg's stance is its own (phases per leg)
            pf = {}
            for r in rows:
                m = r["muscle"]
                if m.endswith(side) and m[: -len(side)] in PLANTARFLEXORS:
                    pf[m] = pf.get(m, 0.0) + float(r["stance_impulse_n_s"])
            ts = sum(v for m, v in pf.items() if m[: -len(side)] in TRICEPS_SURAE)
            others = {m: v for m, v in pf.items() if m[: -len(side)] not in TRICEPS_SURAE}
            assert ts > max(others.values()), key
            assert ts / sum(pf.values()) > 0.5, (key, ts / sum(pf.values()))


def test_muscles_and_reserves_reproduce_joint_moments(results: dict) -> None:
    for key, out in results.items():
        q = json.loads((out / "summary.json").read_text())["quality"]
        assert q["equilibrium_max_error"] < 1e-6, key
