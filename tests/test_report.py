"""The HTML report of the bundled demo: it renders in a real browser, offline, and every
number it shows equals the result tables it was built from."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runmuscles.analyses.groups import muscle_side
from runmuscles.pipeline import AnalysisOptions, analyze_trial
from runmuscles.reports.bodymap import BODY_MAP_GROUPS
from runmuscles.reports.html import build_report
from runmuscles.results import write_results
from runmuscles.trials import demo_trials

G = 9.80665  # standard gravity, as the engine divides by


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo at all four speeds, written as `runmuscles demo` does, and its report."""
    root = tmp_path_factory.mktemp("demo")
    for spec in demo_trials():
        opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source)
        analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
        write_results(analysis, root / spec.label, parquet=False)
    build_report(root)
    return root


@pytest.fixture(scope="module")
def browser(require_service):
    from runmuscles.reports.browser import BrowserError, HeadlessBrowser, find_chromium

    if find_chromium() is None:  # skipped locally; a failure in CI (which installs it)
        require_service("Chromium is not installed (apt-get install chromium)")
    try:
        b = HeadlessBrowser(width=1400, height=1000).__enter__()
    except BrowserError as exc:
        require_service(f"Chromium cannot be started: {exc}")
    yield b
    b.__exit__(None, None, None)


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# -- in the browser --------------------------------------------------------------------
def test_report_renders_offline_with_every_chart_drawn(demo_results: Path, browser, tmp_path: Path) -> None:
    report = demo_results / "report.html"
    browser.open(report)
    shot = browser.screenshot(tmp_path / "report.png", full_page=True)
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
    # no network: the only request is the page itself
    assert browser.requests == [report.resolve().as_uri()]
    # body map of the visible (fastest) speed: one region per group and side, colours vary
    got = browser.evaluate(
        """(() => { const t = document.querySelector('.trial.on'); const out = {};
        t.querySelectorAll('svg .region').forEach(r => {
          const b = r.getBoundingClientRect();
          const k = r.dataset.group + '/' + r.dataset.side;
          out[k] = (out[k] || []).concat([[r.getAttribute('fill'), b.width * b.height]]); });
        return out; })()"""
    )
    for g in BODY_MAP_GROUPS:
        for side in ("right", "left"):
            assert f"{g}/{side}" in got, f"no body-map region for {g} {side}"
            assert all(area > 20 for _, area in got[f"{g}/{side}"])
    fills = {f for v in got.values() for f, _ in v}
    assert len(fills) >= 8
    # every chart of the visible speed has drawn data with a size on screen
    drawn = browser.evaluate(
        """(() => { const t = document.querySelector('.trial.on');
        const area = el => { const b = el.getBoundingClientRect(); return b.width * b.height; };
        return {
          heat: [...t.querySelectorAll('.heatmap-panel')].map(p => p.querySelectorAll('rect').length),
          heatArea: [...t.querySelectorAll('.heatmap-panel')].map(area),
          curves: [...t.querySelectorAll('.group-curve path.curve')].map(p => [p.getTotalLength(), area(p)]),
          bars: [...t.querySelectorAll('.phase-bars rect.seg')].map(area),
          speed: [...document.querySelectorAll('.speed-chart')].map(c => c.querySelectorAll('circle').length),
        }; })()"""
    )
    assert len(drawn["heat"]) == 2 and min(drawn["heat"]) > 200 and min(drawn["heatArea"]) > 10_000
    assert len(drawn["curves"]) == 10  # nine named groups and "other"
    assert all(length > 100 and a > 100 for length, a in drawn["curves"])
    assert len(drawn["bars"]) >= 5 * 9 and sum(a > 0 for a in drawn["bars"]) >= 45
    assert drawn["speed"] == [4 * 9, 4 * 9, 4 * 9, 4 * 6]  # 4 speeds x (9 groups | 6 muscles)
    # switches work: peak activation colours, another speed, a tool tip on hover
    browser.evaluate("document.querySelector('.trial.on .metric-btns button[data-metric=peak]').click()")
    same = browser.evaluate(
        "[...document.querySelectorAll('.trial.on .region')]"
        ".every(r => r.getAttribute('fill') === r.dataset.cPeak)"
    )
    assert same
    browser.evaluate("document.querySelector('.trial-btns button').click()")
    assert (
        browser.evaluate("document.querySelector('.trial.on').dataset.trial") == "hamner2013_subject01_Run_2"
    )
    box = browser.evaluate(
        "(() => { const r = document.querySelector('.trial.on .region[data-group=gluteals]');"
        " r.scrollIntoView({block: 'center'}); const b = r.getBoundingClientRect();"
        " return [b.left + b.width / 2, b.top + b.height / 2]; })()"
    )
    browser.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})
    tip = browser.evaluate("[getComputedStyle(document.getElementById('tip')).display, tip.textContent]")
    assert tip[0] == "block" and tip[1].startswith("gluteals")
    # the menu's section links go to the speed on show
    browser.evaluate("document.querySelector('nav a[data-sec=stride]').click()")
    top = browser.evaluate(
        "document.querySelector('.trial.on section[id$=\"-stride\"]').getBoundingClientRect().top"
    )
    assert abs(top) < 5
    assert browser.console_errors == []


