"""The dynamic muscle solution (compliant tendons, activation dynamics, direct collocation).

Physics checks on the bundled runner's stride (Hamner & Delp 2013 subject01 Run_4, cycle 1,
volume strength), kept fast: the rigid limit on the whole stride, the compliant solution on
the trunk block (6 muscles) over a short window.
"""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("casadi") is None:  # found, never imported here: OpenSim's own
    pytest.skip("casadi is not installed", allow_module_level=True)  # libcasadi clashes with it

from runmuscles.errors import InputError  # noqa: E402
from runmuscles.model import RunnerModel  # noqa: E402
from runmuscles.model.muscle_curves import (  # noqa: E402
    degroote_active_force_length,
    degroote_force_velocity,
)
from runmuscles.muscles.dynamic import muscle_blocks, solve_dynamic  # noqa: E402
from runmuscles.muscles.dynamic_model import TENDON_FORCE_GRID, DynamicSettings, tendon_strain  # noqa: E402
from runmuscles.muscles.dynamic_pipeline import dynamic_inputs, dynamic_recruitment  # noqa: E402
from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: E402
from runmuscles.trials import demo_trials  # noqa: E402


@pytest.fixture(scope="module")
def stride():
    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    a = analyze_trial(
        spec.model, spec.coordinates, spec.forces, AnalysisOptions(speed_m_s=4.0, strength="volume", cycle=1)
    )
    model = RunnerModel.load(a.model_path)
    if a.residual_reduction is not None:  # the analysis ran on the adjusted masses (volume strength too)
        model = dataclasses.replace(model, multibody=a.residual_reduction.multibody)
    geo = model.muscle_geometry(a.coordinates.q, a.coordinates.qdot, strength="volume")
    return a, model, geo


def _window(inp, frames: slice, muscles: np.ndarray, rows: np.ndarray, reserves: np.ndarray):
    """The inputs restricted to some frames, one block's muscles, rows and reserves."""
    cut = {}
    for f in dataclasses.fields(inp):
        v = getattr(inp, f.name)
        if f.name == "curves":
            continue
        if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == inp.time_s.size:
            v = v[frames]
        cut[f.name] = v
    cut["moment_arm"] = cut["moment_arm"][:, rows][:, :, muscles]
    cut["reserve_gain"] = cut["reserve_gain"][:, rows][:, :, reserves]
    cut["target"] = cut["target"][:, rows]
    for k in ("length_m", "speed_m_s", "rigid_strength_n", "seed_activation"):
        cut[k] = cut[k][:, muscles]
    cut["seed_reserve"] = cut["seed_reserve"][:, reserves]
    for k in ("reserve_lower", "reserve_upper"):
        cut[k] = cut[k][reserves]
    for k in (
        "min_activation",
        "max_activation",
        "max_isometric_force_n",
        "optimal_fiber_length_m",
        "tendon_slack_length_m",
        "pennation_at_optimal_rad",
        "max_contraction_velocity_lopt_s",
        "compliant",
    ):
        cut[k] = cut[k][muscles]
    c = inp.curves
    cut["curves"] = dataclasses.replace(
        c,
        fl_row=c.fl_row[muscles],
        fv_row=c.fv_row[muscles],
        fpas_row=c.fpas_row[muscles],
        strain_row=c.strain_row[muscles],
    )
    return type(inp)(**cut)


def test_blocks_split_the_legs_and_trunk(stride):
    a, model, geo = stride
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, DynamicSettings.rigid_limit())
    blocks, lone = muscle_blocks(inp.moment_arm, inp.reserve_gain)
    names = a.muscle_names
    sides = [{names[m][-2:] for m in b.muscles} for b in blocks]
    assert sorted(b.muscles.size for b in blocks) == [6, 43, 43]
    assert {"_r"} in sides and {"_l"} in sides
    assert sum(b.muscles.size for b in blocks) == len(names)
    assert lone.size == 0


