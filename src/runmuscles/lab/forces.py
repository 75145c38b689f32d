"""Ground reaction forces of a lab trial as an OpenSim ExternalLoads pair (``.mot`` + ``.xml``).

* A C3D file's plates: one plate under both feet (a single-belt treadmill) or several plates
  are split into right and left foot by :func:`runmuscles.kinematics.forceplates.split_feet`.
* Which steps the plates measured (:func:`measured_part`): overground, plates lie under some
  steps only; the analysis window is the stride cycles in which every contact is measured
  (or, asked for, the measured stances alone), and the body mass comes from whole measured
  strides or a static trial on a plate, never from a span with unmeasured contacts.
* A force ``.mot`` without its ExternalLoads file: :func:`external_loads_for_mot` finds the
  force, point and torque column triplets and which foot each belongs to, and writes the
  ``.xml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..constants import STANDARD_GRAVITY_M_S2
from ..errors import InputError
from ..quality import QualityWarning
from ..readers.opensim_files import read_storage

__all__ = [
    "PLATE_LOWPASS_HZ",
    "MeasuredPart",
    "external_loads_for_mot",
    "measured_part",
    "split_plates",
    "static_plate_mass_kg",
]

#: Low-pass cut-off for force and moment of a treadmill plate before splitting (Hz): it
#: removes the belt's vibration, which divided by the small forces of early contact throws
#: the centre of pressure by decimetres; the foot-strike index is read from this signal,
#: as :func:`runmuscles.analyses.footstrike.foot_strikes_from_plate` reads it.
PLATE_LOWPASS_HZ = 40.0

#: Below this mean pelvis speed (m/s) the runner is taken to be on a treadmill (the pelvis
#: then only sways about a point) and the pelvis gives no running speed; the slowest
#: running in the project's range is 1.5 m/s, walking about 1 m/s.
OVERGROUND_MIN_SPEED_M_S = 0.5

_KIND_WORDS = re.compile(r"(?i)ground|force|torque|moment|grf|cop|reaction")


def split_plates(trial, out_dir: Path, stem: str) -> tuple[Path, list[str], object]:
    """Split a C3D trial's loaded plates into feet and write ``<stem>.mot`` and ``.xml``.

    Parameters
    ----------
    trial
        A :class:`~runmuscles.readers.c3d.C3DTrial` with at least one loaded plate.
    out_dir
        Folder for the files.
    stem
        File stem (``grf``).

    Returns
    -------
    (Path, list of str, FeetGRF)
        The ExternalLoads ``.xml``, notes, and the split loads.
    """
    from ..kinematics.forceplates import split_feet, write_grf  # noqa: PLC0415
    from ..kinematics.overground import check_one_foot_per_contact  # noqa: PLC0415

    loaded = [p for p in trial.plates if p.loaded.any()]
    feet = split_feet(loaded, trial.markers, lowpass_hz=PLATE_LOWPASS_HZ)
    check_one_foot_per_contact(feet, trial.markers, loaded)
    _, xml = write_grf(Path(out_dir) / f"{stem}.mot", feet)
    how = (
        "one plate under both feet: each contact goes whole to one foot" if len(loaded) == 1 else "per plate"
    )
    notes = [
        f"forces: {len(loaded)} force plate(s) split into right and left foot ({how}), "
        f"force and moment low-passed at {PLATE_LOWPASS_HZ:g} Hz",
        *feet.notes,
    ]
    return xml, notes, feet


@dataclass
class MeasuredPart:
    """What the plates of a trial measured (:func:`measured_part`).

    Attributes
    ----------
    window
        The :class:`~runmuscles.kinematics.overground.MeasuredWindow`.
    mass_kg
        Body mass from whole measured strides (``None`` without one).
    mass_how
        How ``mass_kg`` was found, for messages.
    speed_m_s, speed_source
        Overground: the pelvis markers' mean horizontal speed over the window; ``None`` on a
        treadmill (its belt speed is the running speed).
    notes
        Which cycles are analysed and what was left out.
    warnings
        ``stance_only`` when no complete cycle was measured.
    """

    window: object
    mass_kg: float | None
    mass_how: str = ""
    speed_m_s: float | None = None
    speed_source: str = ""
    notes: list[str] = field(default_factory=list)
    warnings: list[QualityWarning] = field(default_factory=list)


def measured_part(
    time_s: np.ndarray,
    vertical_force_n: dict[str, np.ndarray],
    *,
    name: str,
    markers=None,
    contacts: list | None = None,
    belt_speed_m_s: float | None = None,
    stance_only: bool = False,
) -> MeasuredPart:
    """Which steps of a trial its forces measured: the window, the body mass, the speed.

    Parameters
    ----------
    time_s, vertical_force_n
        Sample times and each foot's vertical force (``{"r": ..., "l": ...}``, N).
    name
        The trial, for messages.
    markers
        The trial's markers in OpenSim axes (they show the steps off the plates, and the
        speed overground); ``None``: only the measured steps are known.
    contacts
        The plates' contacts (which plate measured each step).
    belt_speed_m_s
        A treadmill's belt speed (then the pelvis' speed is not the running speed).
    stance_only
        Accept forces that catch no complete stride cycle (stance-only results).

    Raises
    ------
    InputError
        No complete measured stride and ``stance_only`` not given (the message offers it).
    """
    from ..kinematics.forceplates import body_weight_from_cycles  # noqa: PLC0415
    from ..kinematics.overground import measured_window, pelvis_speed_m_s, trial_steps  # noqa: PLC0415
    from ..validation import limit  # noqa: PLC0415

    source = "force plates" if contacts is not None else "forces"
    total = np.nan_to_num(np.asarray(vertical_force_n["r"], dtype=float)) + np.nan_to_num(
        np.asarray(vertical_force_n["l"], dtype=float)
    )
    # over a whole recording the mean vertical force is at most body weight (less where steps
    # miss the plates): above the heaviest plausible runner, the forces' unit is wrong, and
    # the contacts found in them mean nothing
    heaviest = limit("body_mass_kg").high
    mean_kg = float(np.mean(total)) / STANDARD_GRAVITY_M_S2 if total.size else 0.0
    if mean_kg > heaviest:
        raise InputError(
            name,
            f"the {source} weigh the runner at {mean_kg:.0f} kg or more (mean vertical force over the whole "
            f"recording; no runner is over {heaviest:g} kg): forces in another unit than newtons?",
        )
    steps = trial_steps(time_s, vertical_force_n, markers, contacts=contacts)
    window = measured_window(steps, stance_only=stance_only, where=name, source=source)
    part = MeasuredPart(window, None, notes=list(window.notes))
    if window.cycles_s:
        weight = body_weight_from_cycles(time_s, total, window.cycles_s)
        part.mass_kg = weight / STANDARD_GRAVITY_M_S2
        part.mass_how = (
            f"mean vertical force over {len(window.cycles_s)} whole measured stride(s) of the "
            f"{window.side} foot"
        )
    if belt_speed_m_s is None and markers is not None:
        lo, hi = (
            (window.start_s, window.end_s)
            if window.start_s is not None
            else (window.cycles_s[0][0], window.cycles_s[-1][1])
        )
        speed, how = pelvis_speed_m_s(markers, lo, hi)
        if speed >= OVERGROUND_MIN_SPEED_M_S:
            part.speed_m_s, part.speed_source = speed, how
    if window.kind == "stance_only":
        part.warnings.append(
            QualityWarning(
                "stance_only",
                f"stance-only results: the {source} of {name} catch no complete stride cycle; only the "
                f"measured stance(s) {window.start_s:.2f}-{window.end_s:.2f} s are analysed (no stride time, "
                "swing phases or energy per stride)",
                affects=("strides", "phases", "energy"),
            )
        )
    return part


def static_plate_mass_kg(static, *, min_s: float = 0.5) -> tuple[float | None, str]:
    """Body mass from a static trial standing on force plates (kg), if it was.

    The runner stands still when the plates' total vertical force stays within 10 % of its
    median for at least ``min_s``, with both feet's heel or toe markers over a loaded plate.

    Parameters
    ----------
    static
        The static trial as a :class:`~runmuscles.readers.c3d.C3DTrial` (``None``: no mass).

    Returns
    -------
    (float or None, str)
        The mass and how it was found, or ``None`` and why not.
    """
    import numpy as np  # noqa: PLC0415

    from ..kinematics.forceplates import foot_marker_names, markers_at  # noqa: PLC0415

    if static is None:
        return None, "no static trial"
    plates = [p for p in static.plates if p.loaded.any()]
    if not plates:
        return None, "the static trial has no loaded force plate"
    total = np.sum([p.force_n[:, 1] for p in plates], axis=0)
    med = float(np.median(total[total > 0])) if (total > 0).any() else 0.0
    still = np.abs(total - med) < 0.1 * med
    rate = plates[0].rate_hz
    if med <= 0 or still.sum() < min_s * rate:
        return None, "the static trial's plates are not loaded steadily"
    t = plates[0].time_s[still]
    for side in "rl":
        heel, toe = foot_marker_names(static.markers.names, side)
        names = heel + toe
        if not names:
            return None, "the static trial's foot markers are not recognised"
        pos = markers_at(static.markers, names, t)
        if not any(p.contains(pos).mean() > 0.5 for p in plates):
            return None, f"the static trial's {'right' if side == 'r' else 'left'} foot is not on a plate"
    return float(np.mean(total[still])) / STANDARD_GRAVITY_M_S2, (
        f"mean vertical force of the static trial on its force plate(s) over {still.sum() / rate:.1f} s"
    )


def _unit_key(stem: str) -> str:
    """What tells a force's columns from another force's: the stem without its kind words
    (``R_ground_force_v``, ``R_ground_torque_`` -> ``r``; ``1_ground_force_p`` -> ``1``)."""
    key = _KIND_WORDS.sub("", stem.lower())
    key = re.sub(r"[._ -][vpm]$", "", key)
    return re.sub(r"[._ -]+", "", key)


def _kind(stem: str) -> str | None:
    low = stem.lower()
    if "torque" in low or "moment" in low or re.search(r"(^|[._ -])m$", low):
        return "torque"
    if re.search(r"(^|[._ -]|force_?)p$", low) or "cop" in low:
        return "point"
    if re.search(r"(^|[._ -]|force_?)v$", low) or low.endswith("force") or low.endswith("force_"):
        return "force"
    return None


def _side_of(key: str) -> str | None:
    if key in ("r", "right") or key.startswith("right") or key.endswith("right"):
        return "r"
    if key in ("l", "left") or key.startswith("left") or key.endswith("left"):
        return "l"
    return None


def external_loads_for_mot(
    mot: str | Path, out_xml: str | Path, *, bodies: tuple[str, str] = ("calcn_r", "calcn_l")
) -> tuple[Path, list[str]]:
    """Write an ExternalLoads ``.xml`` for a force ``.mot`` that came without one.

    Columns ``<stem>x/y/z`` are grouped into triplets; a triplet is a force (``..._v``,
    ``..._force``), a point (``..._p``, ``cop``) or a torque (``torque``, ``moment``,
    ``..._m``). Triplets whose stems differ only by these words belong to one force. Each
    of the two forces goes to the foot its name says (``R_``/``_r``/``right``...); when
    the names do not say, to the foot on whose side its centre of pressure lies (OpenSim's
    Z points to the runner's right).

    Parameters
    ----------
    mot
        The force table.
    out_xml
        The ExternalLoads file to write (its ``datafile`` is the absolute path of ``mot``).
    bodies
        Right and left foot bodies.

    Returns
    -------
    (Path, list of str)
        The ``.xml`` and notes.

    Raises
    ------
    InputError
        Not exactly two forces with their points (one force: both feet on one plate, which
        needs the markers of the C3D file to split).
    """
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    mot = Path(mot)
    table = read_storage(mot)
    stems: dict[str, list[str]] = {}
    for lab in table.labels:
        if len(lab) > 1 and lab[-1].lower() in "xyz":
            stems.setdefault(lab[:-1], []).append(lab[-1].lower())
    units: dict[str, dict[str, str]] = {}
    for stem, axes in stems.items():
        kind = _kind(stem)
        if kind is None or sorted(axes) != ["x", "y", "z"]:
            continue
        units.setdefault(_unit_key(stem), {})[kind] = stem
    forces = {k: u for k, u in units.items() if "force" in u and "point" in u}
    if len(forces) != 2:
        found = ", ".join(u["force"] for u in forces.values()) or "none"
        raise InputError(
            mot,
            f"expected two forces (right and left foot) with their centres of pressure; found {len(forces)} "
            f"({found}). One force under both feet needs the C3D file, whose markers split it into feet",
        )
    sides = {k: _side_of(k) for k in forces}
    notes = []
    if sorted(s for s in sides.values() if s) != ["l", "r"]:
        # by where the centre of pressure is while loaded: the right foot has the larger Z
        z = {}
        for k, u in forces.items():
            fy = table.column(u["force"] + "y")
            pz = table.column(u["point"] + "z")
            load = fy > 0.5 * np.nanmax(fy)
            z[k] = float(np.nanmedian(pz[load])) if load.any() else np.nan
        if not np.isfinite(list(z.values())).all():
            raise InputError(mot, "cannot tell which force is the right foot's (no names, no loading)")
        right = max(z, key=z.get)
        sides = {k: ("r" if k == right else "l") for k in forces}
        notes.append(
            f"forces in {mot.name}: no side in the column names; '{forces[right]['force']}' is the right "
            "foot's (its centre of pressure is further to the right)"
        )
    root = ET.Element("OpenSimDocument", Version="40600")
    el = ET.SubElement(root, "ExternalLoads", name=mot.stem)
    objs = ET.SubElement(el, "objects")
    for k, u in forces.items():
        s = sides[k]
        ef = ET.SubElement(objs, "ExternalForce", name=f"{'Right' if s == 'r' else 'Left'}GRF")
        ET.SubElement(ef, "applied_to_body").text = bodies[0] if s == "r" else bodies[1]
        ET.SubElement(ef, "force_expressed_in_body").text = "ground"
        ET.SubElement(ef, "point_expressed_in_body").text = "ground"
        ET.SubElement(ef, "force_identifier").text = u["force"]
        ET.SubElement(ef, "point_identifier").text = u["point"]
        if "torque" in u:
            ET.SubElement(ef, "torque_identifier").text = u["torque"]
    ET.SubElement(el, "groups")
    ET.SubElement(el, "datafile").text = str(mot.resolve())
    out = Path(out_xml)
    out.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(root)
    ET.indent(tree, space="\t")
    tree.write(out, encoding="UTF-8", xml_declaration=True)
    names = ", ".join(u["force"] for u in forces.values())
    notes.append(f"forces: ExternalLoads file written for {mot.name} ({names})")
    return out, notes
