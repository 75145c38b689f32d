"""Body map: a front and a back view of a runner, one region per muscle group and side.

The figure is drawn for this project from simple outlines (coordinates in a 200 x 480 box
per view, the subject facing the viewer in the front view). Regions sit where the muscles
are: obliques on the flanks and erector spinae along the spine (core / trunk), iliopsoas,
sartorius and tensor fasciae latae at the front of the hip (hip flexors), the front of the
thigh (quadriceps), its inner side (adductors), the back of the thigh (hamstrings), the
buttock (gluteals), the upper back of the shank (calves), the front-outer shank (shin:
tibialis anterior and long toe extensors) and the deep inner back of the lower shank above
the ankle (long toe flexors). The group ``other`` (deep hip rotators, peronei, tibialis
posterior) is not drawn.
"""

from __future__ import annotations

from ..analyses.groups import MAIN_GROUPS
from .resultset import ResultSet
from .svg import esc, fmt, ramp, ramp_stops, svg_open

__all__ = ["BODY_MAP_GROUPS", "METRICS", "body_map_svg", "group_fills", "group_load_map_svg"]

BODY_MAP_GROUPS = MAIN_GROUPS

METRICS = {
    "impulse": "share of force impulse",
    "work": "share of positive work",
    "peak": "peak activation",
}

Pts = list[tuple[float, float]]

# Silhouette, viewer's left half (x < 100); the right half is its mirror image.
_HEAD = (100.0, 38.0, 19.0, 24.0)
_NECK: Pts = [(91, 56), (91, 78), (109, 78), (109, 56)]
_TORSO_LEFT: Pts = [
    (100, 74),
    (88, 76),
    (68, 83),
    (57, 93),
    (60, 120),
    (64, 152),
    (67, 186),
    (65, 206),
    (61, 226),
    (63, 242),
    (100, 252),
]
_ARM: Pts = [
    (57, 92),
    (49, 99),
    (45, 124),
    (41, 162),
    (37, 200),
    (33, 238),
    (31, 262),
    (37, 272),
    (44, 265),
    (46, 240),
    (50, 202),
    (55, 166),
    (59, 132),
    (61, 112),
]
_LEG: Pts = [
    (63, 232),
    (60, 270),
    (62, 310),
    (66, 340),
    (64, 362),
    (66, 396),
    (72, 430),
    (74, 448),
    (64, 462),
    (66, 468),
    (91, 468),
    (91, 448),
    (92, 430),
    (94, 396),
    (94, 362),
    (93, 342),
    (97, 302),
    (99, 262),
    (100, 252),
]

# Muscle regions for the leg and trunk half drawn on the viewer's left.
_FRONT: dict[str, list[Pts]] = {
    "core_trunk": [[(64, 150), (74, 153), (80, 188), (80, 208), (67, 210), (67, 186)]],
    "adductors": [[(94, 256), (99, 259), (97, 300), (93, 324), (89, 300), (89, 270)]],
    "quadriceps": [
        [(63, 246), (73, 250), (85, 262), (91, 288), (90, 322), (85, 342), (72, 343), (65, 322), (61, 286)]
    ],
    "hip_flexors": [[(65, 213), (80, 212), (86, 226), (93, 247), (88, 258), (78, 249), (66, 236)]],
    "shin": [[(66, 362), (73, 358), (77, 380), (77, 418), (74, 430), (69, 410), (66, 386)]],
}
_BACK: dict[str, list[Pts]] = {
    "core_trunk": [[(88, 98), (97, 98), (97, 210), (90, 212), (85, 160)]],
    "gluteals": [[(63, 212), (95, 214), (99, 232), (98, 258), (84, 266), (67, 261), (61, 240)]],
    "hamstrings": [[(63, 270), (92, 270), (93, 300), (90, 330), (84, 346), (73, 346), (66, 322), (61, 290)]],
    "adductors": [[(95, 264), (99, 262), (98, 296), (95, 314), (94, 290)]],
    "calves": [[(66, 354), (78, 349), (92, 353), (94, 374), (90, 396), (82, 404), (72, 398), (65, 378)]],
    "long_toe_flexors": [[(85, 405), (93, 398), (92, 424), (88, 436), (84, 424)]],
}


def _mirror(pts: Pts) -> Pts:
    return [(200.0 - x, y) for x, y in pts]


def _path(pts: Pts, dx: float) -> str:
    """Closed smooth outline through ``pts`` (Catmull-Rom spline written as cubic Beziers)."""
    n = len(pts)
    p = [(x + dx, y) for x, y in pts]
    d = [f"M{fmt(p[0][0])} {fmt(p[0][1])}"]
    for i in range(n):
        p0, p1, p2, p3 = p[i - 1], p[i], p[(i + 1) % n], p[(i + 2) % n]
        c1 = (p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6)
        c2 = (p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6)
        d.append(f"C{fmt(c1[0])} {fmt(c1[1])} {fmt(c2[0])} {fmt(c2[1])} {fmt(p2[0])} {fmt(p2[1])}")
    return " ".join(d) + " Z"


