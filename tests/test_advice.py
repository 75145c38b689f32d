"""From load to training: the cited exercise table, the advice (ranking, suggestions, demand),
the single-run check, and the wording rules over everything generated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.advice import (
    advice_for_results,
    advice_for_run,
    advice_for_week,
    advice_lines,
    group_demand,
    iter_text,
    load_exercises,
    wording_problems,
)
from runmuscles.analyses.groups import MAIN_GROUPS
from runmuscles.analyses.load_model import load_load_model, run_load, table_load_per_km
from runmuscles.analyses.runs import CleanRun, RunTotals
from runmuscles.errors import InputError
from runmuscles.history import open_history, single_run_spikes, store_activity
from runmuscles.tables import TimeTable

ROOT = Path(__file__).resolve().parents[1]
WATCH = ROOT / ".." / "shared" / "data" / "watch"


def _run(
    speed_m_s: float,
    grade_pct: float | np.ndarray = 0.0,
    cadence_spm: float | None = None,
    duration_s: int = 1200,
    start: datetime = datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
) -> CleanRun:
    """A steady synthetic run at 1 Hz (grade per sample, optional cadence)."""
    t = np.arange(duration_s + 1, dtype=float)
    d = speed_m_s * t
    cols = [
        d,
        np.full_like(t, speed_m_s),
        np.broadcast_to(np.asarray(grade_pct, float), t.shape),
        np.ones_like(t),
    ]
    names = ["distance_m", "speed_m_s", "grade_pct", "moving"]
    if cadence_spm is not None:
        cols.append(np.full_like(t, cadence_spm))
        names.append("cadence_spm")
    totals = RunTotals(d[-1], t[-1], t[-1], 0.0, 0.0, speed_m_s, 1000.0 / speed_m_s)
    return CleanRun(
        TimeTable(t, np.column_stack(cols), names),
        np.ones(t.size, bool),
        np.full(t.size, "run"),
        [],
        totals,
        {},
        "running",
        "synthetic",
        start,
    )


def _record(run: CleanRun, name: str, start: datetime, model) -> dict:
    """What summarize_run_file gives for a run (without reading a file)."""
    load = run_load(run, model=model)
    return {
        "file": name,
        "start_time": start.isoformat(),
        "distance_m": float(run.totals.distance_m),
        "moving_time_s": float(run.totals.moving_time_s),
        "duration_s": float(run.totals.elapsed_time_s),
        "groups": load["groups"],
        "distance_loaded_m": load["distance_loaded_m"],
        "warnings": load["warnings"],
    }


def _store(eng, rec: dict, start: datetime) -> None:
    row = {
        "content_hash": rec["file"],
        "source": rec["file"],
        "sport": "running",
        "start_time": start.replace(tzinfo=None),
        "distance_m": rec["distance_m"],
        "duration_s": rec["duration_s"],
        "ascent_m": 0.0,
        "descent_m": 0.0,
        "warnings": "[]",
        "imported_at": start.replace(tzinfo=None),
    }
    store_activity(eng, row, rec["groups"])


# -- the exercise table ------------------------------------------------------------------------


def test_every_exercise_row_has_a_source_and_is_verified_or_marked_unchecked():
    table = load_exercises()
    rows = table["exercises"]
    assert len(rows) >= 15
    for r in rows:
        assert r["source"].strip() and r["source"] != "-", r
        assert r["evidence"].strip() and r["measured_on"].strip()
        assert (isinstance(r.get("verified_in"), str) and r["verified_in"].strip()) or r.get(
            "unchecked"
        ) is True, r
    # every group but the shin has at least two exercises; the shin's evidence is said to be thin
    for g in MAIN_GROUPS:
        n = sum(r["group"] == g for r in rows)
        assert n >= (0 if g == "shin" else 2), g
    assert (
        table["groups"]["shin"]["evidence_level"] == "thin"
        and "expert opinion" in table["groups"]["shin"]["note"]
    )
    assert sum(1 for r in rows if r.get("verified_in")) >= 8


def test_a_row_without_verification_or_source_is_refused(tmp_path):
    good = load_exercises()
    bad = json.loads(json.dumps(good))
    del bad["exercises"][0]["verified_in"]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(InputError, match="verified_in"):
        load_exercises(p)
    bad = json.loads(json.dumps(good))
    bad["exercises"][1]["source"] = "-"
    p.write_text(json.dumps(bad))
    with pytest.raises(InputError, match="source"):
        load_exercises(p)


# -- suggestions follow the numbers ------------------------------------------------------------


def test_hillier_week_raises_calves_and_gluteals_load_per_km(tmp_path):
    """Two weeks, same pace and distance: the second has a long climb and a rolling run. The
    advice for it gives the calves and gluteals more impulse per km (from the load table)."""
    m = load_load_model()
    eng = open_history(tmp_path / "h.sqlite")
    mon = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    n = 1201
    rolling = np.where((np.arange(n) // 200) % 2 == 0, 8.0, -8.0)  # 600 m up, 600 m down at 3 m/s
    plans = {0: [0.0, 0.0, 0.0], 1: [0.0, rolling, 6.0]}
    for w, grades in plans.items():
        for k, gr in enumerate(grades):
            start = mon + timedelta(weeks=w, days=2 * k)
            _store(eng, _record(_run(3.0, gr, start=start), f"w{w}r{k}", start, m), start)
    flat = advice_for_week(eng, "2026-03-02", model=m)
    hilly = advice_for_week(eng, "2026-03-09", model=m)
    f = {r["group"]: r for r in flat["groups"]}
    h = {r["group"]: r for r in hilly["groups"]}
    for g in ("calves", "gluteals"):
        assert h[g]["per_km"]["impulse_bw_s"] > 1.01 * f[g]["per_km"]["impulse_bw_s"], g
        assert h[g]["response"]["impulse_ratio_hill"] > 1.0
    # the per-week totals are the per-km loads times the week's distance
    km = 3 * 3.0 * 1200 / 1000.0
    assert h["calves"]["per_week"]["impulse_bw_s"] == pytest.approx(
        h["calves"]["per_km"]["impulse_bw_s"] * km
    )


def test_faster_run_raises_hamstrings_and_hip_flexors_work_per_km():
    m = load_load_model()
    t0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    slow = advice_for_run(_record(_run(3.0), "slow", t0, m), model=m)
    fast = advice_for_run(_record(_run(4.5), "fast", t0, m), model=m)
    s = {r["group"]: r for r in slow["groups"]}
    f = {r["group"]: r for r in fast["groups"]}
    for g in ("hamstrings", "hip_flexors"):
        for q in ("positive_work_j_per_kg", "negative_work_j_per_kg"):
            assert abs(f[g]["per_km"][q]) > abs(s[g]["per_km"][q]), (g, q)
        # and the what-if at pace + 1 m/s says the same
        assert s[g]["response"]["positive_work_ratio_faster"] > 1.0
        assert s[g]["response"]["speed_faster_m_s"] == pytest.approx(4.0)
    assert fast["source"]["speed_m_s"] == pytest.approx(4.5)
    assert f["hamstrings"]["response"]["speed_faster_m_s"] == pytest.approx(5.0)  # capped at 5 m/s


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory):
    """The bundled runner (Hamner & Delp 2013 subject 01) analysed at 2-5 m/s, written as
    results folders (runmuscles demo)."""
    out = tmp_path_factory.mktemp("demo")
    p = _cli("demo", "--out", str(out), "--no-report", "--json")
    assert p.returncode == 0, p.stderr
    return {v: out / f"hamner2013_subject01_Run_{v}" for v in (2, 3, 4, 5)}


def test_faster_trial_raises_hamstrings_and_hip_flexors_load_per_km(demo_results):
    """Real trials of one runner at 3 and 5 m/s: the advice for the faster one gives the
    hamstrings and hip flexors more muscle work per km (positive + negative) and a higher
    peak demand relative to capacity."""
    slow = {r["group"]: r for r in advice_for_results(demo_results[3])["groups"]}
    fast = {r["group"]: r for r in advice_for_results(demo_results[5])["groups"]}

    def work(r):
        return r["per_km"]["positive_work_j_per_kg"] + abs(r["per_km"]["negative_work_j_per_kg"])

    for g in ("hamstrings", "hip_flexors"):
        assert work(fast[g]) > 1.1 * work(slow[g]), g
        assert fast[g]["demand"]["peak_force_over_capacity"] > slow[g]["demand"]["peak_force_over_capacity"]
    # the demo's analyses flag saturated muscles: no near-limit time is shown
    assert all(r["demand"]["near_limit_fraction"] is None for r in slow.values())
    assert all(0.0 < r["demand"]["peak_force_over_capacity"] <= 1.0 + 1e-6 for r in slow.values())


def test_higher_cadence_lowers_knee_extensor_negative_work_per_km():
    m = load_load_model()
    t0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    i = m["speeds_m_s"].index(3.0)
    own = 120.0 * m["stride_frequency_hz"][i]  # steps/min at 100 %
    usual = advice_for_run(_record(_run(3.0, cadence_spm=own), "usual", t0, m), model=m)
    quick = advice_for_run(_record(_run(3.0, cadence_spm=1.1 * own), "quick", t0, m), model=m)
    u = {r["group"]: r for r in usual["groups"]}["quadriceps"]["per_km"]["negative_work_j_per_kg"]
    q = {r["group"]: r for r in quick["groups"]}["quadriceps"]["per_km"]["negative_work_j_per_kg"]
    assert u < 0 and q < 0 and abs(q) < abs(u)


def test_ranking_and_suggestions_follow_the_table():
    m = load_load_model()
    ex = load_exercises()
    t0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    adv = advice_for_run(_record(_run(3.0), "r", t0, m), model=m, exercises=ex)
    groups = adv["groups"]
    assert [r["rank"] for r in groups] == list(range(1, len(groups) + 1))
    assert "other" not in {r["group"] for r in groups}
    shares = [r["share_of_impulse"] for r in groups]
    assert shares == sorted(shares, reverse=True)  # no demand for a run: stress = share
    assert adv["ranked"]["most_stressed"] == [r["group"] for r in groups[:3]]
    # the least-loaded ranking is by the largest faster/hillier ratio, read from the table
    now, fast, hill = (table_load_per_km(m, 3.0), table_load_per_km(m, 4.0), table_load_per_km(m, 3.0, 10.0))

    def headroom(g):
        return max(
            x[g][q] / now[g][q] for x in (fast, hill) for q in ("impulse_bw_s", "positive_work_j_per_kg")
        )

    rest = [g for g in MAIN_GROUPS if g not in adv["ranked"]["most_stressed"]]
    best = sorted(rest, key=lambda g: -headroom(g))[:2]
    assert adv["ranked"]["least_loaded_vs_faster_or_hillier"] == best
    # 2-3 cited exercises per ranked group (or a thin-evidence note), each with its source
    ranked = adv["ranked"]["most_stressed"] + adv["ranked"]["least_loaded_vs_faster_or_hillier"]
    for g in ranked:
        sug = [s for s in adv["suggestions"] if s["group"] == g]
        if g == "shin":
            assert not sug and any(n["group"] == "shin" for n in adv["notes"])
            continue
        assert 2 <= len(sug) <= 3, g
        for s in sug:
            assert s["source"] and s["evidence"] and s["why"] and s["dose"]
            assert s["verified_in"] or s["unchecked"]
    for s in adv["suggestions"]:
        row = next(r for r in ex["exercises"] if r["exercise"] == s["exercise"] and r["group"] == s["group"])
        assert s["source"] == row["source"]
    top = groups[0]
    assert f"{100 * top['share_of_impulse']:.0f} %" in next(
        s["why"] for s in adv["suggestions"] if s["group"] == top["group"]
    )


def test_a_shin_ranking_gets_the_thin_evidence_note():
    """Made-up loads where the shin carries most: it is ranked first, with no exercise and a
    note that the evidence is thin."""
    from runmuscles.analyses.advice import build_advice

    m = load_load_model()
    per_km = {g: dict(table_load_per_km(m, 3.0)[g]) for g in MAIN_GROUPS}
    per_km["shin"]["impulse_bw_s"] = 5000.0
    adv = build_advice(kind="run", label="x", speed_m_s=3.0, per_km=per_km, model=m)
    assert adv["ranked"]["most_stressed"][0] == "shin"
    assert not [s for s in adv["suggestions"] if s["group"] == "shin"]
    assert "expert opinion" in next(n["text"] for n in adv["notes"] if n["group"] == "shin")


def test_group_demand_peak_and_near_limit_time():
    """Two calf muscles per side with known force at full activation: the group's demand is
    summed force over summed capacity; near-limit time is dropped when saturation is flagged."""
    t = np.linspace(0.0, 1.0, 101)
    names = ["soleus_r", "med_gas_r", "soleus_l", "med_gas_l"]
    cap = np.array([3000.0, 1500.0, 3000.0, 1500.0])
    act = np.zeros((t.size, 4)) + 0.02
    act[:, 0] = act[:, 1] = np.clip(np.sin(np.pi * t), 0.02, None)  # right: up to 1.0 at t = 0.5
    act[:, 2] = act[:, 3] = 0.4
    force = act * cap
    d = group_demand(t, act, force, names, [(0.0, 1.0)])["calves"]
    assert d["peak_force_over_capacity"] == pytest.approx(1.0, abs=1e-3)
    # right side at or above 0.8 while sin(pi t) >= 0.8; left never
    right = np.mean(np.sin(np.pi * t) >= 0.8)
    assert d["near_limit_fraction"] == pytest.approx(right / 2, abs=0.011)
    flagged = group_demand(t, act, force, names, [(0.0, 1.0)], saturation_flagged=True)["calves"]
    assert flagged["near_limit_fraction"] is None and flagged["saturation_flagged"]


# -- the single-run check ----------------------------------------------------------------------


def _runs(km: list[float], days: list[int]) -> list[dict]:
    t0 = datetime(2026, 5, 1, 7, 0)
    return [
        {
            "source": f"r{i}",
            "start_time": t0 + timedelta(days=d),
            "distance_m": 1000.0 * x,
            "groups": {"calves": {"impulse_bw_s": 100.0 * x}, "gluteals": {"impulse_bw_s": 80.0}},
        }
        for i, (x, d) in enumerate(zip(km, days, strict=True))
    ]


def test_single_run_spike_on_a_synthetic_history():
    # 10, 8, 10 km, then 12 km: 20 % longer than the longest of the previous 30 days
    spikes = single_run_spikes(_runs([10, 8, 10, 12], [0, 3, 7, 10]))
    assert len(spikes) == 1
    s = spikes[0]
    assert s["source"] == "r3" and s["longer_pct"] == pytest.approx(20.0)
    assert s["category"].startswith("small") and s["validated"] == "distance"
    assert "Frandsen" in s["note"]
    # per group: descriptive only; the calves rose with distance, the gluteals did not
    assert [g["group"] for g in s["groups_over"]] == ["calves"]
    assert "not validated for injury" in s["groups_over"][0]["note"]
    # categories of Frandsen 2025
    assert single_run_spikes(_runs([10, 15], [0, 5]))[0]["category"].startswith("moderate")
    assert single_run_spikes(_runs([10, 25], [0, 5]))[0]["category"].startswith("large")


def test_no_single_run_spike_where_there_is_none():
    assert single_run_spikes(_runs([10, 8, 10, 11], [0, 3, 7, 10])) == []  # exactly 10 % is not more
    assert single_run_spikes(_runs([10, 20], [0, 31])) == []  # the 10 km run is outside the 30 days
    assert single_run_spikes(_runs([20, 12, 15], [0, 10, 20])) == []  # long run earlier in the window
    assert single_run_spikes(_runs([5], [0])) == []  # nothing to compare with


@pytest.fixture(scope="module")
def watch_records():
    if not WATCH.is_dir():
        pytest.skip("shared watch data absent")
    from runmuscles.analyses.load_model import summarize_run_file

    names = ("garmin-fenix-5-run.fit", "test.tcx", "activity-small-fenix2-run.fit", "korita-zbevnica.gpx")
    return [summarize_run_file(WATCH / n) for n in names]


def _redated(records: list[dict], order: list[int]) -> list[dict]:
    """The records re-dated into one month, two days apart, in the given order."""
    t0 = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    out = []
    for k, i in enumerate(order):
        r = dict(records[i])
        r["start_time"] = (t0 + timedelta(days=2 * k)).isoformat()
        out.append(r)
    return out


def test_single_run_spike_on_real_watch_files_redated_into_one_month(watch_records):
    dist = [r["distance_m"] for r in watch_records]
    up = sorted(range(len(dist)), key=lambda i: dist[i])
    expected = [
        watch_records[i]["file"]
        for k, i in enumerate(up)
        if k > 0 and dist[i] > 1.1 * max(dist[j] for j in up[:k])
    ]
    assert len(expected) >= 2  # the files differ enough in distance
    seq = _redated(watch_records, up)
    found = single_run_spikes(seq)
    assert [s["source"] for s in found] == expected
    for s in found:
        assert s["longer_pct"] > 10.0
    # the same runs, longest first: no spike
    assert single_run_spikes(_redated(watch_records, up[::-1])) == []
    # and through the advice for the last run, given the others as history
    last = seq[-1]
    adv = advice_for_run(last, history=seq[:-1])
    assert [s["source"] for s in adv["spikes"]] == ([last["file"]] if last["file"] in expected else [])
    assert adv["spike_check"].startswith("checked")


# -- wording -----------------------------------------------------------------------------------


def _summary_folder(tmp_path: Path, m) -> Path:
    """A results folder with a summary.json (per-stride group loads from the table at 4 m/s)."""
    i = m["speeds_m_s"].index(4.0)
    f = m["stride_frequency_hz"][i]
    per_km = table_load_per_km(m, 4.0)
    per_stride = 4.0 / (1000.0 * f)
    groups = {
        g: {"muscles": [], **{f"{q}_per_stride": v * per_stride for q, v in per_km[g].items()}}
        for g in per_km
    }
    summary = {
        "speed_m_s": 4.0,
        "stride_frequency_hz": f,
        "groups": groups,
        "quality": {"valid": True, "warnings": [{"code": "muscles_saturated", "message": "x"}]},
    }
    out = tmp_path / "res"
    out.mkdir()
    (out / "summary.json").write_text(json.dumps(summary))
    return out


def test_trial_advice_from_a_results_folder(tmp_path):
    m = load_load_model()
    adv = advice_for_results(_summary_folder(tmp_path, m), model=m)
    per_km = table_load_per_km(m, 4.0)
    got = {r["group"]: r for r in adv["groups"]}
    assert got["calves"]["per_km"]["impulse_bw_s"] == pytest.approx(per_km["calves"]["impulse_bw_s"])
    assert adv["source"]["kind"] == "trial" and adv["spikes"] == []
    with pytest.raises(InputError, match="summary.json"):
        advice_for_results(tmp_path)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_wording_rules_over_every_generated_sentence(tmp_path, watch_records, demo_results):
    """No "weak", "overloaded", "danger", "sweet spot" or personal risk in the CLI text, the
    JSON and the library's output; the loads are said to be the model's estimates; pain
    means reduce the load and see a clinician; the evidence for runners is stated as it is."""
    m = load_load_model()
    texts: list[str] = []
    # library: run (with a spike), week, trial
    seq = _redated(watch_records, sorted(range(4), key=lambda i: watch_records[i]["distance_m"]))
    run_adv = advice_for_run(seq[-1], history=seq[:-1], model=m)
    assert run_adv["spikes"]
    eng = open_history(tmp_path / "w.sqlite")
    for rec in seq:
        _store(eng, rec, datetime.fromisoformat(rec["start_time"]))
    week_adv = advice_for_week(eng, model=m)
    trial_adv = advice_for_results(_summary_folder(tmp_path, m), model=m)
    real_trial = advice_for_results(demo_results[4], model=m)
    for adv in (run_adv, week_adv, trial_adv, real_trial):
        texts += list(iter_text(adv)) + advice_lines(adv)
        assert all(s["why"].startswith(("The model estimates", "This")) for s in adv["suggestions"])
        assert "model estimates" in " ".join(s["why"] for s in adv["suggestions"])
        assert "see a clinician" in adv["pain"]
        ev = " ".join(s["text"] for s in adv["evidence"])
        assert "economy" in ev and "consistent" in ev and "mixed" in ev
    # CLI: text and JSON, on a watch file with the history, the history's week, a results folder
    db = str(tmp_path / "w.sqlite")
    (tmp_path / "c").mkdir()
    results = _summary_folder(tmp_path / "c", m)
    for args in (
        ("advice", str(WATCH / "test.tcx"), "--db", db),
        ("advice", "--db", db),
        ("advice", str(results)),
        ("advice", str(demo_results[4])),
        ("history", "--db", db),
    ):
        for extra in ((), ("--json",)) if args[0] == "advice" else ((),):
            p = _cli(*args, *extra)
            assert p.returncode == 0, p.stderr
            texts += p.stdout.splitlines()
            if extra:
                out = json.loads(p.stdout)
                assert {"groups", "suggestions", "spikes"} <= set(out)
                assert {"group", "rank"} <= set(out["groups"][0])
                assert {"group", "exercise", "evidence", "source", "why"} <= set(out["suggestions"][0])
                texts += list(iter_text(out))
    assert len(texts) > 200
    assert wording_problems(texts) == []
    # the check itself finds what it should
    assert wording_problems(["your glutes are weak", "a danger zone", "you are overloaded", "fine"]) == [
        "your glutes are weak",
        "a danger zone",
        "you are overloaded",
    ]


def test_cli_advice_refuses_bad_input(tmp_path):
    p = _cli("advice")
    assert p.returncode == 2 and "give a results folder" in p.stderr
    (tmp_path / "x.txt").write_text("hi")
    p = _cli("advice", str(tmp_path / "x.txt"))
    assert p.returncode == 2 and "not a results folder" in p.stderr and "Traceback" not in p.stderr


def _text_of(html_text: str) -> list[str]:
    import html as html_mod
    import re

    text = html_mod.unescape(re.sub(r"<[^>]+>", "\n", html_text))
    return [t.strip() for t in text.splitlines() if t.strip()]


def test_report_sections_follow_the_wording_rules(tmp_path, watch_records, demo_results):
    """The runs report has a training section per run, the analysis report one per trial;
    their text passes the wording rules and shows the sources and the pain note."""
    from runmuscles.reports.html import build_report
    from runmuscles.reports.runs_html import write_run_report

    page = write_run_report(watch_records[1:3], tmp_path / "runs").read_text()
    assert page.count('class="advice"') == 2
    texts = _text_of(page)
    assert wording_problems(texts) == []
    assert any("Krause Neto" in t or "Beyer R" in t for t in texts)
    assert any("see a clinician" in t for t in texts)
    report = build_report(demo_results[4]).read_text()
    i = report.index('class="advice"')
    section = report[i : report.index("</section>", i)]
    texts = _text_of(section)
    assert any(t.startswith("The model estimates") for t in texts)
    assert wording_problems(texts) == []
    # and the whole report, quality panel and narrative included
    visible = re.sub(r"<(script|style)\b.*?</\1>", "", report, flags=re.S)
    assert wording_problems(_text_of(visible)) == []


def test_advice_in_memory_matches_the_results_folder(tmp_path):
    """advice_for_analysis (a TrialAnalysis) and advice_for_results (its written folder) agree."""
    from runmuscles.analyses.advice import advice_for_analysis
    from runmuscles.pipeline import AnalysisOptions, analyze_trial
    from runmuscles.results import write_results
    from runmuscles.trials import demo_trials

    spec = next(s for s in demo_trials() if s.label.endswith("Run_3"))
    opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength="volume")
    an = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    write_results(an, tmp_path / "r", parquet=False)
    mem = {r["group"]: r for r in advice_for_analysis(an)["groups"]}
    disk = {r["group"]: r for r in advice_for_results(tmp_path / "r")["groups"]}
    assert set(mem) == set(disk)
    for g in mem:
        assert mem[g]["per_km"]["impulse_bw_s"] == pytest.approx(disk[g]["per_km"]["impulse_bw_s"], rel=1e-5)
        # force.sto / activation.sto are written with limited precision
        assert mem[g]["demand"]["peak_force_over_capacity"] == pytest.approx(
            disk[g]["demand"]["peak_force_over_capacity"], abs=0.01
        )
        assert mem[g]["stress_score"] == pytest.approx(disk[g]["stress_score"], abs=0.01)


# -- units: the profile's km or mi -------------------------------------------------------------

_KM_WORD = re.compile(r"\bkm\b|per-km|/km\b")


def test_advice_text_follows_the_profile_units(tmp_path):
    """A profile in miles: the week's label, the method, the reasons, the single-run check and
    the printed and HTML tables say mi (never km), and the per-mile loads are the per-km ones
    times 1.609344 km/mi; the per_km numbers stay per km."""
    from runmuscles.profile import Profile, save_profile
    from runmuscles.reports.advice_html import advice_section_html

    m = load_load_model()
    eng = open_history(tmp_path / "h.sqlite")
    mon = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    # 20, 20, then 40 min in one week: the last is a single-run spike
    for k, minutes in enumerate((20, 20, 40)):
        start = mon + timedelta(days=2 * k)
        _store(eng, _record(_run(3.0, duration_s=60 * minutes, start=start), f"r{k}", start, m), start)
    in_km = advice_for_week(eng, "2026-03-02", model=m)
    save_profile(eng, Profile(units="mi"))
    in_mi = advice_for_week(eng, "2026-03-02", model=m)  # the profile's units, not asked for
    assert in_km["units"] == "km" and in_mi["units"] == "mi"
    dist_m = 3.0 * 60 * 80
    assert in_mi["source"]["label"].endswith(f"3 runs, {dist_m / 1609.344:.1f} mi)")
    assert in_km["source"]["label"].endswith(f"3 runs, {dist_m / 1000:.1f} km)")
    assert in_mi["spikes"] and " mi" in in_mi["spikes"][0]["note"]
    texts = [t for t in iter_text(in_mi) if t != in_mi["units"]]
    assert not [t for t in texts if _KM_WORD.search(t)]
    assert any("per mi" in t for t in texts) and any("per-mi" in t for t in texts)
    for a, b in zip(in_km["groups"], in_mi["groups"], strict=True):
        assert a["per_km"] == b["per_km"]
        for q, v in a["per_km"].items():
            assert b["per_unit"][q] == pytest.approx(v * 1.609344, rel=1e-12)
            assert a["per_unit"][q] == v
    lines = advice_lines(in_mi)
    assert any("BW s/mi" in line for line in lines)
    assert not [line for line in lines if _KM_WORD.search(line)]
    html = advice_section_html(in_mi, "week")
    assert "impulse (BW s/mi)" in html and not _KM_WORD.search(html)
    top = in_mi["groups"][0]
    assert f"<td class=n>{top['per_unit']['impulse_bw_s']:.0f}</td>" in html
    # a run's advice, asked in miles, and an unknown unit refused
    rec = _record(_run(3.0), "one", mon, m)
    run_mi = advice_for_run(rec, model=m, units="mi")
    assert not [t for t in iter_text(run_mi) if _KM_WORD.search(t)]
    with pytest.raises(InputError, match="units"):
        advice_for_run(rec, model=m, units="furlong")


def test_single_run_spike_note_in_miles():
    runs = _runs([10, 8, 10, 12], [0, 3, 7, 10])
    km_note = single_run_spikes(runs)[0]["note"]
    mi_note = single_run_spikes(runs, units="mi")[0]["note"]
    assert "12.0 km" in km_note and "(10.0 km)" in km_note
    assert f"{12000 / 1609.344:.1f} mi" in mi_note and f"({10000 / 1609.344:.1f} mi)" in mi_note
    assert not _KM_WORD.search(mi_note)
