"""OpenSim's own tools behind one call each: ScaleTool, InverseKinematicsTool,
InverseDynamicsTool and AnalyzeTool with Static Optimization.

runmuscles uses these where OpenSim is the right tool (scaling a model to a runner, inverse
kinematics from markers) and as the reference its own engine is checked and timed against.
Each function writes the setup it ran next to its results (so a run can be repeated in the
OpenSim GUI), returns paths and plain numbers, and turns OpenSim's failures, including the
silent ones (``run()`` returning true without writing its output), into a one-line
:class:`~runmuscles.errors.ModelError` or :class:`~runmuscles.errors.InputError`.

OpenSim writes its messages to the process's stdout and to an ``opensim.log`` file. Here the
log file is switched off and, while a tool runs, stdout and stderr are captured at the file
descriptor level (OpenSim writes from C++); the captured text is returned as ``log``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelError
from ..readers.opensim_files import read_storage, read_trc
from ..readers.setup_files import read_analyze_setup, read_scale_setup, write_adapted_setup
from . import load_model, opensim

__all__ = [
    "IKResult",
    "ModelSummary",
    "SORunResult",
    "ScaleMeasurement",
    "ScaleResult",
    "marker_errors_at",
    "model_summary",
    "run_inverse_dynamics_tool",
    "run_inverse_kinematics",
    "run_static_optimization",
    "run_static_optimization_subprocess",
    "scale_model",
    "scale_model_by_factor",
]


# -- quiet OpenSim ------------------------------------------------------------------------
@dataclass
class _Log:
    text: str = ""

    def errors(self) -> list[str]:
        return [ln.strip() for ln in self.text.splitlines() if "[error]" in ln or "[critical]" in ln]


def _no_log_file(osim: Any) -> None:
    """Stop OpenSim writing ``opensim.log`` into the working folder."""
    with suppress(Exception):  # older bindings have no removeFileSink
        osim.Logger.removeFileSink()


@contextmanager
def _captured(level: str = "Info") -> Iterator[_Log]:
    """Capture everything OpenSim (C++) writes to fds 1 and 2 while the block runs."""
    osim = opensim()
    _no_log_file(osim)
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    old_level = osim.Logger.getLevelString()
    log = _Log()
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 1)
            os.dup2(tmp.fileno(), 2)
            osim.Logger.setLevelString(level)
            yield log
        finally:
            libc.fflush(None)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            osim.Logger.setLevelString(old_level)
            tmp.seek(0)
            log.text = tmp.read().decode("utf-8", errors="replace")


def _first_line(exc: BaseException) -> str:
    """OpenSim's exception text as one line, without its C++ scaffolding."""
    text = re.sub(r"std::exception in '[^']*':\s*", "", str(exc))
    text = re.sub(r"SimTK Exception thrown at \S+:\s*", "", text)
    text = re.sub(r"Error detected by Simbody method \S+:\s*", "", text)
    skip = ("Thrown at", "(Required condition")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(skip)]
    line = " ".join(lines) or type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def _run_tool(
    run: Callable[[], bool], setup: Path, label: str, call: str, level: str = "Warn"
) -> tuple[_Log, float]:
    """Run one OpenSim tool with its output captured; return the log and the wall time (s).

    An exception or a ``False`` return becomes a one-line :class:`ModelError` naming the
    setup file: ``OpenSim's <label> failed: <reason>``.
    """
    t0 = time.perf_counter()
    with _captured(level) as log:
        try:
            ok = run()
        except Exception as exc:
            failure: str | None = _first_line(exc)
        else:
            failure = None if ok else f"{call} returned false"
    if failure is not None:
        raise ModelError(setup, f"OpenSim's {label} failed: {_why(log, failure)}")
    return log, time.perf_counter() - t0


def _why(log: _Log, failure: str) -> str:
    """The failure, with the first error OpenSim logged when that says more."""
    errs = log.errors()
    first = errs[0].replace("[error]", "").strip() if errs else ""
    return f"{failure} ({first})" if first and first not in failure else failure


def _problem(log: _Log, default: str) -> str:
    errs = log.errors()
    return errs[0].replace("[error]", "").strip() if errs else default


# -- model facts --------------------------------------------------------------------------
@dataclass
class ModelSummary:
    """What a model contains, as plain names.

    Attributes
    ----------
    coordinates
        All coordinates in model order.
    rotational
        Coordinates whose values are angles (the others are lengths or coupled values).
    locked, dependent
        Locked coordinates, and coordinates set by a constraint from others.
    coordinate_actuators
        ``coordinate -> actuator name`` for the model's own ``CoordinateActuator`` objects.
    """

    path: Path
    name: str
    mass_kg: float
    coordinates: list[str]
    rotational: list[str]
    locked: list[str]
    dependent: list[str]
    muscles: list[str]
    coordinate_actuators: dict[str, str]
    markers: list[str]

    @property
    def free_coordinates(self) -> list[str]:
        """Coordinates that are neither locked nor dependent."""
        skip = set(self.locked) | set(self.dependent)
        return [c for c in self.coordinates if c not in skip]


