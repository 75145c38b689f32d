"""OpenSim setup files (tool settings in XML), read and written without OpenSim.

Covers the four tools runmuscles drives or checks against:

* ``AnalyzeTool`` with a ``StaticOptimization`` analysis (:func:`read_analyze_setup`,
  :func:`write_analyze_so_setup`),
* ``InverseKinematicsTool`` (:func:`read_ik_setup`), ``InverseDynamicsTool``
  (:func:`read_id_setup`) and ``ScaleTool`` (:func:`read_scale_setup`),
* a ``ForceSet`` of reserve and residual ``CoordinateActuator`` objects
  (:func:`write_reserve_actuators`; read such files with
  :func:`runmuscles.model.actuators.read_coordinate_actuators`).

Relative paths inside a setup file are resolved against the setup file's folder, as OpenSim's
tools do when they run. ``Unassigned`` or an empty element means "not given". Every problem
(missing file, wrong root element, a value that is not a number) raises
:class:`~runmuscles.errors.InputError` naming the file and the element.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

__all__ = [
    "PELVIS_COORDINATES",
    "AnalyzeSetup",
    "CoordinateActuatorSpec",
    "IDSetup",
    "IKSetup",
    "ScaleSetup",
    "StaticOptimizationSettings",
    "read_analyze_setup",
    "read_id_setup",
    "read_ik_setup",
    "read_scale_setup",
    "write_adapted_setup",
    "write_analyze_so_setup",
    "write_reserve_actuators",
]

#: The six coordinates of the pelvis (the model's root joint) in the Gait2392, Hamner and
#: Rajagopal model families; residual actuators go on these.
PELVIS_COORDINATES: tuple[str, ...] = (
    "pelvis_tilt",
    "pelvis_list",
    "pelvis_rotation",
    "pelvis_tx",
    "pelvis_ty",
    "pelvis_tz",
)

_UNSET = ("", "unassigned")
_OPENSIM_DOC_VERSION = "40600"


# -- small helpers ------------------------------------------------------------------------
def _parse_tool(path: str | Path, tool: str) -> tuple[Path, ET.Element]:
    """Parse ``path`` and return ``(path, the <tool> element)``; check the root element."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "setup file not found")
    if p.is_dir():
        raise InputError(p, "is a folder, expected an OpenSim setup .xml file")
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise InputError(p, f"is not valid XML ({exc})") from None
    if root.tag == tool:
        return p, root
    if root.tag != "OpenSimDocument":
        raise InputError(p, f"root element is <{root.tag}>, expected <OpenSimDocument> holding <{tool}>")
    el = root.find(tool)
    if el is None:
        found = ", ".join(f"<{c.tag}>" for c in root) or "nothing"
        raise InputError(p, f"<OpenSimDocument> holds {found}, expected <{tool}>")
    return p, el


def _text(el: ET.Element, tag: str) -> str | None:
    """Text of the child ``tag`` (a path such as ``ModelScaler/marker_file``); None if unset."""
    child = el.find(tag)
    if child is None or child.text is None:
        return None
    t = child.text.strip()
    return None if t.lower() in _UNSET else t


def _path(el: ET.Element, tag: str, base: Path, src: Path, *, must_exist: bool = True) -> Path | None:
    t = _text(el, tag)
    if t is None:
        return None
    p = Path(t)
    p = p if p.is_absolute() else (base / p)
    p = p.resolve()
    if must_exist and not p.exists():
        raise InputError(src, f"<{tag}> names '{t}', which does not exist (looked for {p})")
    return p


def _float(el: ET.Element, tag: str, src: Path, default: float) -> float:
    t = _text(el, tag)
    if t is None:
        return default
    try:
        return float(t.replace("Inf", "inf").replace("INF", "inf"))
    except ValueError:
        raise InputError(src, f"<{tag}> is '{t}', expected a number") from None


def _floats(el: ET.Element, tag: str, src: Path, n: int) -> list[float] | None:
    t = _text(el, tag)
    if t is None:
        return None
    try:
        vals = [float(x) for x in t.split()]
    except ValueError:
        raise InputError(src, f"<{tag}> is '{t}', expected {n} numbers") from None
    if len(vals) != n:
        raise InputError(src, f"<{tag}> is '{t}', expected {n} numbers")
    return vals


