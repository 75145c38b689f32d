"""Per-group muscle load of an everyday run, from a response table built with the engine.

The table
---------
:func:`build_load_model` analyses every runner of the shared Hamner & Delp (2013) data
(``subjectNN/Run_2`` .. ``Run_5``, treadmill running at 2-5 m/s; Hamner SR, Delp SL (2013)
J Biomech 46:780-787) once, with :func:`runmuscles.pipeline.analyze_trial` over the
published gait cycles and the volume strength model, and then recomputes each trial under
every combination of grade and cadence with the what-if engine
(:class:`runmuscles.whatif.WhatIfEngine`):

* **grade** (default -15 to +15 % in steps of 5): gravity tilted by ``atan(grade)`` in the
  slope's frame, the ground reaction force changed to balance it and the centre of mass
  following it, at the same speed along the slope (see :mod:`runmuscles.whatif`);
* **cadence** (default 90 to 110 % of the runner's own step frequency at that speed, in
  steps of 5): the stride's time compressed, step length and centre-of-mass excursions
  shortened, the same speed.

Per cell (speed x grade x cadence) and muscle group it stores the mean over runners of

* ``impulse_bw_s``: time integral of muscle force, in body-weight seconds,
* ``positive_work_j_per_kg`` / ``negative_work_j_per_kg``: muscle work per kg of body mass,

per stride (``*_per_stride``) and per km (``*_per_km``: per stride x strides per km, where a
stride at cadence ``c`` is ``1/c`` as long, so a km takes ``c`` times as many strides), and
``peak_force_bw`` (peak of one side's summed group force). The stride frequency at 100 %
cadence is stored per speed. The table is shipped as ``runmuscles/data/load_model.json``
with its provenance (runners, trials, method, transformations and their assumptions);
:func:`load_load_model` reads it. ``runmuscles load-model build`` rebuilds it.

A run
-----
:func:`run_load` integrates the table over the running samples of a
:class:`~runmuscles.analyses.runs.CleanRun`: each running sample contributes its distance
times the per-km load interpolated (linearly in speed, grade and cadence) at its speed, its
grade (from the cleaned elevation) and its cadence (the file's steps per minute relative
to the table's stride frequency at that speed; 100 % when the file has no cadence).
Nothing is extrapolated: running outside the table's speed range is left out, grades and
cadences outside the table's range are counted at its nearest edge; both are counted in
``warnings``.

It also says what drove the load (``drivers``): the run's load split into *pace* (the load
of flat running at the table's typical cadence at the run's speeds: distance and pace),
*hills* and *cadence*. Hills and cadence are the changes from re-integrating with the
grade set to 0 and the cadence set to 100 %, each averaged over both orders of removal
(a two-factor Shapley split), so that the three parts add up to the load exactly.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2 as G_M_S2
from ..errors import InputError
from ..quality import QualityWarning, quality_mark
from ..trials import runner_folders
from ..validation import check

__all__ = [
    "DEFAULT_CADENCES_PCT",
    "DEFAULT_GRADES_PCT",
    "DRIVERS",
    "LOAD_MODEL_FILE",
    "QUANTITIES",
    "build_load_model",
    "load_load_model",
    "main_driver",
    "run_load",
    "summarize_activity",
    "summarize_run_file",
    "table_load_per_km",
]

LOAD_MODEL_FILE = "load_model.json"
#: Version of the table's layout (2: speed x grade x cadence).
FORMAT = 2
#: Per-stride quantities of the table (per-km ones are named ``*_per_km``).
QUANTITIES: tuple[str, ...] = ("impulse_bw_s", "positive_work_j_per_kg", "negative_work_j_per_kg")
#: Grades (%) and cadences (% of the runner's own at that speed) of the shipped table.
DEFAULT_GRADES_PCT: tuple[float, ...] = (-15.0, -10.0, -5.0, 0.0, 5.0, 10.0, 15.0)
DEFAULT_CADENCES_PCT: tuple[float, ...] = (90.0, 95.0, 100.0, 105.0, 110.0)
#: Parts of a run's load (see the module notes).
DRIVERS: tuple[str, ...] = ("pace", "hills", "cadence")
UNITS = {
    "impulse_bw_s": "body-weight seconds (time integral of muscle force / body weight)",
    "positive_work_j_per_kg": "J per kg of body mass (muscle shortening work)",
    "negative_work_j_per_kg": "J per kg of body mass (muscle lengthening work, a negative number)",
    "peak_force_bw": "body weights (peak of one side's summed group force, per stride)",
    "stride_frequency_hz": "strides (two steps) per second",
    "speed_m_s": "m/s",
    "grade_pct": "% (rise / run x 100; positive uphill)",
    "cadence_pct": "% of the runner's own step frequency at that speed",
}
_TRANSFORMS = {
    "grade": (
        "runmuscles.whatif.WhatIfEngine._grade: running at constant speed on a slope is level running "
        "with gravity tilted by atan(grade) in the slope's frame; the change of gravity is added to each "
        "foot's ground reaction force in proportion to its normal force (zero in flight), the centre of "
        "mass follows the changed net force, the feet stay on their ground paths (leg inverse kinematics). "
        "Slope adaptation (runmuscles.whatif.WhatIfEngine._slope_adaptation): trunk and feet keep their "
        "orientation to gravity, so the trunk leans into the slope by atan(grade) and the foot lands "
        "flatter uphill and more heel-first downhill by the same angle (directions: Vernillo et al. "
        "2017, Sports Med 47:615-629; the size is an assumption). The step-frequency part of the "
        "adaptation (Padulo et al. 2013) is not in the table: its cadence axis is the step frequency "
        "itself, read from the run's file."
    ),
    "cadence": (
        "runmuscles.whatif.WhatIfEngine._cadence: step frequency x c at the same speed: stride time / c, "
        "step length / c, centre-of-mass excursions / c^2, same ground reaction force amplitudes over "
        "shorter contacts, feet on the ground at the same speed. Assumes the runner's other kinematics "
        "scale with the stride (Heiderscheit et al. 2011, Med Sci Sports Exerc 43:296-302 measured the "
        "effects)."
    ),
}


# -- building the table -----------------------------------------------------------------------


def _axis(name: str, values: Sequence[float], lo: float, hi: float, must: float, unit: str) -> list[float]:
    """A sorted, unique axis inside ``[lo, hi]`` that contains ``must``."""
    try:
        vals = sorted({float(v) for v in values})
    except (TypeError, ValueError):
        raise InputError(name, f"{values!r} is not a list of numbers") from None
    if not vals or any(not math.isfinite(v) or v < lo or v > hi for v in vals):
        raise InputError(name, f"{values!r}: give values from {lo:g} to {hi:g} {unit}")
    if must not in vals:
        raise InputError(name, f"must include {must:g} {unit} (the recorded condition)")
    return vals


def _speed_axis(values: Sequence[int | float]) -> list[int]:
    out = []
    for v in values:
        try:
            iv = int(v)
        except (TypeError, ValueError):
            raise InputError("speeds_m_s", f"{v!r} is not a speed") from None
        if iv != v or iv <= 0:
            raise InputError("speeds_m_s", f"{v!r}: trials are Run_N at whole N m/s (2, 3, 4, 5)")
        out.append(iv)
    if not out:
        raise InputError("speeds_m_s", "no speeds given")
    return sorted(set(out))


def build_load_model(
    data_dir: str | Path,
    out_path: str | Path | None = None,
    *,
    speeds_m_s: Sequence[int] = (2, 3, 4, 5),
    grades_pct: Sequence[float] = DEFAULT_GRADES_PCT,
    cadences_pct: Sequence[float] = DEFAULT_CADENCES_PCT,
    subjects: Sequence[str] | None = None,
    strength: str = "volume",
    progress: Callable[[str], Any] | None = print,
) -> dict[str, Any]:
    """Build the per-group load response table (speed x grade x cadence) from the runners.

    Parameters
    ----------
    data_dir
        The ``hamner2013`` folder (``subjectNN/`` with ``model/``, ``ik/``, ``Run_N_grf.xml``
        and ``gaitTimes.json``).
    out_path
        Where to write the JSON (``None``: not written).
    speeds_m_s
        Trials ``Run_N`` to use (recorded at N m/s).
    grades_pct
        Grades of the table, -20 to 20 %, including 0.
    cadences_pct
        Cadences of the table, 80 to 120 % of each runner's own, including 100.
    subjects
        Subject folders to use (default: every one with ``ik/``).
    strength
        Strength model passed to :class:`~runmuscles.pipeline.AnalysisOptions`.
    progress
        Called with one line per trial (``None``: silent).

    Returns
    -------
    dict
        The table (see the module notes); also written to ``out_path``.

    Raises
    ------
    InputError
        A folder without subject folders, axes out of range, or a cell of the table that no
        runner could be computed for.
    """
    from .. import __version__  # noqa: PLC0415
    from ..pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from ..trials import published_gait_window, resolve_trial  # noqa: PLC0415
    from ..whatif import Condition, WhatIfEngine  # noqa: PLC0415

    t_build = time.perf_counter()
    say = progress or (lambda _line: None)
    speeds = _speed_axis(speeds_m_s)
    grades = _axis("grades_pct", grades_pct, -20.0, 20.0, 0.0, "%")
    cads = _axis("cadences_pct", cadences_pct, 80.0, 120.0, 100.0, "% of the recorded cadence")
    if strength not in ("volume", "model"):
        raise InputError("strength", f"'{strength}' is not one of volume, model")
    if out_path is not None:
        from ..outputs import check_output_file, json_written_by_runmuscles  # noqa: PLC0415

        check_output_file(out_path, json_written_by_runmuscles)
    data_dir = Path(data_dir)
    folders = runner_folders(data_dir, subjects)
    n_s, n_g, n_c = len(speeds), len(grades), len(cads)
    n_q = len(QUANTITIES) + 1  # + peak force
    trials: list[dict[str, Any]] = []
    # per trial: (speed index, per-group (n_g, n_c, n_q) per stride, stride time (n_g, n_c))
    grids: list[tuple[int, dict[str, np.ndarray], np.ndarray]] = []
    engine_notes: dict[str, list[str]] = {}
    n_trials = len(folders) * n_s
    k = 0
    for subj in folders:
        for si, v in enumerate(speeds):
            k += 1
            name = f"Run_{v}"
            t0 = time.perf_counter()
            try:
                spec = resolve_trial(subj, name)
                window = published_gait_window(subj, name) or (None, None)
                opts = AnalysisOptions(
                    strength=strength, speed_m_s=float(v), start_s=window[0], end_s=window[1]
                )
                an = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
                engine = WhatIfEngine(an)
                base = engine.baseline()
            except Exception as exc:  # noqa: BLE001 - a failed trial is recorded, not fatal
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                trials.append({"subject": subj.name, "speed_m_s": v, "error": msg})
                say(f"[{k}/{n_trials}] {subj.name} {name}: failed ({msg})")
                continue
            t_an = time.perf_counter() - t0
            stride_s = float(base.stride["stride_time_s"])
            groups = sorted(base.groups)
            vals = {g: np.full((n_g, n_c, n_q), np.nan) for g in groups}
            stride_t = np.full((n_g, n_c), np.nan)
            failed = []
            for gi, gr in enumerate(grades):
                for ci, cp in enumerate(cads):
                    if gr == 0.0 and cp == 100.0:
                        res = base
                    else:
                        try:
                            res = engine.evaluate(Condition(grade_pct=gr, cadence_pct=cp))
                        except Exception as exc:  # noqa: BLE001 - recorded per condition
                            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                            failed.append({"grade_pct": gr, "cadence_pct": cp, "error": msg})
                            continue
                        key = "grade" if cp == 100.0 else "cadence" if gr == 0.0 else ""
                        if key and key not in engine_notes:
                            engine_notes[key] = list(res.notes)
                    stride_t[gi, ci] = float(res.stride["stride_time_s"])
                    for g in groups:
                        row = res.groups.get(g)
                        if row is None:
                            continue
                        vals[g][gi, ci, :] = [row[f"{q}_per_stride"] for q in QUANTITIES] + [
                            row["peak_force_bw"]
                        ]
            grids.append((si, vals, stride_t))
            trials.append(
                {
                    "subject": subj.name,
                    "speed_m_s": v,
                    "body_mass_kg": float(an.body_mass_kg),
                    "strides": len(an.cycles),
                    "stride_frequency_hz": 1.0 / stride_s,
                    "stride_length_m": v * stride_s,
                    "groups": {
                        g: {q: float(base.groups[g][f"{q}_per_stride"]) for q in QUANTITIES} for g in groups
                    },
                    # per group, [grade][cadence] (null: failed): the runner's own response
                    "impulse_bw_s_per_stride": {g: _rounded(vals[g][..., 0]) for g in groups},
                    "analysis_s": round(t_an, 2),
                    "whatif_s": round(time.perf_counter() - t0 - t_an, 2),
                    "conditions_failed": failed,
                }
            )
            say(
                f"[{k}/{n_trials}] {subj.name} {name}: {len(an.cycles)} strides, {1.0 / stride_s:.2f} Hz, "
                f"{n_g * n_c - 1 - len(failed)} of {n_g * n_c - 1} conditions "
                f"({time.perf_counter() - t0:.1f} s)"
            )
    if not grids:
        raise InputError(data_dir, "no trial could be analysed")
    group_names = sorted({g for _, vals, _ in grids for g in vals})
    # per cell: mean over the runners at that speed that have it
    stack_stride = {g: [[] for _ in range(n_s)] for g in group_names}
    stack_km = {g: [[] for _ in range(n_s)] for g in group_names}
    freq: list[list[float]] = [[] for _ in range(n_s)]
    for si, vals, st in grids:
        gi0, ci0 = grades.index(0.0), cads.index(100.0)
        freq[si].append(1.0 / st[gi0, ci0])
        per_km = 1000.0 / (speeds[si] * st)  # strides per km at each condition
        for g in group_names:
            x = vals.get(g, np.full((n_g, n_c, n_q), np.nan))
            stack_stride[g][si].append(x)
            stack_km[g][si].append(x[..., : len(QUANTITIES)] * per_km[..., None])
    runners = np.zeros((n_s, n_g, n_c), dtype=int)
    table: dict[str, dict[str, Any]] = {}
    for g in group_names:
        mean_stride = np.full((n_s, n_g, n_c, n_q), np.nan)
        mean_km = np.full((n_s, n_g, n_c, len(QUANTITIES)), np.nan)
        for si in range(n_s):
            if stack_stride[g][si]:
                a = np.stack(stack_stride[g][si])
                b = np.stack(stack_km[g][si])
                ok = np.isfinite(a).all(axis=-1)
                runners[si] = np.maximum(runners[si], ok.sum(axis=0))
                with np.errstate(invalid="ignore"):
                    mean_stride[si] = np.nanmean(np.where(ok[..., None], a, np.nan), axis=0)
                    mean_km[si] = np.nanmean(np.where(ok[..., None], b, np.nan), axis=0)
        entry: dict[str, Any] = {}
        for qi, q in enumerate(QUANTITIES):
            entry[f"{q}_per_stride"] = _rounded(mean_stride[..., qi])
            entry[f"{q}_per_km"] = _rounded(mean_km[..., qi])
        entry["peak_force_bw"] = _rounded(mean_stride[..., -1])
        table[g] = entry
        empty = ~np.isfinite(mean_km).all(axis=-1)
        if empty.any():
            si, gi, ci = (int(i[0]) for i in np.nonzero(empty))
            raise InputError(
                data_dir,
                f"no runner could be computed for {g} at {speeds[si]} m/s, grade "
                f"{grades[gi]:g} %, cadence {cads[ci]:g} % (see the trials' conditions_failed)",
            )
    model_names = sorted({t.name for t in _models(folders)})
    n_fail = sum(len(t.get("conditions_failed", [])) for t in trials)
    out = {
        "format": FORMAT,
        "provenance": {
            "data": f"Hamner & Delp (2013) J Biomech 46:780-787, {len(folders)} runners: "
            + ", ".join(s.name for s in folders),
            "runners": [s.name for s in folders],
            "trials": [f"Run_{v}" for v in speeds],
            "window": "first to last published gait cycle (gaitTimes.json) of each trial",
            "method": (
                "each trial analysed once (runmuscles.pipeline.analyze_trial: residual reduction, "
                "inverse dynamics, static optimization); every grade x cadence condition recomputed from it "
                "with runmuscles.whatif.WhatIfEngine.evaluate; per km = per stride x 1000 / (speed x the "
                "condition's stride time); each cell is the mean over the runners at that speed "
                "(runners: how many)"
            ),
            "transforms": _TRANSFORMS,
            "engine_notes": engine_notes,
            "models": model_names,
            "settings": AnalysisOptions(strength=strength).as_dict(),
            "conditions_failed": n_fail,
            "build_time_s": round(time.perf_counter() - t_build, 1),
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "runmuscles_version": __version__,
            "built_by": "runmuscles.analyses.load_model.build_load_model (runmuscles load-model build)",
        },
        "units": UNITS,
        "axes": ["speed_m_s", "grade_pct", "cadence_pct"],
        "speeds_m_s": [float(v) for v in speeds],
        "grades_pct": grades,
        "cadences_pct": cads,
        "runners_per_speed": [len(f) for f in freq],
        "runners": runners.tolist(),
        "stride_frequency_hz": [float(np.mean(f)) if f else None for f in freq],
        "groups": table,
        "trials": trials,
    }
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(_dumps(out) + "\n")
    return out


def _models(folders: list[Path]) -> list[Path]:
    from ..trials import trial_model  # noqa: PLC0415

    out = []
    for f in folders:
        try:
            out.append(trial_model(f))
        except InputError:
            continue
    return out


def _rounded(a: np.ndarray) -> list:
    """Nested lists with 6 significant digits (``None`` for NaN)."""
    if a.ndim == 0:
        x = float(a)
        return float(f"{x:.6g}") if math.isfinite(x) else None  # type: ignore[return-value]
    return [_rounded(x) for x in a]


def _dumps(o: Any, ind: int = 0) -> str:
    """JSON with dicts indented and lists of numbers on one line per innermost row."""
    pad = " " * ind
    if isinstance(o, dict):
        if not o:
            return "{}"
        items = [f"{pad} {json.dumps(str(k))}: {_dumps(v, ind + 1)}" for k, v in o.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(o, (list, tuple)) and any(isinstance(x, (dict, list, tuple)) for x in o):
        items = [f"{pad} {_dumps(v, ind + 1)}" for v in o]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(o, allow_nan=False, default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


# -- reading the table ------------------------------------------------------------------------


def load_load_model(path: str | Path | None = None) -> dict[str, Any]:
    """Read the response table (default: the one shipped with the package).

    Parameters
    ----------
    path
        A JSON written by :func:`build_load_model`; ``None``: ``runmuscles/data/load_model.json``.

    Returns
    -------
    dict
        The table as written (axes ``speeds_m_s``, ``grades_pct``, ``cadences_pct``).
    """
    src = (
        Path(path)
        if path is not None
        else Path(str(resources.files("runmuscles") / "data" / LOAD_MODEL_FILE))
    )
    if not src.exists():
        raise InputError(src, "load model not found (build it with runmuscles load-model build)")
    try:
        d = json.loads(src.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(src, f"is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(src, f"cannot be read ({exc})") from None
    if not isinstance(d, dict):
        raise InputError(src, "is not a runmuscles load model")
    for key in ("speeds_m_s", "groups", "provenance", "stride_frequency_hz"):
        if key not in d:
            raise InputError(src, f"has no '{key}': not a runmuscles load model")
    if "grades_pct" not in d or "cadences_pct" not in d:
        raise InputError(
            src,
            "has no grade and cadence axes (a table of an older runmuscles): rebuild it with "
            "runmuscles load-model build",
        )
    shape = (len(d["speeds_m_s"]), len(d["grades_pct"]), len(d["cadences_pct"]))
    for g, e in d["groups"].items():
        for q in QUANTITIES:
            a = np.asarray(e.get(f"{q}_per_km"), dtype=float)
            if a.shape != shape or not np.isfinite(a).all():
                raise InputError(src, f"group '{g}' {q}_per_km is not a complete {shape} table")
    return d


# -- integrating a run ------------------------------------------------------------------------


class _Grid:
    """The table as arrays: axes and per-km values ``(S, G, C, K)``, K = (group, quantity)."""

    def __init__(self, m: dict[str, Any]) -> None:
        self.speeds = np.asarray(m["speeds_m_s"], dtype=float)
        self.grades = np.asarray(m["grades_pct"], dtype=float)
        self.cads = np.asarray(m["cadences_pct"], dtype=float)
        self.freq = np.asarray(m["stride_frequency_hz"], dtype=float)
        self.keys = [(g, q) for g in m["groups"] for q in QUANTITIES]
        self.values = np.stack(
            [np.asarray(m["groups"][g][f"{q}_per_km"], dtype=float) for g, q in self.keys], axis=-1
        )
        self.shape = self.values.shape[:3]

    @staticmethod
    def _locate(axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lower and upper index and weight of the upper one (``x`` inside the axis)."""
        if axis.size == 1:
            z = np.zeros(x.size, dtype=np.intp)
            return z, z, np.zeros(x.size)
        i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2)
        w = (x - axis[i]) / (axis[i + 1] - axis[i])
        return i, i + 1, w

    def integrate(
        self, speed: np.ndarray, grade: np.ndarray, cad: np.ndarray, dist_m: np.ndarray
    ) -> np.ndarray:
        """Sum over samples of distance x per-km load at (speed, grade, cadence), per key."""
        if speed.size == 0:
            return np.zeros(len(self.keys))
        locs = [self._locate(a, x) for a, x in ((self.speeds, speed), (self.grades, grade), (self.cads, cad))]
        weights = np.zeros(int(np.prod(self.shape)))
        for corner in range(8):
            idx, w = [], dist_m / 1000.0
            for axis, (lo, hi, f) in enumerate(locs):
                up = (corner >> axis) & 1
                idx.append(hi if up else lo)
                w = w * (f if up else 1.0 - f)
            flat = np.ravel_multi_index(tuple(idx), self.shape)
            weights += np.bincount(flat, weights=w, minlength=weights.size)
        return weights @ self.values.reshape(-1, len(self.keys))


