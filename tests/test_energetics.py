"""Muscle energetics: OpenSim's Umberger probe on the same states, and running cost vs measurements."""

from __future__ import annotations

import numpy as np
import pytest

from runmuscles.analyses.energetics import (
    MUSCLE_DENSITY_KG_M3,
    energetics_summary,
    fibre_kinematics,
    muscle_energetics,
    umberger_rates,
)
from runmuscles.model.muscle_curves import CLASS_CODES, millard_active_force_length
from runmuscles.pipeline import AnalysisOptions, analyze_trial
from runmuscles.trials import demo_trials

# (activation, path length m, lengthening speed m/s): shortening and lengthening, fibres
# below and above optimal length, low and high activation.
STATES = [
    (0.5, 0.28, -0.20),
    (0.8, 0.30, -0.60),
    (0.2, 0.33, 0.30),
    (0.05, 0.25, 0.05),
    (1.0, 0.31, -1.50),
    (0.3, 0.29, 0.80),
]
F0_N, LOPT_M, LTS_M, ALPHA_RAD = 1500.0, 0.10, 0.20, 0.2
SLOW, MASS_KG = 0.4, 0.5


def _one_muscle_slider(osim, muscle_class: str):
    """An OpenSim model of one muscle (``F0_N``, ``LOPT_M``, ``LTS_M``, ``ALPHA_RAD``) from the
    ground to a body on a slider, so that the slider's coordinate is the muscle's length."""
    m = osim.Model()
    m.setGravity(osim.Vec3(0))
    b = osim.Body("b", 1.0, osim.Vec3(0), osim.Inertia(0.1))
    m.addBody(b)
    m.addJoint(
        osim.SliderJoint("s", m.getGround(), osim.Vec3(0), osim.Vec3(0), b, osim.Vec3(0), osim.Vec3(0))
    )
    mus = getattr(osim, muscle_class)("mus", F0_N, LOPT_M, LTS_M, ALPHA_RAD)
    mus.addNewPathPoint("o", m.getGround(), osim.Vec3(0))
    mus.addNewPathPoint("i", b, osim.Vec3(0))
    return m, mus


def _opensim_edot(a: float, length_m: float, speed_m_s: float) -> dict:
    osim = pytest.importorskip("opensim")
    m, mus = _one_muscle_slider(osim, "Millard2012EquilibriumMuscle")
    mus.set_ignore_tendon_compliance(True)
    mus.set_ignore_activation_dynamics(True)
    m.addForce(mus)
    c = osim.PrescribedController()
    c.addActuator(mus)
    c.prescribeControlForActuator("mus", osim.Constant(a))
    m.addController(c)
    # activation-maintenance, shortening, no basal, work on (Uchida et al. 2016 defaults otherwise)
    p = osim.Umberger2010MuscleMetabolicsProbe(True, True, False, True)
    m.addProbe(p)
    p.addMuscle("mus", SLOW, MASS_KG)
    s = m.initSystem()
    m.getCoordinateSet().get(0).setValue(s, length_m)
    m.getCoordinateSet().get(0).setSpeedValue(s, speed_m_s)
    m.realizeReport(s)
    fl = mus.getActiveForceLengthCurve()
    return {
        "edot_w": p.getProbeOutputs(s).get(0),
        "activation": mus.getActivation(s),
        "fiber_power_w": -mus.getActiveFiberForce(s) * mus.getFiberVelocity(s),
        "fiber_length_norm": mus.getNormalizedFiberLength(s),
        "fl_params": (
            fl.getMinActiveFiberLength(),
            fl.getTransitionFiberLength(),
            fl.getMaxActiveFiberLength(),
            fl.getShallowAscendingSlope(),
            fl.getMinValue(),
        ),
        "max_pennation_rad": mus.get_maximum_pennation_angle(),
        "vmax": mus.getMaxContractionVelocity(),
    }


