"""Muscle geometry and strength: exact OpenSim route and the cached NumPy surrogate.

References are OpenSim's own results on the same inputs (``Muscle.computeMomentArm``,
``getLength``, ``getLengtheningSpeed``, ``calcInextensibleTendonActiveFiberForce``) at real
running frames: hamner2013 subject01 Run_2..Run_5 inverse kinematics, mapped onto each
model's coordinates.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.model import geometry as geometry_module
from runmuscles.model.geometry import FORMAT_VERSION, MuscleGeometry, model_hash
from runmuscles.model.muscle_curves import (
    CLASS_CODES,
    millard_active_force_length,
    millard_force_velocity,
    millard_passive_force_length,
    rigid_tendon_active_force,
    thelen_force_velocity,
)
from runmuscles.readers import read_storage

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
RAJAGOPAL = DATA / "models" / "Rajagopal2016.osim"
HAMNER = DATA / "hamner2013" / "subject01" / "model" / "subject01_adjusted_scaled.osim"
DEGROOTE = DATA / "fukuchi2017" / "RBDS001" / "RBDS001_complex.osim"
GENERIC_HAMNER = DATA / "models" / "FullBodyModel_Hamner2010_v2_0.osim"
IK = DATA / "hamner2013" / "subject01" / "ik"
MODELS = {"rajagopal": RAJAGOPAL, "hamner": HAMNER, "degroote": DEGROOTE}

pytestmark = pytest.mark.opensim


def _need(*paths: Path) -> None:
    for p in paths:
        if not p.exists():
            pytest.skip(f"{p} is not present")


def running_frames(info, trials=("Run_2", "Run_3", "Run_4", "Run_5"), step: int = 4):
    """Runner's coordinates (radians/metres) and speeds mapped onto a model's coordinates.

    The hamner2013 IK files are in degrees without an inDegrees line. Coordinates the file
    lacks stay at their defaults; the knee flexes negative in Hamner's model and positive
    in Rajagopal-type models (whose knee range is positive), so it is negated there.
    """
    qs, qds = [], []
    for trial in trials:
        table = read_storage(IK / f"{trial}.mot")
        q = np.tile(info.default_value, (table.n_frames, 1))
        for j, name in enumerate(info.coordinate_names):
            if name in table:
                v = table.column(name).copy()
                if info.rotational[j]:
                    v = np.deg2rad(v)
                if name.startswith("knee_angle") and info.range_max[j] > 1.0:
                    v = -v
                q[:, j] = v
        qd = np.gradient(q, table.time_s, axis=0)
        qs.append(q[::step])
        qds.append(qd[::step])
    return np.vstack(qs), np.vstack(qds)


@pytest.fixture(scope="module")
def samplers():
    from runmuscles.opensim_adapter.geometry import GeometrySampler

    _need(*MODELS.values(), IK)
    return {k: GeometrySampler(p) for k, p in MODELS.items()}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("geometry-cache")


@pytest.fixture(scope="module")
def surrogates(samplers, cache_dir):
    out = {}
    for k, p in MODELS.items():
        t0 = time.perf_counter()
        out[k] = MuscleGeometry.for_model(p, cache_dir=cache_dir)
        out[k].build_s = time.perf_counter() - t0
    return out


# -- exact route -----------------------------------------------------------------------------
def test_exact_moment_arms_equal_compute_moment_arm(samplers):
    """J^T route equals Muscle.computeMomentArm for every muscle and coordinate, incl. the
    Rajagopal knee and its coupled patella coordinate (both give the coupled moment arm)."""
    gs = samplers["rajagopal"]
    q, qd = running_frames(gs.info, trials=("Run_4",), step=60)
    out = gs.sample(q, qd)
    names = gs.info.coordinate_names
    knee, beta = names.index("knee_angle_r"), names.index("knee_angle_r_beta")
    worst = 0.0
    for f in range(len(q)):
        for k, muscle in enumerate(gs.info.muscle_names):
            if not muscle.endswith("_r"):
                continue
            for j in (knee, beta, names.index("hip_flexion_r"), names.index("ankle_angle_r")):
                ref = gs.compute_moment_arm(q[f], muscle, names[j])
                worst = max(worst, abs(ref - out["moment_arm_m"][f, k, j]))
    assert worst < 1e-12
    vas = gs.info.muscle_names.index("vasint_r")
    assert np.allclose(out["moment_arm_m"][:, vas, knee], out["moment_arm_m"][:, vas, beta])
    assert np.all(out["moment_arm_m"][:, vas, knee] < -0.01)  # knee extensor: 1-5 cm


def test_moment_arms_with_moving_path_points_and_muscle_subsets(samplers):
    """Hamner's knee extensors run over moving path points (mobility forces): the running sum
    route reads those forces, whichever muscles are asked for and in whatever order, and
    equals Muscle.computeMomentArm."""
    gs = samplers["hamner"]
    q, qd = running_frames(gs.info, trials=("Run_4",), step=80)
    names, muscles = gs.info.coordinate_names, gs.info.muscle_names
    knee, hip = names.index("knee_angle_r"), names.index("hip_flexion_r")
    chosen = np.array([muscles.index(m) for m in ("vas_int_r", "rect_fem_r", "bifemsh_r", "glut_max1_r")])
    full = gs.sample(q, qd, strength=False)["moment_arm_m"]
    part = gs.sample(q, qd, strength=False, muscles=chosen[::-1])["moment_arm_m"]
    assert np.allclose(part[:, ::-1], full[:, chosen], rtol=0, atol=1e-12)
    worst = 0.0
    for f in range(len(q)):
        for k in chosen:
            for j in (knee, hip):
                worst = max(worst, abs(gs.compute_moment_arm(q[f], muscles[k], names[j]) - full[f, k, j]))
    assert worst < 1e-12
    assert np.all(full[:, muscles.index("vas_int_r"), knee] > 0.01)  # extensor; Hamner knees flex negative


@pytest.mark.parametrize("model", ["rajagopal", "hamner", "degroote"])
def test_numpy_strength_equals_opensim(samplers, model):
    """F0 fl fv cos(pennation) from the muscle's own curves equals OpenSim's
    calcInextensibleTendonActiveFiberForce(s, 1) at real frames (< 0.5 %)."""
    gs = samplers[model]
    q, qd = running_frames(gs.info, step=6)
    out = gs.sample(q, qd, moment_arms=False)
    codes = np.array([CLASS_CODES[c] for c in gs.info.muscle_class])
    mine = rigid_tendon_active_force(
        out["length_m"], out["speed_m_s"], codes, gs.info.params, gs.info.curve_tables
    )
    ref = out["strength_n"]
    f0 = gs.info.params["max_isometric_force_n"]
    big = ref > 0.01 * f0
    assert big.mean() > 0.5
    assert np.max(np.abs(mine - ref)[big] / ref[big]) < 0.005
    assert np.max(np.abs(mine - ref) / f0) < 1e-4


def test_thelen_force_velocity_inverts_thelen_equations():
    """The closed-form fv inverts Thelen (2003) Eqs 6-7 as OpenSim extends them."""
    af, flen, thr = 0.25, 1.4, 0.95
    fv = np.linspace(0.01, 1.6, 400)
    a = 1.0
    # Forward: fibre velocity (per v_max) from force, written independently of the inverse.
    conc = (0.25 + 0.75 * a) * (fv - 1) / (1 + fv / af)
    b = (2 + 2 / af) * (flen - fv) / (flen - 1)
    ecc = (0.25 + 0.75 * a) * (fv - 1) / b
    f0 = thr * flen
    b0 = (2 + 2 / af) * (flen - f0) / (flen - 1)
    v0 = (f0 - 1) / b0
    slope = 1 / b0 + (f0 - 1) / b0**2 * (2 + 2 / af) / (flen - 1)
    v = np.where(fv <= 1, conc, np.where(fv < f0, ecc, v0 + slope * (fv - f0)))
    assert np.allclose(thelen_force_velocity(v, af, flen, thr), fv, atol=1e-12)
    assert thelen_force_velocity(np.array([-1.0, -2.0]), af, flen, thr).tolist() == [0.0, 0.0]


def test_millard_curves_from_parameters_equal_opensim(samplers):
    """Bezier curves rebuilt from each muscle's curve parameters equal OpenSim's curve
    objects (tabulated from ActiveForceLengthCurve/ForceVelocityCurve/FiberForceLengthCurve)."""
    info = samplers["rajagopal"].info
    p, t = info.params, info.curve_tables
    for m in np.unique(p["curve_table"].astype(int), return_index=True)[1]:
        row = int(p["curve_table"][m])
        fl = millard_active_force_length(t["fl_x"], *(p[f"millard_fl_{k}"][m] for k in _FL))
        fv = millard_force_velocity(t["fv_x"], *(p[f"millard_fv_{k}"][m] for k in _FV))
        fpe = millard_passive_force_length(t["fl_x"], *(p[f"millard_fpe_{k}"][m] for k in _FPE))
        assert np.abs(fl - t["fl"][row]).max() < 1e-10
        assert np.abs(fv - t["fv"][row]).max() < 1e-10
        assert np.abs(fpe - t["fpe"][row]).max() < 1e-10
    # shape checks that do not depend on OpenSim: peak 1 at optimal length, 1 at rest
    assert fl[np.argmin(np.abs(t["fl_x"] - 1.0))] == pytest.approx(1.0)
    assert fv[np.argmin(np.abs(t["fv_x"]))] == pytest.approx(1.0)


_FL = (
    "min_norm_active_fiber_length",
    "transition_norm_fiber_length",
    "max_norm_active_fiber_length",
    "shallow_ascending_slope",
    "minimum_value",
)
_FV = (
    "concentric_slope_at_vmax",
    "concentric_slope_near_vmax",
    "isometric_slope",
    "eccentric_slope_at_vmax",
    "eccentric_slope_near_vmax",
    "max_eccentric_velocity_force_multiplier",
    "concentric_curviness",
    "eccentric_curviness",
)
_FPE = (
    "strain_at_zero_force",
    "strain_at_one_norm_force",
    "stiffness_at_low_force",
    "stiffness_at_one_norm_force",
    "curviness",
)


# -- surrogate -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("model", ["rajagopal", "hamner", "degroote"])
def test_surrogate_matches_opensim_on_running_frames(samplers, surrogates, model):
    gs, geom = samplers[model], surrogates[model]
    assert geom.build_s > 0  # (build time: 4-5 s of CPU; benchmarks/bench_geometry.py times it)
    q, qd = running_frames(gs.info)
    inside = geom.inside_domain(q)
    assert inside.mean() > 0.95  # Run_5 reaches 125 deg knee flexion, beyond Rajagopal's 120
    q, qd = q[inside], qd[inside]
    ev = geom.evaluate(q, qd)
    ref = gs.sample(q, qd)
    assert not ev.outside_domain.any()
    spans = np.abs(ref["moment_arm_m"]).max(axis=0) > 1e-6
    err = (ev.moment_arm_m - ref["moment_arm_m"])[:, spans]
    assert np.sqrt(np.mean(err**2)) < 0.5e-3
    assert np.abs(err).max() < 3e-3
    assert np.abs(ev.length_m - ref["length_m"]).max() < 1e-3
    assert np.sqrt(np.mean((ev.speed_m_s - ref["speed_m_s"]) ** 2)) < 2e-3
    f0 = geom.max_isometric_force_n
    rel = np.abs(ev.strength_n - ref["strength_n"]) / f0
    assert np.sqrt(np.mean(rel**2)) < 0.005
    assert np.percentile(rel, 99) < 0.01
    assert rel.max() < 0.03


@pytest.mark.slow
def test_cache_loads_without_opensim_or_scipy(surrogates, cache_dir):
    """A second process loads the cache and evaluates with NumPy only."""
    code = f"""