def table_load_per_km(
    model: dict[str, Any], speed_m_s: float, grade_pct: float = 0.0, cadence_pct: float = 100.0
) -> dict[str, dict[str, float]]:
    """Per-group load of one km of steady running at one condition, read from the table.

    Parameters
    ----------
    model
        From :func:`load_load_model`.
    speed_m_s, grade_pct, cadence_pct
        The condition; each is held to the table's range (no extrapolation).

    Returns
    -------
    dict
        Per group: ``impulse_bw_s``, ``positive_work_j_per_kg``, ``negative_work_j_per_kg``
        for 1 km (linear interpolation, as :func:`run_load` integrates a run).
    """
    grid = _Grid(model)
    x = [
        np.clip(np.array([float(v)]), a[0], a[-1])
        for v, a in ((speed_m_s, grid.speeds), (grade_pct, grid.grades), (cadence_pct, grid.cads))
    ]
    vals = grid.integrate(x[0], x[1], x[2], np.array([1000.0]))
    out: dict[str, dict[str, float]] = {}
    for k, (g, q) in enumerate(grid.keys):
        out.setdefault(g, {})[q] = float(vals[k])
    return out


def _nearest_on_axis(
    x: np.ndarray, axis, distance_m: np.ndarray, warnings: list[str], beyond: str, name: str
) -> np.ndarray:
    """``x`` held to the table's ``axis`` range (no extrapolation), with a warning that says
    how many metres were ``beyond`` it."""
    out = (x < axis[0]) | (x > axis[-1])
    if out.any():
        warnings.append(
            f"{distance_m[out].sum():.0f} m {beyond} counted at its nearest {name}: no extrapolation"
        )
    return np.clip(x, axis[0], axis[-1])


