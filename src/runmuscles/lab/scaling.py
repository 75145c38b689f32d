"""How a generic model is scaled to a runner: which measurements, what height and mass.

Three ways, chosen by :mod:`runmuscles.lab` from what the user gives:

* **static trial** (best): OpenSim's measurement-based scaling with the measurements of the
  scale setup distributed with Rajagopal et al. (2016)'s running data
  (``scale_setup_run.xml``: pelvis per axis from ASIS, PSIS and hip joint centres, thighs
  from hip joint centre to femoral epicondyles, shanks from epicondyles to malleoli, feet
  from heel to forefoot, trunk and arms from their own markers), using the marker pairs the
  static trial has (:func:`scale_measurements`). A segment with no marker pair at all
  (typically the trunk and arms of a lower-limb marker set) takes the legs' factor.
* **height** (``--height``, no static trial): one factor for every segment, the runner's
  height over the model's. Segment lengths are close to fixed fractions of stature
  (Drillis R, Contini R (1966) Body segment parameters, Report 1166-03, New York University;
  tabulated in Winter DA (2009) Biomechanics and Motor Control of Human Movement, 4th ed.,
  Wiley, Fig. 4.1): the greater trochanter, i.e. the hip joint, is at 0.530 of stature.
  The model's stature is therefore its standing hip height over 0.530
  (:func:`stature_estimate_m`); the same estimate of a scaled model checks a ``--height``
  given together with a static trial.
* **running trial's markers** (neither): the pelvis and feet from marker pairs on one
  segment (their distances do not change with the pose), every other segment with the
  feet's factor (foot length, too, is a fixed fraction of stature: 0.152, Drillis &
  Contini). The least accurate: shoe markers make feet look short against the model's
  bony landmarks (a 1.77 m runner of Fukuchi 2017 comes out 1.58 m); the quality panel
  flags it.

The mass comes from ``--mass`` or, with measured forces, from the mean vertical ground
reaction force over the trial (:func:`mass_from_forces_kg`): over whole strides of steady
running the body's vertical momentum does not change, so the mean vertical force is the
body weight.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2
from ..errors import InputError
from ..model.anthropometry import HIP_HEIGHT_FRACTION_OF_STATURE, stature_from_multibody
from ..opensim_adapter.tools import ScaleMeasurement
from ..validation import check

__all__ = [
    "HIP_HEIGHT_FRACTION_OF_STATURE",
    "MASS_TOLERANCE",
    "STATURE_TOLERANCE",
    "check_mass_and_height",
    "mass_from_forces_kg",
    "scale_measurements",
    "stature_estimate_m",
]

#: A ``--mass`` further than this from the force plates' weight, or a ``--height`` further
#: than this from the static trial's stature, is refused. The force plates weigh the Fukuchi
#: 2017 runners 2-4 % below their recorded mass; the stature estimate of the model scaled
#: from a static trial is within -3.6 % to +1.0 % of the recorded height of the four Fukuchi
#: 2017 runners (1.69-1.83 m) and 0.8 % of Hamner subject01's.
MASS_TOLERANCE = 0.10
STATURE_TOLERANCE = 0.07

# name, marker pairs (Rajagopal family names), bodies -> axes; from Rajagopal et al. (2016)'s
# scale_setup_run.xml, with the patellae scaled with the thighs.
_RAJAGOPAL = (
    ("pelvis_X", (("RASI", "RPSI"), ("LASI", "LPSI")), {"pelvis": "X"}),
    ("pelvis_Y", (("LPSI", "LHJC"), ("RPSI", "RHJC"), ("RASI", "RHJC"), ("LASI", "LHJC")), {"pelvis": "Y"}),
    ("pelvis_Z", (("RPSI", "LPSI"), ("RASI", "LASI")), {"pelvis": "Z"}),
    (
        "thigh",
        (("LHJC", "LLFC"), ("LHJC", "LMFC"), ("RHJC", "RMFC"), ("RHJC", "RLFC")),
        {"femur_r": "X Y Z", "femur_l": "X Y Z", "patella_r": "X Y Z", "patella_l": "X Y Z"},
    ),
    (
        "shank",
        (("LLFC", "LLMAL"), ("LMFC", "LMMAL"), ("RLFC", "RLMAL"), ("RMFC", "RMMAL")),
        {"tibia_r": "X Y Z", "tibia_l": "X Y Z"},
    ),
    (
        "foot",
        (("LCAL", "LMT5"), ("LCAL", "LTOE"), ("RCAL", "RTOE"), ("RCAL", "RMT5")),
        {f"{b}_{s}": "X Y Z" for s in "rl" for b in ("talus", "calcn", "toes")},
    ),
    (
        "torso",
        (
            ("RASI", "CLAV"),
            ("LASI", "CLAV"),
            ("LPSI", "C7"),
            ("RPSI", "C7"),
            ("RASI", "RACR"),
            ("LASI", "LACR"),
        ),
        {"torso": "X Y Z"},
    ),
    (
        "humerus",
        (("LSJC", "LMEL"), ("LSJC", "LLEL"), ("RSJC", "RLEL"), ("RSJC", "RMEL")),
        {"humerus_r": "X Y Z", "humerus_l": "X Y Z"},
    ),
    (
        "radius_ulna",
        (("LLEL", "LFAradius"), ("LMEL", "LFAulna"), ("RMEL", "RFAulna"), ("RLEL", "RFAradius")),
        {f"{b}_{s}": "X Y Z" for s in "rl" for b in ("ulna", "radius", "hand")},
    ),
)
_REQUIRED = ("thigh", "shank", "foot")
_PELVIS = ("pelvis_X", "pelvis_Y", "pelvis_Z")
_SAME_SEGMENT = ("pelvis_X", "pelvis_Z", "foot")  # pose-independent pairs (one rigid segment each)


def uses_rajagopal_markers(model_markers: dict[str, str]) -> bool:
    """Whether the model has the landmark markers the measurements are written for."""
    need = {"RASI", "LASI", "RCAL", "LCAL"}
    return need <= set(model_markers)


def scale_measurements(
    available: set[str],
    model_bodies: list[str],
    *,
    running_trial: bool = False,
    lab_names: dict[str, str] | None = None,
    source: str | Path | None = None,
) -> tuple[list[ScaleMeasurement], list[str]]:
    """The measurements for OpenSim's ScaleTool from the marker pairs the trial has.

    Parameters
    ----------
    available
        Model marker names the scaling trial has (after renaming; hip joint centres added).
    model_bodies
        Bodies of the model; every one except ground ends up in a measurement.
    running_trial
        The trial is a running trial, not a static one: only pairs on one rigid segment
        (pelvis, feet) are used and every other segment takes the feet's factor.
    lab_names
        Model marker -> the lab's name for it, for messages.
    source
        The scaling trial, for messages.

    Returns
    -------
    (list of ScaleMeasurement, list of str)
        Measurements and notes.

    Raises
    ------
    InputError
        A leg segment (thigh, shank, foot) has no marker pair in a static trial: names the
        model markers it needs and the lab names that would give them.
    """
    notes: list[str] = []
    found: dict[str, ScaleMeasurement] = {}
    missing: dict[str, list[str]] = {}
    for name, pairs, bodies in _RAJAGOPAL:
        if running_trial and name not in _SAME_SEGMENT:
            continue
        ok = [p for p in pairs if p[0] in available and p[1] in available]
        bodies = {b: ax for b, ax in bodies.items() if b in model_bodies}
        if ok and bodies:
            found[name] = ScaleMeasurement(name, ok, bodies)
            if len(ok) < len(pairs):
                gone = sorted({m for p in pairs for m in p if m not in available})
                notes.append(
                    f"scaling {name}: {len(ok)} of {len(pairs)} marker pairs (without {', '.join(gone)})"
                )
        else:
            missing[name] = sorted({m for p in pairs for m in p if m not in available})
    if not running_trial:
        lacking = [n for n in _REQUIRED if n not in found]
        if lacking:

            def label(m: str) -> str:
                lab = (lab_names or {}).get(m)
                return f"{m} ({lab})" if lab and lab != m else m

            need = sorted({m for n in lacking for m in missing[n]})
            raise InputError(
                source,
                f"the static trial lacks the markers needed to scale the {', '.join(lacking)}: "
                f"{', '.join(label(m) for m in need)} (model names; map lab names to them with --markers)",
            )
    # pelvis: per axis where possible, else all axes from every pelvis pair there is
    pelvis_pairs = [p for n in _PELVIS if n in found for p in found[n].marker_pairs]
    if "pelvis" in model_bodies and any(n not in found for n in _PELVIS) and pelvis_pairs:
        for n in _PELVIS:
            found.pop(n, None)
        found["pelvis"] = ScaleMeasurement("pelvis", pelvis_pairs, {"pelvis": "X Y Z"})
        notes.append("pelvis scaled with one factor on all axes (no hip joint centres for the vertical)")
    covered = {b for m in found.values() for b in m.bodies}
    rest = [b for b in model_bodies if b not in covered and b != "ground"]
    if rest:
        base = [n for n in (("foot",) if running_trial else ("thigh", "shank")) if n in found]
        pairs = [p for n in base for p in found[n].marker_pairs]
        if not pairs:
            raise InputError(source, "has no marker pair on one segment to scale the model with")
        found["rest"] = ScaleMeasurement("rest", pairs, {b: "X Y Z" for b in rest})
        notes.append(
            f"no markers to scale {', '.join(rest)}: scaled with the "
            + ("feet (foot length is a fixed fraction of stature)" if running_trial else "thighs and shanks")
        )
    return list(found.values()), notes


def stature_estimate_m(model_path: str | Path) -> float:
    """The stature of a model's runner: standing hip joint height over 0.530 (Drillis & Contini),
    :func:`runmuscles.model.anthropometry.stature_from_multibody` of the model file."""
    from ..model.multibody import load_osim  # noqa: PLC0415

    return stature_from_multibody(load_osim(model_path), str(model_path))


def mass_from_forces_kg(time_s: np.ndarray, vertical_force_n: np.ndarray) -> float:
    """Body mass from the mean vertical ground reaction force over a running trial (kg)."""
    f = np.asarray(vertical_force_n, dtype=float)
    t = np.asarray(time_s, dtype=float)
    ok = np.isfinite(f)
    if t.size < 2 or not ok.any():
        raise InputError(None, "no force samples to weigh the runner with")
    f = np.where(ok, f, 0.0)
    mean = float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(t)) / (t[-1] - t[0]))
    return mean / STANDARD_GRAVITY_M_S2


def check_mass_and_height(mass_kg: float | None, height_m: float | None) -> None:
    """Refuse masses and heights no runner has (often a unit slip: grams, centimetres, pounds);
    the limits are the declared ones (:data:`runmuscles.validation.LIMITS`)."""
    check("body_mass_kg", mass_kg, "--mass")
    check("height_m", height_m, "--height")
