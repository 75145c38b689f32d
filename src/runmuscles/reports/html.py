"""The HTML report: one self-contained page per analysis (or per runner's speeds).

``report.html`` answers "which muscles did this running work, how much, and when" at a
glance and lets an expert check where every number came from. It is built only from the
result tables :func:`runmuscles.results.write_results` writes (see
:mod:`runmuscles.reports.resultset`); all graphics are inline SVG drawn by this package,
the little JavaScript (metric and speed switches, tool tips) is inline too: the page
needs no network.

Sections: plain-language summary; speed view (several speeds); per analysis a body map
(front and back, one region per muscle group and side), the stride view (activation
heatmap with events and phases, per-group force curves, group shares per phase), the top
muscles and a quality panel (model, files, method, settings, residuals against
thresholds, reserves, saturated muscles, strides, notes).
"""

from __future__ import annotations

import re
import time
import webbrowser
from pathlib import Path

from .. import __version__
from ..analyses.groups import GROUP_LABELS
from ..errors import InputError
from .bodymap import METRICS, body_map_svg
from .curves import curves_section_html
from .figures import group_curves_svg, heatmap_svg, phase_shares_svg, speed_svgs
from .narrative import speed_sentences, summary_sentences
from .resultset import ResultSet, find_result_folders, load_results
from .svg import esc

__all__ = [
    "PAGE_CSS",
    "STATIC_FILES",
    "analysis_sections_html",
    "build_report",
    "export_figures",
    "load_runs",
    "report_html",
    "static_text",
]

#: The report's style sheet and script: files of this package, inlined by the offline report and
#: served as files by the web app (whose Content-Security-Policy allows no inline code).
STATIC_FILES = ("report.css", "report.js")


def static_text(name: str) -> str:
    """One of :data:`STATIC_FILES`, read from the package."""
    from importlib.resources import files  # noqa: PLC0415

    if name not in STATIC_FILES:
        raise KeyError(name)
    return (files("runmuscles.reports") / "static" / name).read_text(encoding="utf-8")


_CSS = static_text("report.css")
#: The report's style sheet (the run report uses it too).
PAGE_CSS = _CSS


_SECTIONS = (("bodymap", "body map"), ("stride", "stride"), ("quality", "quality"))