def test_umberger_rates_equal_opensim_probe():
    """Same muscle state -> same metabolic power as OpenSim's Umberger2010MuscleMetabolicsProbe."""
    for a, length, speed in STATES:
        ref = _opensim_edot(a, length, speed)
        grid = np.linspace(0.0, 3.0, 6001)
        tables = {"fl_x": grid, "fl": millard_active_force_length(grid, *ref["fl_params"])[None, :]}
        params = {
            "optimal_fiber_length_m": np.array([LOPT_M]),
            "tendon_slack_length_m": np.array([LTS_M]),
            "pennation_at_optimal_rad": np.array([ALPHA_RAD]),
            "max_pennation_rad": np.array([ref["max_pennation_rad"]]),
            "curve_table": np.array([0.0]),
        }
        code = np.array([CLASS_CODES["Millard2012EquilibriumMuscle"]])
        lce, vel, fl = fibre_kinematics(np.array([[length]]), np.array([[speed]]), code, params, tables)
        assert lce[0, 0] == pytest.approx(ref["fiber_length_norm"], rel=1e-9)
        got = umberger_rates(
            np.array([[a]]),
            lce,
            vel,
            fl,
            np.array([[ref["fiber_power_w"]]]),
            np.array([MASS_KG]),
            np.array([SLOW]),
            np.array([ref["vmax"]]),
        )
        assert got["total_w"][0, 0] == pytest.approx(ref["edot_w"], rel=1e-5, abs=1e-6), (a, length, speed)


def test_umberger2010_variant_counts_no_negative_work():
    lce, vel, fl = np.array([[1.0]]), np.array([[2.0]]), np.array([[1.0]])
    power = np.array([[-200.0]])  # lengthening under load: negative work
    new = umberger_rates(
        np.array([[0.5]]), lce, vel, fl, power, np.array([0.5]), np.array([0.5]), np.array([10.0])
    )
    old = umberger_rates(
        np.array([[0.5]]),
        lce,
        vel,
        fl,
        power,
        np.array([0.5]),
        np.array([0.5]),
        np.array([10.0]),
        variant="umberger2010",
    )
    assert old["work_w"][0, 0] == 0.0
    assert new["work_w"][0, 0] == pytest.approx(-200.0)
    assert new["total_w"][0, 0] >= 0.0  # Uchida 2016: no muscle regains chemical energy


@pytest.fixture(scope="module")
def demo_volume():
    out = {}
    for spec in demo_trials():
        opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength="volume")
        out[spec.speed_m_s] = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    return out


def test_running_cost_within_measured_range(demo_volume):
    """Issue 6: gross cost 3.4-4.6 J/kg/m at 3 and 4 m/s, varying < 20 % over 2-5 m/s
    (measured, net: Margaria et al. 1963 1 kcal/kg/km = 4.18 J/kg/m; Minetti et al. 2002
    3.40 +- 0.24 J/kg/m)."""
    cost = {v: energetics_summary(a)["metabolic_cost_j_per_kg_m"] for v, a in demo_volume.items()}
    for v in (3.0, 4.0):
        assert 3.4 <= cost[v] <= 4.6, cost
    vals = np.array(list(cost.values()))
    assert vals.max() / vals.min() - 1.0 < 0.20, cost
    # metabolic power itself rises with speed (Margaria 1963: cost per metre ~constant)
    power = [energetics_summary(demo_volume[v])["metabolic_power_w_per_kg"] for v in (2.0, 3.0, 4.0, 5.0)]
    assert np.all(np.diff(power) > 0), power


def test_energy_shares_and_phases_add_up(demo_volume):
    a = demo_volume[4.0]
    s = energetics_summary(a)
    en = muscle_energetics(a)
    assert sum(s["phase_share_of_energy"].values()) == pytest.approx(1.0, abs=0.02)
    # groups partition the muscles except that rectus femoris is in two groups
    names = a.muscle_names
    rf = [names.index(n) for n in names if n.startswith("rect_fem")]
    sel = (a.time_s >= a.cycles[0].start_s) & (a.time_s <= a.cycles[-1].end_s)
    rf_share = en.total_w[sel][:, rf].sum() / en.total_w[sel].sum()
    total = sum(g["share_of_energy"] for g in s["groups"].values())
    assert total == pytest.approx(1.0 + rf_share, abs=0.02)
    # calves and quadriceps are among the biggest consumers in running (Uchida et al. 2016)
    top = sorted(s["groups"], key=lambda g: -s["groups"][g]["share_of_energy"])[:4]
    assert "calves" in top or "quadriceps" in top
    kcal = s["kcal_per_km"]
    assert kcal == pytest.approx(s["metabolic_cost_j_per_kg_m"] * a.body_mass_kg * 1000 / 4184)


