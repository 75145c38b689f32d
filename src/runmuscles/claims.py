"""Popular claims about the muscles of running, tested with the engine.

Each claim is a function of engine results (:mod:`runmuscles.whatif`): it computes its
evidence (numbers with units, from the runner's own trials and what-ifs in the same run)
and derives the verdict from that evidence by a stated rule. Nothing is hand-written: a
different runner, trial or model gives different evidence and possibly another verdict.

Verdicts: ``supported``, ``partly supported``, ``not supported``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .analyses.groups import MAIN_GROUPS, group_members, muscle_stem
from .kinematics.events import PHASES
from .whatif import Condition, SpeedModel, WhatIfEngine, WhatIfResult, compare_groups
from .whatif.compare import DEFAULT_BASELINE_SPEED_M_S

__all__ = ["CLAIMS", "Claim", "ClaimEvidence", "evaluate_claims"]

SUPPORTED, PARTLY, NOT = "supported", "partly supported", "not supported"
LEG_GROUPS = tuple(g for g in MAIN_GROUPS if g != "core_trunk")


def _both_one_none(first: bool, second: bool) -> str:
    """Supported when both parts of the evidence hold, partly when one does, else not."""
    return SUPPORTED if first and second else PARTLY if first or second else NOT


@dataclass
class ClaimEvidence:
    """One claim's result."""

    id: str
    claim: str
    verdict: str
    evidence: dict[str, Any]
    rule: str
    caveats: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim": self.claim,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "rule": self.rule,
            "caveats": self.caveats,
        }


@dataclass
class _Context:
    reference: WhatIfEngine
    speeds: SpeedModel
    cache: dict[str, WhatIfResult] = field(default_factory=dict)

    def result(self, key: str, cond: Condition, *, energetics: bool = False) -> WhatIfResult:
        if key not in self.cache:
            self.cache[key] = self.reference.evaluate(cond, energetics=energetics)
        return self.cache[key]

    @property
    def base(self) -> WhatIfResult:
        if "base" not in self.cache:
            self.cache["base"] = self.reference.baseline(energetics=True)
        return self.cache["base"]


def _own_phase_fractions(result: WhatIfResult) -> dict[str, dict[str, float]]:
    """Per group: the fraction of its own stride impulse in each phase."""
    a = result.analysis
    rows = [r for r in a.group_rows() if r["side"] == "both"]
    out: dict[str, dict[str, float]] = {}
    for g in {r["group"] for r in rows}:
        stride = np.mean([r["impulse_bw_s"] for r in rows if r["group"] == g and r["phase"] == "stride"])
        out[g] = {
            ph: float(
                np.mean([r["impulse_bw_s"] for r in rows if r["group"] == g and r["phase"] == ph]) / stride
            )
            if stride > 0
            else 0.0
            for ph in PHASES
        }
    return out


def _claim_a(ctx: _Context) -> ClaimEvidence:
    g = ctx.base.groups
    legs = sum(g[k]["share_of_impulse"] for k in LEG_GROUPS if k in g)
    core = g.get("core_trunk", {}).get("share_of_impulse", 0.0)
    core_work = g.get("core_trunk", {}).get("share_of_positive_work", 0.0)
    if legs >= 0.5 and core >= 0.05:
        verdict = SUPPORTED
    elif legs >= 0.5 and core >= 0.01:
        verdict = PARTLY
    else:
        verdict = NOT
    return ClaimEvidence(
        "a",
        "Running works mainly the leg muscles, and also the core.",
        verdict,
        {
            "leg_groups_share_of_muscle_impulse": legs,
            "core_trunk_share_of_muscle_impulse": core,
            "core_trunk_share_of_positive_work": core_work,
            "note": "shares of the summed force-time integral of all muscles over a stride "
            "(rectus femoris counts in quadriceps and hip flexors, so leg shares may add past 1)",
        },
        "supported if the leg groups carry at least half of the muscle impulse and the core at "
        "least 5 %; partly if the core carries 1-5 %; otherwise not supported",
        ["the model's trunk muscles are a few lumped actuators; arm and shoulder muscles are not modelled"],
    )


def _anatomical_totals(result: WhatIfResult, phase: str, key: str) -> dict[str, float]:
    a = result.analysis
    tot: dict[str, float] = {}
    for m in a.metrics:
        vals = m.phases[phase][key]
        for name, v in zip(m.muscle_names, vals, strict=True):
            stem = muscle_stem(name)
            tot[stem] = tot.get(stem, 0.0) + float(v) / len(a.metrics)
    return tot


