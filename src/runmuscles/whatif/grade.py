"""Grade: running on a slope as level running under tilted gravity (:func:`tilt_gravity`), and
the runner's adaptations to the slope (:func:`slope_adaptation`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..dynamics.inverse import BodyLoad
from .condition import Condition
from .loads import balance_external

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State

# Step frequency uphill: +4 % from level to a 7 % slope at 70 % of VO2max (Padulo J, Powell
# D, Milia R, Ardigo LP (2013) A paradigm of uphill running. PLoS One 8:e69006), taken as
# linear in the grade: per cent of the level step frequency per per cent of grade. Downhill
# running lowers step frequency (Vernillo et al. 2017) but no per-grade figure is used here.
UPHILL_STEP_FREQUENCY_PCT_PER_PCT = 4.0 / 7.0


def slope_adaptation(engine: WhatIfEngine, cond: Condition, st: State) -> tuple[float, float, float]:
    """How the runner adapts to the slope: ``(step-frequency factor, extra trunk lean rad,
    change of the foot's angle at contact rad)``, each noted in the result.

    * **Step frequency** uphill x ``(1 + 4/7 % per % of grade)`` (Padulo et al. 2013:
      +4 % from level to 7 % at the same relative intensity; linear in the grade is an
      assumption; at most 120 %) unless ``cadence_pct`` is given, which is used as given.
      Downhill: unchanged (lower step frequency is reported, Vernillo et al. 2017, but no
      per-grade figure is used).
    * **Trunk and feet keep their orientation to gravity**: in the slope's frame (the frame
      of the transformed trial) the trunk leans forward by the slope angle ``atan(grade)``
      uphill (back downhill; pelvis and feet kept, so the centre of mass moves with the
      trunk, about 1 cm at 10 %), and the foot meets the slope at its recorded angle minus the
      slope angle: flatter uphill, towards the mid- and forefoot strikes that runners adopt
      there, more heel-first downhill (Vernillo et al. 2017 review both directions; the
      size, exactly the slope angle, is this model's assumption, not a measured figure).
      A ``strike`` asked for explicitly replaces the foot's change.
    """
    theta = math.atan(cond.grade_pct / 100.0)
    factor = 1.0
    if cond.grade_pct > 0:
        factor = min(1.0 + UPHILL_STEP_FREQUENCY_PCT_PER_PCT * cond.grade_pct / 100.0, 1.2)
    if cond.cadence_pct is not None:
        step = f"step frequency {cond.cadence_pct:g} % as asked"
    else:
        step = f"step frequency x {factor:.3f}"
    st.notes.append(
        f"slope adaptation (Padulo et al. 2013; Vernillo et al. 2017): {step}, trunk "
        f"{math.degrees(theta):+.1f} deg forward and foot angle at contact {-math.degrees(theta):+.1f} "
        "deg relative to the slope, as intended (trunk and feet keep their orientation to gravity)"
        + ("; foot strike as asked instead" if cond.strike is not None else "")
    )
    return factor, theta, -theta


def tilt_gravity(engine: WhatIfEngine, st: State, grade_pct: float) -> None:
    """Gravity tilted by ``atan(grade)`` in the slope's frame (see the module notes)."""
    theta = math.atan(grade_pct / 100.0)
    gmag = float(np.linalg.norm(engine.g_m_s2))
    g_new = gmag * (-math.sin(theta) * engine.fwd - math.cos(theta) * engine.up)
    dg = g_new - engine.g_m_s2
    mb = engine.mb
    F = st.t.size
    for i in range(1, mb.n_bodies):
        m = float(mb.mass_kg[i])
        if m <= 0:
            continue
        st.extra.append(
            BodyLoad(
                body=mb.body_names[i],
                force_n=np.broadcast_to(m * dg, (F, 3)).copy(),
                point_m=np.broadcast_to(mb.com_m[i], (F, 3)).copy(),
                point_in_body=True,
                name=f"gravity_tilt_{mb.body_names[i]}",
            )
        )
    # a uniform field acts at the centre of mass: no moment about it
    balance_external(
        engine, st, np.broadcast_to(engine.mass_kg * dg, (F, 3)).copy(), f"grade {grade_pct:+g} %"
    )
    st.notes.insert(
        0,
        f"grade {grade_pct:+g} % ({math.degrees(theta):+.2f} deg): gravity tilted in the slope's frame",
    )
