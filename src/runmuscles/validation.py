"""The one validation layer at the edge: every option and physical limit, declared once.

Each entry of :data:`LIMITS` is a :class:`Limit`: the quantity (its key carries its unit),
the accepted range, what the number means to a user, and why the range is what it is
(with its source where one exists). The same entry is used wherever the quantity enters:

* on the command line, as the option's ``callback`` (:func:`option_check`), so a bad
  value is refused before any work with one line and exit 2;
* in the library, by :func:`check` (raises :class:`~runmuscles.errors.InputError`), called
  by the option dataclasses (:class:`runmuscles.pipeline.AnalysisOptions`,
  :class:`runmuscles.whatif.Condition`) and the readers, so the web app and batch jobs
  get the same rules;
* in the physical plausibility checks of inputs (forces, speeds, GPS), whose limits live
  in the same table.

:data:`MAX_GAP_S` is the one gap limit for markers, joint angles and forces alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import InputError

__all__ = ["LIMITS", "MAX_GAP_S", "Limit", "check", "option_check", "limit"]

#: Longest gap (s) in markers, joint angles or forces that is bridged by interpolation.
#: Longer gaps split the analysis instead of being bridged. 0.1 s is about a third of a
#: running stance (0.2-0.3 s) and a seventh of a stride: a spline over more than that
#: invents a phase of the motion. Interpolation error grows quickly with gap length
#: (Howarth SJ, Callaghan JP, 2010, J Biomech 43:1838-1843, gaps up to 10 frames at 100 Hz).
MAX_GAP_S = 0.1


@dataclass(frozen=True)
class Limit:
    """An accepted range for one quantity.

    Attributes
    ----------
    key
        The quantity's name with its unit (``body_mass_kg``).
    low, high
        Bounds (``None``: unbounded on that side).
    unit
        Unit as shown to a user.
    meaning
        What the quantity is, in a user's words.
    basis
        Why the range is what it is, with its source where there is one.
    low_open, high_open
        Whether the bound itself is excluded.
    integer
        Whether the value must be a whole number.
    special
        Values accepted besides the range, with their meaning (e.g. ``{0: "no filter"}``).
    """

    key: str
    low: float | None
    high: float | None
    unit: str
    meaning: str
    basis: str
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    special: tuple[tuple[float, str], ...] = ()

    def describe(self) -> str:
        lo = "" if self.low is None else f"{'above' if self.low_open else 'from'} {self.low:g}"
        hi = "" if self.high is None else f"{'below' if self.high_open else 'to'} {self.high:g}"
        rng = " ".join(x for x in (lo, hi) if x)
        extra = "".join(f"; {v:g} means {what}" for v, what in self.special)
        return f"{rng} {self.unit}{extra}".strip()

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused, or ``None`` when it is accepted."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return f"'{value}' is not a number ({self.meaning}: {self.describe()})"
        v = float(value)
        if any(v == s for s, _ in self.special):
            return None
        if not math.isfinite(v):
            return f"{value} is not a finite number ({self.meaning}: {self.describe()})"
        if self.integer and v != int(v):
            return f"{value:g} is not a whole number ({self.meaning})"
        bad_low = self.low is not None and (v <= self.low if self.low_open else v < self.low)
        bad_high = self.high is not None and (v >= self.high if self.high_open else v > self.high)
        if bad_low or bad_high:
            return f"{v:g} {self.unit} is outside the accepted range {self.describe()} ({self.basis})"
        return None


def _limits(*items: Limit) -> dict[str, Limit]:
    return {x.key: x for x in items}


#: Every declared limit, by key. Options first, then physical plausibility of inputs.
LIMITS: dict[str, Limit] = _limits(
    # -- the runner ------------------------------------------------------------------------
    Limit(
        "body_mass_kg", 20.0, 250.0, "kg", "body mass",
        "a child of about 6 years to the heaviest adults measured in gait labs; outside it a unit "
        "slip (g, lb) is far more likely than a runner",
    ),
    Limit(
        "height_m", 1.0, 2.5, "m", "standing height",
        "a child of about 5 years to the tallest adults; a value in cm or inches is refused, not guessed",
    ),
    # -- the motion --------------------------------------------------------------------------
    Limit(
        "speed_m_s", 0.3, 12.5, "m/s", "running speed",
        "slow walking to the fastest human sprint (12.4 m/s peak, Bolt 2009; Krzysztof & Mero 2013, "
        "J Hum Kinet 36:149-160)", low_open=False,
    ),
    Limit(
        "start_s", None, None, "s", "start of the analysis window", "any finite time in the data",
    ),
    Limit("end_s", None, None, "s", "end of the analysis window", "any finite time in the data"),
    Limit("cycle", 1, None, "", "stride cycle number (1-based)", "cycles are counted from 1",
          integer=True),
    # -- processing --------------------------------------------------------------------------
    Limit(
        "lowpass_hz", 0.5, 100.0, "Hz", "low-pass cutoff for joint angles",
        "running kinematics are filtered at 6-20 Hz (Winter DA 2009, Biomechanics and Motor Control "
        "of Human Movement, 4th ed., ch. 3); above 100 Hz no motion-capture rate leaves signal",
        special=((0.0, "no filter"),),
    ),
    Limit(
        "activation_exponent", 1.0, 10.0, "", "activation exponent of the recruitment objective",
        "the solver needs p > 1 (convex, smooth); 2-3 are used in practice (Crowninshield RD, Brand RA "
        "1981, J Biomech 14:793-801); above 10 the objective is numerically a min-max",
        low_open=True,
    ),
    # -- what-if conditions ------------------------------------------------------------------
    Limit("grade_pct", -20.0, 20.0, "%", "slope", "the what-if's tested range (Minetti et al. 2002 "
          "measured -45 to +45 %, the engine's transformation is checked to +/-20 %)"),
    Limit("cadence_pct", 80.0, 120.0, "% of the recorded step frequency", "step frequency",
          "runners' self-selected cadence varies by about +/-10 % (Heiderscheit et al. 2011); the "
          "transformation is tested to +/-20 %"),
    Limit("lean_deg", -20.0, 20.0, "deg", "extra trunk lean",
          "Teng & Powers 2014 measured 7-14 deg of lean; beyond 20 deg the lean is not running posture"),
    Limit("overstride_m", 0.0, 0.15, "m", "overstride", "up to 15 cm, a large overstride"),
    Limit("belt_fluctuation_pct", 0.0, 20.0, "%", "belt-speed dip in stance",
          "treadmill belts slow by up to about 10 % in stance (Savelberg et al. 1998)"),
    Limit("wind_m_s", -15.0, 15.0, "m/s", "head or tail wind",
          "up to a near-gale; beyond it nobody runs a normal stride"),
    # -- history -----------------------------------------------------------------------------
    Limit("weeks", 1, 520, "weeks", "weeks to show", "one week to ten years", integer=True),
    # -- physical plausibility of inputs -------------------------------------------------------
    Limit(
        "peak_vertical_grf_bw", 0.5, 6.0, "body weights", "peak vertical ground reaction force",
        "walking 1.1-1.3 BW, running 2-3 BW (Cavanagh PR, Lafortune MA 1980, J Biomech 13:397-406), "
        "sprinting up to 4-5 BW (Weyand PG et al. 2000, J Appl Physiol 89:1991-1999); a value far "
        "outside means forces in other units or of another person",
    ),
    Limit(
        "stride_vertical_impulse_bw", 0.75, 1.25, "of body weight x stride time",
        "vertical impulse over a stride per body weight and stride time",
        "over a whole stride at steady speed the vertical impulse equals body weight x time "
        "(Newton's second law); +/-25 % covers speed changes and measurement error",
    ),
    Limit(
        "gps_speed_m_s", 0.0, 12.5, "m/s", "speed between GPS points",
        "no runner exceeds 12.5 m/s (see speed_m_s); faster steps are GPS jumps",
    ),
    Limit(
        "gps_acceleration_m_s2", None, 10.0, "m/s^2", "acceleration between GPS points",
        "a sprint start peaks near 10 m/s^2 (Morin JB et al. 2011, Med Sci Sports Exerc 43:1680-1688)",
    ),
    Limit(
        "ik_marker_rms_m", 0.0, 0.04, "m", "inverse kinematics marker error (RMS, mean over frames)",
        "OpenSim's best practice: RMS below 2 cm, maximum below 2-4 cm (Hicks JL et al. 2015, J Biomech "
        "Eng 137:020905); above 4 cm on average the model does not follow the markers",
    ),
    Limit("latitude_deg", -90.0, 90.0, "deg", "latitude", "coordinates on Earth (WGS 84)"),
    Limit("longitude_deg", -180.0, 180.0, "deg", "longitude", "coordinates on Earth (WGS 84)"),
)  # fmt: skip


def limit(key: str) -> Limit:
    """The declared limit for ``key`` (a programming error if there is none)."""
    return LIMITS[key]


def check(key: str, value: Any, where: str | None = None) -> Any:
    """Return ``value`` if it is within ``LIMITS[key]`` (``None`` passes), else raise.

    ``where`` names the input in the message (an option ``--mass``, a file, a column);
    default: the key.
    """
    if value is None:
        return None
    why = LIMITS[key].problem(value)
    if why is not None:
        raise InputError(where or key, why)
    return value


def option_check(key: str, flag: str | None = None):
    """A typer/click ``callback`` applying ``LIMITS[key]`` to an option's value (lists too)."""

    def callback(value: Any) -> Any:
        import typer  # noqa: PLC0415  (the library never needs typer)

        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            why = None if v is None else LIMITS[key].problem(v)
            if why is not None:
                raise typer.BadParameter(why, param_hint=flag)
        return value

    return callback
