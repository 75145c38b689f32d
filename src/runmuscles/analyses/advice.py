"""From load to training: what running asks of each muscle group, and cited exercises for it.

For a trial (a results folder or a :class:`~runmuscles.pipeline.TrialAnalysis`), a run (the
record of :func:`~runmuscles.analyses.load_model.summarize_run_file`) or a week of the
history (:mod:`runmuscles.history`), per muscle group:

* **load** per km (and per run or per week): impulse (body-weight seconds) and positive and
  negative muscle work (J/kg), from the analysis or the run-load table;
* **demand relative to capacity** (trials only): the peak over the strides of the group's
  force over the force its muscles could give at full activation at their length and
  speed in the model (force / activation, summed per side), and the fraction of the
  strides spent at or above :data:`NEAR_LIMIT` of it. The near-limit time is left out when
  the analysis flags saturation (:data:`runmuscles.analyses.validity.SATURATION_CODES`):
  there it is partly an artefact of the rigid tendon;
* **change with speed and grade**: the per-km load at the runner's pace + 1 m/s (at most
  5 m/s) and at +10 % grade over the load now, from the run-load table
  (:func:`~runmuscles.analyses.load_model.table_load_per_km`).

Groups are ranked twice: those the running stresses most (share of the summed group impulse,
averaged with the demand where it is known) and those it loads least relative to faster or
hillier running (the largest of the four ratios). For each ranked group two or three
exercises come from the cited table ``runmuscles/data/exercises.json``: evidence (%MVIC or
trial outcome, with the muscle it was measured on), source, dose where a cited programme
gives one, where it was verified (or ``unchecked``), and a sentence linking it to the
runner's numbers. Groups with thin evidence (the shin) get a note, not an exercise.

Wording follows the evidence: "the model estimates"; no diagnosis and no personal risk
figures (:data:`FORBIDDEN_WORDING`, checked by :func:`wording_problems`). Strength training
improves running economy consistently (Blagrove RC et al. 2018, Sports Med 48:1117-1149);
for injury prevention in runners the trials are mixed (Toresdahl BG et al. 2020, Sports
Health 12:74-79; Leppanen M et al. 2024, Br J Sports Med 58:722-732).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..validation import check
from .groups import GROUP_LABELS, MAIN_GROUPS, group_members, muscle_side
from .validity import SATURATION_CODES  # quality codes under which near-limit time is not shown

__all__ = [
    "FORBIDDEN_WORDING",
    "HILL_GRADE_PCT",
    "NEAR_LIMIT",
    "advice_for_analysis",
    "advice_for_results",
    "advice_for_run",
    "advice_for_stored_run",
    "advice_for_week",
    "advice_lines",
    "build_advice",
    "group_demand",
    "iter_text",
    "load_exercises",
    "wording_problems",
]

EXERCISES_FILE = "exercises.json"
#: Fraction of the force available at full activation counted as "near the limit" (a
#: design choice of this package, not a published threshold).
NEAR_LIMIT = 0.8
#: Activation below which force / activation is not used as the muscle's capacity.
_MIN_ACTIVATION = 0.005
#: The what-ifs of the ranking: pace + 1 m/s (at most the table's 5 m/s) and a 10 % climb.
FASTER_BY_M_S = 1.0
MAX_SPEED_M_S = 5.0
HILL_GRADE_PCT = 10.0
#: Groups ranked each way, and exercises per group.
N_STRESSED = 3
N_HEADROOM = 2
N_PER_GROUP = 3
#: Words and phrases generated text must not contain (wording rules: no diagnosis, no
#: alarm words, no personal risk figures).
FORBIDDEN_WORDING: tuple[str, ...] = (
    r"\bweak",
    r"overload",
    r"danger",
    r"sweet spot",
    r"\byour (injury )?risk",
    r"\brisk of (an )?injury\b",
    r"\byou will (get )?(be )?injure",
    r"\bdiagnos(is|e) (of|that) you",
)
_FORBIDDEN_RE = [re.compile(p, re.IGNORECASE) for p in FORBIDDEN_WORDING]
QUANTITY_WORDS = {
    "impulse_bw_s": "muscle impulse",
    "positive_work_j_per_kg": "positive muscle work",
    "negative_work_j_per_kg": "negative (braking) muscle work",
}
PAIN_NOTE = (
    "If running or an exercise causes pain, reduce the load and see a clinician: these suggestions "
    "are not a diagnosis or a treatment."
)
MODEL_NOTE = (
    "The model estimates these loads from musculoskeletal simulations of treadmill running "
    "(Hamner & Delp 2013 runners, 2-5 m/s); they are estimates, not measurements of you."
)


# -- the exercise table -----------------------------------------------------------------------


def load_exercises(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check the cited exercise table (default: the one shipped with the package).

    Every row needs ``group``, ``exercise``, ``evidence``, ``measured_on`` and ``source``,
    and either ``verified_in`` (where its figure was read) or ``unchecked: true``.

    Raises
    ------
    InputError
        A file that is not such a table, or a row that breaks those rules.
    """
    src = (
        Path(path) if path is not None else Path(str(resources.files("runmuscles") / "data" / EXERCISES_FILE))
    )
    try:
        d = json.loads(src.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(src, f"cannot read the exercise table ({exc})") from None
    if not isinstance(d, dict) or not isinstance(d.get("exercises"), list):
        raise InputError(src, "is not an exercise table (no 'exercises' list)")
    for i, row in enumerate(d["exercises"]):
        where = f"{src} row {i + 1}"
        for key in ("group", "exercise", "evidence", "measured_on", "source"):
            if not isinstance(row.get(key), str) or not row[key].strip() or row[key].strip() == "-":
                raise InputError(where, f"has no '{key}'")
        if row["group"] not in MAIN_GROUPS:
            raise InputError(where, f"unknown group '{row['group']}' (one of {', '.join(MAIN_GROUPS)})")
        if not row.get("verified_in") and row.get("unchecked") is not True:
            raise InputError(where, "needs 'verified_in' (where its figure was read) or 'unchecked: true'")
    return d


def _exercises_for(table: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """The group's rows, verified ones first (table order otherwise), at most N_PER_GROUP."""
    rows = [r for r in table["exercises"] if r["group"] == group]
    rows.sort(key=lambda r: 1 if r.get("unchecked") else 0)
    return rows[:N_PER_GROUP]


# -- demand relative to capacity (trials) -----------------------------------------------------


def _fill_gaps(x: np.ndarray) -> np.ndarray:
    """NaNs of each column filled by linear interpolation in frame index (edges held)."""
    out = x.copy()
    idx = np.arange(x.shape[0])
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        if ok.any() and not ok.all():
            out[:, j] = np.interp(idx, idx[ok], x[ok, j])
    return out


def group_demand(
    time_s: np.ndarray,
    activation: np.ndarray,
    force_n: np.ndarray,
    muscle_names: Sequence[str],
    windows: Sequence[tuple[float, float]] | None = None,
    *,
    saturation_flagged: bool = False,
) -> dict[str, dict[str, Any]]:
    """Per group: peak force over the force available at full activation, and near-limit time.

    Parameters
    ----------
    time_s, activation, force_n, muscle_names
        Per frame (F,) and per frame and muscle (F, M), from static optimization.
    windows
        ``(start_s, end_s)`` of the strides (default: every frame).
    saturation_flagged
        The analysis flags saturated muscles or large reserves: near-limit time is ``None``.

    Returns
    -------
    dict
        Per group: ``peak_force_over_capacity`` (0-1: per side, the group's summed force over
        the summed force its muscles could give at full activation at their length and speed,
        force / activation; peak over frames and sides), ``near_limit_fraction`` (fraction of
        the stride frames at or above :data:`NEAR_LIMIT`, mean over sides; ``None`` when
        ``saturation_flagged``), ``muscles_without_capacity`` (never active enough to tell).
    """
    t = np.asarray(time_s, dtype=float)
    a = np.asarray(activation, dtype=float)
    f = np.asarray(force_n, dtype=float)
    if a.shape != f.shape or a.shape[0] != t.size or a.shape[1] != len(muscle_names):
        raise InputError("activation/force", "shapes of activation, force and muscle names differ")
    sel = np.zeros(t.size, bool)
    for lo, hi in windows or [(t[0], t[-1])]:
        sel |= (t >= lo - 1e-9) & (t <= hi + 1e-9)
    if not sel.any():
        sel[:] = True
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.where(a > _MIN_ACTIVATION, f / a, np.nan)
    cap = _fill_gaps(cap)
    known = np.isfinite(cap).all(axis=0)
    out: dict[str, dict[str, Any]] = {}
    names = list(muscle_names)
    for g, members in group_members(names).items():
        if g == "other" or not members:
            continue
        peaks, near = [], []
        for side in ("right", "left", ""):
            cols = [names.index(m) for m in members if muscle_side(m) == side and known[names.index(m)]]
            if not cols:
                continue
            c = cap[sel][:, cols].sum(axis=1)
            ratio = np.where(c > 0, f[sel][:, cols].sum(axis=1) / np.where(c > 0, c, 1.0), 0.0)
            peaks.append(float(ratio.max()))
            near.append(float(np.mean(ratio >= NEAR_LIMIT)))
        if not peaks:
            continue
        out[g] = {
            "peak_force_over_capacity": max(peaks),
            "near_limit_fraction": None if saturation_flagged else float(np.mean(near)),
            "saturation_flagged": saturation_flagged,
            "muscles_without_capacity": [m for m in members if not known[names.index(m)]],
        }
    return out


def _flagged(quality: dict | None) -> list[str]:
    codes = [w.get("code") for w in (quality or {}).get("warnings", []) if isinstance(w, dict)]
    return [c for c in SATURATION_CODES if c in codes]


def _demand_note(flags: list[str]) -> str:
    if not flags:
        return (
            f"demand: peak group force over the force its muscles could give at full activation at "
            f"their length and speed in the model; near-limit time: share of the strides at or above "
            f"{100 * NEAR_LIMIT:.0f} % of it"
        )
    return (
        "near-limit time not shown: the analysis flags " + " and ".join(flags) + ", where time near "
        "the limit is partly an artefact of the rigid tendon"
    )


# -- the profile and the ranking ---------------------------------------------------------------


def _shares(per_km: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each group's share of the summed group impulse (groups overlap: rectus femoris counts
    in quadriceps and hip flexors)."""
    total = sum(abs(v["impulse_bw_s"]) for v in per_km.values())
    return {g: (abs(v["impulse_bw_s"]) / total if total > 0 else 0.0) for g, v in per_km.items()}


def _ratio(new: float, now: float) -> float | None:
    return float(abs(new) / abs(now)) if now and math.isfinite(now) and abs(now) > 1e-12 else None


def build_advice(
    *,
    kind: str,
    label: str,
    speed_m_s: float,
    per_km: dict[str, dict[str, float]],
    totals: dict[str, dict[str, float]] | None = None,
    totals_name: str = "per_run",
    demand: dict[str, dict[str, Any]] | None = None,
    demand_note: str = "",
    spikes: list[dict[str, Any]] | None = None,
    spike_check: str = "not checked",
    changes: list[dict[str, Any]] | None = None,
    warnings: Iterable[str] = (),
    model: dict[str, Any] | None = None,
    exercises: dict[str, Any] | None = None,
    units: str = "km",
) -> dict[str, Any]:
    """Rank the groups and pick cited exercises (the common part of every ``advice_for_*``).

    Parameters
    ----------
    kind, label
        ``"trial"``, ``"run"`` or ``"week"``, and what it is (file, folder, week).
    speed_m_s
        The runner's usual pace for the what-ifs (held to the table's range).
    per_km
        Per group: ``impulse_bw_s``, ``positive_work_j_per_kg``, ``negative_work_j_per_kg``
        per km of this running.
    totals, totals_name
        The same quantities for the whole run or week (key ``per_run`` / ``per_week``).
    demand, demand_note
        From :func:`group_demand` (trials) and what it means.
    spikes, changes
        Single-run checks and weekly per-group comparisons to pass through.
    warnings
        Anything the user should know about the inputs.
    model, exercises
        The run-load table and the exercise table (default: the shipped ones).
    units
        The distance unit the text and ``per_unit`` use (``km`` or ``mi``: the profile's,
        :mod:`runmuscles.profile`); ``per_km`` stays per kilometre whatever it is.

    Returns
    -------
    dict
        ``source``, ``units``, ``groups`` (each with ``group``, ``label``, ``rank``,
        ``headroom_rank``, loads (``per_km``, and ``per_unit``: per ``units``),
        ``share_of_impulse``, ``demand``, ``response``), ``ranked``, ``suggestions``
        (``group``, ``exercise``, ``evidence``, ``measured_on``, ``source``, ``dose``,
        ``verified_in``, ``unchecked``, ``why``), ``notes``, ``spikes``, ``weekly_changes``,
        ``evidence``, ``method`` and ``warnings``.
    """
    from ..profile import KM_PER_MI  # noqa: PLC0415
    from ..validation import check_choice  # noqa: PLC0415
    from .load_model import load_load_model, table_load_per_km  # noqa: PLC0415

    check_choice("units", units, "units")
    km_per_unit = KM_PER_MI if units == "mi" else 1.0
    m = model if model is not None else load_load_model()
    ex = exercises if exercises is not None else load_exercises()
    lo, hi = float(m["speeds_m_s"][0]), float(m["speeds_m_s"][-1])
    v_now = float(np.clip(speed_m_s, lo, hi)) if math.isfinite(speed_m_s) else lo
    v_fast = min(v_now + FASTER_BY_M_S, MAX_SPEED_M_S, hi)
    t_now = table_load_per_km(m, v_now)
    t_fast = table_load_per_km(m, v_fast)
    t_hill = table_load_per_km(m, v_now, HILL_GRADE_PCT)
    groups = [g for g in MAIN_GROUPS if g in per_km and g in t_now]
    shares = _shares({g: per_km[g] for g in groups})
    hill_shares = _shares({g: t_hill[g] for g in groups})
    rows: dict[str, dict[str, Any]] = {}
    for g in groups:
        resp = {
            "speed_now_m_s": v_now,
            "speed_faster_m_s": v_fast,
            "grade_hill_pct": HILL_GRADE_PCT,
        }
        for q, short in (("impulse_bw_s", "impulse"), ("positive_work_j_per_kg", "positive_work")):
            resp[f"{short}_ratio_faster"] = _ratio(t_fast[g][q], t_now[g][q])
            resp[f"{short}_ratio_hill"] = _ratio(t_hill[g][q], t_now[g][q])
        ratios = [x for k, x in resp.items() if k.endswith(("_faster", "_hill")) and x is not None]
        row: dict[str, Any] = {
            "group": g,
            "label": GROUP_LABELS.get(g, g),
            "share_of_impulse": shares[g],
            "share_of_impulse_on_hill": hill_shares[g],
            "per_km": {q: float(per_km[g][q]) for q in QUANTITY_WORDS},
            "per_unit": {q: float(per_km[g][q]) * km_per_unit for q in QUANTITY_WORDS},
            "response": resp,
            "headroom": max(ratios) if ratios else None,
            "evidence_level": ex.get("groups", {}).get(g, {}).get("evidence_level", ""),
        }
        if totals is not None and g in totals:
            row[totals_name] = {q: float(totals[g][q]) for q in QUANTITY_WORDS}
        if demand is not None and g in demand:
            row["demand"] = dict(demand[g])
        rows[g] = row
    # stress: share of impulse (relative to the largest), averaged with demand where known
    max_share = max((r["share_of_impulse"] for r in rows.values()), default=0.0) or 1.0
    peaks = {g: r["demand"]["peak_force_over_capacity"] for g, r in rows.items() if "demand" in r}
    max_peak = max(peaks.values(), default=0.0) or 1.0
    for g, r in rows.items():
        s = r["share_of_impulse"] / max_share
        r["stress_score"] = 0.5 * (s + peaks[g] / max_peak) if g in peaks else s
    by_stress = sorted(rows, key=lambda g: -rows[g]["stress_score"])
    by_headroom = sorted(
        (g for g in rows if rows[g]["headroom"] is not None), key=lambda g: -rows[g]["headroom"]
    )
    for i, g in enumerate(by_stress):
        rows[g]["rank"] = i + 1
    for i, g in enumerate(by_headroom):
        rows[g]["headroom_rank"] = i + 1
    stressed = by_stress[:N_STRESSED]
    headroom = [g for g in by_headroom if g not in stressed][:N_HEADROOM]
    suggestions: list[dict[str, Any]] = []
    notes: list[dict[str, str]] = []
    for g in [*stressed, *headroom]:
        why = _why(rows[g], kind, stressed=g in stressed, units=units)
        picked = _exercises_for(ex, g)
        info = ex.get("groups", {}).get(g, {})
        if info.get("evidence_level") == "thin" or not picked:
            notes.append({"group": g, "text": info.get("note") or f"No cited exercise for {g} in the table."})
        for r in picked:
            suggestions.append(
                {
                    "group": g,
                    "reason": "stressed" if g in stressed else "loaded_least_vs_faster_or_hillier",
                    "exercise": r["exercise"],
                    "evidence": r["evidence"],
                    "measured_on": r["measured_on"],
                    "source": r["source"],
                    "dose": r.get("dose") or "none cited",
                    "verified_in": r.get("verified_in"),
                    "unchecked": bool(r.get("unchecked")),
                    "why": why,
                }
            )
    statements = [s for s in ex.get("statements", []) if s.get("key") in ("economy", "injury")]
    return {
        "source": {"kind": kind, "label": label, "speed_m_s": v_now},
        "units": units,
        "groups": [rows[g] for g in by_stress],
        "ranked": {"most_stressed": stressed, "least_loaded_vs_faster_or_hillier": headroom},
        "suggestions": suggestions,
        "notes": notes,
        "spikes": list(spikes or []),
        "spike_check": spike_check,
        "weekly_changes": list(changes or []),
        "evidence": statements,
        "pain": PAIN_NOTE,
        "method": {
            "model": MODEL_NOTE,
            "stress": f"share of the summed group impulse per {units} (groups overlap), averaged with the "
            "demand relative to capacity where the analysis gives it",
            "least_loaded": f"largest ratio of per-{units} impulse or positive work at {v_fast:.1f} m/s "
            f"(pace + {FASTER_BY_M_S:g}, at most {MAX_SPEED_M_S:g}) or at +{HILL_GRADE_PCT:g} % grade to the "
            "load now, from the run-load table",
            "demand": demand_note,
        },
        "warnings": list(warnings),
    }


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _why(row: dict[str, Any], kind: str, *, stressed: bool, units: str = "km") -> str:
    """One sentence tying the exercise to this runner's numbers."""
    name = row["label"].split(" (")[0].lower()
    where = {"trial": "in this trial", "run": "on this run", "week": "this week"}.get(kind, "")
    r = row["response"]
    if stressed:
        s = (
            f"The model estimates your {name} carry {_pct(row['share_of_impulse'])} of the summed group "
            f"muscle impulse {where} ({r['speed_now_m_s']:.1f} m/s) and "
            f"{_pct(row['share_of_impulse_on_hill'])} on a {r['grade_hill_pct']:g} % climb"
        )
        d = row.get("demand")
        if d and d.get("saturation_flagged") and d["peak_force_over_capacity"] >= 0.99:
            s += "; their peak force reaches the model's limit (the analysis flags saturated muscles there)"
        elif d:
            s += f"; their peak force reaches {_pct(d['peak_force_over_capacity'])} of what they could give"
            if d.get("near_limit_fraction") is not None:
                s += f", {_pct(d['near_limit_fraction'])} of the stride near that limit"
        return s + "."
    parts, last = [], None
    for key, cond in (
        ("faster", f"at {r['speed_faster_m_s']:.1f} m/s"),
        ("hill", f"on a {r['grade_hill_pct']:g} % climb"),
    ):
        imp, pos = r[f"impulse_ratio_{key}"], r[f"positive_work_ratio_{key}"]
        best = max((x for x in (imp, pos) if x is not None), default=None)
        if best is None:
            continue
        what = "muscle impulse" if best == imp else "positive muscle work"
        parts.append(("" if what == last else f"{what} per {units} ") + f"{100 * (best - 1):+.0f} % {cond}")
        last = what
    subject = {"trial": "This trial's running", "run": "This run", "week": "This week's running"}.get(
        kind, "This running"
    )
    return (
        f"{subject} asks less of your {name} than faster or hillier running would: the model estimates "
        f"their " + " and ".join(parts) + f", compared with {r['speed_now_m_s']:.1f} m/s on the flat."
    )


# -- trial, run, week --------------------------------------------------------------------------


def _per_km_from_summary(summary: dict[str, Any]) -> tuple[dict[str, dict[str, float]], list[str]]:
    groups = summary.get("groups") or {}
    speed = summary.get("speed_m_s")
    f_stride = summary.get("stride_frequency_hz")
    if not speed or not f_stride:
        raise InputError(
            "summary.json",
            "no running speed or stride frequency: cannot give load per km (analyze with --speed)",
        )
    check("speed_m_s", speed, "summary.json speed_m_s")
    check("stride_frequency_hz", f_stride, "summary.json stride_frequency_hz")
    strides_per_km = 1000.0 * float(f_stride) / float(speed)
    out = {}
    for g, e in groups.items():
        if g == "other":
            continue
        out[g] = {q: float(e[f"{q}_per_stride"]) * strides_per_km for q in QUANTITY_WORDS}
    return out, []


def advice_for_analysis(analysis, **kw: Any) -> dict[str, Any]:
    """Advice for a :class:`~runmuscles.pipeline.TrialAnalysis` (in memory)."""
    summary = analysis.summary()
    rec = analysis.recruitment
    flags = _flagged(analysis.quality)
    demand = group_demand(
        analysis.time_s,
        rec.activation,
        rec.muscle_force_n,
        rec.muscle_names,
        [(c.start_s, c.end_s) for c in analysis.cycles],
        saturation_flagged=bool(flags),
    )
    return _trial(summary, str(analysis.coordinates_path), demand, flags, **kw)


def advice_for_results(folder: str | Path, **kw: Any) -> dict[str, Any]:
    """Advice for a results folder written by ``runmuscles analyze`` (``summary.json``, and
    ``activation.sto`` / ``force.sto`` for the demand when present)."""
    from ..readers.opensim_files import read_storage  # noqa: PLC0415

    folder = Path(folder)
    path = folder / "summary.json"
    if not path.exists():
        raise InputError(folder, "no summary.json: not a runmuscles results folder")
    try:
        summary = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(path, f"is not valid JSON ({exc})") from None
    flags = _flagged(summary.get("quality"))
    demand = None
    act_p, frc_p = folder / "activation.sto", folder / "force.sto"
    if act_p.exists() and frc_p.exists():
        act, frc = read_storage(act_p), read_storage(frc_p)
        muscles = sorted({m for e in (summary.get("groups") or {}).values() for m in e.get("muscles", [])})
        muscles = [m for m in act.labels if m in muscles and m in frc]
        if muscles and act.time_s.size == frc.time_s.size:
            windows = [(s["start_s"], s["end_s"]) for s in summary.get("strides", []) if "start_s" in s]
            demand = group_demand(
                act.time_s,
                act.columns(muscles),
                frc.columns(muscles),
                muscles,
                windows,
                saturation_flagged=bool(flags),
            )
    return _trial(summary, str(folder), demand, flags, **kw)


def _trial(summary: dict, label: str, demand, flags: list[str], **kw: Any) -> dict[str, Any]:
    per_km, warn = _per_km_from_summary(summary)
    if summary.get("quality", {}).get("valid") is False:
        warn.append(
            "the analysis is marked not valid (quality.valid is false): treat these numbers with care"
        )
    return build_advice(
        kind="trial",
        label=label,
        speed_m_s=float(summary["speed_m_s"]),
        per_km=per_km,
        demand=demand,
        demand_note=_demand_note(flags)
        if demand is not None
        else "not available (no activation.sto/force.sto)",
        warnings=warn,
        **kw,
    )


def advice_for_run(
    record: dict[str, Any], *, history: list[dict[str, Any]] | None = None, units: str = "km", **kw: Any
) -> dict:
    """Advice for one run (the record of :func:`~runmuscles.analyses.load_model.summarize_run_file`).

    ``history``: earlier runs (dicts with ``start_time``, ``distance_m`` and ``groups``, e.g.
    :func:`runmuscles.history.activities`) for the single-run check. ``units``: the distance
    unit of the text (``km`` or ``mi``, :func:`build_advice`).
    """
    from ..history import single_run_spikes  # noqa: PLC0415

    km = float(record.get("distance_loaded_m") or 0.0) / 1000.0
    if km <= 0:
        raise InputError(record.get("file", "run"), "no running inside the load model's speed range")
    per_km = {g: {q: v[q] / km for q in QUANTITY_WORDS} for g, v in record["groups"].items() if g != "other"}
    moving = float(record.get("moving_time_s") or 0.0)
    speed = float(record["distance_m"]) / moving if moving > 0 else float("nan")
    spikes, check = [], "not checked: no earlier runs given (runmuscles advice FILE --db HISTORY)"
    if history is not None:
        spikes = [
            s
            for s in single_run_spikes([*history, record], units=units)
            if s.get("source") == record.get("file")
        ]
        check = "checked against the history"
    return build_advice(
        kind="run",
        label=str(record.get("file", "run")),
        speed_m_s=speed,
        per_km=per_km,
        totals={g: v for g, v in record["groups"].items() if g != "other"},
        totals_name="per_run",
        spikes=spikes,
        spike_check=check,
        warnings=record.get("warnings", []),
        units=units,
        **kw,
    )


def advice_for_stored_run(engine, activity_id: int, **kw: Any) -> dict[str, Any]:
    """Advice for one run of the history, as ``runmuscles advice FILE --db HISTORY`` gives it.

    The run's file is read again (:func:`~runmuscles.analyses.load_model.summarize_run_file`:
    the history keeps loads, not the distance inside the load model's speed range), and the
    single-run check runs against every other run of the history. The text's distance unit is
    ``units``, else the history's profile's (:mod:`runmuscles.profile`).

    Raises :class:`~runmuscles.errors.InputError` when the history has no run ``activity_id``
    or its file is no longer where it was imported from.
    """
    from ..history import activities  # noqa: PLC0415
    from .load_model import summarize_run_file  # noqa: PLC0415

    acts = activities(engine)
    found = [a for a in acts if a["id"] == activity_id]
    if not found:
        raise InputError(f"run {activity_id}", "no such run in the history")
    path = Path(found[0]["source"])
    if not path.is_file():
        raise InputError(f"run {activity_id}", "its file is no longer where it was imported from")
    others = [a for a in acts if a["id"] != activity_id and a["content_hash"] != found[0]["content_hash"]]
    from ..profile import load_profile  # noqa: PLC0415

    profile = load_profile(engine)
    cadence = profile.cadence_spm  # as the run was imported (the history's profile)
    kw.setdefault("units", profile.shown_units)
    return advice_for_run(summarize_run_file(path, usual_cadence_spm=cadence), history=others, **kw)


def advice_for_week(engine, week_start: str | None = None, **kw: Any) -> dict[str, Any]:
    """Advice for one ISO week of the history (default: the last week with runs).

    Includes the single-run check for the week's runs and the descriptive per-group
    comparison with the previous three weeks (:func:`runmuscles.history.weekly_loads`). The
    text's distance unit is ``units``, else the history's profile's (:mod:`runmuscles.profile`).
    """
    from datetime import date, timedelta  # noqa: PLC0415

    from ..history import activities, single_run_spikes, weekly_loads  # noqa: PLC0415
    from ..profile import format_distance, load_profile  # noqa: PLC0415

    units = kw.pop("units", None) or load_profile(engine).shown_units

    acts = activities(engine)
    if not acts:
        raise InputError("history", "no runs in the history yet (runmuscles history --import FOLDER)")

    def monday(a) -> str:
        d = a["start_time"].date()
        return (d - timedelta(days=d.weekday())).isoformat()

    if week_start is None:
        week_start = monday(acts[-1])
    else:
        try:
            d = date.fromisoformat(week_start)
        except ValueError:
            raise InputError("--week", f"'{week_start}' is not a date (YYYY-MM-DD)") from None
        week_start = (d - timedelta(days=d.weekday())).isoformat()
    week = [a for a in acts if monday(a) == week_start]
    if not week:
        raise InputError("--week", f"no runs in the week of {week_start}")
    dist = sum(a["distance_m"] for a in week)
    dur = sum(a["duration_s"] for a in week)
    totals: dict[str, dict[str, float]] = {}
    for a in week:
        for g, v in a["groups"].items():
            if g == "other":
                continue
            t = totals.setdefault(g, dict.fromkeys(QUANTITY_WORDS, 0.0))
            for q in QUANTITY_WORDS:
                t[q] += float(v[q])
    km = dist / 1000.0
    if km <= 0:
        raise InputError("history", f"the week of {week_start} has no distance")
    per_km = {g: {q: x / km for q, x in v.items()} for g, v in totals.items()}
    sources = {a["source"] for a in week}
    spikes = [s for s in single_run_spikes(acts, units=units) if s.get("source") in sources]
    changes = [
        {k: r[k] for k in ("group", "load", "previous_load", "ratio", "rise", "note")}
        for r in weekly_loads(engine)
        if r["week_start"] == week_start
    ]
    return build_advice(
        kind="week",
        label=f"week of {week_start} ({len(week)} run{'' if len(week) == 1 else 's'}, "
        f"{format_distance(dist, units, 1)})",
        speed_m_s=dist / dur if dur > 0 else float("nan"),
        per_km=per_km,
        totals=totals,
        totals_name="per_week",
        spikes=spikes,
        spike_check="checked: the week's runs against the 30 days before each",
        changes=changes,
        warnings=["the week's pace is its distance over elapsed time (stops included)"],
        units=units,
        **kw,
    )


# -- text and wording --------------------------------------------------------------------------


def iter_text(obj: Any) -> Iterator[str]:
    """Every string in a nested structure of dicts and lists (keys excluded)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from iter_text(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from iter_text(v)


def wording_problems(texts: Iterable[str]) -> list[str]:
    """The sentences that break the wording rules (:data:`FORBIDDEN_WORDING`)."""
    return [t for t in texts for rx in _FORBIDDEN_RE if rx.search(t)]


def _per_unit(row: dict[str, Any]) -> dict[str, float]:
    """A group row's loads per the advice's distance unit (``per_km`` in advice without one)."""
    return row.get("per_unit") or row["per_km"]


def advice_lines(advice: dict[str, Any]) -> list[str]:
    """The advice as plain text lines (what ``runmuscles advice`` prints)."""
    src = advice["source"]
    units = advice.get("units", "km")
    out = [f"{src['kind']}: {src['label']}", MODEL_NOTE, ""]
    out.append(f"Muscle groups, most stressed first (share of the summed group impulse per {units}):")
    for r in advice["groups"]:
        d = r.get("demand")
        dem = ""
        if d:
            dem = f", peak {_pct(d['peak_force_over_capacity'])} of capacity"
            if d.get("near_limit_fraction") is not None:
                dem += f", {_pct(d['near_limit_fraction'])} of the stride near it"
        resp = r["response"]

        def x(v: float | None) -> str:
            return f"x{v:.2f}" if v is not None else "-"

        out.append(
            f"  {r['rank']}. {r['label']:<28} {_pct(r['share_of_impulse']):>5}  "
            f"{_per_unit(r)['impulse_bw_s']:7.0f} BW s/{units}{dem}; at {resp['speed_faster_m_s']:.1f} m/s "
            f"{x(resp['impulse_ratio_faster'])} impulse, {x(resp['positive_work_ratio_faster'])} work; "
            f"on +{resp['grade_hill_pct']:g} % {x(resp['impulse_ratio_hill'])} impulse"
        )
    out += ["", "Suggestions:"]
    for s in advice["suggestions"]:
        mark = " [unchecked]" if s["unchecked"] else ""
        out += [
            f"  {s['group']}: {s['exercise']}{mark}",
            f"    evidence: {s['evidence']} (measured on {s['measured_on']})",
            f"    source: {s['source']}",
            f"    dose: {s['dose']}",
            f"    why: {s['why']}",
        ]
    for n in advice["notes"]:
        out.append(f"  {n['group']}: {n['text']}")
    if src["kind"] != "trial":
        out += ["", f"Single-run check (validated for distance; {advice['spike_check']}):"]
        if not advice["spikes"] and advice["spike_check"].startswith("checked"):
            out.append("  no run more than 10 % longer than the longest run of the previous 30 days")
        for s in advice["spikes"]:
            out.append(f"  {s['note']}")
            for g in s.get("groups_over", []):
                out.append(f"    {g['note']}")
    if advice.get("weekly_changes"):
        out += [
            "",
            "This week against the mean of the previous three (descriptive, not validated for injury):",
        ]
        for c in advice["weekly_changes"]:
            ratio = f"x{c['ratio']:.2f}" if c["ratio"] is not None else "-"
            out.append(
                f"  {c['group']:<18}{c['load']:>10.1f}  {ratio}" + (f"  {c['note']}" if c["note"] else "")
            )
    out += ["", "What strength training does for runners:"]
    for s in advice["evidence"]:
        cite = f" ({s['source']})" if s.get("source") else ""
        out.append(f"  {s['text']}{cite}" + (" [unchecked]" if s.get("unchecked") else ""))
    out.append(f"  {advice['pain']}")
    for w in advice.get("warnings", []):
        out.append(f"warning: {w}")
    return out
