"""What-if: the same runner under another condition (grade, cadence, trunk lean, overstride,
foot strike, treadmill or overground, wind), recomputed through the same engine.

A :class:`WhatIfEngine` holds one analysed trial (a :class:`~runmuscles.pipeline.TrialAnalysis`)
and, for a :class:`Condition`, transforms its motion and ground reaction forces and runs the
stages after kinematics again (:func:`runmuscles.pipeline.analyze_motion`: inverse dynamics,
muscle geometry, static optimization, per-stride analyses). Every transformation keeps the
motion consistent with Newton's laws: where the forces change, the centre of mass follows
them; where the centre of mass moves, the forces follow it; feet that are on the ground stay
on it (their new joint angles come from inverse kinematics of the leg). At the baseline
condition nothing is transformed and the result equals the analysis to the last bit.

Transformations (each is documented at its function, with its sources):

* **grade** (:meth:`WhatIfEngine._grade`): running up or down a slope at constant speed is,
  in the frame of the slope, level running with gravity tilted by the slope angle
  ``atan(grade)``. The extra force along and normal to the slope is added to the measured
  ground reaction force in proportion to each foot's normal force (zero in flight), so that
  over the trial the net force balances the tilted gravity; the centre of mass follows the
  changed force. With ``Condition.slope_adaptation`` (the default) the runner also adapts as
  runners on slopes do (:meth:`WhatIfEngine._slope_adaptation`): a higher step frequency
  uphill (+4 % from level to 7 %: Padulo J et al. 2013, PLoS One 8:e69006), and trunk and
  feet that keep their orientation to gravity rather than to the slope, so the foot lands
  flatter on an uphill slope (towards a mid- or forefoot strike) and more heel-first on a
  downhill one, and the trunk leans into the slope (the directions reviewed by Vernillo G
  et al. 2017, Sports Med 47:615-629).
* **cadence** (:meth:`WhatIfEngine._cadence`): step frequency x ``c`` at the same speed: the
  stride's time compressed by ``c``, step length / ``c``; vertical and lateral centre-of-mass
  excursions / ``c^2`` (same force amplitudes over shorter contacts: vertical impulse per
  stride still equals body weight x stride time); the feet's fore-aft reach / ``c``, so the
  fore-aft force, which points along the leg, / ``c`` too and its excursion / ``c^3``; feet on
  the ground at the same speed. The measured effects to compare with are those of
  Heiderscheit BC et al. (2011) Med Sci Sports Exerc 43:296-302.
* **trunk lean** (:meth:`WhatIfEngine._lean`): the trunk (lumbar joint) flexed forward by the
  angle, the pelvis moved so that the whole-body centre of mass (and hence the ground
  reaction force) is unchanged, feet where they were. Teng HL, Powers CM (2014) J Orthop
  Sports Phys Ther 44:785-792 and (2015) Med Sci Sports Exerc 47:625-630 measured the effect.
* **overstride** (:meth:`WhatIfEngine._overstride`): each foot lands ``d`` metres further
  ahead on its own ground path, i.e. ``d / v`` earlier, with toe-off unchanged: a longer
  stance and a shorter flight at the same cadence. Each contact's measured force is
  stretched over the longer stance with its impulses kept; the centre of mass follows.
* **foot strike** (:meth:`WhatIfEngine._strike`): the foot angle at contact set to a forefoot
  (-8 deg) or rearfoot (+16 deg) landing (Altman AR, Davis IS, 2012, Gait Posture
  35:298-300: rearfoot above 8 deg, forefoot below -1.6 deg), blending back to the measured
  foot angle by 40 % of stance; the centre of pressure starts under the ball for a forefoot
  landing (profiles of :mod:`runmuscles.dynamics.grf_estimation`); the centre of mass and
  the measured force are kept.

Legs follow their feet by inverse kinematics (:meth:`WhatIfEngine._leg_ik`): the ball of the
foot is held on its target path, the foot's pitch is a soft target, and joints are held
towards their measured angles. Every result reports the pelvis residuals and reserves, so a
transformation that leaves the motion less consistent shows it.
* **surface** (:meth:`WhatIfEngine._surface`): a treadmill at constant belt speed is an
  inertial frame, so muscle demand equals overground at the same speed (van Ingen Schenau
  GJ, 1980, Med Sci Sports Exerc 12:257-261): nothing changes. What does differ is modelled:
  air drag overground (``0.5 rho Cd A (v + wind)^2``, Pugh LGCE, 1971, J Physiol
  213:255-276), balanced by a propulsive ground reaction force, and belt-speed fluctuation
  during stance on a treadmill (the stance foot moves with the belt; the legs follow it).

Speed is not a transformation: :class:`SpeedModel` interpolates results between the runner's
own trials at measured speeds and refuses speeds outside them.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .analyses.validity import flag_reasons
from .constants import STANDARD_GRAVITY_M_S2
from .dynamics.inverse import BodyLoad
from .errors import InputError, ModelError
from .kinematics.coordinates import CoordinateKinematics
from .kinematics.events import StrideCycle
from .kinematics.filters import butterworth3_filtfilt, pad_odd, quintic_spline_derivative
from .pipeline import TrialAnalysis, analyze_motion
from .validation import check

__all__ = [
    "AIR_DENSITY_KG_M3",
    "DRAG_AREA_M2",
    "Condition",
    "SpeedModel",
    "WhatIfEngine",
    "WhatIfResult",
    "compare_groups",
    "export_opensim",
    "grade_cost_rows",
    "grade_cost_summary",
    "load_shifts",
    "load_runner",
]

# Air at 20 degC and sea level (International Standard Atmosphere: 1.204 kg/m^3).
AIR_DENSITY_KG_M3 = 1.204
# Drag area Cd x A of a 70 kg runner, m^2 (scaled by (mass / 70 kg)^(2/3) for others).
# Pugh LGCE (1971, J Physiol 213:255-276) showed that the extra oxygen cost of running against
# wind rises with the square of the air speed; the force is 0.5 rho Cd A v^2. The value used
# here, Cd 0.9 x projected frontal area 0.5 m^2 = 0.45 m^2, is an assumption of the order of
# the areas and coefficients reported for runners (Pugh 1971; Pecchiari M et al. 2023, Proc R
# Soc B 290:20231763); it is not fitted to any measurement and is reported with the result.
DRAG_AREA_M2 = 0.45
# Leg inverse kinematics weights (metres of foot position per radian): the foot's pitch is
# a soft target and each joint is held towards its measured angle (see ``_leg_ik``).
_W_PITCH = 0.01
# Leg inverse kinematics stops when no joint moves by more than this in an iteration (rad):
# 1e-5 rad is 0.01 mm at the end of a 1 m leg.
_IK_STEP_TOL_RAD = 1e-5
# ... and refreshes its Jacobian every this many iterations.
_IK_JACOBIAN_EVERY = 3
_W_JOINT = 0.005
# Foot strike angles for the strike transformation (deg, foot relative to the ground at
# contact, positive toes up): centres of the classes of Altman & Davis (2012).
STRIKE_ANGLE_DEG = {"rearfoot": 16.0, "forefoot": -8.0}
_SURFACES = ("treadmill", "overground")
# Step frequency uphill: +4 % from level to a 7 % slope at 70 % of VO2max (Padulo J, Powell
# D, Milia R, Ardigo LP (2013) A paradigm of uphill running. PLoS One 8:e69006), taken as
# linear in the grade: per cent of the level step frequency per per cent of grade. Downhill
# running lowers step frequency (Vernillo et al. 2017) but no per-grade figure is used here.
UPHILL_STEP_FREQUENCY_PCT_PER_PCT = 4.0 / 7.0


@dataclass(frozen=True)
class Condition:
    """A running condition, relative to the analysed trial.

    Attributes
    ----------
    speed_m_s
        Running speed (``None``: the trial's). Handled by :class:`SpeedModel`.
    grade_pct
        Slope in per cent (rise / run x 100), -20 to +20; positive uphill.
    cadence_pct
        Step frequency as a percentage of the trial's, 80-120 (``None``: as recorded, raised
        on an uphill slope by the slope adaptation; a number is used as given).
    lean_deg
        Extra forward trunk inclination (degrees; negative: more upright), -20 to +20.
    overstride_m
        Extra distance of the foot ahead at contact (m), 0 to 0.15 (a longer stance).
    strike
        ``"rearfoot"``, ``"forefoot"`` or ``None`` (as recorded).
    surface
        ``"treadmill"``, ``"overground"`` or ``None`` (as recorded).
    belt_fluctuation_pct
        Treadmill only: drop of the belt speed during stance, % of the speed (0-20).
    wind_m_s
        Overground only: head wind (positive) or tail wind (negative), m/s.
    slope_adaptation
        On a slope, add the runner's published adaptations to the tilted gravity (see
        :meth:`WhatIfEngine._slope_adaptation`); ``False``: the recorded form on the slope.
    """

    speed_m_s: float | None = None
    grade_pct: float = 0.0
    cadence_pct: float | None = None
    lean_deg: float = 0.0
    overstride_m: float = 0.0
    strike: str | None = None
    surface: str | None = None
    belt_fluctuation_pct: float = 0.0
    wind_m_s: float = 0.0
    slope_adaptation: bool = True

    def validate(self) -> None:
        for key in ("grade_pct", "lean_deg", "overstride_m", "belt_fluctuation_pct", "wind_m_s"):
            check(key, getattr(self, key))
        check("cadence_pct", self.cadence_pct)
        if self.strike not in (None, "rearfoot", "forefoot"):
            raise InputError("strike", f"'{self.strike}' is not one of rearfoot, forefoot")
        if self.surface not in (None, *_SURFACES):
            raise InputError("surface", f"'{self.surface}' is not one of treadmill, overground")
        check("speed_m_s", self.speed_m_s)

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the recorded condition."""
        base = Condition()
        return {k: v for k, v in self.__dict__.items() if v != getattr(base, k)}


@dataclass
class WhatIfResult:
    """Per-group load of one condition.

    Attributes
    ----------
    condition
        The condition.
    groups
        Per group: ``impulse_bw_s_per_stride``, ``positive_work_j_per_kg_per_stride``,
        ``negative_work_j_per_kg_per_stride``, ``peak_force_bw``, ``share_of_impulse``,
        ``share_of_positive_work`` and, when the speed is known, ``*_per_km``.
    stride
        ``stride_time_s``, ``stride_frequency_hz``, ``stride_length_m``, ``stance_fraction``.
    energetics
        ``metabolic_cost_j_per_kg_m`` (gross), ``net_metabolic_cost_j_per_kg_m``,
        ``metabolic_power_w_per_kg`` (None until computed; see ``with_energetics``).
    analysis
        The full analysis of the transformed trial (``None`` when interpolated).
    notes
        What was assumed.
    """

    condition: Condition
    groups: dict[str, dict[str, float]]
    stride: dict[str, float | None]
    energetics: dict[str, float | None] = field(default_factory=dict)
    analysis: TrialAnalysis | None = None
    notes: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "condition": dict(self.condition.__dict__),
            "groups": self.groups,
            "stride": self.stride,
            "energetics": self.energetics,
            "quality": self.quality,
            "notes": self.notes,
        }