def run_load(
    clean_run,
    body_mass_kg: float | None = None,
    model: dict[str, Any] | None = None,
    usual_cadence_spm: float | None = None,
) -> dict[str, Any]:
    """Per-group muscle load of a cleaned run, and what drove it.

    Parameters
    ----------
    clean_run
        A :class:`~runmuscles.analyses.runs.CleanRun`.
    body_mass_kg
        Runner's body mass; when given, impulses are also in N s and work in J.
    model
        A table from :func:`load_load_model` (default: the shipped one).
    usual_cadence_spm
        The runner's usual cadence (steps/min, e.g. from the profile): used where the file has
        no cadence, instead of the runners' typical cadence at that speed.

    Returns
    -------
    dict
        ``groups``: per group ``impulse_bw_s``, ``positive_work_j_per_kg``,
        ``negative_work_j_per_kg`` (and ``impulse_n_s``, ``positive_work_j``,
        ``negative_work_j`` with a body mass); ``drivers``: per group ``pace``, ``hills``,
        ``cadence``, each with the same quantities (they add up to ``groups``); ``units``;
        ``conditions`` (distance-weighted grade and cadence, where the cadence came from);
        ``distance_loaded_m`` (running distance inside the table's speed range);
        ``distance_out_of_range_m``; ``time_loaded_s`` (running time inside the range);
        ``left_out`` (what the load does not count: ``walking_m``, ``slower_m`` and
        ``faster_m`` than the table's speeds, ``stopped_s``); ``strides`` (from the
        cadence used); ``warnings``.
    """
    check("body_mass_kg", body_mass_kg, "body_mass_kg")
    check("cadence_spm", usual_cadence_spm, "usual cadence")
    m = model if model is not None else load_load_model()
    grid = _Grid(m)
    speeds, grades, cads = grid.speeds, grid.grades, grid.cads
    table = clean_run.table
    t = np.asarray(clean_run.time_s, dtype=float)
    n = t.size

    def column(name: str) -> np.ndarray:
        return np.asarray(table.column(name), dtype=float) if name in table else np.full(n, np.nan)

    dist = column("distance_m")
    speed = column("speed_m_s")
    grade_raw = column("grade_pct")
    cad_spm = column("cadence_spm")
    gait = np.asarray(clean_run.gait)
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
    slow_d = float(dd[out_of_range & (np.nan_to_num(speed) < speeds[0])].sum())
    if d_out > 0:
        warnings.append(
            f"{d_out:.0f} m of running outside the load model's {speeds[0]:g}-{speeds[-1]:g} m/s range "
            f"({slow_d:.0f} m slower, {d_out - slow_d:.0f} m faster) not counted: no extrapolation"
        )
    walk_d = float(dd[gait == "walk"].sum())
    if walk_d > 0:
        warnings.append(f"{walk_d:.0f} m of walking not counted (the load model is for running)")
    v, d_ok, t_ok = speed[ok], dd[ok], dt[ok]
    d_total = float(d_ok.sum())
    # grade: from the cleaned elevation; unknown -> level
    gr = grade_raw[ok]
    no_grade = ~np.isfinite(gr)
    if no_grade.any() and d_total > 0:
        warnings.append(f"{d_ok[no_grade].sum():.0f} m without altitude counted as level running")
    gr = np.where(no_grade, 0.0, gr)
    gr = _nearest_on_axis(
        gr,
        grades,
        d_ok,
        warnings,
        f"steeper than the load model's {grades[0]:+g} to {grades[-1]:+g} %",
        "grade",
    )
    # cadence: the file's steps/min relative to the table's stride frequency at that speed
    f_typ = np.interp(v, speeds, grid.freq)
    c_spm = cad_spm[ok]
    has_cad = np.isfinite(c_spm) & (c_spm > 0)
    missing = 100.0 if usual_cadence_spm is None else 100.0 * (usual_cadence_spm / 120.0) / f_typ
    cp = np.where(has_cad, 100.0 * (c_spm / 120.0) / f_typ, missing)
    assumed = (
        "the runners' typical cadence at each speed assumed (100 %)"
        if usual_cadence_spm is None
        else f"the runner's usual cadence ({usual_cadence_spm:g} steps/min, from the profile) assumed"
    )
    if d_total > 0 and not has_cad.any():
        warnings.append(f"no cadence in the file: {assumed}")
    elif (~has_cad).any() and d_total > 0:
        warnings.append(f"{d_ok[~has_cad].sum():.0f} m without cadence: {assumed}")
    cp = _nearest_on_axis(
        cp,
        cads,
        d_ok,
        warnings,
        f"at a cadence outside the load model's {cads[0]:g}-{cads[-1]:g} % of the typical one",
        "cadence",
    )
    strides = float(np.sum(f_typ * cp / 100.0 * t_ok))
    # the run, and the run re-integrated without hills and/or at the typical cadence
    zero, hundred = np.zeros_like(gr), np.full_like(cp, 100.0)
    full = grid.integrate(v, gr, cp, d_ok)
    flat = grid.integrate(v, zero, cp, d_ok)
    typical = grid.integrate(v, gr, hundred, d_ok)
    base = grid.integrate(v, zero, hundred, d_ok)
    parts = {
        "pace": base,
        "hills": 0.5 * ((typical - base) + (full - flat)),
        "cadence": 0.5 * ((flat - base) + (full - typical)),
    }
    groups: dict[str, dict[str, float]] = {}
    drivers: dict[str, dict[str, dict[str, float]]] = {}
    for k, (g, q) in enumerate(grid.keys):
        groups.setdefault(g, {})[q] = float(full[k])
        for name, arr in parts.items():
            drivers.setdefault(g, {}).setdefault(name, {})[q] = float(arr[k])
    if body_mass_kg is not None:
        for row in [*groups.values(), *(p for d in drivers.values() for p in d.values())]:
            row["impulse_n_s"] = row["impulse_bw_s"] * body_mass_kg * G_M_S2
            row["positive_work_j"] = row["positive_work_j_per_kg"] * body_mass_kg
            row["negative_work_j"] = row["negative_work_j_per_kg"] * body_mass_kg
    units = {q: UNITS[q] for q in QUANTITIES}
    if body_mass_kg is not None:
        units |= {"impulse_n_s": "N s", "positive_work_j": "J", "negative_work_j": "J"}

    def wmean(x: np.ndarray, sel: np.ndarray | None = None) -> float | None:
        w = d_ok if sel is None else d_ok * sel
        return float(np.sum(x * w) / np.sum(w)) if np.sum(w) > 0 else None

    conditions = {
        "mean_grade_uphill_pct": wmean(gr, gr > 0.5),
        "mean_grade_downhill_pct": wmean(gr, gr < -0.5),
        "distance_uphill_m": float(d_ok[gr > 0.5].sum()),
        "distance_downhill_m": float(d_ok[gr < -0.5].sum()),
        "mean_cadence_pct": wmean(cp),
        "cadence_source": "file"
        if has_cad.any()
        else "typical (no cadence in the file)"
        if usual_cadence_spm is None
        else "the profile's usual cadence (no cadence in the file)",
    }
    return {
        "groups": groups,
        "drivers": drivers,
        "drivers_method": (
            "pace: flat running at the runners' typical cadence at the run's speeds (distance and pace); "
            "hills and cadence: change when the grade and the cadence are restored, averaged over both "
            "orders (the three parts add up to the load)"
        ),
        "units": units,
        "conditions": conditions,
        "distance_loaded_m": d_total,
        "distance_out_of_range_m": d_out,
        "time_loaded_s": float(t_ok.sum()),
        "speed_range_m_s": [float(speeds[0]), float(speeds[-1])],
        "left_out": {
            "walking_m": walk_d,
            "slower_m": slow_d,
            "faster_m": d_out - slow_d,
            "stopped_s": float(dt[gait == "stop"].sum()),
        },
        "strides": strides,
        "body_mass_kg": body_mass_kg,
        "load_model": m["provenance"].get("date", ""),
        "warnings": warnings,
    }


