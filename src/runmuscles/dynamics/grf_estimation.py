"""Ground reaction forces from motion alone (no force plate).

Running has no double support: at any instant at most one foot is on the ground, and the
total ground reaction force is ``m (a_com - g)``, applied to that foot. This module builds
an OpenSim-style ground reaction force table (``calcn_r``/``calcn_l``, expressed in ground)
from a model and its joint angles:

1. **Centre of mass.** Whole-body centre of mass of the model
   (:func:`runmuscles.model.multibody.mass_center`) on the unfiltered coordinates, low-pass
   filtered (third-order Butterworth, forwards and backwards, 6 Hz by default) and
   differentiated twice (quintic spline), as OpenSim's AnalyzeTool does with coordinates.
2. **Contacts from foot kinematics.** Per foot, the height of its lowest point (heel: the
   ``calcn`` origin; ball: the ``toes`` origin, i.e. the metatarsophalangeal joint) above that
   point's own floor level (2nd percentile over the trial). The foot is on the ground while
   that height is below ``contact_height_m``; gaps shorter than a flight can be are bridged,
   contacts shorter than a stance can be are dropped, and overlaps between the feet are cut
   at their middle (no double support in running).
3. **Force inside a contact, exact zero in flight.** The centre-of-mass force ``m (a - g)`` is
   projected, over each contact, onto ``n_basis`` half-period sine functions
   (``sin(k pi tau)``, ``tau`` from 0 at foot strike to 1 at toe-off: zero at both ends). Low-
   pass filtering smears stance force into the flight phases (and the model's centre of mass
   overshoots the true one's excursion by a few per cent); the vertical component is
   therefore scaled so that its impulse equals the impulse of ``m (a - g)`` over the whole
   step (from the middle of the flight before to the middle of the flight after), which is
   what sets the body's vertical motion. The horizontal centre of mass moves by only a few
   centimetres and its force in stance is a braking then a propulsive pulse: it is taken
   from a less filtered signal (12 Hz) onto two sine functions (``sin(pi tau)``,
   ``sin(2 pi tau)``), without scaling. Outside contacts every component is exactly zero.
4. **Point of application.** The centre of pressure moves along the foot, on the floor,
   from the heel (rearfoot landing: the heel is the lower of the two points at foot strike)
   or the forefoot (forefoot landing) past the metatarsophalangeal joint towards the toes,
   following a fixed profile over the fraction of stance (see ``_COP_STANCE``); it follows
   the foot, so on a treadmill it travels backwards with the belt. The free moment is zero.

:func:`estimate_grf` returns an :class:`EstimatedGRF`; :meth:`EstimatedGRF.write` saves the
``.mot`` + ExternalLoads ``.xml`` pair the pipeline reads unchanged.
:func:`baseline_grf` is the plain reference (centre of mass, low-pass, differentiated twice,
no contact logic) and :func:`grf_errors` / :func:`validate_hamner2013` compare both with
measured forces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2
from ..errors import InputError
from ..tables import TimeTable

__all__ = [
    "EstimatedGRF",
    "FootContact",
    "baseline_grf",
    "detect_foot_contacts",
    "estimate_grf",
    "estimate_grf_from_coordinates",
    "grf_errors",
    "validate_hamner2013",
]


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
    from ..model.multibody import mass_center  # noqa: PLC0415

    mb = multibody
    t, q, notes = _coordinates(mb, table)
    up = _up_axis(mb)
    mass = float(mb.total_mass_kg)
    com, _, _ = mass_center(mb, q)
    acc = _lowpass_second_derivative(t, com, lowpass_hz)
    com_force = mass * (acc - np.asarray(mb.gravity_m_s2, dtype=float))
    feet = _foot_points(mb, q)
    heights = {s: (feet[s][0] @ up, feet[s][1] @ up) for s in "rl"}
    contacts = detect_foot_contacts(
        t,
        {s: heights[s][0] for s in "rl"},
        {s: heights[s][1] for s in "rl"},
        contact_height_m=contact_height_m,
        release_height_m=release_height_m,
    )
    if not contacts:
        raise InputError(table.source, "no foot contact found in the foot kinematics (is this running?)")
    sides = [c.side for c in contacts]
    repeats = sum(1 for x, y in zip(sides[:-1], sides[1:], strict=False) if x == y)
    tq = np.arange(t[0], t[-1] + 0.5 / rate_hz, 1.0 / rate_hz)
    force, cop, torque = {}, {}, {}
    floor = float(min(np.percentile(heights[s][k], 2) for s in "rl" for k in (0, 1)))
    # each contact's step spans the flights around it, whichever foot comes next
    f_vert = _contact_force(t, com_force, contacts, tq, n_basis, up)
    acc_h = _lowpass_second_derivative(t, com, horizontal_lowpass_hz)
    com_force_h = mass * (acc_h - np.asarray(mb.gravity_m_s2, dtype=float))
    f_hor = _contact_force(t, com_force_h, contacts, tq, horizontal_n_basis, up)
    f_all = np.outer(f_vert @ up, up) + f_hor - np.outer(f_hor @ up, up)
    for s in "rl":
        mine = [c for c in contacts if c.side == s]
        own = np.zeros(tq.size, dtype=bool)
        for c in mine:
            own |= (tq >= c.start_s) & (tq <= c.end_s)
        force[s] = np.where(own[:, None], f_all, 0.0)
        cop[s] = _cop(t, feet[s][0], feet[s][1], mine, tq, floor, up)
        torque[s] = np.zeros((tq.size, 3))
    notes = list(notes) + [
        f"ground reaction force estimated from motion alone: {len(contacts)} contacts "
        f"({sides.count('r')} right, {sides.count('l')} left) from foot kinematics "
        f"(foot below {100 * contact_height_m:.1f} cm), centre-of-mass force low-passed at "
        f"{lowpass_hz:g} Hz ({horizontal_lowpass_hz:g} Hz horizontal), {n_basis} ({horizontal_n_basis}) "
        "sine functions per contact, zero in flight, free moment zero",
        "force is zero before the first and after the last complete contact",
    ]
    if repeats:
        notes.append(f"{repeats} times the same foot twice in a row: check the foot kinematics")
    return EstimatedGRF(tq, force, cop, torque, contacts, mass, notes, table.source)


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
) -> EstimatedGRF:
    """Ground reaction forces of a running trial from its motion alone.

    Parameters
    ----------
    model_path
        OpenSim ``.osim`` model (scaled to the runner; its mass is the runner's) with feet
        ``calcn_r/l`` and ``toes_r/l``.
    coordinates_path
        Joint angles (``.mot``/``.sto`` from inverse kinematics).
    rate_hz
        Sample rate of the output table.
    lowpass_hz, n_basis
        Low-pass cutoff for the centre-of-mass position before differentiating, and sine
        functions per contact, for the vertical force.
    horizontal_lowpass_hz, horizontal_n_basis
        The same for the horizontal (fore-aft and medio-lateral) force.
    contact_height_m, release_height_m
        Foot strike and toe-off thresholds (see :func:`detect_foot_contacts`).
    cache_dir
        Folder of the parsed-model cache (default: the user cache folder).

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


def _hamner_trials(data_dir: Path) -> list[tuple[str, str]]:
    out = []
    for subj in sorted(p for p in data_dir.iterdir() if p.is_dir() and (p / "gaitTimes.json").exists()):
        for mot in sorted((subj / "ik").glob("Run_*.mot")):
            out.append((subj.name, mot.stem))
    return out


def validate_hamner2013(
    data_dir: str | Path,
    *,
    trials: list[tuple[str, str]] | None = None,
    cache_dir: str | Path | None = None,
    **options: float,
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
    options
        Passed to :func:`estimate_grf_from_coordinates`.

    Returns
    -------
    list of dict
        Per trial: ``subject``, ``trial``, ``window_s`` (first to last gait-cycle time of
        ``gaitTimes.json``), and the :func:`grf_errors` of the estimate (``estimated``) and of
        :func:`baseline_grf` (``baseline``).
    """
    from ..kinematics.forceplates import detect_contacts  # noqa: PLC0415
    from ..model.geometry import default_cache_dir  # noqa: PLC0415
    from ..model.multibody import load_osim_cached  # noqa: PLC0415
    from ..readers.opensim_files import read_external_loads, read_storage  # noqa: PLC0415
    from ..trials import published_gait_window, trial_model  # noqa: PLC0415

    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(root, "hamner2013 data folder not found")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    rows = []
    for subject, run in trials or _hamner_trials(root):
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
            contacts += [(d.time_s[a], d.time_s[b - 1]) for a, b in detect_contacts(fxyz[:, 1], rate)]
        bw = float(mb.total_mass_kg) * STANDARD_GRAVITY_M_S2
        est = estimate_grf_from_coordinates(mb, table, **options)
        tb, fb = baseline_grf(mb, table)
        rows.append(
            {
                "subject": subject,
                "trial": run,
                "window_s": window,
                "estimated": grf_errors(
                    est.time_s, est.total_force_n, d.time_s, measured, window, bw, contacts
                ),
                "baseline": grf_errors(tb, fb, d.time_s, measured, window, bw, contacts),
            }
        )
    return rows