def test_single_trial_report_in_browser(demo_results: Path, browser, tmp_path: Path) -> None:
    page = build_report(demo_results / "hamner2013_subject01_Run_3", tmp_path / "one.html")
    n_err = len(browser.console_errors)
    browser.requests.clear()
    browser.open(page)
    assert browser.requests == [page.resolve().as_uri()]
    got = browser.evaluate(
        "[document.querySelectorAll('.trial').length, document.querySelectorAll('.trial.on .region').length,"
        " document.querySelectorAll('.speed-chart').length, document.getElementById('overview') !== null]"
    )
    assert got == [1, 2 * (len(BODY_MAP_GROUPS) + 2), 0, True]  # core and adductors drawn front and back
    assert len(browser.console_errors) == n_err


# -- numbers shown = numbers in the tables ---------------------------------------------
def test_numbers_in_the_report_equal_the_result_tables(demo_results: Path) -> None:
    from lxml import html as lh

    doc = lh.parse(str(demo_results / "report.html")).getroot()
    trials = doc.find_class("trial")
    assert [t.get("data-trial") for t in trials] == sorted(
        p.name for p in demo_results.iterdir() if p.is_dir()
    )
    for t in trials:
        folder = demo_results / t.get("data-trial")
        summary = json.loads((folder / "summary.json").read_text())
        groups = _rows(folder / "groups.csv")
        muscles = _rows(folder / "muscles.csv")
        bw = summary["body_mass_kg"] * G

        def gmean(g, side, phase, col, groups=groups):
            v = [float(r[col]) for r in groups if (r["group"], r["side"], r["phase"]) == (g, side, phase)]
            return float(np.mean(v))

        def mmean(m, col, muscles=muscles):
            return float(np.mean([float(r[col]) for r in muscles if r["muscle"] == m]))

        # body map: shares per side = groups.csv means over strides; peak activation from muscles.csv
        regions = t.xpath(".//*[contains(@class, 'region')]")
        assert len(regions) >= 2 * len(BODY_MAP_GROUPS)
        for r in regions:
            g, side = r.get("data-group"), r.get("data-side")
            assert float(r.get("data-v-impulse")) == pytest.approx(
                gmean(g, side, "stride", "share_of_impulse"), rel=1e-5
            )
            assert float(r.get("data-v-work")) == pytest.approx(
                gmean(g, side, "stride", "share_of_positive_work"), rel=1e-5, abs=1e-9
            )
            members = [m for m in summary["groups"][g]["muscles"] if muscle_side(m) == side]
            assert float(r.get("data-v-peak")) == pytest.approx(
                max(mmean(m, "peak_activation") for m in members), rel=1e-5
            )
        # the two sides add up to the group's share in summary.json
        for g in BODY_MAP_GROUPS:
            both = [
                float(r.get("data-v-impulse"))
                for r in regions
                if r.get("data-group") == g and r.get("data-view") == "back"
            ]
            if len(both) == 2:
                assert sum(both) == pytest.approx(summary["groups"][g]["share_of_impulse"], abs=2e-5)
        # phase bars = summary.json phase shares (computed by the engine, not by the report)
        for seg in t.xpath(".//rect[contains(@class, 'seg')]"):
            g, ph = seg.get("data-group"), seg.get("data-phase")
            want = (
                summary["groups"][g]["share_of_impulse"]
                if ph == "stride"
                else summary["groups"][g]["phase_share_of_impulse"][ph]
            )
            assert float(seg.get("data-share")) == pytest.approx(want, abs=2e-6)
        # group table text and top-muscles table
        for tr in t.xpath(".//tr[contains(@class, 'group-row')]"):
            cell = tr.xpath("./td[@data-col='share_of_impulse']")[0].text
            assert cell == f"{100 * summary['groups'][tr.get('data-group')]['share_of_impulse']:.1f} %"
        top = summary["top_muscles_by_impulse"]
        shown = t.xpath(".//table[contains(@class, 'top-muscles')]//tr[@data-muscle]")
        assert [tr.get("data-muscle") for tr in shown] == [r["muscle"] for r in top]
        for tr, r in zip(shown, top, strict=True):
            assert tr.xpath("./td[@data-col='peak_force_bw']")[0].text == f"{r['peak_force_bw']:.2f}"
        # residuals as in summary.json
        for tr in t.xpath(".//tr[contains(@class, 'residual')]"):
            res = summary["quality"]["residuals"][tr.get("data-kind")]
            assert float(tr.get("data-peak")) == pytest.approx(res["peak"], rel=1e-5)
        # residual reduction (on by default): the mass before and after, the summary's mass the after
        rr = summary["quality"]["residual_reduction"]
        (para,) = t.find_class("residual-reduction")
        assert rr["body_mass_after_kg"] == summary["body_mass_kg"]
        assert (
            f"{rr['body_mass_before_kg']:.2f} \u2192 {summary['body_mass_kg']:.2f} kg" in para.text_content()
        )
        # heatmap = normalized.csv activation; group curves' means = sum of normalized.csv forces
        norm = _rows(folder / "normalized.csv")
        act = {(float(r["cycle_pct"]), r["muscle"]): float(r["activation"]) for r in norm}
        frc = {(float(r["cycle_pct"]), r["muscle"]): float(r["force_n"]) for r in norm}
        pct = sorted({k[0] for k in act})
        heat = json.loads(t.xpath(".//script[contains(@class, 'heatmap-values')]")[0].text)
        for side, panel in heat.items():
            for m, vals in zip(panel["muscles"], panel["a"], strict=True):
                assert np.allclose(vals, [act[(p, m)] for p in pct], atol=6e-5), (side, m)
        ref = summary["settings"]["side"]
        for path in t.xpath(".//g[contains(@class, 'group-curve')]/path[@class='curve']"):
            g = path.getparent().get("data-group")
            members = [m for m in summary["groups"][g]["muscles"] if muscle_side(m) == ref]
            shown_bw = np.array([float(v) for v in path.get("data-mean-bw").split(",")])
            want = np.array([sum(frc[(p, m)] for m in members) for p in pct]) / bw
            # independent routes: force.sto re-normalised per stride vs the engine's normalized.csv
            assert np.allclose(shown_bw, want, rtol=2e-3, atol=2e-4 * max(1.0, want.max())), g
        # the other leg's dashed curve: its own stride, normalized.csv's other-side columns
        for path in t.xpath(".//g[contains(@class, 'group-curve')]/path[@class='curve-other']"):
            g = path.getparent().get("data-group")
            members = [m for m in summary["groups"][g]["muscles"] if muscle_side(m) == path.get("data-side")]
            assert members and path.get("data-side") != ref
            shown_bw = np.array([float(v) for v in path.get("data-mean-bw").split(",")])
            want = np.array([sum(frc[(p, m)] for m in members) for p in pct]) / bw
            assert np.allclose(shown_bw, want, rtol=1e-4, atol=1e-5 * max(1.0, want.max())), g
        # the summary sentence names the top groups with their shares
        text = " ".join(li.text_content() for li in t.xpath(".//section[contains(@class, 'summary')]//li"))
        lead = max(
            (g for g in summary["groups"] if g != "other"),
            key=lambda g: summary["groups"][g]["share_of_impulse"],
        )
        assert f"({100 * summary['groups'][lead]['share_of_impulse']:.0f} %)" in text
    # speed charts: points = summary.json per-kilometre values
    folders = sorted(
        (p for p in demo_results.iterdir() if p.is_dir()),
        key=lambda p: json.loads((p / "summary.json").read_text())["speed_m_s"],
    )
    sums = [json.loads((p / "summary.json").read_text()) for p in folders]
    pts = doc.xpath("//svg[@id='speed_work_per_km']//circle")
    assert len(pts) == 4 * 9
    for c in pts:
        g = c.get("data-key")
        speed = float(re.search(r"at ([0-9.]+) m/s", c.get("data-tip")).group(1))
        s = next(s for s in sums if s["speed_m_s"] == speed)
        assert float(c.get("data-value")) == pytest.approx(
            s["groups"][g]["positive_work_j_per_kg_per_km"], rel=1e-5
        )