def test_summary_has_energy_keys(demo_volume):
    s = demo_volume[3.0].summary()
    assert 3.0 < s["metabolic_cost_j_per_kg_m"] < 6.0
    assert s["metabolic_power_w_per_kg"] == pytest.approx(3.0 * s["metabolic_cost_j_per_kg_m"])
    for g in ("calves", "quadriceps", "gluteals", "hamstrings"):
        assert 0.0 < s["groups"][g]["fast_fibre_share"] < 0.6


def test_summary_without_speed_has_no_cost(demo_volume):
    a = demo_volume[3.0]
    saved = a.options.speed_m_s
    try:
        a.options.speed_m_s = None
        s = energetics_summary(a)
    finally:
        a.options.speed_m_s = saved
    assert s["metabolic_cost_j_per_kg_m"] is None and s["kcal_per_km"] is None
    assert s["metabolic_power_w_per_kg"] > 0


@pytest.fixture(scope="module")
def hamner_runners(hamner):
    from runmuscles.trials import resolve_trial  # noqa: PLC0415

    out = {}
    for folder in sorted(p for p in hamner.glob("subject*") if p.is_dir()):
        for v in (2, 3, 4, 5):
            spec = resolve_trial(folder, f"Run_{v}")
            opts = AnalysisOptions(speed_m_s=spec.speed_m_s, strength="volume")
            out[folder.name, float(v)] = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    return out


def test_hamner_runners_cost_and_fast_fibres(hamner_runners):
    """All seven hamner2013 runners (volume strength, compliant tendons): gross cost 3.4-4.6
    J/kg/m at 3 and 4 m/s, each runner's and the mean within 20 % over 2-5 m/s; compliant
    tendons narrow the forefoot strikers' (subject08, subject19) change over speed; fast
    fibres' share of force higher at 5 than at 2 m/s."""
    from runmuscles.analyses.fibres import fibre_shares  # noqa: PLC0415

    subjects = sorted({s for s, _ in hamner_runners})
    per = {
        (s, v, t): energetics_summary(hamner_runners[s, v], tendon=t)["metabolic_cost_j_per_kg_m"]
        for s in subjects
        for v in (2.0, 3.0, 4.0, 5.0)
        for t in ("compliant", "rigid")
    }

    def variation(s, t):
        vals = [per[s, v, t] for v in (2.0, 3.0, 4.0, 5.0)]
        return max(vals) / min(vals) - 1.0

    for s in subjects:
        assert 3.4 <= per[s, 3.0, "compliant"] <= 4.6 and 3.4 <= per[s, 4.0, "compliant"] <= 4.6, s
        assert variation(s, "compliant") < 0.20, (s, variation(s, "compliant"))
    for s in ("subject08", "subject19"):
        assert variation(s, "compliant") < variation(s, "rigid") - 0.03, s
    cost = {v: np.mean([per[s, v, "compliant"] for s in subjects]) for v in (2.0, 3.0, 4.0, 5.0)}
    assert 3.4 <= cost[3.0] <= 4.6 and 3.4 <= cost[4.0] <= 4.6, cost
    assert max(cost.values()) / min(cost.values()) - 1.0 < 0.20, cost
    for s in subjects:
        slow_run = fibre_shares(hamner_runners[s, 2.0]).group_fast_force_share
        fast_run = fibre_shares(hamner_runners[s, 5.0]).group_fast_force_share
        for g in ("calves", "quadriceps", "gluteals", "hamstrings"):
            assert fast_run[g] > slow_run[g], (s, g, slow_run[g], fast_run[g])


