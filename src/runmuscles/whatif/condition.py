"""The running condition a what-if asks for (:class:`Condition`), relative to the analysed trial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..validation import check

#: How a trial can have been recorded.
SURFACES = ("treadmill", "overground")


@dataclass(frozen=True)
class Condition:
    """A running condition, relative to the analysed trial.

    Attributes
    ----------
    speed_m_s
        Running speed (``None``: the trial's). Handled by :class:`SpeedModel`.
    grade_pct
        Slope in per cent (rise / run x 100), -20 to +20; positive uphill.
    cadence_pct
        Step frequency as a percentage of the trial's, 80-120 (``None``: as recorded, raised
        on an uphill slope by the slope adaptation; a number is used as given).
    lean_deg
        Extra forward trunk inclination (degrees; negative: more upright), -20 to +20.
    overstride_m
        Extra distance of the foot ahead at contact (m), 0 to 0.15 (a longer stance).
    strike
        ``"rearfoot"``, ``"forefoot"`` or ``None`` (as recorded).
    surface
        ``"treadmill"``, ``"overground"`` or ``None`` (as recorded).
    belt_fluctuation_pct
        Treadmill only: drop of the belt speed during stance, % of the speed (0-20).
    wind_m_s
        Overground only: head wind (positive) or tail wind (negative), m/s.
    slope_adaptation
        On a slope, add the runner's published adaptations to the tilted gravity (see
        :func:`runmuscles.whatif.grade.slope_adaptation`); ``False``: the recorded form on the slope.
    """

    speed_m_s: float | None = None
    grade_pct: float = 0.0
    cadence_pct: float | None = None
    lean_deg: float = 0.0
    overstride_m: float = 0.0
    strike: str | None = None
    surface: str | None = None
    belt_fluctuation_pct: float = 0.0
    wind_m_s: float = 0.0
    slope_adaptation: bool = True

    def validate(self) -> None:
        for key in ("grade_pct", "lean_deg", "overstride_m", "belt_fluctuation_pct", "wind_m_s"):
            check(key, getattr(self, key))
        check("cadence_pct", self.cadence_pct)
        if self.strike not in (None, "rearfoot", "forefoot"):
            raise InputError("strike", f"'{self.strike}' is not one of rearfoot, forefoot")
        if self.surface not in (None, *SURFACES):
            raise InputError("surface", f"'{self.surface}' is not one of treadmill, overground")
        check("speed_m_s", self.speed_m_s)

    def changes(self) -> dict[str, Any]:
        """The fields that differ from the recorded condition."""
        base = Condition()
        return {k: v for k, v in self.__dict__.items() if v != getattr(base, k)}
