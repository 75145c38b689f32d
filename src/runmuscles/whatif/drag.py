"""Air drag on the trunk, balanced by the ground reaction force (:func:`add_drag`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..dynamics.inverse import BodyLoad
from .loads import balance_external

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State

# Air at 20 degC and sea level (International Standard Atmosphere: 1.204 kg/m^3).
AIR_DENSITY_KG_M3 = 1.204
# Drag area Cd x A of a 70 kg runner, m^2 (scaled by (mass / 70 kg)^(2/3) for others).
# Pugh LGCE (1971, J Physiol 213:255-276) showed that the extra oxygen cost of running against
# wind rises with the square of the air speed; the force is 0.5 rho Cd A v^2. The value used
# here, Cd 0.9 x projected frontal area 0.5 m^2 = 0.45 m^2, is an assumption of the order of
# the areas and coefficients reported for runners (Pugh 1971; Pecchiari M et al. 2023, Proc R
# Soc B 290:20231763); it is not fitted to any measurement and is reported with the result.
DRAG_AREA_M2 = 0.45


def add_drag(
    engine: WhatIfEngine,
    st: State,
    v: float | None,
    wind_m_s: float,
    *,
    remove: bool = False,
    minus_calm: bool = False,
) -> None:
    """Air drag ``0.5 rho CdA (v + wind)^2`` on the trunk, balanced by the ground reaction
    force (module notes)."""
    v = v or engine.require_speed("air drag")
    area = DRAG_AREA_M2 * (engine.mass_kg / 70.0) ** (2.0 / 3.0)
    air = v + wind_m_s
    drag = 0.5 * AIR_DENSITY_KG_M3 * area * air * abs(air)
    if minus_calm:
        drag -= 0.5 * AIR_DENSITY_KG_M3 * area * v * v
    if remove:
        drag = -drag
    F = st.t.size
    torso = engine.body_index("torso")
    force = np.broadcast_to(-drag * engine.fwd, (F, 3)).copy()
    com_local = np.asarray(engine.mb.com_m[torso], dtype=float)
    st.extra.append(
        BodyLoad(
            body=engine.bodies[torso],
            force_n=force,
            point_m=np.broadcast_to(com_local, (F, 3)).copy(),
            point_in_body=True,
            name="air_drag",
        )
    )
    R, p = engine.poses(st.q + st.dq)
    point = p[:, torso] + np.einsum("fij,j->fi", R[:, torso], com_local)
    balance_external(engine, st, force, "air drag", point_m=point)
    st.notes.append(
        f"air drag {drag:+.1f} N (air speed {air:.1f} m/s, Cd A {area:.2f} m^2, "
        f"air density {AIR_DENSITY_KG_M3} kg/m^3; Pugh 1971), applied at the trunk's centre of mass"
    )
