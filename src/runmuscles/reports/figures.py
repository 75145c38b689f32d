"""The report's charts as standalone SVG: stride heatmap, group curves, phase shares, speeds.

Each function takes result tables (:class:`~runmuscles.reports.resultset.ResultSet`) and
returns one ``<svg>`` element that works inline in the HTML report and as a file on its
own. Drawn values are written as ``data-*`` attributes so that what the page shows can be
checked against the tables.
"""

from __future__ import annotations

import json

import numpy as np

from ..analyses.groups import GROUP_LABELS, muscle_side
from .resultset import PHASE_LABELS, PHASES, ResultSet
from .svg import GROUP_COLOURS, GROUP_ORDER, PHASE_FILL, esc, fmt, nice_ticks, ramp, ramp_stops, svg_open

__all__ = ["heatmap_svg", "group_curves_svg", "phase_shares_svg", "speed_svgs", "heatmap_order"]

_LEVELS = 40  # colour levels of the heatmap (runs of equal level are drawn as one rectangle)


def heatmap_order(rs: ResultSet, side: str) -> list[tuple[str, str]]:
    """(group, muscle) rows of one side's heatmap panel, grouped in display order."""
    groups = rs.summary["groups"]
    rows: list[tuple[str, str]] = []
    placed: set[str] = set()
    for g in GROUP_ORDER:
        for m in groups.get(g, {}).get("muscles", []):
            s = muscle_side(m) or "right"
            if s == side and m not in placed:
                rows.append((g, m))
                placed.add(m)
    return rows


def _phase_bounds(ev: dict) -> tuple[list[float], list[str]]:
    """Phase borders (% of the cycle, 0 and 100 included) and phase keys between them.

    Stance is one phase (``"stance"``) when the end of braking is unknown; with no toe-off
    the whole cycle is one unnamed band (``""``).
    """
    if ev["toe_off"] is None:
        return [0.0, 100.0], [""]
    bounds, names = [0.0], []
    if ev["braking_end"] is not None:
        bounds.append(ev["braking_end"])
        names += ["braking", "propulsion"]
    else:
        names.append("stance")
    bounds += [ev["toe_off"], ev["mid_swing"], 100.0]
    names += ["early_swing", "late_swing"]
    return bounds, names


def _phase_marks(rs: ResultSet, x0: float, w: float, y0: float, h: float, *, labels: bool) -> list[str]:
    """Phase bands' borders (vertical lines) and names over a 0-100 % axis."""
    ev = rs.event_pct()
    out = []
    bounds, names = _phase_bounds(ev)
    names = [n.replace("_", " ") for n in names]
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        xa, xb = x0 + w * a / 100, x0 + w * b / 100
        if labels:
            out.append(
                f'<text x="{fmt(0.5 * (xa + xb))}" y="{fmt(y0 - 4)}" text-anchor="middle" font-size="10" '
                f'fill="#333">{esc(names[k])}</text>'
            )
        if k > 0:
            strong = abs(a - (ev["toe_off"] or -1)) < 1e-9
            out.append(
                f'<line class="event" data-event-pct="{a:.4f}" x1="{fmt(xa)}" x2="{fmt(xa)}" y1="{fmt(y0)}" '
                f'y2="{fmt(y0 + h)}" stroke="{"#111" if strong else "#444"}" '
                f'stroke-width="{1.6 if strong else 0.8}" stroke-dasharray="{"" if strong else "3 2"}"/>'
            )
    return out


