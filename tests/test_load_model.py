"""The per-group load model: the shipped table (speed x grade x cadence) and its integration
over a run, including what drove the load."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.load_model import (
    DEFAULT_CADENCES_PCT,
    DEFAULT_GRADES_PCT,
    QUANTITIES,
    build_load_model,
    load_load_model,
    main_driver,
    run_load,
)
from runmuscles.analyses.runs import EARTH_RADIUS_M, CleanRun, RunTotals, clean_activity
from runmuscles.errors import InputError
from runmuscles.readers.watch import read_activity
from runmuscles.tables import TimeTable

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
M_PER_DEG = np.pi * EARTH_RADIUS_M / 180.0


def _steady_run(
    speed_m_s: float,
    duration_s: int = 600,
    gait: str = "run",
    grade_pct: float | np.ndarray = 0.0,
    cadence_spm: float | np.ndarray | None = None,
) -> CleanRun:
    t = np.arange(duration_s + 1, dtype=float)
    d = speed_m_s * t
    grade = np.broadcast_to(np.asarray(grade_pct, dtype=float), t.shape)
    cols = [d, np.full_like(t, speed_m_s), grade, np.ones_like(t)]
    names = ["distance_m", "speed_m_s", "grade_pct", "moving"]
    if cadence_spm is not None:
        cols.append(np.broadcast_to(np.asarray(cadence_spm, dtype=float), t.shape))
        names.append("cadence_spm")
    table = TimeTable(t, np.column_stack(cols), names)
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


def _cell(m, g: str, q: str, si: int, grade: float, cad: float) -> float:
    """A table value at a speed index and a grade and cadence on the axes."""
    return m["groups"][g][f"{q}_per_km"][si][m["grades_pct"].index(grade)][m["cadences_pct"].index(cad)]


def _at_grade(m, g: str, q: str, si: int, grade: float) -> float:
    """Per-km load at a speed index, 100 % cadence, linearly interpolated in grade."""
    ci = m["cadences_pct"].index(100.0)
    col = [m["groups"][g][f"{q}_per_km"][si][gi][ci] for gi in range(len(m["grades_pct"]))]
    return float(np.interp(grade, m["grades_pct"], col))


# -- the shipped table -----------------------------------------------------------------------


def test_shipped_table_has_provenance_axes_and_every_runner():
    m = load_load_model()
    prov = m["provenance"]
    for key in (
        "data",
        "runners",
        "models",
        "settings",
        "date",
        "runmuscles_version",
        "method",
        "transforms",
    ):
        assert prov[key]
    assert set(prov["transforms"]) == {"grade", "cadence"}
    assert prov["engine_notes"]["grade"] and prov["engine_notes"]["cadence"]
    assert prov["settings"]["strength"] == "volume"
    assert m["axes"] == ["speed_m_s", "grade_pct", "cadence_pct"]
    assert m["speeds_m_s"] == [2.0, 3.0, 4.0, 5.0]
    assert m["grades_pct"] == list(DEFAULT_GRADES_PCT)
    assert m["cadences_pct"] == list(DEFAULT_CADENCES_PCT)
    assert m["runners_per_speed"] == [7, 7, 7, 7]
    assert np.asarray(m["runners"]).shape == (4, 7, 5)
    # every cell holds every runner: no what-if failed
    assert np.all(np.asarray(m["runners"]) == 7) and prov["conditions_failed"] == 0
    assert {"calves", "quadriceps", "hamstrings", "gluteals"} <= set(m["groups"])
    for e in m["groups"].values():
        for q in QUANTITIES:
            assert np.asarray(e[f"{q}_per_km"]).shape == (4, 7, 5)
    # Stride frequency rises with running speed (Hamner & Delp 2013, J Biomech 46:780-787).
    assert np.all(np.diff(m["stride_frequency_hz"]) > 0)


def test_table_per_km_counts_the_strides_of_each_cadence():
    """Per km = per stride x strides per km; at cadence c a km takes c times as many strides,
    so the ratio per km / per stride scales with the cadence (each runner's exactly, the
    mean over runners within a few per cent)."""
    m = load_load_model()
    c = np.asarray(m["cadences_pct"]) / 100.0
    for g in ("calves", "quadriceps"):
        km = np.asarray(m["groups"][g]["impulse_bw_s_per_km"])
        st = np.asarray(m["groups"][g]["impulse_bw_s_per_stride"])
        ratio = km / st  # strides per km
        base = ratio[:, :, [m["cadences_pct"].index(100.0)]]
        assert np.allclose(ratio / base, c[None, None, :], rtol=0.03)
        # at 100 % cadence, strides per km = 1000 / stride length at the table's frequency
        v = np.asarray(m["speeds_m_s"])
        f = np.asarray(m["stride_frequency_hz"])
        assert np.allclose(base[:, m["grades_pct"].index(0.0), 0], 1000.0 * f / v, rtol=0.03)


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


# -- integrating a run -----------------------------------------------------------------------


def test_steady_flat_run_integrates_table_per_km():
    m = load_load_model()
    run = _steady_run(3.0)
    out = run_load(run, body_mass_kg=70.0)
    km = 3.0 * 600 / 1000.0
    assert out["distance_loaded_m"] == pytest.approx(1800.0)
    assert out["distance_out_of_range_m"] == 0.0
    for g in m["groups"]:
        for q in QUANTITIES:
            assert out["groups"][g][q] == pytest.approx(_cell(m, g, q, 1, 0.0, 100.0) * km, rel=1e-9)
            # flat, typical cadence: all of it is pace
            assert out["drivers"][g]["pace"][q] == pytest.approx(out["groups"][g][q], rel=1e-12)
            assert out["drivers"][g]["hills"][q] == pytest.approx(0.0, abs=1e-9)
            assert out["drivers"][g]["cadence"][q] == pytest.approx(0.0, abs=1e-9)
        assert out["groups"][g]["positive_work_j"] == pytest.approx(
            out["groups"][g]["positive_work_j_per_kg"] * 70.0
        )
    assert out["strides"] == pytest.approx(m["stride_frequency_hz"][1] * 600, rel=1e-6)
    assert any("no cadence" in w for w in out["warnings"])
    assert not any("not modelled" in w for w in out["warnings"])


def test_interpolates_speed_grade_and_cadence_linearly_and_refuses_outside():
    m = load_load_model()
    f35 = float(np.interp(3.5, m["speeds_m_s"], m["stride_frequency_hz"]))
    # 3.5 m/s, grade 7.5 %, cadence 102.5 % of the typical one: the mean of the 8 corners
    run = _steady_run(3.5, grade_pct=7.5, cadence_spm=120.0 * f35 * 1.025)
    out = run_load(run)
    for g in m["groups"]:
        corners = [
            _cell(m, g, "impulse_bw_s", si, gr, c)
            for si in (1, 2)
            for gr in (5.0, 10.0)
            for c in (100.0, 105.0)
        ]
        assert out["groups"][g]["impulse_bw_s"] == pytest.approx(np.mean(corners) * 2.1, rel=1e-9)
    assert out["conditions"]["mean_cadence_pct"] == pytest.approx(102.5)
    assert out["conditions"]["cadence_source"] == "file"
    assert out["strides"] == pytest.approx(f35 * 1.025 * 600, rel=1e-9)
    # no extrapolation: speed left out, grade and cadence counted at the table's edge
    fast = run_load(_steady_run(6.0))
    assert fast["distance_loaded_m"] == 0.0
    assert fast["distance_out_of_range_m"] == pytest.approx(3600.0)
    assert all(v["impulse_bw_s"] == 0.0 for v in fast["groups"].values())
    assert any("outside" in w and "no extrapolation" in w for w in fast["warnings"])
    steep = run_load(_steady_run(3.0, grade_pct=25.0))
    edge = run_load(_steady_run(3.0, grade_pct=15.0))
    assert steep["groups"]["gluteals"]["impulse_bw_s"] == pytest.approx(
        edge["groups"]["gluteals"]["impulse_bw_s"]
    )
    assert any("1800 m steeper" in w and "no extrapolation" in w for w in steep["warnings"])
    f3 = m["stride_frequency_hz"][1]
    slow_steps = run_load(_steady_run(3.0, cadence_spm=120.0 * f3 * 0.7))
    assert any("1800 m at a cadence outside" in w for w in slow_steps["warnings"])
    assert slow_steps["conditions"]["mean_cadence_pct"] == pytest.approx(m["cadences_pct"][0])
    walk = run_load(_steady_run(3.0, gait="walk"))
    assert walk["distance_loaded_m"] == 0.0 and any("walking" in w for w in walk["warnings"])


def test_higher_cadence_counts_more_shorter_strides_per_km():
    """At 110 % cadence the same km takes 1.1 x the strides: the run's strides and its load
    follow the table's per-km cell at that cadence (which has the shorter strides in it)."""
    m = load_load_model()
    f3 = m["stride_frequency_hz"][1]
    typical = run_load(_steady_run(3.0, cadence_spm=120.0 * f3))
    quick = run_load(_steady_run(3.0, cadence_spm=120.0 * f3 * 1.1))
    assert quick["strides"] == pytest.approx(1.1 * typical["strides"], rel=1e-9)
    for g in m["groups"]:
        assert quick["groups"][g]["impulse_bw_s"] == pytest.approx(
            _cell(m, g, "impulse_bw_s", 1, 0.0, 110.0) * 1.8, rel=1e-9
        )
        d = quick["drivers"][g]
        assert d["hills"]["impulse_bw_s"] == pytest.approx(0.0, abs=1e-9)
        assert d["pace"]["impulse_bw_s"] == pytest.approx(typical["groups"][g]["impulse_bw_s"], rel=1e-9)
        assert d["pace"]["impulse_bw_s"] + d["cadence"]["impulse_bw_s"] == pytest.approx(
            quick["groups"][g]["impulse_bw_s"], rel=1e-9
        )


