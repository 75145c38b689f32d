"""Compare two runs, or two weeks, of the history: per-group load side by side, and the changes.

One function, :func:`compare`, serves ``runmuscles history --compare A B`` and the web app's
compare page. A and B are references parsed by :func:`parse_ref`: a run's id (``12``) or a
date inside a week (``2024-03-04``; the week runs Monday to Sunday, UTC). Both must be of the
same kind.

Per muscle group and load quantity (:data:`runmuscles.history.LOAD_COLUMNS`) it gives A, B,
B - A and the change in per cent of A's magnitude, and the same per km (a longer run has more
load; per km says whether the running itself asked more). The comparison is descriptive. When
the two sides' loads were computed with different engine versions or settings (or a week
mixes them), the result says so: such numbers are not comparable until recomputed
(:func:`runmuscles.history.recompute`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, NamedTuple

from .errors import InputError
from .history import LOAD_COLUMNS, activities, settings_key

__all__ = ["Ref", "choices", "compare", "compare_lines", "parse_ref"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^\d{1,18}$")


class Ref(NamedTuple):
    """``("run", id)`` or ``("week", Monday as ISO date)``."""

    kind: str
    value: int | str


def parse_ref(text: str, where: str = "--compare") -> Ref:
    """A run id (digits) or a date (YYYY-MM-DD: its week); anything else is refused."""
    t = str(text).strip()
    if _ID.match(t):
        n = int(t)
        if n < 1:
            raise InputError(where, f"'{t}' is not a run id (ids start at 1)")
        return Ref("run", n)
    if _DATE.match(t):
        try:
            d = date.fromisoformat(t)
        except ValueError:
            raise InputError(where, f"'{t}' is not a date") from None
        return Ref("week", (d - timedelta(days=d.weekday())).isoformat())
    shown = t if len(t) <= 40 and t.isprintable() else "the value given"
    raise InputError(where, f"'{shown}' is neither a run id (a number) nor a date of a week (YYYY-MM-DD)")


def _side(acts: list[dict[str, Any]], ref: Ref) -> dict[str, Any]:
    if ref.kind == "run":
        chosen = [a for a in acts if a["id"] == ref.value]
        if not chosen:
            raise InputError(f"run {ref.value}", "no such run in the history")
        a = chosen[0]
        label = f"run {a['id']} of {a['start_time']:%Y-%m-%d %H:%M} UTC"
    else:
        chosen = [
            a
            for a in acts
            if (a["start_time"].date() - timedelta(days=a["start_time"].weekday())).isoformat() == ref.value
        ]
        if not chosen:
            raise InputError(f"week of {ref.value}", "no runs in that week")
        label = f"week of {ref.value} ({len(chosen)} run{'' if len(chosen) == 1 else 's'})"
    groups: dict[str, dict[str, float]] = {}
    for a in chosen:
        for g, v in a["groups"].items():
            row = groups.setdefault(g, dict.fromkeys(LOAD_COLUMNS, 0.0))
            for q in LOAD_COLUMNS:
                row[q] += float(v[q])
    return {
        "kind": ref.kind,
        "ref": ref.value,
        "label": label,
        "runs": len(chosen),
        "run_ids": [a["id"] for a in chosen],
        "distance_m": sum(float(a["distance_m"]) for a in chosen),
        "duration_s": sum(float(a["duration_s"]) for a in chosen),
        "groups": groups,
        "settings": sorted({settings_key(a.get("engine_version"), a.get("settings")) for a in chosen}),
    }


def _pct(a: float, b: float) -> float | None:
    return 100.0 * (abs(b) - abs(a)) / abs(a) if abs(a) > 1e-12 else None


def compare(engine, a: str | Ref, b: str | Ref) -> dict[str, Any]:
    """Two runs or two weeks of the history side by side.

    Returns
    -------
    dict
        ``a``, ``b`` (each: ``kind``, ``label``, ``runs``, ``run_ids``, ``distance_m``,
        ``duration_s``, ``groups``, ``settings``), ``distance_change_pct``, ``groups`` (one
        row per group, largest B impulse first: ``group``, and per quantity ``q``:
        ``q`` as ``{"a", "b", "change", "change_pct", "a_per_km", "b_per_km",
        "per_km_change_pct"}``; per cent changes compare magnitudes, ``None`` when A is 0),
        ``comparable`` (both sides computed with one engine version and settings) and
        ``notes`` (sentences: what differs, which groups changed most).
    """
    ra = a if isinstance(a, Ref) else parse_ref(a)
    rb = b if isinstance(b, Ref) else parse_ref(b)
    if ra.kind != rb.kind:
        raise InputError("--compare", "compare two runs or two weeks, not a run with a week")
    acts = activities(engine)
    sa, sb = _side(acts, ra), _side(acts, rb)
    km_a, km_b = sa["distance_m"] / 1000.0, sb["distance_m"] / 1000.0
    rows = []
    for g in sorted(set(sa["groups"]) | set(sb["groups"])):
        row: dict[str, Any] = {"group": g}
        for q in LOAD_COLUMNS:
            x = sa["groups"].get(g, {}).get(q, 0.0)
            y = sb["groups"].get(g, {}).get(q, 0.0)
            xa = x / km_a if km_a > 0 else None
            yb = y / km_b if km_b > 0 else None
            row[q] = {
                "a": x,
                "b": y,
                "change": y - x,
                "change_pct": _pct(x, y),
                "a_per_km": xa,
                "b_per_km": yb,
                "per_km_change_pct": _pct(xa, yb) if xa is not None and yb is not None else None,
            }
        rows.append(row)
    rows.sort(key=lambda r: -abs(r["impulse_bw_s"]["b"]))
    comparable = len(set(sa["settings"]) | set(sb["settings"])) == 1
    notes = []
    if not comparable:
        notes.append(
            "the two sides' loads were computed with different engine versions or settings (or one side "
            "mixes them): not comparable as they stand; recompute them (runmuscles history --recompute)"
        )
    if "unknown" in sa["settings"] + sb["settings"]:
        notes.append("some loads were stored before the history kept engine settings")
    moved = [r for r in rows if r["group"] != "other" and r["impulse_bw_s"]["change_pct"] is not None]
    if moved:
        up = max(moved, key=lambda r: r["impulse_bw_s"]["change_pct"])
        down = min(moved, key=lambda r: r["impulse_bw_s"]["change_pct"])
        hi, lo = up["impulse_bw_s"]["change_pct"], down["impulse_bw_s"]["change_pct"]
        most = "largest rise" if hi >= 0 else "smallest fall"
        least = "largest fall" if lo < 0 else "smallest rise"
        notes.append(
            f"force impulse, {most}: {up['group']} {hi:+.0f} %; {least}: {down['group']} {lo:+.0f} % "
            "(descriptive; not validated for injury)"
        )
    return {
        "a": sa,
        "b": sb,
        "distance_change_pct": _pct(sa["distance_m"], sb["distance_m"]),
        "groups": rows,
        "comparable": comparable,
        "notes": notes,
    }


def choices(engine) -> dict[str, list[dict[str, Any]]]:
    """What can be compared, newest first: ``runs`` (``ref``: the id, ``label``) and ``weeks``
    with runs (``ref``: the Monday, ``label``)."""
    acts = activities(engine)
    mondays = sorted({(a["start_time"].date() - timedelta(days=a["start_time"].weekday())) for a in acts})
    return {
        "runs": [{"ref": str(a["id"]), "label": f"run of {a['start_time']:%Y-%m-%d %H:%M}"} for a in acts][
            ::-1
        ],
        "weeks": [{"ref": m.isoformat(), "label": f"week of {m.isoformat()}"} for m in mondays][::-1],
    }


def compare_lines(result: dict[str, Any], units: str = "km") -> list[str]:
    """The comparison as text lines (``runmuscles history --compare``)."""
    from .profile import format_distance  # noqa: PLC0415

    a, b = result["a"], result["b"]
    dpct = result["distance_change_pct"]
    lines = [
        f"A: {a['label']}, {format_distance(a['distance_m'], units)}",
        f"B: {b['label']}, {format_distance(b['distance_m'], units)}"
        + (f" ({dpct:+.0f} % distance)" if dpct is not None else ""),
        f"  {'group':<18}{'A (BW s)':>10}{'B (BW s)':>10}{'change':>9}{'per km':>9}",
    ]
    for r in result["groups"]:
        q = r["impulse_bw_s"]
        pct = "-" if q["change_pct"] is None else f"{q['change_pct']:+.0f} %"
        per_km = "-" if q["per_km_change_pct"] is None else f"{q['per_km_change_pct']:+.0f} %"
        lines.append(f"  {r['group']:<18}{q['a']:>10.1f}{q['b']:>10.1f}{pct:>9}{per_km:>9}")
    lines += [f"note: {n}" for n in result["notes"]]
    return lines
