"""The advice section of the reports: ranked groups, cited exercises, the single-run check.

Built only from the dict of :mod:`runmuscles.analyses.advice` (the same one
``runmuscles advice --json`` prints); every sentence comes from there or from the fixed
headings below, so the wording rules checked on the advice hold here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import RunmusclesError
from .svg import esc

__all__ = ["advice_section_html", "results_advice_section", "run_advice_section"]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"x{x:.2f}"


def advice_section_html(advice: dict[str, Any], section_id: str) -> str:
    """One ``<section>``: what the running asks of each group, and cited exercises."""
    units = advice.get("units", "km")
    rows = []
    for r in advice["groups"]:
        d = r.get("demand") or {}
        resp = r["response"]
        rows.append(
            f'<tr data-group="{esc(r["group"])}"><td class=n>{r["rank"]}</td>'
            f"<td>{esc(r['label'].split(' (')[0])}</td>"
            f"<td class=n>{_pct(r['share_of_impulse'])}</td>"
            f"<td class=n>{(r.get('per_unit') or r['per_km'])['impulse_bw_s']:.0f}</td>"
            f"<td class=n>{_pct(d.get('peak_force_over_capacity'))}</td>"
            f"<td class=n>{_pct(d.get('near_limit_fraction'))}</td>"
            f"<td class=n>{_ratio(resp['positive_work_ratio_faster'])}</td>"
            f"<td class=n>{_ratio(resp['impulse_ratio_hill'])}</td></tr>"
        )
    resp0 = advice["groups"][0]["response"] if advice["groups"] else {}
    head = (
        "<tr><th class=n>rank</th><th>group</th><th class=n>share of impulse</th>"
        f"<th class=n>impulse (BW s/{esc(units)})</th><th class=n>peak / capacity</th>"
        "<th class=n>near limit</th>"
        f"<th class=n>work at {resp0.get('speed_faster_m_s', 0):.1f} m/s</th>"
        f"<th class=n>impulse at +{resp0.get('grade_hill_pct', 0):g} %</th></tr>"
    )
    sug = []
    for s in advice["suggestions"]:
        check = (
            '<span class="flag">unchecked</span>'
            if s["unchecked"]
            else f"verified in {esc(s['verified_in'] or '')}"
        )
        sug.append(
            f'<tr data-group="{esc(s["group"])}"><td>{esc(s["group"].replace("_", " "))}</td>'
            f"<td>{esc(s['exercise'])}</td><td>{esc(s['evidence'])} "
            f"<span class=note>(measured on {esc(s['measured_on'])})</span></td>"
            f"<td>{esc(s['dose'])}</td><td>{esc(s['source'])}; {check}</td><td>{esc(s['why'])}</td></tr>"
        )
    notes = "".join(
        f"<li>{esc(n['group'].replace('_', ' '))}: {esc(n['text'])}</li>" for n in advice["notes"]
    )
    spikes = ""
    if advice["source"]["kind"] != "trial":
        items = "".join(
            f"<li>{esc(s['note'])}"
            + "".join(f"<br><span class=note>{esc(g['note'])}</span>" for g in s.get("groups_over", []))
            + "</li>"
            for s in advice["spikes"]
        )
        spikes = f"<h3>Single-run check (validated for distance; {esc(advice['spike_check'])})</h3>" + (
            f'<ul class="flags">{items}</ul>'
            if items
            else "<p>No run more than 10 % longer than the longest run of the previous 30 days.</p>"
            if advice["spike_check"].startswith("checked")
            else ""
        )
    changes = ""
    if advice.get("weekly_changes"):
        crow = "".join(
            f'<tr data-group="{esc(c["group"])}"><td>{esc(c["group"].replace("_", " "))}</td>'
            f"<td class=n>{c['load']:.1f}</td><td class=n>{_ratio(c['ratio'])}</td>"
            f"<td>{esc(c['note'] or '')}</td></tr>"
            for c in sorted(advice["weekly_changes"], key=lambda c: -c["load"])
        )
        changes = (
            '<h3 class="descriptive">This week against the mean of the previous three '
            "(descriptive, not validated for injury)</h3>"
            "<table><tr><th>group</th><th class=n>impulse (BW s)</th><th class=n>vs previous 3</th>"
            f"<th>note</th></tr>{crow}</table>"
        )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in advice.get("warnings", []))
    evidence = "".join(
        f"<li>{esc(s['text'])} <span class=note>({esc(s.get('source', ''))})"
        + (" unchecked" if s.get("unchecked") else "")
        + "</span></li>"
        for s in advice["evidence"]
    )
    m = advice["method"]
    return f"""
<section id="{esc(section_id)}" class="advice">
<h2>Training &mdash; what your running asks, and cited exercises</h2>
<p class="note">{esc(m["model"])} Stress: {esc(m["stress"])}. Least loaded: {esc(m["least_loaded"])}.
{esc(m["demand"]) if m.get("demand") else ""}</p>
<table class="groups-table">{head}{"".join(rows)}</table>
<h3>Suggestions</h3>
<div class="scroll"><table><tr><th>group</th><th>exercise</th><th>evidence</th><th>dose</th><th>source</th>
<th>why</th></tr>{"".join(sug)}</table></div>
{f"<ul>{notes}</ul>" if notes else ""}
{spikes}
{changes}
<h3>What strength training does for runners</h3><ul>{evidence}</ul>
<p class="pain"><strong>{esc(advice["pain"])}</strong></p>
{f'<ul class="note">{warnings}</ul>' if warnings else ""}</section>"""


def results_advice_section(folder: str | Path, section_id: str) -> str:
    """The section for a results folder, or ``""`` where no advice can be given (no speed)."""
    from ..analyses.advice import advice_for_results  # noqa: PLC0415

    try:
        return advice_section_html(advice_for_results(folder), section_id)
    except RunmusclesError:
        return ""


def run_advice_section(record: dict[str, Any], section_id: str, units: str = "km") -> str:
    """The section for a run record (distances in ``units``), or ``""`` where no advice can be given."""
    from ..analyses.advice import advice_for_run  # noqa: PLC0415

    try:
        return advice_section_html(advice_for_run(record, units=units), section_id)
    except RunmusclesError:
        return ""