def _num(v: object, nd: int = 3, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return f"{v:.{nd}g}{(' ' + unit) if unit else ''}"
    return esc(v)


def _kv_table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _speed_text(rs: ResultSet) -> str:
    return f"{rs.speed_m_s:g} m/s" if rs.speed_m_s else rs.label


def _top_muscles_html(rs: ResultSet) -> str:
    head = (
        "<tr><th>muscle</th><th class=n>impulse (BW s)</th><th class=n>positive work (J)</th>"
        "<th class=n>peak force (BW)</th><th class=n>peak activation</th></tr>"
    )
    body = "".join(
        f'<tr data-muscle="{esc(r["muscle"])}"><td>{esc(r["muscle"])}</td>'
        f'<td class=n data-col="impulse_bw_s">{r["impulse_bw_s"]:.3f}</td>'
        f'<td class=n data-col="positive_work_j">{r["positive_work_j"]:.1f}</td>'
        f'<td class=n data-col="peak_force_bw">{r["peak_force_bw"]:.2f}</td>'
        f'<td class=n data-col="peak_activation">{r["peak_activation"]:.2f}</td></tr>'
        for r in rs.summary.get("top_muscles_by_impulse", [])
    )
    return f'<table class="top-muscles">{head}{body}</table>'


def _groups_table_html(rs: ResultSet) -> str:
    head = (
        "<tr><th>group</th><th class=n>share of impulse</th><th class=n>share of + work</th>"
        "<th class=n>impulse / stride (BW s)</th><th class=n>+ work / stride (J/kg)</th>"
        "<th class=n>+ work / km (J/kg)</th></tr>"
    )
    rows = []
    for g, e in sorted(rs.groups.items(), key=lambda kv: -kv[1]["share_of_impulse"]):
        km = e.get("positive_work_j_per_kg_per_km")
        rows.append(
            f'<tr class="group-row" data-group="{g}"><td>{esc(GROUP_LABELS.get(g, g).split(" (")[0])}</td>'
            f'<td class=n data-col="share_of_impulse">{100 * e["share_of_impulse"]:.1f} %</td>'
            f'<td class=n data-col="share_of_positive_work">{100 * e["share_of_positive_work"]:.1f} %</td>'
            f'<td class=n data-col="impulse_bw_s_per_stride">{e["impulse_bw_s_per_stride"]:.3f}</td>'
            "<td class=n "
            f'data-col="positive_work_j_per_kg_per_stride">{e["positive_work_j_per_kg_per_stride"]:.3f}</td>'
            "<td class=n "
            f'data-col="positive_work_j_per_kg_per_km">{"-" if km is None else f"{km:.1f}"}</td></tr>'
        )
    return f'<table class="groups-table">{head}{"".join(rows)}</table>'


def _pct(v: object) -> str:
    return "-" if not isinstance(v, (int, float)) else f"{100 * v:.0f} %"


def _settings_text(settings: object) -> str:
    """The energy model's settings as one line (older summaries have none)."""
    if not isinstance(settings, dict):
        return "-"
    units = {"_w_per_kg": " (W/kg)", "_kg_m3": " (kg/m^3)", "_pa": " (Pa)"}

    def label(key: str) -> str:
        for suffix, unit in units.items():
            if key.endswith(suffix):
                return key.removesuffix(suffix).replace("_", " ") + unit
        return key.replace("_", " ")

    return esc(
        ", ".join(
            f"{label(k)} {v:g}" if isinstance(v, (int, float)) else f"{label(k)}: {v}"
            for k, v in settings.items()
        )
    )


def _composition_text(comp: object) -> str:
    """The slow-twitch table used and the muscles that got the assumed value."""
    if not isinstance(comp, dict):
        return "-"
    assumed = comp.get("assumed_for") or []
    text = str(comp.get("source", ""))
    if assumed:
        text += f"; {comp.get('assumed_percent', 50):g} % assumed for {', '.join(map(str, assumed))}"
    return esc(text)


def energy_html(rs: ResultSet) -> str:
    """Energy and fibre types, from ``summary.json``'s ``energetics`` block (if present)."""
    from ..analyses.validity import flag_reasons  # noqa: PLC0415

    e = rs.summary.get("energetics")
    if not e:
        return "<p class=note>No energetics in these results.</p>"
    reasons = flag_reasons(rs.summary.get("quality", {}), "energy")
    mark = ' <span class="bad flagged">(flagged)</span>' if reasons else ""
    banner = (
        '<div class="flags energy-flag"><b>Flagged: these energy figures are not to be taken at face '
        "value.</b><ul>" + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul></div>"
        if reasons
        else ""
    )
    head = _kv_table(
        [
            ("metabolic power, gross (W/kg)", _num(e.get("metabolic_power_w_per_kg"), 2) + mark),
            ("cost of transport, gross (J/kg/m)", _num(e.get("metabolic_cost_j_per_kg_m"), 2) + mark),
            ("energy per kilometre (kcal/km)", _num(e.get("kcal_per_km"), 0) + mark),
            ("basal rate included (W/kg)", _num(e.get("basal_power_w_per_kg"), 2)),
            ("muscle mass in the model (kg)", _num(e.get("muscle_mass_kg"), 1)),
            ("energy model", esc(str(e.get("model", "")))),
            ("energy model settings", _settings_text(e.get("settings"))),
            ("fibre recruitment", esc(str(e.get("fibre_recruitment", "")))),
            ("fibre composition", _composition_text(e.get("fibre_composition"))),
            (
                "positive ankle work done by reserves (not in the energy)",
                _pct(e.get("reserve_share_of_ankle_positive_work")),
            ),
        ]
    )
    rows = []
    groups = e.get("groups", {})
    for g, v in sorted(groups.items(), key=lambda kv: -(kv[1].get("share_of_energy") or 0.0)):
        if not v.get("muscles"):
            continue
        ff = v.get("fast_fibre_share")
        rows.append(
            f'<tr class="energy-row" data-group="{g}"><td>{esc(GROUP_LABELS.get(g, g).split(" (")[0])}</td>'
            f'<td class=n data-col="share_of_energy">{100 * v["share_of_energy"]:.1f} %</td>'
            f'<td class=n data-col="energy_j_per_kg_per_stride">{v["energy_j_per_kg_per_stride"]:.3f}</td>'
            f'<td class=n data-col="fast_fibre_share">{"-" if ff is None else f"{100 * ff:.0f} %"}</td></tr>'
        )
    table = (
        '<table class="energy-table"><tr><th>group</th><th class=n>share of muscle energy</th>'
        "<th class=n>energy / stride (J/kg)</th><th class=n>fast-fibre share of force</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return f'{banner}<div class="row"><div>{head}</div><div class="side">{table}</div></div>'


def _foot_strike_text(fs: dict | None) -> str:
    if not fs or not (fs.get("right") or fs.get("left")):
        return "not determined"
    n = len(fs.get("strides", []))
    return (
        f"right {esc(fs.get('right') or '-')}, left {esc(fs.get('left') or '-')} "
        f"(majority of {n} strikes; {esc(fs.get('method', ''))})"
    )


def _residual_reduction_html(rr: dict | None) -> str:
    """One paragraph on the residual reduction (``quality.residual_reduction``): the mass
    change, the pelvis's kinematic changes and the residual peaks before and after."""
    if not rr:
        return '<p class="note">Residual reduction: off (the motion and masses as given).</p>'
    if not rr.get("applied"):
        return f'<p class="note">Residual reduction: not applied ({esc(rr.get("reason", ""))}).</p>'
    kin = rr.get("kinematic_changes", {})
    rot = max((v["rms_deg"] for v in kin.values() if "rms_deg" in v), default=0.0)
    tra = max((v["rms_cm"] for v in kin.values() if "rms_cm" in v), default=0.0)
    before, after = rr["residuals_before"], rr["residuals_after"]
    return (
        '<p class="residual-reduction">Residual reduction (the residuals above are after it): body mass '
        f"{rr['body_mass_before_kg']:.2f} &rarr; {rr['body_mass_after_kg']:.2f} kg "
        f"({rr['mass_change_percent']:+.2f} %; every result uses the adjusted mass), {esc(rr['trunk_body'])} "
        "mass centre moved " + ", ".join(f"{v:+.1f}" for v in rr["trunk_com_shift_cm"]) + " cm, pelvis "
        f"motion changed by at most {rot:.2f} deg and {tra:.2f} cm RMS; peak residual forces "
        f"{before['force_n']['peak']:.0f} &rarr; {after['force_n']['peak']:.0f} N, moments "
        f"{before['moment_nm']['peak']:.0f} &rarr; {after['moment_nm']['peak']:.0f} N m.</p>"
    )


def quality_html(rs: ResultSet) -> str:
    """The quality panel: where the numbers come from and how far to trust them."""
    s = rs.summary
    q = s.get("quality", {})
    prov = s.get("provenance", {})
    parts = ["<h3>Model, data and method</h3>"]
    parts.append(
        _kv_table(
            [
                ("model", f"{esc(s.get('model_name'))} &mdash; <code>{esc(prov.get('model', ''))}</code>"),
                ("body mass", _num(s.get("body_mass_kg"), 4, "kg")),
                ("coordinates", f"<code>{esc(prov.get('coordinates', ''))}</code>"),
                ("external loads", f"<code>{esc(prov.get('external_loads') or 'none')}</code>"),
                ("inputs", esc(q.get("input", {}).get("path", "files as given"))),
                ("method", esc(prov.get("method", ""))),
                ("foot strike", _foot_strike_text(s.get("foot_strike"))),
                ("speed", f"{_num(s.get('speed_m_s'))} m/s ({esc(s.get('speed_source', ''))})"),
                (
                    "frames",
                    f"{s.get('n_frames')} frames analysed, "
                    f"{s['analysis_window_s'][0]:g}-{s['analysis_window_s'][1]:g} s; "
                    f"{q.get('geometry_frames_outside_domain', 0)} outside the geometry model's fitted range",
                ),
                (
                    "solver",
                    f"converged on all frames: {_num(q.get('solver_converged_all_frames'))}; at most "
                    f"{q.get('solver_max_iterations', '-')} iterations; muscle equilibrium error "
                    f"{_num(q.get('equilibrium_max_error'))}",
                ),
                ("results folder", f"<code>{esc(rs.folder)}</code>"),
                ("runmuscles", esc(s.get("runmuscles_version", ""))),
            ]
        )
    )
    settings = s.get("settings", {})
    parts.append("<h3>Settings</h3>")
    parts.append(_kv_table([(k, _num(v)) for k, v in settings.items()]))
    parts.append("<h3>Residuals (pelvis) against Hicks et al. (2015)</h3>")
    rows = [
        "<tr><th>kind</th><th class=n>peak</th><th class=n>RMS</th><th "
        "class=n>threshold</th><th>verdict</th></tr>"
    ]
    for kind, r in q.get("residuals", {}).items():
        ok = r.get("within_threshold")
        rows.append(
            f'<tr class="residual" data-kind="{esc(kind)}" data-peak="{r["peak"]:.6g}" '
            f'data-threshold="{r["threshold_hicks_2015"]:.6g}"><td>{esc(kind)}</td>'
            f"<td class=n>{r['peak']:.1f}</td><td class=n>{r['rms']:.1f}</td><td "
            f"class=n>{r['threshold_hicks_2015']:.1f}</td>"
            f'<td class="{"ok" if ok else "bad"}">{"within" if ok else "above threshold"}</td></tr>'
        )
    parts.append("<table>" + "".join(rows) + "</table>")
    parts.append(_residual_reduction_html(q.get("residual_reduction")))
    parts.append("<h3>Reserve actuators</h3>")
    muscled = set(q.get("muscle_coordinate_reserves", []))
    rows = ["<tr><th>reserve</th><th>coordinate</th><th class=n>peak</th><th class=n>RMS</th><th></th></tr>"]
    for name, r in q.get("reserves", {}).items():
        flag = name in muscled and r["peak"] > 10.0
        kind = "muscle-actuated" if name in muscled else "residual"
        rows.append(
            f"<tr><td>{esc(name)}</td><td>{esc(r.get('coordinate', ''))}</td><td class=n>{r['peak']:.1f}</td>"
            f'<td class=n>{r["rms"]:.1f}</td><td class="{"bad" if flag else "note"}">'
            f"{'beyond the modelled muscle strength here' if flag else kind}"
            "</td></tr>"
        )
    parts.append('<div class="scroll"><table>' + "".join(rows) + "</table></div>")
    sat = q.get("saturated_muscles", [])
    frac = q.get("saturated_frame_fraction", {})
    parts.append(f"<h3>Muscles at full activation ({len(sat)} of {len(rs.muscle_names)})</h3>")
    if sat:
        parts.append(
            '<p class="saturated">'
            + ", ".join(
                f"{esc(m)} ({100 * frac.get(m, 0):.0f} % of frames)"
                for m in sorted(sat, key=lambda m: -frac.get(m, 0))
            )
            + "</p>"
        )
    else:
        parts.append("<p>none</p>")
    parts.append("<h3>Strides</h3>")
    rows = [
        "<tr><th>cycle</th><th>side</th><th class=n>start (s)</th><th class=n>toe-off (s)</th><th "
        "class=n>end (s)</th>"
        "<th class=n>stance</th><th class=n>peak vGRF (BW)</th><th>flags</th></tr>"
    ]
    for st in rs.strides:
        rows.append(
            f"<tr><td>{st['cycle']}</td><td>{esc(st['side'])}</td><td class=n>{st['start_s']:.3f}</td>"
            f"<td class=n>{st['toe_off_s']:.3f}</td><td class=n>{st['end_s']:.3f}</td>"
            f"<td class=n>{100 * st['stance_fraction']:.0f} %</td><td "
            f"class=n>{_num(st.get('peak_vertical_grf_bw'))}</td>"
            f"<td>{esc('; '.join(st.get('flags', [])))}</td></tr>"
        )
    parts.append('<div class="scroll"><table>' + "".join(rows) + "</table></div>")
    if q.get("flags"):
        parts.append(
            "<h3>Flags</h3><ul class=flags>" + "".join(f"<li>{esc(f)}</li>" for f in q["flags"]) + "</ul>"
        )
    if q.get("notes"):
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in q["notes"]) + "</ul>")
    return "".join(parts)


