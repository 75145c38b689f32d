"""A what-if's result (:class:`WhatIfResult`: per-group loads, stride, energetics, quality) and
the comparisons of two results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analyses.validity import flag_reasons, mark_energy_plausibility
from ..pipeline import TrialAnalysis
from .condition import Condition


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


def result_from_analysis(
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
    if energetics:  # judged before the flags are read (the energy plausibility rule, on the slope)
        res.energetics = _energetics(a)
        mark_energy_plausibility(q, res.energetics["metabolic_cost_j_per_kg_m"], grade_pct=cond.grade_pct)
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
        res.energetics["metabolic_cost_flagged"] = bool(res.quality["energy_flag_reasons"])
    return res


def _energetics(a: TrialAnalysis) -> dict[str, float | bool | None]:
    from ..analyses.energetics import energetics_summary  # noqa: PLC0415

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
