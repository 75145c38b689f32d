"""C3D reading on the Fukuchi 2017 treadmill trials, and on small files written here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.readers.c3d import read_c3d

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fukuchi2017"
G = 9.81

ezc3d = pytest.importorskip("ezc3d")


def _need_data() -> None:
    if not DATA.exists():
        pytest.skip("fukuchi2017 data not present")


def _runs() -> list[Path]:
    return sorted(DATA.glob("*/*run*.c3d")) if DATA.exists() else []


def _mass_kg(path: Path) -> float:
    import pandas as pd

    info = pd.read_csv(DATA / "participantInfo.csv").drop_duplicates("Subject").set_index("Subject")
    subject = int(re.match(r"RBDS0*(\d+)", path.name).group(1))
    return float(info.loc[subject, "Mass"])


@pytest.fixture(scope="module")
def trials():
    _need_data()
    return {p: read_c3d(p) for p in _runs()}


def test_twelve_running_trials_in_opensim_axes(trials):
    assert len(trials) == 12
    for path, t in trials.items():
        # The lab is already Y up, X forward (README); the reader must find that itself.
        np.testing.assert_allclose(t.rotation, np.eye(3), atol=1e-12, err_msg=path.name)
        # The belt speed seen under the stance foot is the speed in the file name (2.5/3.5/4.5 m/s).
        speed = int(path.stem[-2:]) / 10
        assert abs(t.belt_speed_m_s - speed) < 0.05 * speed, (path.name, t.belt_speed_m_s)
        # Markers in metres: pelvis 0.6-1.2 m above the (running, often lifted) heels.
        pos = t.markers.positions_m
        pelvis = [i for i, n in enumerate(t.markers.names) if "ASIS" in n]
        heel = [i for i, n in enumerate(t.markers.names) if "Heel.Bottom" in n]
        height = np.nanmedian(pos[:, pelvis, 1]) - np.nanmedian(pos[:, heel, 1])
        assert 0.6 < height < 1.2, (path.name, height)
        # Right foot is on +Z (OpenSim: Z to the right).
        r = t.markers.names.index("R.Heel.Bottom")
        lft = t.markers.names.index("L.Heel.Bottom")
        assert np.nanmedian(pos[:, r, 2] - pos[:, lft, 2]) > 0.03
        assert any("axes:" in n for n in t.notes)


def test_forces_are_body_weight_plausible(trials):
    for path, t in trials.items():
        assert len(t.plates) == 1
        pl = t.plates[0]
        bw = _mass_kg(path) * G
        fy = pl.force_n[:, 1]
        # Steady running on a treadmill: the mean vertical ground reaction is body weight.
        assert abs(fy.mean() / bw - 1) < 0.05, (path.name, fy.mean() / bw)
        # Running peaks of 2-3 body weights (3.2 for the rearfoot striker's impact at 4.5 m/s).
        assert 2.0 < fy.max() / bw < 3.3, (path.name, fy.max() / bw)
        assert pl.rate_hz == 300.0


def test_cop_stays_on_the_plate_while_loaded(trials):
    for path, t in trials.items():
        pl = t.plates[0]
        assert np.all(np.isnan(pl.cop_m[~pl.loaded]))
        assert np.all(pl.free_moment_nm[~pl.loaded] == 0)
        firm = pl.force_n[:, 1] > 300
        assert pl.contains(pl.cop_m[firm]).all(), path.name
        assert pl.contains(pl.cop_m[pl.force_n[:, 1] > 100]).mean() > 0.999, path.name
        assert pl.contains(pl.cop_m[pl.loaded], margin_m=0.05).mean() > 0.995, path.name
        # The COP lies on the plate's surface.
        np.testing.assert_allclose(pl.cop_m[pl.loaded, 1], pl.corners_m[:, 1].mean(), atol=1e-9)


def test_plate_agrees_with_ezc3d_platform_module(trials):
    """ezc3d's own force-platform code (an independent implementation) gives the same numbers."""
    for path in list(trials)[::4]:
        pl = trials[path].plates[0]
        ref = ezc3d.c3d(str(path), extract_forceplat_data=True)["data"]["platform"][0]
        firm = pl.force_n[:, 1] > 50
        np.testing.assert_allclose(pl.force_n, ref["force"].T, atol=1e-6)
        np.testing.assert_allclose(pl.cop_m[firm], ref["center_of_pressure"].T[firm] / 1000, atol=1e-9)
        np.testing.assert_allclose(pl.free_moment_nm[firm], ref["Tz"].T[firm] / 1000, atol=1e-6)


