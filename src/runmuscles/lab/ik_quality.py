"""The inverse-kinematics quality gate: how well the model follows the markers, and why not.

The gate (:func:`ik_gate`) looks at the mean over frames of the RMS marker error of OpenSim's
inverse kinematics:

* up to :data:`IK_RMS_FLAG_M` (2 cm): fine;
* above it: a :class:`~runmuscles.quality.QualityWarning` (``ik_marker_error``);
* above the ``ik_marker_rms_m`` limit of :data:`runmuscles.validation.LIMITS` (4 cm): the
  analysis stops with an :class:`~runmuscles.errors.InputError`, unless the user accepts the
  error (``--accept-ik-error``); the result is then marked not valid
  (``ik_marker_error_above_limit``, ``invalidates=True``).

Both limits are OpenSim's best-practice values (Hicks JL, Uchida TK, Seth A, Rajagopal A,
Delp SL (2015) Is my model good enough? Best practices for verification and validation of
musculoskeletal models and simulations of movement. J Biomech Eng 137:020905: RMS marker
errors below 2 cm, maximum below 2-4 cm).

The message names the markers with the largest mean errors and the likely cause, found
from how each marker's error behaves over the frames (:func:`diagnose_ik`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..quality import QualityWarning
from ..readers.opensim_files import MarkerTable, read_storage, read_trc
from ..tables import TimeTable
from ..validation import LIMITS

__all__ = [
    "IK_RMS_FLAG_M",
    "IKDiagnosis",
    "diagnose_ik",
    "ik_gate",
    "ik_rms_stop_m",
    "markers_on_wrong_side",
    "wrong_side_warning",
]

#: Mean RMS marker error above which the inverse kinematics is flagged (Hicks et al. 2015).
IK_RMS_FLAG_M = 0.02
_LARGE_M = 0.04  # a marker this far off on average is itself a problem (the maximum limit)


def ik_rms_stop_m() -> float:
    """The mean RMS marker error above which the analysis stops (``LIMITS['ik_marker_rms_m']``)."""
    return float(LIMITS["ik_marker_rms_m"].high)


@dataclass
class IKDiagnosis:
    """The markers that fit worst and the likely cause.

    Attributes
    ----------
    worst
        ``(lab name, mean error m)`` of the worst markers, worst first.
    cause
        The likely cause and what to do, in one sentence.
    code
        Stable name of the cause (``swapped_sides``, ``initial_pose``, ``whole_body``,
        ``constant_offset``, ``marker_motion``, ``none``).
    per_marker
        Lab name -> ``{"mean_m", "offset_m", "varying_m", "first_frames_m"}``.
    """

    worst: list[tuple[str, float]]
    cause: str
    code: str
    per_marker: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "worst_markers": [{"marker": n, "mean_error_m": e} for n, e in self.worst],
            "likely_cause": self.cause,
            "cause_code": self.code,
        }


def _other_side(name: str, names: list[str]) -> str | None:
    """The contralateral marker's name (``RLFC`` <-> ``LLFC``, ``R.Heel`` <-> ``L.Heel``)."""
    for a, b in (("R", "L"), ("L", "R"), ("r", "l"), ("l", "r")):
        prefix = b + name[1:] if name.startswith(a) else None
        suffix = name[:-1] + b if name.endswith(a) else None
        for cand in (prefix, suffix):
            if cand and cand != name and cand in names:
                return cand
    return None


#: Markers within this of the pelvis's midline have no side to check. Running feet land near
#: it: a medial forefoot marker of Hamner 2013 subject01 (Run_4) stays 4 cm across it, alone;
#: so a single marker across is not taken as exchanged labels (exchanged labels come in pairs).
_MIDLINE_M = 0.04
_TURNED_DEG = 45.0  # the model's pelvis facing this far from the markers' is a wrong IK solution


