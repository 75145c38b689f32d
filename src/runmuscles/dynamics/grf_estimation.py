"""Ground reaction forces from motion alone (no force plate).

Running has no double support: at any instant at most one foot is on the ground, and the
total ground reaction force acts on that foot. This module builds an OpenSim-style ground
reaction force table (``calcn_r``/``calcn_l``, expressed in ground) from a model and its
joint angles, with exactly zero force in flight:

1. **Contacts from foot kinematics, coarse.** Per foot, the height of its lowest point (heel:
   the ``calcn`` origin; ball: the ``toes`` origin, i.e. the metatarsophalangeal joint) above
   that point's own floor level (2nd percentile over the trial). The foot is on the ground
   while that height is below ``contact_height_m``; gaps shorter than a flight can be are
   bridged, contacts shorter than a stance can be are dropped, and overlaps between the feet
   are cut at their middle (:func:`detect_foot_contacts`). A fixed height threshold misplaces
   the events by 10-35 ms, and by how much depends on speed and foot strike: the shoe and heel
   pad compress, and the foot rolls over the heel edge or the toes, so the skeleton's points
   are centimetres above their floor when the shoe touches or leaves the ground (at 5 m/s the
   heel point is 4-6 cm up at foot strike).
2. **Per-contact features.** Around each contact, in time normalised to the contact
   (``tau`` = 0 at foot strike, 1 at toe-off): the whole-body centre-of-mass force
   ``m (a - g)`` (centre of mass of the model on the unfiltered coordinates, low-passed with a
   third-order Butterworth filter forwards and backwards, differentiated twice with a quintic
   spline, as OpenSim's AnalyzeTool does; 6 Hz for the vertical, 12 Hz for the horizontal
   components), the heights of the heel and ball points, the stance leg's knee and ankle
   angles, the contact time and the duty factor. Forces are divided by the step's mean
   stance force, ``body weight x step time / contact time`` (over a step at steady speed the
   vertical impulse equals body weight x step time), so the features and the force shapes
   are dimensionless and comparable across runners and speeds.
3. **Contact timing, refined.** A linear map of the features (ridge regression: Hoerl AE,
   Kennard RW, 1970, Technometrics 12:55-67) gives the foot strike and toe-off corrections
   (as fractions of the coarse contact time): the centre-of-mass force says when the body
   is loaded and the foot heights how the foot lands and leaves, which a single height
   threshold cannot. The features are then taken again on the refined contacts.
4. **Force inside a contact.** A second linear map gives the vertical, fore-aft and lateral
   force at 41 points of the contact (``tau`` = 0..1), times the step's mean stance force;
   the vertical is kept non-negative, all components are zero at foot strike and toe-off and
   exactly zero outside the contacts. In effect it is a learned deconvolution: the low-pass
   filter smears the stance force into the flights, and the rigid model's centre of mass
   overshoots the body's (soft tissue moves relative to the skeleton, by 5-15 % more at
   faster speeds on these data); the map undoes both from examples. Fore-aft is along the
   direction of running (from the stance feet's motion relative to the centre of mass, so it
   holds on a treadmill, where the foot moves backwards with the belt, and overground);
   lateral is towards the stance foot's side.
5. **Point of application.** The centre of pressure moves along the foot, on the floor,
   from the heel (rearfoot landing: the heel is the lower of the two points at foot strike)
   or the forefoot (forefoot landing) past the metatarsophalangeal joint towards the toes,
   following a fixed profile over the fraction of stance (see ``_COP_STANCE``); it follows
   the foot, so on a treadmill it travels backwards with the belt. The free moment is zero.

Before any of it, the motion must be running (:mod:`runmuscles.dynamics.support`: a flight
phase in every step, no double support); walking, squats, jumps or standing are refused
with the reason, since their force cannot be given to one foot.

The maps of steps 3 and 4 are fitted (:func:`fit_grf_model`) on the measured forces of the
seven runners of Hamner & Delp (2013, J Biomech 46:780-787; treadmill, 2-5 m/s) and shipped
as ``runmuscles/data/grf_model.json`` with their provenance. :func:`validate_hamner2013`
reports each runner's errors with maps fitted on the six other runners only (leave one
runner out), so its numbers are those of a runner the maps have not seen. The maps know
treadmill running at 2-5 m/s of adults in shoes, with gait2392-family models (``calcn``,
``toes``, ``knee_angle``, ``ankle_angle``); for a model without knee and ankle coordinates
the estimate falls back to ``method="projection"``: the centre-of-mass force projected onto
half-period sine functions per coarse contact, its vertical impulse scaled to the step's.

:func:`estimate_grf` returns an :class:`EstimatedGRF`; :meth:`EstimatedGRF.write` saves the
``.mot`` + ExternalLoads ``.xml`` pair the pipeline reads unchanged.
:func:`baseline_grf` is the plain reference (centre of mass, low-pass, differentiated twice,
no contact logic) and :func:`grf_errors` / :func:`validate_hamner2013` compare both with
measured forces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2
from ..errors import InputError
from ..tables import TimeTable
from .support import SupportPattern, require_running, support_pattern

__all__ = [
    "GRF_MODEL_FILE",
    "EstimatedGRF",
    "FootContact",
    "GRFModel",
    "baseline_grf",
    "detect_foot_contacts",
    "estimate_grf",
    "estimate_grf_from_coordinates",
    "fit_grf_model",
    "grf_errors",
    "running_support",
    "validate_hamner2013",
]

GRF_MODEL_FILE = "grf_model.json"

# Shortest stance and longest bridged gap of running contacts (s). Stance lasts about
# 0.17-0.35 s from sprinting to jogging and flight 0.05-0.15 s (Novacheck TF, 1998, The
# biomechanics of running, Gait Posture 7:77-95); a contact shorter than 80 ms or a
# "flight" shorter than 50 ms in foot kinematics is a marker or IK artefact.
_MIN_CONTACT_S = 0.08
_MAX_BRIDGED_GAP_S = 0.05
# Centre of pressure along the foot, as a fraction of the heel (calcn origin, 0) -> ball
# (metatarsophalangeal joint, 1) axis, against the fraction of stance. The profiles are the
# medians of the measured centre of pressure of the hamner2013 treadmill trials (243 rearfoot
# and 42 forefoot contacts of 7 runners at 2-5 m/s; Hamner SR, Delp SL, 2013, J Biomech
# 46:780-787), past the ball towards the toe tips in late stance. They agree with the classic
# description of rearfoot running (Cavanagh PR, Lafortune MA, 1980, J Biomech 13:397-406):
# the centre of pressure leaves the heel within the first fifth of stance and spends most of
# stance under the metatarsal heads.
_COP_STANCE = np.array([0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 1.0])
_COP_REARFOOT = np.array([0.0, 0.02, 0.34, 0.61, 0.78, 0.90, 1.01, 1.12, 1.22, 1.39, 1.5])
_COP_FOREFOOT = np.array([0.55, 0.60, 0.93, 0.95, 1.02, 1.10, 1.19, 1.29, 1.41, 1.55, 1.6])

# The learned maps (steps 2-4 of the module notes). Sample points in normalised contact
# time: the force shape (output), the centre-of-mass force (vertical, horizontal), the joint
# angles and the foot heights (inputs). The centre-of-mass windows reach into the flights
# around the contact, where the low-pass filter has smeared its force.
_TAU_OUT = np.linspace(0.0, 1.0, 41)
_TAU_COM = np.linspace(-0.3, 1.3, 17)
_TAU_HORIZONTAL = np.linspace(-0.2, 1.2, 15)
_TAU_JOINT = np.linspace(0.0, 1.0, 11)
_TAU_FOOT = np.linspace(-0.2, 1.2, 29)
_JOINTS = ("knee_angle", "ankle_angle")
_MODEL_LOWPASS_HZ = 6.0
_MODEL_HORIZONTAL_LOWPASS_HZ = 12.0
_RIDGE = 1.0
# Contacts closer than this to the ends of a trial are not used for fitting (their
# features reach past the data) and a coarse contact is matched to a measured one only when
# both its events are within _MATCH_S of the measured ones.
_EDGE_S = 0.15
_MATCH_S = 0.08
_COMPONENTS = ("vertical", "fore_aft", "lateral")
_FEATURES = (
    f"centre-of-mass force / step mean stance force: {_MODEL_LOWPASS_HZ:g} Hz vertical at "
    f"{_TAU_COM.size} tau {_TAU_COM[0]:g}..{_TAU_COM[-1]:g}, {_MODEL_HORIZONTAL_LOWPASS_HZ:g} Hz "
    f"fore-aft and lateral at {_TAU_HORIZONTAL.size} tau {_TAU_HORIZONTAL[0]:g}..{_TAU_HORIZONTAL[-1]:g}; "
    f"{', '.join(_JOINTS)} (rad) at {_TAU_JOINT.size} tau 0..1; heel and ball height (m) at "
    f"{_TAU_FOOT.size} tau {_TAU_FOOT[0]:g}..{_TAU_FOOT[-1]:g}; duty factor, contact time (s), "
    "rearfoot landing"
)
_OUTPUT = f"vertical, fore-aft, lateral force / step mean stance force at {_TAU_OUT.size} tau 0..1"


@dataclass
class FootContact:
    """One foot's contact with the ground, from foot kinematics.

    Attributes
    ----------
    side
        ``"r"`` or ``"l"``.
    start_s, end_s
        Foot strike and toe-off (s).
    rearfoot
        True when the heel was the lower of heel and ball at foot strike.
    """

    side: str
    start_s: float
    end_s: float
    rearfoot: bool = True

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class EstimatedGRF:
    """Ground reaction forces estimated from motion, per foot, in ground axes.

    Attributes
    ----------
    time_s
        Sample times, shape ``(n,)``.
    force_n, cop_m, torque_nm
        ``{"r": (n, 3), "l": (n, 3)}``: force on the foot (exactly zero outside its
        contacts), point of application on the floor, free moment (zero).
    contacts
        The contacts, in time order.
    body_mass_kg
        The model's mass.
    notes
        What was assumed.
    source
        The coordinates file.
    """

    time_s: np.ndarray
    force_n: dict[str, np.ndarray]
    cop_m: dict[str, np.ndarray]
    torque_nm: dict[str, np.ndarray]
    contacts: list[FootContact]
    body_mass_kg: float
    notes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def total_force_n(self) -> np.ndarray:
        """Sum over both feet, ``(n, 3)``."""
        return self.force_n["r"] + self.force_n["l"]

    def table(self, *, prefix: str = "ground_force") -> TimeTable:
        """The loads as a table with the column names :meth:`write` uses."""
        from ..kinematics.forceplates import grf_table  # noqa: PLC0415

        return grf_table(self._feet(), prefix=prefix)

    def _feet(self):
        from ..kinematics.forceplates import FeetGRF  # noqa: PLC0415

        return FeetGRF(self.time_s, self.force_n, self.cop_m, self.torque_nm, [], list(self.notes))

    def write(self, path: str | Path, *, prefix: str = "ground_force") -> tuple[Path, Path]:
        """Write ``<stem>.mot`` and an ExternalLoads ``<stem>.xml`` (``calcn_r``/``calcn_l``).

        Parameters
        ----------
        path
            The ``.mot`` file (e.g. ``grf_estimated.mot``).
        prefix
            Column prefix; the XML's identifiers follow it.

        Returns
        -------
        (Path, Path)
            The ``.mot`` and ``.xml`` paths.
        """
        from ..kinematics.forceplates import write_grf  # noqa: PLC0415

        return write_grf(path, self._feet(), prefix=prefix)


# -- kinematics -------------------------------------------------------------------------------


def _coordinates(multibody, table: TimeTable):
    """Unfiltered coordinates (model order, radians/metres) with coupled ones filled."""
    from ..kinematics.coordinates import prepare_coordinates  # noqa: PLC0415
    from ..model.multibody import fill_dependent_coordinates  # noqa: PLC0415

    mb = multibody
    dep = set(mb.dependent_coordinates)
    fill = {
        n: float(mb.default_values[i])
        for i, n in enumerate(mb.coordinate_names)
        if (mb.locked[i] or n in dep) and n not in table
    }
    ck = prepare_coordinates(
        table, mb.coordinate_names, [t == "rotational" for t in mb.motion_types], lowpass_hz=None, fill=fill
    )
    q = ck.q.copy()
    locked = np.asarray(mb.locked, dtype=bool)
    q[:, locked] = np.asarray(mb.default_values)[locked]
    q, _, _ = fill_dependent_coordinates(mb, q)
    return ck.time_s, q, ck.notes


def _lowpass_second_derivative(time_s: np.ndarray, x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    from ..kinematics.filters import butterworth3_filtfilt, pad_odd, quintic_spline_derivative  # noqa: PLC0415

    dt = float((time_s[-1] - time_s[0]) / (time_s.size - 1))
    n = x.shape[0]
    pad = n // 2
    xf = butterworth3_filtfilt(pad_odd(x, pad), dt, cutoff_hz)
    return quintic_spline_derivative(quintic_spline_derivative(xf, dt), dt)[pad : pad + n]


def _up_axis(multibody) -> np.ndarray:
    g = np.asarray(multibody.gravity_m_s2, dtype=float)
    norm = float(np.linalg.norm(g))
    if norm == 0.0:
        raise InputError(multibody.source, "model has no gravity; cannot tell which way is up")
    return -g / norm


def _foot_points(multibody, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side: heel (``calcn`` origin) and ball (``toes`` origin) positions ``(F, 3)``."""
    from ..model.multibody import forward_kinematics  # noqa: PLC0415

    kin = forward_kinematics(multibody, q)
    p = kin.p_m
    out = {}
    for s in "rl":
        names = (f"calcn_{s}", f"toes_{s}")
        missing = [n for n in names if n not in multibody.body_names]
        if missing:
            raise InputError(
                multibody.source,
                f"model has no body {', '.join(missing)}: cannot find the feet "
                "(expected calcn_r/l and toes_r/l)",
            )
        out[s] = (p[:, multibody.body_index(names[0])], p[:, multibody.body_index(names[1])])
    return out


