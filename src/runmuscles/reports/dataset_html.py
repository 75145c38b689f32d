"""The dataset report of a batch: ``dataset_report.html`` beside the Parquet dataset.

``runmuscles batch`` analyses many runners; this one self-contained page (inline SVG drawn
with :mod:`runmuscles.reports.svg` and the frame of :mod:`runmuscles.reports.figures`, the
style sheet of :mod:`runmuscles.reports.html`, no script) answers "how do the muscle groups
share the work across these runners, and how much do the runners differ":

* each group's share of the muscle force impulse against speed, the mean over subjects with
  their spread (one standard deviation, sample, and the range);
* each group's force over the stride (reference-side muscles, body weights) at each speed,
  the mean over subjects with the same spread, each subject's own curve thin behind it;
* the subject x speed x group table of the batch's ``summary_subjects.csv``;
* the failed trials with their reasons, from ``manifest.parquet``.

It reads only what the batch wrote: ``manifest.parquet``, the dataset's ``groups`` table
(through :func:`runmuscles.batch.run.dataset_summary`) and each successful trial's results
folder (``normalized.csv`` and ``summary.json``, through
:func:`runmuscles.reports.resultset.load_results`; a batch's workers read their own trials'
as they finish them, :func:`trial_curves`). Subjects weigh equally: a subject's
trials at one speed are averaged first (as the dataset summary does with strides).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..analyses.groups import GROUP_LABELS
from ..errors import InputError
from .figures import _frame
from .html import PAGE_CSS
from .resultset import load_results
from .svg import GROUP_COLOURS, GROUP_ORDER, esc, fmt, nice_ticks, svg_open

__all__ = [
    "DATASET_REPORT",
    "DatasetCurves",
    "dataset_curves",
    "dataset_report_html",
    "trial_curves",
    "write_dataset_report",
]

#: File name of the dataset report in a batch's output folder.
DATASET_REPORT = "dataset_report.html"
#: Groups drawn (the rest, "other", has no physiological meaning as a group).
_DRAWN = tuple(g for g in GROUP_ORDER if g != "other")


def _label(group: str) -> str:
    return GROUP_LABELS.get(group, group).split(" (")[0]


def _speed_text(v: float | None) -> str:
    return "unknown speed" if v is None else f"{v:g} m/s"


@dataclass
class DatasetCurves:
    """Group force curves of a batch's successful trials, per speed, group and subject.

    Attributes
    ----------
    cycle_pct
        ``(101,)`` percent of the stride.
    curves
        ``{speed: {group: {subject: (101,) force in body weights}}}``: the subject's mean
        over its trials at that speed of the reference-side members' summed force
        (``normalized.csv``, the mean over strides) divided by the body weight.
    toe_off_pct
        ``{speed: mean toe-off (% of the stride) over subjects}``.
    problems
        Trials whose results could not be read (trial ID: reason).
    """

    cycle_pct: np.ndarray
    curves: dict[float | None, dict[str, dict[str, np.ndarray]]] = field(default_factory=dict)
    toe_off_pct: dict[float | None, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _manifest_rows(out: Path) -> list[dict]:
    import pyarrow.parquet as pq  # noqa: PLC0415

    f = out / "manifest.parquet"
    if not f.is_file():
        raise InputError(out, "has no manifest.parquet (not a runmuscles batch folder)")
    return pq.read_table(f).to_pylist()


def trial_curves(folder: str | Path) -> dict:
    """One successful trial's contribution to :func:`dataset_curves`, as plain data.

    Read from the trial's results folder (:func:`~runmuscles.reports.resultset.load_results`):
    ``cycle_pct``, ``speed_m_s``, ``groups`` (each drawn group's reference-side members' summed
    force over the stride, in body weights) and ``toe_off_pct``. A batch's workers compute it
    beside each trial, so the client does not read every trial's folder again. Raises
    :class:`~runmuscles.errors.InputError` when the folder cannot be read.
    """
    rs = load_results(folder)
    side = rs.reference_side
    bw = rs.body_weight_n
    groups = {}
    for g in _DRAWN:
        if g not in rs.groups:
            continue
        idx = [rs.muscle_names.index(m) for m in rs.members(g, side) if m in rs.muscle_names]
        if idx:
            groups[g] = (rs.force_norm_n[:, idx].sum(axis=1) / bw).tolist()
    toe = rs.event_pct().get("toe_off")
    return {
        "cycle_pct": np.asarray(rs.cycle_pct, dtype=float).tolist(),
        "speed_m_s": None if rs.speed_m_s is None else float(rs.speed_m_s),
        "groups": groups,
        "toe_off_pct": None if toe is None else float(toe),
    }


def dataset_curves(
    out: str | Path, rows: list[dict] | None = None, known: dict[str, dict] | None = None
) -> DatasetCurves:
    """The group force curves of a batch folder (see :class:`DatasetCurves`).

    ``known``: :func:`trial_curves` already computed, by trial ID (a batch's workers'); the
    other successful trials' folders are read here.
    """
    out = Path(out)
    rows = _manifest_rows(out) if rows is None else rows
    known = known or {}
    per: dict[tuple, list[np.ndarray]] = {}
    toe: dict[float | None, dict[str, list[float]]] = {}
    pct = np.linspace(0.0, 100.0, 101)
    problems = []
    for r in rows:
        if r.get("status") != "ok" or not r.get("results"):
            continue
        tc = known.get(r["trial_id"])
        if tc is None:
            try:
                tc = trial_curves(out / r["results"])
            except InputError as exc:
                problems.append(f"{r['trial_id']}: {exc}")
                continue
        pct = np.asarray(tc["cycle_pct"], dtype=float)
        speed = tc["speed_m_s"]
        for g, curve in tc["groups"].items():
            per.setdefault((speed, g, r["subject"]), []).append(np.asarray(curve, dtype=float))
        if tc["toe_off_pct"] is not None:
            toe.setdefault(speed, {}).setdefault(r["subject"], []).append(tc["toe_off_pct"])
    result = DatasetCurves(pct, problems=problems)
    for (speed, g, subject), cs in sorted(per.items(), key=lambda kv: (_speed_key(kv[0][0]), kv[0][1:])):
        result.curves.setdefault(speed, {}).setdefault(g, {})[subject] = np.mean(cs, axis=0)
    for speed, by_subject in toe.items():
        result.toe_off_pct[speed] = float(np.mean([np.mean(v) for v in by_subject.values()]))
    return result


def _speed_key(v: float | None) -> float:
    return math.inf if v is None else float(v)


def _spread(curves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, SD (sample; 0 for one subject), minimum and maximum over subjects, per point."""
    a = np.asarray(curves, dtype=float)
    sd = a.std(axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1])
    return a.mean(axis=0), sd, a.min(axis=0), a.max(axis=0)


