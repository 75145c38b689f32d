"""Smooth blends between a transformation's change and the measured motion."""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
