"""Scaled models kept between runs: a runner's model is scaled once, not once per trial.

Scaling a model with OpenSim's ScaleTool from a static trial gives the same model for every
running trial of that runner; ``runmuscles analyze`` of a second trial (or a rerun) takes it
from this cache instead. The key is a hash of everything the scaling reads: the generic
model's bytes, the marker table it scales from (values and names), the marker plan (names
mapped, tracking markers), mass, height, the code of the modules that scale and OpenSim's
version. An entry holds
the whole ``model/`` folder the scaling wrote, and what it reported (notes, flags, steps,
the quality numbers), so that a run from the cache reports the same as the run that made it.

Entries live in ``<cache>/scaled/<key>/`` (the cache folder of the geometry cache,
:func:`runmuscles.model.geometry.default_cache_dir`), written to a temporary folder first and
renamed into place, so that parallel runs never see half an entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["SCALE_CACHE_VERSION", "cached_scaling", "scaling_key"]

#: Bump when the scaling (setup, weights, measurements) changes: old entries are then unused.
SCALE_CACHE_VERSION = 1
_RECORD = "scaling.json"
#: The modules whose code decides the scaled model (setup, weights, measurements, the tool).
_SCALING_CODE = ("lab/__init__.py", "lab/scaling.py", "lab/markers.py", "opensim_adapter/tools.py")


def scaling_key(generic: Path, table, plan_items: dict, mass_kg: float | None, height_m: float | None) -> str:
    """Hash of the scaling's inputs (``table``: the :class:`MarkerTable` scaled from)."""
    h = hashlib.sha256()
    h.update(f"v{SCALE_CACHE_VERSION}".encode())
    for code in _SCALING_CODE:  # a change to the scaling's code is a new key
        h.update((Path(__file__).parents[1] / code).read_bytes())
    with contextlib.suppress(metadata.PackageNotFoundError):
        h.update(metadata.version("opensim").encode())
    h.update(Path(generic).read_bytes())
    h.update(json.dumps(table.names).encode())
    h.update(np.ascontiguousarray(table.time_s, dtype=float).tobytes())
    h.update(np.ascontiguousarray(table.positions_m, dtype=float).tobytes())
    h.update(json.dumps(plan_items, sort_keys=True, default=str).encode())
    h.update(json.dumps([mass_kg, height_m]).encode())
    return h.hexdigest()[:32]


def _cache_root() -> Path:
    from ..model.geometry import default_cache_dir  # noqa: PLC0415

    return default_cache_dir() / "scaled"


def cached_scaling(
    key: str,
    model_dir: Path,
    notes: list[str],
    flags: list[str],
    quality: dict,
    steps: list[str],
    scale: Callable[[], Path],
) -> Path:
    """The scaled model for ``key``: from the cache (its files copied into ``model_dir`` and its
    notes, flags, steps and quality replayed), else from ``scale()``, then stored."""
    entry = _cache_root() / key
    record_path = entry / _RECORD
    if record_path.is_file():
        try:
            rec = json.loads(record_path.read_text())
            model_dir.mkdir(parents=True, exist_ok=True)
            for f in entry.iterdir():
                if f.name != _RECORD:
                    shutil.copy2(f, model_dir / f.name)
            notes += rec["notes"]
            flags += rec["flags"]
            steps[0:0] = rec["steps"]
            quality["scaling"] = rec["quality"]
            notes.append(
                "scaled model reused from the cache (same generic model, scaling markers, mass and height)"
            )
            return model_dir / rec["model"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry: scale again and replace it
    n_notes, n_flags, n_steps = len(notes), len(flags), len(steps)
    scaled = Path(scale())
    rec = {
        "model": scaled.name,
        "notes": notes[n_notes:],
        "flags": flags[n_flags:],
        "steps": steps[: len(steps) - n_steps],
        "quality": quality.get("scaling", {}),
    }
    if scaled.parent.resolve() != model_dir.resolve():
        return scaled
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=entry.parent))
        for f in model_dir.iterdir():
            if f.is_file():
                shutil.copy2(f, tmp / f.name)
        (tmp / _RECORD).write_text(json.dumps(rec, default=float))
        try:
            os.replace(tmp, entry)
        except OSError:  # another run stored it first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass  # a read-only cache: the run goes on without storing
    return scaled