def _int(el: ET.Element, tag: str, src: Path, default: int) -> int:
    v = _float(el, tag, src, float(default))
    if not math.isfinite(v) or v != int(v):
        raise InputError(src, f"<{tag}> is '{_text(el, tag)}', expected a whole number")
    return int(v)


def _bool(el: ET.Element, tag: str, src: Path, default: bool) -> bool:
    t = _text(el, tag)
    if t is None:
        return default
    low = t.lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise InputError(src, f"<{tag}> is '{t}', expected true or false")


def _list(el: ET.Element, tag: str) -> list[str]:
    t = _text(el, tag)
    return [] if t is None else t.split()


def _task_weights(el: ET.Element | None, task: str) -> dict[str, float]:
    """Weights of the applied tasks (``IKMarkerTask``/``IKCoordinateTask``) under ``el``."""
    if el is None:
        return {}
    out: dict[str, float] = {}
    for t in el.iter(task):
        apply = (t.findtext("apply") or "true").strip().lower() not in ("false", "0")
        try:
            w = float((t.findtext("weight") or "1").strip())
        except ValueError:
            w = 1.0
        out[t.get("name", "")] = w if apply else 0.0
    return out


# -- AnalyzeTool + StaticOptimization -----------------------------------------------------
@dataclass
class StaticOptimizationSettings:
    """The settings of a ``StaticOptimization`` analysis (OpenSim's defaults)."""

    name: str = "StaticOptimization"
    on: bool = True
    start_time: float = -math.inf
    end_time: float = math.inf
    step_interval: int = 1
    use_model_force_set: bool = True
    activation_exponent: float = 2.0
    use_muscle_physiology: bool = True
    optimizer_convergence_criterion: float = 1e-4
    max_iterations: int = 100


@dataclass
class AnalyzeSetup:
    """What an ``AnalyzeTool`` setup file asks for; paths are absolute.

    Attributes
    ----------
    name
        The tool's ``name`` attribute: results are written as ``<name>_<analysis>_*.sto``.
    static_optimization
        Settings of the first ``StaticOptimization`` analysis, or None when there is none.
    """

    path: Path
    name: str
    model_file: Path
    coordinates_file: Path | None
    states_file: Path | None
    speeds_file: Path | None
    external_loads_file: Path | None
    force_set_files: list[Path]
    replace_force_set: bool
    results_directory: Path
    initial_time: float
    final_time: float
    lowpass_cutoff_frequency_for_coordinates: float
    static_optimization: StaticOptimizationSettings | None = None

    @property
    def activation_file(self) -> Path:
        """Where OpenSim writes the Static Optimization activations."""
        so = self.static_optimization.name if self.static_optimization else "StaticOptimization"
        return self.results_directory / f"{self.name}_{so}_activation.sto"

    @property
    def force_file(self) -> Path:
        """Where OpenSim writes the Static Optimization actuator forces."""
        so = self.static_optimization.name if self.static_optimization else "StaticOptimization"
        return self.results_directory / f"{self.name}_{so}_force.sto"


