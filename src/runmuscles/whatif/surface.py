"""Surface: treadmill or overground, with wind or belt-speed fluctuation (:func:`change_surface`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError
from .belt import belt_fluctuation
from .condition import Condition
from .drag import add_drag

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State


def change_surface(engine: WhatIfEngine, st: State, surface: str, cond: Condition) -> None:
    """Treadmill or overground (see the module notes)."""
    v = engine.speed_m_s
    if surface == "treadmill":
        if cond.wind_m_s:
            st.notes.append("wind has no effect on a treadmill indoors: ignored")
        if engine.surface == "overground":
            add_drag(engine, st, v, 0.0, remove=True)
        if cond.belt_fluctuation_pct:
            belt_fluctuation(engine, st, cond.belt_fluctuation_pct / 100.0)
        if engine.surface == "treadmill" and not cond.belt_fluctuation_pct:
            st.notes.append(
                "treadmill at constant belt speed = overground without air: an inertial frame "
                "(van Ingen Schenau 1980); nothing changes"
            )
        return
    if cond.belt_fluctuation_pct:
        raise InputError("belt_fluctuation_pct", "belt-speed fluctuation applies to a treadmill only")
    if engine.surface == "treadmill":
        add_drag(engine, st, v, cond.wind_m_s)
    elif cond.wind_m_s:
        # the recording already carries still-air drag: add only the wind's part
        add_drag(engine, st, v, cond.wind_m_s, remove=False, minus_calm=True)
