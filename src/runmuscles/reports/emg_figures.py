"""The report's EMG section: each channel's envelope over its muscles' activation.

Built only from ``summary.json``'s ``emg`` block (written by
:func:`runmuscles.analyses.emg.compare_emg`): the mean curves over strides at 0-100 % of
the channel side's gait cycle, Pearson's r and the onset/offset differences. Drawn values
are ``data-*`` attributes so that a test can check the page against the summary.
"""

from __future__ import annotations

from .svg import esc, fmt, nice_ticks, svg_open

__all__ = ["emg_channel_svg", "emg_html"]

_EMG_FILL = "#bcd3e8"
_EMG_LINE = "#3b6fa0"
_ACT_LINE = "#c0392b"


def _pct_text(v: float | None, unit: str = "%") -> str:
    return "-" if v is None else f"{v:+.0f} {unit}"


def emg_channel_svg(entry: dict, *, figure_id: str) -> str:
    """One channel: its normalised envelope (filled) and the activation (line) over the cycle."""
    w, h = 300.0, 190.0
    x0, y0, pw, ph = 34.0, 34.0, 250.0, 120.0
    title = f"{entry['channel']} vs {'+'.join(entry['muscles'])}"
    out = [svg_open(w, h, figure_id=figure_id, title=title, cls="fig emg-fig")]
    r = entry.get("r")
    head = f"{entry['channel']} ({entry['side']}): r = {r:.2f}" if r is not None else f"{entry['channel']}"
    out.append(f'<text x="4" y="13" font-size="11" font-weight="bold">{esc(head)}</text>')
    muscles = ", ".join(entry["muscles"])
    out.append(f'<text x="4" y="26" font-size="8.5" fill="#555">{esc(muscles)}</text>')
    e, a = entry.get("emg_curve"), entry.get("activation_curve")
    if not e or not a:
        out.append(
            f'<text x="{fmt(x0)}" y="{fmt(y0 + 20)}" font-size="9">{esc(entry.get("note", ""))}</text>'
        )
        out.append("</svg>")
        return "".join(out)
    top = max(max(e), max(a), 1e-6)
    ticks = nice_ticks(0.0, top, 4)
    ymax = max(ticks[-1], top)
    for t in ticks:
        y = y0 + ph - ph * t / ymax
        out.append(
            f'<line x1="{fmt(x0)}" x2="{fmt(x0 + pw)}" y1="{fmt(y)}" y2="{fmt(y)}" stroke="#ddd" '
            f'stroke-width="0.6"/><text x="{fmt(x0 - 3)}" y="{fmt(y + 3)}" text-anchor="end" '
            f'font-size="8">{fmt(t, 2)}</text>'
        )
    n = len(e)

    def pt(k: int, v: float) -> str:
        return f"{fmt(x0 + pw * k / (n - 1))} {fmt(y0 + ph - ph * v / ymax)}"

    area = f"M{fmt(x0)} {fmt(y0 + ph)} L" + " L".join(pt(k, v) for k, v in enumerate(e))
    area += f" L{fmt(x0 + pw)} {fmt(y0 + ph)} Z"
    out.append(
        f'<path d="{area}" fill="{_EMG_FILL}" stroke="{_EMG_LINE}" stroke-width="0.8" class="emg-envelope" '
        f'data-channel="{esc(entry["channel"])}" data-peak="{max(e):.5g}"/>'
    )
    out.append(
        f'<path d="M{" L".join(pt(k, v) for k, v in enumerate(a))}" fill="none" stroke="{_ACT_LINE}" '
        f'stroke-width="1.5" class="emg-activation" data-peak="{max(a):.5g}"/>'
    )
    for key, colour in (("emg", _EMG_LINE), ("activation", _ACT_LINE)):
        for edge in ("onset", "offset"):
            v = entry.get(f"{key}_{edge}_pct")
            if v is None:
                continue
            x = x0 + pw * v / 100.0
            out.append(
                f'<line x1="{fmt(x)}" x2="{fmt(x)}" y1="{fmt(y0)}" y2="{fmt(y0 + ph)}" stroke="{colour}" '
                f'stroke-dasharray="2 2" stroke-width="0.8" class="emg-edge" data-what="{key}-{edge}" '
                f'data-pct="{v:g}"/>'
            )
    out.append(
        f'<rect x="{fmt(x0)}" y="{fmt(y0)}" width="{fmt(pw)}" height="{fmt(ph)}" fill="none" stroke="#888"/>'
    )
    for p in (0, 25, 50, 75, 100):
        out.append(
            f'<text x="{fmt(x0 + pw * p / 100)}" y="{fmt(y0 + ph + 11)}" text-anchor="middle" '
            f'font-size="8">{p}</text>'
        )
    out.append(
        f'<text x="{fmt(x0 + pw / 2)}" y="{fmt(y0 + ph + 22)}" text-anchor="middle" font-size="8.5">% of '
        f"{esc(entry['side'])} gait cycle; onset {_pct_text(entry.get('onset_difference_pct'))}, offset "
        f"{_pct_text(entry.get('offset_difference_pct'))} (model - EMG)</text>"
    )
    out.append("</svg>")
    return "".join(out)


def emg_html(summary: dict, *, prefix: str) -> str:
    """The EMG section's body: settings, a table of r and timing differences, one plot per channel."""
    emg = summary.get("emg")
    if not emg:
        return ""
    chans = emg.get("channels", [])
    med = emg.get("median_r")
    rows = ["<tr><th>channel</th><th>muscles</th><th>strides</th><th>r</th><th>onset diff.</th>"
            "<th>offset diff.</th></tr>"]  # fmt: skip
    for c in chans:
        rows.append(
            f"<tr><td>{esc(c['channel'])}</td><td>{esc(', '.join(c['muscles']))}</td>"
            f"<td>{c['n_strides']}</td>"
            f"<td>{'-' if c.get('r') is None else format(c['r'], '.2f')}</td>"
            f"<td>{_pct_text(c.get('onset_difference_pct'))}</td>"
            f"<td>{_pct_text(c.get('offset_difference_pct'))}</td></tr>"
        )
    ignored = emg.get("ignored_channels") or []
    figs = "".join(
        f"<div>{emg_channel_svg(c, figure_id=f'{prefix}-emg-{k}')}</div>" for k, c in enumerate(chans)
    )
    return (
        f'<p class="note">{esc(emg["source"])}: {esc(emg["kind"])} ({esc(emg["kind_basis"])}); '
        f"{esc(emg['processing'])}. Normalisation: {esc(emg['normalisation'])}. EMG shifted "
        f"{1000 * emg['delay_s']:.0f} ms later (electromechanical delay). {esc(emg['onset_rule'])}."
        + (f" Ignored: {esc(', '.join(ignored))}." if ignored else "")
        + "</p>"
        + (f"<p>Median r over {len(chans)} channels: <b>{med:.2f}</b></p>" if med is not None else "")
        + '<div class="scroll"><table>'
        + "".join(rows)
        + "</table></div>"
        + f'<div class="row emg-row">{figs}</div>'
        + '<p class="note">Filled: EMG envelope (mean over strides, normalised); line: model activation '
        "(mean of the mapped muscles); dashed: onsets and offsets.</p>"
    )