def read_analyze_setup(path: str | Path) -> AnalyzeSetup:
    """Read an OpenSim ``AnalyzeTool`` setup file (typically one running Static Optimization).

    Parameters
    ----------
    path
        The setup ``.xml``.

    Returns
    -------
    AnalyzeSetup
        Paths resolved against the setup file's folder and checked to exist.

    Raises
    ------
    InputError
        Wrong root element, no ``<model_file>``, neither coordinates nor states, a named file
        that does not exist, a time window that is empty, or a value that is not a number.
    """
    src, el = _parse_tool(path, "AnalyzeTool")
    base = src.parent
    model = _path(el, "model_file", base, src)
    if model is None:
        raise InputError(src, "<model_file> is missing or Unassigned: the tool needs a model")
    coords = _path(el, "coordinates_file", base, src)
    states = _path(el, "states_file", base, src)
    if coords is None and states is None:
        raise InputError(src, "neither <coordinates_file> nor <states_file> is given: nothing to analyse")
    t0 = _float(el, "initial_time", src, 0.0)
    t1 = _float(el, "final_time", src, 1.0)
    if not t1 > t0:
        raise InputError(src, f"<final_time> {t1:g} is not after <initial_time> {t0:g}")
    force_sets = []
    for name in _list(el, "force_set_files"):
        p = Path(name) if Path(name).is_absolute() else base / name
        if not p.exists():
            raise InputError(src, f"<force_set_files> names '{name}', which does not exist")
        force_sets.append(p.resolve())
    results = _text(el, "results_directory") or "."
    results_dir = (Path(results) if Path(results).is_absolute() else base / results).resolve()
    so_el = el.find("AnalysisSet/objects/StaticOptimization")
    so = None
    if so_el is not None:
        so = StaticOptimizationSettings(
            name=so_el.get("name", "StaticOptimization"),
            on=_bool(so_el, "on", src, True),
            start_time=_float(so_el, "start_time", src, -math.inf),
            end_time=_float(so_el, "end_time", src, math.inf),
            step_interval=_int(so_el, "step_interval", src, 1),
            use_model_force_set=_bool(so_el, "use_model_force_set", src, True),
            activation_exponent=_float(so_el, "activation_exponent", src, 2.0),
            use_muscle_physiology=_bool(so_el, "use_muscle_physiology", src, True),
            optimizer_convergence_criterion=_float(so_el, "optimizer_convergence_criterion", src, 1e-4),
            max_iterations=_int(so_el, "optimizer_max_iterations", src, 100),
        )
    return AnalyzeSetup(
        path=src.resolve(),
        name=el.get("name") or src.stem,
        model_file=model,
        coordinates_file=coords,
        states_file=states,
        speeds_file=_path(el, "speeds_file", base, src),
        external_loads_file=_path(el, "external_loads_file", base, src),
        force_set_files=force_sets,
        replace_force_set=_bool(el, "replace_force_set", src, False),
        results_directory=results_dir,
        initial_time=t0,
        final_time=t1,
        lowpass_cutoff_frequency_for_coordinates=_float(
            el, "lowpass_cutoff_frequency_for_coordinates", src, -1.0
        ),
        static_optimization=so,
    )


def _sub(parent: ET.Element, tag: str, text: str | float | int | bool) -> ET.Element:
    e = ET.SubElement(parent, tag)
    if isinstance(text, bool):
        e.text = "true" if text else "false"
    elif isinstance(text, float):
        e.text = repr(text) if math.isfinite(text) else ("Inf" if text > 0 else "-Inf")
    else:
        e.text = str(text)
    return e


def _write_doc(path: Path, tool: ET.Element) -> Path:
    doc = ET.Element("OpenSimDocument", Version=_OPENSIM_DOC_VERSION)
    doc.append(tool)
    ET.indent(doc, space="\t")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(doc).write(path, encoding="UTF-8", xml_declaration=True)
    return path