def heatmap_svg(rs: ResultSet, *, figure_id: str = "heatmap") -> str:
    """Activation of every muscle over the gait cycle (mean over strides), right and left panels.

    Rows are muscles grouped by muscle group; columns 0-100 % of each side's own foot's
    cycle (``normalized.csv``); the foot strike is at 0 and 100 %, toe-off is the solid
    line, the end of braking and mid-swing the dashed ones (their mean timing over the
    reference foot's strides).
    """
    pct = rs.cycle_pct
    panels = [(side, heatmap_order(rs, side)) for side in ("right", "left")]
    n_rows = max(len(r) for _, r in panels) or 1
    row_h = 8.0
    label_w, group_w, plot_w, gap = 78.0, 16.0, 300.0, 30.0
    top, bottom = 46.0, 58.0
    panel_w = group_w + label_w + plot_w
    w = 2 * panel_w + gap + 20
    h = top + n_rows * row_h + bottom
    n = len(rs.strides)
    title = (
        f"Activation over the gait cycle (mean of {n} stride{'s' if n != 1 else ''}; "
        "each side's own foot strike at 0 %)"
    )
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="14" font-size="13" font-weight="bold">{esc(title)}</text>')
    col_w = plot_w / (pct.size - 1)
    values_js: dict[str, dict] = {}
    for k, (side, rows) in enumerate(panels):
        px = k * (panel_w + gap) + group_w + label_w
        out.append(
            f'<text x="{fmt(px + plot_w / 2)}" y="{fmt(top - 20)}" text-anchor="middle" font-size="11" '
            f'font-weight="bold">{side} side muscles</text>'
        )
        out.append(
            f'<g class="heatmap-panel" data-side="{side}" data-x="{fmt(px)}" data-y="{fmt(top)}" '
            f'data-row-h="{fmt(row_h)}" data-col-w="{fmt(col_w, 4)}">'
        )
        cols = [rs.muscle_names.index(m) for _, m in rows]
        vals = rs.activation_norm[:, cols] if cols else np.zeros((pct.size, 0))
        values_js[side] = {"muscles": [m for _, m in rows], "a": np.round(vals.T, 4).tolist()}
        for r, (_, m) in enumerate(rows):
            y = top + r * row_h
            lev = np.clip(np.rint(vals[:, r] * _LEVELS), 0, _LEVELS).astype(int)
            # cell i covers [pct_i - half, pct_i + half] clipped to the axis
            start = 0
            for i in range(1, pct.size + 1):
                if i == pct.size or lev[i] != lev[start]:
                    xa = px + max(0.0, (start - 0.5) * col_w)
                    xb = px + min(plot_w, (i - 0.5) * col_w)
                    out.append(
                        f'<rect x="{fmt(xa, 2)}" y="{fmt(y, 2)}" width="{fmt(xb - xa, 2)}" '
                        f'height="{fmt(row_h, 2)}" '
                        f'fill="{ramp(lev[start] / _LEVELS)}"/>'
                    )
                    start = i
            out.append(
                f'<text x="{fmt(px - 3)}" y="{fmt(y + row_h - 1.2)}" text-anchor="end" '
                f'font-size="7">{esc(m)}</text>'
            )
        # group brackets
        r = 0
        while r < len(rows):
            g = rows[r][0]
            r2 = r
            while r2 < len(rows) and rows[r2][0] == g:
                r2 += 1
            ya, yb = top + r * row_h, top + r2 * row_h
            gx = px - label_w - 2
            out.append(
                f'<rect x="{fmt(gx - 10)}" y="{fmt(ya + 0.5)}" width="5" height="{fmt(yb - ya - 1)}" '
                f'fill="{GROUP_COLOURS[g]}"><title>{esc(GROUP_LABELS.get(g, g))}</title></rect>'
            )
            if r > 0:
                out.append(
                    f'<line x1="{fmt(px)}" x2="{fmt(px + plot_w)}" y1="{fmt(ya)}" y2="{fmt(ya)}" '
                    'stroke="#fff" stroke-width="1"/>'
                )
            r = r2
        ph = len(rows) * row_h
        out += _phase_marks(rs, px, plot_w, top, ph, labels=True)
        for t in (0, 20, 40, 60, 80, 100):
            x = px + plot_w * t / 100
            out.append(
                f'<line x1="{fmt(x)}" x2="{fmt(x)}" y1="{fmt(top + ph)}" y2="{fmt(top + ph + 4)}" '
                'stroke="#333"/>'
                f'<text x="{fmt(x)}" y="{fmt(top + ph + 14)}" text-anchor="middle" font-size="9">{t}</text>'
            )
        out.append(
            f'<text x="{fmt(px + plot_w / 2)}" y="{fmt(top + ph + 27)}" text-anchor="middle" font-size="10">'
            f"% of the {side} foot's gait cycle</text>"
        )
        out.append("</g>")
    # colour bar
    cx, cy, cw = 4.0, h - 16, 180.0
    out.append(f'<defs><linearGradient id="{figure_id}-ramp">')
    out += [f'<stop offset="{u}" stop-color="{c}"/>' for u, c in ramp_stops()]
    out.append("</linearGradient></defs>")
    out.append(
        f'<rect x="{fmt(cx + 60)}" y="{fmt(cy)}" width="{fmt(cw)}" height="8" fill="url(#{figure_id}-ramp)"/>'
        f'<text x="{fmt(cx)}" y="{fmt(cy + 8)}" font-size="9">activation</text>'
        f'<text x="{fmt(cx + 56)}" y="{fmt(cy + 8)}" text-anchor="end" font-size="9">0</text>'
        f'<text x="{fmt(cx + 64 + cw)}" y="{fmt(cy + 8)}" font-size="9">1</text>'
    )
    out.append(
        '<script type="application/json" '
        f'class="heatmap-values">{json.dumps(values_js, separators=(",", ":"))}</script>'
    )
    out.append("</svg>")
    return "".join(out)