import json, sys, time
import numpy as np
from runmuscles.model.geometry import MuscleGeometry
t0 = time.perf_counter()
g = MuscleGeometry.for_model({str(RAJAGOPAL)!r}, cache_dir={str(cache_dir)!r})
load = time.perf_counter() - t0
q = np.tile(np.where(np.isfinite(g.domain_lo), 0.5 * (g.domain_lo + g.domain_hi), 0.0), (100, 1))
qd = np.ones_like(q)
g.evaluate(q, qd)
ev = []
for _ in range(20):
    t0 = time.perf_counter(); g.evaluate(q, qd); ev.append(time.perf_counter() - t0)
print(json.dumps({{"load": load, "eval": min(ev), "opensim": "opensim" in sys.modules,
                  "scipy": any(m.startswith("scipy") for m in sys.modules)}}))
"""
    src = str(Path(__file__).resolve().parents[1] / "src")
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        check=True,
    )
    r = json.loads(res.stdout.strip().splitlines()[-1])
    assert not r["opensim"] and not r["scipy"]
    # (load about 10-20 ms, evaluation of 100 frames 2-5 ms on an idle 2-core machine: measured
    # by benchmarks, not asserted here)
    assert r["load"] > 0 and r["eval"] > 0


def test_model_hash_changes_with_content(tmp_path):
    _need(RAJAGOPAL)
    copy = tmp_path / "Rajagopal2016.osim"
    copy.write_bytes(RAJAGOPAL.read_bytes())
    assert model_hash(copy) == model_hash(RAJAGOPAL)
    copy.write_bytes(RAJAGOPAL.read_bytes().replace(b"<max_isometric_force>", b"<max_isometric_force> ", 1))
    assert model_hash(copy) != model_hash(RAJAGOPAL)
    with pytest.raises(InputError, match="not found"):
        model_hash(tmp_path / "missing.osim")


@pytest.mark.slow
def test_outside_domain_flag_and_exact_fallback(samplers, surrogates):
    gs, geom = samplers["rajagopal"], surrogates["rajagopal"]
    q, qd = running_frames(gs.info, trials=("Run_5",), step=3)
    outside = ~geom.inside_domain(q)
    assert outside.any()  # knee flexion beyond the model's 120 deg range
    knee = geom.coordinate_names.index("knee_angle_r")
    knee_l = geom.coordinate_names.index("knee_angle_l")
    assert np.all(np.maximum(q[outside, knee], q[outside, knee_l]) > geom.domain_hi[knee] - 1e-9)
    rows = np.nonzero(outside)[0][:3]
    ev = geom.evaluate(q[rows], qd[rows], fallback_exact=True)
    ref = gs.sample(q[rows], qd[rows])
    assert ev.exact.all() and ev.outside_domain.all()
    assert np.allclose(ev.moment_arm_m, ref["moment_arm_m"], atol=1e-12)
    assert np.allclose(ev.strength_n, ref["strength_n"], rtol=1e-3, atol=1e-6)


@pytest.mark.slow
def test_strength_is_linear_in_max_isometric_force(surrogates):
    geom = surrogates["hamner"]
    q = np.where(np.isfinite(geom.domain_lo), 0.5 * (geom.domain_lo + geom.domain_hi), 0.0)
    base = geom.evaluate(q).strength_n
    scale = np.linspace(0.5, 2.0, len(geom.muscle_names))
    scaled = geom.with_max_isometric_force(geom.max_isometric_force_n * scale).evaluate(q).strength_n
    assert np.allclose(scaled, base * scale)
    assert np.allclose(geom.evaluate(q).strength_n, base)  # the original is unchanged
    with pytest.raises(InputError):
        geom.with_max_isometric_force(np.ones(3))


@pytest.mark.slow
def test_evaluate_rejects_bad_input(surrogates):
    geom = surrogates["degroote"]
    with pytest.raises(InputError, match="columns"):
        geom.evaluate(np.zeros((2, 3)))
    q = np.zeros((2, len(geom.coordinate_names)))
    q[1, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        geom.evaluate(q)


# -- mirror-image fits, the sampling design and the cache version -----------------------------
def test_side_partner_names():
    side = geometry_module._side_partner
    assert side("hip_flexion_r") == "hip_flexion_l"
    assert side("knee_angle_l_beta") == "knee_angle_r_beta"
    assert side("R_glmax") == "L_glmax"
    assert side("lumbar_bending") is None  # midline
    assert side("r_l") is None  # ambiguous: two side tokens


def _mirror_differences(geom: MuscleGeometry, negated: tuple[str, ...]) -> tuple[float, float]:
    """Largest left-right difference of lengths and moment arms between the surrogate at
    random configurations and at their mirror images (sides swapped, ``negated`` midline
    coordinates' signs flipped)."""
    names, muscles = geom.coordinate_names, geom.muscle_names
    c_of, m_of = {n: k for k, n in enumerate(names)}, {n: k for k, n in enumerate(muscles)}
    side = geometry_module._side_partner
    rng = np.random.default_rng(3)
    lo, hi = np.nan_to_num(geom.domain_lo), np.nan_to_num(geom.domain_hi)
    q = lo + rng.random((300, len(names))) * (hi - lo)
    partner = np.array([c_of.get(side(n) or n, k) for k, n in enumerate(names)])
    sign = np.array([-1.0 if n in negated else 1.0 for n in names])
    qm = np.empty_like(q)
    qm[:, partner] = q * sign
    a, b = geom.evaluate(q), geom.evaluate(qm)
    d_len = d_arm = 0.0
    for m, name in enumerate(muscles):
        other = side(name)
        if other is None or other not in m_of:
            continue
        pm = m_of[other]
        d_len = max(d_len, float(np.abs(a.length_m[:, m] - b.length_m[:, pm]).max()))
        mirrored = sign * b.moment_arm_m[:, pm][:, partner]
        d_arm = max(d_arm, float(np.abs(a.moment_arm_m[:, m] - mirrored).max()))
    return d_len, d_arm


NEGATED_MIDLINE = ("pelvis_list", "pelvis_rotation", "pelvis_tz", "lumbar_bending", "lumbar_rotation")


@pytest.mark.slow
def test_symmetric_model_gets_mirror_image_fits(tmp_path):
    """The generic Hamner 2010 model is left-right symmetric: its left muscles are fitted on
    the mirror images of the right muscles' samples, so the two surrogates are mirror images
    to rounding (they differed by up to 0.1 mm when each side had its own random samples).
    The mirror map is found from the model (the lumbar list and rotation change sign)."""
    _need(GENERIC_HAMNER)
    geom = MuscleGeometry.for_model(GENERIC_HAMNER, cache_dir=tmp_path)
    assert int(geom.fit_report["mirror_pairs"]) == 46
    assert int(geom.fit_report["mirrored_coordinates"]) == 17  # 7 per leg and 3 lumbar
    d_len, d_arm = _mirror_differences(geom, NEGATED_MIDLINE)
    assert d_len < 1e-9 and d_arm < 1e-9, (d_len, d_arm)


@pytest.mark.slow
def test_scaled_model_is_not_assumed_symmetric(surrogates):
    """A model scaled per side (hamner2013 subject01) gets mirror-image samples too, but its
    sides are fitted on their own values: its left and right surrogates differ as OpenSim's
    sides do (millimetres), not by rounding."""
    geom = surrogates["hamner"]
    assert int(geom.fit_report["mirror_pairs"]) == 46
    assert int(geom.fit_report["mirrored_coordinates"]) == 17  # its ranges match to 1e-8
    d_len, d_arm = _mirror_differences(geom, NEGATED_MIDLINE)
    assert d_len > 1e-4 and d_arm > 1e-5, (d_len, d_arm)


@pytest.mark.slow
def test_fast_design_agrees_with_a_dense_design(samplers, surrogates):
    """The default design (a small base topped up per cell) against a dense one (10000
    configurations with every muscle computed, like the former uniform design): moment arms
    within 0.1 mm RMS on running frames (issue 17; measured 0.04-0.06 mm, see
    benchmarks/bench_geometry.py), with far fewer OpenSim muscle evaluations."""
    gs, geom = samplers["degroote"], surrogates["degroote"]
    dense = MuscleGeometry.build(DEGROOTE, n_samples=10000)
    q, qd = running_frames(gs.info)
    q, qd = q[geom.inside_domain(q)], qd[geom.inside_domain(q)]
    spans = np.abs(gs.sample(q[:50], moment_arms=True, strength=False)["moment_arm_m"]).max(axis=0) > 1e-6
    diff = (geom.evaluate(q, qd).moment_arm_m - dense.evaluate(q, qd).moment_arm_m)[:, spans]
    assert np.sqrt(np.mean(diff**2)) < 0.1e-3
    assert int(geom.fit_report["muscle_samples"]) < 0.5 * int(dense.fit_report["muscle_samples"])


def test_cache_of_another_format_version_is_never_used(tmp_path, monkeypatch):
    """The format version is part of the cache file's name (the model hash) and is checked
    on load: a cache written by another version is rebuilt, never mixed in."""
    _need(RAJAGOPAL)
    digest = model_hash(RAJAGOPAL)
    monkeypatch.setattr(geometry_module, "FORMAT_VERSION", FORMAT_VERSION - 1)
    assert model_hash(RAJAGOPAL) != digest
    monkeypatch.undo()
    old = tmp_path / "old.npz"
    np.savez(old, format_version=np.array(FORMAT_VERSION - 1))
    with pytest.raises(InputError, match=f"format {FORMAT_VERSION - 1}, expected {FORMAT_VERSION}"):
        MuscleGeometry.load(old)


class _FakeSampler:
    """Moment arms at the all-zero pose of a small two-sided model (for the mirror map)."""

    def __init__(self, arms: np.ndarray) -> None:
        self.arms = arms

    def sample(self, q, qdot=None, **_) -> dict:
        return {"moment_arm_m": np.repeat(self.arms[None], len(q), axis=0)}


def test_mirror_map_is_detected_not_assumed():
    """Sides pair by name; each coordinate's sign comes from the muscle pairs' moment arms;
    a coordinate whose two sides have different ranges, or whose votes disagree, is not
    mirrored; mirror rows are mirror images of their partners and stay paired in the split."""
    coords = ["hip_flexion_r", "hip_flexion_l", "lumbar_bending", "lumbar_extension", "knee_angle_r"]
    coords += ["knee_angle_l", "ankle_angle_r", "ankle_angle_l"]
    muscles = ["glut_r", "glut_l", "trunk_r", "trunk_l", "vas_r", "vas_l", "sol_r", "sol_l", "tib_r", "tib_l"]
    arms = np.zeros((len(muscles), len(coords)))
    arms[0, 0] = arms[1, 1] = 0.05  # hip: same sign on both sides
    arms[2, 2], arms[3, 2] = 0.03, -0.03  # lumbar bending: opposite signs
    arms[2, 3] = arms[3, 3] = 0.02  # lumbar extension: same
    arms[4, 4] = arms[5, 5] = 0.04  # knee (its ranges differ below)
    arms[6, 6], arms[7, 7] = 0.04, 0.04  # ankle: one pair says +1 ...
    arms[8, 6], arms[9, 7] = 0.03, -0.03  # ... the other -1: no mirror
    lo = np.array([-0.5, -0.5, -0.4, -0.6, -2.0, -1.9, -0.8, -0.8])
    hi = np.array([2.0, 2.0, 0.4, 0.5, 0.1, 0.1, 0.8, 0.8])
    used = np.ones(len(coords), dtype=bool)
    mirror = geometry_module._mirror_design(_FakeSampler(arms), coords, muscles, used, lo, hi)
    assert mirror.muscle_partner.tolist() == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8]
    assert mirror.coord_partner.tolist() == [1, 0, 2, 3, -1, -1, -1, -1]
    assert mirror.coord_sign[:4].tolist() == [1.0, 1.0, -1.0, 1.0]

    rng = np.random.default_rng(0)
    cols = np.arange(len(coords))
    design = geometry_module._Design(len(coords), cols, lo, hi, mirror, rng)
    design.add(geometry_module._draw(rng, 50, len(coords), cols, lo, hi), None)
    design.add(geometry_module._draw(rng, 20, len(coords), cols, lo, hi), np.array([0, 1]))
    q = design.q
    assert q.shape == (140, len(coords))
    for start, n in ((0, 50), (100, 20)):
        a, b = q[start : start + n], q[start + n : start + 2 * n]
        assert np.array_equal(b[:, 1], a[:, 0]) and np.array_equal(b[:, 0], a[:, 1])
        assert np.array_equal(b[:, 2], -a[:, 2]) and np.array_equal(b[:, 3], a[:, 3])
        assert not np.allclose(b[:, 4], a[:, 5])  # knee: independent draws
    assert np.all((q >= lo) & (q <= hi))
    assert (
        design.computed[:100].all()
        and design.computed[100:, :2].all()
        and not design.computed[100:, 2:].any()
    )
    train, valid = design.split(rng)
    assert np.intersect1d(train, valid).size == 0 and train.size + valid.size == len(q)
    pair = {i: i + 50 for i in range(50)} | {100 + i: 120 + i for i in range(20)}
    held = set(valid.tolist())
    assert all((i in held) == (j in held) for i, j in pair.items())


