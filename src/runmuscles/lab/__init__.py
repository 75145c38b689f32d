"""Lab files in, the pipeline's three inputs out: a scaled model, joint angles, ground forces.

:func:`prepare_lab_trial` is the front end of ``runmuscles analyze TRIAL``. It accepts

* a **C3D** file (markers, and force plates when the lab has them), with an optional static
  trial (C3D or TRC),
* a **TRC** marker file, with an optional static trial,
* a **coordinates** file (``.mot``/``.sto``: joint angles from any lab's inverse kinematics
  whose coordinate names follow OpenSim's gait models),

each with or without forces (``forces``: an ExternalLoads ``.xml``, a force ``.mot``, or
``"estimate"``), and picks the path:

1. **model**: ``model`` as given (taken as already scaled) unless a static trial or a height
   says to scale it; without ``model``, the default full-body model
   (:func:`default_model`) always is. Scaling (:mod:`runmuscles.lab.scaling`) uses OpenSim's
   ScaleTool: from the static trial (measurements), else from the height (one factor),
   else from the running trial's markers. The lab's marker names are mapped onto the
   model's (:mod:`runmuscles.lab.markers`). A runner's scaled model is kept between runs
   (:mod:`runmuscles.lab.scale_cache`): the next trial with the same static trial reuses it.
2. **joint angles**: inverse kinematics on the markers, with marker weights per segment, by
   the project's own solver on its multibody model (:mod:`runmuscles.kinematics.marker_ik`,
   default) or OpenSim's InverseKinematicsTool (``ik="opensim"``); coordinates no marker
   observes (a trunk without markers) are held at their default values. A coordinates file
   is used as it is.
3. **forces**: the given file; else the C3D file's plates, split into right and left foot;
   else (and with ``"estimate"``) from the motion alone
   (:mod:`runmuscles.dynamics.grf_estimation`), written as ``grf_estimated.mot``/``.xml``.

Everything it decided and assumed is returned as notes, flags and numbers for the quality
panel (:class:`LabTrial`); the analysis itself is :func:`runmuscles.pipeline.analyze_trial`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..plausibility import (
    check_external_loads,
    check_force_mass,
    check_forces,
    marker_gap_warnings,
    truncation_warnings,
    vertical_by_foot,
)
from ..quality import QualityWarning
from ..readers.opensim_files import MarkerTable, read_trc, write_trc
from ..trials import TrialSpec

__all__ = [
    "DEFAULT_MODEL",
    "IK_MARKER_WEIGHTS",
    "IK_MAX_ERROR_M",
    "IK_RMS_ERROR_M",
    "LabTrial",
    "TRIAL_SUFFIXES",
    "default_model",
    "prepare_lab_trial",
]

DEFAULT_MODEL = "RajagopalLaiUhlrich2023.osim"
TRIAL_SUFFIXES = {".c3d": "C3D", ".trc": "TRC", ".mot": "coordinates", ".sto": "coordinates"}

#: Inverse-kinematics marker weight per body: the weights of the IK setup distributed with
#: Rajagopal et al. (2016)'s running data (``ik_setup_run.xml``: pelvis 100, thigh, shank and
#: foot 50, trunk and arms 25).
IK_MARKER_WEIGHTS = {
    "pelvis": 100.0,
    "femur": 50.0,
    "patella": 50.0,
    "tibia": 50.0,
    "talus": 50.0,
    "calcn": 50.0,
    "toes": 50.0,
}
_IK_OTHER_WEIGHT = 25.0
#: Marker placer weights of that distribution's scale setup (``scale_setup_run.xml``), by
#: model marker; the model's other markers (its thigh and shank clusters) and the tracking
#: markers get 0: they do not pose the model, the placer only moves them onto the trial.
_PLACER_WEIGHTS = {
    "RASI": 100.0,
    "LASI": 100.0,
    "RPSI": 50.0,
    "LPSI": 50.0,
    "RHJC": 100.0,
    "LHJC": 100.0,
    "RLFC": 50.0,
    "RMFC": 50.0,
    "LLFC": 50.0,
    "LMFC": 50.0,
    "RLMAL": 50.0,
    "RMMAL": 50.0,
    "LLMAL": 50.0,
    "LMMAL": 50.0,
    "RCAL": 25.0,
    "RTOE": 25.0,
    "RMT5": 25.0,
    "LCAL": 25.0,
    "LTOE": 25.0,
    "LMT5": 25.0,
    "RACR": 100.0,
    "LACR": 100.0,
    "C7": 250.0,
    "CLAV": 250.0,
}
#: Inverse-kinematics marker errors beyond which a frame is flagged: RMS 2 cm and maximum
#: 4 cm (OpenSim documentation, "Simulation with OpenSim - Best Practices", Hamner S, Seth A,
#: DeMers M, Hicks J: maximum marker errors below 2-4 cm, RMS below 2 cm).
IK_RMS_ERROR_M = 0.02
IK_MAX_ERROR_M = 0.04
_IK_PAD_S = 0.25  # IK runs this much beyond the analysis window (the filter's edges)


def default_model() -> Path:
    """The default generic model: Rajagopal 2016 / Lai 2017 / Uhlrich 2022 full body, 80 muscles."""
    return Path(str(resources.files("runmuscles") / "data" / "models" / DEFAULT_MODEL))


@dataclass
class LabTrial:
    """What :func:`prepare_lab_trial` made of the lab's files.

    Attributes
    ----------
    spec
        Model, coordinates and forces for :func:`runmuscles.pipeline.analyze_trial`.
    path
        The chosen path in one line (quality panel).
    forces_source
        ``"measured"`` or ``"estimated from motion alone"``.
    notes, flags
        What was assumed and done; what needs a look.
    notices
        What the user should hear now (printed by the command line).
    quality
        Numbers: scaling and inverse-kinematics marker errors, mass, the marker plan.
    standing_foot_angle_rad
        Each foot's heel-to-ball angle in the static pose (``{"r", "l"}``), the zero of the
        foot-strike angle; ``None`` without a static trial.
    height_m
        The runner's height when given (the volume strength model's height); ``None``: the
        analysis takes the scaled model's stature.
    window_s
        The analysis window the plates allow (overground: the stride cycles whose contacts
        are all measured, or the measured stances); ``None``: the data's own.
    side
        Reference foot of that window's cycles (``"right"``/``"left"``); ``None``: default.
    analysis_kind
        ``"stride"`` or ``"stance_only"`` (no complete measured cycle).
    warnings
        Named problems with the inputs whose usable part is kept (truncated files, marker
        gaps; :mod:`runmuscles.plausibility`) and the inverse-kinematics gate's
        (:mod:`runmuscles.lab.ik_quality`), for ``quality.warnings`` (pass as
        ``AnalysisOptions.input_warnings``).
    """

    spec: TrialSpec
    path: str
    forces_source: str
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    quality: dict = field(default_factory=dict)
    standing_foot_angle_rad: dict[str, float] | None = None
    height_m: float | None = None
    window_s: tuple[float, float] | None = None
    side: str | None = None
    analysis_kind: str = "stride"
    warnings: list[QualityWarning] = field(default_factory=list)

    def analysis_inputs(self) -> dict:
        """Keywords of :class:`runmuscles.pipeline.AnalysisOptions` this preparation sets:
        how the inputs were made, and the window and reference foot when the plates impose
        them (``runmuscles analyze`` and ``runmuscles batch`` pass the same)."""
        out = {
            "forces_source": self.forces_source,
            "input_path": self.path,
            "input_notes": self.notices + self.notes,
            "input_flags": self.flags,
            "input_quality": self.quality,
            "standing_foot_angle_rad": self.standing_foot_angle_rad,
            "input_warnings": list(self.warnings),
            "analysis_kind": self.analysis_kind,
        }
        if self.window_s is not None:
            out["start_s"], out["end_s"] = self.window_s
        if self.side is not None:
            out["side"] = self.side
        return out


def _read_markers(path: Path):
    """Markers (and the C3D trial, for its plates) of a C3D or TRC file."""
    if path.suffix.lower() == ".c3d":
        from ..readers.c3d import read_c3d  # noqa: PLC0415

        c3d = read_c3d(path)
        return c3d.markers, c3d
    if path.suffix.lower() == ".trc":
        return read_trc(path), None
    raise InputError(path, "a marker trial must be a .c3d or .trc file")


def _window(markers: MarkerTable, lo: float, hi: float) -> MarkerTable:
    keep = (markers.time_s >= lo - 1e-9) & (markers.time_s <= hi + 1e-9)
    return MarkerTable(
        markers.time_s[keep],
        markers.positions_m[keep],
        list(markers.names),
        markers.rate_hz,
        markers.source_units,
        dict(markers.meta),
    )


def _renamed(markers: MarkerTable, relabel: dict[str, str]) -> MarkerTable:
    names = [relabel.get(n, n) for n in markers.names]
    return MarkerTable(
        markers.time_s, markers.positions_m, names, markers.rate_hz, markers.source_units, markers.meta
    )


def _write_marker_set(path: Path, tracking: dict[str, str]) -> Path:
    """An OpenSim MarkerSet adding the tracking markers to their bodies (at the body's origin;
    the marker placer moves them onto the static trial)."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    root = ET.Element("OpenSimDocument", Version="40600")
    ms = ET.SubElement(root, "MarkerSet", name="lab_tracking_markers")
    objs = ET.SubElement(ms, "objects")
    for name, body in tracking.items():
        m = ET.SubElement(objs, "Marker", name=name)
        ET.SubElement(m, "socket_parent_frame").text = f"/bodyset/{body}"
        ET.SubElement(m, "location").text = "0 0 0"
        ET.SubElement(m, "fixed").text = "false"
    ET.SubElement(ms, "groups")
    tree = ET.ElementTree(root)
    ET.indent(tree, space="\t")
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="UTF-8", xml_declaration=True)
    return path