def test_drivers_add_up_and_main_driver():
    m = load_load_model()
    f3 = m["stride_frequency_hz"][1]
    grade = 10.0 * np.sin(np.linspace(0, 6 * np.pi, 1201))
    out = run_load(_steady_run(3.0, 1200, grade_pct=grade, cadence_spm=120.0 * f3 * 0.95))
    for g, d in out["drivers"].items():
        for q in QUANTITIES:
            assert sum(d[k][q] for k in ("pace", "hills", "cadence")) == pytest.approx(
                out["groups"][g][q], rel=1e-9
            )
    assert main_driver({"pace": 1.0, "hills": 5.0, "cadence": -2.0}) == "hills"
    assert main_driver({"pace": -1.0, "hills": -5.0, "cadence": 0.0}) is None


# -- a flat and a hilly run at the same pace, from GPX files ---------------------------------


T0 = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)


def _write_gpx(path: Path, ele_of_distance, speed_m_s: float = 3.0, duration_s: int = 2400) -> None:
    """A run due north at a steady speed, 1 Hz, altitude given as a function of distance."""
    t = np.arange(duration_s + 1)
    north = speed_m_s * t
    lat, lon, ele = 46.0 + north / M_PER_DEG, np.full(t.size, 14.5), ele_of_distance(north)
    pts = "".join(
        f'<trkpt lat="{lat[i]:.8f}" lon="{lon[i]:.8f}"><ele>{ele[i]:.2f}</ele>'
        f"<time>{(T0 + timedelta(seconds=int(t[i]))).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for i in range(t.size)
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><type>running</type><trkseg>'
        + pts
        + "</trkseg></trk></gpx>"
    )