def detect_foot_contacts(
    time_s: np.ndarray,
    heel_height_m: dict[str, np.ndarray],
    ball_height_m: dict[str, np.ndarray],
    *,
    contact_height_m: float = 0.025,
    release_height_m: float = 0.035,
    resolution_s: float = 0.001,
) -> list[FootContact]:
    """Foot contacts from the heights of each foot's heel and ball.

    Parameters
    ----------
    time_s
        Frame times, ``(F,)``.
    heel_height_m, ball_height_m
        ``{"r": (F,), "l": (F,)}`` heights of the heel and ball points (any zero level: each
        point's floor is its 2nd percentile over the trial).
    contact_height_m, release_height_m
        A foot strikes the ground when its lower point comes closer than
        ``contact_height_m`` to its floor and leaves it when that point rises above
        ``release_height_m``.
    resolution_s
        Time step on which the heights are interpolated to place the events.

    Returns
    -------
    list of FootContact
        In time order; only contacts with both a foot strike and a toe-off in the data.
    """
    t = np.asarray(time_s, dtype=float)
    tf = np.arange(t[0], t[-1] + 0.5 * resolution_s, resolution_s)
    out: list[FootContact] = []
    for s in ("r", "l"):
        hh = heel_height_m[s] - np.percentile(heel_height_m[s], 2)
        hb = ball_height_m[s] - np.percentile(ball_height_m[s], 2)
        lowest = np.interp(tf, t, np.minimum(hh, hb))
        d = np.diff((lowest < contact_height_m).astype(np.int8))
        on = np.flatnonzero(d == 1) + 1
        d = np.diff((lowest < release_height_m).astype(np.int8))
        off = np.flatnonzero(d == -1) + 1
        spans: list[list[float]] = []
        for i in on:
            later = off[off > i]
            if not later.size:
                break
            a, b = float(tf[i]), float(tf[later[0]])
            if spans and a - spans[-1][1] < _MAX_BRIDGED_GAP_S:
                spans[-1][1] = b
            else:
                spans.append([a, b])
        for a, b in spans:
            if b - a >= _MIN_CONTACT_S:
                rear = float(np.interp(a, t, hh)) <= float(np.interp(a, t, hb))
                out.append(FootContact(s, a, b, rear))
    out.sort(key=lambda c: c.start_s)
    # no double support in running: cut overlaps of opposite feet at their middle
    for c0, c1 in zip(out[:-1], out[1:], strict=False):
        if c1.start_s < c0.end_s and c0.side != c1.side:
            mid = 0.5 * (c1.start_s + c0.end_s)
            c0.end_s, c1.start_s = mid, mid
    return [c for c in out if c.duration_s >= _MIN_CONTACT_S]


