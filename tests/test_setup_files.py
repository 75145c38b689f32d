"""OpenSim setup files: write then read back, read the published setups, reject bad ones."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from runmuscles.errors import InputError
from runmuscles.model.actuators import read_coordinate_actuators
from runmuscles.readers.setup_files import (
    PELVIS_COORDINATES,
    read_analyze_setup,
    read_id_setup,
    read_ik_setup,
    read_scale_setup,
    write_adapted_setup,
    write_analyze_so_setup,
    write_reserve_actuators,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
HAMNER = DATA / "hamner2013" / "subject01"
RAJ = DATA / "rajagopal2016-running"

needs_data = pytest.mark.skipif(not DATA.exists(), reason="shared reference data not present")


def _inputs(tmp: Path) -> dict[str, Path]:
    """Small stand-in files (setup reading only checks that they exist)."""
    files = {}
    for name in ("model.osim", "ik.mot", "grf.xml", "reserves.xml"):
        (tmp / name).write_text("<x/>")
        files[name] = tmp / name
    return files


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    f = _inputs(tmp_path)
    setup = write_analyze_so_setup(
        tmp_path / "so_setup.xml",
        name="trial7",
        model_file=f["model.osim"],
        coordinates_file=f["ik.mot"],
        external_loads_file=f["grf.xml"],
        force_set_files=[f["reserves.xml"]],
        results_directory=tmp_path / "results",
        initial_time=0.862,
        final_time=1.546,
        lowpass_cutoff_hz=12.0,
        activation_exponent=3,
        use_muscle_physiology=False,
    )
    s = read_analyze_setup(setup)
    assert s.name == "trial7"
    assert s.model_file == f["model.osim"].resolve()
    assert s.coordinates_file == f["ik.mot"].resolve()
    assert s.external_loads_file == f["grf.xml"].resolve()
    assert s.force_set_files == [f["reserves.xml"].resolve()]
    assert s.states_file is None and s.speeds_file is None
    assert s.replace_force_set is False
    assert s.results_directory == (tmp_path / "results").resolve()
    assert (s.initial_time, s.final_time) == (0.862, 1.546)
    assert s.lowpass_cutoff_frequency_for_coordinates == 12.0
    so = s.static_optimization
    assert so is not None and so.on
    assert so.activation_exponent == 3.0 and so.use_muscle_physiology is False
    assert (so.start_time, so.end_time) == (0.862, 1.546)
    assert so.optimizer_convergence_criterion == 1e-4 and so.max_iterations == 100
    assert s.activation_file == s.results_directory / "trial7_StaticOptimization_activation.sto"


def test_relative_paths_resolve_against_the_setup_folder(tmp_path: Path) -> None:
    sub = tmp_path / "setups"
    sub.mkdir()
    f = _inputs(tmp_path)
    text = """<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000">
  <AnalyzeTool name="rel">
    <model_file>../model.osim</model_file>
    <force_set_files>../reserves.xml</force_set_files>
    <results_directory>./out</results_directory>
    <initial_time>0.1</initial_time><final_time>0.5</final_time>
    <AnalysisSet><objects><StaticOptimization name="SO"><on>false</on>
      <end_time>Inf</end_time></StaticOptimization></objects></AnalysisSet>
    <external_loads_file>Unassigned</external_loads_file>
    <coordinates_file>../ik.mot</coordinates_file>
  </AnalyzeTool>
