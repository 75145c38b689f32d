"""Do the joint angles and the ground reaction forces describe the same movement?

Joint angles computed on another model than the one analysed (a lab's own inverse
kinematics on its own scaled model, read onto the default model scaled by height), angles
and forces of different trials, or forces shifted in the lab, all give a model whose feet
are not where the forces act. Inverse dynamics still returns numbers, but the pelvis then
carries large residual forces and moments, the ankles large reserve torques, and the
muscle results describe a movement that did not happen. Two measures say so:

1. **Centre of pressure against the stance foot** (:func:`cop_outside_foot`): during stance,
   the distance from the measured centre of pressure to the model's foot, from forward
   kinematics of the given angles. Across the floor, the foot is its long axis, from the heel
   (``calcn`` origin) through the metatarsophalangeal joint (``toes`` origin) to the toe tips,
   with half the foot's breadth on either side; upwards, the sole is a few centimetres below
   the lower of the heel and ball points (see the constants). Either distance beyond them
   counts.
2. **Pelvis residuals against Hicks et al. (2015)**: the ratio of the residual force
   (moment) on the pelvis to the threshold of Hicks et al., computed by
   :func:`runmuscles.pipeline._quality`. Hicks et al. judge the peak; here the 95th percentile
   of frames is used, so a single-frame spike (a marker dropout: one shared trial has a
   71 x moment peak with a 95th percentile of 4.4 x) does not decide the validity.

:func:`kinematics_forces_consistency` applies the declared limits
(:data:`runmuscles.validation.LIMITS`: ``cop_outside_foot_m``,
``cop_outside_foot_stance_fraction``, ``residual_force_hicks_ratio`` and
``residual_moment_hicks_ratio``) and returns an
invalidating :class:`~runmuscles.quality.QualityWarning` (code
``kinematics_forces_inconsistent``) when either is exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..quality import QualityWarning
from ..validation import LIMITS

__all__ = [
    "FOOT_HALF_BREADTH_M",
    "FOOT_POINT_HEIGHT_M",
    "STANCE_FORCE_BW",
    "TOE_TIP_BEYOND_BALL",
    "CopFootDistance",
    "cop_outside_foot",
    "kinematics_forces_consistency",
]

#: Half the breadth of the foot (m). Foot breadth is 0.055 x body height (Winter DA, 2009,
#: Biomechanics and Motor Control of Human Movement, 4th ed., Fig. 4.1, after Drillis R,
#: Contini R, 1966): 9-10 cm for adults of 1.65-1.85 m. The centre of pressure lies within
#: that band around the foot's long axis when it is under the foot.
FOOT_HALF_BREADTH_M = 0.05
#: Height of the heel and ball points (``calcn`` and ``toes`` origins) above the sole when the
#: foot is on the ground: measured on the 28 hamner2013 trials, the lower of the two is 2-4 cm
#: (median) and at most 5.2 cm (95th percentile) above the centre of pressure in stance.
FOOT_POINT_HEIGHT_M = 0.05
#: Toe tips beyond the metatarsophalangeal joint, as a fraction of the heel-to-joint length.
#: The measured centre of pressure of the hamner2013 runners reaches 1.5-1.6 heel-to-joint
#: lengths at toe-off (runmuscles.dynamics.grf_estimation, its stance profiles); the toe tips
#: are taken there.
TOE_TIP_BEYOND_BALL = 0.6
#: A frame is in stance for this check when the vertical force on the foot exceeds this
#: share of body weight; below it the centre of pressure of a force plate is dominated by
#: noise (it is the ratio of two small numbers). Running stance peaks at 2-3 body weights
#: (Cavanagh PR, Lafortune MA, 1980, J Biomech 13:397-406), so 0.2 keeps about 85-90 % of
#: stance.
STANCE_FORCE_BW = 0.2

_CODE = "kinematics_forces_inconsistent"


@dataclass
class CopFootDistance:
    """How far the centre of pressure is from the stance foot, per side.

    Attributes
    ----------
    outside_m
        ``{"right": (n,), "left": (n,)}``: on each stance frame, the distance (m) from the
        centre of pressure to the foot's outline (0 inside it).
    stance_frames
        Number of stance frames per side.
    """

    outside_m: dict[str, np.ndarray]
    stance_frames: dict[str, int]

    def fraction_beyond(self, distance_m: float) -> float:
        """Share of all stance frames (both feet) with the centre of pressure farther than
        ``distance_m`` outside the foot (0 when there is no stance)."""
        d = np.concatenate([v for v in self.outside_m.values()] or [np.zeros(0)])
        return float(np.mean(d > distance_m)) if d.size else 0.0

    def median_m(self) -> float | None:
        d = np.concatenate([v for v in self.outside_m.values()] or [np.zeros(0)])
        return float(np.median(d)) if d.size else None


def _side_of(body: str) -> str | None:
    b = body.lower()
    if b.endswith("_r") or b.startswith("r_"):
        return "r"
    if b.endswith("_l") or b.startswith("l_"):
        return "l"
    return None


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points ``p`` from segments ``a``-``b``, row by row (``(F, 3)`` each)."""
    ab = b - a
    den = np.einsum("fi,fi->f", ab, ab)
    s = np.clip(np.einsum("fi,fi->f", p - a, ab) / np.where(den > 0, den, 1.0), 0.0, 1.0)
    return np.linalg.norm(p - (a + s[:, None] * ab), axis=1)


