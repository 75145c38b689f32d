"""The force plates' zero-lag Butterworth filter (runmuscles.kinematics.filters): the same numbers
as SciPy's ``butter`` + ``filtfilt``, bit for bit, without importing scipy.signal."""

from __future__ import annotations

import numpy as np
import pytest

from runmuscles.kinematics.filters import butterworth_lowpass, filtfilt_odd

signal = pytest.importorskip("scipy.signal")


@pytest.mark.parametrize("order", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("cutoff", [0.004, 0.05, 20.0 / 150.0, 0.3, 0.5, 0.93])
def test_butterworth_coefficients_are_scipys(order: int, cutoff: float) -> None:
    b, a = butterworth_lowpass(order, cutoff)
    b_ref, a_ref = signal.butter(order, cutoff)
    assert np.array_equal(b, b_ref) and np.array_equal(a, a_ref)
    assert a[0] == 1.0 and b.shape == a.shape == (order + 1,)
    if cutoff >= 0.05:  # (lower, the sums cancel to a few digits)
        assert np.isclose(b.sum() / a.sum(), 1.0)  # unit gain at 0 Hz


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("cutoff", [0.02, 0.2, 0.7])
def test_zero_lag_filter_is_scipys_filtfilt(order: int, cutoff: float) -> None:
    rng = np.random.default_rng(order * 100 + int(cutoff * 100))
    # a random walk in newtons with a step, 3 columns; and a single column
    x = np.cumsum(rng.normal(size=(700, 3)), axis=0) * 50.0
    x[300:] += 800.0
    b, a = butterworth_lowpass(order, cutoff)
    assert np.array_equal(filtfilt_odd(b, a, x), signal.filtfilt(b, a, x, axis=0))
    assert np.array_equal(filtfilt_odd(b, a, x[:, 1]), signal.filtfilt(b, a, x[:, 1]))


def test_zero_lag_filter_properties() -> None:
    b, a = butterworth_lowpass(2, 0.1)
    const = np.full((200, 2), 7.5)
    np.testing.assert_allclose(filtfilt_odd(b, a, const), const, rtol=1e-12)  # steady state
    t = np.arange(400)
    slow = np.sin(2 * np.pi * t / 200.0)  # well below the cutoff: kept, without lag
    assert np.max(np.abs(filtfilt_odd(b, a, slow)[20:-20] - slow[20:-20])) < 1e-3
    fast = np.sin(2 * np.pi * 0.45 * t)  # near Nyquist: removed
    assert np.max(np.abs(filtfilt_odd(b, a, fast)[20:-20])) < 0.02
    with pytest.raises(ValueError):
        filtfilt_odd(b, a, np.ones(9))  # not longer than the padding
    with pytest.raises(ValueError):
        butterworth_lowpass(2, 1.0)
