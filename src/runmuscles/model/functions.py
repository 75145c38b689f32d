"""OpenSim's one-variable Function types as vectorised NumPy callables.

Each function maps an array of abscissae ``x`` (any shape) to values, first and second
derivatives of the same shape, with the semantics of OpenSim 4.x (``SimmSpline`` end
conditions and linear extrapolation, ``PiecewiseLinearFunction`` extrapolation,
``MultiplierFunction`` scaling, ``PolynomialFunction`` coefficients from the highest
power down). Objects are small dataclasses of floats and arrays, so they pickle.

``NaturalCubicSpline`` in an ``.osim`` file is read as a :class:`SimmSpline`, as OpenSim
4.x itself does (it renames the type on load).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = [
    "Constant",
    "Function",
    "LinearFunction",
    "MultiplierFunction",
    "PiecewiseLinearFunction",
    "PolynomialFunction",
    "SimmSpline",
    "FUNCTION_TAGS",
    "parse_function",
]

# OpenSim guards divisions by interval widths with this floor (SimmSpline, PiecewiseLinearFunction).
_TINY_WIDTH = 1e-15


class Function:
    """Base class: ``f(x)`` with first and second derivatives, vectorised over ``x``."""

    def evaluate(self, x: np.ndarray, order: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(f, df/dx, d2f/dx2)``, each with the shape of ``x``.

        Parameters
        ----------
        x
            Abscissae.
        order
            Highest derivative needed (0, 1 or 2); higher ones are returned as zeros.
        """
        raise NotImplementedError

    def __call__(self, x: np.ndarray | float) -> np.ndarray:
        return self.evaluate(np.asarray(x, dtype=float), 0)[0]

    def linear(self) -> tuple[float, float] | None:
        """``(slope, intercept)`` when the function is affine, else ``None``."""
        return None


@dataclass
class Constant(Function):
    """``f(x) = value``."""

    value: float

    def evaluate(self, x, order=2):
        x = np.asarray(x, dtype=float)
        z = np.zeros_like(x)
        return np.full_like(x, self.value), z, z

    def linear(self):
        return 0.0, float(self.value)


@dataclass
class LinearFunction(Function):
    """``f(x) = slope * x + intercept`` (OpenSim's ``coefficients`` are slope, intercept)."""

    slope: float
    intercept: float

    def evaluate(self, x, order=2):
        x = np.asarray(x, dtype=float)
        return self.slope * x + self.intercept, np.full_like(x, self.slope), np.zeros_like(x)

    def linear(self):
        return float(self.slope), float(self.intercept)


@dataclass
class PolynomialFunction(Function):
    """Polynomial with ``coefficients`` ordered from the highest power to the constant."""

    coefficients: np.ndarray

    def evaluate(self, x, order=2):
        x = np.asarray(x, dtype=float)
        c = np.asarray(self.coefficients, dtype=float)
        d1 = np.polyder(c) if c.size > 1 else np.zeros(1)
        d2 = np.polyder(d1) if d1.size > 1 else np.zeros(1)
        return np.polyval(c, x), np.polyval(d1, x) + 0 * x, np.polyval(d2, x) + 0 * x

    def linear(self):
        c = np.trim_zeros(np.asarray(self.coefficients, dtype=float), "f")
        if c.size == 0:
            return 0.0, 0.0
        if c.size == 1:
            return 0.0, float(c[0])
        if c.size == 2:
            return float(c[0]), float(c[1])
        return None


@dataclass
class MultiplierFunction(Function):
    """``f(x) = scale * inner(x)`` (how OpenSim's scaling wraps joint translations)."""

    scale: float
    inner: Function

    def evaluate(self, x, order=2):
        f, d1, d2 = self.inner.evaluate(x, order)
        return self.scale * f, self.scale * d1, self.scale * d2

    def linear(self):
        lin = self.inner.linear()
        return None if lin is None else (self.scale * lin[0], self.scale * lin[1])