_GROUP_KEYS = (
    "impulse_bw_s_per_stride",
    "positive_work_j_per_kg_per_stride",
    "negative_work_j_per_kg_per_stride",
    "share_of_impulse",
    "share_of_positive_work",
)


def _result_from_analysis(
    cond: Condition, a: TrialAnalysis, notes: list[str], *, energetics: bool
) -> WhatIfResult:
    gs = a.group_summary()
    bw = a.body_weight_n
    force = a.recruitment.muscle_force_n
    idx = {m: i for i, m in enumerate(a.muscle_names)}
    speed = a.options.speed_m_s
    stride_t = float(np.mean([c.duration_s for c in a.cycles])) if a.cycles else None
    per_km = 1000.0 / (speed * stride_t) if (speed and stride_t) else None
    groups: dict[str, dict[str, float]] = {}
    for g, entry in gs.items():
        row = {k: float(entry[k]) for k in _GROUP_KEYS}
        # peak of the group's summed force on one side, mean of both sides and all strides
        peaks = []
        for c in a.cycles:
            sel = (a.time_s >= c.start_s - 1e-9) & (a.time_s <= c.end_s + 1e-9)
            for suffix in ("_r", "_l"):
                cols = [idx[m] for m in entry["muscles"] if m.endswith(suffix)]
                if cols:
                    peaks.append(float(force[sel][:, cols].sum(axis=1).max()))
        row["peak_force_bw"] = float(np.mean(peaks)) / bw if peaks else 0.0
        if per_km is not None:
            for k in ("impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg"):
                row[f"{k}_per_km"] = row[f"{k}_per_stride"] * per_km
        groups[g] = row
    stride = {
        "stride_time_s": stride_t,
        "stride_frequency_hz": 1.0 / stride_t if stride_t else None,
        "stride_length_m": speed * stride_t if (speed and stride_t) else None,
        "stance_fraction": float(np.mean([c.stance_fraction for c in a.cycles])) if a.cycles else None,
    }
    res = WhatIfResult(cond, groups, stride, analysis=a, notes=list(notes), timings_s=dict(a.timings_s))
    q = a.quality
    res.quality = {
        "reserve_peak_nm_on_muscle_coordinates": q.get("reserve_peak_nm_on_muscle_coordinates"),
        "pelvis_residual_force_peak_n": q.get("residuals", {}).get("force_n", {}).get("peak"),
        "pelvis_residual_moment_peak_nm": q.get("residuals", {}).get("moment_nm", {}).get("peak"),
        "saturated_muscles": len(q.get("saturated_muscles", [])),
        # the one validity rule (runmuscles.analyses.validity): which figures are flagged, and why
        "figures_flagged": dict(q.get("figures_flagged", {})),
        "energy_flag_reasons": flag_reasons(q, "energy"),
    }
    if energetics:
        res.energetics = _energetics(a)
        res.energetics["metabolic_cost_flagged"] = bool(res.quality["energy_flag_reasons"])
    return res


def _energetics(a: TrialAnalysis) -> dict[str, float | bool | None]:
    from .analyses.energetics import energetics_summary  # noqa: PLC0415

    e = energetics_summary(a)
    return {
        k: e.get(k)
        for k in (
            "metabolic_cost_j_per_kg_m",
            "net_metabolic_cost_j_per_kg_m",
            "metabolic_power_w_per_kg",
            "net_metabolic_power_w_per_kg",
        )
    }


def compare_groups(baseline: WhatIfResult, whatif: WhatIfResult) -> dict[str, dict[str, float]]:
    """Per group and quantity: baseline, what-if, and change in per cent."""
    out: dict[str, dict[str, float]] = {}
    for g, b in baseline.groups.items():
        w = whatif.groups.get(g)
        if w is None:
            continue
        row: dict[str, float] = {}
        for k in (
            "impulse_bw_s_per_stride",
            "positive_work_j_per_kg_per_stride",
            "negative_work_j_per_kg_per_stride",
            "peak_force_bw",
        ):
            row[k] = w[k]
            row[f"baseline_{k}"] = b[k]
            row[f"change_pct_{k}"] = 100.0 * (w[k] - b[k]) / abs(b[k]) if abs(b[k]) > 1e-12 else 0.0
        out[g] = row
    return out


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _map_event_times(events, fn):
    """Gait events with every time passed through ``fn`` (a what-if that re-times the stride)."""
    from .kinematics.events import FootEvents, GaitEvents  # noqa: PLC0415

    feet = {
        side: FootEvents(fe.side, fn(np.asarray(fe.foot_strikes_s)), fn(np.asarray(fe.toe_offs_s)))
        for side, fe in events.feet.items()
    }
    cycles = {side: [_map_cycle(c, fn) for c in cs] for side, cs in events.cycles.items()}
    return GaitEvents(feet, cycles, events.source, list(events.notes))


def _map_cycle(c: StrideCycle, fn) -> StrideCycle:
    return replace(
        c,
        start_s=fn(c.start_s),
        toe_off_s=fn(c.toe_off_s),
        end_s=fn(c.end_s),
        braking_end_s=fn(c.braking_end_s),
    )


def _realized_landing(
    before: dict | None, after: dict | None, changed: list[tuple[str, float]], dt: float
) -> str:
    """The foot angle at contact that a landing change gave, after the legs' inverse
    kinematics and the coordinate filter (which round its peak): per foot, the median change
    over the strikes the transformation changed (strikes matched in order; a transformation
    neither adds nor removes contacts). Strikes at the window's edges that it could not change
    are left out and counted."""
    parts = []
    for side in ("right", "left"):
        b = [x for x in (before or {}).get("strides", []) if x["side"] == side]
        a = [x for x in (after or {}).get("strides", []) if x["side"] == side]
        times = [tt for s, tt in changed if s == side[0]]
        if not b or len(a) != len(b):
            continue
        idx = [k for k, x in enumerate(a) if any(abs(x["foot_strike_s"] - tt) <= 1.5 * dt for tt in times)]
        if not idx:
            parts.append(f"{side}: none of {len(a)} strikes could be changed (window edges)")
            continue
        d = np.median([a[k]["strike_angle_deg"] - b[k]["strike_angle_deg"] for k in idx])
        rest = len(a) - len(idx)
        parts.append(
            f"{side} {d:+.1f} deg"
            + (f" ({rest} edge strike{'s' if rest > 1 else ''} unchanged)" if rest else "")
        )
    if not parts:
        return "landing: the realized foot angle at contact could not be measured"
    return "landing as realized (median change of the foot angle at contact): " + ", ".join(parts)