def write_analyze_so_setup(
    path: str | Path,
    *,
    name: str,
    model_file: str | Path,
    coordinates_file: str | Path,
    external_loads_file: str | Path | None,
    force_set_files: Sequence[str | Path],
    results_directory: str | Path,
    initial_time: float,
    final_time: float,
    lowpass_cutoff_hz: float,
    activation_exponent: float = 2,
    use_muscle_physiology: bool = True,
    optimizer_convergence_criterion: float = 1e-4,
    max_iterations: int = 100,
) -> Path:
    """Write an ``AnalyzeTool`` setup running OpenSim's Static Optimization (4.x format).

    Parameters
    ----------
    path
        Setup file to write.
    name
        Tool name; OpenSim writes ``<results_directory>/<name>_StaticOptimization_*.sto``.
    model_file, coordinates_file, external_loads_file, force_set_files, results_directory
        Written as absolute paths, so the setup runs from any working folder. The force
        sets (reserve actuators) are appended to the model's own forces.
    initial_time, final_time
        Time window in seconds.
    lowpass_cutoff_hz
        Low-pass cutoff applied to the coordinates before differentiation (negative: none).
    activation_exponent, use_muscle_physiology, optimizer_convergence_criterion, max_iterations
        Static Optimization settings (OpenSim's defaults).

    Returns
    -------
    Path
        ``path``.
    """
    if not final_time > initial_time:
        raise InputError(path, f"final time {final_time:g} s is not after initial time {initial_time:g} s")

    def absolute(p: str | Path) -> str:
        return str(Path(p).resolve())

    tool = ET.Element("AnalyzeTool", name=name)
    _sub(tool, "model_file", absolute(model_file))
    _sub(tool, "replace_force_set", False)
    _sub(tool, "force_set_files", " ".join(absolute(f) for f in force_set_files))
    _sub(tool, "results_directory", absolute(results_directory))
    _sub(tool, "output_precision", 8)
    _sub(tool, "initial_time", float(initial_time))
    _sub(tool, "final_time", float(final_time))
    _sub(tool, "solve_for_equilibrium_for_auxiliary_states", False)
    analyses = ET.SubElement(tool, "AnalysisSet", name="Analyses")
    objects = ET.SubElement(analyses, "objects")
    so = ET.SubElement(objects, "StaticOptimization", name="StaticOptimization")
    _sub(so, "on", True)
    _sub(so, "start_time", float(initial_time))
    _sub(so, "end_time", float(final_time))
    _sub(so, "step_interval", 1)
    _sub(so, "in_degrees", True)
    _sub(so, "use_model_force_set", True)
    _sub(so, "activation_exponent", float(activation_exponent))
    _sub(so, "use_muscle_physiology", bool(use_muscle_physiology))
    _sub(so, "optimizer_convergence_criterion", float(optimizer_convergence_criterion))
    _sub(so, "optimizer_max_iterations", int(max_iterations))
    ET.SubElement(analyses, "groups")
    controllers = ET.SubElement(tool, "ControllerSet", name="Controllers")
    ET.SubElement(controllers, "objects")
    ET.SubElement(controllers, "groups")
    _sub(tool, "external_loads_file", absolute(external_loads_file) if external_loads_file else "")
    _sub(tool, "states_file", "")
    _sub(tool, "coordinates_file", absolute(coordinates_file))
    _sub(tool, "speeds_file", "")
    _sub(tool, "lowpass_cutoff_frequency_for_coordinates", float(lowpass_cutoff_hz))
    return _write_doc(Path(path), tool)


# -- reserve and residual actuators -------------------------------------------------------
@dataclass
class CoordinateActuatorSpec:
    """One ``CoordinateActuator`` of a ForceSet file."""

    name: str
    coordinate: str
    optimal_force: float
    min_control: float = -math.inf
    max_control: float = math.inf


def write_reserve_actuators(
    path: str | Path,
    model_coordinate_names: Iterable[str],
    *,
    optimal_force_nm: float = 1.0,
    residual_optimal_force: float = 1.0,
    residual_coordinates: Sequence[str] = PELVIS_COORDINATES,
    exclude: Iterable[str] = (),
) -> list[CoordinateActuatorSpec]:
    """Write a ForceSet of reserve and residual ``CoordinateActuator`` objects (4.x format).

    Parameters
    ----------
    path
        ForceSet ``.xml`` to write.
    model_coordinate_names
        The model's coordinates, in model order.
    optimal_force_nm
        Optimal force of each reserve (N m for rotational coordinates). With Static
        Optimization's cost ``sum(a^2)``, a reserve of optimal force F0 delivering torque T
        costs ``(T / F0)^2``: a small F0 makes reserves expensive, so muscles are used first.
    residual_optimal_force
        Optimal force of the pelvis residuals (N for ``pelvis_tx/ty/tz``, N m otherwise).
    residual_coordinates
        Coordinates that get a residual (named ``<coordinate>_residual``) instead of a
        reserve (named ``<coordinate>_reserve``).
    exclude
        Coordinates that get nothing: locked coordinates, coordinates that depend on others
        through a constraint (e.g. Rajagopal's ``knee_angle_r_beta``), and coordinates the
        model already actuates.

    Returns
    -------
    list of CoordinateActuatorSpec
        What was written, in file order (the order OpenSim appends them to the model).
    """
    skip = set(exclude)
    if optimal_force_nm <= 0 or residual_optimal_force <= 0:
        raise InputError(path, "optimal forces of reserves and residuals must be positive")
    specs = []
    for c in model_coordinate_names:
        if c in skip:
            continue
        if c in residual_coordinates:
            specs.append(CoordinateActuatorSpec(f"{c}_residual", c, float(residual_optimal_force)))
        else:
            specs.append(CoordinateActuatorSpec(f"{c}_reserve", c, float(optimal_force_nm)))
    fs = ET.Element("ForceSet", name="reserve_actuators")
    objects = ET.SubElement(fs, "objects")
    for s in specs:
        a = ET.SubElement(objects, "CoordinateActuator", name=s.name)
        _sub(a, "appliesForce", True)
        _sub(a, "min_control", s.min_control)
        _sub(a, "max_control", s.max_control)
        _sub(a, "coordinate", s.coordinate)
        _sub(a, "optimal_force", s.optimal_force)
    ET.SubElement(fs, "groups")
    _write_doc(Path(path), fs)
    return specs