def _full_frame(markers: MarkerTable, names: list[str]) -> float:
    """Time of the first frame in which all ``names`` are seen (else the most complete one)."""
    idx = [markers.names.index(n) for n in names if n in markers.names]
    seen = np.isfinite(markers.positions_m[:, idx, 0]).sum(axis=1)
    return float(markers.time_s[int(np.argmax(seen))])


def _ik_weight(body: str) -> float:
    return IK_MARKER_WEIGHTS.get(
        body.rsplit("_", 1)[0] if body.endswith(("_r", "_l")) else body, _IK_OTHER_WEIGHT
    )


def _unobserved_coordinates(model_path: Path, marked_bodies: set[str]) -> list[str]:
    """Free coordinates whose joint moves no body with a tracked marker."""
    from ..model.multibody import load_osim  # noqa: PLC0415

    mb = load_osim(model_path)
    marked = np.array([b in marked_bodies for b in mb.body_names])
    dep = set(mb.dependent_coordinates)
    out = []
    for i, name in enumerate(mb.coordinate_names):
        if mb.locked[i] or name in dep:
            continue
        if not (mb.subtree[mb.coordinate_joint[i]].astype(bool) & marked).any():
            out.append(name)
    return out


_TRUNK = (
    ("lumbar_extension", "pelvis_tilt"),
    ("lumbar_bending", "pelvis_list"),
    ("lumbar_rotation", "pelvis_rotation"),
)


