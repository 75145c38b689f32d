"""The one place where OpenSim's Python API is used.

OpenSim (SWIG objects, states realised in order, unpicklable models, silent failures) is
kept behind this subpackage: everything it returns to the rest of runmuscles is plain
NumPy arrays, :class:`~runmuscles.tables.TimeTable` objects or file paths. ``import
opensim`` costs about 0.25 s, so it happens lazily, only when a function here needs it.

Modules
-------
geometry
    Muscle path lengths, speeds, moment arms and strength sampled from OpenSim (used to
    build and verify the fast geometry cache).
tools
    OpenSim's own tools (ScaleTool, InverseKinematicsTool, InverseDynamicsTool,
    AnalyzeTool with StaticOptimization), used for set-up steps and as references.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError, ModelError

__all__ = ["load_model", "opensim"]


@lru_cache(maxsize=1)
def opensim() -> Any:
    """Import and return the ``opensim`` module, quietly (its logger set to warnings)."""
    try:
        import opensim as osim  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - opensim is a hard dependency
        raise InputError("opensim", f"OpenSim 4.6 is not installed ({exc}); pip install opensim") from None
    level = os.environ.get("RUNMUSCLES_OPENSIM_LOG", "Error")
    osim.Logger.setLevelString(level)
    return osim


def load_model(path: str | Path, *, init: bool = True) -> tuple[Any, Any]:
    """Load an ``.osim`` model; return ``(model, state)`` (state is None if not init).

    Missing mesh files are ignored (no visualiser is used). A file that does not load is
    reported as a one-line :class:`~runmuscles.errors.ModelError`.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "model file not found")
    osim = opensim()
    try:
        model = osim.Model(str(p))
    except Exception as exc:  # OpenSim raises RuntimeError with a long message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(p, f"OpenSim cannot load this model: {first}") from None
    state = model.initSystem() if init else None
    return model, state