# Faint contour lines that make the figure read as a body (not muscle regions).
_CONTOURS_FRONT = (
    "M72 104 Q86 118 99 108",  # pectoral, viewer's left
    "M128 104 Q114 118 101 108",
    "M100 114 L100 190",  # linea alba
    "M74 352 Q80 346 86 352",  # kneecaps
    "M126 352 Q120 346 114 352",
)
_CONTOURS_BACK = (
    "M72 100 Q80 122 92 112",  # shoulder blades
    "M128 100 Q120 122 108 112",
    "M100 92 L100 232",  # spine
)


def _silhouette(dx: float) -> str:
    cx, cy, rx, ry = _HEAD
    torso = _TORSO_LEFT + _mirror(_TORSO_LEFT[::-1])[1:]
    parts = [
        f'<ellipse cx="{fmt(cx + dx)}" cy="{fmt(cy)}" rx="{fmt(rx)}" ry="{fmt(ry)}"/>',
        '<path d="M' + " L".join(f"{fmt(x + dx)} {fmt(y)}" for x, y in _NECK) + ' Z"/>',
        f'<path d="{_path(torso, dx)}"/>',
        f'<path d="{_path(_ARM, dx)}"/>',
        f'<path d="{_path(_mirror(_ARM), dx)}"/>',
        f'<path d="{_path(_LEG, dx)}"/>',
        f'<path d="{_path(_mirror(_LEG), dx)}"/>',
    ]
    return '<g class="silhouette" fill="#e6e1dc" stroke="#9c948c" stroke-width="1">' + "".join(parts) + "</g>"


def _contours(view: str, dx: float) -> str:
    lines = _CONTOURS_FRONT if view == "front" else _CONTOURS_BACK
    return (
        f'<g class="contours" transform="translate({fmt(dx)} 0)" fill="none" stroke="#b5aca3" '
        'stroke-width="0.8">' + "".join(f'<path d="{d}"/>' for d in lines) + "</g>"
    )


def _fmt_value(metric: str, v: float) -> str:
    if v != v:  # NaN
        return "no muscles of this group in the model"
    if metric == "peak":
        return f"{v:.2f}"
    return f"{100 * v:.1f} %"


def body_map_svg(rs: ResultSet, *, metric: str = "impulse", figure_id: str = "bodymap") -> str:
    """Front and back views coloured by each group's value on each side.

    Parameters
    ----------
    rs
        The analysis' result tables.
    metric
        Colouring shown first: ``impulse`` (share of the stride's force impulse of all
        muscles), ``work`` (share of positive work) or ``peak`` (highest peak activation
        among the group's muscles). The values of all three are attributes of every
        region (``data-v-<metric>``), with their colours (``data-c-<metric>``), so the
        page can switch without recomputing.

    Returns
    -------
    str
        The SVG element.
    """
    values = {
        m: {(g, side): rs.body_map_value(m, g, side) for g in BODY_MAP_GROUPS for side in ("right", "left")}
        for m in METRICS
    }
    top = {}
    for m, vals in values.items():
        finite = [v for v in vals.values() if v == v]
        top[m] = 1.0 if m == "peak" else (max(finite) if finite and max(finite) > 0 else 1.0)
    return _render(
        values,
        top,
        METRICS,
        _fmt_value,
        metric=metric,
        figure_id=figure_id,
        title="Body map: load per muscle group and side",
        region_label=lambda g, side: f"{g.replace('_', ' ')} ({side})",
    )


def group_load_map_svg(
    loads: dict[str, float],
    *,
    label: str,
    unit: str,
    figure_id: str = "loadmap",
    title: str = "Body map: load per muscle group",
    digits: int = 1,
    top: float | None = None,
) -> str:
    """Front and back views coloured by one value per muscle group (both legs together).

    Parameters
    ----------
    loads
        Value per group (e.g. a run's force impulse in body-weight seconds); groups not in
        :data:`BODY_MAP_GROUPS` are not drawn, missing ones are grey.
    label, unit
        What the value is (legend and tool tips), e.g. ``"force impulse"``, ``"BW s"``.
    figure_id, title
        The SVG's id and accessible title.
    digits
        Decimals shown.
    top
        The value of the ramp's darkest colour (default: the largest group).

    Returns
    -------
    str
        The SVG element; both sides of a group have the group's colour (the value is the
        sum over both legs), scaled from 0 to the largest group.
    """
    vals = {
        (g, side): float(loads.get(g, float("nan"))) for g in BODY_MAP_GROUPS for side in ("right", "left")
    }
    finite = [v for v in vals.values() if v == v]
    if top is None or not top > 0:
        top = max(finite) if finite and max(finite) > 0 else 1.0

    def fmt_value(_metric: str, v: float) -> str:
        return "not computed" if v != v else f"{v:.{digits}f} {unit}"

    return _render(
        {"load": vals},
        {"load": top},
        {"load": label},
        fmt_value,
        metric="load",
        figure_id=figure_id,
        title=title,
        region_label=lambda g, _side: f"{g.replace('_', ' ')} (both legs)",
    )