def _claim_b(ctx: _Context) -> ClaimEvidence:
    base = ctx.base
    work = _anatomical_totals(base, "propulsion", "positive_work_j")
    total = sum(work.values())
    ranked = sorted(work.items(), key=lambda kv: -kv[1])
    glut = [k for k in work if k.startswith(("glut_max", "glmax"))]
    glut_work = sum(work[k] for k in glut)
    # rank gluteus maximus as one muscle against the others
    merged = {k: v for k, v in work.items() if k not in glut}
    merged["gluteus maximus"] = glut_work
    order = sorted(merged, key=lambda k: -merged[k])
    rank = order.index("gluteus maximus") + 1
    verdict = SUPPORTED if rank == 1 else PARTLY if rank <= 3 else NOT
    bm = base.analysis.body_mass_kg
    return ClaimEvidence(
        "b",
        "The gluteus maximus plays the biggest role in driving the body forward.",
        verdict,
        {
            "gluteus_maximus_share_of_propulsion_positive_work": glut_work / total if total > 0 else 0.0,
            "gluteus_maximus_rank": rank,
            "top_muscles_propulsion_positive_work_j_per_kg": {k: merged[k] / bm for k in order[:5]},
            "largest_single_compartment": ranked[0][0] if ranked else None,
        },
        "driving forward = positive muscle work in the propulsion phase of stance (fore-aft force "
        "forward); supported if gluteus maximus does the most of any muscle, partly if it is in the "
        "top three, otherwise not supported",
        [
            "muscles with elastic tendons (calves) return stored energy that a rigid-tendon model counts "
            "as muscle work"
        ],
    )


def _claim_c(ctx: _Context) -> ClaimEvidence:
    up = ctx.result("grade+10", Condition(grade_pct=10.0))
    ch = compare_groups(ctx.base, up)["calves"]
    imp = ch["change_pct_impulse_bw_s_per_stride"]
    pos = ch["change_pct_positive_work_j_per_kg_per_stride"]
    others = {
        g: compare_groups(ctx.base, up)[g]["change_pct_positive_work_j_per_kg_per_stride"]
        for g in ("gluteals", "hamstrings", "quadriceps")
    }
    verdict = _both_one_none(imp > 2.0, pos > 2.0)
    if verdict == SUPPORTED and max(others.values()) > 2 * max(pos, imp):
        verdict = PARTLY
    return ClaimEvidence(
        "c",
        "The calves work harder uphill.",
        verdict,
        {
            "grade_pct": 10.0,
            "calves_impulse_change_pct": imp,
            "calves_positive_work_change_pct": pos,
            "positive_work_change_pct_other_groups": others,
        },
        "supported if the calves' impulse and positive work per stride both rise by more than 2 % "
        "at +10 % grade (partly if only one does, or if the hip extensors' rise is more than twice "
        "theirs)",
        [
            "grade by tilted gravity on the level trial's motion with the engine's slope adaptation "
            "(step frequency +4/7 % per %, trunk and feet keeping their orientation to gravity: the foot "
            "lands 5.7 deg flatter); a runner who switches to a full forefoot landing uphill loads the "
            "calves more (runmuscles whatif --grade 10 --strike forefoot)"
        ],
    )