def main_driver(changes: dict[str, float | None]) -> str | None:
    """The part (``pace``, ``hills`` or ``cadence``) with the largest positive change in
    ``changes`` (e.g. a week's parts minus their 4-week average); ``None`` when none rose."""
    best, best_v = None, 0.0
    for name in DRIVERS:
        x = changes.get(name)
        if x is not None and math.isfinite(x) and x > best_v:
            best, best_v = name, x
    return best


def summarize_run_file(
    path: str | Path, body_mass_kg: float | None = None, usual_cadence_spm: float | None = None
) -> dict[str, Any]:
    """Read, clean and load one watch file: the record ``runmuscles run --json`` prints.

    Parameters
    ----------
    path
        A FIT, GPX or TCX file.
    body_mass_kg
        Runner's body mass (adds absolute loads); checked against the declared
        ``body_mass_kg`` limit (:func:`runmuscles.validation.check`).
    usual_cadence_spm
        The runner's usual cadence, used where the file has none (see :func:`run_load`).

    Returns
    -------
    dict
        See :func:`summarize_activity`. Raises :class:`~runmuscles.errors.InputError` for
        a file that is not a usable run or a body mass out of range.
    """
    from ..readers.watch import read_activity  # noqa: PLC0415

    check("body_mass_kg", body_mass_kg, "body_mass_kg")
    rec = summarize_activity(
        read_activity(path), body_mass_kg=body_mass_kg, usual_cadence_spm=usual_cadence_spm
    )
    rec["file"] = str(path)
    return rec


