"""The per-group load model: the shipped table and its integration over a run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.load_model import QUANTITIES, load_load_model, run_load
from runmuscles.analyses.runs import CleanRun, RunTotals
from runmuscles.errors import InputError
from runmuscles.tables import TimeTable

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _steady_run(speed_m_s: float, duration_s: int = 600, gait: str = "run") -> CleanRun:
    t = np.arange(duration_s + 1, dtype=float)
    d = speed_m_s * t
    cols = np.column_stack([d, np.full_like(t, speed_m_s), np.zeros_like(t), np.ones_like(t)])
    table = TimeTable(t, cols, ["distance_m", "speed_m_s", "grade_pct", "moving"])
    totals = RunTotals(d[-1], t[-1], t[-1], 0.0, 0.0, speed_m_s, 1000.0 / speed_m_s)
    return CleanRun(
        table,
        np.ones(t.size, bool),
        np.full(t.size, gait),
        [],
        totals,
        {},
        "running",
        "synthetic",
        datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_shipped_table_has_provenance_and_every_runner():
    m = load_load_model()
    prov = m["provenance"]
    for key in ("data", "models", "settings", "date", "runmuscles_version"):
        assert prov[key]
    assert prov["settings"]["strength"] == "volume"
    assert m["speeds_m_s"] == [2.0, 3.0, 4.0, 5.0]
    assert m["runners_per_speed"] == [7, 7, 7, 7]
    assert {"calves", "quadriceps", "hamstrings", "gluteals"} <= set(m["groups"])
    # Stride frequency rises with running speed (Hamner & Delp 2013, J Biomech 46:780-787).
    assert np.all(np.diff(m["stride_frequency_hz"]) > 0)


def test_stride_frequency_matches_published_gait_cycles():
    """The table's stride frequency agrees with the data set's own gait cycle times."""
    root = DATA / "hamner2013"
    if not root.is_dir():
        pytest.skip("shared hamner2013 data absent")
    m = load_load_model()
    for i, v in enumerate((2, 3, 4, 5)):
        f = []
        for s in sorted(root.glob("subject*/gaitTimes.json")):
            cyc = json.loads(s.read_text())["cycles"][f"run{v}"].values()
            f.append(np.mean([1.0 / (c["finalTime"] - c["initialTime"]) for c in cyc]))
        assert m["stride_frequency_hz"][i] == pytest.approx(np.mean(f), rel=0.05)


def test_steady_run_integrates_table_per_km():
    m = load_load_model()
    run = _steady_run(3.0)
    out = run_load(run, body_mass_kg=70.0)
    km = 3.0 * 600 / 1000.0
    assert out["distance_loaded_m"] == pytest.approx(1800.0)
    assert out["distance_out_of_range_m"] == 0.0
    for g, e in m["groups"].items():
        for q in QUANTITIES:
            assert out["groups"][g][q] == pytest.approx(e[f"{q}_per_km"][1] * km, rel=1e-9)
        assert out["groups"][g]["positive_work_j"] == pytest.approx(
            out["groups"][g]["positive_work_j_per_kg"] * 70.0
        )
    assert out["strides"] == pytest.approx(m["stride_frequency_hz"][1] * 600, rel=1e-6)
    assert any("grade" in w for w in out["warnings"])


def test_interpolates_between_speeds_and_refuses_outside():
    m = load_load_model()
    mid = run_load(_steady_run(3.5))
    for g, e in m["groups"].items():
        per_km = 0.5 * (e["impulse_bw_s_per_km"][1] + e["impulse_bw_s_per_km"][2])
        assert mid["groups"][g]["impulse_bw_s"] == pytest.approx(per_km * 2.1, rel=1e-9)
    fast = run_load(_steady_run(6.0))
    assert fast["distance_loaded_m"] == 0.0
    assert fast["distance_out_of_range_m"] == pytest.approx(3600.0)
    assert all(v["impulse_bw_s"] == 0.0 for v in fast["groups"].values())
    assert any("outside" in w and "no extrapolation" in w for w in fast["warnings"])
    walk = run_load(_steady_run(3.0, gait="walk"))
    assert walk["distance_loaded_m"] == 0.0 and any("walking" in w for w in walk["warnings"])


def test_real_run_accounts_for_every_metre():
    f = DATA / "watch" / "garmin-fenix-5-run.fit"
    if not f.exists():
        pytest.skip("shared watch data absent")
    from runmuscles.analyses.runs import clean_activity
    from runmuscles.readers.watch import read_activity

    run = clean_activity(read_activity(f))
    out = run_load(run)
    run_m = out["distance_loaded_m"] + out["distance_out_of_range_m"]
    assert 0 < out["distance_loaded_m"] <= run.totals.distance_m * 1.01
    assert run_m == pytest.approx(run.totals.distance_m, rel=0.05, abs=10.0)
    assert out["groups"]["calves"]["impulse_bw_s"] > 0


def test_bad_model_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{}")
    with pytest.raises(InputError, match="not a runmuscles load model"):
        load_load_model(p)


def test_shipped_table_is_what_the_builder_makes(tmp_path):
    """Rebuilding one runner at one speed reproduces the shipped trial entry (not stale)."""
    src = DATA / "hamner2013" / "subject01"
    if not src.is_dir():
        pytest.skip("shared hamner2013 data absent")
    from runmuscles.analyses.load_model import build_load_model

    (tmp_path / "subject01").symlink_to(src.resolve())
    built = build_load_model(tmp_path, speeds_m_s=(3,), progress=lambda s: None)
    new = built["trials"][0]
    old = [t for t in load_load_model()["trials"] if t["subject"] == "subject01" and t["speed_m_s"] == 3][0]
    assert new["stride_frequency_hz"] == pytest.approx(old["stride_frequency_hz"], rel=1e-6)
    for g, e in old["groups"].items():
        for q in QUANTITIES:
            assert new["groups"][g][q] == pytest.approx(e[q], rel=0.02, abs=1e-3)


def test_one_hour_is_fast():
    import time

    m = load_load_model()
    run = _steady_run(3.3, 3600)
    t0 = time.perf_counter()
    out = run_load(run, model=m)
    assert time.perf_counter() - t0 < 0.2
    assert out["distance_loaded_m"] == pytest.approx(3.3 * 3600)
