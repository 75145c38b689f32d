"""A plain-language summary written from the result tables' numbers.

Sentences are chosen and filled by the numbers: which groups lead and by how much, in
which phase each does most of its work, what changed most between the slowest and the
fastest speed, and what is unusual (left-right asymmetry above 10 %, muscles at full
activation, residual forces and moments above the Hicks et al. (2015) thresholds, large
reserve torques).
"""

from __future__ import annotations

from ..analyses.groups import GROUP_LABELS
from .resultset import PHASE_LABELS, PHASES, ResultSet

__all__ = ["ASYMMETRY_LIMIT", "asymmetries", "summary_sentences", "speed_sentences"]

# Left-right difference in a group's force impulse worth mentioning (issue 3: "asymmetry
# above 10 %"), relative to the mean of the two sides.
ASYMMETRY_LIMIT = 0.10


def _name(g: str) -> str:
    return GROUP_LABELS.get(g, g).split(" (")[0].lower().replace("core / trunk", "core and trunk muscles")


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def asymmetries(rs: ResultSet) -> list[tuple[str, float, float, float]]:
    """Groups whose right and left force impulse differ by more than :data:`ASYMMETRY_LIMIT`.

    Returns ``(group, right_bw_s, left_bw_s, difference / mean)`` sorted by the difference.
    """
    out = []
    for g in rs.groups:
        if g == "other":
            continue
        r = rs.group_mean(g, "right", "stride", "impulse_bw_s")
        left = rs.group_mean(g, "left", "stride", "impulse_bw_s")
        mean = 0.5 * (r + left)
        if mean > 0 and abs(r - left) / mean > ASYMMETRY_LIMIT:
            out.append((g, r, left, abs(r - left) / mean))
    return sorted(out, key=lambda t: -t[3])


def energy_sentence(summary: dict) -> str | None:
    """The energy estimate in one sentence, with its flag when a quality warning bears on
    energy (:func:`runmuscles.analyses.validity.flag_reasons`); ``None`` without energy."""
    from ..analyses.validity import flag_reasons  # noqa: PLC0415

    cost = summary.get("metabolic_cost_j_per_kg_m")
    if cost is None:
        return None
    text = f"Estimated energy cost: {cost:.2f} J/kg/m"
    kcal = (summary.get("energetics") or {}).get("kcal_per_km")
    if kcal is not None:
        text += f" ({kcal:.0f} kcal/km)"
    reasons = flag_reasons(summary.get("quality", {}), "energy")
    if reasons:
        return text + " -- FLAGGED, not to be taken at face value: " + "; ".join(reasons) + "."
    return text + "."


def summary_sentences(rs: ResultSet) -> list[str]:
    """Sentences about one analysis (its top groups, when they work, anything unusual)."""
    s = rs.summary
    groups = {g: e for g, e in rs.groups.items() if g != "other"}
    out: list[str] = []
    energy = energy_sentence(s)
    if energy:
        out.append(energy)
    speed = f"at {s['speed_m_s']:g} m/s" if s.get("speed_m_s") else "at an unknown speed"
    if s.get("n_strides"):
        out.append(
            f"Running {speed}: {s['n_strides']} stride{'s' if s['n_strides'] != 1 else ''} "
            f"of {s['stride_time_s']:.2f} s analysed, the foot on the ground for "
            f"{100 * s['stance_fraction']:.0f} % of each stride"
            + (
                f", peak vertical ground force {s['peak_vertical_grf_bw']:.1f} times body weight."
                if s.get("peak_vertical_grf_bw")
                else "."
            )
        )
    order = sorted(groups, key=lambda g: -groups[g]["share_of_impulse"])
    if order:
        lead = [f"the {_name(g)} ({100 * groups[g]['share_of_impulse']:.0f} %)" for g in order[:3]]
        out.append(f"The muscle groups that carried most of the force over a stride were {_join(lead)}.")
        when = []
        for g in order[:3]:
            imp = {ph: rs.group_mean(g, "both", ph, "impulse_bw_s") for ph in PHASES}
            total = sum(imp.values())
            if total > 0:
                ph = max(imp, key=imp.get)
                when.append(
                    f"the {_name(g)} in {PHASE_LABELS[ph]} ({100 * imp[ph] / total:.0f} % of their impulse)"
                )
        if when:
            out.append(f"They worked most: {_join(when)}.")
        work = sorted(groups, key=lambda g: -groups[g]["share_of_positive_work"])
        g = work[0]
        out.append(
            f"Most positive work (energy the muscles generate) came from the {_name(g)} "
            f"({100 * groups[g]['share_of_positive_work']:.0f} % of all muscles' positive work"
            + (
                f", {groups[g]['positive_work_j_per_kg_per_km']:.0f} J/kg per kilometre)."
                if groups[g].get("positive_work_j_per_kg_per_km") is not None
                else ")."
            )
        )
    asym = asymmetries(rs)
    if asym:
        parts = [
            f"the {_name(g)} ({'right' if r > left else 'left'} side {100 * d:.0f} % higher)"
            for g, r, left, d in asym[:4]
        ]
        out.append(
            f"Left-right differences above {100 * ASYMMETRY_LIMIT:.0f} % in force impulse: {_join(parts)}."
        )
    else:
        out.append(
            f"No muscle group differs between left and right by more than {100 * ASYMMETRY_LIMIT:.0f} %."
        )
    q = s.get("quality", {})
    sat = q.get("saturated_muscles", [])
    if sat:
        out.append(
            f"Unusual: {len(sat)} of {len(rs.muscle_names)} muscles reach full activation on some frames, "
            "so the model's muscles lack the strength for these moments there; their forces are lower "
            "bounds and reserve "
            "actuators made up "
            f"the rest (up to {q.get('reserve_peak_nm_on_muscle_coordinates', 0):.0f} N m at the joints)."
        )
    for kind, r in q.get("residuals", {}).items():
        if not r.get("within_threshold", True):
            unit = "N" if kind.startswith("force") else "N m"
            what = "forces" if kind.startswith("force") else "moments"
            out.append(
                f"Residual {what} at the pelvis peak at {r['peak']:.0f} {unit}, "
                f"{r['peak'] / r['threshold_hicks_2015']:.1f} "
                f"times the threshold of Hicks et al. (2015) ({r['threshold_hicks_2015']:.0f} {unit}): the "
                "motion and "
                "the measured forces do not fully agree, so treat absolute values with care."
            )
    return out


