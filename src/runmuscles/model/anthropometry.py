"""A model's stature, from its standing hip height (the one stature estimate of the project).

Segment lengths are close to fixed fractions of stature (Drillis R, Contini R (1966) Body
segment parameters, Report 1166-03, New York University; tabulated in Winter DA (2009)
Biomechanics and Motor Control of Human Movement, 4th ed., Wiley, Fig. 4.1): the greater
trochanter, i.e. the hip joint, is at 0.530 of stature. A model's stature is therefore its
standing hip height over 0.530. It is used to scale a generic model by height
(:mod:`runmuscles.lab.scaling`), to check a ``--height`` against a scaled model, and as the
height of the volume strength model when no height is given
(:meth:`runmuscles.model.RunnerModel.estimated_height_m`).

On the seven scaled Hamner 2013 models it is 1.70-1.88 m; full-body and lower-limb models
give the same answer (the hip and the feet are in every gait model), unlike an estimate
from the span of all body origins, which needs the trunk and head.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = ["HIP_HEIGHT_FRACTION_OF_STATURE", "STATURE_BODIES", "stature_from_multibody"]

#: Greater trochanter height / stature (Drillis & Contini 1966, in Winter 2009 Fig. 4.1).
HIP_HEIGHT_FRACTION_OF_STATURE = 0.530
#: Bodies the estimate needs: the hip joint is ``femur_r``'s origin, the floor the lower of
#: ``calcn_r``'s and ``toes_r``'s origins.
STATURE_BODIES = ("femur_r", "calcn_r", "toes_r")


def stature_from_multibody(mb, where: str = "model") -> float:
    """Stature (m) of a :class:`runmuscles.model.multibody.Multibody` in its default pose.

    Standing hip joint height (origin of ``femur_r`` above the lower of the ``calcn_r`` and
    ``toes_r`` origins, along gravity) over :data:`HIP_HEIGHT_FRACTION_OF_STATURE`.
    """
    from .multibody import forward_kinematics  # noqa: PLC0415

    for b in STATURE_BODIES:
        if b not in mb.body_names:
            raise InputError(where, f"model has no body '{b}': cannot estimate its stature (give --height)")
    q = np.zeros((1, mb.n_coordinates))
    p = forward_kinematics(mb, q).p_m[0]
    up = -np.asarray(mb.gravity_m_s2, dtype=float)
    up = up / (np.linalg.norm(up) or 1.0)
    hip = p[mb.body_index("femur_r")] @ up
    floor = min(p[mb.body_index("calcn_r")] @ up, p[mb.body_index("toes_r")] @ up)
    return float((hip - floor) / HIP_HEIGHT_FRACTION_OF_STATURE)