def _frame(
    out: list[str], x0: float, y0: float, w: float, h: float, yticks: list[float], ymax: float, *, fmt_y=None
) -> None:
    fy = fmt_y or (lambda v: fmt(v, 2))
    for t in yticks:
        y = y0 + h - h * t / ymax
        out.append(
            f'<line x1="{fmt(x0)}" x2="{fmt(x0 + w)}" y1="{fmt(y)}" y2="{fmt(y)}" stroke="#ddd" '
            'stroke-width="0.6"/>'
            f'<text x="{fmt(x0 - 3)}" y="{fmt(y + 3)}" text-anchor="end" font-size="8">{fy(t)}</text>'
        )
    out.append(
        f'<rect x="{fmt(x0)}" y="{fmt(y0)}" width="{fmt(w)}" height="{fmt(h)}" fill="none" stroke="#888"/>'
    )


def group_curves_svg(rs: ResultSet, *, figure_id: str = "groupcurves") -> str:
    """Per group: summed tendon force of its muscles (body weights) over the gait cycle.

    Solid line and band: reference-side muscles, mean and range (min-max) over strides;
    dashed line: the other side's mean over its own stride (from its own foot strike, as in
    ``normalized.csv``). Phase bands in the background.
    """
    ref = rs.reference_side
    other = "left" if ref == "right" else "right"
    groups = [g for g in GROUP_ORDER if g in rs.groups]
    cols = 5
    cw, ch = 170.0, 120.0
    mx, my = 34.0, 30.0
    n_rows = (len(groups) + cols - 1) // cols
    w = cols * (cw + mx) + 10
    h = 40 + n_rows * (ch + my + 20) + 20
    title = (
        "Force of each muscle group over the gait cycle "
        f"(body weights; {ref}: mean and range of strides, {other}: dashed; each over its own stride)"
    )
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="14" font-size="13" font-weight="bold">{esc(title)}</text>')
    ev = rs.event_pct()
    pct = rs.cycle_pct
    for k, g in enumerate(groups):
        r, c = divmod(k, cols)
        x0 = mx + c * (cw + mx)
        y0 = 44 + r * (ch + my + 20)
        cur = rs.group_force_curves_bw(g, ref)
        mean, lo, hi = cur.mean(axis=0), cur.min(axis=0), cur.max(axis=0)
        # the other leg over its own stride, from its own foot strike (normalized.csv)
        idx_o = [rs.muscle_names.index(m) for m in rs.members(g, other)]
        mean_o = rs.force_norm_n[:, idx_o].sum(axis=1) / rs.body_weight_n if idx_o else np.zeros_like(mean)
        top = max(float(hi.max()), float(mean_o.max()), 1e-6)
        ticks = nice_ticks(0.0, top, 4)
        ymax = max(ticks[-1], top)
        out.append(f'<g class="chart group-curve" data-group="{g}" data-side="{ref}">')
        # phase bands
        bounds, names = _phase_bounds(ev)
        if ev["toe_off"] is not None:
            for a, b, ph in zip(bounds[:-1], bounds[1:], names, strict=True):
                out.append(
                    f'<rect x="{fmt(x0 + cw * a / 100)}" y="{fmt(y0)}" width="{fmt(cw * (b - a) / 100)}" '
                    f'height="{fmt(ch)}" fill="{PHASE_FILL.get(ph, PHASE_FILL["propulsion"])}"/>'
                )
        _frame(out, x0, y0, cw, ch, ticks, ymax)

        def xy(
            vals: np.ndarray, x0: float = x0, y0: float = y0, ymax: float = ymax
        ) -> list[tuple[float, float]]:
            return [(x0 + cw * p / 100, y0 + ch - ch * v / ymax) for p, v in zip(pct, vals, strict=True)]

        band = xy(hi) + xy(lo)[::-1]
        out.append(
            '<path class="band" d="M' + " L".join(f"{fmt(x)} {fmt(y)}" for x, y in band) + f' Z" '
            f'fill="{GROUP_COLOURS[g]}" fill-opacity="0.25" stroke="none"/>'
        )
        out.append(
            '<path class="curve" d="M'
            + " L".join(f"{fmt(x)} {fmt(y)}" for x, y in xy(mean))
            + f'" fill="none" stroke="{GROUP_COLOURS[g]}" stroke-width="1.8" '
            f'data-mean-bw="{",".join(f"{v:.5g}" for v in mean)}"/>'
        )
        if idx_o:
            out.append(
                '<path class="curve-other" d="M'
                + " L".join(f"{fmt(x)} {fmt(y)}" for x, y in xy(mean_o))
                + f'" fill="none" stroke="{GROUP_COLOURS[g]}" stroke-width="1.1" stroke-dasharray="4 2" '
                f'data-side="{other}" data-mean-bw="{",".join(f"{v:.5g}" for v in mean_o)}"/>'
            )
        if ev["toe_off"] is not None:
            xt = x0 + cw * ev["toe_off"] / 100
            out.append(
                f'<line x1="{fmt(xt)}" x2="{fmt(xt)}" y1="{fmt(y0)}" y2="{fmt(y0 + ch)}" stroke="#222"/>'
            )
        out.append(
            f'<text x="{fmt(x0)}" y="{fmt(y0 - 5)}" font-size="10" font-weight="bold">'
            f"{esc(GROUP_LABELS.get(g, g).split(' (')[0])}</text>"
        )
        for t in (0, 50, 100):
            out.append(
                f'<text x="{fmt(x0 + cw * t / 100)}" y="{fmt(y0 + ch + 11)}" text-anchor="middle" '
                f'font-size="8">{t} %</text>'
            )
        out.append("</g>")
    out.append(
        f'<text x="4" y="{fmt(h - 8)}" font-size="9" fill="#444">Solid vertical line: toe-off; shaded: '
        "braking (blue), "
        "propulsion (green), early and late swing (greys). Force: sum of the group's tendon forces / body "
        "weight.</text>"
    )
    out.append("</svg>")
    return "".join(out)


