"""The command line: the demo, trial folders, JSON output, and one-line errors on bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runmuscles.readers import read_storage, write_storage
from runmuscles.tables import TimeTable


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, cwd=cwd, timeout=900
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, err
    assert err.startswith("runmuscles: error: ")
    for n in needles:
        assert n in err, (n, err)


@pytest.fixture(scope="module")
def subject01(hamner: Path) -> Path:
    return hamner / "subject01"


def test_analyze_trial_folder_json(subject01: Path, tmp_path: Path) -> None:
    out = tmp_path / "res"
    proc = run_cli("analyze", str(subject01), "--trial", "Run_4", "--cycle", "1", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    for key in ("body_mass_kg", "speed_m_s", "stride_time_s", "peak_vertical_grf_bw", "groups", "quality"):
        assert key in s
    # the model's 72.84 kg, adjusted by residual reduction (on by default; +0.13 % on this stride,
    # within its +-2 % bound): the summary reports the mass every result used
    rr = s["quality"]["residual_reduction"]
    assert s["speed_m_s"] == 4.0 and rr["body_mass_before_kg"] == pytest.approx(72.84, abs=0.01)
    assert (
        s["body_mass_kg"] == rr["body_mass_after_kg"] == pytest.approx(72.84 * rr["mass_scale"], abs=1e-4)
    )  # JSON: 6 decimals
    assert abs(rr["mass_change_percent"]) <= 2.0 + 1e-9
    # the published gait cycle: 0.862-1.546 s
    assert s["stride_time_s"] == pytest.approx(1.546 - 0.862, abs=0.005)
    for f in ("activation.sto", "force.sto", "groups.csv", "summary.json"):
        assert (out / f).exists()
    act = read_storage(out / "activation.sto")
    assert act.labels[0] == "glut_med1_r" and act.labels[-1].endswith("_reserve")
    assert np.all((act.data[:, :92] >= 0.01 - 1e-9) & (act.data[:, :92] <= 1 + 1e-9))


def _ik_with(subject01: Path, tmp: Path, edit) -> Path:
    t = read_storage(subject01 / "ik" / "Run_4.mot")
    t2 = edit(t)
    return write_storage(tmp / "coords.mot", t2, in_degrees=True)


def test_bad_inputs_give_one_line_errors(subject01: Path, tmp_path: Path) -> None:
    model = subject01 / "model" / "subject01_adjusted_scaled.osim"
    grf = subject01 / "Run_4_grf.xml"
    base = ["analyze", "--model", str(model), "--forces", str(grf), "--out", str(tmp_path / "o")]

    # missing file
    proc = run_cli(
        "analyze", "--model", str(tmp_path / "none.osim"), "--coordinates", str(tmp_path / "x.mot")
    )
    assert_one_line_error(proc, "none.osim", "not found")

    # unreadable header
    bad = tmp_path / "bad.mot"
    bad.write_text("this is not a motion file\n1 2 3\n")
    assert_one_line_error(run_cli(*base, "--coordinates", str(bad)), "bad.mot", "header")

    # a coordinate the model needs is missing
    def drop_knee(t: TimeTable) -> TimeTable:
        keep = [c for c in t.labels if c != "knee_angle_r"]
        return t.select(keep)

    c = _ik_with(subject01, tmp_path, drop_knee)
    assert_one_line_error(run_cli(*base, "--coordinates", str(c)), "coords.mot", "knee_angle_r")

    # a time window outside the data
    ik = subject01 / "ik" / "Run_4.mot"
    assert_one_line_error(run_cli(*base, "--coordinates", str(ik), "--start", "40", "--end", "41"), "outside")

    # NaN in the data
    def add_nan(t: TimeTable) -> TimeTable:
        d = t.data.copy()
        d[200, t.index("hip_flexion_l")] = np.nan
        return TimeTable(t.time_s, d, t.labels, t.in_degrees, t.meta)

    c = _ik_with(subject01, tmp_path, add_nan)
    assert_one_line_error(run_cli(*base, "--coordinates", str(c)), "coords.mot", "NaN", "hip_flexion_l")

    # a model without muscles
    text = model.read_text()
    stripped = re.sub(r"<Thelen2003Muscle name=.*?</Thelen2003Muscle>", "", text, flags=re.S)
    nomus = tmp_path / "no_muscles.osim"
    nomus.write_text(stripped)
    proc = run_cli("analyze", "--model", str(nomus), "--coordinates", str(ik), "--forces", str(grf))
    assert_one_line_error(proc, "no_muscles.osim", "no muscles")

    # forces without a matching foot
    xml = tmp_path / "grf.xml"
    xml.write_text(
        grf.read_text()
        .replace("<applied_to_body>calcn_l</applied_to_body>", "<applied_to_body>pelvis</applied_to_body>")
        .replace("Run_4_grf.mot", str(subject01 / "Run_4_grf.mot"))
    )
    proc = run_cli("analyze", "--model", str(model), "--coordinates", str(ik), "--forces", str(xml))
    assert_one_line_error(proc, "grf.xml", "pelvis", "foot")


def test_help_is_instant_and_lists_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in ("analyze", "so", "demo", "report", "validate-energy"):
        assert cmd in proc.stdout


def test_analyze_with_forces_estimated_from_motion(subject01: Path, tmp_path: Path) -> None:
    measured = run_cli(
        "analyze", str(subject01), "--trial", "Run_4", "--out", str(tmp_path / "m"), "--json", "--no-report"
    )
    est = run_cli(
        "analyze",
        str(subject01),
        "--trial",
        "Run_4",
        "--forces",
        "estimate",
        "--out",
        str(tmp_path / "e"),
        "--json",
        "--no-report",
    )
    assert measured.returncode == 0 and est.returncode == 0, est.stderr
    sm, se = json.loads(measured.stdout), json.loads(est.stdout)
    assert se["settings"]["forces_source"] == "estimated from motion alone"
    assert (tmp_path / "e" / "grf_estimated.mot").exists() and (tmp_path / "e" / "grf_estimated.xml").exists()
    # the estimate (body mass x centre-of-mass acceleration on the stance foot) is close to the plate
    assert se["peak_vertical_grf_bw"] == pytest.approx(sm["peak_vertical_grf_bw"], rel=0.1)
    assert se["stride_time_s"] == pytest.approx(sm["stride_time_s"], abs=0.02)
    # foot strike: from the centre of pressure with measured forces, from the foot's angle
    # with estimated ones; subject01 lands on the heel either way, on every stride
    fm, fe = sm["foot_strike"], se["foot_strike"]
    assert "strike index" in fm["method"] and "angle" in fe["method"]
    assert (fm["right"], fm["left"]) == (fe["right"], fe["left"]) == ("rearfoot", "rearfoot")
    assert len(fm["strides"]) >= 6 and {r["pattern"] for r in fm["strides"]} == {"rearfoot"}
    assert all(r["strike_index"] < 1 / 3 for r in fm["strides"])
    assert all(r["strike_index"] is None for r in fe["strides"])


def test_whatif_json_and_errors(tmp_path: Path) -> None:
    proc = run_cli("whatif", "--grade", "5", "--json", "--out", str(tmp_path / "w"))
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for key in ("baseline", "whatif"):
        groups = got[key]["groups"]
        assert {"calves", "gluteals", "quadriceps", "hamstrings"} <= set(groups)
        assert groups["calves"]["impulse_bw_s_per_stride"] > 0
    assert got["condition"] == {"grade_pct": 5.0}
    assert got["whatif"]["groups"]["gluteals"] != got["baseline"]["groups"]["gluteals"]
    assert (tmp_path / "w" / "whatif.csv").is_file()
    page = (tmp_path / "w" / "whatif.html").read_text()
    # the report shows the JSON's numbers
    assert f"{got['change']['calves']['impulse_bw_s_per_stride']:.3f}" in page
    assert_one_line_error(run_cli("whatif", "--speed", "7"), "7 m/s is outside", "does not extrapolate")
    assert_one_line_error(run_cli("whatif", "--grade", "35"), "--grade", "35 % is outside")


def test_whatif_passes_every_form_option(tmp_path: Path) -> None:
    """--strike and --overstride reach the engine (they once did not), --no-slope-adaptation too."""
    fore = json.loads(
        run_cli("whatif", "--strike", "forefoot", "--json", "--out", str(tmp_path / "f")).stdout
    )
    assert fore["condition"] == {"strike": "forefoot"}
    assert fore["change"]["calves"]["impulse_bw_s_per_stride"] > 0
    over = json.loads(run_cli("whatif", "--overstride", "0.1", "--json", "--out", str(tmp_path / "o")).stdout)
    assert over["condition"] == {"overstride_m": 0.1}
    plain = json.loads(
        run_cli(
            "whatif", "--grade", "10", "--no-slope-adaptation", "--json", "--out", str(tmp_path / "p")
        ).stdout
    )
    assert plain["condition"] == {"grade_pct": 10.0, "slope_adaptation": False}
    assert plain["whatif"]["stride"]["stride_time_s"] == pytest.approx(
        plain["baseline"]["stride"]["stride_time_s"]
    )


def test_validate_grade_json() -> None:
    proc = run_cli("validate-grade", "--speed", "3", "--grade", "10", "--json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["grade_pct"] == 10.0 and row["ratio_to_level"] > 1.0
    assert row["minetti_2002_ratio"] == pytest.approx(1.658, abs=0.001)


def test_claims_json(tmp_path: Path) -> None:
    proc = run_cli("claims", "--json", "--out", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert [r["id"] for r in rows] == list("abcdefgh")
    for r in rows:
        assert r["verdict"] in ("supported", "partly supported", "not supported")
        assert r["claim"] and r["evidence"]
    page = (tmp_path / "c" / "claims.html").read_text()
    for r in rows:
        assert r["verdict"] in page and f'id="claim-{r["id"]}"' in page
