"""Signal processing for coordinates and forces, NumPy only.

The default coordinate processing reproduces what OpenSim's AnalyzeTool and
InverseDynamicsTool do, so that runmuscles and OpenSim see the same joint angles,
velocities and accelerations:

1. pad the signal at both ends by half its length with an odd (point-symmetric) reflection,
2. low-pass it with a third-order Butterworth filter (bilinear transform) run forwards and
   backwards (zero lag; the forward-backward pair is a sixth-order response whose -3 dB point
   is below the nominal cutoff: OpenSim's ``Signal::LowpassIIR``),
3. differentiate with an interpolating quintic spline through the samples (OpenSim fits a
   ``GCVSpline`` of degree 5 with zero error variance, i.e. an interpolating natural quintic
   spline; velocities are its derivative at the samples and accelerations the derivative of
   a second spline through the velocities).

Step 3 is computed as a convolution: on a uniform grid, the derivative of the interpolating
quintic B-spline at the samples is a fixed two-sided filter (the B-spline derivative kernel
applied after the inverse of the B-spline interpolation kernel; Unser, Aldroubi & Eden 1993,
IEEE Trans Signal Process 41:821-833). Its taps decay by a factor 0.43 per sample, so 60
taps a side reproduce the spline to machine precision wherever the sample is more than 60
samples from an end of the padded signal; the ends are handled by odd reflection (the
natural spline's end conditions only differ there, inside the padding).
"""

from __future__ import annotations

from functools import lru_cache
from math import comb, factorial

import numpy as np

__all__ = [
    "butterworth_lowpass",
    "butterworth3_filtfilt",
    "filtfilt_odd",
    "is_uniform",
    "pad_odd",
    "quintic_spline_derivative",
    "resample_uniform",
]

_SPLINE_HALF_WIDTH = 60


def is_uniform(time_s: np.ndarray, rtol: float = 1e-6, atol_s: float = 2e-8) -> bool:
    """Whether samples are equally spaced (to ``rtol`` of the mean step, or ``atol_s``).

    ``atol_s`` absorbs times printed with 8 decimals (OpenSim's files: 150 Hz is
    0.00666667 s, so steps differ by 1e-8 s).
    """
    if time_s.size < 3:
        return True
    dt = np.diff(time_s)
    return bool(np.max(np.abs(dt - dt.mean())) <= rtol * dt.mean() + atol_s)