def _heading_difference_deg(exp_at: dict[str, np.ndarray], model_at: dict[str, np.ndarray]) -> float | None:
    """Median angle (deg) between the pelvis's facing (PSIS to ASIS midpoints, horizontal) in the
    markers and in the model; None without ``RASI``/``LASI`` and a posterior pelvis marker."""
    back = [m for m in ("RPSI", "LPSI", "SACR") if m in exp_at and m in model_at]
    if not {"RASI", "LASI"} <= set(exp_at) & set(model_at) or not back:
        return None

    def facing(at: dict[str, np.ndarray]) -> np.ndarray:
        v = 0.5 * (at["RASI"] + at["LASI"]) - np.mean([at[m] for m in back], axis=0)
        v[:, 1] = 0.0  # horizontal (OpenSim: Y up)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    cos = np.sum(facing(exp_at) * facing(model_at), axis=1)
    cos = cos[np.isfinite(cos)]
    return float(np.degrees(np.arccos(np.clip(np.median(cos), -1.0, 1.0)))) if cos.size else None


def markers_on_wrong_side(trial: MarkerTable, names_of: dict[str, str]) -> list[str]:
    """Markers whose name says one side while they stay on the other side of the pelvis's
    midline (the line between the anterior superior iliac spines, ``RASI``/``LASI``)."""
    from .landmarks import recognise  # noqa: PLC0415
    from .markers import _side  # noqa: PLC0415

    if "RASI" not in trial.names or "LASI" not in trial.names:
        return []
    r, l = trial.marker("RASI"), trial.marker("LASI")
    mid = 0.5 * (r + l)
    axis = r - l
    axis = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    out = []
    for k, m in enumerate(trial.names):
        if m in ("RASI", "LASI"):
            continue
        lab = names_of.get(m, m)
        hit = recognise(lab) or recognise(m)
        side = hit[1] if hit is not None else (_side(lab) or _side(m))
        if side not in ("r", "l"):
            continue
        lateral = np.nanmedian(np.sum((trial.positions_m[:, k, :] - mid) * axis, axis=1))
        if not np.isfinite(lateral) or abs(lateral) < _MIDLINE_M:
            continue
        if (lateral > 0) != (side == "r"):
            out.append(m)
    return out if len(out) >= 2 else []


