"""Markerless (video) inputs: OpenCap and Pose2Sim outputs.

Both tools end in OpenSim files the lab path already reads: a scaled ``.osim`` model and
joint angles from its inverse kinematics (``.mot``).

* **OpenCap** (Uhlrich SD et al., 2023, PLoS Comput Biol 19:e1011462) scales a
  LaiUhlrich2022 model (Lai AKM et al. 2017 with Uhlrich's changes: 80 muscles, the
  coordinate names of the OpenSim gait models) carrying its own marker set (names ending in
  ``_study``, placed by its marker augmenter), and writes ``OpenSimData/Model/*.osim`` and
  ``OpenSimData/Kinematics/*.mot``. Its model has muscles: ``analyze TRIAL.mot --model
  MODEL.osim`` analyses the angles on the model they were computed on.
* **Pose2Sim** (Pagnon D et al., 2022, J Open Source Softw 7:4362) scales its own models
  (``Model_Pose2Sim_*``, full body with a five-segment lumbar spine) and writes
  ``kinematics/*.mot``; its scaled kinematic models have **no muscles**
  (:func:`check_model_has_muscles` says so), so its joint angles are analysed on the default
  model scaled by height, its spine's six joints summed into the one lumbar joint
  (:func:`spine_as_lumbar_joint`). Angles computed on another model are then checked
  against the forces (:mod:`runmuscles.analyses.consistency`). Its ``.trc`` files
  (``pose-3d/``) hold triangulated pose-estimation **keypoints**: joint centres and a few
  foot and head points (``RHip``, ``RKnee``, ``RAnkle``, ``RBigToe``, ``RHeel``, ``Neck``...),
  not the skin-mounted anatomical landmarks scaling and inverse kinematics need. Such a file
  is recognised (:func:`keypoint_markers`) and refused with the way in: its ``.mot``.

Without force plates, forces come from the motion alone, which is only for running
(:mod:`runmuscles.dynamics.support`); public markerless examples are walking, squats and
balancing, and are refused for that with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = [
    "KEYPOINT_NAMES",
    "check_model_has_muscles",
    "MarkerlessSession",
    "check_not_keypoints",
    "describe_markerless",
    "find_session",
    "keypoint_markers",
    "muscle_count",
    "spine_as_lumbar_joint",
]

#: Pose-estimation keypoint names as OpenPose (BODY_25, BODY_25B), COCO, HALPE and Pose2Sim
#: write them into ``.trc`` files (Cao Z et al., 2021, IEEE TPAMI 43:172-186; Pose2Sim's
#: skeletons), compared without case. The ``_study`` markers of OpenCap's augmenter are not
#: among them (they stand for anatomical landmarks).
KEYPOINT_NAMES = frozenset(
    n.lower()
    for side in ("R", "L")
    for n in (
        f"{side}Shoulder",
        f"{side}Elbow",
        f"{side}Wrist",
        f"{side}Hip",
        f"{side}Knee",
        f"{side}Ankle",
        f"{side}BigToe",
        f"{side}SmallToe",
        f"{side}Heel",
        f"{side}Eye",
        f"{side}Ear",
    )
) | frozenset(("nose", "neck", "head", "hip", "midhip", "headtop", "neck_top"))

#: A marker file is taken for keypoints when at least this share of its names are keypoints.
_KEYPOINT_SHARE = 0.5


def keypoint_markers(names: list[str]) -> list[str]:
    """The names among ``names`` that are pose-estimation keypoints (:data:`KEYPOINT_NAMES`)."""
    return [n for n in names if n.strip().lower() in KEYPOINT_NAMES]


def check_not_keypoints(names: list[str], source: str | Path) -> None:
    """Refuse a marker file of pose-estimation keypoints (a Pose2Sim or OpenPose ``.trc``).

    Raises
    ------
    InputError
        When at least half of ``names`` are keypoints; the message names them and the way in.
    """
    kp = keypoint_markers(names)
    if names and len(kp) >= _KEYPOINT_SHARE * len(names):
        raise InputError(
            source,
            f"holds pose-estimation keypoints ({len(kp)} of {len(names)} markers: "
            f"{', '.join(kp[:6])}{' ...' if len(kp) > 6 else ''}): joint centres from video (Pose2Sim, "
            "OpenPose), not the anatomical landmarks scaling and inverse kinematics need. Analyse the "
            "joint angles the video tool computed instead: its .mot (Pose2Sim: kinematics/*.mot), with "
            "--height and --mass",
        )


def muscle_count(model_path: str | Path) -> int:
    """Number of muscles in an OpenSim model file (read as XML, no OpenSim needed)."""
    from ..model.osim_xml import read_osim_root  # noqa: PLC0415

    root, _ = read_osim_root(model_path)
    forces = root.find("ForceSet")
    if forces is None:
        return 0
    return sum(1 for el in forces.iter() if el.tag.endswith("Muscle") and el.get("name") is not None)


def check_model_has_muscles(model_path: str | Path) -> None:
    """Refuse a model without muscles (Pose2Sim's scaled models are kinematic), naming the way in."""
    if muscle_count(model_path) == 0:
        video = describe_markerless(model_path)
        raise InputError(
            model_path,
            f"has no muscles (a kinematic model{', as ' + video + ' scales' if video else ''}): leave out "
            "--model and give --height and --mass; the joint angles are then analysed on the default "
            "muscle model scaled to the runner",
        )


def describe_markerless(model_path: str | Path, coordinates_path: str | Path | None = None) -> str | None:
    """``"OpenCap"`` or ``"Pose2Sim"`` when the model (or the angles) come from one of them."""
    from ..model.osim_xml import read_osim_root  # noqa: PLC0415

    root, _ = read_osim_root(model_path)
    name = root.get("name") or ""
    markers = [el.get("name") or "" for el in root.iter() if el.tag == "Marker"]
    if "pose2sim" in name.lower() or Path(model_path).name.lower().startswith("model_pose2sim"):
        return "Pose2Sim"
    if sum(m.endswith("_study") for m in markers) >= 10:
        return "OpenCap"
    if coordinates_path is not None and Path(coordinates_path).is_file():
        head = Path(coordinates_path).read_text(errors="replace")[:4000]
        if "L5_S1_Flex_Ext" in head:
            return "Pose2Sim"
    return None


#: Pose2Sim's lumbar joints, pelvis to thorax (each with ``_Flex_Ext``, ``_Lat_Bending`` and
#: ``_axial_rotation`` about the same z, x and y axes, in that order, as the gait models'
#: single lumbar joint).
_SPINE_JOINTS = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")
_LUMBAR = {
    "lumbar_extension": "Flex_Ext",
    "lumbar_bending": "Lat_Bending",
    "lumbar_rotation": "axial_rotation",
}


def spine_as_lumbar_joint(table):
    """Joint angles with a segmented spine (Pose2Sim's) as one lumbar joint, or ``None``.

    Each of ``lumbar_extension``, ``lumbar_bending`` and ``lumbar_rotation`` is the sum of the
    spine joints' angles about the same axis (the rotations compose in the same order at
    every joint; summing them is exact about one axis and a small-angle approximation for
    combined ones, a few tenths of a degree at the spine's 5-15 deg in running). Returns the
    :class:`~runmuscles.tables.TimeTable` with the three columns added, or ``None`` when the
    table already has them or has no segmented spine.
    """
    import numpy as np  # noqa: PLC0415

    from ..tables import TimeTable  # noqa: PLC0415

    labels = list(table.labels)
    if any(c in labels for c in _LUMBAR):
        return None
    cols = {c: [f"{j}_{suffix}" for j in _SPINE_JOINTS] for c, suffix in _LUMBAR.items()}
    if not all(n in labels for names in cols.values() for n in names):
        return None
    added = [table.data[:, [labels.index(n) for n in names]].sum(axis=1) for names in cols.values()]
    return TimeTable(
        table.time_s,
        np.column_stack([table.data, *added]),
        labels + list(cols),
        table.in_degrees,
        dict(table.meta),
    )


@dataclass
class MarkerlessSession:
    """One trial of an OpenCap or Pose2Sim output folder.

    Attributes
    ----------
    source
        ``"OpenCap"``, ``"Pose2Sim"`` or ``"OpenSim"`` (a model and joint angles of unknown origin).
    model
        The scaled model the angles were computed on.
    coordinates
        The trial's joint angles (``.mot``).
    model_has_muscles
        Whether the model can be analysed as it is (Pose2Sim's cannot: use the default model).
    """

    source: str
    model: Path
    coordinates: Path
    model_has_muscles: bool

    def lab_inputs(
        self, model: str | Path | None, height_m: float | None, mass_kg: float | None
    ) -> tuple[Path, Path | None, str]:
        """``(joint angles, model or None, note)`` for :func:`runmuscles.lab.prepare_lab_trial`.

        The session's own model when it has muscles (and no other ``model`` is given); else
        the default model scaled by ``height_m`` and ``mass_kg``, which must then be given.
        """
        if model is not None:
            return self.coordinates, Path(model), f"{self.source} joint angles {self.coordinates.name}"
        if self.model_has_muscles:
            note = (
                f"{self.source} session: joint angles {self.coordinates.name} on its model {self.model.name}"
            )
            return self.coordinates, self.model, note
        if height_m is None or mass_kg is None:
            raise InputError(
                self.model,
                f"the {self.source} model has no muscles: give --height and --mass to analyse the joint "
                f"angles {self.coordinates.name} on the default muscle model scaled to the runner",
            )
        note = (
            f"{self.source} session: its model {self.model.name} has no muscles; joint angles "
            f"{self.coordinates.name} on the default model scaled by height"
        )
        return self.coordinates, None, note


def _is_coordinates(path: Path) -> bool:
    head = path.read_text(errors="replace")[:20000]
    return "pelvis_tilt" in head or "pelvis_tx" in head


def find_session(folder: str | Path, trial: str | None = None) -> MarkerlessSession | None:
    """The model and joint angles of a markerless output folder, or ``None`` if it is not one.

    Recognised: OpenCap's session download (``OpenSimData/Model/*.osim`` and
    ``OpenSimData/Kinematics/*.mot``), Pose2Sim's trial or session folders (``kinematics/``,
    ``opensim/`` or ``*_OpenSim/`` with the scaled ``.osim`` and the ``.mot``), and any folder
    holding one ``.osim`` model beside joint angles ``.mot`` files (up to three levels down).
    ``trial`` picks the ``.mot`` by its name (the file name without ``.mot``, or its start).
    The hamner2013 layout (``ik/``) is not a markerless folder.

    Raises
    ------
    InputError
        When the folder is one but the trial is not named (and there are several) or not
        found, or the model cannot be told.
    """
    root = Path(folder)
    if not root.is_dir() or (root / "ik").is_dir():
        return None
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and len(p.relative_to(root).parts) <= 4]
    motions = [p for p in files if p.suffix.lower() == ".mot" and _is_coordinates(p)]
    models = [p for p in files if p.suffix.lower() == ".osim"]
    if not motions or not models:
        return None
    if len(models) > 1:
        scaled = [p for p in models if "scaled" in p.name.lower()]
        models = scaled if len(scaled) == 1 else models
    if len(models) > 1:
        raise InputError(
            root,
            f"holds {len(models)} models ({', '.join(p.name for p in models[:4])}): give the one the joint "
            "angles were computed on with --model",
        )
    names = [p.stem for p in motions]
    if trial is None:
        if len(motions) > 1:
            raise InputError(root, f"name the trial with --trial (one of {', '.join(names)})")
        pick = motions[0]
    else:
        hits = [p for p in motions if p.stem == trial] or [p for p in motions if p.stem.startswith(trial)]
        if len(hits) != 1:
            what = "no" if not hits else f"{len(hits)}"
            raise InputError(root, f"has {what} joint angles named '{trial}' (trials: {', '.join(names)})")
        pick = hits[0]
    model = models[0]
    return MarkerlessSession(
        describe_markerless(model, pick) or "OpenSim", model, pick, muscle_count(model) > 0
    )