def _sines(tau: np.ndarray, n: int) -> np.ndarray:
    return np.sin(np.pi * np.outer(tau, np.arange(1, n + 1)))


def _contact_force(
    time_s: np.ndarray,
    com_force_n: np.ndarray,
    contacts: list[FootContact],
    query_s: np.ndarray,
    n_basis: int,
    up: np.ndarray,
    step_s: float = 0.001,
) -> np.ndarray:
    """Per-contact projection of the centre-of-mass force (see the module notes), ``(n, 3)``."""
    out = np.zeros((query_s.size, 3))
    for k, c in enumerate(contacts):
        a, b = c.start_s, c.end_s
        lo = 0.5 * (contacts[k - 1].end_s + a) if k > 0 else a - 0.05
        hi = 0.5 * (b + contacts[k + 1].start_s) if k + 1 < len(contacts) else b + 0.05
        lo, hi = max(min(lo, a), time_s[0]), min(max(hi, b), time_s[-1])
        tt = np.arange(lo, hi, step_s)
        raw = np.column_stack([np.interp(tt, time_s, com_force_n[:, j]) for j in range(3)])
        inside = (tt >= a) & (tt <= b)
        if inside.sum() <= n_basis:
            continue
        basis = _sines((tt[inside] - a) / (b - a), n_basis)
        coef, *_ = np.linalg.lstsq(basis, raw[inside], rcond=None)  # (n_basis, 3)
        # vertical: the step's impulse, not the smeared stance shape's, sets the scale
        v_raw = raw @ up
        v_coef = coef @ up
        shape_impulse = float(np.sum(basis @ v_coef)) * step_s
        step_impulse = float(np.sum(v_raw)) * step_s
        if shape_impulse > 0.0 and step_impulse > 0.0:
            coef = coef + np.outer(v_coef * (step_impulse / shape_impulse - 1.0), up)
        sel = (query_s >= a) & (query_s <= b)
        out[sel] += _sines((query_s[sel] - a) / (b - a), n_basis) @ coef
    return out


def _cop(
    time_s: np.ndarray,
    heel: np.ndarray,
    ball: np.ndarray,
    contacts: list[FootContact],
    query_s: np.ndarray,
    floor: float,
    up: np.ndarray,
) -> np.ndarray:
    """Centre of pressure along the heel -> ball axis, on the floor; held between contacts."""
    h = np.column_stack([np.interp(query_s, time_s, heel[:, j]) for j in range(3)])
    b = np.column_stack([np.interp(query_s, time_s, ball[:, j]) for j in range(3)])
    frac = np.full(query_s.size, np.nan)
    for c in contacts:
        sel = (query_s >= c.start_s) & (query_s <= c.end_s)
        profile = _COP_REARFOOT if c.rearfoot else _COP_FOREFOOT
        frac[sel] = np.interp((query_s[sel] - c.start_s) / c.duration_s, _COP_STANCE, profile)
    ok = np.isfinite(frac)
    if not ok.any():
        frac[:] = 0.0
    else:
        idx = np.flatnonzero(ok)
        pos = np.clip(np.searchsorted(idx, np.arange(frac.size), side="right") - 1, 0, None)
        hold = np.where(np.arange(frac.size) < idx[0], idx[0], idx[pos])
        frac = frac[hold]
        h, b = h[hold], b[hold]  # between contacts the point stays where the last one ended
    cop = h + frac[:, None] * (b - h)
    return cop - np.outer(cop @ up - floor, up)


# -- the learned maps -------------------------------------------------------------------------


@dataclass
class _Signals:
    """What the features of a trial are read from (model-independent arrays, SI units)."""

    time_s: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    lateral_r: np.ndarray  # horizontal, towards the right foot's side
    body_weight_n: float
    com_force_n: dict[str, np.ndarray]  # "vertical", "fore_aft", "lateral_r": (F,)
    heel_height_m: dict[str, np.ndarray]
    ball_height_m: dict[str, np.ndarray]
    joints_rad: dict[str, np.ndarray] | None  # side -> (F, len(_JOINTS)); None: not in the model
    contacts: list[FootContact]  # coarse, from foot kinematics


def _forward_axis(time_s, com_m, ball_m, contacts, up) -> np.ndarray:
    """Direction of running: the centre of mass's horizontal velocity relative to the stance
    foot, averaged over the middle halves of the contacts (treadmill: the foot moves
    backwards; overground: the body moves forwards)."""
    rel = {s: np.gradient(com_m - ball_m[s], time_s, axis=0) for s in "rl"}
    v = np.zeros(3)
    for c in contacts:
        sel = (time_s >= c.start_s + 0.25 * c.duration_s) & (time_s <= c.end_s - 0.25 * c.duration_s)
        if sel.any():
            v += rel[c.side][sel].mean(axis=0)
    v -= (v @ up) * up
    if np.linalg.norm(v) < 1e-6:  # no usable contact: the model's ground x axis
        v = np.array([1.0, 0.0, 0.0]) - up[0] * up
    return v / np.linalg.norm(v)