def resample_uniform(time_s: np.ndarray, values: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearly resample ``values`` (rows = samples) onto a uniform grid of step ``dt_s``."""
    n = int(np.floor((time_s[-1] - time_s[0]) / dt_s + 1e-9)) + 1
    t = time_s[0] + dt_s * np.arange(n)
    out = np.empty((n, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.interp(t, time_s, values[:, j])
    return t, out


def pad_odd(values: np.ndarray, n_pad: int) -> np.ndarray:
    """Pad rows at both ends with a point-symmetric reflection about the end samples.

    ``x[-k] = 2 x[0] - x[k]`` and ``x[n-1+k] = 2 x[n-1] - x[n-1-k]``, as OpenSim's
    ``Signal::Pad``. ``n_pad`` must be smaller than the number of rows.
    """
    n = values.shape[0]
    if n_pad <= 0:
        return values.copy()
    if n_pad >= n:
        raise ValueError(f"pad of {n_pad} samples needs more than {n} samples")
    head = 2.0 * values[0] - values[n_pad:0:-1]
    tail = 2.0 * values[-1] - values[-2 : -2 - n_pad : -1]
    return np.concatenate([head, values, tail], axis=0)


def _butter3_coefficients(dt_s: float, cutoff_hz: float) -> tuple[np.ndarray, np.ndarray]:
    fs = 1.0 / dt_s
    if cutoff_hz >= 0.5 * fs:
        cutoff_hz = 0.49 * fs
    wa = np.tan(2.0 * np.pi * cutoff_hz * dt_s / 2.0)
    wa2, wa3 = wa * wa, wa * wa * wa
    den = (wa + 1.0) * (wa2 + wa + 1.0)
    b = np.array([wa3, 3 * wa3, 3 * wa3, wa3]) / den
    a = np.array(
        [
            1.0,
            (3 * wa3 + 2 * wa2 - 2 * wa - 3) / den,
            (3 * wa3 - 2 * wa2 - 2 * wa + 3) / den,
            (wa - 1) * (wa2 - wa + 1) / den,
        ]
    )
    return b, a


def _butter3_pass(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    # the moving-average part at once, then only the recursive part sample by sample
    y = np.empty_like(x)
    y[:3] = x[:3]
    u = b[0] * x[3:] + b[1] * x[2:-1] + b[2] * x[1:-2] + b[3] * x[:-3]
    _, a1, a2, a3 = a
    for i in range(3, x.shape[0]):
        y[i] = u[i - 3] - a1 * y[i - 1] - a2 * y[i - 2] - a3 * y[i - 3]
    return y


def butterworth3_filtfilt(values: np.ndarray, dt_s: float, cutoff_hz: float) -> np.ndarray:
    """Zero-lag third-order Butterworth low-pass, forwards then backwards (rows = samples).

    The recursion and its start (the first three outputs equal the inputs) follow OpenSim's
    ``Signal::LowpassIIR``, so the same input gives the same output.
    """
    b, a = _butter3_coefficients(dt_s, cutoff_hz)
    x = np.asarray(values, dtype=float)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    y = _butter3_pass(x, b, a)[::-1].copy()
    y = _butter3_pass(y, b, a)[::-1].copy()
    return y[:, 0] if squeeze else y


def butterworth_lowpass(order: int, cutoff_nyquist: float) -> tuple[np.ndarray, np.ndarray]:
    """Digital Butterworth low-pass of ``order``: numerator and denominator ``(b, a)`` of its
    transfer function in powers of ``z^-1`` (``a[0] = 1``).

    The analog prototype's poles on the left half of the unit circle, moved to the cutoff
    pre-warped by ``tan`` and mapped to the z plane by the bilinear transform, its ``order``
    zeros at ``z = -1``, and the gain that keeps the prototype's (unit DC gain); the
    textbook design (Oppenheim AV, Schafer RW (2010) Discrete-Time Signal Processing, 3rd ed.,
    sec. 7.2), in the elementary operations SciPy's ``butter`` uses, so that the coefficients
    are the same to the last bit (checked in ``tests/test_filters.py``).

    Parameters
    ----------
    order
        Filter order (number of poles), at least 1.
    cutoff_nyquist
        The -3 dB frequency over the Nyquist frequency, strictly between 0 and 1.
    """
    if order < 1 or not 0.0 < cutoff_nyquist < 1.0:
        raise ValueError(f"Butterworth order {order} and cutoff {cutoff_nyquist} (of Nyquist) out of range")
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    poles = -np.exp(1j * np.pi * m / (2 * order))  # analog prototype, cutoff 1 rad/s
    # pre-warping with a sample rate of 2 (frequencies in units of Nyquist)
    warped = float(4.0 * np.tan(np.pi * np.asarray(cutoff_nyquist, dtype=np.float64) / 2.0))
    poles = warped * poles
    gain = 1.0 * warped**order
    poles_z = (4.0 + poles) / (4.0 - poles)  # bilinear transform, 2 fs = 4
    gain_z = gain * np.real(np.prod(np.zeros(0) + 4.0) / np.prod(4.0 - poles))
    b = np.multiply(np.asarray([gain_z], dtype=np.float64), np.poly(-np.ones(order)))
    a = np.atleast_1d(np.poly(poles_z))
    return b, a


def _direct_form_2t(x: np.ndarray, b: np.ndarray, a: np.ndarray, state: np.ndarray) -> np.ndarray:
    """One linear filter pass along rows (transposed direct form II, ``a[0] = 1``), starting
    from ``state`` (``(len(a) - 1, columns)``). Each column is run through in Python floats,
    sample by sample, in the order of the recursion: y = z0 + b0 x, z_i = z_(i+1) + x b_(i+1) -
    y a_(i+1) (Oppenheim & Schafer 2010, sec. 6.5)."""
    bs, as_ = [float(v) for v in b], [float(v) for v in a]
    n_state = len(as_) - 1
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        z = [float(v) for v in state[:, j]]
        col = x[:, j].tolist()
        ys = [0.0] * len(col)
        if n_state == 2:  # the usual second-order case, unrolled
            b0, b1, b2 = bs
            a1, a2 = as_[1], as_[2]
            z0, z1 = z
            for i, xn in enumerate(col):
                yn = z0 + b0 * xn
                z0 = z1 + xn * b1 - yn * a1
                z1 = xn * b2 - yn * a2
                ys[i] = yn
        else:
            for i, xn in enumerate(col):
                yn = z[0] + bs[0] * xn
                for k in range(n_state - 1):
                    z[k] = z[k + 1] + xn * bs[k + 1] - yn * as_[k + 1]
                z[n_state - 1] = xn * bs[n_state] - yn * as_[n_state]
                ys[i] = yn
        out[:, j] = ys
    return out


def filtfilt_odd(b: np.ndarray, a: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Zero-lag filtering along rows: the linear filter ``(b, a)`` forwards, then backwards.

    The ends are padded with :func:`pad_odd` by three times the number of coefficients, and
    each pass starts from the filter's steady state for its first sample (the state of a
    constant input, scaled by that sample), which keeps start-up transients out; the method of
    SciPy's ``filtfilt`` with its defaults (Gustafsson F (1996) Determining the initial states
    in forward-backward filtering. IEEE Trans Signal Process 44:988-992, for the initial
    states), to the last bit (checked in ``tests/test_filters.py``).

    Parameters
    ----------
    b, a
        Filter coefficients, ``a[0] = 1`` and ``len(b) == len(a)`` (as from
        :func:`butterworth_lowpass`).
    values
        Shape ``(n,)`` or ``(n, columns)``; ``n`` must exceed the padding.
    """
    b = np.asarray(b, dtype=float)
    a = np.asarray(a, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a[0] != 1.0:
        raise ValueError("filtfilt_odd needs coefficients of equal length with a[0] = 1")
    x = np.asarray(values, dtype=float)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    pad = 3 * a.size
    if x.shape[0] <= pad:
        raise ValueError(f"{x.shape[0]} samples: zero-lag filtering needs more than {pad}")
    n = a.size - 1
    # steady state of a unit step: zi = A zi + B, A the recursion's companion matrix
    i_minus_a = np.eye(n)
    i_minus_a[:, 0] += a[1:]
    i_minus_a[: n - 1, 1:] -= np.eye(n - 1)
    zi = np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])
    ext = pad_odd(x, pad)
    y = _direct_form_2t(ext, b, a, zi[:, None] * ext[0:1])
    y = _direct_form_2t(y[::-1], b, a, zi[:, None] * y[-1:])[::-1]
    y = y[pad:-pad]
    return y[:, 0] if squeeze else y


