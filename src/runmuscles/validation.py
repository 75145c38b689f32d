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

__all__ = [
    "CHOICES",
    "LIMITS",
    "MAX_GAP_S",
    "Limit",
    "check",
    "check_choice",
    "choice_check",
    "limit",
    "limits_markdown",
    "option_check",
]

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
    slips
        Likely unit slips, ``(factor to this unit, other unit)``: a refused value that
        falls in range once multiplied by the factor is answered with a suggestion
        ("181 m ... (in cm? that is 1.81 m)").
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
    slips: tuple[tuple[float, str], ...] = ()

    def describe(self) -> str:
        lo = "" if self.low is None else f"{'above' if self.low_open else 'from'} {self.low:g}"
        hi = "" if self.high is None else f"{'below' if self.high_open else 'to'} {self.high:g}"
        rng = " ".join(x for x in (lo, hi) if x)
        extra = "".join(f"; {v:g} means {what}" for v, what in self.special)
        return f"{rng} {self.unit}{extra}".strip()

    def in_range(self, v: float) -> bool:
        """Whether ``v`` lies within the bounds (not counting ``special`` values)."""
        bad_low = self.low is not None and (v <= self.low if self.low_open else v < self.low)
        bad_high = self.high is not None and (v >= self.high if self.high_open else v > self.high)
        return not (bad_low or bad_high)

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
        if not self.in_range(v):
            hint = ""
            for factor, other in self.slips:
                if self.in_range(v * factor):
                    hint = f" (in {other}? that is {v * factor:.3g} {self.unit})"
                    break
            value_text = f"{v:g} {self.unit}".strip()
            return f"{value_text} is outside the accepted range {self.describe()}{hint} ({self.basis})"
        return None


def _limits(*items: Limit) -> dict[str, Limit]:
    return {x.key: x for x in items}


