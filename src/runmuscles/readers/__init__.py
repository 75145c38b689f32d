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
    "ExternalForceSpec",
    "ExternalLoads",
    "MarkerTable",
    "read_external_loads",
    "read_storage",
    "read_trc",
    "write_storage",
]