def cop_outside_foot(multibody, q: np.ndarray, loads: Sequence, body_weight_n: float) -> CopFootDistance:
    """The centre of pressure of each foot's force against that foot of the model.

    Parameters
    ----------
    multibody
        The model (:class:`runmuscles.model.multibody.Multibody`) with ``calcn_r/l`` and
        ``toes_r/l``.
    q
        Coordinates per frame, ``(F, n_coordinates)`` in model order (radians, metres).
    loads
        Ground reaction forces on the frames (:class:`runmuscles.dynamics.inverse.BodyLoad`);
        loads without a point of application, or not on a right or left foot body, are skipped.
    body_weight_n
        The runner's weight (for the stance threshold, :data:`STANCE_FORCE_BW`).

    Returns
    -------
    CopFootDistance
    """
    from ..model.multibody import forward_kinematics  # noqa: PLC0415

    up = -np.asarray(multibody.gravity_m_s2, dtype=float)
    up = up / np.linalg.norm(up)
    kin = forward_kinematics(multibody, q)
    flat = np.eye(3) - np.outer(up, up)  # projection onto the floor
    per_side: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"r": [], "l": []}
    for ld in loads:
        side = _side_of(ld.body)
        if side is None or ld.point_m is None:
            continue
        force = np.asarray(ld.force_n, dtype=float)
        point = np.asarray(ld.point_m, dtype=float)
        if ld.point_in_body:
            b = multibody.body_index(ld.body)
            point = kin.p_m[:, b] + np.einsum("fij,fj->fi", kin.R[:, b], point)
        per_side[side].append((force, point))
    out: dict[str, np.ndarray] = {}
    frames: dict[str, int] = {}
    for s, items in per_side.items():
        name = {"r": "right", "l": "left"}[s]
        if not items or any(f"{b}_{s}" not in multibody.body_names for b in ("calcn", "toes")):
            continue
        force = sum(f for f, _ in items)
        fz = force @ up
        # centre of pressure of the foot's summed force: force-weighted over its loads
        w = [np.clip(f @ up, 0.0, None) for f, _ in items]
        wsum = sum(w)
        cop = (
            sum(wk[:, None] * p for wk, (_, p) in zip(w, items, strict=True))
            / np.where(wsum > 0, wsum, 1.0)[:, None]
        )
        stance = fz > STANCE_FORCE_BW * body_weight_n
        heel = kin.p_m[:, multibody.body_index(f"calcn_{s}")]
        ball = kin.p_m[:, multibody.body_index(f"toes_{s}")]
        tip = ball + TOE_TIP_BEYOND_BALL * (ball - heel)
        across = _segment_distance(cop[stance] @ flat, heel[stance] @ flat, tip[stance] @ flat)
        across = np.clip(across - FOOT_HALF_BREADTH_M, 0.0, None)
        # the foot's lower point above the centre of pressure (a foot in the air while its force
        # says stance: forces out of step with the motion)
        above = np.minimum(heel[stance] @ up, ball[stance] @ up) - cop[stance] @ up
        above = np.clip(above - FOOT_POINT_HEIGHT_M, 0.0, None)
        out[name] = np.hypot(across, above)
        frames[name] = int(stance.sum())
    return CopFootDistance(out, frames)