def test_moment_about_origin_is_consistent(trials):
    """M_origin = COP x F + free moment, at every loaded sample."""
    pl = next(iter(trials.values())).plates[0]
    ld = pl.loaded
    m = np.cross(pl.cop_m[ld], pl.force_n[ld]) + pl.free_moment_nm[ld]
    np.testing.assert_allclose(m, pl.moment_nm[ld], atol=1e-6)


def test_static_trials_have_markers_and_no_forces():
    _need_data()
    statics = sorted(DATA.glob("*/*static.c3d"))
    assert len(statics) == 4
    for p in statics:
        t = read_c3d(p)
        # One static file has no analog data, three have an unloaded plate (the subject stood off it).
        assert all(not pl.loaded.any() for pl in t.plates)
        assert np.all(np.abs(np.concatenate([pl.force_n[:, 1] for pl in t.plates] or [np.zeros(1)])) < 50)
        assert any("no analog data" in n or "never loaded" in n for n in t.notes)
        assert len(t.markers.names) == 48
        np.testing.assert_allclose(t.rotation, np.eye(3), atol=1e-12)


def _write_markers_only(path: Path, xyz: np.ndarray, names: list[str], rate: float, units: str) -> None:
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = names
    c["parameters"]["POINT"]["UNITS"]["value"] = [units]
    pts = np.ones((4, len(names), xyz.shape[0]))
    pts[:3] = np.transpose(xyz, (2, 1, 0))
    c["data"]["points"] = pts
    c.write(str(path))


def test_markers_only_file_rotated_lab(tmp_path, trials):
    """A markers-only file in a Z-up lab running along -X: plates empty, axes found, values back."""
    path = next(p for p in trials if p.name == "RBDS002runT35.c3d")
    src = trials[path].markers
    xyz = src.positions_m[:1500]
    # OpenSim (X fwd, Y up, Z right) -> lab with Z up and progression along lab -X.
    lab_from_osim = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # columns: osim axes
    lab = np.where(np.isnan(xyz), 0.0, xyz @ lab_from_osim.T) * 1000.0
    out = tmp_path / "markers_only.c3d"
    _write_markers_only(out, lab, src.names, src.rate_hz, "mm")
    t = read_c3d(out)
    assert t.plates == []
    assert any("no force plates" in n for n in t.notes)
    np.testing.assert_allclose(t.rotation, lab_from_osim.T, atol=1e-12)
    ok = np.isfinite(xyz)
    np.testing.assert_allclose(t.markers.positions_m[ok], xyz[ok], atol=1e-5)
    assert np.isnan(t.markers.positions_m[~ok]).all()  # zeros in the file are gaps


def test_metres_labelled_millimetres_is_refused(tmp_path, trials):
    src = next(iter(trials.values())).markers
    xyz = np.nan_to_num(src.positions_m[:300])  # metres, but the file will say mm
    out = tmp_path / "bad_units.c3d"
    _write_markers_only(out, xyz, src.names, src.rate_hz, "mm")
    with pytest.raises(InputError, match=r"bad_units\.c3d: markers span only .* mm .*unit is wrong"):
        read_c3d(out)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_c3d(tmp_path / "none.c3d")
    bad = tmp_path / "broken.c3d"
    bad.write_bytes(b"not a c3d file at all" * 10)
    with pytest.raises(InputError, match="broken.c3d"):
        read_c3d(bad)