def diagnose_ik(
    markers_trc: str | Path | MarkerTable,
    locations_sto: str | Path | TimeTable,
    lab_name: dict[str, str] | None = None,
    *,
    n_worst: int = 3,
) -> IKDiagnosis:
    """Per-marker errors from OpenSim's IK output, the worst markers and the likely cause.

    Parameters
    ----------
    markers_trc
        The marker file IK tracked (model names), or its table.
    locations_sto
        OpenSim's ``<name>_ik_model_marker_locations.sto`` (the model's markers per frame),
        or its table (columns ``<marker>_tx``...).
    lab_name
        Model name -> the lab's name, for messages.

    The causes are told apart by the errors' behaviour:

    * **swapped sides**: markers labelled right stay left of the pelvis's midline (or the
      reverse), or a worst marker sits nearer the model's contralateral marker than its own;
    * **initial pose**: the model's pelvis faces more than 45 deg away from the markers'
      (the solver started from the model's default pose, facing +X, and stayed in a wrong
      solution: a runner facing -X gave 9.1 cm mean RMS on a Hamner 2013 trial, 1.9 cm
      facing +X), or the errors of the first frames are far above the rest;
    * **whole body**: most markers are off by more than 4 cm (lab axes, units, or a static
      trial of another runner or facing another way);
    * **constant offset**: the worst markers are off by a steady offset (the marker sits on
      another landmark than its model marker: the mapping, or a segment the scaling could
      not measure);
    * **marker motion**: the error varies over the frames (soft tissue, a loose or
      mislabelled marker).
    """
    names_of = lab_name or {}
    trial = markers_trc if isinstance(markers_trc, MarkerTable) else read_trc(markers_trc)
    loc = locations_sto if isinstance(locations_sto, TimeTable) else read_storage(locations_sto)
    per: dict[str, dict[str, float]] = {}
    err_of: dict[str, np.ndarray] = {}
    model_at: dict[str, np.ndarray] = {}
    exp_at: dict[str, np.ndarray] = {}
    for k, m in enumerate(trial.names):
        cols = [f"{m}_t{a}" for a in "xyz"]
        if not all(c in loc.labels for c in cols):
            continue
        model = loc.data[:, [loc.labels.index(c) for c in cols]]
        exp = np.stack([np.interp(loc.time_s, trial.time_s, trial.positions_m[:, k, j]) for j in range(3)], 1)
        seen = np.isfinite(exp).all(axis=1)
        if seen.sum() < 2:
            continue
        e = exp - model
        e[~seen] = np.nan
        mag = np.linalg.norm(e, axis=1)
        offset = np.nanmean(e, axis=0)
        n_first = max(1, int(0.05 * mag.size))
        per[m] = {
            "mean_m": float(np.nanmean(mag)),
            "offset_m": float(np.linalg.norm(offset)),
            "varying_m": float(np.sqrt(np.nanmean(np.sum((e - offset) ** 2, axis=1)))),
            "first_frames_m": float(np.nanmean(mag[:n_first])),
            "rest_m": float(np.nanmean(mag[n_first:])) if mag.size > n_first else float(np.nanmean(mag)),
        }
        err_of[m], model_at[m], exp_at[m] = mag, model, exp
    if not per:
        return IKDiagnosis([], "no marker errors to diagnose", "none", per)
    ranked = sorted(per, key=lambda m: -per[m]["mean_m"])
    worst = [(names_of.get(m, m), per[m]["mean_m"]) for m in ranked[:n_worst]]
    top = ranked[0]
    name = names_of.get(top, top)

    def label(m: str) -> str:
        return names_of.get(m, m)

    # the model facing another way than the runner: IK started from the model's default pose
    # (facing +X) and stayed in a wrong solution (measured: a runner facing -X, 9.1 cm mean RMS)
    turned = _heading_difference_deg(exp_at, model_at)
    if turned is not None and turned > _TURNED_DEG:
        cause = (
            f"the model faces {turned:.0f} deg away from the runner's pelvis: inverse kinematics started "
            "from the model's default pose (facing +X) and stayed in a wrong solution; the lab axes (the "
            "running direction) were not read right: give the trial in OpenSim's axes (X forward, Y up) "
            "or check the pelvis markers"
        )
        return IKDiagnosis(worst, cause, "initial_pose", per)
    # swapped sides: markers labelled right that are on the runner's left (or the reverse) ...
    wrong = markers_on_wrong_side(trial, names_of)
    if wrong:
        cause = (
            f"right and left labels exchanged: {', '.join(label(m) for m in wrong[:6])} "
            f"{'is' if len(wrong) == 1 else 'are'} on the other side of the pelvis than "
            f"{'its' if len(wrong) == 1 else 'their'} label says; correct the labels in the lab's files or "
            "map them with --markers"
        )
        return IKDiagnosis(worst, cause, "swapped_sides", per)
    # ... or the worst markers fit the other side's model marker better
    swapped = []
    for m in ranked[: max(n_worst, 6)]:
        other = _other_side(m, list(model_at))
        if other is None or per[m]["mean_m"] < _LARGE_M / 2:
            continue
        d_other = float(np.nanmean(np.linalg.norm(exp_at[m] - model_at[other], axis=1)))
        if d_other < 0.5 * per[m]["mean_m"]:
            swapped.append((m, other))
    if swapped:
        pairs = ", ".join(f"{label(a)} (fits the model's {label(b)})" for a, b in swapped[:4])
        cause = (
            f"right and left labels exchanged: {pairs}; correct the labels in the lab's files or map them "
            "with --markers"
        )
        return IKDiagnosis(worst, cause, "swapped_sides", per)
    first = np.mean([per[m]["first_frames_m"] for m in per])
    rest = np.mean([per[m]["rest_m"] for m in per])
    if first > 3.0 * rest and first > _LARGE_M:
        cause = (
            f"the first frames fit badly ({100 * first:.1f} cm mean marker error, "
            f"{100 * rest:.1f} cm after): "
            "inverse kinematics started from a pose far from the runner's (lab axes, or a runner facing "
            "another way than the model)"
        )
        return IKDiagnosis(worst, cause, "initial_pose", per)
    large = [m for m in per if per[m]["mean_m"] > _LARGE_M]
    if len(large) > 0.5 * len(per):
        cause = (
            f"{len(large)} of {len(per)} markers are more than {100 * _LARGE_M:.0f} cm off: the whole body "
            "misfits (lab axes or units, or a static trial of another runner or facing another way)"
        )
        return IKDiagnosis(worst, cause, "whole_body", per)
    p = per[top]
    if p["offset_m"] > 2.0 * p["varying_m"]:
        offset = [label(m) for m in ranked[:n_worst] if per[m]["offset_m"] > 2.0 * per[m]["varying_m"]]
        cause = (
            f"a steady offset ({100 * p['offset_m']:.1f} cm for {name}; "
            f"also {', '.join(offset[1:]) or 'none'}): "
            "the marker sits elsewhere than the model marker it was mapped to (check its landmark in the "
            "mapping, or a segment the static trial could not scale)"
        )
        return IKDiagnosis(worst, cause, "constant_offset", per)
    cause = (
        f"{name}'s error varies over the frames ({100 * p['varying_m']:.1f} cm about a "
        f"{100 * p['offset_m']:.1f} cm offset): a marker moving on its segment (soft tissue, a loose marker) "
        "or labelled as another marker in some frames"
    )
    return IKDiagnosis(worst, cause, "marker_motion", per)