def _claim_d(ctx: _Context) -> ClaimEvidence:
    sm = ctx.speeds
    if len(sm.engines) < 2:
        return ClaimEvidence(
            "d",
            "Running speed does not change which muscles work, only which fibre types.",
            PARTLY,
            {"speeds_m_s": sm.speeds_m_s},
            "needs trials at two or more speeds",
            ["only one speed was analysed: no evidence either way"],
        )
    lo, hi = sm.engines[0], sm.engines[-1]
    r_lo, r_hi = lo.baseline(energetics=True), hi.baseline(energetics=True)
    share = {
        g: 100.0 * (r_hi.groups[g]["share_of_impulse"] - r_lo.groups[g]["share_of_impulse"])
        for g in r_lo.groups
        if g in r_hi.groups and g != "other"
    }
    fast_lo = r_lo.analysis.summary()["energetics"]["fast_fibre_share"]
    fast_hi = r_hi.analysis.summary()["energetics"]["fast_fibre_share"]
    fast = {
        g: 100.0 * (fast_hi[g] - fast_lo[g])
        for g in ("calves", "quadriceps", "gluteals", "hamstrings")
        if fast_lo.get(g) is not None and fast_hi.get(g) is not None
    }
    flags = [r.quality.get("energy_flag_reasons", []) for r in (r_lo, r_hi)]
    biggest = max(share, key=lambda g: abs(share[g]))
    fibres_change = bool(fast) and all(v > 0 for v in fast.values())
    muscles_change = abs(share[biggest]) >= 3.0
    if muscles_change:
        verdict = PARTLY if fibres_change else NOT
        if abs(share[biggest]) >= 6.0:
            verdict = NOT
    else:
        verdict = SUPPORTED if fibres_change else PARTLY
    return ClaimEvidence(
        "d",
        "Running speed does not change which muscles work, only which fibre types.",
        verdict,
        {
            "speeds_m_s": [lo.speed_m_s, hi.speed_m_s],
            "share_of_impulse_change_pp": share,
            "largest_share_change": {"group": biggest, "change_pp": share[biggest]},
            "fast_fibre_share_change_pp": fast,
            # the fibre shares come from the energy model: flagged as its figures are
            "energy_flagged": {f"{e.speed_m_s:g}": bool(f) for e, f in zip((lo, hi), flags, strict=True)},
        },
        "not supported if some group's share of muscle impulse moves by 6 percentage points or more "
        "between the slowest and fastest trial; partly if by 3-6 points while fast-fibre shares rise; "
        "supported if shares move less than 3 points and fast-fibre shares rise",
        ["fibre recruitment follows Henneman's size principle in the energy model (not measured EMG)"]
        + [f"energy figures flagged: {m}" for m in dict.fromkeys(m for f in flags for m in f)],
    )


def _claim_e(ctx: _Context) -> ClaimEvidence:
    tm = ctx.result("treadmill", Condition(surface="treadmill"))
    og = ctx.result("overground", Condition(surface="overground"))
    both = ("gluteals", "hamstrings")
    share_tm = {g: tm.groups[g]["share_of_impulse"] for g in both}
    change = {g: compare_groups(og, tm)[g]["change_pct_impulse_bw_s_per_stride"] for g in both}
    used = all(v >= 0.03 for v in share_tm.values())
    verdict = NOT if used and all(abs(v) < 15 for v in change.values()) else PARTLY if used else SUPPORTED
    return ClaimEvidence(
        "e",
        "Treadmill running does not use the hamstrings and glutes.",
        verdict,
        {
            "treadmill_share_of_muscle_impulse": share_tm,
            "treadmill_vs_overground_impulse_change_pct": change,
            "recorded_on": ctx.reference.surface,
        },
        "not supported if on the treadmill both groups carry at least 3 % of the muscle impulse and "
        "differ from overground at the same speed by less than 15 %",
        ["overground differs only by still-air drag here (constant belt speed: an inertial frame)"],
    )


def _claim_f(ctx: _Context) -> ClaimEvidence:
    fr = _own_phase_fractions(ctx.base)
    parts = {
        "hip flexors swing the leg forward": ("hip_flexors", ("early_swing",), "early swing"),
        "quadriceps work when pushing off": ("quadriceps", ("propulsion",), "propulsion"),
        "calves extend the ankle late in the stride": ("calves", ("propulsion",), "propulsion"),
        "hamstrings work as the stride finishes": ("hamstrings", ("late_swing",), "late swing"),
    }
    ev: dict[str, Any] = {}
    held = 0
    for text, (g, phases, label) in parts.items():
        frac = sum(fr.get(g, {}).get(p, 0.0) for p in phases)
        top = max(fr.get(g, {p: 0.0 for p in PHASES}).items(), key=lambda kv: kv[1])[0]
        ok = top in phases or frac >= 0.3
        held += ok
        ev[text] = {
            "group": g,
            "phase": label,
            "fraction_of_group_impulse_in_phase": frac,
            "group_peak_phase": top,
            "holds": ok,
        }
    verdict = SUPPORTED if held == 4 else PARTLY if held >= 2 else NOT
    return ClaimEvidence(
        "f",
        "The hip flexors swing the leg forward; the quadriceps work when pushing off; the calves "
        "extend the ankle late in the stride; the hamstrings work as the stride finishes.",
        verdict,
        ev,
        "each part holds if its group does most of its stride impulse in the named phase or at least "
        "30 % of it; supported if all four hold, partly if two or three",
        [
            "phases: braking and propulsion split stance at the fore-aft force's sign change; swing is "
            "halved into early and late; each leg's muscles are in that leg's own phases"
        ],
    )