def phase_shares_svg(rs: ResultSet, *, figure_id: str = "phaseshares") -> str:
    """Stacked bars: each group's share of all muscles' force impulse, per phase and stride.

    Rectus femoris belongs to both quadriceps and hip flexors, so a bar can add to a
    little over 100 %.
    """
    groups = [g for g in GROUP_ORDER if g in rs.groups]
    bars = [*PHASES, "stride"]
    shares = {b: {g: rs.group_mean(g, "both", b, "share_of_impulse") for g in groups} for b in bars}
    tot = max(sum(v.values()) for v in shares.values())
    ymax = max(1.0, tot)
    w, h = 620.0, 330.0
    x0, y0, pw, ph = 46.0, 34.0, 380.0, 250.0
    title = "Share of all muscles' force impulse, by group and phase (both sides)"
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="14" font-size="13" font-weight="bold">{esc(title)}</text>')
    ticks = [t for t in (0, 0.2, 0.4, 0.6, 0.8, 1.0) if t <= ymax]
    _frame(out, x0, y0, pw, ph, ticks, ymax, fmt_y=lambda v: f"{100 * v:.0f} %")
    bw = pw / len(bars)
    out.append('<g class="chart phase-bars">')
    for i, b in enumerate(bars):
        bx = x0 + i * bw + 0.18 * bw
        acc = 0.0
        for g in groups:
            v = shares[b][g]
            if not v or v != v:
                continue
            ya = y0 + ph - ph * (acc + v) / ymax
            hh = ph * v / ymax
            tip = f"{GROUP_LABELS.get(g, g)}, {PHASE_LABELS.get(b, b)}: {100 * v:.1f} % of the impulse"
            out.append(
                f'<rect class="seg" x="{fmt(bx)}" y="{fmt(ya, 2)}" width="{fmt(0.64 * bw)}" '
                f'height="{fmt(hh, 2)}" '
                f'fill="{GROUP_COLOURS[g]}" stroke="#fff" stroke-width="0.5" data-group="{g}" '
                f'data-phase="{b}" '
                f'data-share="{v:.6g}" data-tip="{esc(tip)}"><title>{esc(tip)}</title></rect>'
            )
            if v >= 0.06:
                out.append(
                    f'<text x="{fmt(bx + 0.32 * bw)}" y="{fmt(ya + hh / 2 + 3)}" text-anchor="middle" '
                    'font-size="8" '
                    f'fill="#fff">{100 * v:.0f}</text>'
                )
            acc += v
        out.append(
            f'<text x="{fmt(bx + 0.32 * bw)}" y="{fmt(y0 + ph + 13)}" text-anchor="middle" font-size="10">'
            f"{esc(PHASE_LABELS.get(b, 'whole stride'))}</text>"
        )
    out.append("</g>")
    if ymax > 1.0:
        y100 = y0 + ph - ph / ymax
        out.append(
            f'<line x1="{fmt(x0)}" x2="{fmt(x0 + pw)}" y1="{fmt(y100)}" y2="{fmt(y100)}" stroke="#000" '
            'stroke-dasharray="2 2"/>'
        )
    for k, g in enumerate(groups):
        ly = y0 + 8 + k * 17
        out.append(
            f'<rect x="{fmt(x0 + pw + 16)}" y="{fmt(ly - 8)}" width="10" height="10" '
            f'fill="{GROUP_COLOURS[g]}"/>'
            f'<text x="{fmt(x0 + pw + 30)}" y="{fmt(ly)}" '
            f'font-size="10">{esc(GROUP_LABELS.get(g, g).split(" (")[0])}</text>'
        )
    out.append(
        f'<text x="4" y="{fmt(h - 6)}" font-size="9" fill="#444">Rectus femoris counts in quadriceps and '
        "hip flexors, "
        "so bars can exceed 100 % (dashed line).</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _line_chart(
    figure_id: str,
    title: str,
    y_label: str,
    xs: list[float],
    series: list[tuple[str, str, list[float], str]],
    *,
    y_fmt=None,
) -> str:
    """Lines with markers against speed; ``series`` = (key, label, values, colour)."""
    w, h = 470.0, 300.0
    x0, y0, pw, ph = 50.0, 34.0, 250.0, 220.0
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="14" font-size="12" font-weight="bold">{esc(title)}</text>')
    vals = [v for _, _, vs, _ in series for v in vs if v is not None and v == v]
    top = max(vals) if vals else 1.0
    ticks = nice_ticks(0.0, top, 5)
    ymax = max(ticks[-1], top) or 1.0
    _frame(out, x0, y0, pw, ph, ticks, ymax, fmt_y=y_fmt or (lambda v: fmt(v, 2)))
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0

    def px(x: float) -> float:
        return x0 + 12 + (pw - 24) * (x - lo) / span

    for x in xs:
        out.append(
            f'<text x="{fmt(px(x))}" y="{fmt(y0 + ph + 13)}" text-anchor="middle" font-size="9">{x:g}</text>'
        )
    out.append(
        f'<text x="{fmt(x0 + pw / 2)}" y="{fmt(y0 + ph + 28)}" text-anchor="middle" font-size="10">speed '
        "(m/s)</text>"
    )
    out.append(
        f'<text transform="translate(11 {fmt(y0 + ph / 2)}) rotate(-90)" text-anchor="middle" '
        f'font-size="10">{esc(y_label)}</text>'
    )
    out.append(f'<g class="chart speed-chart" data-figure="{esc(figure_id)}">')
    for key, label, vs, colour in series:
        pts = [
            (px(x), y0 + ph - ph * v / ymax, v)
            for x, v in zip(xs, vs, strict=True)
            if v is not None and v == v
        ]
        if not pts:
            continue
        out.append(
            '<path class="curve" d="M'
            + " L".join(f"{fmt(a)} {fmt(b)}" for a, b, _ in pts)
            + f'" fill="none" '
            f'stroke="{colour}" stroke-width="1.6" data-key="{esc(key)}"/>'
        )
        for (a, b, v), x in zip(pts, xs, strict=False):
            tip = f"{label} at {x:g} m/s: {v:.4g} {y_label}"
            out.append(
                f'<circle cx="{fmt(a)}" cy="{fmt(b)}" r="2.6" fill="{colour}" data-key="{esc(key)}" '
                f'data-value="{v:.6g}" data-tip="{esc(tip)}"><title>{esc(tip)}</title></circle>'
            )
    out.append("</g>")
    for k, (_, label, _, colour) in enumerate(series):
        ly = y0 + 6 + k * 15
        out.append(
            f'<rect x="{fmt(x0 + pw + 14)}" y="{fmt(ly - 8)}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{fmt(x0 + pw + 28)}" y="{fmt(ly)}" font-size="9.5">{esc(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def speed_svgs(runs: list[ResultSet]) -> dict[str, str]:
    """Charts against speed: group loads per stride and per kilometre, peak muscle forces."""
    runs = [r for r in runs if r.speed_m_s]
    if len(runs) < 2:
        return {}
    xs = [float(r.speed_m_s) for r in runs]
    groups = [g for g in GROUP_ORDER if g in runs[0].groups and g != "other"]

    def gval(key: str) -> list[tuple[str, str, list[float], str]]:
        return [
            (
                g,
                GROUP_LABELS[g].split(" (")[0],
                [r.groups.get(g, {}).get(key) for r in runs],
                GROUP_COLOURS[g],
            )
            for g in groups
        ]

    out = {
        "speed_impulse_per_stride": _line_chart(
            "speed_impulse_per_stride",
            "Force impulse per stride, by group",
            "BW s per stride",
            xs,
            gval("impulse_bw_s_per_stride"),
        ),
        "speed_impulse_per_km": _line_chart(
            "speed_impulse_per_km",
            "Force impulse per kilometre, by group",
            "BW s per km",
            xs,
            gval("impulse_bw_s_per_km"),
        ),
        "speed_work_per_km": _line_chart(
            "speed_work_per_km",
            "Positive work per kilometre, by group",
            "J/kg per km",
            xs,
            gval("positive_work_j_per_kg_per_km"),
        ),
    }
    # peak forces: the reference side's six muscles with the highest peak at the fastest speed
    fast = runs[-1]
    ref = fast.reference_side
    cand = [m for m in fast.muscle_names if (muscle_side(m) or ref) == ref]
    cand.sort(key=lambda m: -fast.muscle_mean(m, "peak_force_bw"))
    palette = ("#b8336a", "#2f6fb0", "#3a9a5b", "#e07a1f", "#8b5fbf", "#16a3a3")
    series = [
        (m, m, [r.muscle_mean(m, "peak_force_bw") for r in runs], palette[k]) for k, m in enumerate(cand[:6])
    ]
    out["speed_peak_force"] = _line_chart(
        "speed_peak_force", f"Peak muscle force, strongest {ref}-side muscles", "peak force (BW)", xs, series
    )
    return out
