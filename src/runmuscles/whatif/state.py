"""The motion and forces that a what-if's transformations change, one after the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..dynamics.inverse import BodyLoad
from ..kinematics.events import StrideCycle


@dataclass
class State:
    """Motion and forces being transformed (all on ``t``)."""

    t: np.ndarray
    q: np.ndarray
    qd: np.ndarray
    qdd: np.ndarray
    loads: list[BodyLoad]
    extra: list[BodyLoad]
    cycles: list[StrideCycle]
    events: Any
    dq: np.ndarray  # accumulated change of q (derivatives are taken of it)
    notes: list[str]
    # the legs' inverse-kinematics Jacobian of the last solve, the next one's first estimate
    ik_jacobian: dict[str, np.ndarray] | None = None
    # a centre-of-mass correction (m, (F, 3)) that the next transformation applies with its
    # own pelvis shift, the feet being on their targets already (one leg solve saved)
    pending_shift: np.ndarray | None = None
    # the foot strikes whose landing a transformation changed: (side "r"/"l", time s)
    changed_strikes: list[tuple[str, float]] = field(default_factory=list)
