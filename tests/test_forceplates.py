"""One plate, two feet: contact detection, foot assignment, split and OpenSim files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.kinematics.forceplates import (
    MarkerSampler,
    detect_contacts,
    foot_marker_names,
    grf_table,
    lowpass_plate,
    markers_at,
    split_feet,
    write_grf,
)
from runmuscles.readers import read_external_loads, read_storage
from runmuscles.readers.c3d import read_c3d

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fukuchi2017"


@pytest.fixture(scope="module")
def split_trials():
    if not DATA.exists():
        pytest.skip("fukuchi2017 data not present")
    out = {}
    for p in sorted(DATA.glob("*/*run*.c3d")):
        t = read_c3d(p)
        out[p] = (t, split_feet(t.plates[0], t.markers))
    return out


def _synthetic(rate=1000.0, n_steps=12, contact_s=0.25, flight_s=0.12, peak=1500.0, seed=0):
    """Half-sine contacts with noise, a slow drift and single-sample spikes."""
    rng = np.random.default_rng(seed)
    period = contact_s + flight_s
    t = np.arange(0, n_steps * period + 0.3, 1 / rate)
    f = np.zeros_like(t)
    truth = []
    for k in range(n_steps):
        t0 = 0.15 + k * period
        inside = (t >= t0) & (t < t0 + contact_s)
        f[inside] = peak * np.sin(np.pi * (t[inside] - t0) / contact_s)
        truth.append((t0, t0 + contact_s))
    f += rng.normal(0, 6, t.size)  # belt noise
    f += 35 * (t / t[-1]) - 15  # drift from -15 N to +20 N
    spikes = rng.choice(t.size, 15, replace=False)
    f[spikes] += rng.choice([-1, 1], 15) * 80
    return t, f, truth


def test_detect_contacts_with_noise_drift_and_spikes():
    rate = 1000.0
    t, f, truth = _synthetic(rate)
    got = detect_contacts(f, rate)
    assert len(got) == len(truth)
    for (s, e), (t0, t1) in zip(got, truth, strict=True):
        # Edges are refined to the edge of the noise band: within 4 ms of the true contact.
        assert abs(t[s] - t0) < 0.004
        assert abs(t[e] - t1) < 0.004


def test_detect_contacts_partial_and_short():
    rate = 500.0
    f = np.zeros(1000)
    f[:60] = 800  # cut by the start
    f[200:330] = 900  # a real contact
    f[500:510] = 900  # 20 ms: too short to be a contact
    f[700:760] = 900
    f[762:830] = 900  # 4 ms dip: one contact
    got = detect_contacts(f, rate, drop_partial=True)
    assert got == [(200, 330), (700, 830)]
    assert detect_contacts(f, rate, drop_partial=False)[0] == (0, 60)
    with pytest.raises(InputError, match="on_n"):
        detect_contacts(f, rate, on_n=10, off_n=20)


def test_detect_contacts_walking_keeps_one_long_contact():
    """No flight (walking on one plate): no drift correction, one contact the whole time."""
    rate = 500.0
    t = np.arange(0, 4, 1 / rate)
    f = 700 + 200 * np.sin(2 * np.pi * t)
    assert detect_contacts(f, rate, drop_partial=False) == [(0, t.size)]


def test_foot_marker_names():
    names = ["L.Heel.Bottom", "L.Heel.Top", "L.MT1", "L.MT5", "R.Heel.Bottom", "R.MT1", "R.MT5", "R.ASIS"]
    assert foot_marker_names(names, "r") == (["R.Heel.Bottom"], ["R.MT1", "R.MT5"])
    assert foot_marker_names(names, "l") == (["L.Heel.Bottom"], ["L.MT1", "L.MT5"])
    assert foot_marker_names(["RHEE", "RTOE", "LHEE", "LTOE"], "l") == (["LHEE"], ["LTOE"])


def test_contacts_alternate_right_left(split_trials):
    for path, (_t, feet) in split_trials.items():
        sides = [c.side for c in feet.contacts]
        assert set(sides) == {"r", "l"}
        assert all(a != b for a, b in zip(sides, sides[1:], strict=False)), path.name
        dur = np.array([c.duration_s for c in feet.contacts[1:-1]])
        assert dur.min() > 0.15 and dur.max() < 0.40, path.name
        # about 2.6-3.3 steps per second over the 30 s trial
        assert 2.4 < len(feet.contacts) / 30.0 < 3.4, path.name


def test_cop_is_under_the_assigned_foot(split_trials):
    for path, (t, feet) in split_trials.items():
        for c in feet.contacts:
            own = c.distance_m[c.side]
            other = c.distance_m["l" if c.side == "r" else "r"]
            assert own < 0.06, (path.name, c.start_s, own)
            if c.start_idx > 0 and c.end_idx < t.plates[0].time_s.size:  # not cut by the recording
                assert other > 0.1, (path.name, c.start_s, other)


def test_right_plus_left_is_the_plate(split_trials):
    for path, (t, feet) in split_trials.items():
        pl = t.plates[0]
        inside = np.zeros(pl.time_s.size, bool)
        for c in feet.contacts:
            inside[c.start_idx : c.end_idx] = True
        total = feet.force_n["r"] + feet.force_n["l"]
        np.testing.assert_array_equal(total[inside], pl.force_n[inside])
        torque = feet.torque_nm["r"] + feet.torque_nm["l"]
        np.testing.assert_allclose(torque[inside], pl.free_moment_nm[inside], atol=1e-9)
        # Outside contacts the plate carries only noise, and the feet nothing.
        assert np.all(total[~inside] == 0)
        # (single samples up to ~70 N occur right before a landing, where the 3-sample median
        # used for detection ignores them)
        assert np.abs(pl.force_n[~inside, 1]).max() < 100, path.name
        assert np.abs(pl.force_n[~inside, 1]).mean() < 15, path.name
        # Never both feet at once (running), and COP finite for OpenSim.
        both = (feet.force_n["r"][:, 1] != 0) & (feet.force_n["l"][:, 1] != 0)
        assert not both.any()
        assert np.isfinite(feet.cop_m["r"]).all() and np.isfinite(feet.cop_m["l"]).all()
        # Loaded COP of each foot equals the plate's COP there.
        ld = inside & pl.loaded & (feet.force_n["r"][:, 1] != 0)
        np.testing.assert_allclose(feet.cop_m["r"][ld], pl.cop_m[ld], atol=1e-9)
        # Inside a contact the held COP never leaves that contact's own COP path.
        for c in feet.contacts[1:-1]:
            seg = feet.cop_m[c.side][c.start_idx : c.end_idx]
            own = pl.cop_m[c.start_idx : c.end_idx]
            ok = np.isfinite(own).all(axis=1)
            assert np.all(seg.min(axis=0) >= own[ok].min(axis=0) - 1e-9), path.name
            assert np.all(seg.max(axis=0) <= own[ok].max(axis=0) + 1e-9), path.name


def test_write_grf_mot_and_external_loads(tmp_path, split_trials):
    path, (t, feet) = next(iter(split_trials.items()))
    mot, xml = write_grf(tmp_path / f"{path.stem}_grf.mot", feet)
    assert mot.name == "RBDS001runT25_grf.mot" and xml.name == "RBDS001runT25_grf.xml"
    loads = read_external_loads(xml)
    assert {f.applied_to_body for f in loads.forces} == {"calcn_r", "calcn_l"}
    assert all(f.force_expressed_in_body == "ground" for f in loads.forces)
    right = next(f for f in loads.forces if f.applied_to_body == "calcn_r")
    np.testing.assert_allclose(
        loads.data.columns(right.force_columns), feet.force_n["r"], rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(loads.data.columns(right.point_columns), feet.cop_m["r"], rtol=1e-9, atol=1e-9)
    # The project's own templates name the same identifiers.
    template = read_external_loads(DATA / "RBDS001" / "RBDS001runT25_grf.xml", data_file=mot)
    assert [f.force_columns for f in template.forces] == [f.force_columns for f in loads.forces]
    assert read_storage(mot).labels == grf_table(feet).labels


@pytest.mark.opensim
def test_opensim_reads_the_external_loads(tmp_path, split_trials):
    osim = pytest.importorskip("opensim")
    path, (t, feet) = next(iter(split_trials.items()))
    mot, xml = write_grf(tmp_path / f"{path.stem}_grf.mot", feet)
    loads = osim.ExternalLoads(str(xml), True)
    assert loads.getSize() == 2
    assert {loads.get(i).get_applied_to_body() for i in range(2)} == {"calcn_r", "calcn_l"}
    sto = osim.Storage(str(mot))
    assert sto.getSize() == feet.time_s.size
    col = osim.ArrayDouble()
    sto.getDataColumn("ground_force_l_vy", col)
    got = np.array([col.get(i) for i in range(col.getSize())])
    np.testing.assert_allclose(got, feet.force_n["l"][:, 1], atol=1e-5)
    # The runner's own scaled model has the bodies the loads are applied to.
    model = osim.Model(str(DATA / "RBDS001" / "RBDS001_complex.osim"))
    for i in range(loads.getSize()):
        assert model.getBodySet().contains(loads.get(i).get_applied_to_body())


def test_lowpass_plate_keeps_the_cop(split_trials):
    """Filtering close to Nyquist changes nothing: COP and free moment rebuilt from the lab moment."""
    t, _ = next(iter(split_trials.values()))
    pl = t.plates[0]
    same = lowpass_plate(pl, 0.99 * pl.rate_hz / 2, order=1)
    firm = (pl.force_n[:, 1] > 300) & (same.force_n[:, 1] > 300)
    assert np.abs(same.force_n - pl.force_n).max() < 0.05 * np.abs(pl.force_n).max()
    assert np.nanmedian(np.linalg.norm(same.cop_m[firm] - pl.cop_m[firm], axis=1)) < 0.005
    # Exact rebuild: feed the unfiltered moment through the same formulas.
    smooth = lowpass_plate(pl, 40.0)
    ld = smooth.loaded
    m = np.cross(smooth.cop_m[ld], smooth.force_n[ld]) + smooth.free_moment_nm[ld]
    np.testing.assert_allclose(m, smooth.moment_nm[ld], atol=1e-6)


def test_markers_at_interpolates(split_trials):
    t, _ = next(iter(split_trials.values()))
    m = t.markers
    got = markers_at(m, ["R.MT1"], m.time_s[100:110])
    np.testing.assert_allclose(got, m.marker("R.MT1")[100:110], atol=1e-12)


def test_lowpass_plate_is_scipys_butterworth_filtfilt(split_trials):
    """The plate filter without scipy.signal gives SciPy's numbers to the last bit."""
    signal = pytest.importorskip("scipy.signal")
    t, _ = next(iter(split_trials.values()))
    pl = t.plates[0]
    got = lowpass_plate(pl, 20.0)
    b, a = signal.butter(2, 20.0 / (pl.rate_hz / 2))
    assert np.array_equal(got.force_n, signal.filtfilt(b, a, pl.force_n, axis=0))
    assert np.array_equal(got.moment_nm, signal.filtfilt(b, a, pl.moment_nm, axis=0))