def _heel_ball(engine, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    _, p = engine._poses(q)
    return {s: (p[:, engine._body(f"calcn_{s}")], p[:, engine._body(f"toes_{s}")]) for s in ("r", "l")}


#: Functional sets for "where did the load go" (model groups; gluteals and hamstrings as hip
#: extensors, quadriceps as knee extensors, calves as ankle plantarflexors).
EXTENSOR_SETS: dict[str, tuple[str, ...]] = {
    "hip_extensors": ("gluteals", "hamstrings"),
    "knee_extensors": ("quadriceps",),
    "ankle_plantarflexors": ("calves",),
}


def load_shifts(baseline: WhatIfResult, whatif: WhatIfResult) -> dict[str, dict[str, float]]:
    """Shares of the summed muscle impulse carried by the hip, knee and ankle extensors, in
    both conditions, and the change in percentage points."""
    out: dict[str, dict[str, float]] = {}
    for name, groups in EXTENSOR_SETS.items():
        b = sum(baseline.groups[g]["share_of_impulse"] for g in groups if g in baseline.groups)
        w = sum(whatif.groups[g]["share_of_impulse"] for g in groups if g in whatif.groups)
        out[name] = {"baseline_share": b, "whatif_share": w, "change_pp": 100.0 * (w - b)}
    return out


# -- the engine ----------------------------------------------------------------------------


def _periodic_double_integral(t: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Position deviation whose second derivative is ``acc`` (rows = samples), with zero mean
    velocity and zero mean position over the window (no drift: the motion stays periodic)."""
    dt = np.diff(t)[:, None]
    v = np.vstack([np.zeros((1, acc.shape[1])), np.cumsum(0.5 * (acc[1:] + acc[:-1]) * dt, axis=0)])
    v -= v.mean(axis=0)
    x = np.vstack([np.zeros((1, acc.shape[1])), np.cumsum(0.5 * (v[1:] + v[:-1]) * dt, axis=0)])
    # remove the linear trend left by a window that is not a whole number of periods
    tt = t - t.mean()
    slope = (tt @ (x - x.mean(axis=0))) / (tt @ tt)
    return x - x.mean(axis=0) - np.outer(tt, slope)


def _find(names: list[str], stem: str, side: str) -> int:
    for i, n in enumerate(names):
        if n.startswith(stem) and n.endswith(f"_{side}"):
            return i
    raise ModelError(f"the model has no coordinate '{stem}_{side}' (needed for this what-if)")


@dataclass
class _State:
    """Motion and forces being transformed (all on ``t``)."""

    t: np.ndarray
    q: np.ndarray
    qd: np.ndarray
    qdd: np.ndarray
    loads: list[BodyLoad]
    extra: list[BodyLoad]
    cycles: list[StrideCycle]
    events: Any
    dq: np.ndarray  # accumulated change of q (derivatives are taken of it)
    notes: list[str]
    # the legs' inverse-kinematics Jacobian of the last solve, the next one's first estimate
    ik_jacobian: dict[str, np.ndarray] | None = None
    # a centre-of-mass correction (m, (F, 3)) that the next transformation applies with its
    # own pelvis shift, the feet being on their targets already (one leg solve saved)
    pending_shift: np.ndarray | None = None
    # the foot strikes whose landing a transformation changed: (side "r"/"l", time s)
    changed_strikes: list[tuple[str, float]] = field(default_factory=list)


class WhatIfEngine:
    """One analysed trial, ready to be recomputed under other conditions.

    Parameters
    ----------
    analysis
        A :class:`~runmuscles.pipeline.TrialAnalysis` with ground reaction forces and at
        least one complete stride cycle.
    surface
        How the trial was recorded (``"treadmill"``/``"overground"``); ``None``: detected
        from the pelvis's progression (a treadmill runner stays in place).
    """

    def __init__(self, analysis: TrialAnalysis, *, surface: str | None = None) -> None:
        from .model import RunnerModel  # noqa: PLC0415

        a = analysis
        if not a.body_loads:
            raise InputError(
                a.coordinates_path, "what-if needs ground reaction forces (none in this analysis)"
            )
        if not a.cycles:
            raise InputError(a.coordinates_path, "what-if needs at least one complete stride cycle")
        self.analysis = a
        self.model = RunnerModel.load(a.model_path, cache_dir=a.options.cache_dir)
        if a.residual_reduction is not None:  # the reduced motion goes with the adjusted masses
            self.model = replace(self.model, multibody=a.residual_reduction.multibody)
        mb = self.model.multibody
        self.mb = mb
        self.names = list(mb.coordinate_names)
        g = np.asarray(mb.gravity_m_s2, dtype=float)
        self.g_m_s2 = g
        self.up = -g / np.linalg.norm(g)
        R, p = self.model.body_poses(a.coordinates.q)
        self._bodies = list(self.model.body_names)
        pel = self._body("pelvis")
        fwd = R[:, pel, :, 0].mean(axis=0)
        fwd -= (fwd @ self.up) * self.up
        self.fwd = fwd / np.linalg.norm(fwd)
        self.side_axis = np.cross(self.fwd, self.up)
        self.mass_kg = float(mb.total_mass_kg)
        # root translations: unit axis in ground of each translational root coordinate
        self._root_cols, self._root_axes = self._root_translations()
        self._feet = {
            f"{b}_{s}": self._bodies[self._body(f"{b}_{s}")] for b in ("toes", "calcn") for s in "rl"
        }
        self._feet_branch = mb.branch(list(self._feet.values()))
        self._kin_cache: dict[bytes, Any] = {}
        t = a.time_s
        prog = (p[-1, pel] - p[0, pel]) @ self.fwd
        self.speed_m_s = a.options.speed_m_s
        dur = float(t[-1] - t[0])
        if surface is None:
            if self.speed_m_s:
                surface = "treadmill" if abs(prog) < 0.3 * self.speed_m_s * dur else "overground"
            else:
                surface = "treadmill" if abs(prog) < 0.5 * dur else "overground"
        if surface not in _SURFACES:
            raise InputError("surface", f"'{surface}' is not one of treadmill, overground")
        self.surface = surface
        self._baseline: WhatIfResult | None = None

    # -- helpers ---------------------------------------------------------------------------
    def _speed(self, what: str) -> float:
        if not self.speed_m_s:
            raise InputError("speed_m_s", f"{what} needs the running speed (unknown for this trial)")
        return float(self.speed_m_s)

    def _body(self, stem: str) -> int:
        for i, n in enumerate(self._bodies):
            if n == stem or n.startswith(stem):
                return i
        raise ModelError(f"the model has no body '{stem}' (needed for what-if)")

    def _root_translations(self) -> tuple[list[int], np.ndarray]:
        mb = self.mb
        cols, axes = [], []
        for j in range(mb.n_joints):
            if mb.parent[j] != 0:
                continue
            for k in range(3, 6):
                c = int(mb.axis_coordinate[j, k])
                if c >= 0 and mb.motion_types[c] == "translational":
                    cols.append(c)
                    axes.append(mb.parent_R[j] @ mb.axes[j, k])
        if len(cols) < 2:
            raise ModelError(f"model '{mb.name}' has no free-floating pelvis (translations)")
        return cols, np.array(axes)

    def _shift_root(self, st: _State, dp: np.ndarray) -> None:
        """Move the whole body by ``dp`` (``(F, 3)`` m in ground) through the root translations."""
        A = self._root_axes.T  # (3, k)
        dc = np.linalg.lstsq(A, dp.T, rcond=None)[0].T  # (F, k)
        st.dq[:, self._root_cols] += dc

    def _complete(self, q: np.ndarray) -> np.ndarray:
        from .model.multibody import fill_dependent_coordinates  # noqa: PLC0415

        return fill_dependent_coordinates(self.mb, q)[0]

    def _kinematics(self, q: np.ndarray):
        """Forward kinematics of the whole body at ``q``; the last few poses are kept, as a
        transformation asks for the same pose's feet, centre of mass and body origins."""
        from .model.multibody import forward_kinematics  # noqa: PLC0415

        key = q.tobytes()
        kin = self._kin_cache.pop(key, None)
        if kin is None:
            kin = forward_kinematics(self.mb, self._complete(q))
        self._kin_cache[key] = kin  # most recent last
        while len(self._kin_cache) > 4:
            self._kin_cache.pop(next(iter(self._kin_cache)))
        return kin

    def _poses(self, q: np.ndarray):
        kin = self._kinematics(q)
        return np.transpose(kin.R_t, (3, 2, 0, 1)), np.transpose(kin.p_t, (2, 1, 0))

    def _com(self, q: np.ndarray) -> np.ndarray:
        from .model.multibody import mass_center  # noqa: PLC0415

        return mass_center(self.mb, q, kinematics=self._kinematics(q))[0]

    def _foot_state(self, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per side: the ball of the foot (``toes`` origin, the metatarsophalangeal joint)
        position ``(F, 3)`` and the foot's pitch (``calcn`` x axis; rad, toes up positive).

        The ball is what a foot rolls over in late stance, so inverse kinematics that holds it
        on its ground path lets the ankle plantarflex where the leg cannot reach further."""
        from .model.multibody import forward_kinematics  # noqa: PLC0415

        kin = self._kin_cache.get(q.tobytes())
        if kin is None:  # the feet alone (inverse kinematics' trial poses): the legs' branch
            kin = forward_kinematics(self._feet_branch, self._complete(q))
            index = self._feet_branch.body_index
        else:
            index = self.mb.body_index
        out = {}
        for s in ("r", "l"):
            ball, ca = index(self._feet[f"toes_{s}"]), index(self._feet[f"calcn_{s}"])
            p = kin.p_t[:, ball].T
            x = kin.R_t[:, 0, ca].T  # calcn x axis in ground, (F, 3)
            pitch = np.arctan2(x @ self.up, x @ self.fwd)
            out[s] = (p, pitch)
        return out

    def _leg_ik(
        self,
        q: np.ndarray,
        target: dict[str, tuple[np.ndarray, np.ndarray]],
        iterations: int = 15,
        jacobian: dict[str, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Hip flexion, knee angle and ankle angle of both legs such that each ball of the
        foot reaches its target position (fore-aft and vertical) and each foot its target
        pitch; other coordinates as given. Levenberg-Marquardt, both legs and all frames at
        once. The ball's position is the hard target; the foot's pitch is a soft one (0.01 m
        per rad), and each joint is held towards its measured angle (0.005 m per rad): near a
        straight leg, where a centimetre at the foot would cost the knee ten degrees, the
        ankle gives instead, as a runner's does. Joint ranges respected.

        ``jacobian``: a previous solve's Jacobian (same frames) to start from, as a
        transformation's poses change little between its solves; it is refreshed every third
        iteration either way. Returns the coordinates and the last Jacobian."""
        cols = {
            s: [
                _find(self.names, "hip_flexion", s),
                _find(self.names, "knee_angle", s),
                _find(self.names, "ankle_angle", s),
            ]
            for s in ("r", "l")
        }
        q = q.copy()
        h = 1e-5
        rng = np.asarray(self.mb.ranges, dtype=float)
        lo, hi = rng[:, 0].copy(), rng[:, 1].copy()
        # a knee never hyperextends in running: straight at most
        for s in ("r", "l"):
            k = cols[s][1]
            hi[k] = min(hi[k], 0.0) if lo[k] < 0 else hi[k]
        # per frame, the bounds also admit the measured pose itself (a recorded motion may go
        # past a model's nominal range; clipping it there would change the pose for nothing)
        lo = np.minimum(lo[None, :], q)
        hi = np.maximum(hi[None, :], q)

        def resid(qq: np.ndarray) -> dict[str, np.ndarray]:
            fs = self._foot_state(qq)
            out = {}
            reps = qq.shape[0] // q.shape[0]  # stacked poses (the Jacobian's) share the targets
            for s in ("r", "l"):
                pos, pitch = fs[s]
                tp, tpitch = target[s]
                if reps > 1:
                    tp, tpitch = np.tile(tp, (reps, 1)), np.tile(tpitch, reps)
                d = pos - tp
                out[s] = np.column_stack([d @ self.fwd, d @ self.up, _W_PITCH * (pitch - tpitch)])
            return out

        F = q.shape[0]
        q_ref = q.copy()
        w2 = _W_JOINT**2
        lam = {s: np.full(F, 1e-4) for s in ("r", "l")}
        r0 = resid(q)

        def cost(res: np.ndarray, qq: np.ndarray, s: str) -> np.ndarray:
            return (res**2).sum(axis=1) + w2 * ((qq[:, cols[s]] - q_ref[:, cols[s]]) ** 2).sum(axis=1)

        J: dict[str, np.ndarray] = {}
        reuse = jacobian is not None and all(jacobian[s].shape == (F, 3, 3) for s in ("r", "l"))
        for it in range(iterations):
            # the Jacobian is refreshed every third iteration only (the changes are small, and
            # each refresh costs three forward-kinematics passes)
            if it == 0 and reuse:
                J = jacobian  # type: ignore[assignment]
            elif it % _IK_JACOBIAN_EVERY == 0:
                J = self._ik_jacobian(q, cols, r0, resid, h)
            trial = q.copy()
            for s in ("r", "l"):
                # Levenberg-Marquardt: damped steps, so that a target out of reach (a leg
                # straight already) gives the closest pose instead of a jump between branches
                Jt = np.swapaxes(J[s], 1, 2)
                JtJ = Jt @ J[s]
                A = JtJ + (w2 + lam[s])[:, None, None] * np.eye(3)
                g = Jt @ r0[s][..., None] + w2 * (q[:, cols[s]] - q_ref[:, cols[s]])[..., None]
                step = np.linalg.solve(A, g)[..., 0]
                trial[:, cols[s]] = np.clip(q[:, cols[s]] - step, lo[:, cols[s]], hi[:, cols[s]])
            r1 = resid(trial)
            largest = 0.0
            for s in ("r", "l"):
                better = cost(r1[s], trial, s) < cost(r0[s], q, s)
                rows = np.flatnonzero(better)
                if rows.size:
                    largest = max(
                        largest, float(np.abs(trial[np.ix_(rows, cols[s])] - q[np.ix_(rows, cols[s])]).max())
                    )
                q[np.ix_(rows, cols[s])] = trial[np.ix_(rows, cols[s])]
                r0[s][rows] = r1[s][rows]
                lam[s] = np.where(better, lam[s] / 3.0, lam[s] * 4.0)
            if largest < _IK_STEP_TOL_RAD:  # no joint moved by more than this: converged
                break
        return q, J

    @staticmethod
    def _ik_jacobian(q, cols, r0, resid, h) -> dict[str, np.ndarray]:
        """Forward-difference Jacobian of both legs' residuals (legs perturbed together: they
        are independent chains)."""
        F = q.shape[0]
        J = {s: np.empty((F, 3, 3)) for s in ("r", "l")}
        # the three perturbed poses in one forward-kinematics pass (frames stacked)
        qp = np.concatenate([q] * 3, axis=0)
        for k in range(3):
            for s in ("r", "l"):
                qp[k * F : (k + 1) * F, cols[s][k]] += h
        rp = resid(qp)
        for k in range(3):
            for s in ("r", "l"):
                J[s][:, :, k] = (rp[s][k * F : (k + 1) * F] - r0[s]) / h
        return J

    def _defer_shift(self, st: _State, dp: np.ndarray) -> None:
        """A pelvis shift (m, ``(F, 3)``) that moves the centre of mass where the forces want
        it, with the feet on their targets already: the next pelvis shift and leg solve
        (:meth:`_balance_external`) or :meth:`_settle` apply it, so that one leg solve serves
        several transformations."""
        st.pending_shift = dp if st.pending_shift is None else st.pending_shift + dp

    def _settle(self, st: _State) -> None:
        """Apply a deferred pelvis shift, the feet kept where they are."""
        if st.pending_shift is None:
            return
        target = self._foot_state(st.q + st.dq)
        self._shift_root(st, st.pending_shift)
        st.pending_shift = None
        self._with_ik(st, target)

    def _with_ik(self, st: _State, target: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        q_now = st.q + st.dq
        q_new, st.ik_jacobian = self._leg_ik(q_now, target, jacobian=st.ik_jacobian)
        st.dq += q_new - q_now

    def _move_loads_with_feet(self, st: _State, q_before: np.ndarray, q_after: np.ndarray) -> None:
        """Centre of pressure follows the foot it is under (translation of the foot body)."""
        _, p0 = self._poses(q_before)
        _, p1 = self._poses(q_after)
        new = []
        for ld in st.loads:
            if ld.point_m is None or ld.point_in_body:
                new.append(ld)
                continue
            b = self._bodies.index(ld.body)
            shift = p1[:, b] - p0[:, b]
            shift -= np.outer(shift @ self.up, self.up)  # stays on the floor
            new.append(replace(ld, point_m=ld.point_m + shift))
        st.loads = new

    # -- public ----------------------------------------------------------------------------
    def baseline(self, *, energetics: bool = False) -> WhatIfResult:
        """The analysed trial as a what-if result (nothing transformed)."""
        if self._baseline is None or (energetics and not self._baseline.energetics):
            self._baseline = _result_from_analysis(Condition(), self.analysis, [], energetics=energetics)
        return self._baseline

    def evaluate(self, condition: Condition, *, energetics: bool = False) -> WhatIfResult:
        """Transform the trial to ``condition`` and recompute dynamics and muscles.

        ``condition.speed_m_s`` must be ``None`` or the trial's speed (other speeds: use
        :class:`SpeedModel`)."""
        cond = condition
        cond.validate()
        if cond.speed_m_s is not None and not (
            self.speed_m_s and abs(cond.speed_m_s - self.speed_m_s) < 1e-6
        ):
            raise InputError(
                "speed_m_s",
                f"this trial was run at {self.speed_m_s or 'an unknown speed'} m/s; "
                "other speeds come from the runner's trials at other speeds (SpeedModel)",
            )
        t0 = _time.perf_counter()
        a = self.analysis
        ck = a.coordinates
        st = _State(
            t=ck.time_s,
            q=ck.q,
            qd=ck.qdot,
            qdd=ck.qddot,
            loads=list(a.body_loads),
            extra=list(a.extra_loads or []),
            cycles=list(a.cycles),
            events=a.events,
            dq=np.zeros_like(ck.q),
            notes=[],
        )
        adapt = cond.slope_adaptation and cond.grade_pct != 0.0
        cadence, lean_rad, foot_rad = self._slope_adaptation(cond, st) if adapt else (1.0, 0.0, 0.0)
        if cond.cadence_pct is not None:  # asked for: used as given
            cadence = cond.cadence_pct / 100.0
        if cadence != 1.0:
            self._cadence(st, cadence)
        if lean_rad != 0.0:  # the slope's: trunk to gravity, centre of mass with it
            self._lean(st, lean_rad, keep_com=False)
        if cond.lean_deg != 0.0:
            self._settle(st)
            self._lean(st, math.radians(cond.lean_deg))
        if cond.overstride_m != 0.0:
            self._settle(st)
            self._overstride(st, cond.overstride_m)
        if cond.strike is not None:
            self._strike(st, cond.strike)
        elif foot_rad != 0.0:
            self._strike(st, None, delta_rad=foot_rad)
        if cond.grade_pct != 0.0:
            self._grade(st, cond.grade_pct)
        surface = cond.surface or self.surface
        if surface != self.surface or cond.wind_m_s or cond.belt_fluctuation_pct:
            self._settle(st)
            self._surface(st, surface, cond)
        self._settle(st)
        t_transform = _time.perf_counter() - t0
        if st.dq.any():
            dt = float(st.t[1] - st.t[0])
            # the changes are low-passed like the measured coordinates were (a joint that
            # reaches its range limit would otherwise put a kink into the accelerations)
            cutoff = a.options.lowpass_hz or 12.0
            n_pad = min(st.dq.shape[0] - 1, int(round(0.5 / dt)))
            st.dq = butterworth3_filtfilt(pad_odd(st.dq, n_pad), dt, cutoff)[n_pad : -n_pad or None]
            d1 = quintic_spline_derivative(st.dq, dt)
            d2 = quintic_spline_derivative(d1, dt)
            q, qd, qdd = self.model.complete_coordinates(st.q + st.dq, st.qd + d1, st.qdd + d2)
        else:
            q, qd, qdd = st.q, st.qd, st.qdd
        new_ck = CoordinateKinematics(
            st.t, ck.names, q, qd, qdd, ck.source, ck.lowpass_hz, list(ck.notes), list(ck.warnings)
        )
        vertical = {"time_s": st.t}
        from .pipeline import foot_side  # noqa: PLC0415

        for ld in st.loads:
            side = foot_side(ld.body)
            if side:
                vertical[side] = vertical.get(side, 0.0) + ld.force_n @ self.up
        opts = replace(a.options, residual_reduction=False)  # conditions start from the reduced motion
        res = analyze_motion(
            self.model,
            new_ck,
            st.loads,
            opts,
            events=st.events,
            cycles=st.cycles,
            vertical_grf_n=vertical,
            sources=(a.model_path, a.coordinates_path, a.external_loads_path),
            external_loads=a.external_loads,
            extra_loads=st.extra or None,
            foot_strike_from_file=all(x is y for x, y in zip(st.loads, a.body_loads, strict=True))
            and st.t is ck.time_s,
        )
        if cond.strike is not None or foot_rad != 0.0:
            dt = float(st.t[1] - st.t[0])
            st.notes.append(
                _realized_landing(self.analysis.foot_strike, res.foot_strike, st.changed_strikes, dt)
            )
        res.timings_s["transform"] = t_transform
        res.timings_s["total"] = _time.perf_counter() - t0
        res.residual_reduction = a.residual_reduction  # the adjusted model it ran on (for export_opensim)
        return _result_from_analysis(cond, res, st.notes, energetics=energetics)

    # -- transformations -------------------------------------------------------------------
    def _normal_forces(self, st: _State) -> dict[str, np.ndarray]:
        """Each foot's (``"r"``/``"l"``) ground reaction force along the vertical, N."""
        from .pipeline import foot_side  # noqa: PLC0415

        normal: dict[str, np.ndarray] = {}
        for ld in st.loads:
            s = foot_side(ld.body)
            if s:
                normal[s[0]] = normal.get(s[0], 0.0) + ld.force_n @ self.up
        return normal

    def _contacts(
        self, st: _State, normal: dict[str, np.ndarray] | None = None
    ) -> dict[str, list[tuple[int, int]]]:
        """Frame intervals ``[i0, i1)`` during which each foot is loaded."""
        from .kinematics.events import contact_intervals  # noqa: PLC0415

        rate = 1.0 / float(st.t[1] - st.t[0])
        normal = self._normal_forces(st) if normal is None else normal
        return {s: contact_intervals(fy, rate) for s, fy in normal.items()}

    def _balance_external(
        self,
        st: _State,
        force_n: np.ndarray,
        where: str,
        point_m: np.ndarray | None = None,
        *,
        lean: bool = False,
    ) -> None:
        """Add a steady external force on the runner (``(F, 3)`` N, e.g. tilted gravity's
        change or air drag) and keep running steady under it.

        * Ground reaction force: over the window its net change cancels the added force's
          impulse; it is added to each foot in proportion to that foot's normal force (so
          it is zero in flight and follows the measured stance shape).
        * Centre of mass: follows the changed net force (periodic double integral, moved
          through the pelvis translations).
        * Angular momentum (``lean=True``): the body shifts forward or back over its feet
          (pelvis moved, feet kept on the ground by leg inverse kinematics) until the mean
          moment of all external forces about the centre of mass equals the trial's. Off by
          default: at 10 % grade it asks for a 10 cm shift that the trailing leg cannot
          reach at toe-off; the change of moment is reported instead.
        """
        t = st.t
        T = float(t[-1] - t[0])
        normal = [ld.force_n @ self.up for ld in st.loads]
        total_normal = float(np.trapezoid(sum(normal), t))
        if total_normal <= 0:
            raise InputError(where, "the trial's ground reaction force has no upward impulse")
        impulse = np.trapezoid(force_n, t, axis=0)  # N s over the window
        q_now = st.q + st.dq
        pending = st.pending_shift if st.pending_shift is not None else np.zeros((t.size, 3))
        st.pending_shift = None
        com0 = self._com(q_now) + pending  # where the centre of mass is meant to be
        feet0 = self._foot_state(q_now)
        side = self.side_axis

        def mean_moment(loads: list[BodyLoad], com: np.ndarray) -> float:
            m = np.zeros(t.size)
            for ld in loads:
                if ld.point_m is None or ld.point_in_body:
                    continue
                m += np.cross(ld.point_m - com, ld.force_n) @ side
                if ld.torque_nm is not None:
                    m += ld.torque_nm @ side
            return float(np.trapezoid(m, t)) / T

        before = mean_moment(st.loads, com0)
        new_loads = []
        for ld, n in zip(st.loads, normal, strict=True):
            df = -np.outer(n / total_normal, impulse)
            new_loads.append(replace(ld, force_n=ld.force_n + df))
        st.loads = new_loads
        dgrf = -np.outer(sum(normal) / total_normal, impulse)
        dp = _periodic_double_integral(t, (dgrf + force_n) / self.mass_kg)
        # moment of the added force about the centre of mass (applied at its own point)
        extra_moment = 0.0
        if point_m is not None:
            extra_moment = float(np.trapezoid(np.cross(point_m - com0, force_n) @ side, t)) / T
        after = mean_moment(st.loads, com0 + dp) + extra_moment
        # shifting the body forward by x changes the mean moment by -x (fwd x F) . side
        lever = float(np.trapezoid(np.cross(self.fwd, sum(ld.force_n for ld in st.loads)) @ side, t)) / T
        shift = (after - before) / lever if abs(lever) > 1e-9 else 0.0
        if not lean:
            shift = 0.0
        self._shift_root(st, pending + dp + shift * self.fwd)
        self._with_ik(st, feet0)
        st.notes.append(
            f"{where}: ground reaction force changed by {np.round(-impulse / T, 1).tolist()} N on "
            f"average (fore-aft, vertical, lateral in ground axes); mean moment of external forces "
            f"about the centre of mass changed by {after - before:+.1f} N m"
            + (f"; the body moved {100 * shift:+.1f} cm forward over its feet to balance it" if lean else "")
        )

    def _slope_adaptation(self, cond: Condition, st: _State) -> tuple[float, float, float]:
        """How the runner adapts to the slope: ``(step-frequency factor, extra trunk lean rad,
        change of the foot's angle at contact rad)``, each noted in the result.

        * **Step frequency** uphill x ``(1 + 4/7 % per % of grade)`` (Padulo et al. 2013:
          +4 % from level to 7 % at the same relative intensity; linear in the grade is an
          assumption; at most 120 %) unless ``cadence_pct`` is given, which is used as given.
          Downhill: unchanged (lower step frequency is reported, Vernillo et al. 2017, but no
          per-grade figure is used).
        * **Trunk and feet keep their orientation to gravity**: in the slope's frame (the frame
          of the transformed trial) the trunk leans forward by the slope angle ``atan(grade)``
          uphill (back downhill; pelvis and feet kept, so the centre of mass moves with the
          trunk, about 1 cm at 10 %), and the foot meets the slope at its recorded angle minus the
          slope angle: flatter uphill, towards the mid- and forefoot strikes that runners adopt
          there, more heel-first downhill (Vernillo et al. 2017 review both directions; the
          size, exactly the slope angle, is this model's assumption, not a measured figure).
          A ``strike`` asked for explicitly replaces the foot's change.
        """
        theta = math.atan(cond.grade_pct / 100.0)
        factor = 1.0
        if cond.grade_pct > 0:
            factor = min(1.0 + UPHILL_STEP_FREQUENCY_PCT_PER_PCT * cond.grade_pct / 100.0, 1.2)
        if cond.cadence_pct is not None:
            step = f"step frequency {cond.cadence_pct:g} % as asked"
        else:
            step = f"step frequency x {factor:.3f}"
        st.notes.append(
            f"slope adaptation (Padulo et al. 2013; Vernillo et al. 2017): {step}, trunk "
            f"{math.degrees(theta):+.1f} deg forward and foot angle at contact {-math.degrees(theta):+.1f} "
            "deg relative to the slope, as intended (trunk and feet keep their orientation to gravity)"
            + ("; foot strike as asked instead" if cond.strike is not None else "")
        )
        return factor, theta, -theta

    def _grade(self, st: _State, grade_pct: float) -> None:
        """Gravity tilted by ``atan(grade)`` in the slope's frame (see the module notes)."""
        theta = math.atan(grade_pct / 100.0)
        gmag = float(np.linalg.norm(self.g_m_s2))
        g_new = gmag * (-math.sin(theta) * self.fwd - math.cos(theta) * self.up)
        dg = g_new - self.g_m_s2
        mb = self.mb
        F = st.t.size
        for i in range(1, mb.n_bodies):
            m = float(mb.mass_kg[i])
            if m <= 0:
                continue
            st.extra.append(
                BodyLoad(
                    body=mb.body_names[i],
                    force_n=np.broadcast_to(m * dg, (F, 3)).copy(),
                    point_m=np.broadcast_to(mb.com_m[i], (F, 3)).copy(),
                    point_in_body=True,
                    name=f"gravity_tilt_{mb.body_names[i]}",
                )
            )
        # a uniform field acts at the centre of mass: no moment about it
        self._balance_external(
            st, np.broadcast_to(self.mass_kg * dg, (F, 3)).copy(), f"grade {grade_pct:+g} %"
        )
        st.notes.insert(
            0,
            f"grade {grade_pct:+g} % ({math.degrees(theta):+.2f} deg): gravity tilted in the slope's frame",
        )

    def _cadence(self, st: _State, c: float) -> None:
        """Step frequency x ``c`` at the same speed (see the module notes)."""
        t = st.t
        t0 = float(t[0])
        tn = t0 + (t - t0) / c
        q_old = st.q
        feet = self._foot_state(q_old)
        q = q_old.copy()
        qd = st.qd * c
        qdd = st.qdd * c**2
        # whole-body progression: mean speed kept, excursions about it / c^2
        tt = t - t0
        root_pos = q_old[:, self._root_cols] @ self._root_axes  # (F, 3) in ground
        slope = np.polyfit(tt, root_pos, 1)[0]  # mean velocity, m/s (3,)
        dev = root_pos - np.outer(tt, slope)
        dev_mean = dev.mean(axis=0)
        new_pos = dev_mean + np.outer(tn - t0, slope) + (dev - dev_mean) / c**2
        A = self._root_axes.T
        q[:, self._root_cols] = np.linalg.lstsq(A, new_pos.T, rcond=None)[0].T
        vel = st.qd[:, self._root_cols] @ self._root_axes
        new_vel = slope + (vel - slope) / c
        qd[:, self._root_cols] = np.linalg.lstsq(A, new_vel.T, rcond=None)[0].T
        acc = st.qdd[:, self._root_cols] @ self._root_axes
        qdd[:, self._root_cols] = np.linalg.lstsq(A, acc.T, rcond=None)[0].T
        # feet: fore-aft excursion about the progression / c, height and pitch kept
        target = {}
        for s, (pos, pitch) in feet.items():
            f = pos @ self.fwd
            fdev = f - tt * (slope @ self.fwd)
            fm = fdev.mean()
            f_new = fm + (tn - t0) * (slope @ self.fwd) + (fdev - fm) / c
            target[s] = (pos + np.outer(f_new - f, self.fwd), pitch)
        st.t, st.q, st.qd, st.qdd = tn, q, qd, qdd
        self._with_ik(st, target)
        # The force is the measured one, time-compressed; so the whole-body centre of mass
        # (not only the pelvis) must follow the scaled excursions. The legs' and arms' new
        # motion moves it a little: the pelvis takes the difference, the legs follow.
        com_old = self._com(q_old)
        c_slope = np.polyfit(tt, com_old, 1)[0]
        c_dev = com_old - np.outer(tt, c_slope)
        c_mean = c_dev.mean(axis=0)
        # fore-aft: the force is re-aimed along the leg (below), so its fore-aft part scales
        # by 1/c like the foot's lever; the excursion then scales by 1/c^3
        per_axis = np.outer(self.fwd, self.fwd) / c**3 + (np.eye(3) - np.outer(self.fwd, self.fwd)) / c**2
        com_target = c_mean + np.outer(tn - t0, c_slope) + (c_dev - c_mean) @ per_axis
        self._move_loads_with_feet(st, q_old, st.q + st.dq)
        self._defer_shift(st, com_target - self._com(st.q + st.dq))
        # Spring-mass consistency: the foot's fore-aft distance from the centre of mass scales
        # by 1/c, so the fore-aft force does too (the force keeps pointing near the centre of
        # mass: the body's angular momentum stays balanced as it was in the trial)
        st.loads = [
            replace(ld, force_n=ld.force_n - np.outer(ld.force_n @ self.fwd, self.fwd) * (1.0 - 1.0 / c))
            for ld in st.loads
        ]
        st.events = _map_event_times(st.events, lambda x: t0 + (x - t0) / c)
        st.cycles = [_map_cycle(cy, lambda x: t0 + (x - t0) / c) for cy in st.cycles]
        st.notes.append(
            f"cadence {100 * c:.4g} %: stride time / {c:.4g}, step length / {c:.4g}, vertical and lateral "
            f"centre-of-mass excursions / {c * c:.3g} (same force amplitudes), fore-aft force / {c:.4g} "
            f"(along the leg) and excursion / {c**3:.3g}"
        )

    def _lean(self, st: _State, lean_rad: float, *, keep_com: bool = True) -> None:
        """Trunk flexed forward by ``lean_rad``; feet kept (module notes). With ``keep_com``
        the pelvis moves so that the centre of mass stays where it was; without, the centre of
        mass moves with the trunk by a constant offset (the same accelerations, so the same
        forces: the slope adaptation's lean, which so also shifts the body over its feet)."""
        lum = next((i for i, n in enumerate(self.names) if n.startswith("lumbar_ext")), None)
        if lum is None:
            raise ModelError(f"model '{self.mb.name}' has no lumbar_extension coordinate: no trunk lean")
        q_now = st.q + st.dq
        com0 = self._com(q_now)
        if not keep_com:
            st.dq[:, lum] -= lean_rad
            shift = self._com(st.q + st.dq) - com0
            st.notes.append(
                f"trunk lean {math.degrees(lean_rad):+.1f} deg (lumbar flexion), pelvis and feet kept: the "
                f"centre of mass moves {1000 * float(np.mean(shift @ self.fwd)):+.0f} mm forward"
            )
            return
        feet0 = self._foot_state(q_now)
        st.dq[:, lum] -= lean_rad
        com1 = self._com(st.q + st.dq)
        self._shift_root(st, com0 - com1)
        self._with_ik(st, feet0)
        # the legs' new angles move the centre of mass a little (millimetres): reported
        drift = float(np.abs(self._com(st.q + st.dq) - com0).max())
        st.notes.append(f"trunk lean: centre of mass kept within {1000 * drift:.1f} mm of the trial's")
        st.notes.append(
            f"trunk lean {math.degrees(lean_rad):+.1f} deg (lumbar flexion), pelvis moved to keep the "
            "centre of mass, feet kept on their ground paths (Teng & Powers 2014, 2015)"
        )

    def _surface(self, st: _State, surface: str, cond: Condition) -> None:
        """Treadmill or overground (see the module notes)."""
        v = self.speed_m_s
        if surface == "treadmill":
            if cond.wind_m_s:
                st.notes.append("wind has no effect on a treadmill indoors: ignored")
            if self.surface == "overground":
                self._drag(st, v, 0.0, remove=True)
            if cond.belt_fluctuation_pct:
                self._belt(st, cond.belt_fluctuation_pct / 100.0)
            if self.surface == "treadmill" and not cond.belt_fluctuation_pct:
                st.notes.append(
                    "treadmill at constant belt speed = overground without air: an inertial frame "
                    "(van Ingen Schenau 1980); nothing changes"
                )
            return
        if cond.belt_fluctuation_pct:
            raise InputError("belt_fluctuation_pct", "belt-speed fluctuation applies to a treadmill only")
        if self.surface == "treadmill":
            self._drag(st, v, cond.wind_m_s)
        elif cond.wind_m_s:
            # the recording already carries still-air drag: add only the wind's part
            self._drag(st, v, cond.wind_m_s, remove=False, minus_calm=True)

    def _drag(
        self, st: _State, v: float | None, wind_m_s: float, *, remove: bool = False, minus_calm: bool = False
    ) -> None:
        """Air drag ``0.5 rho CdA (v + wind)^2`` on the trunk, balanced by the ground reaction
        force (module notes)."""
        v = v or self._speed("air drag")
        area = DRAG_AREA_M2 * (self.mass_kg / 70.0) ** (2.0 / 3.0)
        air = v + wind_m_s
        drag = 0.5 * AIR_DENSITY_KG_M3 * area * air * abs(air)
        if minus_calm:
            drag -= 0.5 * AIR_DENSITY_KG_M3 * area * v * v
        if remove:
            drag = -drag
        F = st.t.size
        torso = self._body("torso")
        force = np.broadcast_to(-drag * self.fwd, (F, 3)).copy()
        com_local = np.asarray(self.mb.com_m[torso], dtype=float)
        st.extra.append(
            BodyLoad(
                body=self._bodies[torso],
                force_n=force,
                point_m=np.broadcast_to(com_local, (F, 3)).copy(),
                point_in_body=True,
                name="air_drag",
            )
        )
        R, p = self._poses(st.q + st.dq)
        point = p[:, torso] + np.einsum("fij,j->fi", R[:, torso], com_local)
        self._balance_external(st, force, "air drag", point_m=point)
        st.notes.append(
            f"air drag {drag:+.1f} N (air speed {air:.1f} m/s, Cd A {area:.2f} m^2, "
            f"air density {AIR_DENSITY_KG_M3} kg/m^3; Pugh 1971), applied at the trunk's centre of mass"
        )

    def _belt(self, st: _State, fraction: float) -> None:
        """Belt slowing by ``fraction`` of its speed during each stance (a half-sine dip, deepest at
        mid-stance): the stance foot travels back less; the centre of mass (an inertial-frame
        quantity) and the forces are unchanged; the legs follow the feet (inverse kinematics)."""
        v = self._speed("belt fluctuation")
        t = st.t
        q_now = st.q + st.dq
        feet = self._foot_state(q_now)
        contacts = self._contacts(st)
        target = {}
        for s, (pos, pitch) in feet.items():
            shift = np.zeros(t.size)
            for i0, i1 in contacts.get(s, []):
                i1 = min(i1, t.size)
                tc = float(t[i1 - 1] - t[i0])
                if tc <= 0:
                    continue
                tau = (t[i0:i1] - t[i0]) / tc
                # the belt slips less far back: integral of v f sin(pi tau) over the stance
                shift[i0:i1] = v * fraction * tc * (1 - np.cos(np.pi * tau)) / np.pi
                # after toe-off the swing foot returns to its own path over 0.1 s
                j1 = min(t.size, i1 + int(round(0.1 / float(t[1] - t[0]))))
                if j1 > i1:
                    shift[i1:j1] = shift[i1 - 1] * 0.5 * (1 + np.cos(np.linspace(0, np.pi, j1 - i1)))
            target[s] = (pos + np.outer(shift, self.fwd), pitch)
        self._with_ik(st, target)
        self._move_loads_with_feet(st, q_now, st.q + st.dq)
        st.notes.append(
            f"belt speed dips by {100 * fraction:g} % at mid-stance (half-sine): the stance foot moves "
            "with the belt; forces and centre of mass as measured (the laboratory frame is inertial)"
        )

    def _strike(self, st: _State, kind: str | None, *, delta_rad: float = 0.0) -> None:
        """Foot angle at contact set to ``STRIKE_ANGLE_DEG[kind]`` (module notes), or, with
        ``kind=None``, changed by ``delta_rad`` at every contact (a slope adaptation).

        Per contact: the change of foot pitch is full at foot strike and blends out by 40 % of
        stance (the foot is flat by then in either pattern) and in over the 0.1 s of late swing
        before it. The ball of the foot is lowered (forefoot) or raised (rearfoot) so that the
        lowest of heel and ball touches the floor at contact; the centre of pressure along the
        heel-ball line is shifted by the difference of the median forefoot and rearfoot profiles
        measured on the hamner2013 trials (:mod:`runmuscles.dynamics.grf_estimation`). The
        measured ground reaction force is kept (a forefoot landing has no impact peak: caveat).
        """
        from .dynamics.grf_estimation import _COP_FOREFOOT, _COP_REARFOOT, _COP_STANCE  # noqa: PLC0415
        from .pipeline import foot_side  # noqa: PLC0415

        target_deg = STRIKE_ANGLE_DEG[kind] if kind is not None else None
        rear, fore = STRIKE_ANGLE_DEG["rearfoot"], STRIKE_ANGLE_DEG["forefoot"]

        def _blend(angle_deg: float) -> float:  # 0: rearfoot profile, 1: forefoot profile
            return float(np.clip((rear - angle_deg) / (rear - fore), 0.0, 1.0))

        t = st.t
        dt = float(t[1] - t[0])
        q_now = st.q + st.dq
        feet = self._foot_state(q_now)
        hb = _heel_ball(self, q_now)
        normals = self._normal_forces(st)
        contacts = self._contacts(st, normals)
        target, cop_shift = {}, {}
        changed = []
        for s, (ball, pitch) in feet.items():
            heel = hb[s][0]
            hb_vec = ball - heel
            length = float(
                np.median(np.linalg.norm(hb_vec - np.outer(hb_vec @ self.side_axis, self.side_axis), axis=1))
            )
            # pitch of the heel-ball line minus the calcn axis pitch: a constant of the foot
            hb_pitch = np.arctan2(hb_vec @ self.up, hb_vec @ self.fwd)
            offset = float(np.median(hb_pitch - pitch))
            d_pitch = np.zeros(t.size)
            d_y = np.zeros(t.size)
            frac = np.zeros(t.size)
            normal = normals.get(s, np.zeros(t.size))
            for i0, i1 in contacts.get(s, []):
                i1 = min(i1, t.size)
                if i0 == 0 and float(normal[0]) > 0.25 * float(np.max(normal[i0:i1])):
                    continue  # a contact cut by the window's start: its landing is not in the data
                tc = float(t[i1 - 1] - t[i0])
                dphi = math.radians(target_deg) - float(pitch[i0]) if target_deg is not None else delta_rad
                new_deg = math.degrees(float(pitch[i0]) + dphi)
                new_hb = float(pitch[i0]) + dphi + offset
                old_hb = float(pitch[i0]) + offset
                # the ball rises with the toes (heel on the floor) or is the point on the floor
                dy = length * (max(0.0, math.sin(new_hb)) - max(0.0, math.sin(old_hb)))
                tau = (t[i0:i1] - t[i0]) / max(tc, dt)
                w_st = 1.0 - _smoothstep(tau / 0.4)
                d_pitch[i0:i1] += dphi * w_st
                d_y[i0:i1] += dy * w_st
                j0 = max(0, i0 - int(round(0.1 / dt)))
                w_sw = _smoothstep((t[j0:i0] - t[j0]) / max(t[i0] - t[j0], dt))
                d_pitch[j0:i0] += dphi * w_sw
                d_y[j0:i0] += dy * w_sw
                # centre-of-pressure profile: rearfoot at or above +16 deg, forefoot at or below
                # -8 deg, blended linearly between; shift = profile at the new angle - at the old
                frac[i0:i1] += (_blend(new_deg) - _blend(math.degrees(float(pitch[i0])))) * np.interp(
                    tau, _COP_STANCE, _COP_FOREFOOT - _COP_REARFOOT
                )
                changed.append(math.degrees(dphi))
                st.changed_strikes.append((s, float(t[i0])))
            target[s] = (ball + np.outer(d_y, self.up), pitch + d_pitch)
            cop_shift[s] = (frac, length)
        if not changed:
            if kind is None:  # a slope adaptation: nothing to adapt, the rest goes on
                st.notes.append("slope adaptation: no complete foot contact in the window, landing unchanged")
                return
            raise InputError("strike", "no complete foot contact in the analysed window")
        com0 = self._com(q_now)
        self._with_ik(st, target)
        # the measured force is kept, so the centre of mass must be too: the drift that the
        # legs' new motion gives it is undone by a pelvis shift (deferred: see _defer_shift)
        q_new = st.q + st.dq
        self._defer_shift(st, com0 - self._com(q_new))
        self._move_loads_with_feet(st, q_now, q_new)
        hb_new = _heel_ball(self, q_new)

        new = []
        for ld in st.loads:
            s = (foot_side(ld.body) or " ")[0]
            if ld.point_m is None or ld.point_in_body or s not in cop_shift:
                new.append(ld)
                continue
            frac, _ = cop_shift[s]
            axis = hb_new[s][1] - hb_new[s][0]
            axis -= np.outer(axis @ self.up, self.up)
            new.append(replace(ld, point_m=ld.point_m + frac[:, None] * axis))
        st.loads = new
        what = (
            f"{kind} landing: foot angle at contact {target_deg:+g} deg (Altman & Davis 2012 classes)"
            if kind is not None
            else "landing"
        )
        st.notes.append(
            f"{what}, changed by {np.mean(changed):+.1f} deg on average over {len(changed)} contacts; centre "
            "of pressure moved along the foot; measured force magnitudes kept (impact peak not removed)"
        )

    def _overstride(self, st: _State, d_m: float) -> None:
        """Each foot lands ``d_m`` further ahead on the same ground path: the contact starts
        ``d_m / v`` earlier (the foot's ground speed in early stance: the belt speed on a
        treadmill), toe-off unchanged, so stance lengthens and flight shortens. Each contact's
        force is stretched over the longer stance with its impulse kept (vertical: body weight x
        step time; fore-aft: the measured net), the centre of mass follows the changed force, the
        ball of the foot is held on its extended ground path (late swing blends into it over
        0.1 s) and the legs follow by inverse kinematics. Stride cycles keep their bounds (a
        period is a period); the extra early stance falls at the end of the previous cycle's late
        swing in the phase split (noted).
        """
        if d_m < 0:
            raise InputError("overstride_m", "only a longer reach (positive) is simulated")
        v = self._speed("overstriding")
        from .pipeline import foot_side  # noqa: PLC0415

        t = st.t
        q_now = st.q + st.dq
        feet = self._foot_state(q_now)
        contacts = self._contacts(st)
        all_c = sorted((i0, min(i1, t.size), s) for s, cs in contacts.items() for i0, i1 in cs)
        old_total = sum(ld.force_n for ld in st.loads)
        new_force = {id(ld): np.zeros_like(ld.force_n) for ld in st.loads}
        new_point = {id(ld): None if ld.point_m is None else ld.point_m.copy() for ld in st.loads}
        target = {s: (feet[s][0].copy(), feet[s][1].copy()) for s in feet}
        lead_times = []
        moved: list[tuple[float, float]] = []
        kept = np.ones(t.size, dtype=bool)
        for i0, i1, s in all_c:
            mine = [ld for ld in st.loads if (foot_side(ld.body) or " ")[0] == s]
            if i0 == 0:
                for ld in mine:
                    new_force[id(ld)][i0:i1] = ld.force_n[i0:i1]
                continue
            ball, pitch = feet[s]
            # the ball's ground speed in early stance (treadmill: the belt)
            k = max(i0 + 2, i0 + (i1 - i0) // 3)
            u = (ball[k] - ball[i0]) / (t[k] - t[i0])
            u_f = float(u @ self.fwd)
            speed = abs(u_f) if abs(u_f) > 0.3 * v else v
            lead = d_m / speed
            ts, te = float(t[i0]), float(t[i1 - 1])
            ts_new = ts - lead
            prev = [c for c in all_c if c[2] != s and c[0] < i0]
            if prev and t[min(prev[-1][1], t.size) - 1] > ts_new - 0.01:
                raise InputError(
                    "overstride_m",
                    f"{d_m:g} m needs contacts {1000 * lead:.0f} ms earlier; the flight before "
                    f"this one lasts only {1000 * (ts - t[min(prev[-1][1], t.size) - 1]):.0f} ms",
                )
            if ts_new < t[0]:
                continue
            lead_times.append(lead)
            moved.append((ts, lead))
            j = (t >= ts_new) & (t <= te)
            src = ts + (t[j] - ts_new) * (te - ts) / (te - ts_new)
            scale = (te - ts) / (te - ts_new)
            for ld in mine:
                f = np.column_stack([np.interp(src, t, ld.force_n[:, c]) for c in range(3)])
                new_force[id(ld)][j] = f * scale
                if ld.point_m is not None and not ld.point_in_body:
                    rel = np.column_stack(
                        [np.interp(src, t, ld.point_m[:, c] - ball[:, c]) for c in range(3)]
                    )
                    new_point[id(ld)][j] = rel  # relative to the ball; made absolute after IK
            # ball on its ground path, extended back in time
            jj = (t >= ts_new) & (t < ts)
            tgt_ball, tgt_pitch = target[s]
            tgt_ball[jj] = ball[i0] + np.outer(t[jj] - ts, u)
            tgt_pitch[jj] = pitch[i0]
            j0 = t >= ts_new - 0.1
            sw = j0 & (t < ts_new)
            if sw.any():
                b = _smoothstep((t[sw] - (ts_new - 0.1)) / 0.1)[:, None]
                land = ball[i0] + (ts_new - ts) * u
                tgt_ball[sw] = (1 - b) * ball[sw] + b * land
                tgt_pitch[sw] = (1 - b[:, 0]) * pitch[sw] + b[:, 0] * pitch[i0]
            kept[j] = False
        if not lead_times:
            raise InputError("overstride_m", "no complete foot contact in the analysed window")
        # the moved foot strikes (a strike within 15 ms of a moved contact's start)
        starts = np.array([x[0] for x in moved]) if moved else np.zeros(0)
        leads = np.array([x[1] for x in moved]) if moved else np.zeros(0)

        def earlier(times: np.ndarray) -> np.ndarray:
            out = np.asarray(times, dtype=float).copy()
            for k, tv in enumerate(out):
                hit = np.flatnonzero(np.abs(starts - tv) < 0.015)
                if hit.size:
                    out[k] = tv - leads[hit[0]]
            return out

        from .kinematics.events import FootEvents, GaitEvents  # noqa: PLC0415

        ev = st.events
        st.events = GaitEvents(
            {
                sd: FootEvents(fe.side, earlier(fe.foot_strikes_s), fe.toe_offs_s)
                for sd, fe in ev.feet.items()
            },
            ev.cycles,
            ev.source,
            list(ev.notes),
        )
        # loads outside the moved contacts keep their values
        loads = []
        for ld in st.loads:
            f = new_force[id(ld)]
            loads.append((ld, f))
        total_new = sum(f for _, f in loads)
        dp = _periodic_double_integral(t, (total_new - old_total) / self.mass_kg)
        self._shift_root(st, dp)
        self._with_ik(st, target)
        q_new = st.q + st.dq
        feet_new = self._foot_state(q_new)
        out = []
        for ld, f in loads:
            s = (foot_side(ld.body) or " ")[0]
            pt = new_point[id(ld)]
            if pt is not None and not ld.point_in_body and s in feet_new:
                absolute = np.where(kept[:, None], ld.point_m, pt + feet_new[s][0])
                absolute -= np.outer(absolute @ self.up - ld.point_m @ self.up, self.up)
                out.append(replace(ld, force_n=f, point_m=absolute))
            else:
                out.append(replace(ld, force_n=f))
        st.loads = out
        st.notes.append(
            f"overstride {100 * d_m:g} cm: contacts start {1000 * np.mean(lead_times):.0f} ms earlier "
            f"(stance longer, same toe-off), force impulses kept, centre of mass follows; "
            "the early stance counts in the previous cycle's late swing in the phase split"
        )


# -- speed -----------------------------------------------------------------------------------


def _lerp_nested(x: Any, y: Any, w: float) -> Any:
    if isinstance(x, dict):
        return {k: _lerp_nested(x[k], y[k], w) for k in x if k in y}
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return (1.0 - w) * float(x) + w * float(y)
    return x if w < 0.5 else y


class SpeedModel:
    """One runner's loads against speed, from trials at measured speeds.

    A speed between two measured ones is answered by linear interpolation of the two
    trials' results (each recomputed under the same condition); a speed outside the
    measured range is refused (``InputError``), never extrapolated.

    Parameters
    ----------
    engines
        :class:`WhatIfEngine` per trial, each with a known speed.
    """

    def __init__(self, engines: list[WhatIfEngine]) -> None:
        known = [e for e in engines if e.speed_m_s]
        if not known:
            raise InputError("speed", "no trial with a known speed")
        self.engines = sorted(known, key=lambda e: e.speed_m_s)
        self.speeds_m_s = [float(e.speed_m_s) for e in self.engines]

    def engine_at(self, speed_m_s: float) -> WhatIfEngine | None:
        for e in self.engines:
            if abs(e.speed_m_s - speed_m_s) < 1e-6:
                return e
        return None

    def evaluate(self, condition: Condition, *, energetics: bool = False) -> WhatIfResult:
        """The condition at ``condition.speed_m_s`` (required)."""
        v = condition.speed_m_s
        if v is None:
            raise InputError("speed_m_s", "give a speed for the speed model")
        lo, hi = self.speeds_m_s[0], self.speeds_m_s[-1]
        if v < lo - 1e-6 or v > hi + 1e-6:
            raise InputError(
                "speed_m_s",
                f"{v:g} m/s is outside this runner's measured speeds ({lo:g}-{hi:g} m/s); "
                "runmuscles does not extrapolate",
            )
        rest = replace(condition, speed_m_s=None)
        hit = self.engine_at(v)
        if hit is not None:
            r = hit.evaluate(rest, energetics=energetics)
            r.condition = condition
            return r
        i = int(np.searchsorted(self.speeds_m_s, v)) - 1
        e0, e1 = self.engines[i], self.engines[i + 1]
        w = (v - e0.speed_m_s) / (e1.speed_m_s - e0.speed_m_s)
        r0 = e0.evaluate(rest, energetics=energetics)
        r1 = e1.evaluate(rest, energetics=energetics)
        groups = {g: _lerp_nested(r0.groups[g], r1.groups[g], w) for g in r0.groups if g in r1.groups}
        stride = _lerp_nested(r0.stride, r1.stride, w)
        if stride.get("stride_time_s"):
            stride["stride_length_m"] = v * stride["stride_time_s"]
            for g in groups.values():
                per_km = 1000.0 / stride["stride_length_m"]
                for k in ("impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg"):
                    g[f"{k}_per_km"] = g[f"{k}_per_stride"] * per_km
        en = _lerp_nested(r0.energetics, r1.energetics, w) if r0.energetics and r1.energetics else {}
        # flagged when either trial's figures are (the validity rule, runmuscles.analyses.validity)
        reasons = list(
            dict.fromkeys(
                r0.quality.get("energy_flag_reasons", []) + r1.quality.get("energy_flag_reasons", [])
            )
        )
        if en:
            en["metabolic_cost_flagged"] = bool(reasons)
        notes = [
            f"interpolated between the trials at {e0.speed_m_s:g} and {e1.speed_m_s:g} m/s "
            f"(weight {w:.2f} on the faster)"
        ] + r0.notes
        res = WhatIfResult(condition, groups, stride, en, None, notes)
        res.quality = {"energy_flag_reasons": reasons}
        return res

    def table(self, *, level: str = "group") -> list[dict[str, Any]]:
        """Tidy rows against speed: one per (speed, group) or, with ``level="muscle"``, per
        (speed, muscle): loads per stride and per km, peak force, and the stride's frequency
        and length (means over the trial's strides)."""
        if level not in ("group", "muscle"):
            raise InputError("level", f"'{level}' is not one of group, muscle")
        rows = []
        for e in self.engines:
            r = e.baseline()
            if level == "group":
                for g, vals in r.groups.items():
                    rows.append({"speed_m_s": e.speed_m_s, "group": g, **vals, **r.stride})
                continue
            a = e.analysis
            per_km = 1000.0 / r.stride["stride_length_m"] if r.stride.get("stride_length_m") else None
            by: dict[str, list[dict]] = {}
            for row in a.muscle_rows():
                by.setdefault(row["muscle"], []).append(row)
            for m, rs in by.items():
                keys = (
                    "impulse_bw_s",
                    "positive_work_j",
                    "negative_work_j",
                    "peak_force_bw",
                    "peak_activation",
                )
                mean = {k: float(np.mean([x[k] for x in rs])) for k in keys}
                entry = {
                    "speed_m_s": e.speed_m_s,
                    "muscle": m,
                    "impulse_bw_s_per_stride": mean["impulse_bw_s"],
                    "positive_work_j_per_kg_per_stride": mean["positive_work_j"] / a.body_mass_kg,
                    "negative_work_j_per_kg_per_stride": mean["negative_work_j"] / a.body_mass_kg,
                    "peak_force_bw": mean["peak_force_bw"],
                    "peak_activation": mean["peak_activation"],
                    **r.stride,
                }
                if per_km is not None:
                    entry["impulse_bw_s_per_km"] = entry["impulse_bw_s_per_stride"] * per_km
                rows.append(entry)
        return rows


def load_runner(
    folder=None,
    *,
    trials: list[str] | None = None,
    strength: str = "volume",
    cache_dir=None,
    progress=None,
) -> SpeedModel:
    """Analyse a runner's trials (default: the bundled demo runner at 2-5 m/s) and return
    their :class:`SpeedModel` (each trial's :class:`WhatIfEngine`).

    Parameters
    ----------
    folder
        A trial folder in the hamner2013 layout (``None``: the bundled runner).
    trials
        Trial names in the folder (default: every ``Run_N`` with a known speed).
    strength
        Muscle strength model (see :class:`~runmuscles.pipeline.AnalysisOptions`).
    """
    from pathlib import Path  # noqa: PLC0415

    from .pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from .trials import demo_trials, resolve_trial  # noqa: PLC0415

    if folder is None:
        specs = demo_trials()
    else:
        folder = Path(folder)
        names = trials or sorted(p.name.removesuffix("_grf.xml") for p in folder.glob("Run_*_grf.xml"))
        if not names:
            raise InputError(folder, "no trials (Run_N_grf.xml) in this folder; name them with --trial")
        specs = [resolve_trial(folder, n) for n in names]
    engines = []
    for spec in specs:
        if progress is not None:
            progress(spec.label)
        opts = AnalysisOptions(
            speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength=strength, cache_dir=cache_dir
        )
        engines.append(WhatIfEngine(analyze_trial(spec.model, spec.coordinates, spec.forces, opts)))
    return SpeedModel(engines)


def grade_cost_rows(
    hamner_dir=None,
    *,
    subjects: list[str] | None = None,
    speeds_m_s: tuple[float, ...] = (3.0, 4.0),
    grades_pct: tuple[float, ...] = (-10.0, 10.0),
    slope_adaptation: bool = True,
    strength: str = "volume",
) -> list[dict[str, Any]]:
    """Metabolic cost on slopes against level, per runner and speed, next to Minetti et al. (2002).

    Each trial is analysed once (its published gait cycles) and recomputed at each grade by
    :class:`WhatIfEngine` with the default energy model (:mod:`runmuscles.analyses.energetics`).

    Parameters
    ----------
    hamner_dir
        A folder of runners in the hamner2013 layout, or one runner's folder (``None``: the
        bundled runner).
    subjects, speeds_m_s, grades_pct
        Runner folders (default: all), trial speeds (``Run_<speed>``) and grades (%).
    slope_adaptation
        See :class:`Condition`.

    Returns
    -------
    list of dict
        ``subject``, ``speed_m_s``, ``grade_pct``, ``net_j_per_kg_m`` (the grade's),
        ``level_net_j_per_kg_m``, ``ratio_to_level``, ``minetti_2002_ratio`` (``Cr(i) / Cr(0)``
        of the polynomial), ``ratio_error`` (``ratio_to_level / minetti_2002_ratio - 1``), and
        the delta efficiency of the slope, ``delta_efficiency`` and
        ``minetti_2002_delta_efficiency``: the work against gravity per metre,
        ``g sin(atan(grade))`` J/kg/m, over the change of net cost from level (Minetti's:
        ``Cr(i) - Cr(0)``). It says where a ratio falls short: a muscle energy model that
        charges lifting the body little more than the work itself has a delta efficiency near
        1, where the measured one uphill is about 0.4 (Margaria 1968; Minetti et al. 2002).
    """
    from .analyses.energetics import minetti_2002_cost_j_per_kg_m  # noqa: PLC0415
    from .pipeline import analyze_runner_trials  # noqa: PLC0415
    from .trials import demo_folder  # noqa: PLC0415

    for g in grades_pct:
        Condition(grade_pct=g).validate()
    c0 = minetti_2002_cost_j_per_kg_m(0.0)
    rows: list[dict[str, Any]] = []
    data = hamner_dir if hamner_dir is not None else demo_folder()
    for folder, v, analysis in analyze_runner_trials(
        data, subjects=subjects, speeds_m_s=speeds_m_s, strength=strength
    ):
        engine = WhatIfEngine(analysis)
        level = engine.baseline(energetics=True).energetics.get("net_metabolic_cost_j_per_kg_m")
        for g in grades_pct:
            r = engine.evaluate(Condition(grade_pct=g, slope_adaptation=slope_adaptation), energetics=True)
            net = r.energetics.get("net_metabolic_cost_j_per_kg_m")
            ratio = net / level if net is not None and level else None
            ref = minetti_2002_cost_j_per_kg_m(g) / c0
            lift = STANDARD_GRAVITY_M_S2 * math.sin(math.atan(g / 100.0))  # J/kg/m
            change = net - level if net is not None and level is not None else None
            rows.append(
                {
                    "subject": folder.name,
                    "speed_m_s": float(v),
                    "grade_pct": float(g),
                    "slope_adaptation": slope_adaptation,
                    "net_j_per_kg_m": net,
                    "level_net_j_per_kg_m": level,
                    "ratio_to_level": ratio,
                    "minetti_2002_ratio": ref,
                    "ratio_error": None if ratio is None else ratio / ref - 1.0,
                    "delta_efficiency": lift / change if change else None,
                    "minetti_2002_delta_efficiency": lift / (minetti_2002_cost_j_per_kg_m(g) - c0)
                    if g
                    else None,
                }
            )
    return rows


def grade_cost_summary(rows: list[dict[str, Any]]) -> dict[float, dict[str, float]]:
    """Per grade, the mean over trials of :func:`grade_cost_rows`' ratios: ``n_trials``,
    ``mean_ratio_to_level``, ``minetti_2002_ratio``, ``ratio_error`` (mean / Minetti - 1),
    ``mean_delta_efficiency`` and ``minetti_2002_delta_efficiency``; grades in ascending order."""
    by_grade: dict[float, list[dict[str, Any]]] = {}
    for r in rows:
        if r["ratio_to_level"] is not None:
            by_grade.setdefault(r["grade_pct"], []).append(r)
    out = {}
    for g, rs in sorted(by_grade.items()):
        mean = float(np.mean([r["ratio_to_level"] for r in rs]))
        ref = float(rs[0]["minetti_2002_ratio"])
        out[g] = {
            "n_trials": len(rs),
            "mean_ratio_to_level": mean,
            "minetti_2002_ratio": ref,
            "ratio_error": mean / ref - 1.0,
            "mean_delta_efficiency": float(np.mean([r["delta_efficiency"] for r in rs]))
            if all(r.get("delta_efficiency") is not None for r in rs)
            else None,
            "minetti_2002_delta_efficiency": rs[0].get("minetti_2002_delta_efficiency"),
        }
    return out


def export_opensim(result: WhatIfResult, folder) -> dict[str, Any]:
    """Write a what-if's motion and forces in OpenSim's formats, for OpenSim's own tools.

    Files: ``coordinates.mot`` (radians and metres, ``inDegrees=no``), ``grf.mot`` with its
    ExternalLoads ``grf.xml`` (one force per foot body, the feet's loads summed, the point of
    application their force-weighted mean), and ``condition.json`` with the gravity vector to
    set on the model (tilted for a grade), any other external loads (e.g. air drag) that
    these files do not carry, and the residual reduction's model adjustments (every body's
    mass and inertia scaled, the trunk's mass centre moved) that the motion goes with.

    Returns
    -------
    dict
        Paths (``coordinates``, ``grf_mot``, ``grf_xml``, ``condition``) and ``gravity_m_s2``.
    """
    import json  # noqa: PLC0415

    from .kinematics.forceplates import FeetGRF, write_grf  # noqa: PLC0415
    from .pipeline import foot_side  # noqa: PLC0415
    from .readers.opensim_files import write_storage  # noqa: PLC0415
    from .tables import TimeTable  # noqa: PLC0415

    a = result.analysis
    if a is None:
        raise InputError("export", "an interpolated result has no single motion to export")
    from .outputs import prepare_output_dir  # noqa: PLC0415

    out = prepare_output_dir(folder, "folder")
    ck = a.coordinates
    coords = write_storage(
        out / "coordinates.mot",
        TimeTable(ck.time_s, ck.q, list(ck.names), False, {}),
        name="coordinates",
        in_degrees=False,
    )
    force, cop, torque = {}, {}, {}
    for s in ("r", "l"):
        mine = [ld for ld in (a.body_loads or []) if (foot_side(ld.body) or " ")[0] == s]
        f = sum((ld.force_n for ld in mine), np.zeros((ck.time_s.size, 3)))
        fy = [np.abs(ld.force_n).sum(axis=1) for ld in mine]
        tot = np.maximum(sum(fy, np.zeros(ck.time_s.size)), 1e-12)
        pts = [ld.point_m for ld in mine if ld.point_m is not None and not ld.point_in_body]
        p = sum((w[:, None] * pt for w, pt in zip(fy, pts, strict=False)), np.zeros((ck.time_s.size, 3)))
        force[s], cop[s] = f, p / tot[:, None]
        torque[s] = sum(
            (ld.torque_nm for ld in mine if ld.torque_nm is not None), np.zeros((ck.time_s.size, 3))
        )
    mot, xml = write_grf(out / "grf.mot", FeetGRF(ck.time_s, force, cop, torque, []), prefix="ground_force")
    tilt = [ld for ld in (a.extra_loads or []) if ld.name.startswith("gravity_tilt_")]
    from .model import RunnerModel  # noqa: PLC0415

    rr = a.residual_reduction  # the reduced motion goes with the adjusted masses
    mb = (
        rr.multibody
        if rr is not None
        else RunnerModel.load(a.model_path, cache_dir=a.options.cache_dir).multibody
    )
    g = np.asarray(mb.gravity_m_s2, dtype=float)
    if tilt:
        body = tilt[0].body
        g = g + tilt[0].force_n[0] / float(mb.mass_kg[mb.body_names.index(body)])
    other = [ld.name for ld in (a.extra_loads or []) if not ld.name.startswith("gravity_tilt_")]
    cond = out / "condition.json"
    cond.write_text(
        json.dumps(
            {
                "condition": dict(result.condition.__dict__),
                "gravity_m_s2": g.tolist(),
                "other_external_loads": other,
                "model_adjustments": None
                if rr is None
                else {
                    "what": "residual reduction: set these on the model before OpenSim's tools",
                    "mass_scale_all_bodies": rr.mass_scale,
                    "trunk_body": rr.trunk_body,
                    "trunk_mass_center_shift_m": [float(v) for v in rr.trunk_com_shift_m],
                },
                "notes": result.notes,
            },
            indent=2,
        )
    )
    return {"coordinates": coords, "grf_mot": mot, "grf_xml": xml, "condition": cond, "gravity_m_s2": g}
