"""Per-stride muscle metrics: impulse, work, peaks, phases, time normalisation, groups.

Definitions (units in the names):

* force impulse ``impulse_n_s`` = integral of tendon force over the interval; also in
  body-weight seconds (``impulse_bw_s``) after dividing by body weight (mass x 9.80665);
* musculotendon power ``power_w = -force_n * lengthening_speed_m_s`` (positive while the
  muscle shortens under tension, i.e. generates energy; with the rigid tendon of static
  optimization this is also the fibre power along the tendon);
* positive and negative work = integrals of the positive and negative parts of power (J),
  also per kilogram of body mass;
* time normalisation to 0-100 % of the stride cycle at 101 points by linear interpolation.

Integrals use the trapezoidal rule with the interval's ends interpolated, so a phase that
begins between two frames is integrated from its true start.

Phases are per leg: a muscle of the right leg (``_r``) is in the right foot's braking,
propulsion, early or late swing, a muscle of the left leg (``_l``, trunk muscles included)
in the left foot's, each from that foot's own events
(:func:`runmuscles.kinematics.events.side_phase_intervals`); a muscle with no side follows
the reference foot. "Both" sides of a group in a phase is the sum of each side in its own
phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2
from ..kinematics.events import PHASES, StrideCycle, phase_bounds, side_phase_intervals
from .groups import group_members, muscle_side

__all__ = [
    "STANDARD_GRAVITY_M_S2",
    "StrideMetrics",
    "integrate_between",
    "interp_rows",
    "muscle_phase_sum",
    "stride_metrics",
    "group_rows",
    "leg_phase_intervals",
    "time_normalize",
]


def time_normalize(time_s: np.ndarray, values: np.ndarray, start_s: float, end_s: float, n: int = 101):
    """Values at ``n`` equally spaced points from ``start_s`` to ``end_s`` (rows = time).

    Returns ``(cycle_pct, normalised)``; ``normalised`` has shape ``(n, ...)``.
    """
    pct = np.linspace(0.0, 100.0, n)
    tq = start_s + (end_s - start_s) * pct / 100.0
    v = np.asarray(values, dtype=float)
    flat = v.reshape(v.shape[0], -1)
    out = interp_rows(np.asarray(time_s, dtype=float), flat, tq)
    return pct, out.reshape((n, *v.shape[1:]))


def interp_rows(time_s: np.ndarray, values: np.ndarray, at_s: np.ndarray) -> np.ndarray:
    """Linear interpolation of every column of ``values`` (rows = ``time_s``) at ``at_s``,
    held constant outside the data (as :func:`numpy.interp`), all columns at once."""
    t = time_s
    x = np.atleast_1d(np.asarray(at_s, dtype=float))
    if t.size == 1:
        return np.repeat(values[:1], x.size, axis=0)
    i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
    w = np.clip((x - t[i]) / (t[i + 1] - t[i]), 0.0, 1.0)[:, None]
    return values[i] * (1.0 - w) + values[i + 1] * w


def integrate_between(time_s: np.ndarray, values: np.ndarray, a: float, b: float) -> np.ndarray:
    """Trapezoidal integral of ``values`` (rows = time) from ``a`` to ``b`` seconds."""
    t = np.asarray(time_s, dtype=float)
    v = np.asarray(values, dtype=float)
    if b <= a:
        return np.zeros(v.shape[1:])
    inside = (t > a) & (t < b)
    flat = v.reshape(v.shape[0], -1)
    va, vb = interp_rows(t, flat, np.array([a, b]))
    tt = np.concatenate([[a], t[inside], [b]])
    vv = np.vstack([va, flat[inside], vb])
    dt = np.diff(tt)[:, None]
    return (0.5 * (vv[1:] + vv[:-1]) * dt).sum(axis=0).reshape(v.shape[1:])


def _fine_power(time_s: np.ndarray, power_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power on a grid 8 times finer than the frames, so that sign changes between frames are
    not smeared when positive and negative work are separated."""
    t = np.asarray(time_s, dtype=float)
    fine = np.linspace(t[0], t[-1], 8 * (t.size - 1) + 1)
    return fine, interp_rows(t, np.asarray(power_w, dtype=float), fine)