def test_rigid_limit_without_activation_dynamics_is_static_optimization(stride):
    a, model, geo = stride
    st = DynamicSettings.rigid_limit(activation_dynamics=False).with_(tolerance=1e-8, mesh_interval_s=None)
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
    sol = solve_dynamic(inp, st)
    assert sol.converged
    so = a.recruitment.activation
    assert np.abs(sol.activation - so).max() < 0.01
    assert np.sqrt(np.mean((sol.activation - so) ** 2)) < 1e-3
    # the moments are met exactly (equality constraints)
    assert np.abs(sol.muscle_moment + sol.reserve_moment - inp.target).max() < 1e-5
    # rigid tendons: tendon force = activation x static optimization's strength
    assert np.allclose(sol.tendon_force_n, sol.activation * inp.rigid_strength_n, atol=1e-9)


def test_compliant_trunk_block_physics(stride):
    a, model, geo = stride
    st = DynamicSettings.default().with_(mesh_interval_s=None)  # every frame a node
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
    blocks, _ = muscle_blocks(inp.moment_arm, inp.reserve_gain)
    trunk = next(b for b in blocks if b.muscles.size == 6)
    sub = _window(inp, slice(10, 30), trunk.muscles, trunk.rows, trunk.reserves)
    sol = solve_dynamic(sub, st)
    assert sol.converged, sol.block_status
    # moments met; activations and excitations within their bounds
    scale = 1.0 + np.abs(sub.target).max()
    assert np.abs(sol.muscle_moment + sol.reserve_moment - sub.target).max() < 1e-3 * scale
    for v in (sol.activation, sol.excitation):
        assert np.all(v >= sub.min_activation - 1e-6) and np.all(v <= sub.max_activation + 1e-6)
    # tendon length from the tendon force through the model's own tendon curve (Thelen 2003)
    code = np.zeros(6, dtype=int)
    idx = trunk.muscles
    from runmuscles.analyses.energetics import tendon_properties  # noqa: PLC0415

    props = tendon_properties(a.model_path, [a.muscle_names[i] for i in idx], ["Thelen2003Muscle"] * 6)
    f_norm = sol.tendon_force_n / sub.max_isometric_force_n
    lt = sub.tendon_slack_length_m * (1.0 + tendon_strain(f_norm, code, props))
    assert np.allclose(sol.tendon_length_m, lt, atol=2e-4)
    # Hill equilibrium with the model's own curves (NumPy), within the spline fit
    p = {k: v[idx] for k, v in geo.muscle_params.items()}
    lopt = p["optimal_fiber_length_m"]
    ln = sol.fibre_length_m / lopt
    vn = sol.fibre_velocity_m_s / (sub.max_contraction_velocity_lopt_s * lopt)  # the solution's own
    width_m = lopt * np.sin(p["pennation_at_optimal_rad"])
    along = np.sqrt(np.maximum(sol.fibre_length_m**2 - width_m**2, 0))
    cos_a = along / sol.fibre_length_m
    # the default fibre curves: De Groote et al. 2016's
    fl = degroote_active_force_length(ln, 1.0)
    fv = degroote_force_velocity(vn)
    fibre = (sol.activation * fl * fv + st.fibre_damping * vn) * cos_a
    assert np.abs(fibre - f_norm).max() < 0.02
    # fibre length along the tendon = path length - tendon length
    assert np.allclose(along, sub.length_m - sol.tendon_length_m, atol=1e-3 * lopt.max())


def test_inputs_carry_the_replaced_parameters(stride):
    """The tendon strain at F0 of the triceps surae and the maximum contraction velocity reach the
    collocation problem (its tabulated tendon curves and velocities), the rest stays the model's."""
    a, model, geo = stride
    names = list(a.muscle_names)
    st = DynamicSettings.default().with_(
        triceps_surae_tendon_strain=0.10, max_contraction_velocity_lopt_s=20.0
    )
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
    assert np.all(inp.max_contraction_velocity_lopt_s == 20.0)
    assert np.all(np.asarray(geo.muscle_params["max_contraction_velocity_lopt_s"]) == 10.0)  # not changed

    def strain_at_f0(muscle: str) -> float:
        row = inp.curves.strain[inp.curves.strain_row[names.index(muscle)]]
        return float(np.interp(1.0, TENDON_FORCE_GRID, row))

    for m in ("soleus_r", "med_gas_l", "lat_gas_r"):
        assert strain_at_f0(m) == pytest.approx(0.10, abs=1e-6)
    for m in ("tib_post_r", "vas_lat_r", "psoas_l"):
        assert strain_at_f0(m) == pytest.approx(0.033, abs=1e-6)
    assert set(inp.parameter_changes) == {"triceps_surae_tendon_strain", "max_contraction_velocity_lopt_s"}
    model_own = st.with_(triceps_surae_tendon_strain=None, max_contraction_velocity_lopt_s=None)
    inp0 = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, model_own)
    assert inp0.parameter_changes == {} and np.all(inp0.max_contraction_velocity_lopt_s == 10.0)


