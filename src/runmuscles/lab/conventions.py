"""Joint angles computed on another model: the same coordinate names, another sign convention.

Models of the OpenSim gait family share coordinate names but not always their sign: knee
flexion is negative in gait2392 and the models built on it (Delp SL et al. 1990; Hamner SR et
al. 2010, ``knee_angle_r`` range -160..10 deg), positive in Rajagopal et al. (2016) and the
models after it (LaiUhlrich, OpenCap's, Pose2Sim's: range 0..140 deg). A lab's own inverse
kinematics read onto a model of the other convention straightens every flexed knee into a
hyperextended one: the feet land tens of centimetres from where the forces act
(:mod:`runmuscles.analyses.consistency` then refuses the result). Measured on hamner2013
subject01 Run_4 (its gait2392-family angles on the default model scaled by height): the
centre of pressure a median 34 cm outside the stance foot, pelvis residual forces 6.9 x the
Hicks et al. threshold.

:func:`match_sign_conventions` finds such coordinates by the model's own ranges: a
rotational coordinate whose values lie outside the model's range on most frames while their
negatives lie inside it on nearly all is negated, and the change is reported.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RANGE_MARGIN_RAD", "match_sign_conventions"]

#: Values this far beyond a coordinate's range still count as inside (a knee hyperextended by
#: a few degrees, a range set tight by the model's author).
RANGE_MARGIN_RAD = np.radians(5.0)
_MOSTLY_OUTSIDE = 0.5
_NEARLY_ALL_INSIDE = 0.95


def match_sign_conventions(table, multibody):
    """``(table with those coordinates negated, their names)``; ``(table, [])`` when none differ.

    Parameters
    ----------
    table
        Joint angles (:class:`~runmuscles.tables.TimeTable`; degrees when ``in_degrees`` is
        not False, as :func:`runmuscles.readers.read_storage` reads them).
    multibody
        The model the angles are to be analysed on
        (:class:`~runmuscles.model.multibody.Multibody`), for its coordinate ranges.
    """
    from ..tables import TimeTable  # noqa: PLC0415

    data = table.data.copy()
    flipped: list[str] = []
    degrees = table.in_degrees is not False
    for i, name in enumerate(multibody.coordinate_names):
        if name not in table.labels or multibody.motion_types[i] != "rotational":
            continue
        lo, hi = (float(x) for x in multibody.ranges[i])
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
            continue
        k = table.labels.index(name)
        v = np.radians(data[:, k]) if degrees else data[:, k]
        v = v[np.isfinite(v)]
        if not v.size:
            continue

        def inside(x: np.ndarray, lo: float = lo, hi: float = hi) -> float:
            return float(np.mean((x >= lo - RANGE_MARGIN_RAD) & (x <= hi + RANGE_MARGIN_RAD)))

        if 1.0 - inside(v) > _MOSTLY_OUTSIDE and inside(-v) >= _NEARLY_ALL_INSIDE:
            data[:, k] = -data[:, k]
            flipped.append(name)
    if not flipped:
        return table, []
    return TimeTable(table.time_s, data, list(table.labels), table.in_degrees, dict(table.meta)), flipped
