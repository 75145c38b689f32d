"""Fibre types: composition per muscle, size-principle recruitment, and fast share vs speed."""

from __future__ import annotations

import numpy as np
import pytest

from runmuscles.analyses.fibres import (
    DEFAULT_SLOW_TWITCH_PERCENT,
    SLOW_TWITCH_PERCENT,
    SLOW_TWITCH_SAMPLES_PERCENT,
    anatomical_muscle,
    fibre_shares,
    recruited_slow_fraction,
    slow_twitch_fraction,
)
from runmuscles.pipeline import AnalysisOptions, analyze_trial
from runmuscles.trials import demo_trials


def test_composition_follows_johnson_1973_ranking():
    """Soleus is the slowest leg muscle sampled, rectus femoris among the fastest (Johnson 1973)."""
    r, prov = slow_twitch_fraction(["soleus_r", "med_gas_r", "vas_lat_r", "rect_fem_r", "tib_ant_l"])
    assert r[0] > r[4] > r[1] > r[2] > r[3]
    assert prov["soleus_r"]["source"].startswith("Johnson")
    for pct, src in SLOW_TWITCH_PERCENT.values():
        assert 20.0 < pct < 95.0 and src


# Type I fibre percentages as printed in the sources that were read (fibres module docstring):
# H. P. Clamann's muscle list quoting Johnson et al. (1973), physiologie.unibe.ch/~clamann/
# muscdata.html: "ADDUCTOR MAGNUS: MAN  Surface: 53.5% type I (43-74) ... Deep: 63.3% type I
# (45-78)"; the transcription of Johnson et al. (1973) in github.com/Beca-Filip/force_distribution
# Test_Patient4.m: soleus (0.864 + 0.890)/2, tibant (0.734 + 0.727)/2, vaslat (0.378 + 0.469)/2,
# vasmed (0.437 + 0.615)/2, recfem (0.295 + 0.420 + 0.428)/3, bflh 0.669, glmax 0.524; and the
# abstract of Edgerton et al. (1975) Histochem J 7:259-266: vastus intermedius 47 %.
PRINTED_PERCENT = {
    "adductor_magnus": ((53.5, 63.3), "clamann"),
    "soleus": ((86.4, 89.0), "force_distribution"),
    "tibialis_anterior": ((73.4, 72.7), "force_distribution"),
    "vastus_lateralis": ((37.8, 46.9), "force_distribution"),
    "vastus_medialis": ((43.7, 61.5), "force_distribution"),
    "rectus_femoris": ((29.5, 42.0, 42.8), "force_distribution"),
    "biceps_femoris_long": ((66.9,), "force_distribution"),
    "gluteus_maximus": ((52.4,), "force_distribution"),
    "vastus_intermedius": ((47.0,), "Edgerton"),
}


@pytest.mark.parametrize("muscle", sorted(PRINTED_PERCENT))
def test_slow_twitch_table_matches_the_sources_read(muscle):
    printed, where = PRINTED_PERCENT[muscle]
    samples, source = SLOW_TWITCH_SAMPLES_PERCENT[muscle]
    assert samples == printed
    assert where in source
    assert SLOW_TWITCH_PERCENT[muscle][0] == pytest.approx(sum(printed) / len(printed))


def test_provenance_keeps_samples_and_flags_assumed_values():
    r, prov = slow_twitch_fraction(["add_mag2_r", "semiten_l", "vasint_r"])
    assert prov["add_mag2_r"]["samples_percent"] == [53.5, 63.3]
    assert r[0] == pytest.approx((53.5 + 63.3) / 200.0)
    # no value was found for semitendinosus: an even split, flagged
    assert prov["semiten_l"]["source"] == "assumed" and prov["semiten_l"]["samples_percent"] == []
    assert r[1] == DEFAULT_SLOW_TWITCH_PERCENT / 100.0
    assert prov["vasint_r"]["source"].startswith("Edgerton")


def _muscle_names(path) -> list[str]:
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    root = ET.parse(path).getroot()
    tags = ("Thelen2003Muscle", "Millard2012EquilibriumMuscle", "DeGrooteFregly2016Muscle")
    return [el.get("name") for t in tags for el in root.iter(t)]


@pytest.mark.parametrize(
    ("hamner", "rajagopal"),
    [
        ("glut_max1_r", "glmax1_r"),
        ("vas_lat_r", "vaslat_r"),
        ("med_gas_l", "gasmed_l"),
        ("bifemlh_r", "bflh_r"),
    ],
)
def test_model_families_map_to_the_same_muscle(hamner, rajagopal):
    assert anatomical_muscle(hamner) == anatomical_muscle(rajagopal) is not None


def test_every_muscle_of_the_shared_models_has_a_fraction(shared_data):
    for f in ("Rajagopal2016.osim", "LaiArnold2017.osim", "FullBodyModel_Hamner2010_v2_0.osim"):
        path = shared_data / "models" / f
        if not path.exists():
            continue
        names = _muscle_names(path)
        r, prov = slow_twitch_fraction(names)
        assert np.all((r > 0) & (r < 1))
        cited = [n for n in names if prov[n]["source"] != "assumed"]
        # the big running muscles all have a cited value
        for key in (
            "soleus",
            "gastrocnemius_medial",
            "vastus_lateralis",
            "gluteus_maximus",
            "rectus_femoris",
        ):
            assert any(prov[n]["anatomical"] == key for n in cited), (f, key)


def test_size_principle_recruitment():
    a = np.linspace(0.0, 1.0, 101)[:, None]
    r = np.array([0.3, 0.5, 0.88])
    for model in ("bhargava", "orderly"):
        s = recruited_slow_fraction(a, r, model=model)
        assert np.allclose(s[0], 1.0)  # slow units first
        assert np.allclose(s[-1], r)  # all units at full activation: the composition
        assert np.all(np.diff(s, axis=0) <= 1e-12)  # fast share only grows with drive
    orderly = recruited_slow_fraction(a, r, model="orderly")
    assert np.all(orderly[a[:, 0] <= 0.3] == 1.0)  # no fast unit until the slow pool is used


@pytest.fixture(scope="module")
def demo_by_speed():
    out = {}
    for spec in demo_trials():
        opts = AnalysisOptions(speed_m_s=spec.speed_m_s, speed_source=spec.speed_source, strength="volume")
        out[spec.speed_m_s] = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    return out


def test_fast_fibre_share_rises_with_speed(demo_by_speed):
    """Issue 6: fast fibres' share of force rises with speed for the main running groups."""
    shares = {v: fibre_shares(a).group_fast_force_share for v, a in sorted(demo_by_speed.items())}
    for g in ("calves", "quadriceps", "gluteals", "hamstrings"):
        series = [shares[v][g] for v in sorted(shares)]
        assert np.all(np.diff(series) > 0), (g, series)


def test_fast_share_is_larger_in_stance_than_swing_for_calves(demo_by_speed):
    fs = fibre_shares(demo_by_speed[4.0])
    ph = fs.group_phase_fast_force_share["calves"]
    assert ph["propulsion"] > ph["late_swing"]
    rows = fs.rows()
    sol = next(r for r in rows if r["muscle"] == "soleus_r")
    assert sol["fast_force_share"] + sol["slow_force_share"] == pytest.approx(1.0)
    assert sol["fast_force_share"] < next(r for r in rows if r["muscle"] == "vas_lat_r")["fast_force_share"]