def test_failure_is_a_warning_and_the_static_solution_stays(stride):
    a, model, geo = stride
    st = DynamicSettings.default().with_(max_iterations=1)
    rec, warnings, sol = dynamic_recruitment(model, geo, a.problem, a.recruitment, a.time_s, st)
    assert rec is a.recruitment
    assert [w.code for w in warnings] == ["dynamic_not_converged"]
    assert sol is not None and not sol.converged


def test_muscles_option_is_a_declared_choice():
    assert AnalysisOptions(muscles="dynamic").muscles == "dynamic"
    with pytest.raises(InputError, match="static, dynamic"):
        AnalysisOptions(muscles="hill")


def test_analysis_with_the_dynamic_solution_writes_its_states(tmp_path):
    import pyarrow.parquet as pq  # noqa: PLC0415

    from runmuscles.analyses.energetics import muscle_energetics  # noqa: PLC0415
    from runmuscles.results import write_results  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    opts = AnalysisOptions(speed_m_s=4.0, strength="volume", start_s=0.9, end_s=1.1, muscles="dynamic")
    a = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    rec = a.recruitment
    assert rec.solution == "dynamic", a.quality["warnings"]
    assert rec.tendon_length_m.shape == rec.activation.shape
    # every frame in equilibrium: muscles plus reserves reproduce the joint moments
    assert np.abs(rec.moment_residual).max() < 1e-3 * (1.0 + np.abs(rec.target_moment).max())
    paths = write_results(a, tmp_path)
    cols = pq.read_table(paths["timeseries"]).column_names
    assert {"excitation", "tendon_length_m", "fibre_length_m", "fibre_velocity_m_s"} <= set(cols)
    assert a.summary()["settings"]["muscles"] == "dynamic"
    # the model parameters the default settings replaced are in the provenance, with sources
    st = DynamicSettings.default()
    changed = a.summary()["provenance"]["dynamic_muscle_parameters"]
    assert changed == rec.parameter_changes
    if st.max_contraction_velocity_lopt_s is not None:
        entry = changed["max_contraction_velocity_lopt_s"]
        assert entry["value"] == st.max_contraction_velocity_lopt_s and entry["model_values"] == [10.0]
        assert entry["muscles"] == "all" and entry["source"]
    if st.triceps_surae_tendon_strain is not None:
        entry = changed["triceps_surae_tendon_strain"]
        assert entry["value"] == st.triceps_surae_tendon_strain and len(entry["muscles"]) == 6
    # the energetics take the solution's own fibre states: the fibre's power is its force
    # F_T / cos(pennation) times its shortening speed, cos = along / l_M as the solver defines it
    e = muscle_energetics(a, tendon="compliant")
    assert np.allclose(e.fibre_power_w, _solution_fibre_power(a), rtol=1e-9, atol=1e-9)


def _solution_fibre_power(a) -> np.ndarray:
    """``-(F_T / cos) v_M`` from the solution's fibre length, ``cos = along / l_M`` with ``along =
    sqrt(l_M^2 - h^2)``, ``h = l_opt sin(alpha_opt)`` (the solver's constant-thickness pennation);
    NaN where the fibre lies nearly across its tendon (cos < 1e-3)."""
    params = RunnerModel.load(a.model_path).geometry.params
    rec = a.recruitment
    h = params["optimal_fiber_length_m"] * np.sin(params["pennation_at_optimal_rad"])
    lm = rec.fibre_length_m
    cos_a = np.sqrt(np.maximum(lm**2 - h**2, 0.0)) / lm
    with np.errstate(divide="ignore", invalid="ignore"):
        power = -rec.muscle_force_n / cos_a * rec.fibre_velocity_m_s
    return np.where(cos_a >= 1e-3, power, np.nan)