def test_a_copied_model_under_another_name_reuses_the_cache(tmp_path, monkeypatch):
    """The cache is found by the model's content: an uploaded or copied model with the same
    bytes under another name loads the existing surrogate instead of building a new one."""
    demo = Path(geometry_module.__file__).resolve().parents[1] / "data" / "demo"
    model = demo / "hamner2013_subject01" / "model" / "subject01_adjusted_scaled.osim"
    cache = tmp_path / "cache"
    cache.mkdir()
    for f in (demo / "cache").glob("*.npz"):
        (cache / f.name).write_bytes(f.read_bytes())
    copy = tmp_path / "model-3f2a9c.osim"
    copy.write_bytes(model.read_bytes())

    def no_build(*_a, **_k):
        raise AssertionError("the geometry was rebuilt for a model whose cache exists")

    monkeypatch.setattr(MuscleGeometry, "build", classmethod(no_build))
    geom = MuscleGeometry.for_model(copy, cache_dir=cache)
    assert geom.model_sha256 == model_hash(model)
    assert geom.model_path == str(copy)
    copy.write_bytes(model.read_bytes().replace(b"</OpenSimDocument>", b"</OpenSimDocument>\n"))
    with pytest.raises(AssertionError, match="rebuilt"):
        MuscleGeometry.for_model(copy, cache_dir=cache)  # other bytes: its own cache