def _claim_g(ctx: _Context) -> ClaimEvidence:
    base = ctx.base
    lean = ctx.result("lean+10", Condition(lean_deg=10.0))
    over = ctx.result("overstride+10cm", Condition(overstride_m=0.10))
    both = ctx.result("lean+10,overstride+10cm", Condition(lean_deg=10.0, overstride_m=0.10))

    def shares(r: WhatIfResult) -> dict[str, float]:
        return {g: r.groups[g]["share_of_impulse"] for g in ("gluteals", "quadriceps", "hamstrings")}

    ev = {
        "baseline": shares(base),
        "trunk_lean_10_deg": shares(lean),
        "overstride_10_cm": shares(over),
        "lean_and_overstride": shares(both),
        "gluteals_impulse_change_pct_lean_and_overstride": compare_groups(base, both)["gluteals"][
            "change_pct_impulse_bw_s_per_stride"
        ],
    }
    drop = base.groups["gluteals"]["share_of_impulse"] - both.groups["gluteals"]["share_of_impulse"]
    rise_quad = both.groups["quadriceps"]["share_of_impulse"] - base.groups["quadriceps"]["share_of_impulse"]
    verdict = _both_one_none(drop > 0.005, rise_quad > 0.005)
    return ClaimEvidence(
        "g",
        '"Thigh-dominant" runners overstride, lean forward and under-use their glutes.',
        verdict,
        ev,
        "the same runner made to overstride by 10 cm and lean 10 degrees forward: supported if the "
        "gluteals' share of muscle impulse falls and the quadriceps' rises (each by more than 0.5 "
        "percentage points), partly if only one does, otherwise not supported",
        [
            "a what-if on one runner's measured motion, not a comparison of runners who choose these "
            "patterns; overstride lengthens stance at the same toe-off"
        ],
    )


def _claim_h(ctx: _Context) -> ClaimEvidence:
    base = ctx.base
    a = base.analysis
    groups = group_members(a.muscle_names)
    toe = groups.get("long_toe_flexors", [])
    if not toe:
        return ClaimEvidence(
            "h",
            "The toe flexors matter at push-off.",
            PARTLY,
            {"model_toe_flexors": []},
            "needs a model with toe flexor muscles",
            ["this model has no toe flexors: no evidence"],
        )
    rows = [r for r in a.group_rows() if r["side"] == "both" and r["phase"] == "propulsion"]
    share = float(np.mean([r["share_of_impulse"] for r in rows if r["group"] == "long_toe_flexors"]))
    peak = base.groups["long_toe_flexors"]["peak_force_bw"]
    verdict = SUPPORTED if share >= 0.05 else PARTLY if share >= 0.02 else NOT
    return ClaimEvidence(
        "h",
        "The toe flexors matter at push-off.",
        verdict,
        {
            "long_toe_flexors_share_of_propulsion_impulse": share,
            "long_toe_flexors_peak_force_bw": peak,
            "muscles": toe,
        },
        "supported if the long toe flexors carry at least 5 % of all muscle impulse during "
        "propulsion, partly if 2-5 %",
        ["the intrinsic foot muscles are not in the model; the toes joint may be locked"],
    )


@dataclass(frozen=True)
class Claim:
    id: str
    evaluate: Callable[[_Context], ClaimEvidence]


CLAIMS: tuple[Claim, ...] = (
    Claim("a", _claim_a),
    Claim("b", _claim_b),
    Claim("c", _claim_c),
    Claim("d", _claim_d),
    Claim("e", _claim_e),
    Claim("f", _claim_f),
    Claim("g", _claim_g),
    Claim("h", _claim_h),
)


def evaluate_claims(
    speed_model: SpeedModel, *, reference_speed_m_s: float | None = None, ids: str | None = None
) -> list[ClaimEvidence]:
    """Every claim (or those in ``ids``, e.g. ``"acd"``) on one runner.

    Parameters
    ----------
    speed_model
        The runner's trials (claims about speed use the slowest and fastest).
    reference_speed_m_s
        Trial for the other claims (default: the measured speed nearest
        :data:`runmuscles.whatif.compare.DEFAULT_BASELINE_SPEED_M_S`, as the what-if).
    """
    speeds = speed_model.speeds_m_s
    ref = (
        reference_speed_m_s
        if reference_speed_m_s is not None
        else min(speeds, key=lambda v: abs(v - DEFAULT_BASELINE_SPEED_M_S))
    )
    engine = speed_model.engine_at(ref)
    if engine is None:
        from .errors import InputError  # noqa: PLC0415

        raise InputError("reference_speed_m_s", f"no trial at {ref:g} m/s (have {speeds})")
    ctx = _Context(engine, speed_model)
    return [c.evaluate(ctx) for c in CLAIMS if ids is None or c.id in ids]