def _signals(
    multibody,
    table: TimeTable,
    *,
    contact_height_m: float,
    release_height_m: float,
) -> tuple[_Signals, np.ndarray, dict, list[str]]:
    """Signals of a trial, the coordinates ``q`` and the feet (heel, ball) positions."""
    from ..model.multibody import mass_center  # noqa: PLC0415

    mb = multibody
    t, q, notes = _coordinates(mb, table)
    up = _up_axis(mb)
    g = np.asarray(mb.gravity_m_s2, dtype=float)
    mass = float(mb.total_mass_kg)
    com, _, _ = mass_center(mb, q)
    feet = _foot_points(mb, q)
    heights = {s: (feet[s][0] @ up, feet[s][1] @ up) for s in "rl"}
    contacts = detect_foot_contacts(
        t,
        {s: heights[s][0] for s in "rl"},
        {s: heights[s][1] for s in "rl"},
        contact_height_m=contact_height_m,
        release_height_m=release_height_m,
    )
    forward = _forward_axis(t, com, {s: feet[s][1] for s in "rl"}, contacts, up)
    lateral_r = np.cross(forward, up)
    f_v = mass * (_lowpass_second_derivative(t, com, _MODEL_LOWPASS_HZ) - g)
    f_h = mass * (_lowpass_second_derivative(t, com, _MODEL_HORIZONTAL_LOWPASS_HZ) - g)
    names = list(mb.coordinate_names)
    joints = None
    if all(f"{j}_{s}" in names for j in _JOINTS for s in "rl"):
        joints = {s: q[:, [names.index(f"{j}_{s}") for j in _JOINTS]] for s in "rl"}
    sig = _Signals(
        t,
        up,
        forward,
        lateral_r,
        mass * float(np.linalg.norm(g)),
        {"vertical": f_v @ up, "fore_aft": f_h @ forward, "lateral_r": f_h @ lateral_r},
        {s: heights[s][0] - np.percentile(heights[s][0], 2) for s in "rl"},
        {s: heights[s][1] - np.percentile(heights[s][1], 2) for s in "rl"},
        joints,
        contacts,
    )
    return sig, q, feet, notes


def _support(prepared: tuple, source: str) -> SupportPattern:
    """Flight and double support of a trial from its signals (:func:`_signals`)."""
    sig, _, feet, _ = prepared
    up = sig.up
    return support_pattern(
        sig.time_s,
        {s: feet[s][0] @ up for s in "rl"},
        {s: feet[s][1] @ up for s in "rl"},
        sig.com_force_n["vertical"] / sig.body_weight_n,
        source=source,
    )


def running_support(multibody, table: TimeTable) -> SupportPattern:
    """Flight and double support of a motion (:mod:`runmuscles.dynamics.support`), from a model
    and its coordinates table; :meth:`SupportPattern.not_running` says whether it is running."""
    prepared = _signals(multibody, table, contact_height_m=0.025, release_height_m=0.035)
    return _support(prepared, table.source)


def _step_mean_force(sig: _Signals, contacts: list[FootContact]) -> np.ndarray:
    """Body weight x step time / contact time, per contact: the mean stance force of a step
    at steady speed. The step runs from the middle of the flight before to the middle of the
    flight after (a contact at an end of the trial borrows its other flight)."""
    out = np.empty(len(contacts))
    for k, c in enumerate(contacts):
        before = c.start_s - contacts[k - 1].end_s if k > 0 else None
        after = contacts[k + 1].start_s - c.end_s if k + 1 < len(contacts) else None
        before = after if before is None else before
        after = before if after is None else after
        flight = 0.5 * (max(before or 0.0, 0.0) + max(after or 0.0, 0.0))
        out[k] = sig.body_weight_n * (c.duration_s + flight) / c.duration_s
    return out


def _features(sig: _Signals, contacts: list[FootContact]) -> tuple[np.ndarray, np.ndarray]:
    """Per contact: the feature row (see the module notes) and the step's mean stance force."""
    if sig.joints_rad is None:
        raise InputError("estimate_grf", f"the learned map needs the coordinates {', '.join(_JOINTS)}")
    t = sig.time_s
    mean_force = _step_mean_force(sig, contacts)
    rows = []
    for c, f in zip(contacts, mean_force, strict=True):
        sign = 1.0 if c.side == "r" else -1.0

        def at(tau, x, c=c):
            return np.interp(c.start_s + tau * c.duration_s, t, x)

        rows.append(
            np.concatenate(
                [
                    at(_TAU_COM, sig.com_force_n["vertical"]) / f,
                    at(_TAU_HORIZONTAL, sig.com_force_n["fore_aft"]) / f,
                    sign * at(_TAU_HORIZONTAL, sig.com_force_n["lateral_r"]) / f,
                    *[at(_TAU_JOINT, sig.joints_rad[c.side][:, j]) for j in range(len(_JOINTS))],
                    at(_TAU_FOOT, sig.heel_height_m[c.side]),
                    at(_TAU_FOOT, sig.ball_height_m[c.side]),
                    [sig.body_weight_n / f, c.duration_s, float(c.rearfoot)],  # duty factor, ...
                ]
            )
        )
    return np.array(rows).reshape(len(contacts), -1), mean_force