def speed_sentences(runs: list[ResultSet]) -> list[str]:
    """Sentences about what changed from the slowest to the fastest speed."""
    runs = [r for r in runs if r.speed_m_s]
    if len(runs) < 2:
        return []
    a, b = runs[0], runs[-1]
    va, vb = a.speed_m_s, b.speed_m_s
    out = []
    sa, sb = a.summary, b.summary
    if sa.get("stride_time_s") and sb.get("stride_time_s"):
        out.append(
            f"From {va:g} to {vb:g} m/s the stride shortened from {sa['stride_time_s']:.2f} to "
            f"{sb['stride_time_s']:.2f} s"
            + (
                f" and the peak vertical ground force rose from {sa['peak_vertical_grf_bw']:.1f} to "
                f"{sb['peak_vertical_grf_bw']:.1f} body weights."
                if sa.get("peak_vertical_grf_bw") and sb.get("peak_vertical_grf_bw")
                else "."
            )
        )
    common = [g for g in a.groups if g in b.groups and g != "other"]
    delta = {g: b.groups[g]["share_of_impulse"] - a.groups[g]["share_of_impulse"] for g in common}
    up = [g for g in sorted(delta, key=lambda g: -delta[g]) if delta[g] > 0.005][:2]
    down = [g for g in sorted(delta, key=lambda g: delta[g]) if delta[g] < -0.005][:2]

    def change(g: str) -> str:
        return (
            f"the {_name(g)} from {100 * a.groups[g]['share_of_impulse']:.0f} % to "
            f"{100 * b.groups[g]['share_of_impulse']:.0f} %"
        )

    if up or down:
        bits = []
        if up:
            bits.append("rose for " + _join([change(g) for g in up]))
        if down:
            bits.append("fell for " + _join([change(g) for g in down]))
        out.append("The share of the force impulse " + "; it ".join(bits) + ".")
    key = "positive_work_j_per_kg_per_km"
    if all(b.groups[g].get(key) is not None and a.groups[g].get(key) is not None for g in common):
        ratio = {g: b.groups[g][key] / a.groups[g][key] for g in common if a.groups[g][key] > 0}
        if ratio:
            gu = max(ratio, key=ratio.get)
            gd = min(ratio, key=ratio.get)
            out.append(
                f"Per kilometre, the positive work of the {_name(gu)} changed most upwards "
                f"({a.groups[gu][key]:.0f} to {b.groups[gu][key]:.0f} J/kg) and that of the {_name(gd)} most "
                f"downwards ({a.groups[gd][key]:.0f} to {b.groups[gd][key]:.0f} J/kg)."
            )
    return out
