"""Volume-based maximum isometric forces (Handsfield et al. 2014; Rajagopal et al. 2016)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from runmuscles.errors import InputError
from runmuscles.model.strength import (
    HANDSFIELD_VOLUME_FRACTION,
    handsfield_muscle,
    lower_limb_muscle_volume_cm3,
    volume_scaled_max_isometric_force,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
RAJAGOPAL = DATA / "models" / "Rajagopal2016.osim"
HAMNER = DATA / "hamner2013" / "subject01" / "model" / "subject01_adjusted_scaled.osim"
DEGROOTE = DATA / "fukuchi2017" / "RBDS001" / "RBDS001_complex.osim"

MUSCLE_TAGS = ("Millard2012EquilibriumMuscle", "Thelen2003Muscle", "DeGrooteFregly2016Muscle")


def read_muscles(path: Path):
    """Names, optimal fibre lengths and forces of a model's muscles, and its total body mass."""
    if not path.exists():
        pytest.skip(f"{path} is not present")
    root = ET.parse(path).getroot()
    names, lopt, f0 = [], [], []
    for objects in root.iter("ForceSet"):
        for el in objects.find("objects"):
            if el.tag not in MUSCLE_TAGS:
                continue
            names.append(el.get("name"))
            lopt.append(float(el.findtext("optimal_fiber_length")))
            f0.append(float(el.findtext("max_isometric_force")))
    mass = sum(float(b.findtext("mass")) for bodies in root.iter("BodySet") for b in bodies.find("objects"))
    return names, np.array(lopt), np.array(f0), mass


def test_reproduces_rajagopal_forces_for_its_subject():
    """Rajagopal et al. (2016) set their model's forces this way for a 1.70 m subject whose
    mass is the model's (75.3 kg): every force comes back within 1 %."""
    names, lopt, f0, mass = read_muscles(RAJAGOPAL)
    assert mass == pytest.approx(75.337, abs=0.01)
    new, prov = volume_scaled_max_isometric_force(names, f0, lopt, mass, 1.70)
    assert prov["unmatched"] == []
    assert np.max(np.abs(new / f0 - 1.0)) < 0.01


def test_volumes_add_up_to_handsfield_total():
    names, lopt, f0, _ = read_muscles(RAJAGOPAL)
    _, prov = volume_scaled_max_isometric_force(names, f0, lopt, 70.0, 1.80)
    total = lower_limb_muscle_volume_cm3(70.0, 1.80)
    assert total == pytest.approx(47 * 70 * 1.8 + 1285)
    right = sum(m["volume_cm3"] for n, m in prov["muscles"].items() if n.endswith("_r"))
    assert right == pytest.approx(total * sum(HANDSFIELD_VOLUME_FRACTION.values()), rel=1e-9)


def test_force_grows_with_mass_times_height():
    names, lopt, f0, _ = read_muscles(RAJAGOPAL)
    a, _ = volume_scaled_max_isometric_force(names, f0, {"optimal_fiber_length_m": lopt}, 60.0, 1.70)
    b, _ = volume_scaled_max_isometric_force(names, f0, {"optimal_fiber_length_m": lopt}, 90.0, 1.70)
    ratio = (47 * 90 * 1.7 + 1285) / (47 * 60 * 1.7 + 1285)
    assert np.allclose(b / a, ratio)


def test_names_of_three_models_map_to_handsfield():
    h_names, h_lopt, h_f0, _ = read_muscles(HAMNER)
    new, prov = volume_scaled_max_isometric_force(h_names, h_f0, h_lopt, 75.0, 1.78)
    unmatched = {n[:-2] for n in prov["unmatched"]}
    assert unmatched == {"pect", "gem", "quad_fem", "ercspn", "intobl", "extobl"}
    kept = np.array([n in prov["unmatched"] for n in h_names])
    assert np.array_equal(new[kept], h_f0[kept])
    assert handsfield_muscle("glut_max2_l") == "gluteus_maximus"
    assert handsfield_muscle("glmax3_r") == "gluteus_maximus"
    assert handsfield_muscle("bflh140_r") == "biceps_femoris_long"
    assert handsfield_muscle("lat_gas_r") == "gastrocnemius_lateral"
    d_names, d_lopt, d_f0, _ = read_muscles(DEGROOTE)
    _, prov = volume_scaled_max_isometric_force(d_names, d_f0, d_lopt, 75.0, 1.78)
    assert prov["unmatched"] == []


def test_bad_inputs_are_reported():
    with pytest.raises(InputError, match="mass"):
        lower_limb_muscle_volume_cm3(-3.0, 1.7)
    with pytest.raises(InputError, match="height"):
        lower_limb_muscle_volume_cm3(70.0, 170.0)  # centimetres, not metres
    with pytest.raises(InputError):
        volume_scaled_max_isometric_force(["a_r"], np.ones(1), np.ones(2), 70.0, 1.7)
