"""The energy figures' plausibility and the energetics of a dynamic solution's own fibre states.

* the rule (runmuscles.analyses.validity.energy_cost_warning): a gross cost of running outside
  the physiological band of ``LIMITS["metabolic_cost_j_per_kg_m"]`` marks the energy figures
  not valid, in the quality section that summary.json, the report and the what-ifs read;
* a static analysis given the wrong running speed (a cost four times too high) is flagged in
  its summary, the same analysis at its speed is not;
* :func:`runmuscles.analyses.energetics.solution_fibre_state` on the dynamic solver's own
  definitions, where the path is shorter than the tendon (the case that broke the energetics).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from runmuscles.analyses.energetics import (
    energy_validation_summary,
    minetti_2002_cost_j_per_kg_m,
    solution_fibre_state,
)
from runmuscles.analyses.validity import (
    ENERGY_PLAUSIBILITY_CODE,
    energy_cost_bounds,
    energy_cost_warning,
    figures_flagged,
    flag_reasons,
    mark_energy_plausibility,
)
from runmuscles.model.muscle_curves import CLASS_CODES, degroote_active_force_length
from runmuscles.muscles.dynamic import SLACK_SMOOTHING, _smooth_positive
from runmuscles.quality import quality_mark
from runmuscles.validation import limit


def test_the_limit_is_declared_with_a_source() -> None:
    lim = limit("metabolic_cost_j_per_kg_m")
    assert (lim.low, lim.high, lim.unit) == (2.0, 8.0, "J/kg/m")
    assert "Minetti" in lim.basis and "Margaria" in lim.basis and "Lacour" in lim.basis
    # the measured level costs (net 3.40 J/kg/m, Minetti 2002; 4.18, Margaria 1963) and the
    # project's measured 3.4-4.6 gross are well inside
    for cost in (3.40, 4.184, 3.4, 4.6):
        assert lim.low < cost < lim.high


@pytest.mark.parametrize("cost", [1.9, 8.1, 300.0, 1214.0, -1.0, float("nan"), float("inf")])
def test_an_implausible_cost_invalidates_the_energy_figures(cost: float) -> None:
    w = energy_cost_warning(cost)
    assert w is not None and w.code == ENERGY_PLAUSIBILITY_CODE
    assert w.invalidates and w.affects == ("energy",)


@pytest.mark.parametrize("cost", [2.0, 3.4, 4.6, 5.5, 8.0, None])
def test_a_plausible_cost_or_none_raises_nothing(cost: float | None) -> None:
    assert energy_cost_warning(cost) is None


def test_on_a_slope_the_band_widens_with_the_measured_change() -> None:
    lo0, hi0 = energy_cost_bounds(0.0)
    up = minetti_2002_cost_j_per_kg_m(10.0) / minetti_2002_cost_j_per_kg_m(0.0)
    down = minetti_2002_cost_j_per_kg_m(-10.0) / minetti_2002_cost_j_per_kg_m(0.0)
    assert up > 1.5 and down < 0.7  # Minetti et al. (2002): x1.66 and x0.60
    assert energy_cost_bounds(10.0) == pytest.approx((lo0, hi0 * up))
    assert energy_cost_bounds(-10.0) == pytest.approx((lo0 * down, hi0))
    assert energy_cost_warning(10.0) is not None  # level: implausible
    assert energy_cost_warning(10.0, grade_pct=10.0) is None  # +10 %: within the measured rise
    assert energy_cost_bounds(60.0) == energy_cost_bounds(45.0)  # beyond Minetti's data: their end


def test_marking_the_quality_section_and_replacing_the_verdict() -> None:
    other = {"code": "reserves_do_joint_work", "message": "x", "invalidates": False, "affects": ["muscles"]}
    q = {**quality_mark([other]), "flags": ["x"]}
    assert q["valid"] and not figures_flagged(q)["energy"]
    w = mark_energy_plausibility(q, 300.1)
    assert w is not None and not q["valid"]
    assert figures_flagged(q) == {"energy": True, "muscles": True}
    assert any("300 J/kg/m" in r for r in flag_reasons(q, "energy"))
    assert q["energy_plausibility"]["plausible"] is False
    assert q["energy_plausibility"]["bounds_j_per_kg_m"] == [2.0, 8.0]
    assert len(q["flags"]) == 2
    # judged again (e.g. on the what-if's slope): the earlier verdict is replaced, not kept
    assert mark_energy_plausibility(q, 4.0) is None
    assert q["valid"] and [x["code"] for x in q["warnings"]] == ["reserves_do_joint_work"]
    assert not figures_flagged(q)["energy"] and q["flags"] == ["x"]
    assert q["energy_plausibility"]["plausible"] is True
    mark_energy_plausibility(q, None)  # no speed: no cost, nothing to judge
    assert q["valid"] and q["energy_plausibility"]["plausible"] is None


def test_energy_validation_leaves_implausible_costs_out() -> None:
    rows = [
        {
            "subject": "a",
            "speed_m_s": 5.0,
            "gross_j_per_kg_m": 4.4,
            "net_j_per_kg_m": 4.2,
            "cost_plausible": True,
        },
        {
            "subject": "b",
            "speed_m_s": 5.0,
            "gross_j_per_kg_m": 300,
            "net_j_per_kg_m": 299,
            "cost_plausible": False,
        },
    ]
    s = energy_validation_summary(rows)
    assert "b" not in s["runners"] and s["mean"][5.0]["n_runners"] == 1
    assert s["mean"][5.0]["gross_j_per_kg_m"] == pytest.approx(4.4)


def test_an_implausible_cost_flags_the_summary(demo_4ms) -> None:
    """The summary (what summary.json, the report and the terminal show) judges its own cost:
    the 4 m/s stride's cost is plausible; the same stride's power per metre at a speed 4.4 times
    too slow (a speed the analysis would refuse as stated, set here behind its back) is not."""
    import copy  # noqa: PLC0415
    import dataclasses  # noqa: PLC0415

    _, a = demo_4ms
    s = a.summary()
    assert ENERGY_PLAUSIBILITY_CODE not in {w["code"] for w in s["quality"]["warnings"]}
    assert s["quality"]["energy_plausibility"]["plausible"] is True
    assert s["metabolic_cost_flagged"] == bool(flag_reasons(s["quality"], "energy"))
    wrong = copy.copy(a)
    wrong.options = dataclasses.replace(a.options, speed_m_s=0.9)
    wrong.quality = copy.deepcopy(a.quality)
    wrong._summary = None
    ws = wrong.summary()
    assert ws["metabolic_cost_j_per_kg_m"] == pytest.approx(4.0 / 0.9 * s["metabolic_cost_j_per_kg_m"])
    assert ENERGY_PLAUSIBILITY_CODE in {w["code"] for w in ws["quality"]["warnings"]}
    assert ws["metabolic_cost_flagged"] and not ws["quality"]["valid"]
    assert any("not a result" in r for r in flag_reasons(ws["quality"], "energy"))
    assert s["quality"]["energy_plausibility"]["plausible"] is True  # the original is untouched


def _opts(**kw):
    from runmuscles.pipeline import AnalysisOptions  # noqa: PLC0415

    return AnalysisOptions(strength="volume", cycle=1, **kw)


@pytest.fixture(scope="module")
def demo_4ms():
    from runmuscles.pipeline import analyze_trial  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    return spec, analyze_trial(spec.model, spec.coordinates, spec.forces, _opts(speed_m_s=4.0))


def test_solution_fibre_state_where_the_path_is_shorter_than_the_tendon() -> None:
    """The solver's definitions (runmuscles.muscles.dynamic): along = smooth positive part of
    ``L - l_T``, ``l_M = sqrt(along^2 + h^2)``, ``v_M = (v_MT - v_T) cos``, ``F_T = F_CE cos``.
    The fibre power must be ``F_T (v_MT - v_T)`` even where ``L - l_T <= 0``, where dividing by
    ``L - l_T`` (the old energetics) gives nothing finite or meaningful."""
    lopt = np.array([0.08, 0.05])
    alpha = np.array([0.26, 0.0])
    h = lopt * np.sin(alpha)
    L_minus_lt = np.array([[-0.0024, 0.01], [0.0, -0.001], [0.03, 0.04]])  # (F, M): slack rows
    along = _smooth_positive(L_minus_lt, SLACK_SMOOTHING * lopt, np.sqrt)
    lm = np.sqrt(along**2 + h**2)
    cos_a = along / lm
    v_mt = np.array([[-0.3, 0.2], [0.5, -0.1], [-0.8, 0.05]])
    v_t = np.array([[0.1, 0.0], [-0.2, 0.05], [0.3, -0.02]])
    vm = (v_mt - v_t) * cos_a
    f_ce = np.array([[5.0, 0.0], [20.0, 1.0], [900.0, 300.0]])
    rec = SimpleNamespace(fibre_length_m=lm, fibre_velocity_m_s=vm, muscle_force_n=f_ce * cos_a)
    code = np.full(2, CLASS_CODES["DeGrooteFregly2016Muscle"])
    params = {
        "optimal_fiber_length_m": lopt,
        "pennation_at_optimal_rad": alpha,
        "degroote_active_force_width_scale": np.ones(2),
    }
    norm_length, vel, fl, power = solution_fibre_state(rec, code, params)
    assert np.allclose(norm_length, lm / lopt) and np.allclose(vel, vm / lopt)
    assert np.allclose(fl, degroote_active_force_length(lm / lopt, np.ones(2)))
    assert np.allclose(power, -f_ce * cos_a * (v_mt - v_t), rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(power)) and np.all(norm_length > 0)
    assert solution_fibre_state(SimpleNamespace(fibre_length_m=None), code, params) is None
