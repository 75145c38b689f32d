"""The result tables of one analysis folder, read back for reports.

A report is built only from what :func:`runmuscles.results.write_results` wrote:
``summary.json``, ``muscles.csv``, ``groups.csv``, ``normalized.csv`` and ``force.sto``.
Nothing physical is computed again here; the only operations are the reductions a
display needs, each named after what it does:

* means over strides of per-stride rows (the same means ``summary.json`` holds for the
  groups of both sides, which a test checks);
* the largest value among a group's muscles (peak activation of a group);
* sums of member forces and their time normalisation to 0-100 % of each stride (the
  mean over strides equals the sum of the members' columns in ``normalized.csv``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analyses.groups import muscle_side
from ..constants import STANDARD_GRAVITY_M_S2
from ..errors import InputError

__all__ = ["PHASES", "ResultSet", "find_result_folders", "load_results"]

PHASES = ("braking", "propulsion", "early_swing", "late_swing")
PHASE_LABELS = {
    "braking": "braking",
    "propulsion": "propulsion",
    "early_swing": "early swing",
    "late_swing": "late swing",
}


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        raise InputError(path, "result table not found (was the analysis written completely?)")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k, v in r.items():
            if k in ("muscle", "group", "side", "phase"):
                continue
            try:
                r[k] = float(v)
            except (TypeError, ValueError):
                raise InputError(path, f"column '{k}' has a non-number '{v}'") from None
    return rows


@dataclass
class ResultSet:
    """One analysis folder's tables and the display reductions of them.

    Attributes
    ----------
    folder
        The results folder.
    summary
        ``summary.json`` as written.
    muscle_rows, group_rows
        ``muscles.csv`` and ``groups.csv`` rows (numbers as floats).
    cycle_pct
        ``(101,)`` percent of the gait cycle of ``normalized.csv``.
    muscle_names
        Muscles in the order of ``normalized.csv`` (the model's order).
    activation_norm, force_norm_n
        ``(101, M)`` mean over strides of activation and force (``normalized.csv``).
    force_time_s, force_n
        ``force.sto`` muscle columns: frame times and ``(F, M)`` tendon forces.
    """

    folder: Path
    summary: dict
    muscle_rows: list[dict]
    group_rows: list[dict]
    cycle_pct: np.ndarray
    muscle_names: list[str]
    activation_norm: np.ndarray
    force_norm_n: np.ndarray
    force_time_s: np.ndarray
    force_n: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    # -- identity ---------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.folder.name

    @property
    def speed_m_s(self) -> float | None:
        return self.summary.get("speed_m_s")

    @property
    def body_weight_n(self) -> float:
        return float(self.summary["body_mass_kg"]) * STANDARD_GRAVITY_M_S2

    @property
    def strides(self) -> list[dict]:
        return list(self.summary.get("strides", []))

    @property
    def groups(self) -> dict[str, dict]:
        """``summary.json`` groups that have muscles in this model."""
        return {g: e for g, e in self.summary["groups"].items() if e["muscles"]}

    @property
    def reference_side(self) -> str:
        return self.summary.get("settings", {}).get("side", "right")

    def members(self, group: str, side: str = "both") -> list[str]:
        """Muscles of ``group`` on ``side`` (``both``, ``right``, ``left``)."""
        ms = self.summary["groups"][group]["muscles"]
        return [m for m in ms if side == "both" or muscle_side(m) == side]

    # -- means over strides of the tables' rows --------------------------------------
    def group_mean(self, group: str, side: str, phase: str, column: str) -> float:
        """Mean over strides of a ``groups.csv`` column for one group, side and phase."""
        vals = [
            r[column]
            for r in self.group_rows
            if r["group"] == group and r["side"] == side and r["phase"] == phase
        ]
        return float(np.mean(vals)) if vals else float("nan")

    def muscle_mean(self, muscle: str, column: str) -> float:
        """Mean over strides of a ``muscles.csv`` column for one muscle."""
        vals = [r[column] for r in self.muscle_rows if r["muscle"] == muscle]
        return float(np.mean(vals)) if vals else float("nan")

    def group_peak_activation(self, group: str, side: str) -> float:
        """Largest mean-over-strides peak activation among the group's muscles on ``side``."""
        ms = self.members(group, side)
        return max((self.muscle_mean(m, "peak_activation") for m in ms), default=float("nan"))

    def body_map_value(self, metric: str, group: str, side: str) -> float:
        """Value a body-map region shows: ``impulse``/``work`` shares or ``peak`` activation."""
        if metric == "impulse":
            return self.group_mean(group, side, "stride", "share_of_impulse")
        if metric == "work":
            return self.group_mean(group, side, "stride", "share_of_positive_work")
        if metric == "peak":
            return self.group_peak_activation(group, side)
        raise ValueError(f"unknown body-map metric {metric!r}")

    # -- events in percent of the cycle ----------------------------------------------
    def event_pct(self) -> dict[str, float | None]:
        """Mean over strides of toe-off, end of braking and mid-swing (% of the cycle)."""
        st = self.strides
        if not st:
            return {"toe_off": None, "braking_end": None, "mid_swing": None}
        toe = float(
            np.mean([100 * (s["toe_off_s"] - s["start_s"]) / (s["end_s"] - s["start_s"]) for s in st])
        )
        brk = None
        if all("braking_end_s" in s for s in st):
            brk = float(
                np.mean([100 * (s["braking_end_s"] - s["start_s"]) / (s["end_s"] - s["start_s"]) for s in st])
            )
        return {"toe_off": toe, "braking_end": brk, "mid_swing": 0.5 * (toe + 100.0)}

    # -- per-stride group force curves -----------------------------------------------
    def group_force_curves_bw(self, group: str, side: str) -> np.ndarray:
        """Sum of the group's member forces, per stride at 0-100 % (``(S, 101)``, body weights)."""
        key = ("gfc", group, side)
        if key in self._cache:
            return self._cache[key]
        idx = [self.muscle_names.index(m) for m in self.members(group, side)]
        total = self.force_n[:, idx].sum(axis=1) if idx else np.zeros(self.force_time_s.size)
        curves = []
        for s in self.strides:
            tq = s["start_s"] + (s["end_s"] - s["start_s"]) * self.cycle_pct / 100.0
            curves.append(np.interp(tq, self.force_time_s, total))
        out = np.array(curves).reshape(len(curves), self.cycle_pct.size) / self.body_weight_n
        self._cache[key] = out
        return out


def load_results(folder: str | Path) -> ResultSet:
    """Read one analysis folder written by :func:`runmuscles.results.write_results`.

    Parameters
    ----------
    folder
        Folder with ``summary.json``, ``muscles.csv``, ``groups.csv``, ``normalized.csv``
        and ``force.sto``.

    Returns
    -------
    ResultSet
    """
    from ..readers.opensim_files import read_storage  # noqa: PLC0415

    d = Path(folder)
    if not d.is_dir():
        raise InputError(d, "results folder not found")
    sp = d / "summary.json"
    if not sp.exists():
        raise InputError(d, "has no summary.json (not a runmuscles results folder)")
    try:
        summary = json.loads(sp.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(sp, f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    muscles = _read_csv(d / "muscles.csv")
    groups = _read_csv(d / "groups.csv")
    norm_path = d / "normalized.csv"
    if not norm_path.exists() or norm_path.stat().st_size == 0:
        raise InputError(norm_path, "missing or empty: the analysis found no complete stride to show")
    with norm_path.open(newline="", encoding="utf-8") as fh:
        rd = csv.reader(fh)
        head = next(rd)
        if head[:4] != ["cycle_pct", "muscle", "activation", "force_n"]:
            raise InputError(norm_path, f"unexpected columns {head}")
        rows = list(rd)
    names: list[str] = []
    seen: set[str] = set()
    for r in rows:
        if r[1] not in seen:
            seen.add(r[1])
            names.append(r[1])
    n_m = len(names)
    if n_m == 0 or len(rows) % n_m:
        raise InputError(norm_path, "rows do not form a complete cycle_pct x muscle grid")
    arr = np.array([[float(r[0]), float(r[2]), float(r[3])] for r in rows]).reshape(-1, n_m, 3)
    force = read_storage(d / "force.sto")
    missing = [m for m in names if m not in force]
    if missing:
        raise InputError(d / "force.sto", f"lacks muscle columns {', '.join(missing[:3])}")
    return ResultSet(
        folder=d,
        summary=summary,
        muscle_rows=muscles,
        group_rows=groups,
        cycle_pct=arr[:, 0, 0],
        muscle_names=names,
        activation_norm=arr[:, :, 1],
        force_norm_n=arr[:, :, 2],
        force_time_s=force.time_s,
        force_n=force.columns(names),
    )


def find_result_folders(path: str | Path) -> list[Path]:
    """``path`` itself when it holds ``summary.json``, else its sub-folders that do (by speed)."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(p, "results folder not found")
    if (p / "summary.json").exists():
        return [p]
    subs = [q for q in sorted(p.iterdir()) if q.is_dir() and (q / "summary.json").exists()]
    if not subs:
        raise InputError(p, "has no summary.json, nor sub-folders with one (run 'runmuscles analyze' first)")

    def speed(q: Path) -> float:
        try:
            v = json.loads((q / "summary.json").read_text(encoding="utf-8")).get("speed_m_s")
        except json.JSONDecodeError:
            v = None
        return float(v) if v is not None else float("inf")

    return sorted(subs, key=lambda q: (speed(q), q.name))