def _hills(period_m: float, grade_pct: float):
    """Triangle wave: up at ``grade_pct`` for half a period, down for the other half."""

    def ele(d):
        phase = np.mod(d, period_m) / period_m
        return 300.0 + grade_pct / 100.0 * period_m * np.where(phase < 0.5, phase, 1.0 - phase)

    return ele


@pytest.mark.parametrize(
    ("profile", "grades_run"),
    [
        # rolling: 1200 m up at 8 %, 1200 m down at 8 %, three times
        (_hills(2400.0, 8.0), (8.0, -8.0)),
        # one long climb at 6 %
        (lambda d: 300.0 + 0.06 * d, (6.0,)),
    ],
    ids=["rolling", "climb"],
)
def test_flat_and_hilly_run_differ_as_the_table_predicts(tmp_path, profile, grades_run):
    """Same pace (3 m/s, 40 min), one flat, one hilly: each group's load changes in the
    direction the engine's table gives for those grades (read from the table, not assumed)."""
    m = load_load_model()
    flat_f, hilly_f = tmp_path / "flat.gpx", tmp_path / "hilly.gpx"
    _write_gpx(flat_f, lambda d: np.full(d.shape, 300.0))
    _write_gpx(hilly_f, profile)
    flat_run = clean_activity(read_activity(flat_f))
    hilly_run = clean_activity(read_activity(hilly_f))
    assert flat_run.totals.distance_m == pytest.approx(hilly_run.totals.distance_m, rel=1e-3)
    flat, hilly = run_load(flat_run, model=m), run_load(hilly_run, model=m)
    assert hilly["conditions"]["distance_uphill_m"] > 0.4 * hilly["distance_loaded_m"]
    si = m["speeds_m_s"].index(3.0)
    checked = 0
    for g in m["groups"]:
        for q in ("impulse_bw_s", "positive_work_j_per_kg"):
            level = _at_grade(m, g, q, si, 0.0)
            # the table's prediction: mean over the run's grades (equal distance each) vs level
            expected = np.mean([_at_grade(m, g, q, si, gr) for gr in grades_run]) / level - 1.0
            got = hilly["groups"][g][q] / flat["groups"][g][q] - 1.0
            if abs(expected) < 0.03:
                continue  # too small a change to call a direction
            checked += 1
            assert np.sign(got) == np.sign(expected), (g, q, got, expected)
            # and of the size the table gives (the cleaned grade is smoothed at the turns)
            assert got == pytest.approx(expected, rel=0.35, abs=0.02), (g, q)
            # what drove it: the hills, not the pace
            d = hilly["drivers"][g]
            assert d["pace"][q] == pytest.approx(flat["groups"][g][q], rel=0.01)
            assert np.sign(d["hills"][q]) == np.sign(expected)
    assert checked >= 4