</OpenSimDocument>"""
    (sub / "setup.xml").write_text(text)
    s = read_analyze_setup(sub / "setup.xml")
    assert s.model_file == f["model.osim"].resolve()
    assert s.coordinates_file == f["ik.mot"].resolve()
    assert s.force_set_files == [f["reserves.xml"].resolve()]
    assert s.external_loads_file is None
    assert s.results_directory == (sub / "out").resolve()
    assert s.static_optimization is not None
    assert s.static_optimization.on is False and s.static_optimization.end_time == math.inf
    assert s.force_file.name == "rel_SO_force.sto"
    # Defaults OpenSim uses when an element is absent.
    assert s.lowpass_cutoff_frequency_for_coordinates == -1.0
    assert s.static_optimization.activation_exponent == 2.0


def _setup_with(tmp_path: Path, **changes: str) -> Path:
    f = _inputs(tmp_path)
    p = write_analyze_so_setup(
        tmp_path / "s.xml",
        name="x",
        model_file=f["model.osim"],
        coordinates_file=f["ik.mot"],
        external_loads_file=None,
        force_set_files=[],
        results_directory=tmp_path,
        initial_time=0.0,
        final_time=1.0,
        lowpass_cutoff_hz=6.0,
    )
    return write_adapted_setup(p, tmp_path / "bad.xml", "AnalyzeTool", changes)


def test_missing_model_names_the_file_and_element(tmp_path: Path) -> None:
    bad = _setup_with(tmp_path, model_file=str(tmp_path / "nowhere.osim"))
    with pytest.raises(InputError) as err:
        read_analyze_setup(bad)
    msg = str(err.value)
    assert "bad.xml" in msg and "<model_file>" in msg and "nowhere.osim" in msg
    assert "\n" not in msg


def test_unassigned_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="model_file"):
        read_analyze_setup(_setup_with(tmp_path, model_file="Unassigned"))


def test_not_a_number_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="<initial_time> is 'soon'"):
        read_analyze_setup(_setup_with(tmp_path, initial_time="soon"))


def test_empty_time_window_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not after"):
        read_analyze_setup(_setup_with(tmp_path, final_time="-1"))


def test_wrong_root_element(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text("<ForceSet><objects/></ForceSet>")
    with pytest.raises(InputError, match=r"root element is <ForceSet>"):
        read_analyze_setup(tmp_path / "a.xml")
    (tmp_path / "b.xml").write_text("<OpenSimDocument><ScaleTool/></OpenSimDocument>")
    with pytest.raises(InputError, match=r"holds <ScaleTool>, expected <AnalyzeTool>"):
        read_analyze_setup(tmp_path / "b.xml")
    (tmp_path / "c.xml").write_text("<OpenSimDocument><AnalyzeTool>")
    with pytest.raises(InputError, match="not valid XML"):
        read_analyze_setup(tmp_path / "c.xml")
    with pytest.raises(InputError, match="not found"):
        read_analyze_setup(tmp_path / "missing.xml")


def test_reserve_actuators_round_trip(tmp_path: Path) -> None:
    coords = [*PELVIS_COORDINATES, "hip_flexion_r", "knee_angle_r", "knee_angle_r_beta", "mtp_angle_r"]
    written = write_reserve_actuators(
        tmp_path / "reserves.xml",
        coords,
        optimal_force_nm=2.5,
        residual_optimal_force=10.0,
        exclude={"knee_angle_r_beta", "mtp_angle_r"},
    )
    back = read_coordinate_actuators(tmp_path / "reserves.xml")  # the pipeline's own reader
    assert back.names == [a.name for a in written]
    assert back.coordinates == coords[:8]
    assert back.names[:6] == [f"{c}_residual" for c in PELVIS_COORDINATES]
    assert back.names[6:] == ["hip_flexion_r_reserve", "knee_angle_r_reserve"]
    assert list(back.optimal_force) == [10.0] * 6 + [2.5, 2.5]
    assert all(back.min_control == -math.inf) and all(back.max_control == math.inf)


@needs_data
def test_reads_the_published_rajagopal_setups() -> None:
    ik = read_ik_setup(RAJ / "setup" / "ik_setup_run.xml")
    assert ik.name == "run"
    assert ik.time_range == [0.23, 5.32]
    assert ik.model_file == (RAJ / "Scale" / "subject_scaled_run.osim").resolve()
    assert ik.report_errors is True and ik.accuracy == 1e-4
    assert ik.marker_weights and all(w >= 0 for w in ik.marker_weights.values())
    assert "RASI" in ik.marker_weights or "LPSI" in ik.marker_weights

    idt = read_id_setup(RAJ / "setup" / "id_setup_run.xml")
    assert idt.time_range == [0.832, 1.546]
    assert idt.forces_to_exclude == ["muscles", "actuators"]
    assert idt.external_loads_file == (RAJ / "setup" / "grf_run.xml").resolve()
    assert idt.output_gen_force_file == "inverse_dynamics.sto"

    sc = read_scale_setup(RAJ / "setup" / "scale_setup_run.xml")
    assert sc.mass_kg == 72.84 and sc.height_mm == 1800
    assert sc.scaling_order == ["measurements", "manualScale"]
    # The measurements OpenSim's ScaleTool reports when it runs this setup.
    for m in ("thigh", "shank", "foot", "humerus", "radius_ulna"):
        assert m in sc.measurements
    assert sc.preserve_mass_distribution is True
    assert sc.placer_time_range == [0.0, 3.96]
    assert sc.output_model_file is not None and sc.output_model_file.name == "subject_scaled_run.osim"


@needs_data
def test_reads_the_example_so_setup_it_builds(tmp_path: Path) -> None:
    from reference_cases import hamner_case  # noqa: PLC0415

    case = hamner_case(tmp_path)
    s = read_analyze_setup(case.so_setup)
    assert s.model_file == case.model.resolve()
    assert s.coordinates_file == case.coordinates.resolve()
    assert (s.initial_time, s.final_time) == (0.862, 1.546)  # gaitTimes.json, run4 cycle1
    assert s.lowpass_cutoff_frequency_for_coordinates == 12.0
    assert s.force_set_files == [case.reserves.resolve()]
    names = read_coordinate_actuators(case.reserves).names
    assert names == case.reserve_names
    # Locked coordinates (subtalar, mtp, wrist) get no reserve; all six pelvis ones a residual.
    assert not any(n.startswith(("subtalar", "mtp", "wrist")) for n in names)
    assert sum(n.endswith("_residual") for n in names) == 6
    # The ExternalLoads copy points at the original force file, absolutely.
    text = case.external_loads.read_text()
    assert str(HAMNER.resolve() / "Run_4_grf.mot") in text


def test_adapted_setup_requires_existing_nested_elements(tmp_path: Path) -> None:
    src = _setup_with(tmp_path)
    shutil.copy(src, tmp_path / "copy.xml")
    with pytest.raises(InputError, match="no <AnalysisSet/none>"):
        write_adapted_setup(
            tmp_path / "copy.xml", tmp_path / "x.xml", "AnalyzeTool", {"AnalysisSet/none": "1"}
        )


def test_opensim_reads_what_is_written_and_writes_what_is_read(tmp_path: Path) -> None:
    """Both directions through OpenSim's own (de)serialiser, not just our own reader."""
    osim = pytest.importorskip("opensim")
    f = _inputs(tmp_path)
    ours = write_analyze_so_setup(
        tmp_path / "ours.xml",
        name="ours",
        model_file=f["model.osim"],
        coordinates_file=f["ik.mot"],
        external_loads_file=f["grf.xml"],
        force_set_files=[f["reserves.xml"]],
        results_directory=tmp_path / "res",
        initial_time=0.25,
        final_time=0.75,
        lowpass_cutoff_hz=8.0,
        activation_exponent=3,
    )
    tool = osim.AnalyzeTool(str(ours), False)
    assert tool.getName() == "ours"
    assert (tool.getInitialTime(), tool.getFinalTime()) == (0.25, 0.75)
    assert tool.getLowpassCutoffFrequency() == 8.0
    assert Path(tool.getCoordinatesFileName()) == f["ik.mot"].resolve()
    so = osim.StaticOptimization.safeDownCast(tool.getAnalysisSet().get(0))
    assert so is not None and so.getActivationExponent() == 3.0 and so.getUseMusclePhysiology()
    fs = tool.getForceSetFiles()
    assert [fs.get(i) for i in range(fs.getSize())] == [str(f["reserves.xml"].resolve())]

    # OpenSim writes a setup; our reader gets the same values back.
    t2 = osim.AnalyzeTool()
    t2.setName("theirs")
    t2.setModelFilename(str(f["model.osim"]))
    t2.setCoordinatesFileName(str(f["ik.mot"]))
    t2.setInitialTime(0.1)
    t2.setFinalTime(0.4)
    t2.setLowpassCutoffFrequency(6.0)
    so2 = osim.StaticOptimization()
    so2.setActivationExponent(2.5)
    so2.setConvergenceCriterion(1e-5)
    so2.setMaxIterations(250)
    t2.getAnalysisSet().cloneAndAppend(so2)
    t2.printToXML(str(tmp_path / "theirs.xml"))
    s = read_analyze_setup(tmp_path / "theirs.xml")
    assert s.name == "theirs" and s.model_file == f["model.osim"].resolve()
    assert (s.initial_time, s.final_time, s.lowpass_cutoff_frequency_for_coordinates) == (0.1, 0.4, 6.0)
    assert s.static_optimization is not None
    assert s.static_optimization.activation_exponent == 2.5
    assert s.static_optimization.optimizer_convergence_criterion == 1e-5
    assert s.static_optimization.max_iterations == 250
    assert s.external_loads_file is None and s.force_set_files == []