def model_summary(model_path: str | Path) -> ModelSummary:
    """Load a model and list its coordinates, muscles, actuators and markers.

    Parameters
    ----------
    model_path
        The ``.osim`` file.

    Returns
    -------
    ModelSummary
    """
    osim = opensim()
    _no_log_file(osim)
    model, state = load_model(model_path)
    cs = model.getCoordinateSet()
    coords = [cs.get(i) for i in range(cs.getSize())]
    fs = model.getForceSet()
    actuators = {}
    for i in range(fs.getSize()):
        ca = osim.CoordinateActuator.safeDownCast(fs.get(i))
        if ca is not None:
            actuators[ca.get_coordinate()] = ca.getName()
    ms = model.getMuscles()
    mk = model.getMarkerSet()
    return ModelSummary(
        path=Path(model_path),
        name=model.getName(),
        mass_kg=float(model.getTotalMass(state)),
        coordinates=[c.getName() for c in coords],
        rotational=[c.getName() for c in coords if c.getMotionType() == 1],
        locked=[c.getName() for c in coords if c.getLocked(state)],
        dependent=[c.getName() for c in coords if c.isDependent(state)],
        muscles=[ms.get(i).getName() for i in range(ms.getSize())],
        coordinate_actuators=actuators,
        markers=[mk.get(i).getName() for i in range(mk.getSize())],
    )


def _set_pose(model: Any, state: Any, names: Sequence[str], values: np.ndarray) -> None:
    """Set coordinate values (radians/metres) by name, then satisfy the constraints."""
    cs = model.getCoordinateSet()
    for name, v in zip(names, values, strict=True):
        if cs.contains(name):
            c = cs.get(name)
            if not c.getLocked(state):
                c.setValue(state, float(v), False)
    model.assemble(state)
    model.realizePosition(state)


def _marker_positions(model: Any, state: Any, names: Sequence[str]) -> np.ndarray:
    mk = model.getMarkerSet()
    out = np.empty((len(names), 3))
    for k, n in enumerate(names):
        p = mk.get(n).getLocationInGround(state)
        out[k] = (p.get(0), p.get(1), p.get(2))
    return out


# -- Static Optimization ------------------------------------------------------------------
@dataclass
class SORunResult:
    """What one run of OpenSim's Static Optimization produced.

    Attributes
    ----------
    activation_path, force_path
        ``<results>/<name>_StaticOptimization_activation.sto`` and ``..._force.sto``.
    setup_s
        Seconds to build the tool: load the model, actuators, coordinates and loads.
    run_s
        Seconds in ``AnalyzeTool.run()`` (filtering, then one optimization per frame).
    total_s
        Whole wall time; for the subprocess variant this includes starting Python and
        importing OpenSim.
    n_frames
        Rows in the activation file.
    n_failed_frames
        Frames where OpenSim logged "OPTIMIZATION FAILED" (values are still written).
    cpu_s
        CPU seconds (user + system) over ``total_s``: steadier than wall time on a shared
        machine.
    """

    activation_path: Path
    force_path: Path
    setup_s: float
    run_s: float
    total_s: float
    n_frames: int
    n_failed_frames: int
    cpu_s: float = float("nan")
    log: str = field(default="", repr=False)


def _so_outputs(setup_xml: Path, started: float, log_text: str) -> tuple[Path, Path, int]:
    setup = read_analyze_setup(setup_xml)
    act, frc = setup.activation_file, setup.force_file
    for p in (act, frc):
        if not p.exists() or p.stat().st_mtime < started - 1.0:
            errs = _Log(log_text).errors()
            why = errs[0].replace("[error]", "").strip() if errs else "no error was reported"
            raise ModelError(setup_xml, f"Static Optimization wrote no {p.name} ({why})")
    n = read_storage(act).n_frames
    return act, frc, n


def run_static_optimization(setup_xml: str | Path) -> SORunResult:
    """Run OpenSim's AnalyzeTool with Static Optimization in this process.

    Parameters
    ----------
    setup_xml
        An ``AnalyzeTool`` setup with a ``StaticOptimization`` analysis (see
        :func:`runmuscles.readers.setup_files.write_analyze_so_setup`).

    Returns
    -------
    SORunResult
        Output paths, the wall time split into setup and run, and the captured log.

    Raises
    ------
    InputError
        The setup file is unreadable or names files that do not exist.
    ModelError
        OpenSim fails to load the model or inputs, or writes no results.
    """
    setup = read_analyze_setup(setup_xml)
    if setup.static_optimization is None:
        raise InputError(setup.path, "has no <StaticOptimization> analysis in its <AnalysisSet>")
    setup.results_directory.mkdir(parents=True, exist_ok=True)
    osim = opensim()
    started = time.time()
    t0 = time.perf_counter()
    c0 = time.process_time()
    with _captured("Warn") as log:
        try:
            tool = osim.AnalyzeTool(str(setup.path), True)
            t1 = time.perf_counter()
            ok = tool.run()
        except Exception as exc:
            failure: str | None = _first_line(exc)
        else:
            failure = None if ok else "AnalyzeTool.run() returned false"
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    if failure is not None:
        raise ModelError(setup.path, f"OpenSim's Static Optimization failed: {_why(log, failure)}")
    act, frc, n = _so_outputs(setup.path, started, log.text)
    failed = log.text.count("OPTIMIZATION FAILED")
    return SORunResult(act, frc, t1 - t0, t2 - t1, t2 - t0, n, failed, cpu, log.text)


_SO_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import opensim as osim
osim.Logger.removeFileSink()
osim.Logger.setLevelString("Warn")
t1 = time.perf_counter()
try:
    tool = osim.AnalyzeTool(sys.argv[1], True)
    t2 = time.perf_counter()
    ok = bool(tool.run())
    err = ""
except Exception as exc:
    t2, ok, err = time.perf_counter(), False, str(exc)