def test_marker_sampler_is_markers_at_every_time(split_trials):
    """One sampler asked many times gives what the one-off interpolation gives."""
    t, _ = next(iter(split_trials.values()))
    m = t.markers
    sampler = MarkerSampler(m)
    heel = foot_marker_names(m.names, "r")[0]
    times = m.time_s[::37] + 0.001
    for names in (heel, ["R.MT1"], heel, heel + ["R.MT1"]):
        pos = np.stack([m.marker(nm) for nm in names], axis=1)
        mean = np.nanmean(pos, axis=1) if len(names) > 1 else pos[:, 0]
        ok = np.isfinite(mean)
        want = np.stack([np.interp(times, m.time_s[ok[:, k]], mean[ok[:, k], k]) for k in range(3)], axis=1)
        assert np.array_equal(sampler.at(names, times), want)
        assert np.array_equal(markers_at(m, names, times), want)


def test_two_plates_under_one_foot_add_up(split_trials):
    """A foot on two plates at once (load shared 40/60): same force, COP and free moment."""
    from dataclasses import replace

    t, feet = next(iter(split_trials.values()))
    pl = t.plates[0]
    a = replace(pl, index=0, force_n=0.4 * pl.force_n, moment_nm=0.4 * pl.moment_nm)
    b = replace(pl, index=1, force_n=0.6 * pl.force_n, moment_nm=0.6 * pl.moment_nm)
    two = split_feet([a, b], t.markers, on_n=20.0, off_n=8.0)  # thresholds scaled with the 40 % share
    for s in "rl":
        ld = np.abs(feet.force_n[s][:, 1]) > 100
        np.testing.assert_allclose(two.force_n[s][ld], feet.force_n[s][ld], rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(two.cop_m[s][ld], feet.cop_m[s][ld], atol=1e-9)
        np.testing.assert_allclose(two.torque_nm[s][ld], feet.torque_nm[s][ld], atol=1e-6)


def test_c3d_to_grf_files_and_refusals(tmp_path):
    if not DATA.exists():
        pytest.skip("fukuchi2017 data not present")
    from runmuscles.kinematics.forceplates import c3d_to_grf

    feet, mot, xml = c3d_to_grf(DATA / "RBDS03" / "RBDS03runT35.c3d", tmp_path, lowpass_hz=50.0)
    assert mot == tmp_path / "RBDS03runT35_grf.mot" and xml.exists()
    loads = read_external_loads(xml)
    vy = loads.data.column("ground_force_r_vy") + loads.data.column("ground_force_l_vy")
    # 65.4 kg runner: mean vertical force over whole strides is body weight (within 5 %).
    assert abs(vy.mean() / (65.4 * 9.81) - 1) < 0.05
    with pytest.raises(InputError, match="no loaded force plate"):
        c3d_to_grf(DATA / "RBDS03" / "RBDS03static.c3d", tmp_path)
