"""Per-group muscle load of an everyday run, from a response table built with the engine.

:func:`build_load_model` runs :func:`runmuscles.pipeline.analyze_trial` on every runner of
the shared Hamner & Delp (2013) data (``subjectNN/Run_2`` .. ``Run_5``, recorded at 2-5 m/s;
Hamner SR, Delp SL (2013) J Biomech 46:780-787) with the volume strength model and stores,
per muscle group and speed, the mean over runners of

* ``impulse_bw_s``: time integral of muscle force, in body-weight seconds,
* ``positive_work_j_per_kg`` / ``negative_work_j_per_kg``: muscle work per kg of body mass,

per stride and per km, and the stride frequency (Hz). The table is shipped as
``runmuscles/data/load_model.json`` with its provenance; :func:`load_load_model` reads it.

:func:`run_load` integrates that table over the running samples of a
:class:`~runmuscles.analyses.runs.CleanRun`: each running sample contributes its distance
times the per-km load interpolated (linearly) at its speed. Samples outside the table's
speed range (2-5 m/s) are not extrapolated: they are left out and the distance left out is
reported in ``warnings``. Grade and cadence do not change the load yet (issue 4).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2 as G_M_S2
from ..errors import InputError

__all__ = [
    "LOAD_MODEL_FILE",
    "QUANTITIES",
    "build_load_model",
    "load_load_model",
    "run_load",
    "summarize_run_file",
]

LOAD_MODEL_FILE = "load_model.json"
#: Per-stride quantities of the table (per-km ones are named ``*_per_km``).
QUANTITIES: tuple[str, ...] = ("impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg")
UNITS = {
    "impulse_bw_s": "body-weight seconds (time integral of muscle force / body weight)",
    "positive_work_j_per_kg": "J per kg of body mass (muscle shortening work)",
    "negative_work_j_per_kg": "J per kg of body mass (muscle lengthening work, a negative number)",
    "stride_frequency_hz": "strides (two steps) per second",
}


def _gait_window(folder: Path, trial: str) -> tuple[float | None, float | None]:
    """First to last published gait cycle of a trial (gaitTimes.json), or the whole trial."""
    from ..trials import published_gait_window  # noqa: PLC0415

    window = published_gait_window(folder, trial)
    return window if window is not None else (None, None)


def build_load_model(
    data_dir: str | Path,
    out_path: str | Path | None = None,
    *,
    speeds_m_s: tuple[int, ...] = (2, 3, 4, 5),
    strength: str = "volume",
    progress=print,
) -> dict[str, Any]:
    """Build the per-group load response table from the shared runners.

    Parameters
    ----------
    data_dir
        The ``hamner2013`` folder (``subjectNN/`` with ``model/``, ``ik/``, ``Run_N_grf.xml``).
    out_path
        Where to write the JSON (``None``: not written).
    speeds_m_s
        Trials ``Run_N`` to use (recorded at N m/s).
    strength
        Strength model passed to :class:`~runmuscles.pipeline.AnalysisOptions`.
    progress
        Called with one line per trial.

    Returns
    -------
    dict
        The table (see module docstring); also written to ``out_path``.
    """
    from .. import __version__  # noqa: PLC0415
    from ..pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from ..trials import resolve_trial  # noqa: PLC0415

    data_dir = Path(data_dir)
    subjects = sorted(p for p in data_dir.iterdir() if p.is_dir() and (p / "ik").is_dir())
    if not subjects:
        raise InputError(data_dir, "has no subjectNN/ folders with ik/")
    trials: list[dict[str, Any]] = []
    for subj in subjects:
        for v in speeds_m_s:
            name = f"Run_{v}"
            try:
                spec = resolve_trial(subj, name)
                t0, t1 = _gait_window(subj, name)
                opts = AnalysisOptions(strength=strength, speed_m_s=float(v), start_s=t0, end_s=t1)
                an = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
                gs = an.group_summary()
                stride_s = float(np.mean([c.duration_s for c in an.cycles]))
            except Exception as exc:  # noqa: BLE001 - a failed trial is recorded, not fatal
                trials.append({"subject": subj.name, "speed_m_s": v, "error": str(exc).splitlines()[0]})
                progress(f"{subj.name} {name}: failed ({exc})")
                continue
            stride_len_m = v * stride_s
            groups = {}
            for g, e in gs.items():
                groups[g] = {q: e[f"{q}_per_stride"] for q in QUANTITIES}
            trials.append(
                {
                    "subject": subj.name,
                    "speed_m_s": v,
                    "body_mass_kg": float(an.body_mass_kg),
                    "strides": len(an.cycles),
                    "stride_frequency_hz": 1.0 / stride_s,
                    "stride_length_m": stride_len_m,
                    "groups": groups,
                }
            )
            progress(f"{subj.name} {name}: {len(an.cycles)} strides, {1.0 / stride_s:.2f} Hz")
    ok = [t for t in trials if "groups" in t]
    if not ok:
        raise InputError(data_dir, "no trial could be analysed")
    group_names = sorted({g for t in ok for g in t["groups"]})
    table: dict[str, dict[str, list[float]]] = {}
    freq, n_per_speed = [], []
    for v in speeds_m_s:
        at = [t for t in ok if t["speed_m_s"] == v]
        n_per_speed.append(len(at))
        freq.append(float(np.mean([t["stride_frequency_hz"] for t in at])) if at else math.nan)
    for g in group_names:
        entry: dict[str, list[float]] = {}
        for q in QUANTITIES:
            per_stride, per_km = [], []
            for v in speeds_m_s:
                at = [t for t in ok if t["speed_m_s"] == v and g in t["groups"]]
                per_stride.append(float(np.mean([t["groups"][g][q] for t in at])) if at else math.nan)
                per_km.append(
                    float(np.mean([t["groups"][g][q] * 1000.0 / t["stride_length_m"] for t in at]))
                    if at
                    else math.nan
                )
            entry[f"{q}_per_stride"] = per_stride
            entry[f"{q}_per_km"] = per_km
        table[g] = entry
    model_names = sorted({str(resolve_trial(s, f"Run_{speeds_m_s[0]}").model.name) for s in subjects})
    out = {
        "provenance": {
            "data": f"Hamner & Delp (2013) J Biomech 46:780-787, {len(subjects)} runners: "
            + ", ".join(s.name for s in subjects),
            "trials": [f"Run_{v}" for v in speeds_m_s],
            "window": "first to last published gait cycle (gaitTimes.json)",
            "models": model_names,
            "settings": AnalysisOptions(strength=strength).as_dict(),
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "runmuscles_version": __version__,
            "built_by": "runmuscles.analyses.load_model.build_load_model",
        },
        "units": UNITS,
        "speeds_m_s": [float(v) for v in speeds_m_s],
        "runners_per_speed": n_per_speed,
        "stride_frequency_hz": freq,
        "groups": table,
        "trials": trials,
    }
    if out_path is not None:
        Path(out_path).write_text(json.dumps(out, indent=1, default=_json_default) + "\n")
    return out


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def load_load_model(path: str | Path | None = None) -> dict[str, Any]:
    """Read the response table (default: the one shipped with the package).

    Parameters
    ----------
    path
        A JSON written by :func:`build_load_model`; ``None``: ``runmuscles/data/load_model.json``.

    Returns
    -------
    dict
        The table, with ``speeds_m_s`` as given in the file.
    """
    src = (
        Path(path)
        if path is not None
        else Path(str(resources.files("runmuscles") / "data" / LOAD_MODEL_FILE))
    )
    if not src.exists():
        raise InputError(src, "load model not found (build it with build_load_model)")
    try:
        d = json.loads(src.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(src, f"is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    for key in ("speeds_m_s", "groups", "provenance"):
        if key not in d:
            raise InputError(src, f"has no '{key}': not a runmuscles load model")
    return d


def run_load(clean_run, body_mass_kg: float | None = None, model: dict[str, Any] | None = None) -> dict:
    """Per-group muscle load of a cleaned run.

    Parameters
    ----------
    clean_run
        A :class:`~runmuscles.analyses.runs.CleanRun`.
    body_mass_kg
        Runner's body mass; when given, impulses are also in N s and work in J.
    model
        A table from :func:`load_load_model` (default: the shipped one).

    Returns
    -------
    dict
        ``groups``: per group ``impulse_bw_s``, ``positive_work_j_per_kg``,
        ``negative_work_j_per_kg`` (and ``impulse_n_s``, ``positive_work_j``,
        ``negative_work_j`` with a body mass); ``units``; ``distance_loaded_m`` (running
        distance inside the table's speed range); ``distance_out_of_range_m``; ``strides``
        (estimated from the table's stride frequency); ``warnings``.
    """
    m = model if model is not None else load_load_model()
    speeds = np.asarray(m["speeds_m_s"], dtype=float)
    t = np.asarray(clean_run.time_s, dtype=float)
    dist = np.asarray(clean_run.table.column("distance_m"), dtype=float)
    speed = np.asarray(clean_run.table.column("speed_m_s"), dtype=float)
    gait = np.asarray(clean_run.gait)
    n = t.size
    warnings: list[str] = []
    # Distance and time of each sample: half the step to each neighbour.
    dd = np.zeros(n)
    dt = np.zeros(n)
    if n > 1:
        step_d = np.diff(np.nan_to_num(dist, nan=0.0))
        step_t = np.diff(t)
        dd[:-1] += step_d / 2
        dd[1:] += step_d / 2
        dt[:-1] += step_t / 2
        dt[1:] += step_t / 2
    dd = np.clip(dd, 0.0, None)
    running = gait == "run"
    ok = running & np.isfinite(speed) & (speed >= speeds[0]) & (speed <= speeds[-1])
    out_of_range = running & ~ok
    d_out = float(dd[out_of_range].sum())
    if d_out > 0:
        slow = float(dd[out_of_range & (np.nan_to_num(speed) < speeds[0])].sum())
        warnings.append(
            f"{d_out:.0f} m of running outside the load model's {speeds[0]:g}-{speeds[-1]:g} m/s range "
            f"({slow:.0f} m slower, {d_out - slow:.0f} m faster) not counted: no extrapolation"
        )
    walk_d = float(dd[gait == "walk"].sum())
    if walk_d > 0:
        warnings.append(f"{walk_d:.0f} m of walking not counted (the load model is for running)")
    warnings.append("grade and cadence effects not modelled yet (issue 4): loads are for level running")
    v = speed[ok]
    freq = np.interp(v, speeds, np.asarray(m["stride_frequency_hz"], dtype=float))
    strides = float(np.sum(freq * dt[ok]))
    groups: dict[str, dict[str, float]] = {}
    for g, e in m["groups"].items():
        row: dict[str, float] = {}
        for q in QUANTITIES:
            per_km = np.interp(v, speeds, np.asarray(e[f"{q}_per_km"], dtype=float))
            row[q] = float(np.sum(per_km * dd[ok]) / 1000.0)
        if body_mass_kg is not None:
            row["impulse_n_s"] = row["impulse_bw_s"] * body_mass_kg * G_M_S2
            row["positive_work_j"] = row["positive_work_j_per_kg"] * body_mass_kg
            row["negative_work_j"] = row["negative_work_j_per_kg"] * body_mass_kg
        groups[g] = row
    units = {q: UNITS[q] for q in QUANTITIES}
    if body_mass_kg is not None:
        units |= {"impulse_n_s": "N s", "positive_work_j": "J", "negative_work_j": "J"}
    return {
        "groups": groups,
        "units": units,
        "distance_loaded_m": float(dd[ok].sum()),
        "distance_out_of_range_m": d_out,
        "strides": strides,
        "body_mass_kg": body_mass_kg,
        "load_model": m["provenance"].get("date", ""),
        "warnings": warnings,
    }


def summarize_run_file(path: str | Path, body_mass_kg: float | None = None) -> dict[str, Any]:
    """Read, clean and load one watch file: the record ``runmuscles run --json`` prints.

    Parameters
    ----------
    path
        A FIT, GPX or TCX file.
    body_mass_kg
        Runner's body mass (adds absolute loads).

    Returns
    -------
    dict
        ``file``, ``sport``, ``start_time`` (ISO, UTC), ``distance_m``, ``duration_s``
        (elapsed), ``moving_time_s``, ``ascent_m``, ``descent_m`` (``None`` without altitude),
        ``pace_s_per_km`` (moving), ``groups`` and ``units`` (see :func:`run_load`),
        ``distance_loaded_m``, ``strides``, ``warnings``. Raises
        :class:`~runmuscles.errors.InputError` for a file that is not a usable run.
    """
    from ..readers.watch import read_activity  # noqa: PLC0415
    from .runs import clean_activity  # noqa: PLC0415

    run = clean_activity(read_activity(path))
    load = run_load(run, body_mass_kg=body_mass_kg)
    tot = run.totals

    def fin(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    return {
        "file": str(path),
        "sport": run.sport,
        "start_time": run.start_time.astimezone(UTC).isoformat(),
        "distance_m": float(tot.distance_m),
        "duration_s": float(tot.elapsed_time_s),
        "moving_time_s": float(tot.moving_time_s),
        "ascent_m": fin(tot.ascent_m),
        "descent_m": fin(tot.descent_m),
        "pace_s_per_km": fin(tot.mean_pace_s_per_km),
        "groups": load["groups"],
        "units": load["units"],
        "distance_loaded_m": load["distance_loaded_m"],
        "strides": load["strides"],
        "warnings": list(run.warnings) + load["warnings"],
    }