def _interval(knots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index ``k`` with ``knots[k] <= x <= knots[k+1]``, clipped to the valid intervals."""
    return np.clip(np.searchsorted(knots, x, side="right") - 1, 0, knots.size - 2)


@dataclass
class SimmSpline(Function):
    """OpenSim's ``SimmSpline``: an interpolating cubic spline with SIMM's end conditions.

    The coefficients follow the cubic-spline algorithm of Forsythe, Malcolm and Moler
    (1977, Computer Methods for Mathematical Computations, Prentice-Hall, routine SPLINE):
    a tridiagonal system for the second-derivative terms whose end conditions match the
    third derivatives at both ends to divided differences of the nearest four knots.
    Outside the knots the spline continues as a straight line with the end slope (second
    derivative zero there), as OpenSim does.
    """

    x: np.ndarray
    y: np.ndarray
    b: np.ndarray = field(init=False, repr=False)
    c: np.ndarray = field(init=False, repr=False)
    d: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        self.b, self.c, self.d = _fmm_coefficients(self.x, self.y)

    def evaluate(self, x, order=2):
        x = np.asarray(x, dtype=float)
        xs, ys, b, c, d = self.x, self.y, self.b, self.c, self.d
        n = xs.size
        if n == 1:
            z = np.zeros_like(x)
            return np.full_like(x, ys[0]), z, z
        k = _interval(xs, x)
        dx = x - xs[k]
        bk, ck, dk = b[k], c[k], d[k]
        f = ys[k] + dx * (bk + dx * (ck + dx * dk))
        d1 = bk + dx * (2.0 * ck + 3.0 * dx * dk)
        d2 = 2.0 * ck + 6.0 * dx * dk
        lo = x < xs[0]
        hi = x > xs[-1]
        if lo.any() or hi.any():
            f = np.where(lo, ys[0] + (x - xs[0]) * b[0], f)
            f = np.where(hi, ys[-1] + (x - xs[-1]) * b[-1], f)
            d1 = np.where(lo, b[0], np.where(hi, b[-1], d1))
            d2 = np.where(lo | hi, 0.0, d2)
        return f, d1, d2

    def linear(self):
        if self.x.size <= 2:
            return float(self.b[0]), float(self.y[0] - self.b[0] * self.x[0])
        return None


def _fmm_coefficients(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cubic coefficients ``b, c, d`` so that on ``[x_k, x_k+1]``, ``f = y_k + b dx + c dx^2 + d dx^3``."""
    n = x.size
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 2:
        return b, c, d
    if n == 2:
        slope = (y[1] - y[0]) / max(_TINY_WIDTH, x[1] - x[0])
        b[:] = slope
        return b, c, d
    h = np.maximum(_TINY_WIDTH, np.diff(x))  # interval widths
    slopes = np.diff(y) / h
    # Tridiagonal system in sigma (proportional to the second derivative at the knots):
    # diagonal `diag`, off-diagonal `h`, right-hand side `rhs`.
    diag = np.zeros(n)
    rhs = np.zeros(n)
    diag[1:-1] = 2.0 * (h[:-1] + h[1:])
    rhs[1:-1] = slopes[1:] - slopes[:-1]
    diag[0] = -h[0]
    diag[-1] = -h[-1]
    if n > 3:
        # End conditions from third divided differences over the four end knots.
        d31 = max(_TINY_WIDTH, x[3] - x[1])
        d20 = max(_TINY_WIDTH, x[2] - x[0])
        e1 = max(_TINY_WIDTH, x[-1] - x[-3])
        e2 = max(_TINY_WIDTH, x[-2] - x[-4])
        d30 = max(_TINY_WIDTH, x[3] - x[0])
        e3 = max(_TINY_WIDTH, x[-1] - x[-4])
        rhs[0] = (rhs[2] / d31 - rhs[1] / d20) * h[0] * h[0] / d30
        rhs[-1] = -(rhs[-2] / e1 - rhs[-3] / e2) * h[-1] * h[-1] / e3
    # Forward elimination, then back substitution (Thomas algorithm).
    for i in range(1, n):
        t = h[i - 1] / diag[i - 1]
        diag[i] -= t * h[i - 1]
        rhs[i] -= t * rhs[i - 1]
    sigma = np.zeros(n)
    sigma[-1] = rhs[-1] / diag[-1]
    for i in range(n - 2, -1, -1):
        sigma[i] = (rhs[i] - h[i] * sigma[i + 1]) / diag[i]
    b[:-1] = slopes - h * (sigma[1:] + 2.0 * sigma[:-1])
    b[-1] = slopes[-1] + h[-1] * (sigma[-2] + 2.0 * sigma[-1])
    d[:-1] = (sigma[1:] - sigma[:-1]) / h
    d[-1] = d[-2]
    c = 3.0 * sigma
    return b, c, d


@dataclass
class PiecewiseLinearFunction(Function):
    """Straight segments between knots; extrapolated with the first and last segment slopes."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)

    def evaluate(self, x, order=2):
        x = np.asarray(x, dtype=float)
        xs, ys = self.x, self.y
        if xs.size == 1:
            z = np.zeros_like(x)
            return np.full_like(x, ys[0]), z, z
        slopes = np.diff(ys) / np.maximum(_TINY_WIDTH, np.diff(xs))
        k = _interval(xs, x)
        f = ys[k] + (x - xs[k]) * slopes[k]
        return f, slopes[k], np.zeros_like(x)

    def linear(self):
        if self.x.size <= 2:
            s = float((self.y[-1] - self.y[0]) / max(_TINY_WIDTH, self.x[-1] - self.x[0]))
            return s, float(self.y[0] - s * self.x[0])
        return None


# -- parsing ---------------------------------------------------------------------------------

FUNCTION_TAGS = (
    "Constant",
    "LinearFunction",
    "PolynomialFunction",
    "SimmSpline",
    "NaturalCubicSpline",
    "PiecewiseLinearFunction",
    "MultiplierFunction",
)
_KNOWN_UNSUPPORTED = (
    "GCVSpline",
    "StepFunction",
    "Sine",
    "PiecewiseConstantFunction",
    "MultivariatePolynomialFunction",
    "LinearFunctionND",
)


def _numbers(el: ET.Element, tag: str, where: str) -> np.ndarray:
    text = el.findtext(tag)
    if text is None:
        raise InputError(where, f"{el.tag} has no <{tag}>")
    try:
        return np.array(text.split(), dtype=float)
    except ValueError:
        raise InputError(where, f"{el.tag} <{tag}> is not a list of numbers") from None


def is_function_element(el: ET.Element) -> bool:
    """Whether ``el`` looks like a Function element (known or not)."""
    return el.tag in FUNCTION_TAGS or el.tag in _KNOWN_UNSUPPORTED or el.tag.endswith(("Function", "Spline"))


def parse_function(el: ET.Element, where: str) -> Function:
    """Build a :class:`Function` from an OpenSim function XML element.

    Parameters
    ----------
    el
        The element (``<SimmSpline>``, ``<LinearFunction>``...).
    where
        Names the owner (joint axis, constraint) in error messages.

    Returns
    -------
    Function
    """
    tag = el.tag
    if tag == "Constant":
        return Constant(float(_numbers(el, "value", where)[0]))
    if tag == "LinearFunction":
        c = _numbers(el, "coefficients", where)
        if c.size != 2:
            raise InputError(where, f"LinearFunction has {c.size} coefficients, expected 2")
        return LinearFunction(float(c[0]), float(c[1]))
    if tag == "PolynomialFunction":
        return PolynomialFunction(_numbers(el, "coefficients", where))
    if tag in ("SimmSpline", "NaturalCubicSpline", "PiecewiseLinearFunction"):
        x = _numbers(el, "x", where)
        y = _numbers(el, "y", where)
        if x.size != y.size or x.size == 0:
            raise InputError(where, f"{tag} has {x.size} x and {y.size} y values")
        if x.size > 1 and np.any(np.diff(x) < 0):
            raise InputError(where, f"{tag} x values are not increasing")
        if tag == "PiecewiseLinearFunction":
            return PiecewiseLinearFunction(x, y)
        return SimmSpline(x, y)
    if tag == "MultiplierFunction":
        scale = float(_numbers(el, "scale", where)[0]) if el.find("scale") is not None else 1.0
        holder = el.find("function")
        candidates = list(holder) if holder is not None else [c for c in el if is_function_element(c)]
        if not candidates:
            raise InputError(where, "MultiplierFunction has no inner function")
        return MultiplierFunction(scale, parse_function(candidates[0], where))
    raise InputError(where, f"function type '{tag}' is not supported (supported: {', '.join(FUNCTION_TAGS)})")
