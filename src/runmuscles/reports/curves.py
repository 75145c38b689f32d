"""Curves on one axis: several muscles (or groups) over the gait cycle, with a legend and a chooser.

One chart per level (muscles, groups) draws every series of the reference side; the reader
picks which are shown with the check boxes beside it (the report's script hides the others
and restacks the legend; without a script the default choice stays drawn). The y axis is
fixed by the largest series, so a choice never rescales the chart. A table of each series'
peak and mean is the chart's text alternative.

Series come from the result tables only (:class:`~runmuscles.reports.resultset.ResultSet`):
a muscle's mean force over strides at 0-100 % of the cycle (``normalized.csv``), a group's
summed member forces per stride (``force.sto``), both divided by body weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analyses.groups import GROUP_LABELS, muscle_side
from .figures import _frame, _phase_bounds
from .resultset import ResultSet
from .svg import GROUP_COLOURS, GROUP_ORDER, PHASE_FILL, esc, fmt, nice_ticks, svg_open

__all__ = ["CATEGORICAL", "CurveSeries", "curve_series", "curves_section_html", "curves_svg"]

#: Categorical colours safe for the common colour-vision deficiencies (Okabe M, Ito K 2008,
#: "Color Universal Design", J*Fly); beyond eight series the dash pattern changes too.
CATEGORICAL = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#f0e442")
DASHES = ("", "6 3", "2 2", "9 3 2 3")
#: Series shown before the reader chooses (the largest by mean force).
DEFAULT_SHOWN = {"muscle": 5, "group": 4}


@dataclass(frozen=True)
class CurveSeries:
    """One curve: its key (muscle or group), label and mean force over the cycle (body weights)."""

    key: str
    label: str
    force_bw: np.ndarray  # (101,) at rs.cycle_pct

    @property
    def peak_bw(self) -> float:
        return float(self.force_bw.max())

    @property
    def mean_bw(self) -> float:
        return float(self.force_bw.mean())


def curve_series(rs: ResultSet, level: str) -> list[CurveSeries]:
    """The reference side's muscles (``level="muscle"``) or groups (``"group"``), largest mean first."""
    side = rs.reference_side
    out: list[CurveSeries] = []
    if level == "muscle":
        for k, m in enumerate(rs.muscle_names):
            if muscle_side(m) in (side, ""):
                out.append(CurveSeries(m, m, rs.force_norm_n[:, k] / rs.body_weight_n))
    elif level == "group":
        for g in [g for g in GROUP_ORDER if g in rs.groups]:
            if not rs.members(g, side) or not rs.strides:
                continue
            label = GROUP_LABELS.get(g, g).split(" (")[0]
            out.append(CurveSeries(g, label, rs.group_force_curves_bw(g, side).mean(axis=0)))
    else:
        raise ValueError(f"unknown level {level!r}")
    return sorted(out, key=lambda s: -s.mean_bw)


