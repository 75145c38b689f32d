"""The dynamic muscle solution's replacements of model parameters (issue 15): the triceps surae's
tendon strain at F0 and the maximum contraction velocity, each a named setting with its source,
recorded where they changed the model and used by the energetics of the solution."""

from __future__ import annotations

import numpy as np
import pytest

from runmuscles.muscles.dynamic_model import (
    ARNOLD2013_PLANTARFLEXOR_TENDON_STRAIN,
    LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S,
    DynamicSettings,
    muscle_parameter_overrides,
    solution_max_contraction_velocity,
)

#: Hamner 2010 names: the triceps surae, two other plantarflexors, a hip flexor, a trunk muscle.
NAMES = ["soleus_r", "med_gas_r", "lat_gas_r", "tib_post_r", "flex_dig_r", "psoas_r", "ercspn_r"]
CALVES = np.array([True, True, True, False, False, False, False])


def _tendon() -> dict[str, np.ndarray]:
    n = len(NAMES)
    return {
        "tendon_strain_at_one_norm_force": np.full(n, 0.033),
        "millard_tendon_stiffness_at_one_norm_force": np.full(n, np.nan),
        "millard_tendon_norm_force_at_toe_end": np.full(n, np.nan),
        "millard_tendon_curviness": np.full(n, np.nan),
    }


def test_the_model_values_stay_when_the_settings_name_none():
    st = DynamicSettings.default().with_(
        triceps_surae_tendon_strain=None, max_contraction_velocity_lopt_s=None
    )
    tendon, vmax, record = muscle_parameter_overrides(NAMES, _tendon(), np.full(len(NAMES), 10.0), st)
    assert np.all(tendon["tendon_strain_at_one_norm_force"] == 0.033)
    assert np.all(vmax == 10.0)
    assert record == {}


def test_the_triceps_surae_tendons_alone_take_the_published_strain():
    st = DynamicSettings.default().with_(
        triceps_surae_tendon_strain=ARNOLD2013_PLANTARFLEXOR_TENDON_STRAIN,
        max_contraction_velocity_lopt_s=None,
    )
    model_tendon = _tendon()
    tendon, vmax, record = muscle_parameter_overrides(NAMES, model_tendon, np.full(len(NAMES), 10.0), st)
    e0 = tendon["tendon_strain_at_one_norm_force"]
    assert np.all(e0[CALVES] == 0.10) and np.all(e0[~CALVES] == 0.033)
    assert np.all(model_tendon["tendon_strain_at_one_norm_force"] == 0.033)  # the input is not changed
    assert np.all(vmax == 10.0)
    entry = record["triceps_surae_tendon_strain"]
    assert entry["value"] == 0.10 and entry["model_values"] == [0.033]
    assert entry["muscles"] == ["soleus_r", "med_gas_r", "lat_gas_r"]
    assert "Arnold" in entry["source"]


def test_rigid_tendons_are_not_given_a_strain():
    st = DynamicSettings.default().with_(compliant="none", triceps_surae_tendon_strain=0.10)
    tendon, _, record = muscle_parameter_overrides(NAMES, _tendon(), np.full(len(NAMES), 10.0), st)
    assert np.all(tendon["tendon_strain_at_one_norm_force"] == 0.033)
    assert "triceps_surae_tendon_strain" not in record


def test_the_maximum_contraction_velocity_replaces_the_compliant_muscles_and_the_energetics_follow():
    model_vmax = np.array([10.0, 10.0, 10.0, 12.0, 10.0, 10.0, 10.0])
    st = DynamicSettings.default().with_(
        compliant="triceps_surae",
        triceps_surae_tendon_strain=None,
        max_contraction_velocity_lopt_s=LAI2017_MAX_CONTRACTION_VELOCITY_LOPT_S,
    )
    _, vmax, record = muscle_parameter_overrides(NAMES, _tendon(), model_vmax, st)
    assert np.all(vmax[CALVES] == 20.0) and np.all(vmax[~CALVES] == model_vmax[~CALVES])
    entry = record["max_contraction_velocity_lopt_s"]
    assert entry["muscles"] == ["soleus_r", "med_gas_r", "lat_gas_r"] and entry["model_values"] == [10.0]
    assert "Lai" in entry["source"]
    # the energetics of the solution normalize its fibre velocities as it did
    assert np.array_equal(solution_max_contraction_velocity(NAMES, model_vmax, record), vmax)
    assert np.array_equal(solution_max_contraction_velocity(NAMES, model_vmax, {}), model_vmax)
    every = muscle_parameter_overrides(NAMES, _tendon(), model_vmax, st.with_(compliant="all"))[2]
    assert every["max_contraction_velocity_lopt_s"]["muscles"] == "all"
    assert np.all(solution_max_contraction_velocity(NAMES, model_vmax, every) == 20.0)


@pytest.mark.parametrize("name", ["triceps_surae_tendon_strain", "max_contraction_velocity_lopt_s"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_settings_refuse_values_that_are_not_positive_numbers(name, value):
    with pytest.raises(ValueError, match=name):
        DynamicSettings.default().with_(**{name: value})


def test_the_moco_preset_keeps_the_model_parameters():
    """MocoInverse's replacement muscles keep the model's tendon strain and velocity, so the
    Moco comparison (tests/test_dynamic_vs_moco.py) is not changed by the running defaults."""
    st = DynamicSettings.moco()
    assert st.triceps_surae_tendon_strain is None and st.max_contraction_velocity_lopt_s is None
    _, vmax, record = muscle_parameter_overrides(NAMES, _tendon(), np.full(len(NAMES), 10.0), st)
    assert record == {} and np.all(vmax == 10.0)