@pytest.fixture(scope="module")
def dynamic_stride():
    """The bundled runner's 4 m/s stride (cycle 1, volume strength) with the dynamic solution."""
    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    opts = AnalysisOptions(speed_m_s=4.0, strength="volume", cycle=1, muscles="dynamic")
    return analyze_trial(spec.model, spec.coordinates, spec.forces, opts)


def test_dynamic_stride_energetics_use_the_solution_fibre_states(dynamic_stride):
    """A dynamic stride's energetics take the solution's own fibre length, velocity, pennation
    and power: the fibre's power is its force times its shortening speed, its work over the
    stride is the tendon force times the path's speed less the tendon's (the tendon speed from
    the time derivative of the solution's tendon length), and the cost is a cost of running."""
    from runmuscles.analyses.energetics import energetics_summary, muscle_energetics  # noqa: PLC0415
    from runmuscles.analyses.fibres import _frame_weights  # noqa: PLC0415
    from runmuscles.analyses.validity import ENERGY_PLAUSIBILITY_CODE, energy_cost_warning  # noqa: PLC0415

    a = dynamic_stride
    rec = a.recruitment
    assert rec.solution == "dynamic", a.quality["warnings"]
    assert len(a.cycles) == 1
    e = muscle_energetics(a)
    expected = _solution_fibre_power(a)
    known = np.isfinite(expected)
    assert known.mean() > 0.99
    assert np.allclose(e.fibre_power_w[known], expected[known], rtol=1e-9, atol=1e-9)
    assert np.all(np.isfinite(e.total_w)) and e.total_w.min() >= -1e-9  # no muscle regains energy
    # fibre work = tendon force x (path speed - tendon speed), per muscle over the stride
    w, _ = _frame_weights(a.time_s, a.cycles)
    dt = float(np.mean(np.diff(a.time_s)))
    v_t = np.gradient(rec.tendon_length_m, dt, axis=0)
    from_tendon = w @ (-rec.muscle_force_n * (a.muscle_speed_m_s - v_t))
    fibre = w @ e.fibre_power_w
    scale = w @ np.abs(e.fibre_power_w)
    big = scale > 0.05 * scale.max()
    assert np.all(np.abs(fibre - from_tendon)[big] <= WORK_TOLERANCE * scale[big]), (
        np.abs(fibre - from_tendon)[big] / scale[big]
    )
    assert abs(fibre.sum() - from_tendon.sum()) <= 0.01 * scale.sum()  # all muscles together
    # a cost of running (gross, J/kg/m), not the broken 5.5-1214 J/kg/m of the recomputed fibres
    s = energetics_summary(a, energetics=e)
    cost = s["metabolic_cost_j_per_kg_m"]
    assert energy_cost_warning(cost) is None, cost
    assert ENERGY_PLAUSIBILITY_CODE not in {x["code"] for x in a.summary()["quality"]["warnings"]}
    assert "dynamic solution's own" in s["model"]


#: Largest difference between the fibre work and tendon force x (path - tendon speed) over the
#: stride, as a fraction of the muscle's absolute fibre work: the tendon speed here is the finite
#: difference of the solution's tendon length, which is linear between its mesh nodes (0.02 s,
#: every other frame), so the two differ by the discretization (at most 6 % on this stride,
#: 0.3 % of all muscles' absolute work together).
WORK_TOLERANCE = 0.10


@pytest.mark.parametrize("command", ["analyze", "batch"])
def test_cli_muscles_option_refuses_unknown_solutions(command, tmp_path):
    from cli_helpers import one_line_error, run_cli  # noqa: PLC0415

    args = [command, str(tmp_path), "--out", str(tmp_path / "out"), "--muscles", "hill"]
    one_line_error(run_cli(*args, timeout_s=120), "--muscles", "static, dynamic")