@dataclass
class _Ridge:
    """Ridge regression on standardised features with an unpenalised intercept."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, ridge: float) -> _Ridge:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        xs = (x - mean) / scale
        y0 = y.mean(axis=0)
        w = np.linalg.solve(xs.T @ xs + ridge * np.eye(x.shape[1]), xs.T @ (y - y0))
        return cls(mean, scale, w, y0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.intercept

    def to_dict(self) -> dict:
        """Arrays as nested lists, to 7 significant digits."""

        def rounded(a: np.ndarray):
            return np.vectorize(lambda v: float(f"{v:.7g}"))(a).tolist()

        return {k: rounded(getattr(self, k)) for k in ("mean", "scale", "weights", "intercept")}

    @classmethod
    def from_dict(cls, d: dict) -> _Ridge:
        return cls(*(np.asarray(d[k], dtype=float) for k in ("mean", "scale", "weights", "intercept")))


@dataclass
class GRFModel:
    """The two learned maps of :func:`estimate_grf` (see the module notes).

    Attributes
    ----------
    timing
        Features -> foot strike and toe-off corrections, as fractions of the coarse contact.
    shape
        Features (on the refined contacts) -> vertical, fore-aft and lateral force at the 41
        points of ``_TAU_OUT``, per unit of the step's mean stance force (``3 x 41`` columns).
    provenance
        What it was fitted on, and how.
    """

    timing: _Ridge
    shape: _Ridge
    provenance: dict = field(default_factory=dict)

    def refine(self, sig: _Signals, coarse: list[FootContact]) -> list[FootContact]:
        """Contacts with the predicted timing corrections (see the module notes, step 3)."""
        if not coarse:
            return []
        x, _ = _features(sig, coarse)
        # a correction beyond half the coarse contact would be extrapolation: keep within it
        d = np.clip(self.timing.predict(x), -0.5, 0.5)
        out = [
            FootContact(c.side, c.start_s + a * c.duration_s, c.end_s + b * c.duration_s, c.rearfoot)
            for c, (a, b) in zip(coarse, d, strict=True)
        ]
        for c0, c1 in zip(out[:-1], out[1:], strict=False):
            if c1.start_s < c0.end_s:  # no double support in running
                mid = 0.5 * (c1.start_s + c0.end_s)
                c0.end_s, c1.start_s = mid, mid
        return [c for c in out if c.duration_s >= _MIN_CONTACT_S]

    def shapes(self, sig: _Signals, contacts: list[FootContact]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per component ``(n, 41)`` force shapes (vertical >= 0, zero at both ends) and the
        steps' mean stance forces ``(n,)``."""
        x, mean_force = _features(sig, contacts)
        y = self.shape.predict(x).reshape(len(contacts), len(_COMPONENTS), _TAU_OUT.size)
        out = {name: y[:, i].copy() for i, name in enumerate(_COMPONENTS)}
        out["vertical"] = np.clip(out["vertical"], 0.0, None)
        for v in out.values():
            v[:, 0] = 0.0
            v[:, -1] = 0.0
        return out, mean_force

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON."""
        p = Path(path)
        compact = {"separators": (",", ":")}
        p.write_text(
            '{\n"provenance": '
            + json.dumps(self.provenance, indent=1)
            + ',\n"timing": '
            + json.dumps(self.timing.to_dict(), **compact)
            + ',\n"shape": '
            + json.dumps(self.shape.to_dict(), **compact)
            + "\n}\n"
        )
        return p

    @classmethod
    def load(cls, path: str | Path | None = None) -> GRFModel:
        """Read a model (default: ``runmuscles/data/grf_model.json``, shipped)."""
        src = (
            Path(path)
            if path is not None
            else Path(str(resources.files("runmuscles") / "data" / GRF_MODEL_FILE))
        )
        if not src.exists():
            raise InputError(src, "ground reaction force model not found (fit it with fit_grf_model)")
        try:
            d = json.loads(src.read_text())
            return cls(_Ridge.from_dict(d["timing"]), _Ridge.from_dict(d["shape"]), d.get("provenance", {}))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(src, f"is not a ground reaction force model ({exc})") from None


@lru_cache(maxsize=1)
def _shipped_model() -> GRFModel:
    return GRFModel.load()


@dataclass
class _TrainingTrial:
    """A trial with measured forces: its signals, the measured total force (ground axes)
    and the measured contacts ``(start_s, end_s, side)``."""

    runner: str
    label: str
    signals: _Signals
    measured_time_s: np.ndarray
    measured_force_n: np.ndarray
    measured_contacts: list[tuple[float, float, str]]


def _inner(trial: _TrainingTrial, contacts: list[FootContact]) -> list[int]:
    t = trial.signals.time_s
    return [i for i, c in enumerate(contacts) if c.start_s > t[0] + _EDGE_S and c.end_s < t[-1] - _EDGE_S]


def _matched(trial: _TrainingTrial, c: FootContact) -> tuple[float, float] | None:
    best = None
    for a, b, side in trial.measured_contacts:
        near = side == c.side and abs(a - c.start_s) < _MATCH_S and abs(b - c.end_s) < _MATCH_S
        if near and (best is None or abs(a - c.start_s) < abs(best[0] - c.start_s)):
            best = (a, b)
    return best


def _shape_targets(trial: _TrainingTrial, contacts: list[FootContact], mean_force: np.ndarray) -> np.ndarray:
    sig = trial.signals
    axes = (sig.up, sig.forward, sig.lateral_r)
    rows = []
    for c, f in zip(contacts, mean_force, strict=True):
        tt = c.start_s + _TAU_OUT * c.duration_s
        fm = np.column_stack(
            [np.interp(tt, trial.measured_time_s, trial.measured_force_n[:, j]) for j in range(3)]
        )
        sign = (1.0, 1.0, 1.0 if c.side == "r" else -1.0)
        rows.append(np.concatenate([s * (fm @ a) / f for s, a in zip(sign, axes, strict=True)]))
    return np.array(rows)


def _fit(trials: list[_TrainingTrial], *, ridge: float = _RIDGE, provenance: dict | None = None) -> GRFModel:
    """Fit both maps on trials with measured forces (see the module notes)."""
    xs, ys = [], []
    for tr in trials:
        coarse = tr.signals.contacts
        if not coarse:
            continue
        x, _ = _features(tr.signals, coarse)
        for i in _inner(tr, coarse):
            m = _matched(tr, coarse[i])
            if m is not None:
                c = coarse[i]
                xs.append(x[i])
                ys.append([(m[0] - c.start_s) / c.duration_s, (m[1] - c.end_s) / c.duration_s])
    if len(xs) < 20:
        raise InputError("fit_grf_model", f"only {len(xs)} contacts matched to measured ones: need 20")
    n_timing = len(xs)
    timing = _Ridge.fit(np.array(xs), np.array(ys), ridge)
    model = GRFModel(timing, _Ridge(np.zeros(1), np.ones(1), np.zeros((1, 1)), np.zeros(1)))
    xs, ys = [], []
    for tr in trials:
        refined = model.refine(tr.signals, tr.signals.contacts)
        inner = _inner(tr, refined)
        if not inner:
            continue
        x, mean_force = _features(tr.signals, refined)
        y = _shape_targets(tr, refined, mean_force)
        xs.append(x[inner])
        ys.append(y[inner])
    model.shape = _Ridge.fit(np.vstack(xs), np.vstack(ys), ridge)
    model.provenance = dict(provenance or {})
    model.provenance.update(
        {
            "ridge": ridge,
            "contacts_timing": n_timing,
            "contacts_shape": int(sum(len(x) for x in xs)),
            "trials": [tr.label for tr in trials],
        }
    )
    return model


# -- estimation -------------------------------------------------------------------------------


def _learned_force(
    sig: _Signals, model: GRFModel, query_s: np.ndarray
) -> tuple[dict[str, np.ndarray], list[FootContact]]:
    """Per foot force ``(n, 3)`` from the learned maps, and the refined contacts."""
    contacts = model.refine(sig, sig.contacts)
    force = {s: np.zeros((query_s.size, 3)) for s in "rl"}
    if not contacts:
        return force, contacts
    shapes, mean_force = model.shapes(sig, contacts)
    for k, c in enumerate(contacts):
        sel = (query_s >= c.start_s) & (query_s <= c.end_s)
        tau = (query_s[sel] - c.start_s) / c.duration_s
        sign = 1.0 if c.side == "r" else -1.0
        for name, axis in zip(_COMPONENTS, (sig.up, sig.forward, sign * sig.lateral_r), strict=True):
            force[c.side][sel] += np.outer(mean_force[k] * np.interp(tau, _TAU_OUT, shapes[name][k]), axis)
    return force, contacts


def _projection_force(
    multibody,
    sig: _Signals,
    com_m: np.ndarray,
    query_s: np.ndarray,
    *,
    lowpass_hz: float,
    n_basis: int,
    horizontal_lowpass_hz: float,
    horizontal_n_basis: int,
) -> dict[str, np.ndarray]:
    """Per foot force ``(n, 3)``: the centre-of-mass force projected onto sine functions per
    coarse contact, the vertical impulse scaled to the step's (``method="projection"``)."""
    t, up, contacts = sig.time_s, sig.up, sig.contacts
    mass = float(multibody.total_mass_kg)
    g = np.asarray(multibody.gravity_m_s2, dtype=float)
    com_force = mass * (_lowpass_second_derivative(t, com_m, lowpass_hz) - g)
    f_vert = _contact_force(t, com_force, contacts, query_s, n_basis, up)
    com_force_h = mass * (_lowpass_second_derivative(t, com_m, horizontal_lowpass_hz) - g)
    f_hor = _contact_force(t, com_force_h, contacts, query_s, horizontal_n_basis, up)
    f_all = np.outer(f_vert @ up, up) + f_hor - np.outer(f_hor @ up, up)
    force = {}
    for s in "rl":
        own = np.zeros(query_s.size, dtype=bool)
        for c in contacts:
            if c.side == s:
                own |= (query_s >= c.start_s) & (query_s <= c.end_s)
        force[s] = np.where(own[:, None], f_all, 0.0)
    return force