def _style(level: str, k: int, key: str) -> tuple[str, str]:
    if level == "group" and key in GROUP_COLOURS:
        return GROUP_COLOURS[key], ""
    return CATEGORICAL[k % len(CATEGORICAL)], DASHES[(k // len(CATEGORICAL)) % len(DASHES)]


def curves_svg(rs: ResultSet, level: str, *, figure_id: str, shown: int | None = None) -> str:
    """All series of ``level`` on one axis; the first ``shown`` (default :data:`DEFAULT_SHOWN`) drawn."""
    series = curve_series(rs, level)
    n_on = DEFAULT_SHOWN[level] if shown is None else shown
    what = "muscles" if level == "muscle" else "muscle groups"
    side = rs.reference_side
    title = f"Force of the {side} side's {what} over the gait cycle (body weights, mean of strides)"
    w, h = 720.0, 330.0
    x0, y0, pw, ph = 52.0, 34.0, 450.0, 250.0
    top = max([s.peak_bw for s in series] + [1e-6])
    ticks = nice_ticks(0.0, top, 5)
    ymax = max(ticks[-1], top)
    out = [svg_open(w, h, figure_id=figure_id, title=title, cls="fig curves")]
    out.append(f'<text x="4" y="14" font-size="13" font-weight="bold">{esc(title)}</text>')
    ev = rs.event_pct()
    if ev["toe_off"] is not None:
        bounds, names = _phase_bounds(ev)
        for a, b, phase in zip(bounds[:-1], bounds[1:], names, strict=True):
            out.append(
                f'<rect x="{fmt(x0 + pw * a / 100)}" y="{fmt(y0)}" width="{fmt(pw * (b - a) / 100)}" '
                f'height="{fmt(ph)}" fill="{PHASE_FILL.get(phase, PHASE_FILL["propulsion"])}"/>'
            )
    _frame(out, x0, y0, pw, ph, ticks, ymax)
    for t in (0, 25, 50, 75, 100):
        out.append(
            f'<text x="{fmt(x0 + pw * t / 100)}" y="{fmt(y0 + ph + 13)}" text-anchor="middle" '
            f'font-size="10">{t} %</text>'
        )
    out.append(
        f'<text x="{fmt(x0 + pw / 2)}" y="{fmt(y0 + ph + 28)}" text-anchor="middle" font-size="10">'
        f"gait cycle ({side} foot strike to foot strike)</text>"
        f'<text x="12" y="{fmt(y0 + ph / 2)}" font-size="10" text-anchor="middle" '
        f'transform="rotate(-90 12 {fmt(y0 + ph / 2)})">force (body weights)</text>'
    )
    if ev["toe_off"] is not None:
        xt = x0 + pw * ev["toe_off"] / 100
        out.append(f'<line x1="{fmt(xt)}" x2="{fmt(xt)}" y1="{fmt(y0)}" y2="{fmt(y0 + ph)}" stroke="#222"/>')
    pct = rs.cycle_pct
    legend: list[str] = []
    lx, ly = x0 + pw + 18, y0 + 6
    for k, s in enumerate(series):
        colour, dash = _style(level, k, s.key)
        hidden = "" if k < n_on else ' display="none"'
        pts = " L".join(
            f"{fmt(x0 + pw * p / 100)} {fmt(y0 + ph - ph * v / ymax)}"
            for p, v in zip(pct, s.force_bw, strict=True)
        )
        at = pct[int(np.argmax(s.force_bw))]
        tip = f"{s.label}: peak {s.peak_bw:.2f} body weights at {at:.0f} % of the cycle"
        out.append(
            f'<path class="series" data-series="{esc(s.key)}" d="M{pts}" fill="none" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="{dash}" data-tip="{esc(tip)}"{hidden}>'
            f"<title>{esc(tip)}</title></path>"
        )
        row = min(k, n_on)  # the hidden ones are placed by the script once chosen
        legend.append(
            f'<g class="legend-item" data-series="{esc(s.key)}" transform="translate(0,{14 * row})"{hidden}>'
            f'<line x1="{fmt(lx)}" x2="{fmt(lx + 22)}" y1="{fmt(ly)}" y2="{fmt(ly)}" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="{dash}"/>'
            f'<text x="{fmt(lx + 27)}" y="{fmt(ly + 4)}" font-size="10.5">{esc(s.label)}</text></g>'
        )
    out += legend
    out.append("</svg>")
    return "".join(out)


def _chooser(series: list[CurveSeries], level: str, figure_id: str) -> str:
    n_on = DEFAULT_SHOWN[level]
    name = "Muscles" if level == "muscle" else "Groups"
    boxes = "".join(
        f'<label><input type="checkbox" name="{figure_id}-series" value="{esc(s.key)}"'
        f"{' checked' if k < n_on else ''}> {esc(s.label)}</label>"
        for k, s in enumerate(series)
    )
    return (
        f'<fieldset class="curve-chooser" data-target="{esc(figure_id)}"><legend>{name} shown</legend>'
        f"{boxes}</fieldset>"
    )


def _table(rs: ResultSet, series: list[CurveSeries], level: str, figure_id: str) -> str:
    what = "muscle" if level == "muscle" else "group"
    rows = "".join(
        f'<tr data-series="{esc(s.key)}"><td>{esc(s.label)}</td><td class="n">{s.peak_bw:.2f}</td>'
        f'<td class="n">{rs.cycle_pct[int(np.argmax(s.force_bw))]:.0f}</td>'
        f'<td class="n">{s.mean_bw:.3f}</td></tr>'
        for s in series
    )
    return (
        f'<details class="text-alternative" id="{esc(figure_id)}-table"><summary>The curves as a table '
        f"(peak and mean force of each {what})</summary><table><tr><th>{what}</th>"
        '<th class="n">peak (BW)</th><th class="n">at (% of cycle)</th><th class="n">mean (BW)</th></tr>'
        f"{rows}</table></details>"
    )


def _sentence(rs: ResultSet, series: list[CurveSeries], level: str) -> str:
    if not series:
        return ""
    parts = [
        f"{s.label} {s.peak_bw:.2f} body weights at {rs.cycle_pct[int(np.argmax(s.force_bw))]:.0f} %"
        for s in sorted(series, key=lambda s: -s.peak_bw)[:3]
    ]
    what = "muscles" if level == "muscle" else "groups"
    return f"Highest peaks among the {what}: " + "; ".join(parts) + " of the gait cycle."


def curves_section_html(rs: ResultSet, prefix: str) -> str:
    """Both charts (groups, then muscles), each with its chooser, a summary sentence and a table."""
    parts = []
    for level in ("group", "muscle"):
        series = curve_series(rs, level)
        if not series:
            continue
        fid = f"{prefix}-curves-{level}"
        parts.append(
            f'<div class="row curves-row" data-level="{level}"><div class="scroll">'
            f"{curves_svg(rs, level, figure_id=fid)}</div>{_chooser(series, level, fid)}</div>"
            f'<p class="note curve-summary">{esc(_sentence(rs, series, level))}</p>'
            f"{_table(rs, series, level, fid)}"
        )
    return "".join(parts)
