"""OpenSim file readers: values, units, and one-line errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.readers import read_external_loads, read_storage, read_trc, write_storage
from runmuscles.tables import TimeTable


def test_simm_header_without_indegrees(hamner: Path) -> None:
    t = read_storage(hamner / "subject01" / "ik" / "Run_4.mot")
    assert t.in_degrees is None
    assert t.labels[:3] == ["pelvis_tilt", "pelvis_list", "pelvis_rotation"]
    assert t.n_frames == 510
    # header 'range 0.23 5.32'
    assert t.time_s[0] == pytest.approx(0.23) and t.time_s[-1] == pytest.approx(5.32)
    assert t.sample_rate_hz == pytest.approx(100.0)


def test_external_loads_columns_and_units(hamner: Path) -> None:
    el = read_external_loads(hamner / "subject01" / "Run_4_grf.xml")
    bodies = sorted(f.applied_to_body for f in el.forces)
    assert bodies == ["calcn_l", "calcn_r"]
    right = el.force_on("calcn_r")[0]
    assert right.force_columns == ["R_ground_force_vx", "R_ground_force_vy", "R_ground_force_vz"]
    fy = el.data.column("R_ground_force_vy")
    # a 72.84 kg runner at 4 m/s: peak vertical force 2-3 body weights
    assert 2.0 < fy.max() / (72.84 * 9.81) < 3.2
    assert el.data.sample_rate_hz == pytest.approx(1000.0, rel=1e-3)


def test_trc_in_metres(hamner: Path) -> None:
    m = read_trc(hamner / "subject01" / "Run_4.trc")
    assert m.source_units == "mm"
    assert m.positions_m.shape == (510, 42, 3)
    # markers of a standing-height runner lie within 0-2.2 m of the lab floor (Y up)
    y = m.positions_m[..., 1]
    assert np.nanmin(y) > -0.05 and np.nanmax(y) < 2.2


def test_storage_roundtrip(tmp_path: Path) -> None:
    tab = TimeTable(np.linspace(0, 1, 11), np.random.default_rng(1).normal(size=(11, 3)), ["a", "b", "c"])
    p = write_storage(tmp_path / "x.sto", tab)
    back = read_storage(p)
    assert back.labels == ["a", "b", "c"] and back.in_degrees is False
    np.testing.assert_allclose(back.data, tab.data, rtol=1e-9)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no header here\n1 2 3\n", "endheader"),
        ("x\nendheader\ntime\ta\tb\n0\t1\t2\n0.1\t1\n", "row 2"),
        ("x\nendheader\ntime\ta\n0\t1\n0.1\tabc\n", "non-numeric"),
        ("x\nendheader\ntime\ta\n0\t1\n0\t2\n", "not increasing"),
        ("x\nendheader\nfoo\ta\n0\t1\n", "expected 'time'"),
    ],
)
def test_bad_storage_files(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.mot"
    p.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        read_storage(p)
    assert str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_storage(tmp_path / "nope.mot")


def test_external_loads_missing_column(tmp_path: Path, hamner: Path) -> None:
    src = (hamner / "subject01" / "Run_4_grf.xml").read_text()
    (tmp_path / "grf.mot").write_text("x\nendheader\ntime\tR_ground_force_vx\n0\t1\n0.1\t1\n")
    xml = tmp_path / "grf.xml"
    xml.write_text(src.replace("Run_4_grf.mot", "grf.mot"))
    with pytest.raises(InputError, match="missing from the force file"):
        read_external_loads(xml)


def test_nan_in_forces(tmp_path: Path, hamner: Path) -> None:
    lines = (hamner / "subject01" / "Run_4_grf.mot").read_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("time")) + 100
    parts = lines[k].split("\t")
    parts[2] = "nan"
    lines[k] = "\t".join(parts)
    (tmp_path / "Run_4_grf.mot").write_text("\n".join(lines))
    xml = tmp_path / "Run_4_grf.xml"
    xml.write_text((hamner / "subject01" / "Run_4_grf.xml").read_text())
    with pytest.raises(InputError, match="NaN or infinite value in column 'R_ground_force_vy'"):
        read_external_loads(xml)
