"""Muscle force curves of OpenSim's three common muscle classes, in NumPy.

Every function is vectorised: arguments broadcast, so one call evaluates all frames of all
muscles of a class (parameters as arrays of shape ``(M,)``, states as ``(F, M)``).

* ``Thelen2003Muscle`` (Thelen DG (2003) J Biomech Eng 125:70-77): Gaussian active
  force-length, exponential passive force-length, and the force-velocity relation that
  OpenSim defines by its inverse (fibre velocity as a function of force, Thelen's Eqs 6-7,
  extended linearly beyond ``fv_linear_extrap_threshold * Flen``); here it is inverted in
  closed form.
* ``Millard2012EquilibriumMuscle`` (Millard M et al. (2013) J Biomech Eng 135:021005):
  chains of quintic Bezier corners built from the curves' parameters
  (:func:`millard_active_force_length`, :func:`millard_force_velocity`,
  :func:`millard_passive_force_length`; equal to OpenSim's curve objects to 1e-13). For
  speed, strength evaluation interpolates them from dense tables made when a model's
  cache is built (error below 1e-6 on the 5001/6001-point grids).
* ``DeGrooteFregly2016Muscle`` (De Groote F, Kinney AL, Rao AV, Fregly BJ (2016) Ann
  Biomed Eng 44:2922-2936): sum of three Gaussian-like active force-length terms, an
  inverse-hyperbolic-sine force-velocity curve, exponential passive force-length.

:func:`rigid_tendon_active_force` reproduces ``Muscle.calcInextensibleTendonActiveFiberForce``
of each class: fibre length from path length with a rigid tendon and the constant-width
(parallelogram) pennation model, fibre velocity ``= path speed * cos(pennation)``, force
``= F0 a fl fv cos(pennation)``. Two OpenSim 4.6 quirks are reproduced on purpose, because
this is what OpenSim's StaticOptimization uses:

* Millard2012 evaluates the final ``cos(pennation)`` at the *normalized* fibre length
  (``calcPennationAngle(lceN)``), so its strength is ``F0 fl fv cos(asin(h / lceN))``
  with ``h`` in metres: practically no pennation loss.
* DeGrooteFregly2016 returns the active *fibre* force ``F0 a fl fv`` with no
  ``cos(pennation)`` factor.

Tendon force-strain curves (force normalised by ``F0``, strain ``l_T / l_T,slack - 1``) and
their inverses, for post hoc compliant-tendon fibre kinematics: Thelen (2003) exponential toe
and linear region (:func:`thelen_tendon_force_strain`), Millard et al. (2013) two Bezier
corners (:func:`millard_tendon_force_strain`), De Groote et al. (2016) exponential
(:func:`degroote_tendon_force_strain`); each with the strain at ``F0`` that the muscle
declares.
"""

from __future__ import annotations

from math import comb

import numpy as np

__all__ = [
    "CLASS_CODES",
    "RigidTendonStrength",
    "degroote_active_force_length",
    "degroote_force_velocity",
    "degroote_passive_force_length",
    "degroote_tendon_force_strain",
    "degroote_tendon_strain",
    "fixed_width_fiber_length",
    "millard_active_force_length",
    "millard_force_velocity",
    "millard_passive_force_length",
    "millard_tendon_force_strain",
    "millard_tendon_strain",
    "fixed_width_pennation_angle",
    "rigid_tendon_active_force",
    "table_curve",
    "thelen_active_force_length",
    "thelen_force_velocity",
    "thelen_passive_force_length",
    "thelen_tendon_force_strain",
    "thelen_tendon_strain",
]

#: Integer codes of the supported muscle classes (stored in caches).
CLASS_CODES = {"Thelen2003Muscle": 0, "Millard2012EquilibriumMuscle": 1, "DeGrooteFregly2016Muscle": 2}

_SIGNIFICANT_REAL = np.finfo(float).eps ** (7.0 / 8.0)  # SimTK::SignificantReal
_EPS = np.finfo(float).eps  # SimTK::Eps

# De Groote et al. (2016) Ann Biomed Eng 44:2922-2936, supplementary material: active
# force-length (three Gaussian-like terms; b1 amplitude, b2 centre, b3 + b4 x width),
# force-velocity (d1..d4) and passive force-length (kPE = 4, min normalized length 0.2).
_DG_B = np.array(
    [
        [0.8150671134243542, 1.055033428970575, 0.162384573599574, 0.063303448465465],
        [0.433004984392647, 0.716775413397760, -0.029947116970696, 0.200356847296188],
        [0.1, 1.0, 0.5 * np.sqrt(0.5), 0.0],
    ]
)
_DG_D = (-0.3211346127989808, -8.149, -0.374, 0.8825327733249912)
_DG_KPE = 4.0
_DG_MIN_NORM_FIBER_LENGTH = 0.2


