"""Coordinate processing equals OpenSim's (pad, IIR low-pass, quintic-spline derivatives)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.kinematics.coordinates import prepare_coordinates
from runmuscles.kinematics.filters import butterworth3_filtfilt, pad_odd, quintic_spline_derivative
from runmuscles.readers import read_storage
from runmuscles.tables import TimeTable


def test_spline_derivative_is_exact_for_smooth_signals() -> None:
    t = np.arange(0.0, 2.0, 0.01)
    y = np.sin(3 * t) + t**2
    d = quintic_spline_derivative(y, 0.01)
    dd = quintic_spline_derivative(d, 0.01)
    inner = slice(70, -70)
    np.testing.assert_allclose(d[inner], 3 * np.cos(3 * t[inner]) + 2 * t[inner], atol=1e-9)
    np.testing.assert_allclose(dd[inner], -9 * np.sin(3 * t[inner]) + 2, atol=1e-7)


def test_filter_and_derivatives_match_opensim_storage(hamner: Path) -> None:
    osim = pytest.importorskip("opensim")
    path = hamner / "subject01" / "ik" / "Run_4.mot"
    table = read_storage(path)
    col = "knee_angle_r"
    # OpenSim: Storage.pad(n/2), lowpassIIR(12 Hz), GCVSplineSet(5) derivative
    sto = osim.Storage(str(path))
    n = sto.getSize()
    sto.pad(n // 2)
    sto.lowpassIIR(12.0)
    ref_filt = osim.ArrayDouble()
    sto.getDataColumn(sto.getStateIndex(col), ref_filt)
    ref_filt = np.array([ref_filt.get(i) for i in range(ref_filt.getSize())])
    splines = osim.GCVSplineSet(5, sto)
    deriv = splines.constructStorage(1)
    ref_d = osim.ArrayDouble()
    deriv.getDataColumn(deriv.getStateIndex(col), ref_d)
    ref_d = np.array([ref_d.get(i) for i in range(ref_d.getSize())])
    ours_filt = butterworth3_filtfilt(pad_odd(table.column(col), n // 2), 0.01, 12.0)
    np.testing.assert_allclose(ours_filt, ref_filt, atol=1e-9)
    ours_d = quintic_spline_derivative(ours_filt, 0.01)
    # everywhere, the ends of the padded signal included (natural end conditions)
    np.testing.assert_allclose(ours_d, ref_d, rtol=1e-6, atol=1e-6 * np.abs(ref_d).max())


def test_short_unfiltered_signal_derivative_matches_opensim(tmp_path: Path) -> None:
    osim = pytest.importorskip("opensim")
    t = np.round(np.arange(0.0, 0.5, 0.01), 10)
    y = np.sin(7 * t) + 0.3 * t**3
    from runmuscles.readers import write_storage

    p = write_storage(tmp_path / "short.sto", TimeTable(t, y[:, None], ["x"]))
    sto = osim.Storage(str(p))
    deriv = osim.GCVSplineSet(5, sto).constructStorage(1)
    ref = osim.ArrayDouble()
    deriv.getDataColumn(deriv.getStateIndex("x"), ref)
    ref = np.array([ref.get(i) for i in range(ref.getSize())])
    np.testing.assert_allclose(quintic_spline_derivative(y, 0.01), ref, rtol=1e-6, atol=1e-6)


def test_degrees_and_radians_detection(hamner: Path) -> None:
    table = read_storage(hamner / "subject01" / "ik" / "Run_4.mot")
    names = ["knee_angle_r", "pelvis_ty"]
    ck = prepare_coordinates(table, names, [True, False], lowpass_hz=12.0)
    assert np.rad2deg(ck.q[:, 0]).min() < -60  # knee flexion in radians now
    assert any("no inDegrees line" in n for n in ck.notes)
    # a header that lies: says radians over degrees
    lying = TimeTable(table.time_s, table.data, table.labels, False, {"source": "lying.mot"})
    ck2 = prepare_coordinates(lying, names, [True, False], lowpass_hz=12.0)
    np.testing.assert_allclose(ck2.q, ck.q)
    assert any("implausible in radians" in n for n in ck2.notes)


def test_coordinate_errors(hamner: Path) -> None:
    table = read_storage(hamner / "subject01" / "ik" / "Run_4.mot")
    with pytest.raises(InputError, match="missing from the data: not_a_coordinate"):
        prepare_coordinates(table, ["knee_angle_r", "not_a_coordinate"], [True, True])
    with pytest.raises(InputError, match="outside the data"):
        prepare_coordinates(table, ["knee_angle_r"], [True], start_s=4.0, end_s=9.0)
    bad = table.data.copy()
    bad[100, table.index("knee_angle_r")] = np.nan
    with pytest.raises(InputError, match="NaN or infinite value in column 'knee_angle_r' at t = 1.23"):
        prepare_coordinates(
            TimeTable(table.time_s, bad, table.labels, None, table.meta), ["knee_angle_r"], [True]
        )
    mm = table.data.copy()
    mm[:, table.index("pelvis_ty")] *= 1000
    with pytest.raises(InputError, match="millimetres"):
        prepare_coordinates(
            TimeTable(table.time_s, mm, table.labels, None, table.meta), ["pelvis_ty"], [False]
        )