def _trial_html(rs: ResultSet, idx: int, on: bool) -> str:
    tid = f"t{idx}"
    metric_btns = "".join(
        f'<button data-metric="{m}" class="{"on" if m == "impulse" else ""}">{esc(label)}</button>'
        for m, label in METRICS.items()
    )
    sents = "".join(f"<li>{esc(x)}</li>" for x in summary_sentences(rs))
    from ..analyses.validity import flag_reasons  # noqa: PLC0415

    muscle_flags = flag_reasons(rs.summary.get("quality", {}), "muscles")
    muscle_flag = (
        '<p class="bad flagged muscles-flag">Flagged: '
        + esc("; ".join(muscle_flags))
        + "; the muscle figures below rest on these forces.</p>"
        if muscle_flags
        else ""
    )
    return f"""
<div class="trial{" on" if on else ""}" data-trial="{esc(rs.label)}" data-folder="{esc(rs.folder)}">
<section class="summary" id="{tid}-summary"><h2>In short &mdash; {esc(_speed_text(rs))}</h2>
<ul>{sents}</ul></section>
<section id="{tid}-bodymap"><h2>Body map &mdash; which muscle groups worked</h2>
<p class="note">Colour: each group's value on each side
(mean over {len(rs.strides)} stride{"s" if len(rs.strides) != 1 else ""}).
Hover or tap a region for its value.
Deep hip rotators, peronei and tibialis posterior ("other") are not drawn.</p>{muscle_flag}
<div class="btns metric-btns" data-target="{tid}-bodymap-svg">{metric_btns}</div>
<div class="row"><div>{body_map_svg(rs, figure_id=f"{tid}-bodymap-svg")}</div>
<div class="side"><h3>Muscle groups (both sides)</h3>{_groups_table_html(rs)}
<h3>Top muscles by force impulse per stride</h3>{_top_muscles_html(rs)}</div></div></section>
<section id="{tid}-stride"><h2>Stride &mdash; when they work</h2>
<div class="scroll">{heatmap_svg(rs, figure_id=f"{tid}-heatmap")}</div>
<div class="scroll">{group_curves_svg(rs, figure_id=f"{tid}-groupcurves")}</div>
<h3>Curves on one axis &mdash; choose muscles or groups to compare</h3>
{curves_section_html(rs, tid)}
<div class="scroll">{phase_shares_svg(rs, figure_id=f"{tid}-phaseshares")}</div></section>
<section id="{tid}-energy"><h2>Energy and fibre types &mdash; what it cost</h2>
{energy_html(rs)}</section>
{_emg_section(rs, tid)}
{results_advice_section(rs.folder, f"{tid}-advice")}
<section id="{tid}-quality" class="quality"><h2>Quality &mdash; how far to trust these numbers</h2>
{quality_html(rs)}</section>
</div>"""