def _fmt1(x: float) -> str:
    """:func:`~runmuscles.reports.svg.fmt` with one decimal, without its per-call format spec
    (a report draws some 80 000 coordinates)."""
    s = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _path(points: list[tuple[float, float]]) -> str:
    f = _fmt1
    return "M" + " L".join([f"{f(x)} {f(y)}" for x, y in points])


def curves_svg(dc: DatasetCurves, speed: float | None, *, figure_id: str) -> str:
    """Small multiples, one per group: force over the stride (BW) at one speed, the mean over
    subjects (thick), mean +- 1 SD (band) and each subject (thin)."""
    by_group = dc.curves.get(speed, {})
    groups = [g for g in _DRAWN if g in by_group]
    cols = 5
    cw, ch, mx, my = 170.0, 110.0, 34.0, 46.0
    n_rows = max(1, (len(groups) + cols - 1) // cols)
    w = cols * (cw + mx) + 10
    h = 44 + n_rows * (ch + my) + 16
    n_sub = len({s for g in groups for s in by_group[g]})
    title = (
        f"Force of each muscle group over the stride at {_speed_text(speed)}: mean of {n_sub} subjects "
        "(thick), +-1 SD (band), each subject (thin); body weights, reference-side muscles"
    )
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="14" font-size="12" font-weight="bold">{esc(title)}</text>')
    pct = dc.cycle_pct
    toe = dc.toe_off_pct.get(speed)
    for k, g in enumerate(groups):
        r, c = divmod(k, cols)
        x0 = mx + c * (cw + mx)
        y0 = 40 + r * (ch + my)
        subjects = by_group[g]
        mean, sd, lo, hi = _spread(list(subjects.values()))
        top = max(float(hi.max()), float((mean + sd).max()), 1e-6)
        ticks = nice_ticks(0.0, top, 4)
        ymax = max(ticks[-1], top)
        _frame(out, x0, y0, cw, ch, ticks, ymax)

        def xy(vals, x0=x0, y0=y0, ymax=ymax):
            return [
                (x0 + cw * p / 100.0, y0 + ch - ch * max(0.0, v) / ymax)
                for p, v in zip(pct, vals, strict=True)
            ]

        colour = GROUP_COLOURS.get(g, "#888")
        out.append(f'<g class="chart dataset-curve" data-group="{g}" data-subjects="{len(subjects)}">')
        band = xy(mean + sd) + xy(mean - sd)[::-1]
        out.append(
            f'<path class="band" d="{_path(band)} Z" fill="{colour}" fill-opacity="0.22" stroke="none"/>'
        )
        for subject, cur in subjects.items():
            tip = f"{_label(g)}, subject {subject} at {_speed_text(speed)}: peak {cur.max():.2f} BW"
            out.append(
                f'<path class="subject" d="{_path(xy(cur))}" fill="none" stroke="{colour}" '
                f'stroke-width="0.6" stroke-opacity="0.6" data-subject="{esc(subject)}">'
                f"<title>{esc(tip)}</title></path>"
            )
        out.append(
            f'<path class="curve" d="{_path(xy(mean))}" fill="none" stroke="{colour}" stroke-width="2" '
            f'data-mean-bw="{",".join(f"{v:.5g}" for v in mean)}" '
            f'data-sd-bw="{",".join(f"{v:.5g}" for v in sd)}"/>'
        )
        if toe is not None:
            xt = x0 + cw * toe / 100.0
            out.append(
                f'<line x1="{fmt(xt)}" x2="{fmt(xt)}" y1="{fmt(y0)}" y2="{fmt(y0 + ch)}" stroke="#222"/>'
            )
        out.append(
            f'<text x="{fmt(x0)}" y="{fmt(y0 - 5)}" font-size="10" font-weight="bold">{esc(_label(g))} '
            f'<tspan font-weight="normal" fill="#555">(n = {len(subjects)})</tspan></text>'
        )
        for t in (0, 50, 100):
            out.append(
                f'<text x="{fmt(x0 + cw * t / 100)}" y="{fmt(y0 + ch + 11)}" text-anchor="middle" '
                f'font-size="8">{t} %</text>'
            )
        out.append("</g>")
    out.append(
        f'<text x="4" y="{fmt(h - 6)}" font-size="9" fill="#444">Vertical line: mean toe-off. Force: the '
        "sum of the group's tendon forces on the reference side / body weight, each subject's mean over "
        "strides and trials.</text>"
    )
    out.append("</svg>")
    return "".join(out)


def shares_svg(across, *, figure_id: str = "dataset_shares") -> str:
    """Each group's share of the muscle force impulse (both sides, whole stride) against speed:
    the mean over subjects with +-1 SD bars (``across``: the dataset summary across subjects)."""
    sel = across[(across["side"] == "both") & (across["phase"] == "stride")]
    sel = sel[sel["speed_m_s"].notna()]
    xs = sorted({float(v) for v in sel["speed_m_s"]})
    groups = [g for g in _DRAWN if g in set(sel["group"])]
    w, h = 640.0, 330.0
    x0, y0, pw, ph = 50.0, 34.0, 400.0, 250.0
    title = "Share of the muscle force impulse by group against speed: mean over subjects, +-1 SD"
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="14" font-size="12" font-weight="bold">{esc(title)}</text>')
    if not xs:
        out.append('<text x="10" y="60" font-size="11">No trial with a known speed.</text></svg>')
        return "".join(out)
    hi_vals = [
        float(m + (s if s == s else 0.0))
        for m, s in zip(sel["share_of_impulse"], sel["share_of_impulse_sd"], strict=True)
        if m == m
    ]
    top = max(hi_vals + [1e-6])
    ticks = nice_ticks(0.0, top, 5)
    ymax = max(ticks[-1], top)
    _frame(out, x0, y0, pw, ph, ticks, ymax, fmt_y=lambda v: f"{100 * v:.0f} %")
    lo_x, hi_x = min(xs), max(xs)
    span = (hi_x - lo_x) or 1.0
    dx = 3.0  # groups side by side at one speed, so that their bars do not hide each other

    def px(x: float, k: int) -> float:
        return x0 + 16 + (pw - 32) * (x - lo_x) / span + (k - (len(groups) - 1) / 2) * dx

    def py(v: float) -> float:
        return y0 + ph - ph * v / ymax

    for x in xs:
        out.append(
            f'<text x="{fmt(px(x, (len(groups) - 1) / 2))}" y="{fmt(y0 + ph + 13)}" text-anchor="middle" '
            f'font-size="9">{x:g}</text>'
        )
    out.append(
        f'<text x="{fmt(x0 + pw / 2)}" y="{fmt(y0 + ph + 28)}" text-anchor="middle" font-size="10">speed '
        "(m/s)</text>"
    )
    out.append('<g class="chart dataset-shares">')
    for k, g in enumerate(groups):
        colour = GROUP_COLOURS.get(g, "#888")
        rows = sel[sel["group"] == g].sort_values("speed_m_s")
        pts = []
        for _, r in rows.iterrows():
            m, s, n = float(r["share_of_impulse"]), float(r["share_of_impulse_sd"]), int(r["n_subjects"])
            if m != m:
                continue
            s = 0.0 if s != s else s
            x = px(float(r["speed_m_s"]), k)
            pts.append((x, py(m)))
            tip = (
                f"{_label(g)} at {r['speed_m_s']:g} m/s: {100 * m:.1f} % +- {100 * s:.1f} % "
                f"(n = {n} subjects)"
            )
            out.append(
                f'<line x1="{fmt(x)}" x2="{fmt(x)}" y1="{fmt(py(m + s))}" y2="{fmt(py(max(0.0, m - s)))}" '
                f'stroke="{colour}" stroke-width="1"/>'
                f'<circle cx="{fmt(x)}" cy="{fmt(py(m))}" r="2.6" fill="{colour}" data-group="{g}" '
                f'data-value="{m:.6g}" data-sd="{s:.6g}"><title>{esc(tip)}</title></circle>'
            )
        if len(pts) > 1:
            out.append(f'<path d="{_path(pts)}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
    out.append("</g>")
    for k, g in enumerate(groups):
        ly = y0 + 6 + k * 15
        out.append(
            f'<rect x="{fmt(x0 + pw + 14)}" y="{fmt(ly - 8)}" width="10" height="3" '
            f'fill="{GROUP_COLOURS.get(g, "#888")}"/>'
            f'<text x="{fmt(x0 + pw + 28)}" y="{fmt(ly)}" font-size="9.5">{esc(_label(g))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _pct(v) -> str:
    return "" if v is None or v != v else f"{100 * float(v):.1f}"


def _num(v, nd: int = 3) -> str:
    return "" if v is None or v != v else f"{float(v):.{nd}f}"


def _shares_table(across) -> str:
    sel = across[(across["side"] == "both") & (across["phase"] == "stride")]
    speeds = sorted({None if v != v else float(v) for v in sel["speed_m_s"]}, key=_speed_key)
    groups = [g for g in _DRAWN if g in set(sel["group"])]
    head = "".join(f'<th class="n">{esc(_speed_text(v))}</th>' for v in speeds)
    # each (group, speed)'s first row, looked up once rather than by a mask per table cell
    first: dict[tuple, dict] = {}
    for r in sel.to_dict("records"):
        v = r["speed_m_s"]
        first.setdefault((r["group"], None if v != v else float(v)), r)
    body = []
    for g in groups:
        cells = []
        for v in speeds:
            r = first.get((g, v))
            if r is None:
                cells.append('<td class="n"></td>')
                continue
            sd = (
                ""
                if r["share_of_impulse_sd"] != r["share_of_impulse_sd"]
                else f" &plusmn; {_pct(r['share_of_impulse_sd'])}"
            )
            cells.append(
                f'<td class="n">{_pct(r["share_of_impulse"])}{sd} '
                f'<span class="note">(n={int(r["n_subjects"])})</span></td>'
            )
        body.append(f"<tr><th>{esc(_label(g))}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>group (% of impulse)</th>{head}</tr>{''.join(body)}</table>"


def _subjects_table(per_subject) -> str:
    sel = per_subject[(per_subject["side"] == "both") & (per_subject["phase"] == "stride")]
    sel = sel[sel["group"].isin(_DRAWN)]
    rows = []
    order = {g: k for k, g in enumerate(_DRAWN)}
    sel = sel.assign(_order=sel["group"].map(order)).sort_values(["subject", "speed_m_s", "_order"])
    for _, r in sel.iterrows():
        speed = None if r["speed_m_s"] != r["speed_m_s"] else float(r["speed_m_s"])
        rows.append(
            f'<tr><td>{esc(r["subject"])}</td><td class="n">{esc(_speed_text(speed))}</td>'
            f'<td>{esc(_label(r["group"]))}</td><td class="n">{_pct(r["share_of_impulse"])}</td>'
            f'<td class="n">{_pct(r["share_of_positive_work"])}</td>'
            f'<td class="n">{_num(r["impulse_bw_s"])}</td>'
            f'<td class="n">{_num(r["positive_work_j_per_kg"])}</td>'
            f'<td class="n">{int(r["n_strides"])}</td></tr>'
        )
    head = (
        '<tr><th>subject</th><th class="n">speed</th><th>group</th><th class="n">share of impulse (%)</th>'
        '<th class="n">share of positive work (%)</th><th class="n">impulse (BW s per stride)</th>'
        '<th class="n">positive work (J/kg per stride)</th><th class="n">strides</th></tr>'
    )
    return f'<div class="scroll"><table class="subjects">{head}{"".join(rows)}</table></div>'


def _failed_table(rows: list[dict]) -> str:
    failed = [r for r in rows if r.get("status") != "ok"]
    if not failed:
        return '<p class="ok">Every trial succeeded.</p>'
    body = "".join(
        f"<tr><td>{esc(r.get('trial_id', ''))}</td><td>{esc(r.get('subject', ''))}</td>"
        f"<td>{esc(r.get('error_kind') or '')}</td><td>{esc(r.get('error') or '')}</td>"
        f"<td><code>{esc(r.get('source') or '')}</code></td></tr>"
        for r in failed
    )
    return (
        f'<p class="bad">{len(failed)} of {len(rows)} trials failed.</p>'
        '<div class="scroll"><table class="failed">'
        "<tr><th>trial</th><th>subject</th><th>kind</th><th>reason</th><th>input</th></tr>"
        f"{body}</table></div>"
    )


def dataset_report_html(
    out: str | Path, *, curves: dict[str, dict] | None = None, summaries=None, rows: list[dict] | None = None
) -> str:
    """The dataset report of the batch folder ``out`` as one HTML page.

    ``curves``: :func:`trial_curves` already computed, by trial ID; ``summaries``:
    :func:`runmuscles.batch.run.dataset_summary` already computed; ``rows``: the rows of
    ``manifest.parquet`` as just written (a batch passes all three).
    """
    from ..batch.run import dataset_summary  # noqa: PLC0415

    out = Path(out)
    rows = _manifest_rows(out) if rows is None else rows
    per_subject, across = dataset_summary(out) if summaries is None else summaries
    ok = [r for r in rows if r.get("status") == "ok"]
    subjects = sorted({r["subject"] for r in ok})
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>runmuscles dataset report: {esc(out.name)}</title>",
        f"<style>{PAGE_CSS}</style></head><body>",
        f'<header><h1>Dataset report: {esc(out.name)}</h1><div class="meta">{len(rows)} trials, '
        f"{len(ok)} analysed, {len(rows) - len(ok)} failed; {len(subjects)} subjects; runmuscles "
        f"{esc(__version__)}; written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}</div></header>",
        '<nav><a href="#shares">shares</a><a href="#curves">curves</a><a href="#subjects">subjects</a>'
        '<a href="#failed">failed trials</a></nav><main>',
    ]
    if across is None:
        parts.append(
            '<section id="shares"><h2>Group shares across subjects</h2><p>No trial succeeded: nothing '
            "to summarise.</p></section>"
        )
    else:
        parts.append(
            '<section id="shares"><h2>Group shares across subjects</h2><p class="note">Each group\'s '
            "share of the summed muscle force impulse over the stride (both legs): each subject's mean "
            "over its strides at a speed, then the mean over subjects &plusmn; one standard deviation "
            "(sample; none for one subject). From <code>summary_dataset.csv</code>.</p>"
            f"{shares_svg(across)}{_shares_table(across)}</section>"
        )
    dc = dataset_curves(out, rows, curves)
    parts.append('<section id="curves"><h2>Group force curves across subjects</h2>')
    if not dc.curves:
        parts.append("<p>No successful trial to draw.</p>")
    for k, speed in enumerate(sorted(dc.curves, key=_speed_key)):
        parts.append(
            f"<h3>{esc(_speed_text(speed))}</h3>{curves_svg(dc, speed, figure_id=f'dataset_curves_{k}')}"
        )
    if dc.problems:
        parts.append('<p class="bad">Results not readable: ' + esc("; ".join(dc.problems)) + "</p>")
    parts.append("</section>")
    parts.append(
        '<section id="subjects"><h2>Subject x speed x group</h2><p class="note">Means over each '
        "subject's strides at each speed (both legs, whole stride); all sides and phases are in "
        "<code>summary_subjects.csv</code>.</p>"
    )
    parts.append(_subjects_table(per_subject) if per_subject is not None else "<p>No trial succeeded.</p>")
    parts.append("</section>")
    parts.append(f'<section id="failed"><h2>Failed trials</h2>{_failed_table(rows)}</section>')
    parts.append("</main></body></html>\n")
    return "".join(parts)


def write_dataset_report(
    out: str | Path, *, curves: dict[str, dict] | None = None, summaries=None, rows: list[dict] | None = None
) -> Path:
    """Write :func:`dataset_report_html` as ``dataset_report.html`` in the batch folder (atomically)."""
    out = Path(out)
    target = out / DATASET_REPORT
    tmp = out / f".{DATASET_REPORT}.tmp{os.getpid()}"
    html_text = dataset_report_html(out, curves=curves, summaries=summaries, rows=rows)
    tmp.write_text(html_text, encoding="utf-8")
    os.replace(tmp, target)
    return target