def test_validate_energy_command(demo_volume, tmp_path):
    """The command's JSON rows are the library's numbers; a missing folder is one line."""
    import json  # noqa: PLC0415
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run(
        [sys.executable, "-m", "runmuscles", "validate-energy", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["speed_m_s"] for r in rows] == [2.0, 3.0, 4.0, 5.0]
    for r in rows:
        ref = energetics_summary(demo_volume[r["speed_m_s"]])
        assert r["gross_j_per_kg_m"] == pytest.approx(ref["metabolic_cost_j_per_kg_m"], rel=1e-6)
    bad = subprocess.run(
        [sys.executable, "-m", "runmuscles", "validate-energy", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "not found" in bad.stderr


def test_muscle_rows_shares_and_soleus_mass(demo_volume):
    """Shares add to one per phase; with volume strength the soleus weighs rho x its
    Handsfield et al. (2014) volume (6.21 % of 47 m h + 1285 cm^3)."""
    from runmuscles.analyses.energetics import energy_muscle_rows, kcal_for_distance  # noqa: PLC0415
    from runmuscles.model import RunnerModel  # noqa: PLC0415

    a = demo_volume[3.0]
    rows = energy_muscle_rows(a)
    assert sum(r["share_of_energy"] for r in rows) == pytest.approx(1.0)
    for ph in ("braking", "propulsion", "early_swing", "late_swing"):
        assert sum(r[f"{ph}_share_of_energy"] for r in rows) == pytest.approx(1.0)
    h = RunnerModel.load(a.model_path).estimated_height_m()
    volume_cm3 = 0.0621 * (47.0 * a.body_mass_kg * h + 1285.0)
    sol = next(r for r in rows if r["muscle"] == "soleus_r")
    assert sol["mass_kg"] == pytest.approx(MUSCLE_DENSITY_KG_M3 * volume_cm3 * 1e-6, rel=1e-9)
    s = energetics_summary(a)
    assert kcal_for_distance(s["metabolic_cost_j_per_kg_m"], a.body_mass_kg, 1000.0) == pytest.approx(
        s["kcal_per_km"]
    )


def test_validation_summary_per_runner_and_mean():
    from runmuscles.analyses.energetics import energy_validation_summary  # noqa: PLC0415

    def row(subject, v, gross):
        return {
            "subject": subject,
            "speed_m_s": v,
            "gross_j_per_kg_m": gross,
            "net_j_per_kg_m": None if gross is None else gross - 1.2 / v,
        }

    rows = [
        row("a", 2.0, 4.0),
        row("a", 3.0, 5.0),
        row("b", 2.0, 4.4),
        row("b", 3.0, 4.4),
        row("c", 2.0, None),
    ]
    s = energy_validation_summary(rows)
    assert s["runners"]["a"]["gross_variation"] == pytest.approx(0.25)
    assert s["runners"]["b"]["gross_variation"] == pytest.approx(0.0)
    assert "c" not in s["runners"]  # no cost without a stride
    assert s["mean"][2.0] == pytest.approx({"gross_j_per_kg_m": 4.2, "net_j_per_kg_m": 3.6, "n_runners": 2})
    assert s["mean_gross_variation"] == pytest.approx(4.7 / 4.2 - 1.0)
    # 1 kcal/kg/km (Margaria et al. 1963) and 3.40 +- 0.24 J/kg/m (Minetti et al. 2002)
    assert s["references"]["margaria_1963_net_j_per_kg_m"] == pytest.approx(4.184)
    assert s["references"]["minetti_2002_net_j_per_kg_m"] == {"mean": 3.40, "sd": 0.24}


def test_reserve_share_of_positive_work(demo_volume):
    """Shares of positive joint work: 0 when the reserves do nothing, 1 when only they act."""
    import copy  # noqa: PLC0415

    from runmuscles.analyses.energetics import positive_work_shares  # noqa: PLC0415

    a = demo_volume[4.0]
    shares = positive_work_shares(a)
    for v in shares.values():
        assert 0.0 <= v <= 1.0
    assert (
        energetics_summary(a)["reserve_share_of_ankle_positive_work"]
        == shares["reserve_share_of_ankle_positive_work"]
    )
    quiet = copy.copy(a)
    quiet.recruitment = copy.copy(a.recruitment)
    quiet.recruitment.reserve_moment = np.zeros_like(a.recruitment.reserve_moment)
    assert positive_work_shares(quiet)["reserve_share_of_positive_work"] == 0.0
    only = copy.copy(a)
    only.recruitment = copy.copy(a.recruitment)
    only.recruitment.reserve_moment = a.recruitment.muscle_moment
    only.recruitment.muscle_moment = a.recruitment.muscle_moment * 1e-12
    assert positive_work_shares(only)["reserve_share_of_positive_work"] == pytest.approx(1.0)


# -- compliant tendon ------------------------------------------------------------------------
def test_tendon_force_strain_curves_equal_opensim():
    """Thelen 2003, Millard 2013 and De Groote 2016 tendon curves as OpenSim 4 evaluates them,
    and their inverses."""
    osim = pytest.importorskip("opensim")
    from runmuscles.model.muscle_curves import (  # noqa: PLC0415
        degroote_tendon_force_strain,
        degroote_tendon_strain,
        millard_tendon_force_strain,
        millard_tendon_strain,
        thelen_tendon_force_strain,
        thelen_tendon_strain,
    )

    strain = np.linspace(-0.01, 0.12, 261)
    for args in ((), (0.1, 20.0, 0.5, 0.8)):
        curve = osim.TendonForceLengthCurve(*args) if args else osim.TendonForceLengthCurve()
        ref = np.array([curve.calcValue(1.0 + float(e)) for e in strain])
        assert np.allclose(millard_tendon_force_strain(strain, *args), ref, rtol=0, atol=1e-10), args
    dg = osim.DeGrooteFregly2016Muscle()
    for e0 in (0.049, 0.033):
        dg.set_tendon_strain_at_one_norm_force(e0)
        ref = np.array([dg.calcTendonForceMultiplier(1.0 + float(e)) for e in strain])
        assert np.allclose(degroote_tendon_force_strain(strain, e0), ref, rtol=0, atol=1e-12)
    # Thelen2003Muscle: tendon force over F0 at the tendon strain of its force equilibrium
    m, mus = _one_muscle_slider(osim, "Thelen2003Muscle")
    mus.set_FmaxTendonStrain(0.033)
    m.addForce(mus)
    s = m.initSystem()
    got, ref = [], []
    for length in np.linspace(0.27, 0.33, 7):
        for a in (0.05, 0.3, 1.0):
            m.getCoordinateSet().get(0).setValue(s, float(length))
            mus.setActivation(s, a)
            m.equilibrateMuscles(s)
            m.realizeDynamics(s)
            got.append(thelen_tendon_force_strain(mus.getTendonStrain(s), 0.033))
            ref.append(mus.getTendonForce(s) / F0_N)
    assert np.allclose(got, ref, rtol=0, atol=1e-9)
    assert min(ref) < 0.33 < max(ref)  # toe and linear regions both checked
    force = np.linspace(0.0, 1.5, 151)
    for fwd, inv in (
        (thelen_tendon_force_strain, thelen_tendon_strain),
        (degroote_tendon_force_strain, degroote_tendon_strain),
    ):
        assert np.allclose(fwd(inv(force, 0.04), 0.04), force, rtol=0, atol=1e-12)
    assert np.allclose(millard_tendon_force_strain(millard_tendon_strain(force)), force, rtol=0, atol=1e-12)
    assert thelen_tendon_strain(1.0, 0.033) == pytest.approx(0.033, rel=1e-12)
    assert millard_tendon_strain(1.0) == pytest.approx(0.049, rel=1e-9)


def test_compliant_fibre_length_equals_opensim_equilibrium():
    """From the tendon force of OpenSim's equilibrium, the compliant tendon state gives back
    OpenSim's tendon and fibre lengths (Thelen2003 and Millard2012 muscles)."""
    osim = pytest.importorskip("opensim")
    from runmuscles.analyses.energetics import compliant_tendon_state  # noqa: PLC0415

    for cls in ("Thelen2003Muscle", "Millard2012EquilibriumMuscle"):
        m, mus = _one_muscle_slider(osim, cls)
        if cls == "Thelen2003Muscle":
            mus.set_FmaxTendonStrain(0.033)
        else:
            mus.set_ignore_tendon_compliance(False)
            mus.set_fiber_damping(0.0)
        m.addForce(mus)
        s = m.initSystem()
        code = np.array([CLASS_CODES[cls]])
        params = {
            "max_isometric_force_n": np.array([F0_N]),
            "optimal_fiber_length_m": np.array([LOPT_M]),
            "tendon_slack_length_m": np.array([LTS_M]),
            "pennation_at_optimal_rad": np.array([ALPHA_RAD]),
            "curve_table": np.array([0.0]),
        }
        if cls == "Thelen2003Muscle":
            params["max_pennation_rad"] = np.array([mus.get_maximum_pennation_angle()])
            params["thelen_kshape_active"] = np.array([mus.get_KshapeActive()])
            props = {"tendon_strain_at_one_norm_force": np.array([0.033])}
            tables = None
        else:
            params["max_pennation_rad"] = np.array([mus.get_maximum_pennation_angle()])
            fl = mus.getActiveForceLengthCurve()
            grid = np.linspace(0.0, 3.0, 6001)
            fl_args = (
                fl.getMinActiveFiberLength(),
                fl.getTransitionFiberLength(),
                fl.getMaxActiveFiberLength(),
                fl.getShallowAscendingSlope(),
                fl.getMinValue(),
            )
            tables = {"fl_x": grid, "fl": millard_active_force_length(grid, *fl_args)[None, :]}
            props = {
                "tendon_strain_at_one_norm_force": np.array([0.049]),
                "millard_tendon_stiffness_at_one_norm_force": np.array([np.nan]),
                "millard_tendon_norm_force_at_toe_end": np.array([2.0 / 3.0]),
                "millard_tendon_curviness": np.array([0.5]),
            }
        for length in (0.28, 0.30, 0.32):
            for a in (0.2, 0.7, 1.0):
                m.getCoordinateSet().get(0).setValue(s, length)
                mus.setActivation(s, a)
                m.equilibrateMuscles(s)
                m.realizeDynamics(s)
                force = np.array([[mus.getTendonForce(s)]])
                lt, vt = compliant_tendon_state(np.array([0.0]), force, code, params, props)
                assert lt[0, 0] == pytest.approx(mus.getTendonLength(s), abs=1e-9), (cls, length, a)
                assert vt[0, 0] == 0.0
                lce, _, _ = fibre_kinematics(
                    np.array([[length]]),
                    np.array([[0.0]]),
                    code,
                    params,
                    tables,
                    tendon_length_m=lt,
                    tendon_speed_m_s=vt,
                )
                assert lce[0, 0] == pytest.approx(mus.getNormalizedFiberLength(s), abs=1e-8), (cls, length, a)


def test_compliant_tendon_speed_is_the_time_derivative_of_its_length():
    """A smoothly varying force: tendon speed = l_slack d(strain)/dF dF/dt (chain rule), and a
    constant force leaves the fibre velocity that of a rigid tendon."""
    from runmuscles.analyses.energetics import compliant_tendon_state  # noqa: PLC0415
    from runmuscles.model.muscle_curves import thelen_tendon_force_strain  # noqa: PLC0415

    t = np.arange(0.0, 1.0 + 1e-9, 0.01)
    e0 = 0.033
    code = np.array([CLASS_CODES["Thelen2003Muscle"]])
    params = {
        "max_isometric_force_n": np.array([F0_N]),
        "tendon_slack_length_m": np.array([LTS_M]),
        "optimal_fiber_length_m": np.array([LOPT_M]),
        "pennation_at_optimal_rad": np.array([ALPHA_RAD]),
        "max_pennation_rad": np.array([np.arccos(0.1)]),
        "thelen_kshape_active": np.array([0.45]),
    }
    props = {"tendon_strain_at_one_norm_force": np.array([e0])}
    omega = 2.0 * np.pi * 1.5
    force = F0_N * (0.5 + 0.4 * np.sin(omega * t))[:, None]  # through toe and linear regions
    lt, vt = compliant_tendon_state(t, force, code, params, props)
    strain = lt[:, 0] / LTS_M - 1.0
    h = 1e-7
    dforce_dstrain = (
        thelen_tendon_force_strain(strain + h, e0) - thelen_tendon_force_strain(strain - h, e0)
    ) / (2 * h)
    ref = LTS_M * 0.4 * omega * np.cos(omega * t) / dforce_dstrain
    assert np.abs(vt[:, 0] - ref).max() < 0.02 * np.abs(ref).max()
    # constant force: stretched tendon, same fibre velocity as with a rigid tendon at that length
    length = 0.30 + 0.02 * np.sin(omega * t)[:, None]
    speed = 0.02 * omega * np.cos(omega * t)[:, None]
    lt, vt = compliant_tendon_state(t, np.full(length.shape, 0.8 * F0_N), code, params, props)
    assert np.all(lt > LTS_M) and np.abs(vt).max() < 1e-12
    stretched = {**params, "tendon_slack_length_m": lt[0]}
    _, v_rigid, _ = fibre_kinematics(length, speed, code, stretched)
    _, v_comp, _ = fibre_kinematics(length, speed, code, params, tendon_length_m=lt, tendon_speed_m_s=vt)
    assert np.allclose(v_comp, v_rigid, rtol=1e-12, atol=1e-12)


def test_tendon_properties_read_from_the_model(demo_volume, shared_data):
    """The hamner2013 models declare 3.3 % tendon strain at F0; Rajagopal et al. (2016)
    leaves its Millard tendon curves at their defaults (4.9 %)."""
    from runmuscles.analyses.energetics import tendon_properties  # noqa: PLC0415

    a = demo_volume[3.0]
    names = list(a.muscle_names)
    props = tendon_properties(a.model_path, names, ["Thelen2003Muscle"] * len(names))
    assert np.all(props["tendon_strain_at_one_norm_force"] == pytest.approx(0.033))
    with pytest.raises(Exception, match="not found"):
        tendon_properties(a.model_path, names, ["Millard2012EquilibriumMuscle"] * len(names))
    raj = shared_data / "models" / "Rajagopal2016.osim"
    props = tendon_properties(raj, ["soleus_r", "vasint_r"], ["Millard2012EquilibriumMuscle"] * 2)
    assert np.all(props["tendon_strain_at_one_norm_force"] == 0.049)
    assert np.all(np.isnan(props["millard_tendon_stiffness_at_one_norm_force"]))
    assert np.all(props["millard_tendon_norm_force_at_toe_end"] == pytest.approx(2.0 / 3.0))


def test_compliant_tendon_stores_and_returns_fibre_work(demo_volume):
    """Over whole strides the tendons return what they store, so the fibres' net work is that
    of a rigid tendon, while their positive and negative work both shrink (Roberts 1997;
    Uchida et al. 2016); the calves' fibres change length less in stance."""
    from runmuscles.analyses.energetics import (  # noqa: PLC0415
        _geometry_params,
        compliant_tendon_state,
        tendon_properties,
    )
    from runmuscles.analyses.fibres import _frame_weights  # noqa: PLC0415

    a = demo_volume[4.0]
    rigid = energetics_summary(a, tendon="rigid")["fibre_work_j_per_stride"]
    comp = energetics_summary(a, tendon="compliant")["fibre_work_j_per_stride"]
    assert comp["positive"] < rigid["positive"] and comp["negative"] > rigid["negative"]
    net_r, net_c = rigid["positive"] + rigid["negative"], comp["positive"] + comp["negative"]
    # equal but for the tendons' energy at the strides' ends (about 1 J per stride here) and the
    # error of sampling force and tendon length at 100 Hz (about 6 J per stride here)
    assert abs(net_c - net_r) < 0.02 * rigid["positive"], (rigid, comp)
    en_r, en_c = muscle_energetics(a, tendon="rigid"), muscle_energetics(a, tendon="compliant")
    assert en_c.tendon == "compliant" and en_r.tendon == "rigid"
    _, inside = _frame_weights(a.time_s, a.cycles)
    assert en_c.total_w[inside].sum() < en_r.total_w[inside].sum()
    code, params, tables, _, classes = _geometry_params(a)
    props = tendon_properties(a.model_path, list(a.muscle_names), classes)
    force = a.recruitment.muscle_force_n
    lt, vt = compliant_tendon_state(a.time_s, force, code, params, props)
    kin = {
        "rigid": fibre_kinematics(a.muscle_length_m, a.muscle_speed_m_s, code, params, tables),
        "compliant": fibre_kinematics(
            a.muscle_length_m,
            a.muscle_speed_m_s,
            code,
            params,
            tables,
            tendon_length_m=lt,
            tendon_speed_m_s=vt,
        ),
    }
    stance = inside & np.isin(a.phase_per_frame(), ["braking", "propulsion"])
    for m in ("soleus_r", "med_gas_r", "lat_gas_r"):
        j = a.muscle_names.index(m)
        excursion = {k: np.ptp(v[0][stance, j]) for k, v in kin.items()}
        assert excursion["compliant"] < 0.95 * excursion["rigid"], (m, excursion)
    assert energetics_summary(a)["settings"]["tendon"] == "compliant"  # the default
    with pytest.raises(Exception, match="unknown tendon model"):
        muscle_energetics(a, tendon="springy")