def _bspline(n: int, x: np.ndarray) -> np.ndarray:
    """Centred cardinal B-spline of degree ``n`` (truncated-power formula)."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for k in range(n + 2):
        out += (-1) ** k * comb(n + 1, k) * np.clip(x + (n + 1) / 2 - k, 0, None) ** n
    return out / factorial(n)


@lru_cache(maxsize=1)
def _kernels() -> dict[str, np.ndarray]:
    """Values of the cardinal quintic B-spline and its derivatives 1, 3, 4 at offsets -2..2,
    and the impulse response of the inverse interpolation kernel (2 x 60 + 1 taps)."""
    j = np.arange(-2, 3).astype(float)
    d1 = _bspline(4, j + 0.5) - _bspline(4, j - 0.5)
    d3 = sum((-1) ** i * comb(3, i) * _bspline(2, j + 1.5 - i) for i in range(4))
    d4 = sum((-1) ** i * comb(4, i) * _bspline(1, j + 2.0 - i) for i in range(5))
    b0 = _bspline(5, j)  # [1, 26, 66, 26, 1] / 120
    half = _SPLINE_HALF_WIDTH
    n = 4 * half + 1
    mat = np.zeros((n, n))
    for off, v in zip(range(-2, 3), b0, strict=True):
        mat += np.eye(n, k=off) * v
    unit = np.zeros(n)
    unit[n // 2] = 1.0
    inverse = np.linalg.solve(mat, unit)[n // 2 - half : n // 2 + half + 1]
    return {"b0": b0, "d1": d1, "d3": d3, "d4": d4, "inverse": inverse}


def _solve_banded4(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``solve(A, rhs)`` for a matrix with at most 4 diagonals on each side of the main one
    (the spline's interpolation rows use 2, its end conditions 4): LAPACK's banded solver, with
    partial pivoting as the dense one, in O(n) instead of a dense O(n^3) factorisation (whose
    threaded BLAS also slowed every other process on a busy host)."""
    from scipy.linalg import solve_banded  # noqa: PLC0415

    n = A.shape[0]
    width = 4
    ab = np.zeros((2 * width + 1, n))
    for off in range(-width, width + 1):
        diag = np.diagonal(A, offset=off)
        if off >= 0:
            ab[width - off, off:] = diag
        else:
            ab[width - off, : n + off] = diag
    return solve_banded((width, width), ab, rhs, check_finite=False)