# -- reading and building the table ----------------------------------------------------------


def test_bad_model_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{}")
    with pytest.raises(InputError, match="not a runmuscles load model"):
        load_load_model(p)
    old = {"speeds_m_s": [2.0], "groups": {}, "provenance": {}, "stride_frequency_hz": [1.3]}
    p.write_text(json.dumps(old))
    with pytest.raises(InputError, match="no grade and cadence axes"):
        load_load_model(p)
    p.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_load_model(p)


def test_build_refuses_a_wrong_folder_and_bad_axes(tmp_path):
    with pytest.raises(InputError, match="absent: not found"):
        build_load_model(tmp_path / "absent", progress=None)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        build_load_model(tmp_path / "a_file", progress=None)
    (tmp_path / "notes").mkdir()
    with pytest.raises(InputError, match="no subject folders with ik/"):
        build_load_model(tmp_path, progress=None)
    with pytest.raises(InputError, match="must include 0"):
        build_load_model(tmp_path, grades_pct=(5, 10), progress=None)
    with pytest.raises(InputError, match="from 80 to 120"):
        build_load_model(tmp_path, cadences_pct=(100, 130), progress=None)


def test_build_one_runner_two_speeds(tmp_path):
    """The builder on one runner, two speeds, three grades and two cadences: shape, per-km
    accounting, the shipped table's baseline reproduced, and a written table that loads."""
    src = DATA / "hamner2013" / "subject01"
    if not src.is_dir():
        pytest.skip("shared hamner2013 data absent")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "subject01").symlink_to(src.resolve())
    lines: list[str] = []
    built = build_load_model(
        tmp_path / "data",
        tmp_path / "lm.json",
        speeds_m_s=(3, 4),
        grades_pct=(-10, 0, 10),
        cadences_pct=(100, 110),
        progress=lines.append,
    )
    assert len(lines) == 2 and all("5 of 5 conditions" in x for x in lines)
    assert np.asarray(built["runners"]).tolist() == np.ones((2, 3, 2), int).tolist()
    # per km = per stride x 1000 / (speed x stride time); at 110 % the stride is 1/1.1 as long
    for si, v in enumerate((3, 4)):
        tr = [t for t in built["trials"] if t["speed_m_s"] == v][0]
        for g in ("calves", "gluteals"):
            km = np.asarray(built["groups"][g]["impulse_bw_s_per_km"][si])
            st = np.asarray(built["groups"][g]["impulse_bw_s_per_stride"][si])
            per_km_100 = 1000.0 / tr["stride_length_m"]
            assert km[:, 0] == pytest.approx(st[:, 0] * per_km_100, rel=1e-5)
            assert km[:, 1] == pytest.approx(st[:, 1] * per_km_100 * 1.1, rel=1e-5)
            assert np.allclose(tr["impulse_bw_s_per_stride"][g], st, rtol=1e-5)
    # the shipped table's entry for this runner at 3 m/s (not stale)
    shipped = load_load_model()
    old = [t for t in shipped["trials"] if t["subject"] == "subject01" and t["speed_m_s"] == 3][0]
    new = [t for t in built["trials"] if t["speed_m_s"] == 3][0]
    assert new["stride_frequency_hz"] == pytest.approx(old["stride_frequency_hz"], rel=1e-6)
    gi_new = {gr: i for i, gr in enumerate(built["grades_pct"])}
    gi_old = {gr: i for i, gr in enumerate(shipped["grades_pct"])}
    ci_old = {c: i for i, c in enumerate(shipped["cadences_pct"])}
    for g, e in old["groups"].items():
        for q in QUANTITIES:
            assert new["groups"][g][q] == pytest.approx(e[q], rel=0.02, abs=1e-3)
        for gr in (-10.0, 10.0):
            for ci, c in enumerate((100.0, 110.0)):
                assert new["impulse_bw_s_per_stride"][g][gi_new[gr]][ci] == pytest.approx(
                    old["impulse_bw_s_per_stride"][g][gi_old[gr]][ci_old[c]], rel=0.02, abs=1e-3
                )
    # the written table loads and integrates
    m = load_load_model(tmp_path / "lm.json")
    out = run_load(_steady_run(3.5, grade_pct=5.0), model=m)
    assert out["distance_loaded_m"] == pytest.approx(2100.0)
    assert out["groups"]["calves"]["impulse_bw_s"] > 0