def estimate_grf_from_coordinates(
    multibody,
    table: TimeTable,
    *,
    rate_hz: float = 1000.0,
    lowpass_hz: float = 6.0,
    n_basis: int = 6,
    contact_height_m: float = 0.025,
    release_height_m: float = 0.035,
    horizontal_lowpass_hz: float = 12.0,
    horizontal_n_basis: int = 2,
    method: str = "learned",
    model: GRFModel | None = None,
) -> EstimatedGRF:
    """Ground reaction forces from a model (:class:`~runmuscles.model.multibody.Multibody`) and
    its coordinates table; see :func:`estimate_grf` for the options."""
    if (
        min(rate_hz, lowpass_hz, n_basis, contact_height_m, horizontal_lowpass_hz, horizontal_n_basis) <= 0
        or release_height_m < contact_height_m
    ):
        raise InputError(
            "estimate_grf",
            "rate_hz, lowpass_hz, n_basis and contact_height_m must be positive, "
            "release_height_m at least contact_height_m",
        )
    if method not in ("learned", "projection"):
        raise InputError("estimate_grf", f"method must be 'learned' or 'projection', not {method!r}")
    prepared = _signals(
        multibody, table, contact_height_m=contact_height_m, release_height_m=release_height_m
    )
    pattern = _support(prepared, table.source)
    require_running(pattern)
    prepared[3].append(
        f"running: the body airborne {100 * pattern.flight_fraction:.0f} % of the time, both feet on the "
        f"ground {100 * pattern.double_support_fraction:.0f} % (runmuscles.dynamics.support)"
    )
    return _estimate(
        multibody,
        table.source,
        prepared,
        rate_hz=rate_hz,
        lowpass_hz=lowpass_hz,
        n_basis=n_basis,
        contact_height_m=contact_height_m,
        horizontal_lowpass_hz=horizontal_lowpass_hz,
        horizontal_n_basis=horizontal_n_basis,
        method=method,
        model=model,
    )


def _estimate(
    mb,
    source: str,
    prepared: tuple,
    *,
    rate_hz: float,
    lowpass_hz: float,
    n_basis: int,
    contact_height_m: float,
    horizontal_lowpass_hz: float,
    horizontal_n_basis: int,
    method: str,
    model: GRFModel | None,
) -> EstimatedGRF:
    """:func:`estimate_grf_from_coordinates` on the trial's signals (:func:`_signals`)."""
    from ..model.multibody import mass_center  # noqa: PLC0415

    sig, q, feet, notes = prepared
    if not sig.contacts:
        raise InputError(source, "no foot contact found in the foot kinematics (is this running?)")
    t, up = sig.time_s, sig.up
    tq = np.arange(t[0], t[-1] + 0.5 / rate_hz, 1.0 / rate_hz)
    notes = list(notes)
    if method == "learned" and sig.joints_rad is None:
        method = "projection"
        notes.append(
            f"the model has no {' / '.join(j + '_r/l' for j in _JOINTS)} coordinates: the learned "
            "ground reaction force map cannot be used; fell back to method='projection'"
        )
    if method == "learned":
        grf_model = model if model is not None else _shipped_model()
        force, contacts = _learned_force(sig, grf_model, tq)
        if not contacts:
            raise InputError(source, "no foot contact left after refining the contact times")
        trained = grf_model.provenance.get("data", "its training data")
        notes.append(
            f"ground reaction force estimated from motion alone: {len(contacts)} contacts "
            f"({sum(c.side == 'r' for c in contacts)} right, {sum(c.side == 'l' for c in contacts)} left) "
            f"from foot kinematics (foot below {100 * contact_height_m:.1f} cm), their timing and force "
            f"shape from the centre-of-mass force, foot heights and knee/ankle angles by maps fitted on "
            f"{trained}; zero in flight, free moment zero"
        )
    else:
        com, _, _ = mass_center(mb, q)
        force = _projection_force(
            mb,
            sig,
            com,
            tq,
            lowpass_hz=lowpass_hz,
            n_basis=n_basis,
            horizontal_lowpass_hz=horizontal_lowpass_hz,
            horizontal_n_basis=horizontal_n_basis,
        )
        contacts = sig.contacts
        notes.append(
            f"ground reaction force estimated from motion alone: {len(contacts)} contacts "
            f"({sum(c.side == 'r' for c in contacts)} right, {sum(c.side == 'l' for c in contacts)} left) "
            f"from foot kinematics (foot below {100 * contact_height_m:.1f} cm), centre-of-mass force "
            f"low-passed at {lowpass_hz:g} Hz ({horizontal_lowpass_hz:g} Hz horizontal), {n_basis} "
            f"({horizontal_n_basis}) sine functions per contact, zero in flight, free moment zero"
        )
    notes.append("force is zero before the first and after the last complete contact")
    sides = [c.side for c in contacts]
    repeats = sum(1 for x, y in zip(sides[:-1], sides[1:], strict=False) if x == y)
    if repeats:
        notes.append(f"{repeats} times the same foot twice in a row: check the foot kinematics")
    floor = float(min(np.percentile(feet[s][k] @ up, 2) for s in "rl" for k in (0, 1)))
    cop = {
        s: _cop(t, feet[s][0], feet[s][1], [c for c in contacts if c.side == s], tq, floor, up) for s in "rl"
    }
    torque = {s: np.zeros((tq.size, 3)) for s in "rl"}
    return EstimatedGRF(tq, force, cop, torque, contacts, float(mb.total_mass_kg), notes, source)