def ik_gate(
    mean_rms_m: float, diagnosis: IKDiagnosis, *, accept: bool, where: str | Path
) -> list[QualityWarning]:
    """Apply the gate (see the module docstring); the warnings for ``quality.warnings``.

    Raises
    ------
    InputError
        Mean RMS above the stop limit and ``accept`` is False.
    """
    stop = ik_rms_stop_m()
    worst = ", ".join(f"{n} {100 * e:.1f} cm" for n, e in diagnosis.worst)
    text = (
        f"inverse kinematics marker error {100 * mean_rms_m:.1f} cm RMS (mean over frames); worst markers: "
        f"{worst}; likely cause: {diagnosis.cause}"
    )
    if mean_rms_m > stop:
        if not accept:
            raise InputError(
                where,
                f"{text}. Above the {100 * stop:.0f} cm limit the joint angles are not trusted: fix the "
                "cause, or give --accept-ik-error to analyse anyway (the result is then marked not valid)",
            )
        return [
            QualityWarning(
                "ik_marker_error_above_limit",
                f"{text} (above the {100 * stop:.0f} cm limit, accepted with --accept-ik-error)",
                invalidates=True,
            )
        ]
    if mean_rms_m > IK_RMS_FLAG_M:
        return [
            QualityWarning(
                "ik_marker_error", f"{text} (above {100 * IK_RMS_FLAG_M:.0f} cm: OpenSim's best practice)"
            )
        ]
    return []


def wrong_side_warning(trial: MarkerTable, names_of: dict[str, str]) -> list[QualityWarning]:
    """A warning when markers labelled on one side stay on the other side of the pelvis.

    Inverse kinematics can fit such a trial well (a whole leg's labels exchanged: the model's
    right leg follows the left leg), so the marker error alone does not show it; the
    per-side results are then those of the other leg.
    """
    wrong = markers_on_wrong_side(trial, names_of)
    if not wrong:
        return []
    names = ", ".join(names_of.get(m, m) for m in wrong[:8]) + (" ..." if len(wrong) > 8 else "")
    return [
        QualityWarning(
            "markers_on_wrong_side",
            f"markers labelled on one side stay on the other side of the pelvis's midline: {names}; right "
            "and left labels exchanged? Per-side results would belong to the other leg",
            affects=("sides",),
        )
    ]