t3 = time.perf_counter()
sys.stdout.flush()
print("RUNMUSCLES_TIMING " + json.dumps(
    {"import_s": t1 - t0, "setup_s": t2 - t1, "run_s": t3 - t2, "ok": ok, "error": err}), flush=True)
"""


def run_static_optimization_subprocess(
    setup_xml: str | Path, *, python: str | Path | None = None, timeout_s: float = 1800.0
) -> SORunResult:
    """Run OpenSim's Static Optimization in a fresh Python process (``python -c``).

    For benchmarks: ``total_s`` is the whole process, start-up and ``import opensim``
    included, which is what a user running OpenSim pays.

    Parameters
    ----------
    setup_xml
        As for :func:`run_static_optimization`.
    python
        Interpreter with ``opensim`` installed (default: this one).
    timeout_s
        Kill the process after this many seconds (then ModelError).
    """
    setup = read_analyze_setup(setup_xml)
    setup.results_directory.mkdir(parents=True, exist_ok=True)
    started = time.time()
    t0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(
            [str(python or sys.executable), "-c", _SO_SCRIPT, str(setup.path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=str(setup.results_directory),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ModelError(setup.path, f"OpenSim's Static Optimization ran past {timeout_s:g} s") from None
    total = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    out = proc.stdout + proc.stderr
    m = re.search(r"^RUNMUSCLES_TIMING (\{.*\})$", proc.stdout, flags=re.M)
    if m is None:
        tail = [ln for ln in out.splitlines() if ln.strip()][-1:] or ["no output"]
        raise ModelError(setup.path, f"OpenSim process exited with code {proc.returncode}: {tail[0]}")
    timing = json.loads(m.group(1))
    if not timing["ok"]:
        why = timing["error"].strip().splitlines()
        why = [ln for ln in why if not ln.startswith("Thrown at")] or why or ["run() returned false"]
        raise ModelError(setup.path, f"OpenSim's Static Optimization failed: {why[0]}")
    act, frc, n = _so_outputs(setup.path, started, out)
    failed = out.count("OPTIMIZATION FAILED")
    return SORunResult(act, frc, timing["setup_s"], timing["run_s"], total, n, failed, cpu, out)


# -- Inverse Dynamics ---------------------------------------------------------------------
def run_inverse_dynamics_tool(
    model: str | Path,
    coordinates: str | Path,
    external_loads_xml: str | Path | None,
    t0: float,
    t1: float,
    cutoff_hz: float,
    out_dir: str | Path,
    *,
    name: str = "inverse_dynamics",
    forces_to_exclude: Sequence[str] = ("Muscles",),
) -> Path:
    """Run OpenSim's InverseDynamicsTool; return the generalized-force ``.sto`` it wrote.

    Parameters
    ----------
    model, coordinates, external_loads_xml
        Model, coordinates (``.mot``/``.sto``; degrees when the header says so or says
        nothing, as OpenSim reads them) and ExternalLoads file (None: no external loads).
    t0, t1
        Time window in seconds.
    cutoff_hz
        Low-pass cutoff for the coordinates (negative: none).
    out_dir
        Folder for ``<name>.sto`` and the setup ``<name>_setup.xml``.
    name
        Base name of the outputs.
    forces_to_exclude
        Forces left out of the model's dynamics (default: the muscles, as usual for ID).

    Returns
    -------
    Path
        ``<out_dir>/<name>.sto``: one column per coordinate, ``<coordinate>_moment`` or
        ``<coordinate>_force``, N m / N.
    """
    for p, what in ((model, "model"), (coordinates, "coordinates file")):
        if not Path(p).exists():
            raise InputError(p, f"{what} not found")
    if external_loads_xml is not None and not Path(external_loads_xml).exists():
        raise InputError(external_loads_xml, "external loads file not found")
    if not t1 > t0:
        raise InputError(coordinates, f"time window {t0:g}..{t1:g} s is empty")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tool = ET.Element("InverseDynamicsTool", name=name)
    for tag, text in (
        ("results_directory", str(out)),
        ("model_file", str(Path(model).resolve())),
        ("time_range", f"{t0!r} {t1!r}"),
        ("forces_to_exclude", " ".join(forces_to_exclude)),
        ("external_loads_file", str(Path(external_loads_xml).resolve()) if external_loads_xml else ""),
        ("coordinates_file", str(Path(coordinates).resolve())),
        ("lowpass_cutoff_frequency_for_coordinates", repr(float(cutoff_hz))),
        ("output_gen_force_file", f"{name}.sto"),
        ("joints_to_report_body_forces", ""),
        ("output_body_forces_file", "Unassigned"),
    ):
        ET.SubElement(tool, tag).text = text
    setup = _write_tool(out / f"{name}_setup.xml", tool)
    result = out / f"{name}.sto"
    started = time.time()
    osim = opensim()
    log, _ = _run_tool(
        lambda: osim.InverseDynamicsTool(str(setup)).run(),
        setup,
        "inverse dynamics",
        "InverseDynamicsTool.run()",
    )
    if not result.exists() or result.stat().st_mtime < started - 1.0:
        raise ModelError(
            setup, f"inverse dynamics wrote no {result.name} ({_problem(log, 'no error logged')})"
        )
    return result


def _write_tool(path: Path, tool: ET.Element) -> Path:
    doc = ET.Element("OpenSimDocument", Version="40600")
    doc.append(tool)
    ET.indent(doc, space="\t")
    ET.ElementTree(doc).write(path, encoding="UTF-8", xml_declaration=True)
    return path


# -- Inverse Kinematics -------------------------------------------------------------------
@dataclass
class IKResult:
    """Coordinates from OpenSim's inverse kinematics and its marker errors.

    Attributes
    ----------
    coordinates_path
        The ``.mot`` written (angles in degrees, ``inDegrees=yes``).
    marker_errors_path
        ``<name>_ik_marker_errors.sto`` (OpenSim's own per-frame errors).
    time_s, rms_m, max_m
        Per frame: time, RMS and maximum marker error over the weighted markers.
    missing_markers
        Markers the model has, with a nonzero weight, that the trial does not.
    marker_mean_error_m
        Per tracked marker, its mean distance from the model's marker over the frames
        (from OpenSim's ``<name>_ik_model_marker_locations.sto``).
    """

    coordinates_path: Path
    marker_errors_path: Path
    time_s: np.ndarray
    rms_m: np.ndarray
    max_m: np.ndarray
    missing_markers: list[str]
    wall_s: float
    log: str = field(default="", repr=False)
    marker_mean_error_m: dict[str, float] = field(default_factory=dict)


def run_inverse_kinematics(
    model: str | Path,
    trc: str | Path,
    out_mot: str | Path,
    *,
    setup_xml: str | Path | None = None,
    marker_weights: Mapping[str, float] | None = None,
    coordinate_weights: Mapping[str, float] | None = None,
    t0: float | None = None,
    t1: float | None = None,
    accuracy: float = 1e-5,
) -> IKResult:
    """Run OpenSim's InverseKinematicsTool on a marker trial.

    Parameters
    ----------
    model
        The (scaled) model with its markers.
    trc
        Marker trajectories.
    out_mot
        The coordinates file to write; the setup that ran (``<stem>_setup.xml``) and the
        marker errors (``<stem>_ik_marker_errors.sto``) go to the same folder.
    setup_xml
        An IK setup whose tasks (marker and coordinate weights) are used; its model,
        marker file, times and outputs are replaced by the arguments here.
    marker_weights
        Marker weights to use instead (a marker left out is not tracked). With neither a
        setup nor weights, every marker in both model and trial gets weight 1.
    coordinate_weights
        Coordinates held near their default value (an ``IKCoordinateTask`` with this weight
        each, added to the marker tasks): for coordinates no marker observes (a trunk or arms
        without markers), which IK would otherwise leave wherever the solver drifts.
    t0, t1
        Time window (default: the whole trial).
    accuracy
        Solver accuracy (OpenSim's default 1e-5).

    Returns
    -------
    IKResult
    """
    for p, what in ((model, "model"), (trc, "marker file")):
        if not Path(p).exists():
            raise InputError(p, f"{what} not found")
    out = Path(out_mot).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    name = out.stem
    markers = read_trc(trc)
    summary = model_summary(model)
    lo = float(markers.time_s[0]) if t0 is None else float(t0)
    hi = float(markers.time_s[-1]) if t1 is None else float(t1)
    if not hi > lo:
        raise InputError(trc, f"time window {lo:g}..{hi:g} s is empty")
    osim = opensim()
    _no_log_file(osim)
    if setup_xml is not None:
        try:
            tool = osim.InverseKinematicsTool(str(Path(setup_xml).resolve()))
        except Exception as exc:
            raise InputError(setup_xml, f"OpenSim cannot read this IK setup: {_first_line(exc)}") from None
    else:
        tool = osim.InverseKinematicsTool()
    tasks = tool.upd_IKTaskSet()
    if marker_weights is not None or setup_xml is None:
        weights = (
            dict(marker_weights)
            if marker_weights is not None
            else {m: 1.0 for m in summary.markers if m in markers.names}
        )
        tasks.clearAndDestroy()
        for m, w in weights.items():
            task = osim.IKMarkerTask()
            task.setName(m)
            task.setApply(w > 0)
            task.setWeight(float(w))
            tasks.cloneAndAppend(task)
    else:
        weights = {}
        for i in range(tasks.getSize()):
            task = tasks.get(i)
            if osim.IKMarkerTask.safeDownCast(task) is not None:
                weights[task.getName()] = task.getWeight() if task.getApply() else 0.0
    for c, w in (coordinate_weights or {}).items():
        if c not in summary.coordinates:
            raise InputError(model, f"has no coordinate '{c}' to hold at its default value")
        ctask = osim.IKCoordinateTask()
        ctask.setName(c)
        ctask.setApply(w > 0)
        ctask.setWeight(float(w))
        ctask.setValueType(osim.IKCoordinateTask.DefaultValue)
        tasks.cloneAndAppend(ctask)
    missing = [m for m in summary.markers if weights.get(m, 0.0) > 0 and m not in markers.names]
    tool.setName(name)
    tool.set_model_file(str(Path(model).resolve()))
    tool.setMarkerDataFileName(str(Path(trc).resolve()))
    tool.setStartTime(lo)
    tool.setEndTime(hi)
    tool.setResultsDir(str(out.parent))
    tool.setOutputMotionFileName(str(out))
    tool.set_report_errors(True)
    tool.set_report_marker_locations(True)
    tool.set_accuracy(float(accuracy))
    setup = out.parent / f"{name}_setup.xml"
    tool.printToXML(str(setup))
    errors_path = out.parent / f"{name}_ik_marker_errors.sto"
    started = time.time()
    log, wall = _run_tool(
        lambda: osim.InverseKinematicsTool(str(setup)).run(),
        setup,
        "inverse kinematics",
        "InverseKinematicsTool.run()",
    )
    for p in (out, errors_path):
        if not p.exists() or p.stat().st_mtime < started - 1.0:
            raise ModelError(
                setup, f"inverse kinematics wrote no {p.name} ({_problem(log, 'no error given')})"
            )
    err = read_storage(errors_path)
    return IKResult(
        out,
        errors_path,
        err.time_s,
        err.column("marker_error_RMS"),
        err.column("marker_error_max"),
        missing,
        wall,
        log.text,
        _per_marker_errors(out.parent / f"{name}_ik_model_marker_locations.sto", markers, weights),
    )


def _per_marker_errors(locations: Path, trial: Any, weights: Mapping[str, float]) -> dict[str, float]:
    """Mean distance per tracked marker between the model's and the trial's marker."""
    if not locations.exists():
        return {}
    loc = read_storage(locations)
    out = {}
    for m, w in weights.items():
        cols = [f"{m}_t{a}" for a in "xyz"]
        if w <= 0 or m not in trial.names or not all(c in loc for c in cols):
            continue
        model_xyz = loc.columns(cols)
        k = np.clip(np.searchsorted(trial.time_s, loc.time_s - 1e-7), 0, trial.time_s.size - 1)
        d = np.linalg.norm(model_xyz - trial.positions_m[k, trial.names.index(m), :], axis=1)
        if np.isfinite(d).any():
            out[m] = float(np.nanmean(d))
    return out


def _coordinate_columns(table: Any, rotational: set[str]) -> tuple[list[str], np.ndarray]:
    """Coordinate names and values (radians/metres) from an IK ``.mot`` or a states table.

    Columns named ``/jointset/<joint>/<coordinate>/value`` (states tables) are mapped to the
    coordinate; other state columns (speeds) are dropped. Angles are converted from degrees
    unless the header says ``inDegrees=no`` (OpenSim reads a file without the line as degrees).
    """
    names, cols = [], []
    for k, label in enumerate(table.labels):
        parts = label.split("/")
        if len(parts) > 1 and parts[-1] != "value":
            continue
        name = parts[-2] if len(parts) > 1 else label
        v = table.data[:, k]
        names.append(name)
        cols.append(np.deg2rad(v) if table.in_degrees is not False and name in rotational else v)
    return names, np.column_stack(cols) if cols else np.empty((table.n_frames, 0))


def marker_errors_at(
    model: str | Path,
    coordinates: str | Path,
    trc: str | Path,
    *,
    markers: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marker errors of a model posed by a coordinates file, frame by frame.

    An independent check of any inverse kinematics result (OpenSim's or another): the
    model is put in each frame's pose (constraints satisfied) and its markers compared
    with the trial's.

    Parameters
    ----------
    model
        The model whose markers are compared.
    coordinates
        Coordinates table (``.mot``/``.sto``) whose frames are also frames of the trial.
    trc
        The marker trial.
    markers
        Markers to compare (default: every marker the model and trial share).

    Returns
    -------
    tuple of numpy.ndarray
        ``(time_s, rms_m, max_m)`` over the frames of ``coordinates``; markers missing in a
        frame (NaN) are left out of that frame.
    """
    m, state = load_model(model)
    summary_rot = {
        m.getCoordinateSet().get(i).getName()
        for i in range(m.getCoordinateSet().getSize())
        if m.getCoordinateSet().get(i).getMotionType() == 1
    }
    table = read_storage(coordinates)
    names, q = _coordinate_columns(table, summary_rot)
    trial = read_trc(trc)
    mk = m.getMarkerSet()
    use = list(markers) if markers is not None else [n for n in trial.names if mk.contains(n)]
    absent = [n for n in use if not mk.contains(n) or n not in trial.names]
    if absent:
        raise InputError(trc, f"marker(s) not in both model and trial: {', '.join(absent[:6])}")
    idx = [trial.names.index(n) for n in use]
    rms = np.empty(table.n_frames)
    mx = np.empty(table.n_frames)
    for f, t in enumerate(table.time_s):
        k = int(np.argmin(np.abs(trial.time_s - t)))
        if abs(trial.time_s[k] - t) > 1e-6:
            raise InputError(coordinates, f"time {t:g} s is not a frame of {Path(trc).name}")
        _set_pose(m, state, names, q[f])
        d = np.linalg.norm(_marker_positions(m, state, use) - trial.positions_m[k, idx, :], axis=1)
        d = d[np.isfinite(d)]
        rms[f] = np.sqrt(np.mean(d**2))
        mx[f] = d.max()
    return table.time_s.copy(), rms, mx


# -- Scaling ------------------------------------------------------------------------------
@dataclass
class ScaleResult:
    """A model scaled to a subject by OpenSim's ScaleTool, and how well its markers fit.

    Attributes
    ----------
    model_path
        The scaled model with its markers moved to the static trial.
    static_pose_path
        The static pose (coordinates) the marker placer solved.
    marker_rms_m, marker_max_m, worst_marker
        How well the scaled model fits the static trial: distances between the scaled
        model's markers, in the pose the marker placer solved, and the trial's markers
        averaged over the time range, over the markers with a nonzero weight. Computed
        here before the markers are moved onto the trial (after that the moved markers fit
        exactly); OpenSim logs the same numbers (``logged_marker_error``).
    marker_errors_m
        That distance per marker.
    missing_markers
        Model markers (after any marker set is applied) that the static trial lacks.
    unused_trial_markers
        Trial markers the model does not have.
    """

    model_path: Path
    static_pose_path: Path
    scale_set_path: Path
    setup_path: Path
    marker_rms_m: float
    marker_max_m: float
    worst_marker: str
    marker_errors_m: dict[str, float]
    missing_markers: list[str]
    unused_trial_markers: list[str]
    wall_s: float
    logged_marker_error: tuple[float, float, str] | None = None
    log: str = field(default="", repr=False)


def _model_markers(model_path: Path, marker_set: Path | None) -> tuple[list[str], Any]:
    """Marker names of ``model_path`` with ``marker_set`` replacing its markers (as ScaleTool)."""
    osim = opensim()
    model, _ = load_model(model_path, init=False)
    if marker_set is not None:
        try:
            model.updateMarkerSet(osim.MarkerSet(str(marker_set)))
        except Exception as exc:
            raise InputError(marker_set, f"OpenSim cannot read this marker set: {_first_line(exc)}") from None
    mk = model.getMarkerSet()
    return [mk.get(i).getName() for i in range(mk.getSize())], model


def _uniform_scale_factor(model: Any, exp_mean: dict[str, np.ndarray], trc: Path) -> float:
    """Ratio of the trial's vertical marker extent to the model's in its default pose."""
    state = model.initSystem()
    model.realizePosition(state)
    common = [n for n in exp_mean if model.getMarkerSet().contains(n)]
    if len(common) < 3:
        raise InputError(trc, "fewer than 3 of its markers are on the model: cannot scale")
    mod = _marker_positions(model, state, common)
    exp = np.array([exp_mean[n] for n in common])
    h_mod = np.ptp(mod[:, 1])
    h_exp = np.ptp(exp[:, 1])
    return float(h_exp / h_mod)


def scale_model(
    out_path: str | Path,
    *,
    setup_xml: str | Path | None = None,
    generic_model: str | Path | None = None,
    static_trc: str | Path | None = None,
    mass_kg: float | None = None,
    height_m: float | None = None,
    marker_set_xml: str | Path | None = None,
    time_range_s: tuple[float, float] | None = None,
    measurements: Sequence[ScaleMeasurement] | None = None,
    uniform_factor: float | None = None,
    marker_weights: Mapping[str, float] | None = None,
) -> ScaleResult:
    """Scale a generic model to a subject with OpenSim's ScaleTool.

    Either give a ScaleTool ``setup_xml`` (its measurements, scale set and marker weights
    are used; any other argument given here overrides the setup), or a ``generic_model``,
    ``static_trc`` and ``mass_kg``. Without a setup the segments are scaled by
    ``measurements`` when given (OpenSim's measurement-based scaling: each factor is the
    mean ratio of the trial's to the model's marker-pair distances), else by
    ``uniform_factor`` for every body, else uniformly by the ratio of the trial's vertical
    marker extent to the model's (the trial must be a standing pose). The mass is set with
    the mass distribution kept, and the markers are placed with ``marker_weights`` (default:
    weight 1 for every marker the model and trial share; a marker with weight 0 does not
    pose the model but is still moved onto the trial).

    Parameters
    ----------
    out_path
        The scaled model to write. The static pose, scale set and the setup that ran are
        written beside it (``<stem>_static_pose.mot``, ``<stem>_scale_set.xml``,
        ``<stem>_setup.xml``).
    setup_xml
        A ScaleTool setup.
    generic_model, static_trc, mass_kg
        Model, standing static trial and the subject's mass.
    height_m
        Recorded in the setup (OpenSim's ScaleTool does not use it).
    marker_set_xml
        A marker set that replaces the generic model's markers.
    time_range_s
        Part of the static trial to average (default: all of it).
    measurements
        Segment scale measurements (see :class:`ScaleMeasurement`).
    uniform_factor
        One scale factor for every body (e.g. from the runner's height).
    marker_weights
        Marker placer weights (marker name -> weight).

    Returns
    -------
    ScaleResult
    """
    out = Path(out_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.stem
    pose = out.parent / f"{stem}_static_pose.mot"
    scale_set = out.parent / f"{stem}_scale_set.xml"
    scaled_only = out.parent / f"{stem}_before_marker_placement.osim"
    setup_out = out.parent / f"{stem}_setup.xml"
    if setup_xml is not None:
        s = read_scale_setup(setup_xml)
        model_file = Path(generic_model).resolve() if generic_model else s.model_file
        trc = Path(static_trc).resolve() if static_trc else (s.placer_marker_file or s.scaler_marker_file)
        marker_set = Path(marker_set_xml).resolve() if marker_set_xml else s.marker_set_file
        weights = s.marker_weights
        t_range = time_range_s or s.placer_time_range or s.scaler_time_range
    else:
        if generic_model is None or static_trc is None or mass_kg is None:
            raise InputError(
                None, "scale_model needs a setup file, or a generic model, static trial and mass"
            )
        model_file, trc = Path(generic_model).resolve(), Path(static_trc).resolve()
        marker_set = Path(marker_set_xml).resolve() if marker_set_xml else None
        weights = dict(marker_weights) if marker_weights is not None else None
        t_range = time_range_s
    if model_file is None or not model_file.exists():
        raise InputError(setup_xml or generic_model, f"generic model not found ({model_file})")
    if trc is None or not trc.exists():
        raise InputError(setup_xml or static_trc, f"static marker trial not found ({trc})")
    if marker_set is not None and not marker_set.exists():
        raise InputError(setup_xml or marker_set_xml, f"marker set not found ({marker_set})")
    static = read_trc(trc)
    if t_range is None or t_range[0] < 0 or t_range[1] < t_range[0]:
        t_range = (float(static.time_s[0]), float(static.time_s[-1]))
    keep = (static.time_s >= t_range[0] - 1e-9) & (static.time_s <= t_range[1] + 1e-9)
    if not keep.any():
        raise InputError(trc, f"no frames in the time range {t_range[0]:g}..{t_range[1]:g} s")
    with np.errstate(invalid="ignore"), _warnings_off():
        exp_mean = {n: np.nanmean(static.positions_m[keep, k, :], axis=0) for k, n in enumerate(static.names)}
    exp_mean = {n: v for n, v in exp_mean.items() if np.all(np.isfinite(v))}
    model_markers, generic = _model_markers(model_file, marker_set)
    if weights is None:
        weights = {m: 1.0 for m in model_markers if m in exp_mean}
    missing = [m for m in model_markers if m not in exp_mean]
    unused = [n for n in static.names if n not in model_markers]
    t_text = f"{t_range[0]!r} {t_range[1]!r}"

    def rel(p: Path) -> str:
        # ScaleTool prefixes every path with the setup file's folder, even absolute ones.
        return os.path.relpath(p, setup_out.parent)

    values: dict[str, str | None] = {
        "GenericModelMaker/model_file": rel(model_file),
        "GenericModelMaker/marker_set_file": rel(marker_set) if marker_set else None,
        "ModelScaler/marker_file": rel(trc),
        "ModelScaler/time_range": t_text,
        "ModelScaler/output_model_file": rel(scaled_only),
        "ModelScaler/output_scale_file": rel(scale_set),
        "MarkerPlacer/marker_file": rel(trc),
        "MarkerPlacer/time_range": t_text,
        "MarkerPlacer/output_model_file": rel(out),
        "MarkerPlacer/output_motion_file": rel(pose),
        "MarkerPlacer/output_marker_file": None,
    }
    if mass_kg is not None:
        values["mass"] = repr(float(mass_kg))
    if height_m is not None:
        values["height"] = repr(1000.0 * float(height_m))  # OpenSim records height in mm
    if setup_xml is not None:
        write_adapted_setup(setup_xml, setup_out, "ScaleTool", values)
    elif measurements:
        _write_scale_setup(setup_out, weights, values, measurements=measurements)
    else:
        factor = (
            uniform_factor if uniform_factor is not None else _uniform_scale_factor(generic, exp_mean, trc)
        )
        bodies = generic.getBodySet()
        scales = {bodies.get(i).getName(): factor for i in range(bodies.getSize())}
        _write_scale_setup(setup_out, weights, values, scales=scales)
    osim = opensim()
    started = time.time()
    log, wall = _run_tool(
        lambda: osim.ScaleTool(str(setup_out)).run(), setup_out, "ScaleTool", "ScaleTool.run()", "Info"
    )
    for p in (out, pose, scaled_only):
        if not p.exists() or p.stat().st_mtime < started - 1.0:
            raise ModelError(setup_out, f"ScaleTool wrote no {p.name} ({_problem(log, 'no error given')})")
    used = [m for m in model_markers if weights.get(m, 0.0) > 0 and m in exp_mean]
    errors = _static_marker_errors(scaled_only, pose, {m: exp_mean[m] for m in used})
    rms = float(np.sqrt(np.mean(np.square(list(errors.values())))))
    worst = max(errors, key=errors.__getitem__)
    return ScaleResult(
        out,
        pose,
        scale_set,
        setup_out,
        rms,
        errors[worst],
        worst,
        errors,
        missing,
        unused,
        wall,
        _logged_marker_error(log.text),
        log.text,
    )


def scale_model_by_factor(
    out_path: str | Path,
    generic_model: str | Path,
    factor: float,
    mass_kg: float,
    *,
    height_m: float | None = None,
) -> Path:
    """Scale every body of a model by one factor and set its mass, with OpenSim's ScaleTool.

    For a model scaled without markers (from the runner's height); the model's own markers
    are scaled with their bodies. The setup that ran is written beside the model
    (``<stem>_setup.xml``).

    Returns
    -------
    Path
        The scaled model.
    """
    out = Path(out_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    model_file = Path(generic_model).resolve()
    if not model_file.exists():
        raise InputError(generic_model, "generic model not found")
    if not factor > 0 or not mass_kg > 0:
        raise InputError(generic_model, f"cannot scale by {factor:g} to {mass_kg:g} kg")
    setup_out = out.parent / f"{out.stem}_setup.xml"
    _, generic = _model_markers(model_file, None)
    bodies = generic.getBodySet()
    values: dict[str, str | None] = {
        "GenericModelMaker/model_file": os.path.relpath(model_file, setup_out.parent),
        "GenericModelMaker/marker_set_file": None,
        "ModelScaler/marker_file": None,
        "ModelScaler/output_model_file": os.path.relpath(out, setup_out.parent),
        "ModelScaler/output_scale_file": os.path.relpath(
            out.parent / f"{out.stem}_scale_set.xml", setup_out.parent
        ),
        "mass": repr(float(mass_kg)),
    }
    if height_m is not None:
        values["height"] = repr(1000.0 * float(height_m))
    scales = {bodies.get(i).getName(): float(factor) for i in range(bodies.getSize())}
    _write_scale_setup(setup_out, {}, values, scales=scales, place_markers=False)
    osim = opensim()
    started = time.time()
    # ScaleTool.run() returns false when the marker placer is off, even after writing the
    # scaled model: success is judged by the file instead.
    log, _ = _run_tool(
        lambda: osim.ScaleTool(str(setup_out)).run() or True,
        setup_out,
        "ScaleTool",
        "ScaleTool.run()",
        "Info",
    )
    if not out.exists() or out.stat().st_mtime < started - 1.0:
        raise ModelError(setup_out, f"ScaleTool wrote no {out.name} ({_problem(log, 'no error given')})")
    return out


def _logged_marker_error(text: str) -> tuple[float, float, str] | None:
    """``(rms, max, marker)`` from the marker placer's 'marker error: RMS = ..' log line."""
    m = re.search(r"marker error: RMS = ([-+.\deE]+), max = ([-+.\deE]+) \((.*?)\)", text)
    return (float(m.group(1)), float(m.group(2)), m.group(3)) if m else None


@contextmanager
def _warnings_off() -> Iterator[None]:
    import warnings  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@dataclass
class ScaleMeasurement:
    """One measurement of OpenSim's measurement-based scaling.

    Attributes
    ----------
    name
        Its name in the setup.
    marker_pairs
        Marker pairs whose trial-to-model distance ratios are averaged into one factor.
    bodies
        Body -> axes (``"X Y Z"``, ``"X"``...) the factor scales.
    """

    name: str
    marker_pairs: list[tuple[str, str]]
    bodies: dict[str, str]


def _write_scale_setup(
    path: Path,
    weights: Mapping[str, float],
    values: Mapping[str, str | None],
    *,
    scales: Mapping[str, float] | None = None,
    measurements: Sequence[ScaleMeasurement] | None = None,
    place_markers: bool = True,
) -> None:
    """A ScaleTool setup: manual factors per body or measurements, then marker placement."""
    tool = ET.Element("ScaleTool", name=path.stem.removesuffix("_setup"))
    ET.SubElement(tool, "mass").text = values.get("mass") or "-1"
    ET.SubElement(tool, "height").text = values.get("height") or "-1"
    gm = ET.SubElement(tool, "GenericModelMaker")
    ET.SubElement(gm, "model_file")
    ET.SubElement(gm, "marker_set_file")
    ms = ET.SubElement(tool, "ModelScaler")
    ET.SubElement(ms, "apply").text = "true"
    ET.SubElement(ms, "scaling_order").text = "measurements" if measurements else "manualScale"
    if measurements:
        objs = ET.SubElement(ET.SubElement(ms, "MeasurementSet"), "objects")
        for m in measurements:
            me = ET.SubElement(objs, "Measurement", name=m.name)
            ET.SubElement(me, "apply").text = "true"
            pairs = ET.SubElement(ET.SubElement(me, "MarkerPairSet"), "objects")
            for a, b in m.marker_pairs:
                ET.SubElement(ET.SubElement(pairs, "MarkerPair"), "markers").text = f"{a} {b}"
            bodies = ET.SubElement(ET.SubElement(me, "BodyScaleSet"), "objects")
            for body, axes in m.bodies.items():
                ET.SubElement(ET.SubElement(bodies, "BodyScale", name=body), "axes").text = axes
    else:
        objs = ET.SubElement(ET.SubElement(ms, "ScaleSet"), "objects")
        for body, factor in (scales or {}).items():
            sc = ET.SubElement(objs, "Scale")
            ET.SubElement(sc, "scales").text = f"{factor!r} {factor!r} {factor!r}"
            ET.SubElement(sc, "segment").text = body
            ET.SubElement(sc, "apply").text = "true"
    for tag in ("marker_file", "time_range"):
        ET.SubElement(ms, tag)
    ET.SubElement(ms, "preserve_mass_distribution").text = "true"
    for tag in ("output_model_file", "output_scale_file"):
        ET.SubElement(ms, tag)
    mp = ET.SubElement(tool, "MarkerPlacer")
    ET.SubElement(mp, "apply").text = "true" if place_markers else "false"
    tasks = ET.SubElement(ET.SubElement(mp, "IKTaskSet"), "objects")
    for m, w in weights.items():
        t = ET.SubElement(tasks, "IKMarkerTask", name=m)
        ET.SubElement(t, "apply").text = "true" if w > 0 else "false"
        ET.SubElement(t, "weight").text = repr(float(w))
    for tag in ("marker_file", "time_range", "output_motion_file", "output_model_file", "output_marker_file"):
        ET.SubElement(mp, tag)
    ET.SubElement(mp, "max_marker_movement").text = "-1"
    _write_tool(path, tool)
    write_adapted_setup(path, path, "ScaleTool", values)


def _static_marker_errors(
    model_path: Path, pose_path: Path, exp: Mapping[str, np.ndarray]
) -> dict[str, float]:
    """Distance (m) of each model marker from its averaged trial position in the static pose."""
    model, state = load_model(model_path)
    pose = read_storage(pose_path)
    summary_rot = {
        model.getCoordinateSet().get(i).getName()
        for i in range(model.getCoordinateSet().getSize())
        if model.getCoordinateSet().get(i).getMotionType() == 1
    }
    # The placer writes a states table: '/jointset/<joint>/<coordinate>/value' columns.
    names, q = _coordinate_columns(pose, summary_rot)
    _set_pose(model, state, names, q[0])
    names = list(exp)
    pos = _marker_positions(model, state, names)
    return {n: float(np.linalg.norm(pos[k] - exp[n])) for k, n in enumerate(names)}
