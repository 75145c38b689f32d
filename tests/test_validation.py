"""The declared limits (runmuscles.validation): one table, used everywhere, shown in the README."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runmuscles.errors import InputError
from runmuscles.validation import CHOICES, LIMITS, check, check_choice, limits_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_limit_says_why() -> None:
    for key, lim in LIMITS.items():
        assert lim.key == key
        assert lim.meaning and len(lim.basis) > 20, key
        assert lim.low is None or lim.high is None or lim.low < lim.high, key


def test_the_readme_shows_the_declared_table() -> None:
    assert limits_markdown() in README.read_text()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "abc", -70.0, 0.0, 1e6])
def test_absurd_masses_are_refused_by_name(value) -> None:
    with pytest.raises(InputError, match=r"^--mass: "):
        check("body_mass_kg", value, "--mass")


def test_unit_slips_are_named() -> None:
    with pytest.raises(InputError, match=r"in cm\? that is 1.81 m"):
        check("height_m", 181.0, "--height")
    with pytest.raises(InputError, match=r"in g\? that is 72.8 kg"):
        check("body_mass_kg", 72800.0, "--mass")
    assert check("height_m", 1.81) == 1.81
    assert check("lowpass_hz", 0.0) == 0.0  # the declared special value: no filter
    with pytest.raises(InputError):
        check("lowpass_hz", -5.0)


def test_choices() -> None:
    assert check_choice("strength", "volume") == "volume"
    with pytest.raises(InputError, match="not one of model, volume"):
        check_choice("strength", "strong", "--strength")
    assert set(CHOICES["strike"]) == {"rearfoot", "forefoot"}


def test_the_option_dataclasses_apply_the_table() -> None:
    from runmuscles.pipeline import AnalysisOptions
    from runmuscles.whatif import Condition

    with pytest.raises(InputError, match="activation_exponent"):
        AnalysisOptions(activation_exponent=math.nan)
    with pytest.raises(InputError, match="speed_m_s"):
        AnalysisOptions(speed_m_s=-3.0)
    with pytest.raises(InputError, match="grade_pct"):
        Condition(grade_pct=35.0).validate()