def estimate_grf(
    model_path: str | Path,
    coordinates_path: str | Path,
    *,
    rate_hz: float = 1000.0,
    lowpass_hz: float = 6.0,
    n_basis: int = 6,
    contact_height_m: float = 0.025,
    release_height_m: float = 0.035,
    horizontal_lowpass_hz: float = 12.0,
    horizontal_n_basis: int = 2,
    cache_dir: str | Path | None = None,
    method: str = "learned",
    grf_model: GRFModel | None = None,
) -> EstimatedGRF:
    """Ground reaction forces of a running trial from its motion alone.

    Parameters
    ----------
    model_path
        OpenSim ``.osim`` model (scaled to the runner; its mass is the runner's) with feet
        ``calcn_r/l`` and ``toes_r/l`` (and ``knee_angle_r/l``, ``ankle_angle_r/l`` for the
        learned method).
    coordinates_path
        Joint angles (``.mot``/``.sto`` from inverse kinematics).
    rate_hz
        Sample rate of the output table.
    contact_height_m, release_height_m
        Coarse foot strike and toe-off thresholds (see :func:`detect_foot_contacts`).
    method
        ``"learned"`` (default; see the module notes) or ``"projection"`` (the centre-of-mass
        force projected onto sine functions per coarse contact).
    lowpass_hz, n_basis
        ``method="projection"``: low-pass cutoff for the centre-of-mass position before
        differentiating, and sine functions per contact, for the vertical force. (The learned
        maps read the centre-of-mass force at the cutoffs they were fitted with, 6 and 12 Hz.)
    horizontal_lowpass_hz, horizontal_n_basis
        The same for the horizontal force.
    cache_dir
        Folder of the parsed-model cache (default: the user cache folder).
    grf_model
        The learned maps (default: the shipped ones, :meth:`GRFModel.load`).

    Returns
    -------
    EstimatedGRF
    """
    from ..model.geometry import default_cache_dir  # noqa: PLC0415
    from ..model.multibody import load_osim_cached  # noqa: PLC0415
    from ..readers.opensim_files import read_storage  # noqa: PLC0415

    mb = load_osim_cached(model_path, cache_dir if cache_dir is not None else default_cache_dir())
    return estimate_grf_from_coordinates(
        mb,
        read_storage(coordinates_path),
        rate_hz=rate_hz,
        lowpass_hz=lowpass_hz,
        n_basis=n_basis,
        contact_height_m=contact_height_m,
        release_height_m=release_height_m,
        horizontal_lowpass_hz=horizontal_lowpass_hz,
        horizontal_n_basis=horizontal_n_basis,
        method=method,
        model=grf_model,
    )


