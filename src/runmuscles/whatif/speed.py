"""Speed: one runner's trials at measured speeds (:class:`SpeedModel`), and :func:`load_runner`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InputError
from .condition import Condition
from .engine import WhatIfEngine
from .result import WhatIfResult


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
    from ..pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415

    engines = []
    for spec in runner_trials(folder, trials=trials):
        if progress is not None:
            progress(spec.label)
        opts = AnalysisOptions(
            speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength=strength, cache_dir=cache_dir
        )
        engines.append(WhatIfEngine(analyze_trial(spec.model, spec.coordinates, spec.forces, opts)))
    return SpeedModel(engines)


def runner_trials(folder=None, *, trials: list[str] | None = None) -> list:
    """The trials :func:`load_runner` analyses (:class:`~runmuscles.trials.TrialSpec`, with
    their speeds), without analysing them."""
    from pathlib import Path  # noqa: PLC0415

    from ..trials import demo_trials, resolve_trial  # noqa: PLC0415

    if folder is None:
        return list(demo_trials())
    folder = Path(folder)
    names = trials or sorted(p.name.removesuffix("_grf.xml") for p in folder.glob("Run_*_grf.xml"))
    if not names:
        raise InputError(folder, "no trials (Run_N_grf.xml) in this folder; name them with --trial")
    return [resolve_trial(folder, n) for n in names]