def _pos_neg_work(
    time_s: np.ndarray, power_w: np.ndarray, a: float, b: float, *, fine=None
) -> tuple[np.ndarray, np.ndarray]:
    tf, p = fine if fine is not None else _fine_power(time_s, power_w)
    return (
        integrate_between(tf, np.clip(p, 0, None), a, b),
        integrate_between(tf, np.clip(p, None, 0), a, b),
    )


@dataclass
class StrideMetrics:
    """Per-muscle metrics of one stride, whole and per phase.

    Arrays have one value per muscle. ``phases`` maps each phase name of
    :data:`~runmuscles.kinematics.events.PHASES` to a dict of the same metrics, each muscle
    in its own leg's phase; ``phase_intervals_s`` gives, per side (``right``, ``left``), the
    pieces of the stride in each of that leg's phases.
    """

    cycle: StrideCycle
    muscle_names: list[str]
    impulse_n_s: np.ndarray
    positive_work_j: np.ndarray
    negative_work_j: np.ndarray
    peak_force_n: np.ndarray
    peak_activation: np.ndarray
    mean_activation: np.ndarray
    phases: dict[str, dict[str, np.ndarray]]
    phase_intervals_s: dict[str, dict[str, list[tuple[float, float]]]]


def leg_phase_intervals(
    cycle: StrideCycle, side_cycles: dict[str, list[StrideCycle]] | None
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per side (``right``, ``left``): that leg's own phases inside the reference ``cycle``.

    A side with no complete cycle of its own in ``side_cycles`` takes the reference cycle's
    phases (the only timing known).
    """
    ref = {ph: [ab] for ph, ab in phase_bounds(cycle).items()}
    out = {}
    for side in ("right", "left"):
        own = (side_cycles or {}).get(side) or []
        got = side_phase_intervals(own, cycle.start_s, cycle.end_s) if side != cycle.side else ref
        out[side] = got if any(got.values()) else ref
    return out


def stride_metrics(
    time_s: np.ndarray,
    muscle_names: list[str],
    force_n: np.ndarray,
    power_w: np.ndarray,
    activation: np.ndarray,
    cycle: StrideCycle,
    side_cycles: dict[str, list[StrideCycle]] | None = None,
) -> StrideMetrics:
    """Impulse, work and peaks per muscle over one stride cycle and its phases.

    ``side_cycles``: every foot's stride cycles (:attr:`GaitEvents.cycles`), so that each
    leg's muscles are split by that leg's own phases; ``None``: every muscle by the
    reference foot's phases.
    """
    t = np.asarray(time_s, dtype=float)
    inside = (t >= cycle.start_s - 1e-9) & (t <= cycle.end_s + 1e-9)
    # only the frames of this cycle (plus one each side) enter the fine power grid
    lo = max(int(np.searchsorted(t, cycle.start_s, side="right")) - 2, 0)
    hi = min(int(np.searchsorted(t, cycle.end_s, side="left")) + 2, t.size)
    fine = _fine_power(t[lo:hi], np.asarray(power_w)[lo:hi])
    pos, neg = _pos_neg_work(t, power_w, cycle.start_s, cycle.end_s, fine=fine)
    legs = leg_phase_intervals(cycle, side_cycles)
    sides = [muscle_side(m) or cycle.side for m in muscle_names]
    M = len(muscle_names)
    phases: dict[str, dict[str, np.ndarray]] = {
        ph: {k: np.zeros(M) for k in ("impulse_n_s", "positive_work_j", "negative_work_j")} for ph in PHASES
    }
    for side, intervals in legs.items():
        cols = np.array([j for j, sd in enumerate(sides) if sd == side], dtype=int)
        if not cols.size:
            continue
        for ph in PHASES:
            for a, b in intervals[ph]:
                pp, nn = _pos_neg_work(t, power_w, a, b, fine=fine)
                phases[ph]["impulse_n_s"][cols] += integrate_between(t, force_n, a, b)[cols]
                phases[ph]["positive_work_j"][cols] += pp[cols]
                phases[ph]["negative_work_j"][cols] += nn[cols]
    return StrideMetrics(
        cycle=cycle,
        muscle_names=list(muscle_names),
        impulse_n_s=integrate_between(t, force_n, cycle.start_s, cycle.end_s),
        positive_work_j=pos,
        negative_work_j=neg,
        peak_force_n=force_n[inside].max(axis=0),
        peak_activation=activation[inside].max(axis=0),
        mean_activation=integrate_between(t, activation, cycle.start_s, cycle.end_s) / cycle.duration_s,
        phases=phases,
        phase_intervals_s=legs,
    )


def muscle_phase_sum(labels: np.ndarray, weights: np.ndarray, values: np.ndarray, phase: str) -> np.ndarray:
    """``(M,)``: per muscle, the weighted sum over frames of ``values`` (``(F, M)``) in ``phase``.

    ``labels`` is ``(F, M)`` (each muscle in its own leg's phase,
    :meth:`runmuscles.pipeline.TrialAnalysis.muscle_phase_per_frame`) or ``(F,)`` (one phase
    per frame for every muscle); ``weights`` ``(F,)`` are the frames' time weights.
    """
    lab = np.asarray(labels)
    w = np.asarray(weights, dtype=float)
    v = np.asarray(values, dtype=float)
    if lab.ndim == 1:
        return np.where(lab == phase, w, 0.0) @ v
    return (np.where(lab == phase, w[:, None], 0.0) * v).sum(axis=0)


def group_rows(metrics: StrideMetrics, body_mass_kg: float) -> list[dict]:
    """Tidy rows: one per (group, side, phase incl. 'stride') with loads and shares.

    Shares are relative to the sum over all muscles of the model in the same interval (for a
    phase: every muscle in its own leg's phase, see :func:`stride_metrics`).
    Columns: ``cycle``, ``group``, ``side`` (``both``, ``right``, ``left``), ``phase``,
    ``impulse_bw_s``, ``positive_work_j_per_kg``, ``negative_work_j_per_kg``,
    ``share_of_impulse``, ``share_of_positive_work``, ``n_muscles``.
    """
    bw = body_mass_kg * STANDARD_GRAVITY_M_S2
    names = metrics.muscle_names
    groups = group_members(names)
    idx = {m: i for i, m in enumerate(names)}
    side_of = np.array([muscle_side(m) for m in names])
    intervals = {
        "stride": {
            "impulse_n_s": metrics.impulse_n_s,
            "positive_work_j": metrics.positive_work_j,
            "negative_work_j": metrics.negative_work_j,
        }
    }
    intervals.update(metrics.phases)
    rows = []
    for phase, vals in intervals.items():
        tot_imp = float(vals["impulse_n_s"].sum())
        tot_pos = float(vals["positive_work_j"].sum())
        for g, members in groups.items():
            for side in ("both", "right", "left"):
                sel = [idx[m] for m in members if side == "both" or side_of[idx[m]] == side]
                imp = float(vals["impulse_n_s"][sel].sum()) if sel else 0.0
                pos = float(vals["positive_work_j"][sel].sum()) if sel else 0.0
                neg = float(vals["negative_work_j"][sel].sum()) if sel else 0.0
                rows.append(
                    {
                        "cycle": metrics.cycle.index,
                        "group": g,
                        "side": side,
                        "phase": phase,
                        "impulse_bw_s": imp / bw,
                        "positive_work_j_per_kg": pos / body_mass_kg,
                        "negative_work_j_per_kg": neg / body_mass_kg,
                        "share_of_impulse": imp / tot_imp if tot_imp > 0 else 0.0,
                        "share_of_positive_work": pos / tot_pos if tot_pos > 0 else 0.0,
                        "n_muscles": len(sel),
                    }
                )
    return rows