def baseline_grf(multibody, table: TimeTable, *, lowpass_hz: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The plain estimate: ``m (a_com - g)`` with the centre of mass low-passed and
    differentiated twice, no contact logic.

    Returns
    -------
    (time_s, force_n)
        Frame times ``(F,)`` and total force ``(F, 3)``.
    """
    from ..model.multibody import mass_center  # noqa: PLC0415

    t, q, _ = _coordinates(multibody, table)
    com, _, _ = mass_center(multibody, q)
    acc = _lowpass_second_derivative(t, com, lowpass_hz)
    return t, float(multibody.total_mass_kg) * (acc - np.asarray(multibody.gravity_m_s2, dtype=float))


# -- validation ------------------------------------------------------------------------------


def grf_errors(
    estimate_time_s: np.ndarray,
    estimate_force_n: np.ndarray,
    measured_time_s: np.ndarray,
    measured_force_n: np.ndarray,
    window_s: tuple[float, float],
    body_weight_n: float,
    measured_contacts_s: list[tuple[float, float]],
    *,
    vertical: int = 1,
    fore_aft: int = 0,
    peak_margin_s: float = 0.03,
) -> dict[str, float]:
    """Errors of an estimated total ground reaction force against a measured one.

    The estimate is interpolated linearly to the measured samples inside ``window_s``.

    Parameters
    ----------
    estimate_time_s, estimate_force_n
        ``(n,)`` and ``(n, 3)``.
    measured_time_s, measured_force_n
        ``(m,)`` and ``(m, 3)`` (both feet summed).
    window_s
        Compared time span (e.g. the trial's gait cycles).
    body_weight_n
        Normalisation.
    measured_contacts_s
        Measured contacts ``(start, end)``; those inside the window give the peak errors.
    vertical, fore_aft
        Column indices.
    peak_margin_s
        The estimate's peak is searched from this long before to this long after each contact.

    Returns
    -------
    dict
        ``vertical_rmse_bw``, ``fore_aft_rmse_bw``, ``peak_vertical_error_pct`` (mean over the
        contacts of ``|estimated peak - measured peak| / measured peak``), ``n_contacts``.
    """
    tm = np.asarray(measured_time_s, dtype=float)
    sel = (tm >= window_s[0]) & (tm <= window_s[1])
    if not sel.any():
        raise InputError("grf_errors", f"no measured samples in {window_s[0]:g}-{window_s[1]:g} s")
    te = np.asarray(estimate_time_s, dtype=float)
    est = np.column_stack(
        [np.interp(tm[sel], te, estimate_force_n[:, j], left=0.0, right=0.0) for j in range(3)]
    )
    meas = np.asarray(measured_force_n, dtype=float)[sel]
    rmse = np.sqrt(np.mean((est - meas) ** 2, axis=0)) / body_weight_n
    peaks = []
    for a, b in measured_contacts_s:
        if a < window_s[0] - 0.01 or b > window_s[1] + 0.01:
            continue
        m_in = (tm >= a) & (tm <= b)
        e_in = (te >= a - peak_margin_s) & (te <= b + peak_margin_s)
        if not m_in.any() or not e_in.any():
            continue
        pm = float(measured_force_n[m_in, vertical].max())
        pe = float(np.asarray(estimate_force_n)[e_in, vertical].max())
        peaks.append(abs(pe - pm) / pm * 100.0)
    return {
        "vertical_rmse_bw": float(rmse[vertical]),
        "fore_aft_rmse_bw": float(rmse[fore_aft]),
        "peak_vertical_error_pct": float(np.mean(peaks)) if peaks else float("nan"),
        "n_contacts": len(peaks),
    }


def _timing_errors(
    contacts: list[FootContact], measured: list[tuple[float, float, str]], window_s: tuple[float, float]
) -> dict[str, float]:
    """Foot strike and toe-off of the estimate minus the measured ones (ms), over the measured
    contacts inside the window that have an estimated contact of the same foot nearby."""
    d_on, d_off = [], []
    for a, b, side in measured:
        if a < window_s[0] - 0.01 or b > window_s[1] + 0.01:
            continue
        mine = [c for c in contacts if c.side == side and abs(c.start_s - a) < 0.1]
        if mine:
            c = min(mine, key=lambda c: abs(c.start_s - a))
            d_on.append(1000.0 * (c.start_s - a))
            d_off.append(1000.0 * (c.end_s - b))
    nan = float("nan")
    return {
        "foot_strike_error_ms": float(np.mean(d_on)) if d_on else nan,
        "toe_off_error_ms": float(np.mean(d_off)) if d_off else nan,
        "foot_strike_abs_error_ms": float(np.mean(np.abs(d_on))) if d_on else nan,
        "toe_off_abs_error_ms": float(np.mean(np.abs(d_off))) if d_off else nan,
    }


def _hamner_trials(data_dir: Path) -> list[tuple[str, str]]:
    out = []
    for subj in sorted(p for p in data_dir.iterdir() if p.is_dir() and (p / "gaitTimes.json").exists()):
        for mot in sorted((subj / "ik").glob("Run_*.mot")):
            out.append((subj.name, mot.stem))
    return out


@dataclass
class _HamnerTrial:
    subject: str
    run: str
    multibody: object
    table: TimeTable
    window_s: tuple[float, float]
    training: _TrainingTrial
    prepared: tuple  # what _signals returned


def _load_hamner(
    root: Path, trials: list[tuple[str, str]], cache_dir: str | Path | None, options: dict
) -> list[_HamnerTrial]:
    from ..kinematics.forceplates import detect_contacts  # noqa: PLC0415
    from ..model.geometry import default_cache_dir  # noqa: PLC0415
    from ..model.multibody import load_osim_cached  # noqa: PLC0415
    from ..readers.opensim_files import read_external_loads, read_storage  # noqa: PLC0415
    from ..trials import published_gait_window, trial_model  # noqa: PLC0415

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    heights = {k: options[k] for k in ("contact_height_m", "release_height_m") if k in options}
    heights = {"contact_height_m": 0.025, "release_height_m": 0.035, **heights}
    out = []
    for subject, run in trials:
        folder = root / subject
        mb = load_osim_cached(trial_model(folder), cache)
        table = read_storage(folder / "ik" / f"{run}.mot")
        loads = read_external_loads(folder / f"{run}_grf.xml")
        window = published_gait_window(folder, run)
        if window is None:
            raise InputError(folder / "gaitTimes.json", f"has no gait cycles for {run}")
        d = loads.data
        rate = (d.time_s.size - 1) / (d.time_s[-1] - d.time_s[0])
        measured = np.zeros((d.n_frames, 3))
        contacts = []
        for f in loads.forces:
            fxyz = d.columns(f.force_columns)
            measured += fxyz
            side = f.applied_to_body[-1]
            contacts += [(d.time_s[a], d.time_s[b - 1], side) for a, b in detect_contacts(fxyz[:, 1], rate)]
        prepared = _signals(mb, table, **heights)
        tr = _TrainingTrial(subject, f"{subject}/{run}", prepared[0], d.time_s, measured, sorted(contacts))
        out.append(_HamnerTrial(subject, run, mb, table, window, tr, prepared))
    return out


def fit_grf_model(
    data_dir: str | Path,
    out_path: str | Path | None = None,
    *,
    runners: list[str] | None = None,
    cache_dir: str | Path | None = None,
) -> GRFModel:
    """Fit the maps of :func:`estimate_grf` on the Hamner & Delp (2013) trials.

    Parameters
    ----------
    data_dir
        The ``hamner2013`` folder (``subjectNN/{model,ik}``, ``Run_N_grf.xml``, ``gaitTimes.json``).
    out_path
        Where to write the model (JSON); the shipped one is ``runmuscles/data/grf_model.json``,
        fitted on all seven runners.
    runners
        Subjects to fit on (default: all).
    cache_dir
        Parsed-model cache folder.

    Returns
    -------
    GRFModel
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(root, "hamner2013 data folder not found")
    pairs = [p for p in _hamner_trials(root) if runners is None or p[0] in runners]
    if not pairs:
        raise InputError(root, "no hamner2013 trials to fit on")
    loaded = _load_hamner(root, pairs, cache_dir, {})
    model = _fit(
        [h.training for h in loaded],
        provenance={
            "data": "Hamner & Delp (2013) J Biomech 46:780-787, treadmill 2-5 m/s, runners "
            + ", ".join(sorted({h.subject for h in loaded})),
            "measured_contacts": "force-plate contacts of each foot (above 50 N, ends at 20 N)",
            "features": _FEATURES,
            "output": _OUTPUT,
        },
    )
    if out_path is not None:
        model.save(out_path)
    return model


def validate_hamner2013(
    data_dir: str | Path,
    *,
    trials: list[tuple[str, str]] | None = None,
    cache_dir: str | Path | None = None,
    held_out: bool = True,
    **options,
) -> list[dict]:
    """Estimated and baseline forces against the measured ones of the Hamner & Delp (2013) trials.

    Parameters
    ----------
    data_dir
        The ``hamner2013`` folder (``subjectNN/{model,ik}``, ``Run_N_grf.xml``, ``gaitTimes.json``).
    trials
        ``(subject, run)`` pairs such as ``("subject01", "Run_4")``; default: all.
    cache_dir
        Parsed-model cache folder.
    held_out
        Estimate each runner's trials with maps fitted on the other runners' trials only
        (leave one runner out: the errors of a runner the maps have not seen). ``False``: with
        the shipped maps (fitted on all seven runners, so these errors are in-sample).
    options
        Passed to :func:`estimate_grf_from_coordinates`.

    Returns
    -------
    list of dict
        Per trial: ``subject``, ``trial``, ``window_s`` (first to last gait-cycle time of
        ``gaitTimes.json``), the :func:`grf_errors` of the estimate (``estimated``) and of
        :func:`baseline_grf` (``baseline``), the contact timing errors of the estimate
        (``timing``: mean foot strike and toe-off minus the plate's, ms) and ``held_out``.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(root, "hamner2013 data folder not found")
    import inspect  # noqa: PLC0415

    defaults = {
        k: v.default
        for k, v in inspect.signature(estimate_grf_from_coordinates).parameters.items()
        if v.default is not inspect.Parameter.empty and k != "model"
    }
    unknown = set(options) - set(defaults)
    if unknown:
        raise InputError("validate_hamner2013", f"unknown options: {', '.join(sorted(unknown))}")
    settings = {k: v for k, v in {**defaults, **options}.items() if k != "release_height_m"}
    everything = _hamner_trials(root)
    if not everything:
        raise InputError(
            root,
            "has no trials to validate (expected subject folders with gaitTimes.json, ik/Run_N.mot and "
            "Run_N_grf.xml: the hamner2013 layout)",
        )
    held_out_runners = {s for s, _ in everything}
    if held_out and options.get("method", "learned") == "learned" and len(held_out_runners) < 2:
        raise InputError(
            root,
            f"has one runner ({next(iter(held_out_runners))}); a held-out validation needs at least two "
            "(each runner's forces are estimated with maps fitted on the others)",
        )
    wanted = list(trials) if trials else everything
    loaded = _load_hamner(root, everything if held_out else wanted, cache_dir, options)
    by_key = {(h.subject, h.run): h for h in loaded}
    models: dict[str, GRFModel] = {}
    rows = []
    for key in wanted:
        if key not in by_key:
            raise InputError(root / key[0], f"has no trial {key[1]}")
        h = by_key[key]
        model = None
        if held_out and options.get("method", "learned") == "learned":
            if h.subject not in models:
                models[h.subject] = _fit([o.training for o in loaded if o.subject != h.subject])
            model = models[h.subject]
        tr = h.training
        bw = float(h.multibody.total_mass_kg) * STANDARD_GRAVITY_M_S2
        est = _estimate(h.multibody, h.table.source, h.prepared, **settings, model=model)
        tb, fb = baseline_grf(h.multibody, h.table)
        plate = [(a, b) for a, b, _ in tr.measured_contacts]
        m_t, m_f = tr.measured_time_s, tr.measured_force_n
        rows.append(
            {
                "subject": h.subject,
                "trial": h.run,
                "window_s": h.window_s,
                "estimated": grf_errors(est.time_s, est.total_force_n, m_t, m_f, h.window_s, bw, plate),
                "baseline": grf_errors(tb, fb, m_t, m_f, h.window_s, bw, plate),
                "timing": _timing_errors(est.contacts, tr.measured_contacts, h.window_s),
                "held_out": bool(held_out),
            }
        )
    return rows