def _steady_trunk(model_path: Path, ik_path: Path, held: list[str]) -> str | None:
    """A trunk without markers keeps its mean orientation in the lab, not the pelvis's.

    Held at the lumbar joint's default, the trunk would copy every rotation of the pelvis;
    its centre of mass, a third of the body's mass some 30 cm above the pelvis, then swings
    with the pelvis's tilt, list and rotation at the step frequency and adds hundreds of
    newtons to the pelvis residual forces (measured on the Fukuchi 2017 trials: 0.4 body
    weights RMS fore-aft). The lumbar angles are set to the opposite of the pelvis angles'
    deviations from their means, so the trunk stays upright in the pelvis's mean orientation
    (checked: the trunk's orientation must vary less than before, else nothing is changed).
    """
    from ..model.multibody import fill_dependent_coordinates, forward_kinematics, load_osim  # noqa: PLC0415
    from ..readers.opensim_files import read_storage, write_storage  # noqa: PLC0415
    from ..tables import TimeTable  # noqa: PLC0415

    pairs = [(lum, pel) for lum, pel in _TRUNK if lum in held]
    table = read_storage(ik_path)
    mb = load_osim(model_path)
    if not pairs or "torso" not in mb.body_names or any(p not in table.labels for _, p in pairs):
        return None
    data = table.data.copy()
    for lum, pel in pairs:
        v = data[:, table.labels.index(pel)]
        data[:, table.labels.index(lum)] = -(v - v.mean())
    steady = TimeTable(table.time_s, data, table.labels, table.in_degrees, table.meta)

    def excursion_rad(t: TimeTable) -> float:
        idx = [mb.coordinate_names.index(c) for c in t.labels if c in mb.coordinate_names]
        q = np.zeros((t.n_frames, mb.n_coordinates))
        vals = t.data[:, [t.labels.index(mb.coordinate_names[i]) for i in idx]]
        rot = np.array([mb.motion_types[i] == "rotational" for i in idx])
        q[:, idx] = np.where(rot, np.radians(vals), vals) if t.in_degrees is not False else vals
        q, _, _ = fill_dependent_coordinates(mb, q)
        r = forward_kinematics(mb, q).R[:, mb.body_index("torso")]
        ref = r[r.shape[0] // 2]
        cos = (np.einsum("fij,ij->f", r, ref) - 1.0) / 2.0
        return float(np.max(np.arccos(np.clip(cos, -1.0, 1.0))))

    before, after = excursion_rad(table), excursion_rad(steady)
    if not after < before:
        return None
    write_storage(ik_path, steady, name=ik_path.stem, in_degrees=table.in_degrees is not False)
    return (
        "trunk without markers kept in the pelvis's mean orientation (lumbar angles counter the pelvis's "
        f"rotations): its orientation varies {np.degrees(after):.1f} deg, not {np.degrees(before):.1f} deg"
    )


def _standing_foot_angles(model_path: Path, pose_path: Path) -> dict[str, float] | None:
    """Each foot's heel-to-ball angle in the static pose the marker placer solved."""
    from ..analyses.strike_pattern import standing_foot_angles  # noqa: PLC0415
    from ..model.multibody import load_osim  # noqa: PLC0415
    from ..readers.opensim_files import read_storage  # noqa: PLC0415

    mb = load_osim(model_path)
    pose = read_storage(pose_path)
    q = np.zeros(mb.n_coordinates)
    for k, label in enumerate(pose.labels):
        parts = label.split("/")  # states table: /jointset/<joint>/<coordinate>/value
        name = parts[-2] if len(parts) > 1 and parts[-1] == "value" else label
        if name in mb.coordinate_names:
            v = float(pose.data[0, k])
            rot = mb.motion_types[mb.coordinate_names.index(name)] == "rotational"
            q[mb.coordinate_names.index(name)] = np.radians(v) if rot and pose.in_degrees else v
    return standing_foot_angles(mb, q) or None


def _handle_gaps(markers, static_markers, trial, static, notes, flags, quality):
    """Marker gaps of the trial and the static trial (:func:`runmuscles.lab.gaps.fill_gaps`)."""
    from .gaps import fill_gaps  # noqa: PLC0415

    out = []
    for table, path, key in ((markers, trial, "trial"), (static_markers, static, "static")):
        if table is None:
            out.append(None)
            continue
        filled, report = fill_gaps(table)
        notes += report.notes(Path(path).name)
        flags += report.flags(Path(path).name)
        quality.setdefault("marker_gaps", {})[key] = report.as_dict()
        out.append(filled)
    return out[0], out[1]


def _lab_axes(markers, path, from_c3d, notes, flags, quality, key):
    """Detect the lab's axes from the markers (:func:`runmuscles.lab.axes.detect_axes`); rotate a
    TRC file's markers into OpenSim's (a C3D file was rotated by its reader: only checked)."""
    from .axes import detect_axes, rotate_markers  # noqa: PLC0415

    if markers is None:
        return None, None
    ax = detect_axes(markers)
    name = Path(path).name
    quality.setdefault("lab_axes", {})[key] = {
        "found": ax.found,
        "rotation": ax.rotation.tolist(),
        "how": ax.how,
        "sides_mirrored": ax.sides_mirrored,
    }
    if ax.sides_mirrored:
        flags.append(
            f"{name}: the right-side markers lie on the runner's left (labels of the sides exchanged, or the "
            "lab's data mirrored): check the R/L labels"
        )
    if not ax.found:
        notes.append(f"{name}: lab axes not detected from the markers ({'; '.join(ax.how)}); as recorded")
        return markers, None
    if from_c3d:
        if not ax.is_identity and ax.snapped:
            flags.append(f"{name}: after the C3D reader's rotation the markers still say {ax.describe()}")
        return markers, None
    if ax.is_identity:
        notes.append(f"{name}: {ax.describe()}: already OpenSim's")
        return markers, None
    if not ax.snapped:
        notes.append(f"{name}: {ax.describe()}: not along lab axes, used as recorded")
        return markers, None
    notes.append(f"{name}: {ax.describe()}: rotated into OpenSim's (X forward, Y up, Z right)")
    return rotate_markers(markers, ax.rotation), ax.rotation


def _forces_in_trial_axes(xml, loads, markers, rotation, out, notes):
    """The trial's markers were turned from the lab's axes: are the forces in the lab's axes too
    (:func:`runmuscles.lab.force_axes.forces_frame`)? Then they are turned the same way."""
    from ..readers.opensim_files import read_external_loads  # noqa: PLC0415
    from .force_axes import forces_frame, rotate_external_loads  # noqa: PLC0415

    fr = forces_frame(loads, markers, rotation)
    d = {k: f"{100 * v:.0f} cm" for k, v in fr.cop_to_foot_m.items()}
    if fr.frame == "lab":
        new = rotate_external_loads(Path(xml), loads, rotation, out)
        notes.append(
            f"{Path(xml).name}: forces in the lab's axes like the markers (centre of pressure "
            f"{d['lab']} from a foot in stance read so, {d['opensim']} read in OpenSim's axes): turned "
            f"the same way ({new.name})"
        )
        return new, read_external_loads(new), []
    if fr.frame == "opensim":
        notes.append(
            f"{Path(xml).name}: forces already in OpenSim's axes (centre of pressure {d['opensim']} "
            "from a foot in stance)"
        )
        return xml, loads, []
    return (
        xml,
        loads,
        [
            QualityWarning(
                "forces_axes_unknown",
                f"{Path(xml).name}: the markers were turned from the lab's axes, and whether the forces "
                "are in the lab's axes too could not be told (no centre of pressure or foot markers): "
                "taken as in OpenSim's",
            )
        ],
    )


def _vertical_per_foot(loads) -> dict[str, np.ndarray] | None:
    """Each foot's vertical force (``{"r", "l"}``) from an ExternalLoads set
    (:func:`runmuscles.plausibility.vertical_by_foot`); ``None`` unless every force is on a
    foot, expressed in ground, and both feet have one."""
    if any(f.force_expressed_in_body != "ground" for f in loads.forces):
        return None
    _, by_side, _ = vertical_by_foot(loads)
    if set(by_side) != {"right", "left"}:
        return None
    return {"r": by_side["right"], "l": by_side["left"]}


def _coordinates_for_model(
    trial: Path, model_path: Path, out: Path, notes: list[str], flags: list[str]
) -> Path:
    """The joint angles file, or a copy made to fit the model: a segmented spine as one lumbar
    joint (:func:`runmuscles.lab.markerless.spine_as_lumbar_joint`) and coordinates of the
    other sign convention negated (:func:`runmuscles.lab.conventions.match_sign_conventions`)."""
    from ..model.multibody import load_osim  # noqa: PLC0415
    from ..readers.opensim_files import read_storage, write_storage  # noqa: PLC0415
    from .conventions import match_sign_conventions  # noqa: PLC0415
    from .markerless import spine_as_lumbar_joint  # noqa: PLC0415

    table = read_storage(trial)
    joined = spine_as_lumbar_joint(table)
    if joined is not None:
        table = joined
        notes.append(
            f"{trial.name}: a spine of six joints (Pose2Sim's model), summed into the lumbar joint's "
            "extension, bending and rotation"
        )
    table, flipped = match_sign_conventions(table, load_osim(model_path))
    if flipped:
        flags.append(
            f"{trial.name}: {', '.join(flipped)} lie outside the model's ranges and their negatives inside: "
            "angles of a model with the other sign convention (gait2392-family models count knee flexion "
            "negative, Rajagopal 2016 and later positive), negated"
        )
    if joined is None and not flipped:
        return trial
    return write_storage(
        out / f"{trial.stem}_for_model.mot", table, name=trial.stem, in_degrees=table.in_degrees is not False
    )


def _vertical_force(loads) -> tuple[np.ndarray, np.ndarray]:
    d = loads.data
    fy = np.zeros(d.n_frames)
    for f in loads.forces:
        fy = fy + d.column(f.force_columns[1])
    return d.time_s, fy


def prepare_lab_trial(
    trial: str | Path,
    out_dir: str | Path,
    *,
    static: str | Path | None = None,
    model: str | Path | None = None,
    forces: str | Path | None = None,
    mass_kg: float | None = None,
    height_m: float | None = None,
    marker_map: str | Path | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    stance_only: bool = False,
    progress: Callable[[str], None] | None = None,
    accept_ik_error: bool = False,
    ik: str = "own",
) -> LabTrial:
    """Turn a lab trial into a scaled model, joint angles and ground reaction forces.

    Parameters
    ----------
    trial
        ``.c3d``, ``.trc`` or a coordinates ``.mot``/``.sto``.
    out_dir
        Where everything made goes: ``model/`` (scaled model, ScaleTool setup, static pose),
        ``markers.trc``, ``ik.mot`` (+ setup and OpenSim's marker errors), ``grf.mot``/``.xml``
        (split plates) or ``grf_estimated.mot``/``.xml``, ``forces.xml``.
    static
        Static trial (``.c3d``/``.trc``) to scale the model from.
    model
        OpenSim model; default :func:`default_model`.
    forces
        ExternalLoads ``.xml``, force ``.mot``/``.sto``, or ``"estimate"``.
    mass_kg, height_m
        The runner's mass and height.
    marker_map
        File mapping lab marker names to model markers or bodies
        (:func:`runmuscles.lab.markers.read_marker_map`).
    start_s, end_s
        Analysis window: inverse kinematics runs over it (and a little beyond). Without it,
        a C3D file's plates set it when they do not measure every step (overground): the
        stride cycles in which every contact is measured.
    stance_only
        Accept plates that catch no complete stride cycle: the measured stances are
        analysed alone, labelled ``stance_only``.
    progress
        Called with the name of each stage as it starts.
    accept_ik_error
        Go on when the inverse kinematics fits the markers worse than the gate's limit
        (:func:`runmuscles.lab.ik_quality.ik_gate`); the result is then marked not valid.
    ik
        Inverse-kinematics solver (``CHOICES["ik"]``): ``"own"`` (default,
        :mod:`runmuscles.kinematics.marker_ik` on the project's multibody model) or
        ``"opensim"`` (OpenSim's InverseKinematicsTool).

    Returns
    -------
    LabTrial
    """
    from ..validation import check_choice, check_window  # noqa: PLC0415
    from . import markers as lm  # noqa: PLC0415
    from . import scaling as ls  # noqa: PLC0415

    check_choice("ik", ik, "--ik")
    check_window(start_s, end_s)  # before any scaling or inverse kinematics
    say = progress or (lambda stage: None)
    trial = Path(trial)
    out = Path(out_dir)
    kind = TRIAL_SUFFIXES.get(trial.suffix.lower())
    if kind is None:
        raise InputError(
            trial,
            "is not a trial file runmuscles reads (.c3d, .trc, or joint angles .mot/.sto; or a trial folder)",
        )
    given = ((model, "model"), (trial, "file"), (static, "static trial"), (marker_map, "marker mapping"))
    for p, what in given:
        if p is not None and not Path(p).is_file():
            raise InputError(p, f"{what} not found")
    estimate = forces is not None and str(forces) == "estimate"
    forces_file = None if forces is None or estimate else Path(forces)
    if forces_file is not None and not forces_file.is_file():
        raise InputError(forces_file, "forces file not found")
    if forces_file is not None and forces_file.suffix.lower() not in (".xml", ".mot", ".sto"):
        raise InputError(
            forces_file, "forces must be an ExternalLoads .xml or a force .mot/.sto (or 'estimate')"
        )
    ls.check_mass_and_height(mass_kg, height_m)
    if kind == "coordinates" and static is not None:
        raise InputError(
            static,
            "a static trial scales a model from markers, and a coordinates file has none: give --model "
            "(scaled) or --mass and --height",
        )
    from ..outputs import prepare_output_dir  # noqa: PLC0415
    from .markerless import check_model_has_muscles, check_not_keypoints, describe_markerless  # noqa: PLC0415

    if model is not None:
        check_model_has_muscles(model)
    prepare_output_dir(out)
    notes: list[str] = []
    flags: list[str] = []
    notices: list[str] = []
    quality: dict = {"input": kind}
    steps: list[str] = []

    # -- read ----------------------------------------------------------------------------------
    say("reading")
    markers, c3d = (None, None) if kind == "coordinates" else _read_markers(trial)
    if markers is not None:
        check_not_keypoints(markers.names, trial)
    if model is not None and (video := describe_markerless(model, trial if kind == "coordinates" else None)):
        notes.append(f"markerless input: model and joint angles from {video} (runmuscles.lab.markerless)")
        quality["markerless"] = video
    if c3d is not None:
        notes += [f"C3D: {n}" for n in c3d.notes]
    warnings: list[QualityWarning] = []
    if markers is not None:
        warnings += truncation_warnings(markers.time_s, markers.meta)
    static_markers = static_c3d = None
    if static is not None:
        static_markers, static_c3d = _read_markers(Path(static))
        check_not_keypoints(static_markers.names, static)
    for table, path in ((markers, trial), (static_markers, static)):
        if table is not None and table.meta.get("time_note"):
            notes.append(f"{Path(path).name}: {table.meta['time_note']}")
    markers, static_markers = _handle_gaps(markers, static_markers, trial, static, notes, flags, quality)
    markers, trial_rotation = _lab_axes(markers, trial, c3d is not None, notes, flags, quality, "trial")
    if static_markers is not None:
        is_c3d = str(static).lower().endswith(".c3d")
        static_markers, _ = _lab_axes(static_markers, Path(static), is_c3d, notes, flags, quality, "static")

    # -- forces: which path ------------------------------------------------------------------
    loaded = [p for p in (c3d.plates if c3d is not None else []) if p.loaded.any()]
    if estimate:
        forces_mode = "estimate"
    elif forces_file is not None:
        forces_mode = "file"
    elif loaded:
        forces_mode = "plates"
    else:
        forces_mode = "estimate"
        why = {
            "C3D": f"{trial.name} has no loaded force plate",
            "TRC": "a TRC file has no forces and none were given (--forces)",
            "coordinates": "no forces were given (--forces)",
        }[kind]
        notices.append(f"{why}: ground reaction forces are estimated from the motion alone")
    xml = None
    force_mass = None
    force_how = "mean vertical force over the trial"
    part = None
    from .forces import measured_part, static_plate_mass_kg  # noqa: PLC0415

    if forces_mode == "plates":
        from .forces import split_plates  # noqa: PLC0415

        xml, fnotes, feet = split_plates(c3d, out, "grf")
        notes += fnotes
        vertical = {"right": feet.force_n["r"][:, 1], "left": feet.force_n["l"][:, 1]}
        warnings += check_forces(feet.time_s, vertical, None, trial)  # --mass is compared below
        part = measured_part(
            feet.time_s,
            {s: feet.force_n[s][:, 1] for s in "rl"},
            name=trial.name,
            markers=c3d.markers,
            contacts=feet.contacts,
            belt_speed_m_s=c3d.belt_speed_m_s,
            stance_only=stance_only,
        )
        force_what = f"the force plates of {trial.name}"
        steps.append(f"forces from {len(loaded)} force plate(s) split into right and left foot")
    elif forces_mode == "file":
        from ..readers.opensim_files import read_external_loads  # noqa: PLC0415

        if forces_file.suffix.lower() == ".xml":
            xml = forces_file
        else:
            from .forces import external_loads_for_mot  # noqa: PLC0415

            xml, fnotes = external_loads_for_mot(forces_file, out / "forces.xml")
            notes += fnotes
        loads = read_external_loads(xml)
        if trial_rotation is not None:
            xml, loads, fwarn = _forces_in_trial_axes(xml, loads, markers, trial_rotation, out, notes)
            warnings += fwarn
        warnings += check_external_loads(loads, None)  # --mass is compared below
        per_foot = _vertical_per_foot(loads)
        force_what = forces_file.name
        if per_foot is None:
            force_mass = ls.mass_from_forces_kg(*_vertical_force(loads))
        else:  # the steps off the plates show in a C3D file's markers only (known axes)
            part = measured_part(
                loads.data.time_s,
                per_foot,
                name=forces_file.name,
                markers=c3d.markers if c3d is not None else None,
                belt_speed_m_s=c3d.belt_speed_m_s if c3d is not None else None,
                stance_only=stance_only,
            )
        steps.append(f"forces from {forces_file.name}")
    if part is not None:
        notes += part.notes
        warnings += part.warnings
        force_mass, force_how = part.mass_kg, part.mass_how
        if force_mass is None:
            force_mass, force_how = static_plate_mass_kg(static_c3d)
            if force_mass is None:
                notes.append(f"body mass: no complete measured stride, and {force_how}")
            else:
                force_what = f"static trial {Path(static).name}"
        if part.window.kind != "all_measured":
            if start_s is None and end_s is None:
                start_s, end_s = part.window.start_s, part.window.end_s
            else:
                from ..kinematics.overground import unmeasured_between  # noqa: PLC0415

                off = unmeasured_between(part.window.steps, start_s, end_s)
                if off:
                    warnings.append(
                        QualityWarning(
                            "unmeasured_contacts",
                            "the given time window holds contacts off the force plates, whose force is "
                            "unknown: " + ", ".join(st.label() for st in off),
                            invalidates=True,
                        )
                    )
    if force_mass is not None:
        quality["mass_from_forces_kg"] = force_mass
        quality["mass_from_forces"] = force_how
        check_force_mass(force_mass, trial if forces_mode == "plates" else forces_file)
        if mass_kg is not None and abs(mass_kg - force_mass) > ls.MASS_TOLERANCE * force_mass:
            raise InputError(
                "--mass",
                f"{mass_kg:g} kg, but {force_what} weigh the runner at {force_mass:.1f} kg ({force_how}): a "
                "wrong --mass, or forces of another runner?",
            )

    # -- model ---------------------------------------------------------------------------------
    generic = Path(model) if model is not None else default_model()
    scale = model is None or static is not None or height_m is not None
    mass = mass_kg if mass_kg is not None else force_mass
    if scale and mass is None:
        why = (
            "no complete measured stride and no static trial on a force plate weigh the runner"
            if part is not None
            else "no force plates weigh the runner"
        )
        raise InputError(
            "--mass",
            f"the model must be scaled to the runner, and {why}: give --mass"
            + (" and --height" if height_m is None and static is None else ""),
        )
    if scale and kind == "coordinates" and height_m is None:
        raise InputError(
            "--height",
            "a coordinates file has no markers to scale the model with: give --height and --mass, or a "
            "scaled model with --model",
        )
    if mass_kg is None and mass is not None and scale:
        notes.append(f"body mass {mass:.1f} kg from {force_what} ({force_how})")
    plan = None
    mm, bodies = lm.model_marker_bodies(generic)
    if markers is not None:
        user_map = lm.read_marker_map(marker_map) if marker_map is not None else None
        names = list(
            dict.fromkeys((static_markers.names if static_markers is not None else []) + markers.names)
        )
        plan = lm.plan_markers(names, mm, bodies, user_map=user_map, source=marker_map)
        notes.append(plan.summary())
        by_landmark = [
            f"{lab} -> {m}" for lab, m in plan.rename.items() if plan.how[lab].startswith("landmark")
        ]
        if by_landmark:
            notes.append("marker names read by landmark (no map needed): " + ", ".join(by_landmark))
        unmapped = [m for m in plan.model_missing if m not in ("RHJC", "LHJC")]
        if unmapped:
            notes.append(
                f"model markers without lab data ({len(unmapped)}): {', '.join(unmapped[:24])}"
                + (" ..." if len(unmapped) > 24 else "")
            )
        quality["markers"] = {
            "renamed": plan.rename,
            "tracking": plan.tracking,
            "ignored": plan.ignored,
            "model_markers_without_data": plan.model_missing,
            "mapping": plan.mapping_table(),
        }
        if static_markers is not None:
            relabel, snotes = lm.compare_with_static(
                static_markers, markers, plan.body_of, static_source=str(static), trial_source=str(trial)
            )
            notes += snotes
            if relabel:
                markers = _renamed(markers, relabel)
                flags.append(
                    "markers labelled differently in the trial than in the static trial, relabelled: "
                    + ", ".join(f"{a} -> {b}" for a, b in relabel.items())
                )
    # analysis window of the markers (inverse kinematics runs over it)
    trial_m = None
    if markers is not None:
        lo, hi = float(markers.time_s[0]), float(markers.time_s[-1])
        if start_s is not None:
            lo = max(lo, start_s - _IK_PAD_S)
        if end_s is not None:
            hi = min(hi, end_s + _IK_PAD_S)
        if not hi > lo:
            raise InputError(
                trial, f"the time window {start_s}-{end_s} s is outside the markers ({lo:g}-{hi:g} s)"
            )
        trial_m = plan.apply(_window(markers, lo, hi))
        if not trial_m.names:
            raise InputError(trial, "none of its markers could be mapped to the model (see --markers)")
        # gaps of the markers inverse kinematics uses, in its window
        gap_w, gap_notes = marker_gap_warnings(trial_m, trial)
        warnings += gap_w
        notes += gap_notes
    model_dir = out / "model"
    if scale:
        say("scaling the model (OpenSim)")
    if not scale:
        scaled = generic
        steps.insert(0, f"model {generic.name} as given")
    elif markers is None:
        factor = height_m / ls.stature_estimate_m(generic)
        from ..opensim_adapter.tools import scale_model_by_factor  # noqa: PLC0415

        scaled = scale_model_by_factor(
            model_dir / f"{generic.stem}_{height_m:.2f}m_{mass:.1f}kg.osim",
            generic,
            factor,
            mass,
            height_m=height_m,
        )
        steps.insert(
            0, f"model {generic.stem} scaled by height ({height_m:g} m, factor {factor:.3f}) and mass"
        )
        notes.append(
            f"scaled by height: every segment x {factor:.3f} = {height_m:g} m over the model's stature "
            f"{height_m / factor:.2f} m (standing hip height / 0.530, Drillis & Contini 1966)"
        )
    else:
        from .scale_cache import cached_scaling, scaling_key  # noqa: PLC0415

        key = scaling_key(
            generic,
            static_markers if static_markers is not None else trial_m,
            {"rename": plan.rename, "tracking": plan.tracking, "from": Path(static or trial).name},
            mass,
            height_m,
        )
        scaled = cached_scaling(
            key,
            model_dir,
            notes,
            flags,
            quality,
            steps,
            lambda: _scale_from_markers(
                generic,
                trial,
                trial_m,
                static,
                static_markers,
                plan,
                mm,
                bodies,
                mass,
                height_m,
                model_dir,
                notes,
                flags,
                quality,
                steps,
            ),
        )

    # -- joint angles --------------------------------------------------------------------------
    if kind == "coordinates":
        coordinates = _coordinates_for_model(trial, Path(scaled), out, notes, flags)
        steps.insert(1, f"joint angles from {trial.name}")
    else:
        say("inverse kinematics (OpenSim)" if ik == "opensim" else "inverse kinematics")
        from .runway import widen_root_translations  # noqa: PLC0415

        scaled, widened = widen_root_translations(scaled, trial_m, model_dir)
        if widened:
            notes.append(widened)
        coordinates, ik_warnings = _inverse_kinematics(
            scaled, trial_m, out, plan, notes, flags, quality, steps, accept_ik_error, trial, ik
        )
        warnings += ik_warnings

    # -- forces from motion ----------------------------------------------------------------------
    speed, speed_src = None, ""
    if c3d is not None and c3d.belt_speed_m_s is not None:
        speed = float(c3d.belt_speed_m_s)
        speed_src = "treadmill: belt speed under the stance foot (its backward speed), from the C3D markers"
    elif part is not None and part.speed_m_s is not None:
        speed, speed_src = part.speed_m_s, part.speed_source
    elif (
        part is not None
        and kind == "coordinates"
        and (part.window.start_s is not None or part.window.cycles_s)
    ):
        from ..kinematics.overground import pelvis_speed_from_coordinates  # noqa: PLC0415
        from ..readers.opensim_files import read_storage  # noqa: PLC0415
        from .forces import OVERGROUND_MIN_SPEED_M_S  # noqa: PLC0415

        w = part.window
        lo, hi = (w.start_s, w.end_s) if w.start_s is not None else (w.cycles_s[0][0], w.cycles_s[-1][1])
        found = pelvis_speed_from_coordinates(read_storage(coordinates), lo, hi)
        if found is not None and found[0] >= OVERGROUND_MIN_SPEED_M_S:
            speed, speed_src = found
    spec = TrialSpec(
        trial.stem, Path(scaled), Path(coordinates), Path(xml) if xml is not None else None, speed, speed_src
    )
    if forces_mode == "estimate":
        from ..trials import with_estimated_forces  # noqa: PLC0415

        say("forces from the motion")
        spec = with_estimated_forces(spec, out)
        steps.append("forces estimated from the motion alone (grf_estimated.mot)")
    path = f"{kind} {trial.name}: " + "; ".join(steps)
    standing = quality.get("scaling", {}).pop("standing_foot_angle_rad", None)
    imposed = part is not None and part.window.kind != "all_measured"
    if imposed:
        quality["measured_steps"] = {
            "kind": part.window.kind,
            "window_s": [part.window.start_s, part.window.end_s],
            "side": part.window.side,
            "steps": [
                {"side": st.side, "start_s": st.start_s, "end_s": st.end_s, "plate": st.plate}
                for st in part.window.steps
            ],
        }
    return LabTrial(
        spec,
        path,
        "estimated from motion alone" if forces_mode == "estimate" else "measured",
        notes,
        flags,
        notices,
        quality,
        standing,
        height_m,
        window_s=(start_s, end_s) if imposed and start_s is not None and end_s is not None else None,
        side=part.window.side if imposed else None,
        analysis_kind="stance_only" if part is not None and part.window.kind == "stance_only" else "stride",
        warnings=warnings,
    )


def _scale_from_markers(
    generic,
    trial,
    trial_m,
    static,
    static_markers,
    plan,
    mm,
    bodies,
    mass,
    height_m,
    model_dir,
    notes,
    flags,
    quality,
    steps,
) -> Path:
    """Scale ``generic`` with OpenSim's ScaleTool from the static trial, the height or the trial."""
    from ..opensim_adapter.tools import scale_model  # noqa: PLC0415
    from . import markers as lm  # noqa: PLC0415
    from . import scaling as ls  # noqa: PLC0415

    lab_of = {m: plan.lab_name(m) or " or ".join(lm.known_lab_names(m)) or m for m in mm}
    marker_set = _write_marker_set(model_dir / "lab_tracking_markers.xml", plan.tracking)
    if static_markers is not None:
        scale_m = plan.apply(static_markers)
        if "RHJC" in mm:
            scale_m, added = lm.with_hip_joint_centres(scale_m, plan.sacrum or "SACR")
            if added:
                notes.append("hip joint centres for scaling from the pelvis markers (Harrington et al. 2007)")
        trc = write_trc(model_dir / "static.trc", scale_m)
        t_range = None
        how = f"static trial {Path(static).name}"
        name = f"{generic.stem}_{Path(static).stem}"
        running = False
    else:
        scale_m = trial_m
        if "RHJC" in mm:
            scale_m, added = lm.with_hip_joint_centres(trial_m, plan.sacrum or "SACR")
            if added:
                notes.append("hip joint centres for scaling from the pelvis markers (Harrington et al. 2007)")
        trc = write_trc(model_dir / "placement.trc", scale_m)
        t = _full_frame(trial_m, list(plan.rename.values()))
        half = 0.5 / trial_m.rate_hz if trial_m.rate_hz > 0 else 1e-3
        t_range = (t - half, t + half)  # one frame (OpenSim needs the range to be non-empty)
        how = f"running trial {trial.name} (frame at {t:.3f} s)"
        name = f"{generic.stem}_{trial.stem}"
        running = True
    # the landmarks of the Rajagopal setup pose the model; every other marker (clusters, tracking
    # markers) only rides along and is moved onto the trial. A model without those landmarks:
    # every marker it has poses it, with weight 1.
    on_model = [m for m in scale_m.names if m in mm and m not in plan.tracking]
    table = sum(m in _PLACER_WEIGHTS for m in on_model) >= 6
    weights = {m: 0.0 for m in scale_m.names if m in plan.tracking}
    for m in on_model:
        weights[m] = _PLACER_WEIGHTS.get(m, 0.0) if table else 1.0
    kwargs: dict = {}
    if height_m is not None and static_markers is None:
        factor = height_m / ls.stature_estimate_m(generic)
        kwargs["uniform_factor"] = factor
        steps.insert(
            0, f"model {generic.stem} scaled by height ({height_m:g} m), markers placed on the running trial"
        )
        notes.append(
            f"scaled by height: every segment x {factor:.3f} = {height_m:g} m over the model's stature "
            f"{height_m / factor:.2f} m (standing hip height / 0.530, Drillis & Contini 1966)"
        )
    elif ls.uses_rajagopal_markers(mm):
        meas, mnotes = ls.scale_measurements(
            set(scale_m.names) & set(mm),
            bodies,
            running_trial=running,
            lab_names=lab_of,
            source=static or trial,
        )
        kwargs["measurements"] = meas
        notes += mnotes
        steps.insert(0, f"model {generic.stem} scaled from the {how} (OpenSim ScaleTool)")
        if running:
            legs = any(m.name in ("thigh", "shank") for m in meas)
            flags.append(
                "model scaled from the running trial's markers (no static trial, no --height): "
                + (
                    "pelvis, thighs, shanks and feet measured, trunk and arms with the legs' factor"
                    if legs
                    else "pelvis and feet measured, other segments with the feet's factor (can be 10 % off)"
                )
                + "; give --static or --height"
            )
    else:
        steps.insert(0, f"model {generic.stem} scaled uniformly from the {how} (OpenSim ScaleTool)")
        notes.append(
            "the model has none of the landmark markers the segment measurements use: one factor for all"
        )
    res = scale_model(
        model_dir / f"{name}.osim",
        generic_model=generic,
        static_trc=trc,
        mass_kg=mass,
        height_m=height_m,
        marker_set_xml=marker_set,
        time_range_s=t_range,
        marker_weights=weights,
        **kwargs,
    )
    worst = lab_of.get(res.worst_marker, res.worst_marker)
    standing = (
        _standing_foot_angles(res.model_path, res.static_pose_path) if static_markers is not None else None
    )
    quality["scaling"] = {
        "from": how,
        "mass_kg": mass,
        "marker_rms_m": res.marker_rms_m,
        "marker_max_m": res.marker_max_m,
        "worst_marker": worst,
        "stature_estimate_m": ls.stature_estimate_m(res.model_path),
        "standing_foot_angle_rad": standing,
    }
    text = (
        f"scaling ({how}): markers fit the scaled model to {100 * res.marker_rms_m:.1f} cm RMS, "
        f"{100 * res.marker_max_m:.1f} cm at most ({worst})"
    )
    if res.marker_max_m > IK_MAX_ERROR_M:
        flags.append(text + " (more than 4 cm: check the marker mapping)")
    else:
        notes.append(text)
    if height_m is not None and static_markers is not None:
        est = quality["scaling"]["stature_estimate_m"]
        if abs(est - height_m) > ls.STATURE_TOLERANCE * height_m:
            raise InputError(
                static,
                f"scales the model to a runner {est:.2f} m tall, but --height says {height_m:g} m: a static "
                f"trial of another person, or a wrong --height?",
            )
    return res.model_path


def _frames_with_markers(trial_m, weights: dict[str, float], n_frames: int) -> np.ndarray:
    """Per inverse-kinematics frame, whether any marker with a positive weight was seen."""
    cols = [k for k, m in enumerate(trial_m.names) if weights.get(m, 0.0) > 0]
    pos = trial_m.positions_m
    if not cols or pos.shape[0] != n_frames:
        return np.ones(n_frames, dtype=bool)
    return np.isfinite(pos[:, cols, :]).all(axis=2).any(axis=1)


def _inverse_kinematics(
    scaled, trial_m, out, plan, notes, flags, quality, steps, accept_ik_error, trial, solver="own"
) -> tuple[Path, list[QualityWarning]]:
    from ..tables import TimeTable  # noqa: PLC0415
    from . import ik_quality  # noqa: PLC0415
    from . import markers as lm  # noqa: PLC0415

    on_model, _ = lm.model_marker_bodies(scaled)
    trc = write_trc(out / "markers.trc", trial_m)
    weights = {m: _ik_weight(on_model[m]) for m in trial_m.names if m in on_model}
    not_on = [plan.lab_name(m) or m for m in trial_m.names if m not in on_model]
    if not_on:
        notes.append(f"trial markers not on the model (absent from the static trial): {', '.join(not_on)}")
    if len(weights) < 6:
        raise InputError(
            trc,
            f"only {len(weights)} of the trial's markers are on the model: too few for inverse kinematics",
        )
    hold = _unobserved_coordinates(Path(scaled), {on_model[m] for m in weights})
    if solver == "opensim":
        from ..opensim_adapter.tools import model_summary  # noqa: PLC0415

        summary = model_summary(scaled)
        hold = [c for c in hold if c in summary.coordinates]
    if hold:
        notes.append(
            f"no markers move {', '.join(hold)}: held at the model's default values in inverse kinematics"
        )
    if solver == "opensim":
        from ..opensim_adapter.tools import run_inverse_kinematics  # noqa: PLC0415

        run = run_inverse_kinematics
        who = "OpenSim"
    else:
        from ..kinematics.marker_ik import run_marker_ik  # noqa: PLC0415

        def run(model, _trc, out_mot, **kw):
            return run_marker_ik(model, trial_m, out_mot, **kw)

        who = "own multibody"
    ik = run(
        scaled,
        trc,
        out / "ik.mot",
        marker_weights=weights,
        coordinate_weights=dict.fromkeys(hold, 1.0),
    )
    steady = _steady_trunk(Path(scaled), ik.coordinates_path, hold)
    if steady:
        notes.append(steady)
    # A frame in which no weighted marker was seen has no marker error (both solvers write 0
    # there): it is counted apart, not as a perfect fit in the means.
    seen = _frames_with_markers(trial_m, weights, ik.time_s.size)
    n_blind = int(np.sum(~seen))
    rms_seen = ik.rms_m[seen] if seen.any() else np.zeros(1)
    max_seen = ik.max_m[seen] if seen.any() else np.zeros(1)
    over_rms = float(np.mean(rms_seen > IK_RMS_ERROR_M))
    over_max = float(np.mean(max_seen > IK_MAX_ERROR_M))
    quality["inverse_kinematics"] = {
        "frames": int(ik.time_s.size),
        "frames_without_markers": n_blind,
        "marker_rms_m_mean": float(np.mean(rms_seen)),
        "marker_rms_m_max": float(np.max(rms_seen)),
        "marker_max_m_median": float(np.median(max_seen)),
        "marker_max_m_max": float(np.max(max_seen)),
        "frames_rms_above_2cm": over_rms,
        "frames_max_above_4cm": over_max,
        "marker_mean_error_m": {plan.lab_name(m) or m: e for m, e in ik.marker_mean_error_m.items()},
        "marker_weights": weights,
        "coordinates_held_at_default": hold,
        "solver": solver,
        "errors_file": str(ik.marker_errors_path),
    }
    text = (
        f"inverse kinematics ({who}, {ik.time_s.size} frames): marker error RMS "
        f"{100 * np.mean(rms_seen):.1f} cm mean, {100 * np.max(rms_seen):.1f} cm worst frame; largest "
        f"single marker {100 * np.max(max_seen):.1f} cm"
    )
    if n_blind:
        text += f"; {n_blind} frame(s) without any tracked marker left out of these figures"
    worst = sorted(ik.marker_mean_error_m.items(), key=lambda kv: -kv[1])[:3]
    if worst:
        text += (
            " (largest mean errors: "
            + ", ".join(f"{plan.lab_name(m) or m} {100 * e:.1f} cm" for m, e in worst)
            + ")"
        )
    locations = ik.marker_errors_path.with_name(
        ik.marker_errors_path.name.replace("_ik_marker_errors", "_ik_model_marker_locations")
    )
    lab_names = {m: plan.lab_name(m) or m for m in trial_m.names}
    if solver == "own":  # the tables in memory, not read back from the files just written
        r = ik.result
        cols = [f"{m}_t{a}" for m in r.marker_names for a in "xyz"]
        table = TimeTable(r.time_s, r.model_markers_m.reshape(r.time_s.size, -1), cols)
        diagnosis = ik_quality.diagnose_ik(trial_m, table, lab_names)
    else:
        diagnosis = ik_quality.diagnose_ik(trc, locations, lab_names) if locations.is_file() else None
    if diagnosis is not None:
        quality["inverse_kinematics"].update(diagnosis.as_dict())
    mean_rms = float(np.mean(rms_seen))
    warnings = (
        ik_quality.ik_gate(mean_rms, diagnosis, accept=accept_ik_error, where=trial)
        if diagnosis is not None
        else []
    )
    warnings += ik_quality.wrong_side_warning(trial_m, lab_names)
    if warnings:
        notes.append(text)
    elif over_rms > 0.05 or over_max > 0.05:
        flags.append(
            text
            + f" ({100 * over_rms:.0f} % of frames above 2 cm RMS, {100 * over_max:.0f} % above 4 cm max: "
            "OpenSim's best-practice limits)"
        )
    else:
        notes.append(text)
    steps.insert(1, f"joint angles by {'OpenSim' if solver == 'opensim' else 'own'} inverse kinematics")
    return ik.coordinates_path, warnings