def analysis_sections_html(rs: ResultSet, prefix: str = "t0") -> str:
    """One analysis's sections as the report shows them (summary, body map, stride curves, energy,
    EMG, training, quality); the web app's analysis page shows the same HTML."""
    return _trial_html(rs, int(prefix[1:]) if prefix[1:].isdigit() else 0, on=True)


def results_advice_section(folder: Path, section_id: str) -> str:
    """The training section (:mod:`runmuscles.reports.advice_html`)."""
    from .advice_html import results_advice_section as section  # noqa: PLC0415

    return section(folder, section_id)


def _emg_section(rs: ResultSet, tid: str) -> str:
    """EMG beside the activations, when the analysis had EMG (:mod:`runmuscles.reports.emg_figures`)."""
    if not rs.summary.get("emg"):
        return ""
    from .emg_figures import emg_html  # noqa: PLC0415

    return (
        f'<section id="{tid}-emg"><h2>EMG &mdash; measured activity beside the model&#39;s</h2>'
        f"{emg_html(rs.summary, prefix=tid)}</section>\n"
    )


def load_runs(results: str | Path | list[str | Path]) -> list[ResultSet]:
    """Result sets of one folder, a folder of per-speed folders, or a list of folders."""
    folders: list[Path] = []
    for p in results if isinstance(results, list) else [results]:
        folders += find_result_folders(p)
    return [load_results(f) for f in folders]


