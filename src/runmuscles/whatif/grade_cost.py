"""Metabolic cost on slopes against level, next to Minetti et al. (2002) (:func:`grade_cost_rows`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2
from .condition import Condition
from .engine import WhatIfEngine


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
    from ..analyses.energetics import minetti_2002_cost_j_per_kg_m  # noqa: PLC0415
    from ..pipeline import analyze_runner_trials  # noqa: PLC0415
    from ..trials import demo_folder  # noqa: PLC0415

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
