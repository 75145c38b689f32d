"""The one rule that flags figures resting on saturated muscles or on reserve actuators.

A static-optimization result is doubtful where the muscles cannot make the joint moments:
muscles then sit at full activation (their forces are lower bounds) and reserve actuators,
which cost no metabolic energy, make up the rest. Every figure built on muscle forces, and
the energy figures first of all, is flagged when either happens beyond a limit:

* **saturation**: more than 10 % of the model's muscles are at full activation for more
  than 5 % of the stride time (limits ``saturated_muscle_share`` and
  ``saturated_stride_fraction`` of :data:`runmuscles.validation.LIMITS`);
* **reserve work**: on some joint (a coordinate the muscles cross, not the pelvis's
  six, whose residuals are judged against Hicks et al. 2015 instead) the reserve's positive
  work is more than 10 % of the net joint moment's positive work (limit
  ``reserve_share_of_joint_positive_work``). Positive work is the time integral of
  ``max(moment x coordinate speed, 0)``; the net joint moment is the inverse-dynamics
  moment the recruitment reproduced (muscles plus reserve).

Both are integrated over the analysed stride cycles (the whole window when there are none).
Joints whose net positive work is under 5 % of the largest joint's are not judged (a
reserve's share of almost nothing is noise). The rule is shared by every shell: it makes
:class:`~runmuscles.quality.QualityWarning` s with ``affects=("energy", "muscles")``, and
:func:`mark_validity` records its numbers and the per-figure flags in an analysis's
``quality`` section (``quality.validity_rule``, ``quality.figures_flagged``), from which
``summary.json``, the report, the terminal summary, what-ifs and claims read them.

Beside it, the energy figures' own plausibility (:func:`energy_cost_warning`,
:func:`mark_energy_plausibility`): a gross cost of running per distance outside the wide
physiological band ``metabolic_cost_j_per_kg_m`` of :data:`runmuscles.validation.LIMITS`
(on a slope, both bounds scaled by the measured cost's change with grade, Minetti et al. 2002)
is not a result. It raises ``metabolic_cost_implausible`` with ``affects=("energy",)`` and
``invalidates=True``, so ``quality.valid`` is false and every shell that shows energy flags it
(:func:`flag_reasons`), static or dynamic solution alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..quality import QualityWarning, quality_mark
from ..validation import limit

__all__ = [
    "ENERGY_PLAUSIBILITY_CODE",
    "FIGURES_AFFECTED",
    "ValidityRule",
    "energy_cost_bounds",
    "energy_cost_warning",
    "evaluate_validity",
    "figures_flagged",
    "flag_reasons",
    "mark_energy_plausibility",
    "mark_validity",
    "validity_warnings",
]

#: What the rule's warnings bear on (the figures a shell flags when they are raised).
FIGURES_AFFECTED = ("energy", "muscles")
#: The quality codes this rule raises (what other analyses look for to know a figure is flagged).
SATURATION_CODES = ("muscles_saturated_over_stride", "reserves_do_joint_work")
#: The quality code of an implausible cost of running (:func:`energy_cost_warning`).
ENERGY_PLAUSIBILITY_CODE = "metabolic_cost_implausible"
#: Joints with less net positive work than this fraction of the largest joint's are not judged.
MIN_JOINT_WORK_FRACTION = 0.05


@dataclass
class ValidityRule:
    """The rule's numbers for one analysis.

    Attributes
    ----------
    saturated_stride_fraction
        Per muscle: fraction of the stride time at full activation.
    saturated_muscles
        Muscles at full activation for more than the limit's fraction of the stride.
    saturated_muscle_share
        ``len(saturated_muscles)`` over the number of muscles.
    reserve_share_of_joint_positive_work
        Per judged coordinate: reserve positive work over the net joint moment's.
    flagged_joints
        Coordinates whose share is above the limit.
    warnings
        The :class:`QualityWarning` s the rule raises (empty when nothing is flagged).
    """

    saturated_stride_fraction: dict[str, float]
    saturated_muscles: list[str]
    saturated_muscle_share: float
    reserve_share_of_joint_positive_work: dict[str, float]
    flagged_joints: list[str]
    warnings: list[QualityWarning] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return bool(self.warnings)

    def as_dict(self) -> dict:
        return {
            "rule": (
                f"flagged when more than {100 * limit('saturated_muscle_share').high:.0f} % of muscles are "
                f"at full activation for more than {100 * limit('saturated_stride_fraction').high:.0f} % "
                f"of the stride, or a reserve does more than "
                f"{100 * limit('reserve_share_of_joint_positive_work').high:.0f} % of a joint's positive work"
            ),
            "flagged": self.flagged,
            "saturated_muscles": list(self.saturated_muscles),
            "saturated_muscle_share": self.saturated_muscle_share,
            "reserve_share_of_joint_positive_work": dict(self.reserve_share_of_joint_positive_work),
            "flagged_joints": list(self.flagged_joints),
        }


def _weights(time_s: np.ndarray, cycles) -> np.ndarray:
    from .fibres import _frame_weights  # noqa: PLC0415

    t = np.asarray(time_s, dtype=float)
    w, _ = _frame_weights(t, cycles)
    if not w.any() and t.size > 1:  # no stride cycles: the whole window
        dt = np.diff(t)
        w = np.zeros(t.size)
        w[:-1] += 0.5 * dt
        w[1:] += 0.5 * dt
    return w


def evaluate_validity(
    time_s: np.ndarray,
    cycles,
    muscle_names: list[str],
    saturated: np.ndarray,
    coordinate_names: list[str],
    muscle_moment: np.ndarray,
    net_moment: np.ndarray,
    coordinate_speed: np.ndarray,
) -> ValidityRule:
    """The rule on arrays (rows = frames).

    Parameters
    ----------
    time_s, cycles
        Frame times and the stride cycles to judge over (none: the whole window).
    muscle_names, saturated
        Muscles and ``(F, M)`` whether each is at full activation.
    coordinate_names, muscle_moment, net_moment, coordinate_speed
        Recruited coordinates, ``(F, C)`` the muscles' and the net (inverse-dynamics) moments
        on them and ``(F, C)`` their speeds (rad/s or m/s); the reserve's moment is
        ``net - muscle``.
    """
    w = _weights(time_s, cycles)
    total = float(w.sum())
    sat = np.asarray(saturated, dtype=float)
    frac = (w @ sat) / total if total > 0 else np.zeros(sat.shape[1])
    sat_limit = limit("saturated_stride_fraction").high
    sat_names = [m for m, f in zip(muscle_names, frac, strict=True) if f > sat_limit]
    share_sat = len(sat_names) / len(muscle_names) if muscle_names else 0.0

    mm = np.asarray(muscle_moment, dtype=float)
    net = np.asarray(net_moment, dtype=float)
    qd = np.asarray(coordinate_speed, dtype=float)
    crossed = np.any(mm != 0.0, axis=0)
    net_pos = w @ np.maximum(net * qd, 0.0)
    res_pos = w @ np.maximum((net - mm) * qd, 0.0)
    judged = crossed & (
        net_pos > MIN_JOINT_WORK_FRACTION * (net_pos[crossed].max() if crossed.any() else 0.0)
    )
    shares = {
        coordinate_names[i]: float(res_pos[i] / net_pos[i]) for i in np.flatnonzero(judged) if net_pos[i] > 0
    }
    res_limit = limit("reserve_share_of_joint_positive_work").high
    joints = [c for c, s in shares.items() if s > res_limit]

    warnings = []
    if share_sat > limit("saturated_muscle_share").high:
        warnings.append(
            QualityWarning(
                "muscles_saturated_over_stride",
                f"{len(sat_names)} of {len(muscle_names)} muscles ({100 * share_sat:.0f} %) are at full "
                f"activation for more than {100 * sat_limit:.0f} % of the stride: their forces are lower "
                "bounds, and the energy and muscle figures resting on them are flagged",
                affects=FIGURES_AFFECTED,
            )
        )
    if joints:
        worst = sorted(joints, key=lambda c: -shares[c])
        warnings.append(
            QualityWarning(
                "reserves_do_joint_work",
                "reserve actuators do "
                + ", ".join(f"{100 * shares[c]:.0f} % of {c}'s" for c in worst[:4])
                + (" ..." if len(worst) > 4 else "")
                + f" positive work (limit {100 * res_limit:.0f} %): muscle work and energy miss it, so "
                "the energy and muscle figures are flagged",
                affects=FIGURES_AFFECTED,
            )
        )
    return ValidityRule(
        saturated_stride_fraction={m: float(f) for m, f in zip(muscle_names, frac, strict=True) if f > 0},
        saturated_muscles=sat_names,
        saturated_muscle_share=float(share_sat),
        reserve_share_of_joint_positive_work=shares,
        flagged_joints=joints,
        warnings=warnings,
    )


def validity_warnings(analysis) -> ValidityRule:
    """The rule on a :class:`runmuscles.pipeline.TrialAnalysis` (its stride cycles)."""
    rec = analysis.recruitment
    ck = analysis.coordinates
    # joints only: the root's (pelvis) coordinates carry residual forces, judged against
    # Hicks et al. (2015) elsewhere (quality.residuals), not reserves
    root = {n for r in analysis.quality.get("residuals", {}).values() for n in r.get("coordinates", [])}
    keep = [k for k, n in enumerate(rec.coordinate_names) if n not in root]
    names = [rec.coordinate_names[k] for k in keep]
    qd = (
        np.column_stack([ck.qdot[:, ck.index(n)] for n in names])
        if names
        else np.zeros((analysis.time_s.size, 0))
    )
    return evaluate_validity(
        analysis.time_s,
        analysis.cycles,
        list(rec.muscle_names),
        rec.saturated,
        names,
        np.asarray(rec.muscle_moment)[:, keep],
        np.asarray(rec.target_moment)[:, keep],
        qd,
    )


def figures_flagged(quality: dict) -> dict[str, bool]:
    """Per figure kind (``energy``, ``muscles``): whether a warning in a ``quality`` section
    (``summary.json``'s) bears on it (its ``affects`` names it or ``all``)."""
    out = {k: False for k in FIGURES_AFFECTED}
    for w in quality.get("warnings", []):
        aff = set(w.get("affects", ("all",)))
        for k in out:
            if k in aff or "all" in aff:
                out[k] = True
    return out


def flag_reasons(quality: dict, figure: str = "energy") -> list[str]:
    """The messages of the warnings in a ``quality`` section that bear on ``figure``
    (``energy`` or ``muscles``): what a shell shows next to a flagged figure."""
    return [
        " ".join(str(w.get("message", "")).split())
        for w in quality.get("warnings", [])
        if figure in w.get("affects", ("all",)) or "all" in w.get("affects", ("all",))
    ]


def mark_validity(analysis) -> ValidityRule:
    """Apply the rule to an analysis: its warnings join ``quality.warnings`` (and the flags),
    ``quality.validity_rule`` holds its numbers and ``quality.figures_flagged`` which figure
    kinds a warning bears on."""
    rule = validity_warnings(analysis)
    q = analysis.quality
    ws = list(q.get("warnings", [])) + [w.as_dict() for w in rule.warnings]
    q.update(quality_mark(ws))
    q["flags"] = list(q.get("flags", [])) + [w.message for w in rule.warnings]
    q["validity_rule"] = rule.as_dict()
    q["figures_flagged"] = figures_flagged(q)
    return rule


def energy_cost_bounds(grade_pct: float = 0.0) -> tuple[float, float]:
    """The plausible gross cost of running (J/kg/m): the ``metabolic_cost_j_per_kg_m`` limit; on a
    slope widened by the measured cost's change with grade ``f`` (the polynomial of Minetti et al.
    2002 over its level value; grades beyond their +/-45 % take the value at +/-45 %): the low
    bound times ``min(f, 1)``, the high bound times ``max(f, 1)``, so that a model's smaller
    change with grade than measured is not taken for a broken number."""
    from .energetics import minetti_2002_cost_j_per_kg_m  # noqa: PLC0415

    lim = limit("metabolic_cost_j_per_kg_m")
    g = float(np.clip(grade_pct, -45.0, 45.0)) if np.isfinite(grade_pct) else 0.0
    factor = minetti_2002_cost_j_per_kg_m(g) / minetti_2002_cost_j_per_kg_m(0.0) if g else 1.0
    return float(lim.low) * min(factor, 1.0), float(lim.high) * max(factor, 1.0)


def energy_cost_warning(cost_j_per_kg_m: float | None, *, grade_pct: float = 0.0) -> QualityWarning | None:
    """The warning for a gross cost of running outside :func:`energy_cost_bounds` (``None``
    when it is inside, or when there is no cost: no speed or no complete stride). A cost that is
    not a finite number is outside."""
    if cost_j_per_kg_m is None:
        return None
    lo, hi = energy_cost_bounds(grade_pct)
    c = float(cost_j_per_kg_m)
    if np.isfinite(c) and lo <= c <= hi:
        return None
    where = f" at {grade_pct:+g} % grade" if grade_pct else ""
    return QualityWarning(
        ENERGY_PLAUSIBILITY_CODE,
        f"the gross metabolic cost of {c:.3g} J/kg/m is outside the physiological {lo:.2g}-{hi:.2g} J/kg/m "
        f"of running{where}: the energy figures are not a result",
        invalidates=True,
        affects=("energy",),
    )


def mark_energy_plausibility(
    quality: dict, cost_j_per_kg_m: float | None, *, grade_pct: float = 0.0
) -> QualityWarning | None:
    """Apply :func:`energy_cost_warning` to an analysis's ``quality`` section: an earlier verdict
    of this rule is replaced, the warning (if any) joins ``quality.warnings`` and ``flags``,
    ``valid`` and ``figures_flagged`` follow, and ``quality.energy_plausibility`` records the
    cost, the bounds and the grade they were taken for. Returns the warning."""
    warning = energy_cost_warning(cost_j_per_kg_m, grade_pct=grade_pct)
    lo, hi = energy_cost_bounds(grade_pct)
    quality["energy_plausibility"] = {
        "metabolic_cost_j_per_kg_m": None if cost_j_per_kg_m is None else float(cost_j_per_kg_m),
        "bounds_j_per_kg_m": [lo, hi],
        "grade_pct": float(grade_pct),
        "plausible": None if cost_j_per_kg_m is None else warning is None,
    }
    old = [w for w in quality.get("warnings", []) if w.get("code") == ENERGY_PLAUSIBILITY_CODE]
    kept = [w for w in quality.get("warnings", []) if w.get("code") != ENERGY_PLAUSIBILITY_CODE]
    flags = [f for f in quality.get("flags", []) if f not in {w.get("message") for w in old}]
    if warning is not None:
        kept.append(warning.as_dict())
        flags.append(warning.as_dict()["message"])
    quality.update(quality_mark(kept))
    if "flags" in quality or warning is not None:
        quality["flags"] = flags
    quality["figures_flagged"] = figures_flagged(quality)
    return warning