# -- InverseKinematicsTool, InverseDynamicsTool, ScaleTool --------------------------------
@dataclass
class IKSetup:
    """What an ``InverseKinematicsTool`` setup asks for (paths absolute, not checked)."""

    path: Path
    name: str
    model_file: Path | None
    marker_file: Path | None
    coordinate_file: Path | None
    time_range: list[float] | None
    results_directory: Path
    output_motion_file: Path | None
    report_errors: bool
    accuracy: float
    marker_weights: dict[str, float] = field(default_factory=dict)
    coordinate_weights: dict[str, float] = field(default_factory=dict)


def read_ik_setup(path: str | Path) -> IKSetup:
    """Read an ``InverseKinematicsTool`` setup; marker weights are 0 for tasks not applied."""
    src, el = _parse_tool(path, "InverseKinematicsTool")
    base = src.parent
    results = _text(el, "results_directory") or "."
    return IKSetup(
        path=src.resolve(),
        name=el.get("name") or src.stem,
        model_file=_path(el, "model_file", base, src, must_exist=False),
        marker_file=_path(el, "marker_file", base, src, must_exist=False),
        coordinate_file=_path(el, "coordinate_file", base, src, must_exist=False),
        time_range=_floats(el, "time_range", src, 2),
        results_directory=(base / results).resolve(),
        output_motion_file=_path(el, "output_motion_file", base, src, must_exist=False),
        report_errors=_bool(el, "report_errors", src, True),
        accuracy=_float(el, "accuracy", src, 1e-5),
        marker_weights=_task_weights(el.find("IKTaskSet"), "IKMarkerTask"),
        coordinate_weights=_task_weights(el.find("IKTaskSet"), "IKCoordinateTask"),
    )


@dataclass
class IDSetup:
    """What an ``InverseDynamicsTool`` setup asks for (paths absolute, not checked)."""

    path: Path
    name: str
    model_file: Path | None
    coordinates_file: Path | None
    external_loads_file: Path | None
    time_range: list[float] | None
    lowpass_cutoff_frequency_for_coordinates: float
    forces_to_exclude: list[str]
    results_directory: Path
    output_gen_force_file: str


def read_id_setup(path: str | Path) -> IDSetup:
    """Read an ``InverseDynamicsTool`` setup."""
    src, el = _parse_tool(path, "InverseDynamicsTool")
    base = src.parent
    results = _text(el, "results_directory") or "."
    return IDSetup(
        path=src.resolve(),
        name=el.get("name") or src.stem,
        model_file=_path(el, "model_file", base, src, must_exist=False),
        coordinates_file=_path(el, "coordinates_file", base, src, must_exist=False),
        external_loads_file=_path(el, "external_loads_file", base, src, must_exist=False),
        time_range=_floats(el, "time_range", src, 2),
        lowpass_cutoff_frequency_for_coordinates=_float(
            el, "lowpass_cutoff_frequency_for_coordinates", src, -1.0
        ),
        forces_to_exclude=_list(el, "forces_to_exclude"),
        results_directory=(base / results).resolve(),
        output_gen_force_file=_text(el, "output_gen_force_file") or "inverse_dynamics.sto",
    )


