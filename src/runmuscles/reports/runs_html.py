"""The run report: one section per everyday run, with a body map of its per-group load.

Built only from the records :func:`runmuscles.analyses.load_model.summarize_run_file`
returns (the same ones ``runmuscles run --json`` prints): totals, per-group load, what
drove it (pace, hills, cadence) and the warnings. The page is self-contained (inline SVG
and style sheet, no script).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..analyses.groups import GROUP_LABELS
from ..profile import format_distance, format_pace
from ..validation import check_choice
from .advice_html import run_advice_section
from .bodymap import group_load_map_svg
from .html import PAGE_CSS
from .svg import GROUP_ORDER, esc

__all__ = ["RUN_REPORT_FILE", "run_report_html", "run_section_html", "write_run_report"]

RUN_REPORT_FILE = "runs.html"


def _clock(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _order(groups: dict[str, Any]) -> list[str]:
    known = [g for g in GROUP_ORDER if g in groups]
    return known + sorted(g for g in groups if g not in known)


def _validity(quality: dict[str, Any] | None) -> str:
    """The run's validity mark as shown: valid, or not valid, with its named warnings' count."""
    if not quality:
        return "-"
    n = len(quality.get("warnings", []))
    mark = "valid" if quality.get("valid", True) else "<strong>not valid</strong>"
    return f'<span data-valid="{str(bool(quality.get("valid", True))).lower()}">{mark}</span>' + (
        f" ({n} named warning{'s' if n != 1 else ''} below)" if n else ""
    )


def run_section_html(rec: dict[str, Any], idx: int = 0, units: str = "km") -> str:
    """One run's section: totals, body map (force impulse per group), load and drivers table.

    Parameters
    ----------
    rec
        A record of :func:`~runmuscles.analyses.load_model.summarize_run_file`.
    idx
        Position on the page (for unique element ids).
    units
        Distances and pace in ``km`` or ``mi`` (the profile's, :mod:`runmuscles.profile`).
    """
    groups = rec["groups"]
    drivers = rec.get("drivers") or {}
    name = Path(rec["file"]).name
    asc, desc = rec.get("ascent_m"), rec.get("descent_m")
    cond = rec.get("conditions") or {}
    facts = [
        ("date", esc(rec.get("start_time", "")[:16].replace("T", " ")) + " UTC"),
        (
            "distance",
            f"{format_distance(rec['distance_m'], units)} "
            f"({format_distance(rec['distance_loaded_m'], units)} loaded)",
        ),
        ("distance from", esc((rec.get("distance") or {}).get("reason", "the track"))),
        ("validity", _validity(rec.get("quality"))),
        ("time", f"{_clock(rec.get('duration_s'))} (moving {_clock(rec.get('moving_time_s'))})"),
        ("pace", format_pace(rec.get("pace_s_per_km"), units)),
        ("ascent / descent", "-" if asc is None or desc is None else f"+{asc:.0f} m / -{desc:.0f} m"),
        ("strides", f"{rec['strides']:.0f}"),
    ]
    if cond:
        up, down = cond.get("mean_grade_uphill_pct"), cond.get("mean_grade_downhill_pct")
        facts.append(
            (
                "hills",
                f"{format_distance(cond.get('distance_uphill_m', 0), units)} uphill"
                + (f" (mean {up:+.1f} %)" if up is not None else "")
                + f", {format_distance(cond.get('distance_downhill_m', 0), units)} downhill"
                + (f" (mean {down:+.1f} %)" if down is not None else ""),
            )
        )
        cad = cond.get("mean_cadence_pct")
        facts.append(
            (
                "cadence",
                ("-" if cad is None else f"{cad:.0f} % of the runners' typical")
                + f" ({esc(cond.get('cadence_source', ''))})",
            )
        )
    facts_html = "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in facts) + "</table>"
    impulse = {g: v["impulse_bw_s"] for g, v in groups.items()}
    body_map = group_load_map_svg(
        impulse,
        label="force impulse",
        unit="BW s",
        figure_id=f"run{idx}-bodymap",
        title=f"Body map of {name}: force impulse per muscle group",
    )
    head = (
        "<tr><th>group</th><th class=n>impulse (BW s)</th><th class=n>+ work (J/kg)</th>"
        "<th class=n>- work (J/kg)</th><th class=n>pace (BW s)</th><th class=n>hills (BW s)</th>"
        "<th class=n>cadence (BW s)</th></tr>"
    )
    rows = []
    for g in sorted(groups, key=lambda g: -groups[g]["impulse_bw_s"]):
        v = groups[g]
        d = drivers.get(g, {})

        def part(k: str, d=d) -> str:
            x = d.get(k, {}).get("impulse_bw_s")
            return "-" if x is None else f"{x:+.1f}" if k != "pace" else f"{x:.1f}"

        rows.append(
            f'<tr class="group-row" data-group="{esc(g)}">'
            f"<td>{esc(GROUP_LABELS.get(g, g).split(' (')[0])}</td>"
            f'<td class=n data-col="impulse_bw_s">{v["impulse_bw_s"]:.1f}</td>'
            f'<td class=n data-col="positive_work_j_per_kg">{v["positive_work_j_per_kg"]:.1f}</td>'
            f'<td class=n data-col="negative_work_j_per_kg">{v["negative_work_j_per_kg"]:.1f}</td>'
            f'<td class=n data-col="pace">{part("pace")}</td>'
            f'<td class=n data-col="hills">{part("hills")}</td>'
            f'<td class=n data-col="cadence">{part("cadence")}</td></tr>'
        )
    named = (rec.get("quality") or {}).get("warnings", [])
    warn = "".join(
        f'<li class="quality" data-code="{esc(w["code"])}">{"not valid: " if w.get("invalidates") else ""}'
        f"{esc(w['message'])}</li>"
        for w in named
    ) + "".join(f"<li>{esc(w)}</li>" for w in rec.get("warnings", []))
    method = esc(rec.get("drivers_method", ""))
    return f"""
<section class="run" id="run{idx}" data-file="{esc(name)}">
<h2>{esc(name)} &mdash; {esc(rec.get("sport", ""))}</h2>
<div class="row"><div>{body_map}</div>
<div class="side"><h3>The run</h3>{facts_html}
<h3>Load per muscle group (both legs, whole run)</h3>
<table class="groups-table">{head}{"".join(rows)}</table>
<p class="note">Pace, hills and cadence split each group's impulse: {method}.
Deep hip rotators, peronei and tibialis posterior ("other") are in the table, not on the map.</p>
{f'<h3>Warnings</h3><ul class="flags">{warn}</ul>' if warn else ""}</div></div></section>
{run_advice_section(rec, f"run{idx}-advice", units)}"""


def run_report_html(records: list[dict[str, Any]], *, title: str | None = None, units: str = "km") -> str:
    """The page for one or more runs (records of ``summarize_run_file``), distances and paces in
    ``units`` (``km`` or ``mi``: the profile's, :mod:`runmuscles.profile`)."""
    check_choice("units", units, "units")
    title = title or (
        f"Muscle load of {Path(records[0]['file']).name}"
        if len(records) == 1
        else f"Muscle load of {len(records)} runs"
    )
    meta = (
        f"{len(records)} run{'s' if len(records) != 1 else ''} &middot; runmuscles {esc(__version__)} "
        f"&middot; built {time.strftime('%Y-%m-%d %H:%M')}"
    )
    nav = "".join(f'<a href="#run{k}">{esc(Path(r["file"]).name)}</a>' for k, r in enumerate(records))
    sections = "".join(run_section_html(r, k, units) for k, r in enumerate(records))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{PAGE_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><div class=meta>{meta}</div></header>"
        f"<nav>{nav}</nav><main>{sections}"
        '<p class="note">Loads integrate the runmuscles load table (muscle force impulse and work per unit '
        "distance against speed, grade and cadence, from the 7 runners of Hamner &amp; Delp 2013, J Biomech "
        "46:780-787, recomputed on slopes and at other cadences with the what-if engine) over each "
        "second of running.</p></main></body></html>"
    )


def write_run_report(records: list[dict[str, Any]], out_dir: str | Path, *, units: str = "km") -> Path:
    """Write :data:`RUN_REPORT_FILE` for the runs into ``out_dir`` (distances in ``units``);
    returns its path."""
    from ..outputs import prepare_output_dir  # noqa: PLC0415

    out = prepare_output_dir(out_dir)
    path = out / RUN_REPORT_FILE
    path.write_text(run_report_html(records, units=units), encoding="utf-8")
    return path