def _render(values, top, labels, fmt_value, *, metric, figure_id, title, region_label) -> str:
    """The figure: ``values[metric][(group, side)]`` coloured on the ramp from 0 to ``top[metric]``."""
    w, h = 500, 512
    out = [svg_open(w, h, figure_id=figure_id, title=title)]
    out.append("<defs>")
    out.append('<linearGradient id="' + figure_id + '-ramp" x1="0" y1="1" x2="0" y2="0">')
    out += [f'<stop offset="{u}" stop-color="{c}"/>' for u, c in ramp_stops()]
    out.append("</linearGradient></defs>")
    views = (("front", 0.0, _FRONT, ("right", "left")), ("back", 210.0, _BACK, ("left", "right")))
    for view, dx, shapes, (viewer_left, viewer_right) in views:
        out.append(f'<g class="view" data-view="{view}">')
        out.append(_silhouette(dx))
        out.append(_contours(view, dx))
        out.append(
            f'<text x="{fmt(100 + dx)}" y="500" text-anchor="middle" font-size="14" '
            f'font-weight="bold">{view.title()}</text>'
        )
        out.append(
            f'<text x="{fmt(30 + dx)}" y="500" text-anchor="middle" font-size="12" fill="#555">'
            f"{'R' if viewer_left == 'right' else 'L'}</text>"
            f'<text x="{fmt(170 + dx)}" y="500" text-anchor="middle" font-size="12" fill="#555">'
            f"{'L' if viewer_right == 'left' else 'R'}</text>"
        )
        for g, polys in shapes.items():
            for side, mirror in ((viewer_left, False), (viewer_right, True)):
                for pts in polys:
                    p = _mirror(pts) if mirror else pts
                    attrs = []
                    for m in labels:
                        v = values[m][(g, side)]
                        attrs.append(f'data-v-{m}="{"" if v != v else f"{v:.6g}"}"')
                        attrs.append(f'data-c-{m}="{ramp(v / top[m])}"')
                    v0 = values[metric][(g, side)]
                    label = region_label(g, side)
                    tip = f"{label}: {labels[metric]} {fmt_value(metric, v0)}"
                    out.append(
                        f'<path class="region" d="{_path(p, dx)}" data-group="{g}" data-side="{side}" '
                        f'data-view="{view}" data-label="{esc(label)}" {" ".join(attrs)} '
                        f'fill="{ramp(v0 / top[metric])}" stroke="#5a2a1a" stroke-width="0.8" '
                        f'data-tip="{esc(tip)}"><title>{esc(tip)}</title></path>'
                    )
        out.append("</g>")
    # legend: one colour bar per metric (the page shows the chosen one)
    lx, ly, lh = 450, 120, 300
    out.append(
        f'<rect x="{lx}" y="{ly}" width="14" height="{lh}" fill="url(#{figure_id}-ramp)" stroke="#999"/>'
    )
    for m in labels:
        vis = "" if m == metric else ' display="none"'
        out.append(f'<g class="legend" data-metric="{m}"{vis}>')
        out.append(
            f'<text x="{lx + 7}" y="{ly - 28}" text-anchor="middle" font-size="11">'
            f"{esc(labels[m].split(' of ')[0])}</text>"
        )
        if " of " in labels[m]:
            out.append(
                f'<text x="{lx + 7}" y="{ly - 14}" text-anchor="middle" font-size="11">'
                f"of {esc(labels[m].split(' of ')[1])}</text>"
            )
        for k in range(5):
            v = top[m] * k / 4
            y = ly + lh - lh * k / 4
            out.append(
                f'<line x1="{lx - 4}" x2="{lx}" y1="{fmt(y)}" y2="{fmt(y)}" stroke="#555"/>'
                f'<text x="{lx - 6}" y="{fmt(y + 4)}" text-anchor="end" font-size="10">'
                f"{esc(fmt_value(m, v))}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def group_fills(loads: dict[str, float], top: float) -> dict[str, str]:
    """The colour of each drawn group for ``loads`` on the ramp from 0 to ``top``.

    The same colours :func:`group_load_map_svg` paints, for a page that recolours a drawn map
    (the web app's what-if) without redrawing it.
    """
    scale = top if top and top > 0 else 1.0
    return {g: ramp(float(loads.get(g, float("nan"))) / scale) for g in BODY_MAP_GROUPS}
