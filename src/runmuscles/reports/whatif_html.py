"""Report sections for what-ifs and claims: self-contained HTML pages with inline SVG.

Built only from the JSON that ``runmuscles whatif`` and ``runmuscles claims`` write
(``whatif.json``, ``claims.json``); every number shown is one of theirs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .. import __version__
from ..analyses.groups import GROUP_LABELS
from .svg import esc, fmt, svg_open

__all__ = ["change_bars_svg", "claims_html", "whatif_html", "write_claims_report", "write_whatif_report"]

_QUANTITIES = {
    "impulse_bw_s_per_stride": "impulse per stride",
    "positive_work_j_per_kg_per_stride": "positive work per stride",
    "negative_work_j_per_kg_per_stride": "negative work per stride (magnitude)",
}


def change_bars_svg(values: dict[str, float], *, title: str, unit: str = "%", figure_id: str) -> str:
    """Horizontal bars around zero, one per label (diverging: rise right, fall left)."""
    items = [(k, float(v)) for k, v in values.items() if v is not None]
    row_h, label_w, plot_w = 20.0, 190.0, 320.0
    height = 34.0 + row_h * max(1, len(items)) + 18.0
    width = label_w + plot_w + 70.0
    span = max([abs(v) for _, v in items] + [1e-9])
    x0 = label_w + plot_w / 2.0
    out = [svg_open(width, height, figure_id=figure_id, title=title)]
    out.append(f'<text x="4" y="16" font-size="13" font-weight="600">{esc(title)}</text>')
    out.append(
        f'<line x1="{fmt(x0)}" y1="26" x2="{fmt(x0)}" y2="{fmt(height - 14)}" '
        'stroke="#999" stroke-width="1"/>'
    )
    for k, (label, v) in enumerate(items):
        y = 30.0 + k * row_h
        w = (plot_w / 2.0 - 4.0) * abs(v) / span
        x = x0 if v >= 0 else x0 - w
        colour = "#b8336a" if v >= 0 else "#2b6cb0"
        tip = f"{label}: {v:+.1f} {unit}"
        out.append(
            f'<text x="{fmt(label_w - 6)}" y="{fmt(y + 13)}" font-size="12" '
            f'text-anchor="end">{esc(label)}</text>'
            f'<rect x="{fmt(x)}" y="{fmt(y + 3)}" width="{fmt(max(w, 0.5))}" height="{fmt(row_h - 6)}" '
            f'fill="{colour}" data-tip="{esc(tip)}"><title>{esc(tip)}</title></rect>'
            f'<text x="{fmt(x0 + plot_w / 2.0 + 6)}" y="{fmt(y + 13)}" '
            f'font-size="11">{v:+.1f} {esc(unit)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _page(title: str, body: str) -> str:
    from .html import _CSS  # noqa: PLC0415 - one stylesheet for every page of the project

    meta = f"runmuscles {esc(__version__)} &middot; built {time.strftime('%Y-%m-%d %H:%M')}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><div class=meta>{meta}</div></header><main>{body}</main></body></html>"
    )


def whatif_html(payload: dict[str, Any]) -> str:
    """The what-if section: per-group change of each load quantity, notes and quality."""
    cond = payload.get("condition") or {}
    cond_text = ", ".join(f"{k} = {v}" for k, v in cond.items()) or "no change"
    change = payload["change"]
    figs = []
    for q, label in _QUANTITIES.items():
        vals = {}
        for g, row in change.items():
            if g == "other":
                continue
            v = row.get(f"change_pct_{q}")
            if v is None:
                continue
            vals[GROUP_LABELS.get(g, g)] = -v if q.startswith("negative") else v
        figs.append(f"<div>{change_bars_svg(vals, title=f'Change of {label}', figure_id=f'wi-{q}')}</div>")
    rows = "".join(
        f"<tr><td>{esc(GROUP_LABELS.get(g, g))}</td>"
        + "".join(
            f'<td class="n">{row[f"baseline_{q}"]:.3f}</td><td class="n">{row[q]:.3f}</td>'
            for q in _QUANTITIES
        )
        + "</tr>"
        for g, row in change.items()
    )
    head = "".join(
        f'<th class="n">{esc(lab)} baseline</th><th class="n">what-if</th>' for lab in _QUANTITIES.values()
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in payload.get("whatif", {}).get("notes", []))
    quality = payload.get("whatif", {}).get("quality", {})
    units = "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>" for k, v in payload.get("units", {}).items())
    body = (
        f'<section id="whatif"><h2>What if: {esc(cond_text)}</h2>'
        f"<p>Runner: {esc(payload.get('runner', ''))}; baseline: the trial at "
        f"{payload.get('baseline_speed_m_s')} m/s. Negative work is shown as a magnitude (a rise "
        f'means more eccentric work).</p><div class="row">{"".join(figs)}</div>'
        f'<div class="scroll"><table><tr><th>group</th>{head}</tr>{rows}</table></div>'
        f'<h3>How it was computed</h3><ul class="note">{notes}</ul>'
        f'<h3>Quality of the recomputed trial</h3><p class="note">{esc(json.dumps(quality))}</p>'
        f'<h3>Units</h3><ul class="note">{units}</ul></section>'
    )
    return _page(f"What if: {cond_text}", body)


def _numeric_leaves(ev: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(ev, dict):
        for k, v in ev.items():
            out.update(_numeric_leaves(v, f"{prefix}{k} / "))
    elif isinstance(ev, (int, float)) and not isinstance(ev, bool):
        out[prefix.rstrip(" /")] = float(ev)
    return out


def claims_html(claims: list[dict[str, Any]]) -> str:
    """The claims section: each claim, its verdict, the rule, the evidence and a figure."""
    parts = []
    for c in claims:
        nums = _numeric_leaves(c["evidence"])
        fig = ""
        if nums:
            shown = dict(list(nums.items())[:12])
            fig = change_bars_svg(
                shown, title="Evidence (as computed)", unit="", figure_id=f"claim-{c['id']}"
            )
        colour = {"supported": "ok", "not supported": "bad"}.get(c["verdict"], "")
        caveats = "".join(f"<li>{esc(x)}</li>" for x in c.get("caveats", []))
        parts.append(
            f'<section id="claim-{esc(c["id"])}"><h2>({esc(c["id"])}) {esc(c["claim"])}</h2>'
            f'<p>Verdict: <span class="{colour}">{esc(c["verdict"])}</span></p>'
            f'<p class="note">Rule: {esc(c["rule"])}</p><div class="row"><div>{fig}</div>'
            f'<div class="side"><pre class="note">{esc(json.dumps(c["evidence"], indent=1, default=float))}'
            f'</pre></div></div><h3>Caveats</h3><ul class="note">{caveats}</ul></section>'
        )
    return _page("Popular claims about the muscles of running, tested with the engine", "".join(parts))


def write_whatif_report(out_dir: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``whatif.html`` into ``out_dir``."""
    out = Path(out_dir) / "whatif.html"
    out.write_text(whatif_html(payload), encoding="utf-8")
    return out


def write_claims_report(out_dir: str | Path, claims: list[dict[str, Any]]) -> Path:
    """Write ``claims.html`` into ``out_dir``."""
    out = Path(out_dir) / "claims.html"
    out.write_text(claims_html(claims), encoding="utf-8")
    return out
