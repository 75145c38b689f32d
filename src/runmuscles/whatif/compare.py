"""One what-if comparison as the shells show it: the baseline trial, the changed condition,
per-group loads and their changes (shared by ``runmuscles whatif`` and the web app)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import InputError
from .condition import Condition
from .result import compare_groups, load_shifts
from .speed import SpeedModel

__all__ = [
    "BUNDLED_RUNNER_LABEL",
    "DEFAULT_BASELINE_SPEED_M_S",
    "UNITS",
    "baseline_speed",
    "reference_speed",
    "whatif_payload",
]

BUNDLED_RUNNER_LABEL = "bundled demo runner (Hamner & Delp 2013, subject01)"
#: Preferred baseline speed when none is asked for (m/s): the runner's trial nearest to it.
DEFAULT_BASELINE_SPEED_M_S = 3.5
UNITS = {
    "impulse_bw_s_per_stride": "body-weight seconds per stride (both legs)",
    "positive_work_j_per_kg_per_stride": "J per kg body mass per stride",
    "negative_work_j_per_kg_per_stride": "J per kg body mass per stride (negative)",
    "peak_force_bw": "peak of one side's summed group force, body weights",
}


def baseline_speed(speeds_m_s: list[float], at: float | None = None) -> float:
    """``at``, else the speed in ``speeds_m_s`` nearest :data:`DEFAULT_BASELINE_SPEED_M_S`."""
    return at if at is not None else min(speeds_m_s, key=lambda v: abs(v - DEFAULT_BASELINE_SPEED_M_S))


def reference_speed(sm: SpeedModel, at: float | None = None) -> float:
    """The baseline trial's speed: ``at``, else the runner's trial nearest 3.5 m/s."""
    ref = baseline_speed(sm.speeds_m_s, at)
    if sm.engine_at(ref) is None:
        have = ", ".join(f"{v:g}" for v in sm.speeds_m_s)
        raise InputError("--at", f"no trial at {ref:g} m/s (this runner has {have})")
    return ref


def whatif_payload(
    sm: SpeedModel,
    cond: Condition,
    *,
    at: float | None = None,
    runner: str = BUNDLED_RUNNER_LABEL,
    energetics: bool = True,
) -> dict[str, Any]:
    """The comparison of ``cond`` against the baseline trial, as plain data (JSON-ready).

    Parameters
    ----------
    sm
        The runner (:func:`runmuscles.whatif.load_runner`).
    cond
        The changed condition (validated here).
    at
        Baseline speed (m/s; default: :func:`reference_speed`).
    runner
        How the runner is named in the result.
    energetics
        Also compute the metabolic estimate (slower).
    """
    cond.validate()
    ref = reference_speed(sm, at)
    engine = sm.engine_at(ref)
    base = engine.baseline(energetics=energetics)
    if cond.speed_m_s is not None and abs(cond.speed_m_s - ref) > 1e-9:
        res = sm.evaluate(cond, energetics=energetics)
    else:
        res = engine.evaluate(replace(cond, speed_m_s=None), energetics=energetics)
    return {
        "runner": runner,
        "baseline_speed_m_s": ref,
        "condition": cond.changes(),
        "baseline": {
            "groups": base.groups,
            "stride": base.stride,
            "energetics": base.energetics,
            "quality": base.quality,
        },
        "whatif": {
            "groups": res.groups,
            "stride": res.stride,
            "energetics": res.energetics,
            "quality": res.quality,
            "notes": res.notes,
        },
        "change": compare_groups(base, res),
        "shifts": load_shifts(base, res),
        "units": dict(UNITS),
    }