def summarize_activity(
    activity,
    body_mass_kg: float | None = None,
    model: dict[str, Any] | None = None,
    usual_cadence_spm: float | None = None,
) -> dict[str, Any]:
    """Clean and load one activity (:class:`~runmuscles.readers.watch.Activity`).

    ``model`` is a load table from :func:`load_load_model` (default: the shipped one);
    ``usual_cadence_spm`` the runner's usual cadence, used where the file has none.

    Returns
    -------
    dict
        ``file``, ``sport``, ``start_time`` (ISO, UTC), ``distance_m`` (the reported
        distance: the device's recorded total unless it disagrees with the track, see
        :func:`runmuscles.analyses.runs.reported_distance`), ``distance`` (how it was
        chosen: ``source``, ``recorded_m``, ``track_m``, ``difference_pct``, ``reason``),
        ``duration_s`` (elapsed), ``moving_time_s``, ``ascent_m``, ``descent_m``
        (``None`` without altitude), ``pace_s_per_km`` (moving), ``groups``, ``drivers``,
        ``drivers_method``, ``units`` and ``conditions`` (see :func:`run_load`),
        ``distance_loaded_m`` and ``time_loaded_s`` (what the load counts: running inside
        the table's speed range), ``load_left_out`` (walking, too slow, too fast, stopped),
        ``strides``, ``warnings`` (lines) and ``quality``
        (:func:`runmuscles.quality.quality_mark`: ``valid`` and named ``warnings``).
    """
    from .runs import clean_activity, reported_distance  # noqa: PLC0415

    check("body_mass_kg", body_mass_kg, "body_mass_kg")
    run = clean_activity(activity)
    load = run_load(run, body_mass_kg=body_mass_kg, model=model, usual_cadence_spm=usual_cadence_spm)
    dist = reported_distance(activity, run)
    tot = run.totals

    def fin(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    left = load["left_out"]
    left_lines = [
        f"{left['walking_m'] / 1000:.2f} km walking" if left["walking_m"] >= 0.5 else "",
        f"{left['slower_m'] / 1000:.2f} km slower than {load_speed_range(load)[0]:g} m/s"
        if left["slower_m"] >= 0.5
        else "",
        f"{left['faster_m'] / 1000:.2f} km faster than {load_speed_range(load)[1]:g} m/s"
        if left["faster_m"] >= 0.5
        else "",
    ]
    left_text = ", ".join(x for x in left_lines if x)
    quality = [*run.quality, *dist["warnings"]]
    if left_text:
        quality.append(
            QualityWarning(
                "load_left_out",
                f"{run.source}: the muscle load counts {load['distance_loaded_m'] / 1000:.2f} km of running; "
                f"left out: {left_text}",
                affects=("load",),
            )
        )
    return {
        "file": str(run.source),
        "sport": run.sport,
        "start_time": run.start_time.astimezone(UTC).isoformat(),
        "distance_m": float(dist["distance_m"]),
        "distance": {k: v for k, v in dist.items() if k not in ("distance_m", "warnings")},
        "duration_s": float(tot.elapsed_time_s),
        "moving_time_s": float(tot.moving_time_s),
        "ascent_m": fin(tot.ascent_m),
        "descent_m": fin(tot.descent_m),
        "pace_s_per_km": fin(tot.mean_pace_s_per_km),
        "groups": load["groups"],
        "drivers": load["drivers"],
        "drivers_method": load["drivers_method"],
        "units": load["units"],
        "conditions": load["conditions"],
        "distance_loaded_m": load["distance_loaded_m"],
        "time_loaded_s": load["time_loaded_s"],
        "load_left_out": left,
        "load_speed_range_m_s": list(load_speed_range(load)),
        "strides": load["strides"],
        "warnings": list(run.warnings) + load["warnings"],
        "quality": quality_mark(quality),
    }


def load_speed_range(load: dict[str, Any]) -> tuple[float, float]:
    """The load table's speed range (m/s) that :func:`run_load` counted running within."""
    return load["speed_range_m_s"][0], load["speed_range_m_s"][1]