def _synthetic_plate_file(path: Path, plate_type: int) -> dict:
    """A Z-up lab, an overground walker and one plate with a known load (the force on the plate).

    The body gets R = (30, -20, 700) N (lab) at P = (400, 150, 0) mm with a free moment of 5 N m
    about +Z. The plate (600 x 400 mm, centre (300, 200, 0) mm, plate z down, transducer 40 mm
    below the surface) measures the opposite wrench about its own origin, in its own axes.
    """
    rate, ratio, n = 100.0, 10, 200
    t = np.arange(n) / rate
    names = ["LASI", "RASI", "LHEE", "RHEE", "LTOE", "RTOE", "EMG_dummy_marker"]
    base = np.array(
        [[0, 120, 1000], [0, -120, 1000], [-50, 100, 50], [-50, -100, 50], [150, 100, 40], [150, -100, 40]],
        float,
    )
    base = np.vstack([base, [0, 0, 1500]])
    xyz = base[None] + np.column_stack([1000 * t, 0 * t, 0 * t])[:, None, :]  # 1 m/s along +X
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = names
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, len(names), n))
    pts[:3] = np.transpose(xyz, (2, 1, 0))
    c["data"]["points"] = pts

    centre = np.array([300.0, 200.0, 0.0])
    corners = centre + np.array([[300, -200, 0], [-300, -200, 0], [-300, 200, 0], [300, 200, 0]], float)
    axes = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # columns: plate x, y, z in the lab
    origin = np.array([0.0, 0.0, -40.0])  # transducer origin -> surface centre, plate axes (mm)
    o_lab = centre - axes @ origin
    reaction = np.array([30.0, -20.0, 700.0])
    p_lab = np.array([400.0, 150.0, 0.0])
    free = np.array([0.0, 0.0, 5.0])
    f_on_plate = -reaction
    m_on_plate = np.cross((p_lab - o_lab) / 1000, f_on_plate) - free  # N m about the transducer
    out = np.r_[axes.T @ f_on_plate, 1000 * (axes.T @ m_on_plate)]  # N and N mm, plate axes
    n_an = n * ratio
    load = np.zeros(n_an)
    load[500:1500] = np.sin(np.linspace(0, np.pi, 1000))  # one contact
    signals = np.outer(out, load)
    cal = np.eye(6)
    if plate_type == 4:
        rng = np.random.default_rng(1)
        cal = np.diag([500.0, 500, 1000, 8e5, 2.5e5, 4e5]) @ (np.eye(6) + 0.05 * rng.normal(size=(6, 6)))
        signals = np.linalg.solve(cal, signals)  # volts
    emg = 1e-3 * np.sin(np.linspace(0, 200, n_an))
    analog_labels = ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1", "R_SOL", "EMG7", "Trigger"]
    c["parameters"]["ANALOG"]["RATE"]["value"] = [rate * ratio]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = analog_labels
    c["parameters"]["ANALOG"]["UNITS"]["value"] = ["N", "N", "N", "Nmm", "Nmm", "Nmm", "V", "V", "V"]
    c["parameters"]["ANALOG"]["SCALE"]["value"] = [1.0] * 9
    c["parameters"]["ANALOG"]["OFFSET"]["value"] = [0] * 9
    c["data"]["analogs"] = np.vstack([signals, emg, emg, 0 * emg])[None]
    c.add_parameter("FORCE_PLATFORM", "USED", [1])
    c.add_parameter("FORCE_PLATFORM", "TYPE", [plate_type])
    c.add_parameter("FORCE_PLATFORM", "ZERO", [1, 1])
    c.add_parameter("FORCE_PLATFORM", "CORNERS", corners.T.reshape(3, 4, 1))
    c.add_parameter("FORCE_PLATFORM", "ORIGIN", origin.reshape(3, 1))
    c.add_parameter("FORCE_PLATFORM", "CHANNEL", [[k] for k in range(1, 7)])
    if plate_type == 4:
        c.add_parameter("FORCE_PLATFORM", "CAL_MATRIX", cal.reshape(6, 6, 1))
    c.add_event([0, 0.75], context="Right", label="Foot Strike")
    c.add_event([0, 0.25], context="Left", label="Foot Off")
    c.write(str(path))
    return {"load": load, "rate": rate * ratio}


@pytest.mark.parametrize("plate_type", [2, 4])
def test_synthetic_plate_known_load(tmp_path, plate_type):
    """Type 2 and 4 plates in a Z-up lab: force, COP and free moment come back in OpenSim axes."""
    path = tmp_path / f"type{plate_type}.c3d"
    made = _synthetic_plate_file(path, plate_type)
    t = read_c3d(path)
    # lab X forward (walking along +X), lab Z up -> OpenSim Z = X x Y = lab -Y.
    np.testing.assert_allclose(t.rotation, [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12)
    assert any("force on the plate" in n for n in t.notes)  # sign flipped to the reaction
    pl = t.plates[0]
    k = int(np.argmax(made["load"]))
    s = made["load"][k]
    np.testing.assert_allclose(pl.force_n[k], s * np.array([30.0, 700.0, 20.0]), rtol=1e-5)
    np.testing.assert_allclose(pl.cop_m[k], [0.4, 0.0, -0.15], atol=1e-6)
    np.testing.assert_allclose(pl.free_moment_nm[k], [0.0, 5.0 * s, 0.0], atol=1e-4)
    firm = pl.loaded
    np.testing.assert_allclose(pl.cop_m[firm], np.tile([0.4, 0.0, -0.15], (firm.sum(), 1)), atol=1e-5)
    assert np.isnan(pl.cop_m[~firm]).all()
    # EMG kept apart, events read, markers in metres along OpenSim axes.
    assert t.emg is not None and t.emg.labels == ["R_SOL", "EMG7"]
    assert t.analogs.meta["units"]["Mz1"] == "Nmm" and t.analogs.meta["rate_hz"] == made["rate"]
    assert [(e.label, e.context, e.time_s) for e in t.events] == [
        ("Foot Off", "Left", 0.25),
        ("Foot Strike", "Right", 0.75),
    ]
    lasi = t.markers.marker("LASI")
    np.testing.assert_allclose(lasi[0], [0.0, 1.0, -0.12], atol=1e-6)
