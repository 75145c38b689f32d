"""Small helpers for writing SVG by hand: escaping, numbers, colour ramps, palettes."""

from __future__ import annotations

import html
import math

__all__ = [
    "GROUP_COLOURS",
    "GROUP_ORDER",
    "PHASE_FILL",
    "SVG_NS",
    "esc",
    "fmt",
    "ramp",
    "nice_ticks",
    "svg_open",
]

SVG_NS = "http://www.w3.org/2000/svg"

# Display order of the muscle groups, from the hip down and the trunk last.
GROUP_ORDER = (
    "gluteals",
    "hip_flexors",
    "quadriceps",
    "hamstrings",
    "adductors",
    "calves",
    "shin",
    "long_toe_flexors",
    "core_trunk",
    "other",
)

# One categorical colour per group, chosen for this project (distinct in hue and lightness).
GROUP_COLOURS = {
    "gluteals": "#b8336a",
    "hip_flexors": "#e07a1f",
    "quadriceps": "#2f6fb0",
    "hamstrings": "#3a9a5b",
    "adductors": "#8b5fbf",
    "calves": "#c9a227",
    "shin": "#16a3a3",
    "long_toe_flexors": "#7a4a2a",
    "core_trunk": "#5c6670",
    "other": "#a9a9a9",
}

PHASE_FILL = {
    "braking": "#dce6f2",
    "propulsion": "#e4efdc",
    "early_swing": "#f4f4f4",
    "late_swing": "#ebebeb",
}

# Sequential ramp for loads: light yellow = little, dark violet = most. The stops are matplotlib's
# "viridis" at 1, 0.75, 0.5, 0.25 and 0 (van der Walt S, Smith N 2015, "A better default colormap
# for matplotlib", SciPy 2015): monotonic in lightness and readable with the common colour-vision
# deficiencies (deuteranopia, protanopia, tritanopia) and in grey scale.
_RAMP = (
    (0.0, (253, 231, 37)),
    (0.25, (94, 201, 98)),
    (0.5, (33, 145, 140)),
    (0.75, (59, 82, 139)),
    (1.0, (68, 1, 84)),
)


def esc(text: object) -> str:
    """Text escaped for XML/HTML content and attributes."""
    return html.escape(str(text), quote=True)


def fmt(x: float, nd: int = 1) -> str:
    """Short number for coordinates (no trailing zeros)."""
    s = f"{x:.{nd}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def ramp(u: float) -> str:
    """Colour of the sequential ramp at ``u`` in [0, 1] (clipped); grey for NaN."""
    if u is None or not math.isfinite(u):
        return "#d0d0d0"
    u = min(1.0, max(0.0, u))
    for (u0, c0), (u1, c1) in zip(_RAMP[:-1], _RAMP[1:], strict=True):
        if u <= u1:
            w = (u - u0) / (u1 - u0)
            r, g, b = (round(a + w * (b_ - a)) for a, b_ in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#440154"


def ramp_stops() -> list[tuple[float, str]]:
    """The ramp's stops as (offset, colour) for an SVG gradient."""
    return [(u, "#{:02x}{:02x}{:02x}".format(*c)) for u, c in _RAMP]


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + 1e-9 * step:
        if v >= lo - 1e-9 * step:
            ticks.append(round(v, 10))
        v += step
    return ticks


def svg_open(width: float, height: float, *, figure_id: str, title: str, cls: str = "fig") -> str:
    """Opening tag of a standalone-capable SVG figure (with its title for screen readers)."""
    return (
        f'<svg xmlns="{SVG_NS}" class="{cls}" id="{esc(figure_id)}" width="{fmt(width)}" '
        f'height="{fmt(height)}" '
        f'viewBox="0 0 {fmt(width)} {fmt(height)}" font-family="Helvetica, Arial, sans-serif" '
        f'role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>'
    )