def test_report_command_and_figures(demo_results: Path, tmp_path: Path) -> None:
    one = demo_results / "hamner2013_subject01_Run_4"
    figs = tmp_path / "figs"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runmuscles",
            "report",
            str(one),
            "--figures",
            str(figs),
            "--out",
            str(tmp_path / "r.html"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "r.html").read_text()
    assert "<script src" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    for name in ("bodymap", "heatmap", "group_curves", "phase_shares"):
        svg = (figs / f"{name}.svg").read_text()
        assert svg.startswith("<?xml") and "<svg" in svg
        from runmuscles.reports.browser import find_chromium

        if find_chromium() or os.environ.get("CI"):  # CI has Chromium: PNGs are required there
            assert (figs / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run(
        [sys.executable, "-m", "runmuscles", "report", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "results folder not found" in bad.stderr


def test_energy_section_equals_summary(demo_results: Path) -> None:
    from lxml import html as lh

    doc = lh.parse(str(demo_results / "report.html")).getroot()
    for t in doc.find_class("trial"):
        energy = json.loads((demo_results / t.get("data-trial") / "summary.json").read_text())["energetics"]
        rows = [r for r in t.find_class("energy-row")]
        assert rows, "the energy section lists the groups"
        for r in rows:
            g = r.get("data-group")
            cells = {c.get("data-col"): c.text_content() for c in r.findall("td") if c.get("data-col")}
            want = energy["groups"][g]
            assert float(cells["share_of_energy"].rstrip(" %")) == pytest.approx(
                100 * want["share_of_energy"], abs=0.051
            )
            assert float(cells["energy_j_per_kg_per_stride"]) == pytest.approx(
                want["energy_j_per_kg_per_stride"], abs=5e-4
            )


def test_energy_section_names_the_models_and_tables(demo_results: Path) -> None:
    """Issue 6: the report and summary.json say which energy model, settings and fibre table were used."""
    from lxml import html as lh

    doc = lh.parse(str(demo_results / "report.html")).getroot()
    for t in doc.find_class("trial"):
        energy = json.loads((demo_results / t.get("data-trial") / "summary.json").read_text())["energetics"]
        assert "Umberger" in energy["model"] and "Uchida" in energy["model"]
        assert energy["settings"]["aerobic_factor"] == 1.5 and energy["settings"]["tendon"] == "compliant"
        assert "Johnson" in energy["fibre_composition"]["source"]
        section = next(s for s in t.iter("section") if s.get("id", "").endswith("-energy")).text_content()
        for text in ("Umberger", "Uchida", "Bhargava", "Johnson", "aerobic factor 1.5", "reserves"):
            assert text in section, text


def test_flagged_figures_are_marked_in_the_report(demo_results: Path) -> None:
    """The validity rule's flag is shown where the figures are: energy first in the summary,
    on the energy section's numbers, and above the body map for muscle figures."""
    from lxml import html as lh

    from runmuscles.analyses.validity import flag_reasons

    doc = lh.parse(str(demo_results / "report.html")).getroot()
    for t in doc.find_class("trial"):
        s = json.loads((demo_results / t.get("data-trial") / "summary.json").read_text())
        flagged = s["metabolic_cost_flagged"]
        assert flagged == bool(flag_reasons(s["quality"], "energy"))
        first = next(x for x in t.iter("section") if x.get("class") == "summary").find(".//li").text_content()
        assert first.startswith("Estimated energy cost") and ("FLAGGED" in first) == flagged
        assert bool(t.find_class("energy-flag")) == flagged
        assert bool(t.find_class("muscles-flag")) == bool(flag_reasons(s["quality"], "muscles"))