@dataclass
class ScaleSetup:
    """What a ``ScaleTool`` setup asks for (paths absolute, not checked).

    ``height_mm`` is informational in OpenSim (the tool does not use it).
    """

    path: Path
    name: str
    mass_kg: float
    height_mm: float
    model_file: Path | None
    marker_set_file: Path | None
    scaling_order: list[str]
    measurements: list[str]
    scaler_marker_file: Path | None
    scaler_time_range: list[float] | None
    preserve_mass_distribution: bool
    placer_apply: bool
    placer_marker_file: Path | None
    placer_time_range: list[float] | None
    output_model_file: Path | None
    output_motion_file: Path | None
    output_scale_file: Path | None
    marker_weights: dict[str, float] = field(default_factory=dict)


def read_scale_setup(path: str | Path) -> ScaleSetup:
    """Read a ``ScaleTool`` setup (marker weights are those of the marker placer's tasks)."""
    src, el = _parse_tool(path, "ScaleTool")
    base = src.parent

    def p(tag: str) -> Path | None:
        return _path(el, tag, base, src, must_exist=False)

    meas = el.find("ModelScaler/MeasurementSet")
    return ScaleSetup(
        path=src.resolve(),
        name=el.get("name") or src.stem,
        mass_kg=_float(el, "mass", src, -1.0),
        height_mm=_float(el, "height", src, -1.0),
        model_file=p("GenericModelMaker/model_file"),
        marker_set_file=p("GenericModelMaker/marker_set_file"),
        scaling_order=_list(el, "ModelScaler/scaling_order"),
        measurements=[m.get("name", "") for m in meas.iter("Measurement")] if meas is not None else [],
        scaler_marker_file=p("ModelScaler/marker_file"),
        scaler_time_range=_floats(el, "ModelScaler/time_range", src, 2),
        preserve_mass_distribution=_bool(el, "ModelScaler/preserve_mass_distribution", src, False),
        placer_apply=_bool(el, "MarkerPlacer/apply", src, True),
        placer_marker_file=p("MarkerPlacer/marker_file"),
        placer_time_range=_floats(el, "MarkerPlacer/time_range", src, 2),
        output_model_file=p("MarkerPlacer/output_model_file") or p("ModelScaler/output_model_file"),
        output_motion_file=p("MarkerPlacer/output_motion_file"),
        output_scale_file=p("ModelScaler/output_scale_file"),
        marker_weights=_task_weights(el.find("MarkerPlacer/IKTaskSet"), "IKMarkerTask"),
    )


def write_adapted_setup(
    source: str | Path, dest: str | Path, tool: str, values: Mapping[str, str | None]
) -> Path:
    """Copy an OpenSim setup file, replacing the text of some elements.

    Used to run a published setup on files that live elsewhere (its relative paths point
    at folders that do not exist here): e.g. ``{"GenericModelMaker/model_file": "/abs/model.osim"}``.

    Parameters
    ----------
    source, dest
        The setup to copy and where to write the copy.
    tool
        The tool element (``ScaleTool``, ``InverseKinematicsTool``...).
    values
        Element paths relative to the tool element, and their new text (``None``:
        ``Unassigned``). Every element named must exist in the source, except direct
        children of the tool element, which are added.
    """
    src, el = _parse_tool(source, tool)
    tree_root = ET.parse(src).getroot()
    el = tree_root if tree_root.tag == tool else tree_root.find(tool)
    assert el is not None  # checked by _parse_tool
    for key, text in values.items():
        matches = el.findall(key)
        if not matches:
            if "/" in key:
                raise InputError(src, f"has no <{key}> element to replace")
            matches = [ET.SubElement(el, key)]
        for m in matches:
            m.text = "Unassigned" if text is None else str(text)
    d = Path(dest)
    d.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(tree_root).write(d, encoding="UTF-8", xml_declaration=True)
    return d