def report_html(runs: list[ResultSet], *, title: str | None = None) -> str:
    """The whole report page as one string."""
    if not runs:
        raise InputError(None, "no results to report")
    first = runs[0].summary
    speeds = [r for r in runs if r.speed_m_s]
    multi = len(runs) > 1
    title = title or (
        f"Running muscles: {first.get('model_name', '')}"
        + (f", {', '.join(_speed_text(r) for r in runs)}" if multi else f", {_speed_text(runs[0])}")
    )
    meta = (
        f"{first.get('model_name', '')} &middot; {first.get('body_mass_kg', 0):.1f} kg &middot; "
        f"{len(runs)} {'analyses' if multi else 'analysis'} &middot; runmuscles {esc(__version__)} &middot; "
        f"built {time.strftime('%Y-%m-%d %H:%M')}"
    )
    nav = ['<a href="#overview">summary</a>']
    body = []
    if multi:
        sp = speed_svgs(runs)
        sents = "".join(f"<li>{esc(x)}</li>" for x in speed_sentences(runs))
        body.append(
            '<section class="summary" id="overview"><h2>In short &mdash; across '
            f"speeds</h2><ul>{sents}</ul></section>"
        )
        if sp:
            nav.append('<a href="#speeds">speeds</a>')
            body.append(
                '<section id="speeds"><h2>Speed &mdash; how the load changes</h2><div class="row">'
                + "".join(f"<div>{v}</div>" for v in sp.values())
                + "</div></section>"
            )
        btns = "".join(
            f'<button data-trial="{esc(r.label)}" '
            f'class="{"on" if k == len(runs) - 1 else ""}">{esc(_speed_text(r))}</button>'
            for k, r in enumerate(runs)
        )
        nav.append(f'<span class="note">show:</span><span class="btns trial-btns">{btns}</span>')
    for k, r in enumerate(runs):
        body.append(_trial_html(r, k, on=(k == len(runs) - 1)))
    if not multi:
        body[0] = body[0].replace('id="t0-summary"', 'id="overview"', 1)
    last = len(runs) - 1
    sections = _SECTIONS + ((("emg", "EMG"),) if any(r.summary.get("emg") for r in runs) else ())
    nav += [f'<a href="#t{last}-{sec}" data-sec="{sec}">{label}</a>' for sec, label in sections]
    files = ", ".join(sorted({n for r in runs for n in r.summary.get("files", {}).values()}))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><div class=meta>{meta}</div></header>"
        f"<nav>{''.join(nav)}</nav><main>{''.join(body)}"
        f'<p class="note">Built only from the result tables ({esc(files)}) of '
        f"{', '.join(f'<code>{esc(r.folder)}</code>' for r in runs)}; "
        f"{'speeds' if len(speeds) > 1 else 'speed'} as recorded in each summary.json.</p></main>"
        f'<div id="tip"></div><script>{static_text("report.js")}</script></body></html>'
    )