# -- constant-width pennation model (OpenSim's MuscleFixedWidthPennationModel) --------------
def _min_fiber_length(optimal_fiber_length_m, pennation_at_optimal_rad, max_pennation_rad):
    h = optimal_fiber_length_m * np.sin(pennation_at_optimal_rad)
    max_pen = np.asarray(max_pennation_rad, dtype=float)
    safe_sin = np.where(max_pen > _SIGNIFICANT_REAL, np.sin(max_pen), 1.0)
    return np.where(max_pen > _SIGNIFICANT_REAL, h / safe_sin, 0.01 * optimal_fiber_length_m)


def fixed_width_fiber_length(
    length_m: np.ndarray,
    tendon_length_m: np.ndarray,
    optimal_fiber_length_m: np.ndarray,
    pennation_at_optimal_rad: np.ndarray,
    max_pennation_rad: np.ndarray,
) -> np.ndarray:
    """Fibre length for a given musculotendon and tendon length (constant-width model).

    ``sqrt(h^2 + (L - L_t)^2)`` with ``h = l_opt sin(alpha_opt)``; the minimum fibre
    length ``h / sin(alpha_max)`` when the fibre would be shorter along the tendon than
    that minimum allows.
    """
    h = optimal_fiber_length_m * np.sin(pennation_at_optimal_rad)
    min_len = _min_fiber_length(optimal_fiber_length_m, pennation_at_optimal_rad, max_pennation_rad)
    min_along = min_len * np.cos(max_pennation_rad)
    along = length_m - tendon_length_m
    return np.where(along >= min_along, np.sqrt(h * h + along * along), min_len * np.ones_like(along))


def fixed_width_pennation_angle(
    fiber_length_m: np.ndarray,
    optimal_fiber_length_m: np.ndarray,
    pennation_at_optimal_rad: np.ndarray,
    max_pennation_rad: np.ndarray,
) -> np.ndarray:
    """Pennation angle ``asin(h / l_f)``, capped at the maximum pennation angle."""
    h = optimal_fiber_length_m * np.sin(pennation_at_optimal_rad)
    min_len = _min_fiber_length(optimal_fiber_length_m, pennation_at_optimal_rad, max_pennation_rad)
    lf = np.asarray(fiber_length_m, dtype=float)
    sin_phi = h / np.where(lf > 0, lf, np.inf)
    phi = np.where(
        (lf > min_len) & (sin_phi < np.sin(max_pennation_rad)),
        np.arcsin(np.clip(sin_phi, -1.0, 1.0)),
        max_pennation_rad,
    )
    return np.where(pennation_at_optimal_rad > _EPS, phi, 0.0)


# -- Thelen 2003 -----------------------------------------------------------------------
def thelen_active_force_length(norm_fiber_length: np.ndarray, kshape_active: np.ndarray) -> np.ndarray:
    """``exp(-(l - 1)^2 / kshape)`` (Thelen 2003 Eq. 3, OpenSim's width parameter)."""
    x = np.asarray(norm_fiber_length) - 1.0
    return np.exp(-x * x / kshape_active)


def thelen_passive_force_length(
    norm_fiber_length: np.ndarray, fmax_muscle_strain: np.ndarray, kshape_passive: np.ndarray
) -> np.ndarray:
    """Passive force (Thelen 2003 Eq. 2): zero below optimal length."""
    x = np.asarray(norm_fiber_length, dtype=float)
    val = (np.exp(kshape_passive * (x - 1.0) / fmax_muscle_strain) - 1.0) / (np.exp(kshape_passive) - 1.0)
    return np.where(x > 1.0, val, 0.0)