@pytest.mark.parametrize("opensim_first", [True, False])
def test_solves_beside_opensim(stride, opensim_first):
    """OpenSim's own libcasadi and the PyPI package's conflict in one process, whichever is
    loaded first: the solve runs in a fresh interpreter, and OpenSim still loads after it
    (checked in a subprocess, so this process is untouched)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    osim = "import opensim; opensim.Model()\n"
    code = (
        (osim if opensim_first else "") + "import pickle, sys, numpy as np\n"
        "from runmuscles.muscles.dynamic import solve_dynamic\n"
        "inp, st = pickle.load(sys.stdin.buffer)\n"
        "sol = solve_dynamic(inp, st)\n"
        + ("" if opensim_first else osim)
        + "print(sol.converged, float(np.abs(sol.muscle_moment + sol.reserve_moment - inp.target).max()))\n"
    )
    a, model, geo = stride
    st = DynamicSettings.rigid_limit(activation_dynamics=False).with_(mesh_interval_s=None)
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
    blocks, _ = muscle_blocks(inp.moment_arm, inp.reserve_gain)
    trunk = next(b for b in blocks if b.muscles.size == 6)
    sub = _window(inp, slice(0, 10), trunk.muscles, trunk.rows, trunk.reserves)
    import pickle  # noqa: PLC0415

    proc = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps((sub, st)), capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    ok, err = proc.stdout.decode().split()
    assert ok == "True" and float(err) < 1e-4


def test_blocks_solved_in_parallel_equal_blocks_solved_one_after_another(stride):
    """``block_workers=2`` solves the independent blocks in two processes: the same solution
    as one after another (IPOPT is deterministic), per block its iterations and CPU seconds."""
    a, model, geo = stride
    st = DynamicSettings.default().with_(mesh_interval_s=None)
    inp = dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st)
    blocks, _ = muscle_blocks(inp.moment_arm, inp.reserve_gain)
    trunk = next(b for b in blocks if b.muscles.size == 6)
    leg = next(b for b in blocks if b.muscles.size == 43)
    muscles, rows, reserves = (
        np.concatenate([getattr(trunk, k), getattr(leg, k)]) for k in ("muscles", "rows", "reserves")
    )
    sub = _window(inp, slice(10, 25), muscles, rows, reserves)
    # the trunk's tendons compliant, the leg's rigid: both kinds of block in one solve
    sub = dataclasses.replace(sub, compliant=np.arange(muscles.size) < trunk.muscles.size)
    one = solve_dynamic(sub, st.with_(block_workers=1))
    two = solve_dynamic(sub, st.with_(block_workers=2))
    assert one.converged and two.converged, (one.block_status, two.block_status)
    assert len(two.block_status) == 2
    for x, y in (
        (one.activation, two.activation),
        (one.tendon_force_n, two.tendon_force_n),
        (one.reserve_control, two.reserve_control),
    ):
        assert np.allclose(x, y, rtol=1e-9, atol=1e-9)
    assert [b["iterations"] for b in one.block_status] == [b["iterations"] for b in two.block_status]
    assert all(b["cpu_s"] > 0 for b in two.block_status)


def test_block_processes_capped_by_cpus_and_environment(monkeypatch) -> None:
    """The dynamic solution's block processes never exceed the usable CPUs, and batch workers
    (which set the variable to 1) solve their blocks one after another."""
    import os

    from runmuscles.muscles.dynamic import _usable_cpus
    from runmuscles.muscles.dynamic_model import SOLVER_PROCESSES_ENV

    monkeypatch.delenv(SOLVER_PROCESSES_ENV, raising=False)
    cpus = len(os.sched_getaffinity(0))
    assert _usable_cpus() == cpus
    monkeypatch.setenv(SOLVER_PROCESSES_ENV, "1")
    assert _usable_cpus() == 1
    monkeypatch.setenv(SOLVER_PROCESSES_ENV, "not a number")
    assert _usable_cpus() == cpus
    for odd in ("\u00b3", "1.5", "-2", "0"):  # a superscript digit passes str.isdigit
        monkeypatch.setenv(SOLVER_PROCESSES_ENV, odd)
        assert _usable_cpus() == cpus, odd
