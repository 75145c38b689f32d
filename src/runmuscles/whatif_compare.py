"""Moved to :mod:`runmuscles.whatif.compare`; this name stays so that imports of it keep working."""

from .whatif.compare import (
    BUNDLED_RUNNER_LABEL,
    DEFAULT_BASELINE_SPEED_M_S,
    UNITS,
    reference_speed,
    whatif_payload,
)

__all__ = ["BUNDLED_RUNNER_LABEL", "DEFAULT_BASELINE_SPEED_M_S", "UNITS", "reference_speed", "whatif_payload"]
