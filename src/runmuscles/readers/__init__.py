"""Readers: files in, labelled tables out (no OpenSim needed to read data)."""

from .opensim_files import (
    ExternalForceSpec,
    ExternalLoads,
    MarkerTable,
    read_external_loads,
    read_storage,
    read_trc,
    write_storage,
)

__all__ = [
    "Activity",
    "ExternalForceSpec",
    "ExternalLoads",
    "MarkerTable",
    "read_activity",
    "read_external_loads",
    "read_storage",
    "read_trc",
    "write_storage",
]


def __getattr__(name: str):
    # watch-file readers pull in fitdecode/gpxpy/lxml (~0.2 s): import them only when asked
    if name in ("Activity", "read_activity"):
        from . import watch  # noqa: PLC0415

        return getattr(watch, name)
    raise AttributeError(name)