#: Every declared limit, by key. Options first, then physical plausibility of inputs.
LIMITS: dict[str, Limit] = _limits(
    # -- the runner ------------------------------------------------------------------------
    Limit(
        "body_mass_kg", 20.0, 250.0, "kg", "body mass",
        "a child of about 6 years to the heaviest adults measured in gait labs; outside it a unit "
        "slip (g, lb) is far more likely than a runner", slips=((0.001, "g"), (0.45359237, "lb")),
    ),
    Limit(
        "height_m", 1.0, 2.5, "m", "standing height",
        "a child of about 5 years to the tallest adults; a value in cm or inches is refused, not guessed",
        slips=((0.01, "cm"), (0.0254, "in"), (0.001, "mm")),
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
    Limit(
        "stride_frequency_hz", 0.4, 2.5, "Hz", "stride frequency (one leg's strides per second)",
        "walking about 0.9 Hz, running 1.3-1.6 Hz, sprinting up to about 2.4 Hz (Weyand PG et al. 2000, "
        "J Appl Physiol 89:1991-1999)",
    ),
    Limit("cycle", 1, None, "", "stride cycle number (1-based)", "cycles are counted from 1",
          integer=True),
    Limit(
        "cadence_spm", 100.0, 250.0, "steps/min", "usual running cadence (both feet's steps per minute)",
        "running at 1.3-1.6 strides/s (stride_frequency_hz above; Weyand PG et al. 2000, J Appl Physiol "
        "89:1991-1999) is 156-192 steps/min; 100-250 steps/min (0.83-2.1 strides/s) leaves room for slow "
        "jogging and fast running",
    ),
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
    Limit(
        "emg_rate_hz", 20.0, 100000.0, "Hz", "EMG sample rate",
        "envelopes are stored at motion-capture rates (50-200 Hz), raw surface EMG at 1000 Hz or more "
        "(SENIAM: Hermens HJ et al. 2000, J Electromyogr Kinesiol 10:361-374); below 20 Hz a stride's "
        "timing is lost",
    ),
    Limit(
        "emg_delay_s", 0.0, 0.2, "s", "electromechanical delay between EMG and force",
        "30-100 ms measured (Cavanagh PR, Komi PV 1979, Eur J Appl Physiol 42:159-163); 0.2 s is most "
        "of a running stance",
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
    # -- batch -------------------------------------------------------------------------------
    Limit("batch_workers", 1, 1024, "", "worker processes of a local Dask cluster",
          "one process per core; a single machine with more than 1024 cores is not expected",
          integer=True),
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
        "coordinate_beyond_range_deg", 0.0, 20.0, "deg",
        "how far a joint angle may go beyond the model's own coordinate range",
        "models' ranges bound normal motion; inverse kinematics of running stays within a few degrees of "
        "them (soft-tissue artefact moves knee angles by up to about 5-10 deg: Benoit DL et al. 2006, "
        "Gait Posture 24:152-164); 20 deg beyond is a unit slip (radians vs degrees) or a wrong column",
    ),
    Limit(
        "joint_angle_deg", -180.0, 180.0, "deg", "joint angle of a coordinate without a finite range",
        "no joint turns beyond half a turn either way; angles past it have wrapped or are in another unit",
    ),
    Limit(
        "treadmill_pelvis_speed_m_s", 0.0, 0.3, "m/s", "mean horizontal pelvis speed of a treadmill trial",
        "below the slowest accepted motion (speed_m_s) the runner stays in place: a treadmill, whose speed "
        "shows in the stance foot moving backwards with the belt",
    ),
    Limit(
        "speed_ratio_stated_to_motion", 0.75, 1.25, "", "stated speed over the motion's speed",
        "the motion's speed (pelvis overground, stance foot on a treadmill) is within about 10 % of the "
        "belt's (treadmill belts slow by up to about 10 % in stance: Savelberg HHCM et al. 1998, Gait "
        "Posture 7:26-34); beyond 25 % the stated speed belongs to another trial or unit",
    ),
    Limit(
        "speed_ratio_stated_to_motion_absurd", 0.5, 2.0, "", "stated speed over the motion's speed",
        "a factor of 2 is beyond any measurement error of either: a unit slip (km/h, mph) or another trial",
    ),
    Limit(
        "declared_frames_missing_fraction", 0.0, 0.10, "", "share of a TRC header's frames not in the file",
        "published TRC files trimmed after export keep their old NumFrames (hamner2013 subject10 and 11: "
        "up to 7 % fewer rows than declared); more is a truncated file",
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
    Limit(
        "recorded_vs_track_distance_pct", 0.0, 5.0, "%",
        "difference between a watch file's recorded distance and its track's",
        "eight GPS sport watches' recorded distances were off measured courses by 3.2-6.1 % (mean "
        "absolute percentage error; Gilgen-Ammann R, Schweizer T, Wyss T 2020, JMIR Mhealth Uhealth "
        "8:e17118); a larger difference means the file's totals or its track are damaged",
    ),
    # -- validity of results (runmuscles.analyses.validity: above the limit, figures are flagged) --
    Limit(
        "saturated_stride_fraction", 0.0, 0.05, "of the stride", "time a muscle spends at full activation",
        "static optimization's forces are lower bounds where a muscle is saturated (Hicks JL et al. 2015, "
        "J Biomech Eng 137:020905: muscles should make the moments, reserves stay small); 5 % of the "
        "stride is a brief peak, more is a muscle that lacks the strength for the motion",
    ),
    Limit(
        "saturated_muscle_share", 0.0, 0.10, "of the muscles", "muscles saturated beyond the stride limit",
        "a few saturated muscles leave the others to compensate; more than a tenth of the model means the "
        "strength does not fit the runner (the model's own strength saturates about half of the Hamner "
        "2010 model's 92 muscles at 3-5 m/s)",
    ),
    Limit(
        "reserve_share_of_joint_positive_work", 0.0, 0.10, "of the joint's positive work",
        "reserve actuator's positive work over the net joint moment's, on a joint the muscles cross",
        "reserves cost no metabolic energy, so their work is missing from the muscle energy; Hicks et "
        "al. 2015 ask that reserves be small next to the net joint moments, and a tenth of a joint's "
        "work moves the cost of running by several per cent",
    ),
    Limit(
        "metabolic_cost_j_per_kg_m", 2.0, 8.0, "J/kg/m",
        "gross metabolic cost of level running per metre and kg of body mass (the energy figures)",
        "a wide physiological band, meant to catch broken numbers, not to judge economy: measured net "
        "costs are 3.40 +/- 0.24 J/kg/m (Minetti AE et al. 2002, J Appl Physiol 93:1039-1046) and about "
        "4.2 J/kg/m (1 kcal/kg/km, Margaria R et al. 1963, J Appl Physiol 18:367-370), nearly independent "
        "of speed up to 6-7 m/s, about 20 % apart between adult runners, higher in children and up to 10 % "
        "higher with fatigue (Lacour JR, Bourdin M 2015, Eur J Appl Physiol 115:651-673); the project "
        "measures 3.4-4.6 J/kg/m gross on the Hamner & Delp 2013 runners at 3-4 m/s. The band reaches 0.6 "
        "times Minetti's mean below and about twice Margaria's above (gross, basal included); on a slope it "
        "widens by the measured change with grade (Minetti's polynomial)",
    ),
    # -- agreement of joint angles and forces (runmuscles.analyses.consistency) ----------------
    Limit(
        "cop_outside_foot_m", 0.0, 0.10, "m", "centre of pressure outside the model's stance foot",
        "the issue's starting point: 10 cm (about a third of a foot length) beyond the foot's outline. "
        "On the 28 hamner2013 trials the median is 0 and at most 6 % of stance frames (subject03 Run_2) "
        "are beyond it; with another runner's joint angles, 16-100 %",
    ),
    Limit(
        "cop_outside_foot_stance_fraction", 0.0, 0.5, "of stance frames",
        "share of stance with the centre of pressure beyond cop_outside_foot_m",
        "'most of stance': noise at foot strike and toe-off, or a brief slip, stays far below half",
    ),
    Limit(
        "residual_force_hicks_ratio", 0.0, 7.0, "x the Hicks et al. 2015 threshold",
        "pelvis residual force (95th percentile of frames) over its threshold",
        "Hicks JL et al. 2015, J Biomech Eng 137:020905: peak below 5 % of the peak external force. The "
        "issue's starting point was 5 x; measured (no residual reduction): the 28 hamner2013 trials "
        "1.3-4.1 x (peaks 1.8-5.3 x: hence the 95th percentile, so single-frame spikes do not decide), "
        "fukuchi2017 trials through the lab path (markers, IK, split plate) 3.4-4.8 x; another runner's "
        "joint angles 16-23 x. 7 x keeps a margin above the valid trials",
    ),
    Limit(
        "residual_moment_hicks_ratio", 0.0, 15.0, "x the Hicks et al. 2015 threshold",
        "pelvis residual moment (95th percentile of frames) over its threshold",
        "Hicks et al. 2015: peak below 1 % of centre-of-mass height x peak external force. Measured: the "
        "28 hamner2013 trials 3.0-8.1 x (peaks 4.2-71 x), fukuchi2017 trials through the lab path "
        "7.0-9.7 x; the hamner2013 trials with the centre of pressure moved 0.3 m 25-32 x",
    ),
    # -- running, for forces from motion alone (runmuscles.dynamics.support) -------------------
    Limit(
        "double_support_fraction", 0.0, 0.15, "of the time", "both feet on the ground at once",
        "running has no double support (Novacheck TF 1998, Gait Posture 7:77-95), walking about 20 % "
        "of the stride (Perry J, Burnfield JM 2010, Gait Analysis); measured from foot kinematics: "
        "0-8 % in the 28 hamner2013 running trials (slow runs, where the landing foot nears the floor "
        "as the other leaves it), 11 % in OpenCap's walking, 97 % in its squats",
    ),
    Limit(
        "flight_fraction", 0.10, 1.0, "of the time", "the body airborne (centre-of-mass force)",
        "running has a flight phase in every step (Novacheck 1998); walking, standing and squats have "
        "none. Measured: 21-41 % in the 28 hamner2013 running trials at 2-5 m/s, 0 % in OpenCap's "
        "walking and squats and Pose2Sim's balancing trial",
    ),
    Limit("latitude_deg", -90.0, 90.0, "deg", "latitude", "coordinates on Earth (WGS 84)"),
    Limit("longitude_deg", -180.0, 180.0, "deg", "longitude", "coordinates on Earth (WGS 84)"),
)  # fmt: skip


#: Options that take one of a few words, with what each means.
CHOICES: dict[str, dict[str, str]] = {
    "strength": {
        "model": "the model's own maximum isometric forces (as OpenSim)",
        "volume": "muscle volumes from mass and height (Handsfield et al. 2014), 60 N/cm^2",
    },
    "tendon": {"compliant": "tendon stretch from the muscle forces, post hoc", "rigid": "rigid tendons"},
    "strike": {"rearfoot": "heel-first landing", "forefoot": "ball-first landing"},
    "surface": {"treadmill": "constant-speed belt", "overground": "with air drag"},
    "units": {"km": "kilometres", "mi": "miles (1 mi = 1609.344 m)"},
    "sex": {"female": "female", "male": "male", "unspecified": "not given"},
    "ik": {
        "own": "inverse kinematics on the project's multibody model (runmuscles.kinematics.marker_ik)",
        "opensim": "OpenSim's InverseKinematicsTool",
    },
    "muscles": {
        "static": "static optimization, rigid tendons (per frame)",
        "dynamic": "compliant tendons and activation dynamics by direct collocation (De Groote et al. 2016)",
    },
}


def check_choice(key: str, value: str | None, where: str | None = None) -> str | None:
    """Return ``value`` if it is one of ``CHOICES[key]`` (``None`` passes), else raise."""
    if value is None or value in CHOICES[key]:
        return value
    raise InputError(where or key, f"'{value}' is not one of {', '.join(CHOICES[key])}")


def choice_check(key: str, flag: str | None = None):
    """A typer/click ``callback`` applying ``CHOICES[key]`` to an option's value."""

    def callback(value: Any) -> Any:
        import typer  # noqa: PLC0415

        if value is not None and value not in CHOICES[key]:
            raise typer.BadParameter(f"'{value}' is not one of {', '.join(CHOICES[key])}", param_hint=flag)
        return value

    return callback


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


def check_window(start_s: float | None, end_s: float | None, where: str | None = None) -> None:
    """Refuse an analysis window whose end is not after its start (either may be open)."""
    if start_s is not None and end_s is not None and not end_s > start_s:
        raise InputError(
            where, f"the time window {start_s:g}-{end_s:g} s is empty (its end must be after its start)"
        )


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


def limits_markdown() -> str:
    """The declared limits as the README's Markdown table (``python -m runmuscles.validation``)."""
    rows = ["| quantity | accepted | why |", "|---|---|---|"]
    for lim in LIMITS.values():
        rows.append(f"| `{lim.key}` ({lim.meaning}) | {lim.describe() or 'any finite value'} | {lim.basis} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(limits_markdown(), end="")