def build_report(
    results: str | Path | list[str | Path],
    out_path: str | Path | None = None,
    *,
    title: str | None = None,
    open_browser: bool = False,
) -> Path:
    """Write ``report.html`` for one results folder or a runner's per-speed folders.

    Parameters
    ----------
    results
        A folder written by :func:`runmuscles.results.write_results`, a folder of such
        folders (one per speed, as ``runmuscles demo`` writes), or a list of folders.
    out_path
        Where to write (default: ``report.html`` in ``results``, or in the first folder's
        parent for a list).
    title
        Page title (default: model and speeds).
    open_browser
        Open the report in the default browser afterwards.

    Returns
    -------
    Path
        The report.
    """
    runs = load_runs(results)
    if out_path is None:
        base = Path(results[0]).parent if isinstance(results, list) else Path(results)
        out_path = base / "report.html"
    from ..outputs import check_output_file, html_written_by_runmuscles  # noqa: PLC0415

    out = check_output_file(out_path, html_written_by_runmuscles)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report_html(runs, title=title), encoding="utf-8")
    if open_browser:
        webbrowser.open(out.resolve().as_uri())
    return out


def export_figures(
    results: str | Path | list[str | Path], fig_dir: str | Path, *, png: bool = True
) -> tuple[dict[str, Path], str | None]:
    """Write every figure as SVG (and PNG when a headless Chromium is available).

    Returns
    -------
    (paths, note)
        Written files by name, and a sentence when PNGs could not be made (else ``None``).
    """
    runs = load_runs(results)
    from ..outputs import prepare_output_dir  # noqa: PLC0415

    d = prepare_output_dir(fig_dir, "--figures")
    svgs: dict[str, str] = {}
    multi = len(runs) > 1
    for r in runs:
        pre = f"{r.label}_" if multi else ""
        svgs[pre + "bodymap"] = body_map_svg(r)
        svgs[pre + "heatmap"] = heatmap_svg(r)
        svgs[pre + "group_curves"] = group_curves_svg(r)
        svgs[pre + "phase_shares"] = phase_shares_svg(r)
        for k, entry in enumerate((r.summary.get("emg") or {}).get("channels", [])):
            from .emg_figures import emg_channel_svg  # noqa: PLC0415

            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", entry["channel"])
            svgs[f"{pre}emg_{k + 1:02d}_{name}"] = emg_channel_svg(entry, figure_id=f"emg-{k}")
    svgs.update(speed_svgs(runs))
    paths: dict[str, Path] = {}
    for name, svg in svgs.items():
        p = d / f"{name}.svg"
        p.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + svg, encoding="utf-8")
        paths[name + ".svg"] = p
    note = None
    if png:
        from .browser import BrowserError, HeadlessBrowser, find_chromium  # noqa: PLC0415

        if find_chromium() is None:
            note = "PNG not written: no Chromium found (install 'chromium'); SVG files are written"
        else:
            try:
                with HeadlessBrowser(width=1400, height=1000) as b:
                    for name in svgs:
                        b.open(paths[name + ".svg"])
                        paths[name + ".png"] = b.screenshot(d / f"{name}.png", selector="svg", scale=2.0)
            except BrowserError as exc:
                note = f"PNG not written: {exc}"
    return paths, note