def thelen_force_velocity(
    norm_fiber_velocity: np.ndarray,
    af: np.ndarray,
    flen: np.ndarray,
    extrap_threshold: np.ndarray,
    activation: float | np.ndarray = 1.0,
) -> np.ndarray:
    """Force-velocity multiplier of OpenSim's Thelen2003Muscle (lengthening positive).

    OpenSim defines the curve through its inverse, fibre velocity as a function of force
    (Thelen 2003 Eqs 6-7, velocity scaled by ``0.25 + 0.75 a``, linear extrapolation
    beyond ``extrap_threshold * flen``), and inverts it by Newton's method; this is the
    closed-form inverse of the same function. Shortening faster than ``v_max`` gives 0.
    """
    w = np.asarray(norm_fiber_velocity, dtype=float) / (0.25 + 0.75 * np.asarray(activation))
    a_coef = 2.0 + 2.0 / af
    b_coef = flen - 1.0
    f0 = extrap_threshold * flen
    w0 = (f0 - 1.0) * b_coef / (a_coef * (flen - f0))
    slope0 = b_coef * b_coef / (a_coef * (flen - f0) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        concentric = (1.0 + w) / (1.0 - w / af)
        eccentric = (w * a_coef * flen + b_coef) / (b_coef + w * a_coef)
        extrap = f0 + (w - w0) / slope0
    fv = np.where(w <= 0.0, concentric, np.where(w < w0, eccentric, extrap))
    return np.where(w <= -1.0, 0.0, np.maximum(fv, 0.0))


#: Thelen (2003) tendon force-strain relation: force at the end of the exponential toe region
#: (normalised by F0) and the toe's exponential shape factor. Thelen DG (2003) Adjustment of
#: muscle mechanics model parameters to simulate dynamic contractions in older adults. J Biomech
#: Eng 125:70-77. The toe's end strain and the linear region's stiffness follow from the
#: relation's two conditions (slope continuous at the toe's end; force F0 at the strain ``e0``):
#: ``e_toe = 0.99 e^3 e0 / (1.66 e^3 - 0.67)`` and ``k_lin = 0.67 / (e0 - e_toe)``, which Thelen
#: rounds to ``0.609 e0`` and ``1.712 / e0`` (OpenSim's Thelen2003Muscle uses the unrounded
#: values).
_THELEN_TOE_NORM_FORCE = 0.33
_THELEN_TOE_SHAPE = 3.0


def _thelen_tendon_toe(strain_at_one_norm_force):
    """Toe-end strain and linear stiffness (per unit strain) from the two conditions above."""
    e0 = np.asarray(strain_at_one_norm_force, dtype=float)
    ek = np.exp(_THELEN_TOE_SHAPE)
    f_toe = _THELEN_TOE_NORM_FORCE
    # slope at the toe's end, f_toe k e^k / ((e^k - 1) e_toe), equals (1 - f_toe) / (e0 - e_toe)
    e_toe = (
        f_toe * _THELEN_TOE_SHAPE * ek * e0 / (f_toe * _THELEN_TOE_SHAPE * ek + (1.0 - f_toe) * (ek - 1.0))
    )
    return e_toe, (1.0 - f_toe) / (e0 - e_toe)


def thelen_tendon_force_strain(tendon_strain: np.ndarray, strain_at_one_norm_force: np.ndarray) -> np.ndarray:
    """Tendon force over ``F0`` at a tendon strain (Thelen 2003): 0 when slack, an exponential
    toe ``F_toe (exp(k_toe e / e_toe) - 1) / (exp(k_toe) - 1)``, then linear, reaching 1 at
    ``e0`` (OpenSim's ``FmaxTendonStrain``)."""
    e = np.asarray(tendon_strain, dtype=float)
    e_toe, k_lin = _thelen_tendon_toe(strain_at_one_norm_force)
    toe = (
        _THELEN_TOE_NORM_FORCE
        / (np.exp(_THELEN_TOE_SHAPE) - 1.0)
        * np.expm1(_THELEN_TOE_SHAPE * np.clip(e, 0.0, e_toe) / e_toe)
    )
    linear = _THELEN_TOE_NORM_FORCE + k_lin * (e - e_toe)
    return np.where(e <= e_toe, toe, linear)


def thelen_tendon_strain(norm_force: np.ndarray, strain_at_one_norm_force: np.ndarray) -> np.ndarray:
    """Inverse of :func:`thelen_tendon_force_strain`: tendon strain at a force over ``F0``
    (closed form; 0 for no force)."""
    f = np.maximum(np.asarray(norm_force, dtype=float), 0.0)
    e_toe, k_lin = _thelen_tendon_toe(strain_at_one_norm_force)
    toe = (
        e_toe
        / _THELEN_TOE_SHAPE
        * np.log1p(
            np.minimum(f, _THELEN_TOE_NORM_FORCE) * (np.exp(_THELEN_TOE_SHAPE) - 1.0) / _THELEN_TOE_NORM_FORCE
        )
    )
    linear = e_toe + (f - _THELEN_TOE_NORM_FORCE) / k_lin
    return np.where(f <= _THELEN_TOE_NORM_FORCE, toe, linear)


# -- DeGroote-Fregly 2016 -------------------------------------------------------------
def degroote_active_force_length(
    norm_fiber_length: np.ndarray, width_scale: np.ndarray | float = 1.0
) -> np.ndarray:
    """Sum of three Gaussian-like terms (De Groote et al. 2016), widened by ``width_scale``."""
    x = (np.asarray(norm_fiber_length, dtype=float) - 1.0) / width_scale + 1.0
    out = np.zeros_like(x)
    for b1, b2, b3, b4 in _DG_B:
        d = b3 + b4 * x
        out = out + b1 * np.exp(-0.5 * (x - b2) ** 2 / (d * d))
    return out


def degroote_force_velocity(norm_fiber_velocity: np.ndarray) -> np.ndarray:
    """``d1 ln(d2 v + d3 + sqrt((d2 v + d3)^2 + 1)) + d4`` (De Groote et al. 2016)."""
    d1, d2, d3, d4 = _DG_D
    t = d2 * np.asarray(norm_fiber_velocity, dtype=float) + d3
    return d1 * np.log(t + np.sqrt(t * t + 1.0)) + d4


def degroote_passive_force_length(
    norm_fiber_length: np.ndarray, strain_at_one_norm_force: np.ndarray | float = 0.6
) -> np.ndarray:
    """Exponential passive force, zero at normalized length 0.2 (De Groote et al. 2016)."""
    e0 = strain_at_one_norm_force
    offset = np.exp(_DG_KPE * (_DG_MIN_NORM_FIBER_LENGTH - 1.0) / e0)
    x = np.asarray(norm_fiber_length, dtype=float)
    return (np.exp(_DG_KPE * (x - 1.0) / e0) - offset) / (np.exp(_DG_KPE) - offset)


#: Tendon force-length curve of DeGrooteFregly2016Muscle as OpenSim parameterises it from
#: De Groote et al. (2016): ``c1 exp(kT (l~T - c2)) - c3`` with ``c1 = 0.2``, ``c2 = 1``,
#: ``c3 = 0.2`` and ``kT = ln((1 + c3) / c1) / e0``, so that the force is 0 at slack length and
#: ``F0`` at strain ``e0`` (the muscle's ``tendon_strain_at_one_norm_force``). (The paper's
#: own constants, c2 = 0.995, c3 = 0.25, kT = 35, give a small force at slack length.)
_DG_TENDON_C1, _DG_TENDON_C2, _DG_TENDON_C3 = 0.2, 1.0, 0.2


def _degroote_tendon_kt(strain_at_one_norm_force):
    return np.log((1.0 + _DG_TENDON_C3) / _DG_TENDON_C1) / (
        1.0 + np.asarray(strain_at_one_norm_force, dtype=float) - _DG_TENDON_C2
    )


def degroote_tendon_force_strain(
    tendon_strain: np.ndarray, strain_at_one_norm_force: np.ndarray
) -> np.ndarray:
    """Tendon force over ``F0`` at a tendon strain (DeGrooteFregly2016Muscle; negative below
    slack length, as the curve is)."""
    kt = _degroote_tendon_kt(strain_at_one_norm_force)
    norm_length = 1.0 + np.asarray(tendon_strain, dtype=float)
    return _DG_TENDON_C1 * np.exp(kt * (norm_length - _DG_TENDON_C2)) - _DG_TENDON_C3


def degroote_tendon_strain(norm_force: np.ndarray, strain_at_one_norm_force: np.ndarray) -> np.ndarray:
    """Inverse of :func:`degroote_tendon_force_strain` for forces of at least 0 (closed form)."""
    f = np.maximum(np.asarray(norm_force, dtype=float), 0.0)
    kt = _degroote_tendon_kt(strain_at_one_norm_force)
    return _DG_TENDON_C2 + np.log((f + _DG_TENDON_C3) / _DG_TENDON_C1) / kt - 1.0


# -- Millard 2012 curves from their parameters (quintic Bezier corners) ----------------------
# Millard M, Uchida T, Seth A, Delp SL (2013) Flexing computational muscle: modeling and
# simulation of musculotendon dynamics. J Biomech Eng 135:021005. Each curve is a chain of
# "corner" segments: a quintic Bezier curve joining two points with given slopes, whose
# inner control points lie on the two tangent lines at a fraction ``0.1 + 0.8 curviness``
# of the way to the tangents' intersection; beyond the ends the curve continues linearly.
def _corner(x0, y0, dydx0, x1, y1, dydx1, curviness):
    c = 0.1 + 0.8 * curviness
    if abs(dydx0 - dydx1) > np.sqrt(_EPS):
        xc = (y1 - y0 - x1 * dydx1 + x0 * dydx0) / (dydx0 - dydx1)
    else:
        xc = 0.5 * (x0 + x1)
    yc = (xc - x1) * dydx1 + y1
    xm0, ym0 = x0 + c * (xc - x0), y0 + c * (yc - y0)
    xm1, ym1 = x1 + c * (xc - x1), y1 + c * (yc - y1)
    return np.array([x0, xm0, xm0, xm1, xm1, x1]), np.array([y0, ym0, ym0, ym1, ym1, y1])


_BINOM5 = np.array([1.0, 5.0, 10.0, 10.0, 5.0, 1.0])
# Bernstein to power basis: sum_k C(5,k) u^k (1-u)^(5-k) p_k = sum_j u^j (p @ _TO_POWER)[j]
_TO_POWER = np.array(
    [
        [_BINOM5[k] * comb(5 - k, j - k) * (-1.0) ** (j - k) if j >= k else 0.0 for j in range(6)]
        for k in range(6)
    ]
)


def _bezier(u, pts):
    """Quintic Bezier value at ``u`` (any shape) for control points ``pts`` (..., 6)."""
    return _horner(u, pts @ _TO_POWER)


def _horner(u, c):
    """Polynomial ``sum_j c[..., j] u^j`` (degree 5) by Horner's rule."""
    v = c[..., 5] * u + c[..., 4]
    for j in (3, 2, 1, 0):
        v = v * u + c[..., j]
    return v


def _segmented(x, segments, dydx_lo, dydx_hi):
    """Evaluate a chain of Bezier corners at ``x``, linear beyond its ends."""
    x = np.asarray(x, dtype=float)
    xs = np.array([sx for sx, _ in segments])  # (n_seg, 6)
    ys = np.array([sy for _, sy in segments])
    starts = xs[:, 0]
    idx = np.clip(np.searchsorted(starts, x, side="right") - 1, 0, len(segments) - 1)
    cx, py = (xs @ _TO_POWER)[idx], ys[idx]
    cx = [np.ascontiguousarray(cx[..., j]) for j in range(6)]
    lo_u, hi_u = np.zeros_like(x), np.ones_like(x)
    for _ in range(60):  # bisection on the monotonic x(u): 1e-18 in u
        mid = 0.5 * (lo_u + hi_u)
        v = cx[5] * mid + cx[4]
        for j in (3, 2, 1, 0):
            v = v * mid + cx[j]
        right = v < x
        lo_u = np.where(right, mid, lo_u)
        hi_u = np.where(right, hi_u, mid)
    y = _bezier(0.5 * (lo_u + hi_u), py)
    x_lo, y_lo = xs[0, 0], ys[0, 0]
    x_hi, y_hi = xs[-1, -1], ys[-1, -1]
    y = np.where(x < x_lo, y_lo + dydx_lo * (x - x_lo), y)
    return np.where(x > x_hi, y_hi + dydx_hi * (x - x_hi), y)


def millard_active_force_length(
    norm_fiber_length: np.ndarray,
    min_norm_active_fiber_length: float,
    transition_norm_fiber_length: float,
    max_norm_active_fiber_length: float,
    shallow_ascending_slope: float,
    minimum_value: float,
) -> np.ndarray:
    """Millard2012's ActiveForceLengthCurve (five corners, peak 1 at optimal length)."""
    x0, x1, x2, x3 = (
        min_norm_active_fiber_length,
        transition_norm_fiber_length,
        1.0,
        max_norm_active_fiber_length,
    )
    ylow, dydx, curv = minimum_value, shallow_ascending_slope, 1.0
    dx = 0.05 * x2
    xs = x2 - dx
    y0, y1 = 0.0, 1.0 - dydx * (xs - x1)
    dydx01 = 1.25 * (y1 - y0) / (x1 - x0)
    x01, y01 = x0 + 0.5 * (x1 - x0), y0 + 0.5 * (y1 - y0)
    x1s, y1s = x1 + 0.5 * (xs - x1), y1 + 0.5 * (1.0 - y1)
    x23 = (x2 + dx) + 0.5 * (x3 - (x2 + dx))
    y23 = 0.5
    dydx23 = (0.0 - 1.0) / ((x3 - dx) - (x2 + dx))
    segs = [
        _corner(x0, ylow, 0.0, x01, y01, dydx01, curv),
        _corner(x01, y01, dydx01, x1s, y1s, dydx, curv),
        _corner(x1s, y1s, dydx, x2, 1.0, 0.0, curv),
        _corner(x2, 1.0, 0.0, x23, y23, dydx23, curv),
        _corner(x23, y23, dydx23, x3, ylow, 0.0, curv),
    ]
    return _segmented(norm_fiber_length, segs, 0.0, 0.0)


def millard_force_velocity(
    norm_fiber_velocity: np.ndarray,
    concentric_slope_at_vmax: float,
    concentric_slope_near_vmax: float,
    isometric_slope: float,
    eccentric_slope_at_vmax: float,
    eccentric_slope_near_vmax: float,
    max_eccentric_velocity_force_multiplier: float,
    concentric_curviness: float,
    eccentric_curviness: float,
) -> np.ndarray:
    """Millard2012's ForceVelocityCurve (lengthening positive, 1 at rest, 0 at -v_max)."""
    fmax_e = max_eccentric_velocity_force_multiplier
    d_c, d_nc, d_iso = concentric_slope_at_vmax, concentric_slope_near_vmax, isometric_slope
    d_e, d_ne = eccentric_slope_at_vmax, eccentric_slope_near_vmax
    y_nc = 0.5 * d_nc * (-0.9 + 1.0) + 0.5 * d_c * (-0.9 + 1.0)
    y_ne = fmax_e + 0.5 * d_ne * (0.9 - 1.0) + 0.5 * d_e * (0.9 - 1.0)
    segs = [
        _corner(-1.0, 0.0, d_c, -0.9, y_nc, d_nc, concentric_curviness),
        _corner(-0.9, y_nc, d_nc, 0.0, 1.0, d_iso, concentric_curviness),
        _corner(0.0, 1.0, d_iso, 0.9, y_ne, d_ne, eccentric_curviness),
        _corner(0.9, y_ne, d_ne, 1.0, fmax_e, d_e, eccentric_curviness),
    ]
    return _segmented(norm_fiber_velocity, segs, d_c, d_e)


def millard_passive_force_length(
    norm_fiber_length: np.ndarray,
    strain_at_zero_force: float,
    strain_at_one_norm_force: float,
    stiffness_at_low_force: float,
    stiffness_at_one_norm_force: float,
    curviness: float,
) -> np.ndarray:
    """Millard2012's FiberForceLengthCurve (passive fibre force; zero below slack)."""
    x_zero, x_iso = 1.0 + strain_at_zero_force, 1.0 + strain_at_one_norm_force
    k_low, k_iso = stiffness_at_low_force, stiffness_at_one_norm_force
    dx = min(0.1 / k_iso, 0.1 * (x_iso - x_zero))
    x_low = x_zero + dx
    x_foot = x_zero + 0.5 * (x_low - x_zero)
    y_low = k_low * (x_low - x_foot)
    segs = [
        _corner(x_zero, 0.0, 0.0, x_low, y_low, k_low, curviness),
        _corner(x_low, y_low, k_low, x_iso, 1.0, k_iso, curviness),
    ]
    return _segmented(norm_fiber_length, segs, 0.0, k_iso)


#: Millard et al. (2013) tendon curve defaults (OpenSim's TendonForceLengthCurve): strain at
#: F0 0.049, force at the end of the toe region 2/3 of F0, curviness 0.5; the stiffness at F0
#: defaults to 1.375 / strain at F0.
MILLARD_TENDON_STRAIN_AT_ONE_NORM_FORCE = 0.049
MILLARD_TENDON_NORM_FORCE_AT_TOE_END = 2.0 / 3.0
MILLARD_TENDON_CURVINESS = 0.5
_MILLARD_TENDON_STIFFNESS_X_STRAIN = 1.375


def _millard_tendon_segments(
    strain_at_one_norm_force, stiffness_at_one_norm_force, norm_force_at_toe_end, curviness
):
    """Two corners from (1, 0) with slope 0 through the toe to the linear region, which reaches
    ``F0`` at ``1 + e0`` with slope ``k``; the toe's middle corner sits on the line from a foot
    point on the length axis to the point of half the toe force on the linear region."""
    e0 = float(strain_at_one_norm_force)
    k = float(stiffness_at_one_norm_force)
    f_toe = float(norm_force_at_toe_end)
    x_iso = 1.0 + e0
    x_toe = (f_toe - 1.0) / k + x_iso
    x_foot = 1.0 + (x_toe - 1.0) / 10.0
    y_mid = 0.5 * f_toe
    x_mid = (y_mid - 1.0) / k + x_iso
    slope_mid = y_mid / (x_mid - x_foot)
    x_ctrl = x_foot + 0.5 * (x_mid - x_foot)
    y_ctrl = slope_mid * (x_ctrl - x_foot)
    return [
        _corner(1.0, 0.0, 0.0, x_ctrl, y_ctrl, slope_mid, curviness),
        _corner(x_ctrl, y_ctrl, slope_mid, x_toe, f_toe, k, curviness),
    ], k


def _millard_tendon_stiffness(strain_at_one_norm_force: float, stiffness: float | None) -> float:
    """The tendon's normalised stiffness at ``F0``: given, or Millard2012's default for the strain."""
    return _MILLARD_TENDON_STIFFNESS_X_STRAIN / strain_at_one_norm_force if stiffness is None else stiffness


def millard_tendon_force_strain(
    tendon_strain: np.ndarray,
    strain_at_one_norm_force: float = MILLARD_TENDON_STRAIN_AT_ONE_NORM_FORCE,
    stiffness_at_one_norm_force: float | None = None,
    norm_force_at_toe_end: float = MILLARD_TENDON_NORM_FORCE_AT_TOE_END,
    curviness: float = MILLARD_TENDON_CURVINESS,
) -> np.ndarray:
    """Millard2012's TendonForceLengthCurve: tendon force over ``F0`` at a tendon strain (0 when
    slack, linear with the stiffness at ``F0`` beyond the toe)."""
    k = _millard_tendon_stiffness(strain_at_one_norm_force, stiffness_at_one_norm_force)
    segs, k = _millard_tendon_segments(strain_at_one_norm_force, k, norm_force_at_toe_end, curviness)
    return _segmented(1.0 + np.asarray(tendon_strain, dtype=float), segs, 0.0, k)


def millard_tendon_strain(
    norm_force: np.ndarray,
    strain_at_one_norm_force: float = MILLARD_TENDON_STRAIN_AT_ONE_NORM_FORCE,
    stiffness_at_one_norm_force: float | None = None,
    norm_force_at_toe_end: float = MILLARD_TENDON_NORM_FORCE_AT_TOE_END,
    curviness: float = MILLARD_TENDON_CURVINESS,
) -> np.ndarray:
    """Inverse of :func:`millard_tendon_force_strain` for forces of at least 0 (the same
    Bezier corners with the axes swapped: force rises monotonically along each corner)."""
    k = _millard_tendon_stiffness(strain_at_one_norm_force, stiffness_at_one_norm_force)
    segs, k = _millard_tendon_segments(strain_at_one_norm_force, k, norm_force_at_toe_end, curviness)
    swapped = [(sy, sx) for sx, sy in segs]
    f = np.maximum(np.asarray(norm_force, dtype=float), 0.0)
    return _segmented(f, swapped, 0.0, 1.0 / k) - 1.0


# -- tabulated curves (Millard 2012) ------------------------------------------------------
def table_curve(
    x: np.ndarray, grid: np.ndarray, table: np.ndarray, rows: np.ndarray, *, extrapolate: bool
) -> np.ndarray:
    """Piecewise-linear interpolation of one table row per muscle.

    Parameters
    ----------
    x
        Shape ``(F, M)``: where to evaluate.
    grid
        Uniform grid, shape ``(n,)``.
    table
        Shape ``(n_tables, n)``.
    rows
        Shape ``(M,)``: the row of ``table`` each muscle uses.
    extrapolate
        Extend linearly with the end slopes beyond the grid (else hold the end values).
    """
    x0, h, n = float(grid[0]), float(grid[1] - grid[0]), grid.size
    u = (np.asarray(x, dtype=float) - x0) / h
    i = np.clip(np.floor(u), 0, n - 2).astype(np.intp)
    t = u - i
    if not extrapolate:
        t = np.clip(t, 0.0, 1.0)
    r = np.broadcast_to(rows, i.shape)
    y0 = table[r, i]
    y1 = table[r, i + 1]
    return y0 + (y1 - y0) * t


# -- strength ----------------------------------------------------------------------------
def rigid_tendon_active_force(
    length_m: np.ndarray,
    speed_m_s: np.ndarray,
    class_code: np.ndarray,
    params: dict[str, np.ndarray],
    tables: dict[str, np.ndarray] | None = None,
    *,
    activation: float = 1.0,
) -> np.ndarray:
    """Active fibre force along the tendon with a rigid tendon: OpenSim's
    ``Muscle.calcInextensibleTendonActiveFiberForce(state, activation)``.

    Parameters
    ----------
    length_m, speed_m_s
        Musculotendon length and lengthening speed, shape ``(F, M)``.
    class_code
        Shape ``(M,)``: :data:`CLASS_CODES` of each muscle.
    params
        Per-muscle parameter arrays (keys of
        :func:`runmuscles.opensim_adapter.geometry.read_model_info`).
    tables
        Tabulated Millard curves (``fl_x``, ``fl``, ``fv_x``, ``fv``), needed when any
        muscle is a Millard2012 muscle.
    activation
        Activation (1.0: the muscle's strength).

    Returns
    -------
    numpy.ndarray
        Force in newtons, shape ``(F, M)``.
    """
    length_m = np.atleast_2d(np.asarray(length_m, dtype=float))
    speed_m_s = np.atleast_2d(np.asarray(speed_m_s, dtype=float))
    out = np.zeros(length_m.shape)
    code = np.asarray(class_code)
    for c in np.unique(code):
        cols = np.nonzero(code == c)[0]
        p = {k: v[cols] for k, v in params.items()}
        out[:, cols] = _strength_of_class(
            int(c), length_m[:, cols], speed_m_s[:, cols], p, tables, activation
        )
    return out


class RigidTendonStrength:
    """:func:`rigid_tendon_active_force` with the per-class parameter slices prepared once.

    Parameters
    ----------
    class_code, params, tables
        As for :func:`rigid_tendon_active_force`.
    """

    def __init__(
        self, class_code: np.ndarray, params: dict[str, np.ndarray], tables: dict[str, np.ndarray] | None
    ) -> None:
        code = np.asarray(class_code)
        self.n_muscles = code.size
        self.tables = tables
        self.parts = []
        for c in np.unique(code):
            cols = np.nonzero(code == c)[0]
            self.parts.append((int(c), cols, {k: np.asarray(v)[cols] for k, v in params.items()}))

    def __call__(self, length_m: np.ndarray, speed_m_s: np.ndarray, activation: float = 1.0) -> np.ndarray:
        """Force in newtons, shape ``(F, M)``."""
        out = np.empty(np.shape(length_m))
        for code, cols, p in self.parts:
            out[:, cols] = _strength_of_class(
                code, length_m[:, cols], speed_m_s[:, cols], p, self.tables, activation
            )
        return out


def _strength_of_class(code, length, speed, p, tables, activation):
    f0 = p["max_isometric_force_n"]
    lopt = p["optimal_fiber_length_m"]
    lts = p["tendon_slack_length_m"]
    alpha = p["pennation_at_optimal_rad"]
    vmax = p["max_contraction_velocity_lopt_s"]
    if code == CLASS_CODES["DeGrooteFregly2016Muscle"]:
        w = lopt * np.sin(alpha)
        along = length - lts
        lf = np.sqrt(along * along + w * w)
        cos_phi = along / lf
        v_norm = speed * cos_phi / (vmax * lopt)
        fl = degroote_active_force_length(lf / lopt, p["degroote_active_force_width_scale"])
        return f0 * activation * fl * degroote_force_velocity(v_norm)
    max_pen = p["max_pennation_rad"]
    lf = fixed_width_fiber_length(length, lts, lopt, alpha, max_pen)
    phi = fixed_width_pennation_angle(lf, lopt, alpha, max_pen)
    cos_phi = np.cos(phi)
    v_norm = speed * cos_phi / (lopt * vmax)
    if code == CLASS_CODES["Thelen2003Muscle"]:
        a = max(activation, 0.01)
        min_len = _min_fiber_length(lopt, alpha, max_pen)
        fl = thelen_active_force_length(np.maximum(lf, min_len) / lopt, p["thelen_kshape_active"])
        fv = thelen_force_velocity(
            v_norm, p["thelen_af"], p["thelen_flen"], p["thelen_fv_extrap_threshold"], a
        )
        return np.where(lf > min_len, f0 * a * fl * fv * cos_phi, 0.0)
    if code == CLASS_CODES["Millard2012EquilibriumMuscle"]:
        if tables is None or "fl" not in tables:
            raise ValueError("Millard2012 muscles need their tabulated curves")
        rows = p["curve_table"].astype(np.intp)
        lce_n = lf / lopt
        fl = table_curve(lce_n, tables["fl_x"], tables["fl"], rows, extrapolate=False)
        fv = table_curve(v_norm, tables["fv_x"], tables["fv"], rows, extrapolate=True)
        # OpenSim 4.6 evaluates this pennation angle at the normalized fibre length.
        cos_quirk = np.cos(fixed_width_pennation_angle(lce_n, lopt, alpha, max_pen))
        return np.where(lf > p["min_fiber_length_m"], f0 * activation * fl * fv * cos_quirk, 0.0)
    raise ValueError(f"unknown muscle class code {code}")