def kinematics_forces_consistency(
    cop: CopFootDistance | None, residual_ratio: dict[str, float]
) -> tuple[dict, list[QualityWarning]]:
    """Judge the two measures against the declared limits.

    Parameters
    ----------
    cop
        From :func:`cop_outside_foot` (``None``: no forces with a centre of pressure).
    residual_ratio
        ``{"force_n": ratio, "moment_nm": ratio}``: pelvis residual (95th percentile of frames)
        over its Hicks et al. (2015) threshold.

    Returns
    -------
    (numbers, warnings)
        The numbers for ``quality["consistency"]`` and, when a limit is exceeded, one
        invalidating warning that names what disagrees and the likely fix.
    """
    far_m = LIMITS["cop_outside_foot_m"].high
    most = LIMITS["cop_outside_foot_stance_fraction"].high
    max_ratio = {
        "force_n": LIMITS["residual_force_hicks_ratio"].high,
        "moment_nm": LIMITS["residual_moment_hicks_ratio"].high,
    }
    numbers: dict = {
        "cop_outside_foot_limit_m": far_m,
        "cop_outside_foot_stance_fraction_limit": most,
        "residual_hicks_ratio_limit": max_ratio,
        "residual_hicks_ratio_p95": dict(residual_ratio),
    }
    problems: list[str] = []
    if cop is not None and sum(cop.stance_frames.values()):
        frac = cop.fraction_beyond(far_m)
        numbers["cop_outside_foot_median_m"] = cop.median_m()
        numbers["cop_outside_foot_stance_fraction"] = frac
        numbers["stance_frames"] = dict(cop.stance_frames)
        per_side = {s: float(np.mean(v > far_m)) for s, v in cop.outside_m.items() if v.size}
        numbers["cop_outside_foot_stance_fraction_per_side"] = per_side
        bad = [s for s, f in per_side.items() if f > most]
        if frac > most or bad:
            problems.append(
                f"the centre of pressure is more than {100 * far_m:.0f} cm outside the model's stance foot "
                f"on {100 * max(frac, *per_side.values()):.0f} % of stance"
                + (f" ({', '.join(bad)} foot)" if bad else "")
            )
    high = {k: v for k, v in residual_ratio.items() if k in max_ratio and v > max_ratio[k]}
    for kind, ratio in high.items():
        problems.append(
            f"the pelvis residual {kind.split('_')[0]}s reach {ratio:.1f} x the Hicks et al. 2015 threshold "
            f"on 5 % of frames (limit {max_ratio[kind]:g} x)"
        )
    numbers["consistent"] = not problems
    if not problems:
        return numbers, []
    msg = (
        "joint angles and ground reaction forces disagree: "
        + "; ".join(problems)
        + ". The muscle results describe a movement that did not happen. Likely fix: joint angles "
        "computed on the model analysed (from the markers, or give the model the angles were computed "
        "on with --model), or forces and angles of the same trial, in the same lab axes and time"
    )
    return numbers, [QualityWarning(_CODE, msg, invalidates=True, affects=("all",))]