def _natural_quintic_coefficients(y: np.ndarray) -> np.ndarray:
    """B-spline coefficients ``c[-2..n+1]`` (returned with offset 2) of the natural quintic
    spline interpolating the rows of ``y`` on a unit grid (third and fourth derivatives zero
    at both ends, as Woltring's GCVSPL with zero error variance)."""
    k = _kernels()
    n, ncol = y.shape
    block = 120

    def solve(rows_y: np.ndarray, fixed_right: np.ndarray | None, fixed_left: np.ndarray | None, m: int):
        # unknowns c[-2..m+1] (m + 4), interpolation at 0..m-1 and end conditions
        size = m + 4
        A = np.zeros((size, size))
        rhs = np.zeros((size, ncol))
        r = 0
        if fixed_left is None:
            A[r, 0:5], A[r + 1, 0:5] = k["d3"], k["d4"]
            r += 2
        else:
            A[r, 0], A[r + 1, 1] = 1.0, 1.0
            rhs[r : r + 2] = fixed_left
            r += 2
        for i in range(m):
            A[r, i : i + 5] = k["b0"]
            rhs[r] = rows_y[i]
            r += 1
        if fixed_right is None:
            A[r, m - 1 : m + 4], A[r + 1, m - 1 : m + 4] = k["d3"], k["d4"]
        else:
            A[r, m + 2], A[r + 1, m + 3] = 1.0, 1.0
            rhs[r : r + 2] = fixed_right
        return _solve_banded4(A, rhs)

    if n <= 3 * block:
        return solve(y, None, None, n)
    # interior: the inverse interpolation filter (exact far from the ends)
    half = _SPLINE_HALF_WIDTH
    yp = pad_odd(y, half)
    win = np.lib.stride_tricks.sliding_window_view(yp, 2 * half + 1, axis=0)
    c_mid = win @ k["inverse"][::-1]  # (n, C): c[0..n-1]
    c = np.empty((n + 4, ncol))
    c[2 : n + 2] = c_mid
    # ends: exact solves over `block` samples, joined to the interior coefficients
    left = solve(y[:block], c_mid[block : block + 2], None, block)
    c[: block + 2] = left[: block + 2]
    right = solve(y[n - block :], None, c_mid[n - block - 2 : n - block], block)
    c[n - block + 2 :] = right[2:]
    return c


def quintic_spline_derivative(values: np.ndarray, dt_s: float) -> np.ndarray:
    """First derivative at the samples of the natural quintic interpolating spline.

    This is what OpenSim's ``GCVSplineSet(5, storage)`` (zero error variance) gives on a
    uniform grid, ends included.

    Parameters
    ----------
    values
        Samples, rows = time (uniform step ``dt_s``), any number of columns.
    dt_s
        Sample interval in seconds.

    Returns
    -------
    numpy.ndarray
        Same shape as ``values``: derivative per second.
    """
    x = np.asarray(values, dtype=float)
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    if x.shape[0] < 3:
        raise ValueError("at least 3 samples are needed to differentiate")
    c = _natural_quintic_coefficients(x)
    d1 = _kernels()["d1"]
    n = x.shape[0]
    # s'(t_i) = sum_{k=i-2}^{i+2} c_k beta5'(i - k) / h; c is offset by 2
    d = sum(d1[4 - m] * c[m : m + n] for m in range(5)) / dt_s
    return d[:, 0] if squeeze else d