def test_real_run_accounts_for_every_metre():
    f = DATA / "watch" / "garmin-fenix-5-run.fit"
    if not f.exists():
        pytest.skip("shared watch data absent")
    run = clean_activity(read_activity(f))
    out = run_load(run)
    run_m = out["distance_loaded_m"] + out["distance_out_of_range_m"]
    assert 0 < out["distance_loaded_m"] <= run.totals.distance_m * 1.01
    assert run_m == pytest.approx(run.totals.distance_m, rel=0.05, abs=10.0)
    assert out["groups"]["calves"]["impulse_bw_s"] > 0


def test_one_hour_of_varying_running_is_integrated():
    """One hour of 1 Hz running (varying speed, grade and cadence), drivers included (its time
    is measured by ``benchmarks/bench_parts.py``: a whole hour read, cleaned and loaded < 1 s)."""
    m = load_load_model()
    n = 3600
    speed = 3.3 + 0.8 * np.sin(np.linspace(0, 20, n + 1))
    grade = 12.0 * np.sin(np.linspace(0, 31, n + 1))
    cad = 170.0 + 8.0 * np.cos(np.linspace(0, 13, n + 1))
    run = _steady_run(3.3, n, grade_pct=grade, cadence_spm=cad)
    run.table = TimeTable(
        run.table.time_s,
        np.column_stack([np.cumsum(speed) - speed[0], speed, grade, np.ones(n + 1), cad]),
        ["distance_m", "speed_m_s", "grade_pct", "moving", "cadence_spm"],
    )
    out = run_load(run, model=m)
    assert out["distance_loaded_m"] == pytest.approx(float(np.sum(speed[1:])), rel=0.01)
