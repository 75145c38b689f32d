"""Trunk lean: the lumbar joint flexed forward (:func:`lean_trunk`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelError

if TYPE_CHECKING:
    from .engine import WhatIfEngine
    from .state import State


def lean_trunk(engine: WhatIfEngine, st: State, lean_rad: float, *, keep_com: bool = True) -> None:
    """Trunk flexed forward by ``lean_rad``; feet kept (module notes). With ``keep_com``
    the pelvis moves so that the centre of mass stays where it was; without, the centre of
    mass moves with the trunk by a constant offset (the same accelerations, so the same
    forces: the slope adaptation's lean, which so also shifts the body over its feet)."""
    lum = next((i for i, n in enumerate(engine.names) if n.startswith("lumbar_ext")), None)
    if lum is None:
        raise ModelError(f"model '{engine.mb.name}' has no lumbar_extension coordinate: no trunk lean")
    q_now = st.q + st.dq
    com0 = engine.com(q_now)
    if not keep_com:
        st.dq[:, lum] -= lean_rad
        shift = engine.com(st.q + st.dq) - com0
        st.notes.append(
            f"trunk lean {math.degrees(lean_rad):+.1f} deg (lumbar flexion), pelvis and feet kept: the "
            f"centre of mass moves {1000 * float(np.mean(shift @ engine.fwd)):+.0f} mm forward"
        )
        return
    feet0 = engine.foot_state(q_now)
    st.dq[:, lum] -= lean_rad
    com1 = engine.com(st.q + st.dq)
    engine.shift_root(st, com0 - com1)
    engine.with_ik(st, feet0)
    # the legs' new angles move the centre of mass a little (millimetres): reported
    drift = float(np.abs(engine.com(st.q + st.dq) - com0).max())
    st.notes.append(f"trunk lean: centre of mass kept within {1000 * drift:.1f} mm of the trial's")
    st.notes.append(
        f"trunk lean {math.degrees(lean_rad):+.1f} deg (lumbar flexion), pelvis moved to keep the "
        "centre of mass, feet kept on their ground paths (Teng & Powers 2014, 2015)"
    )
