"""The claims' evidence as plain sentences with sensibly rounded numbers.

:func:`runmuscles.claims.evaluate_claims` returns evidence as keys with units in their names
(``leg_groups_share_of_muscle_impulse: 0.791329918698823``). Shown to people, that reads as
"leg groups share of muscle impulse: 79 %". The unit comes from the key's suffix, the
rounding keeps three significant figures (whole numbers for percentages of 10 and more).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["evidence_lines", "readable_number"]

# (key suffix, unit shown, signed): the first that matches a key wins.
_UNITS: tuple[tuple[str, str, bool], ...] = (
    ("_change_pp", "percentage points", True),
    ("_pp", "percentage points", True),
    ("_change_pct", "%", True),
    ("_pct", "%", False),
    ("_j_per_kg", "J/kg", False),
    ("_bw_s", "BW s", False),
    ("_bw", "BW", False),
    ("_m_s", "m/s", False),
)


def readable_number(x: float, *, signed: bool = False) -> str:
    """Three significant figures, no exponent for everyday sizes, ``-`` for NaN."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if float(x).is_integer() and abs(x) < 1e6:
        s = f"{int(x):d}"
    else:
        mag = math.floor(math.log10(abs(x))) if x else 0
        decimals = max(0, 2 - mag)
        s = f"{x:.{decimals}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
    return f"+{s}" if signed and x > 0 else s


def _percent(x: float, *, signed: bool = False) -> str:
    s = f"{x:.0f}" if abs(x) >= 10 else readable_number(round(x, 1))
    return (f"+{s}" if signed and x > 0 else s) + " %"


def _label(key: str) -> tuple[str, str | None, bool]:
    """(words, unit, signed) of an evidence key."""
    for suffix, unit, signed in _UNITS:
        if key.endswith(suffix):
            return (
                key[: -len(suffix)].replace("_", " ") + (" change" if "change" in suffix else ""),
                unit,
                signed,
            )
        if suffix + "_" in key:  # a unit inside the key (e.g. ..._change_pct_lean_and_overstride)
            head, tail = key.split(suffix + "_", 1)
            change = " change" if "change" in suffix else ""
            words = f"{head.replace('_', ' ')}{change} ({tail.replace('_', ' ')})"
            return words, unit, signed
    if "share" in key or "fraction" in key:
        return key.replace("_", " "), "share", False
    return key.replace("_", " "), None, False


def _value(v: Any, unit: str | None, signed: bool) -> str:
    if v is None:
        return "not computed"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        x = float(v)
        if not math.isfinite(x):
            return "-"
        if unit == "share":
            return _percent(100 * x) if abs(x) <= 1.5 else readable_number(x)
        if unit == "%":
            return _percent(x, signed=signed)
        text = readable_number(x, signed=signed)
        return f"{text} {unit}" if unit else text
    if isinstance(v, dict):
        if unit is None:  # the inner keys carry their own units
            return ", ".join(f"{_label(str(k))[0]} {_value(x, *_label(str(k))[1:])}" for k, x in v.items())
        return ", ".join(f"{str(k).replace('_', ' ')} {_value(x, unit, signed)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_value(x, unit, signed) for x in v)
    return str(v)


def evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """One readable line per evidence item (a ``note`` is kept as its sentence)."""
    lines = []
    for key, v in evidence.items():
        if key == "note" and isinstance(v, str):
            lines.append(v[:1].upper() + v[1:])
            continue
        words, unit, signed = _label(str(key))
        if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
            inner = "; ".join(f"{str(k).replace('_', ' ')}: {_value(x, unit, signed)}" for k, x in v.items())
            lines.append(f"{words[:1].upper()}{words[1:]}: {inner}")
            continue
        lines.append(f"{words[:1].upper()}{words[1:]}: {_value(v, unit, signed)}")
    return lines
