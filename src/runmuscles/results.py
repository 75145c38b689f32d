"""Writing an analysis: OpenSim ``.sto`` files, CSV and Parquet tables, a JSON summary.

Everything written here comes from a :class:`runmuscles.pipeline.TrialAnalysis`; nothing is
recomputed. Files in ``out_dir``:

``activation.sto``
    time, one column per muscle (activation 0-1), then reserve controls (OpenSim's
    ``_StaticOptimization_activation.sto`` layout).
``force.sto``
    time, muscle tendon forces (N), then reserve generalized forces (N m or N).
``inverse_dynamics.sto``
    generalized forces of every coordinate (N m or N).
``muscles.csv``
    per stride and muscle: impulse, work, peaks (units in the column names).
``groups.csv``
    per stride, group, side and phase: loads and shares (see
    :func:`runmuscles.analyses.stride.group_rows`).
``normalized.csv``
    activation and force per muscle at 0-100 % of the gait cycle (mean over strides).
``timeseries.parquet``
    tidy per-frame table (time, muscle, activation, force_n, power_w, phase; with the dynamic
    muscle solution also excitation, tendon_length_m, fibre_length_m, fibre_velocity_m_s).
``summary.json``
    headline numbers, group shares, quality flags and provenance; units in key names.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .outputs import prepare_output_dir
from .readers.opensim_files import write_storage
from .tables import TimeTable

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .pipeline import TrialAnalysis

__all__ = ["write_results"]


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(_clean(data), indent=2) + "\n", encoding="utf-8")
    return path


def _write_csv(path: Path, rows: list[dict]) -> Path:
    if not rows:
        path.write_text("", encoding="utf-8")
        return path
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return path


def write_results(analysis: TrialAnalysis, out_dir: str | Path, *, parquet: bool = True) -> dict[str, Path]:
    """Write every result file of ``analysis`` into ``out_dir``; return their paths."""
    out = prepare_output_dir(out_dir)
    rec = analysis.recruitment
    t = analysis.time_s
    provenance = {
        "model": str(analysis.model_path),
        "coordinates": analysis.coordinates.source,
        "external_loads": str(analysis.external_loads_path) if analysis.external_loads_path else "",
        "method": "static optimization (runmuscles)"
        if rec.solution == "static"
        else "dynamic muscle solution: compliant tendons, activation dynamics (runmuscles)",
    }
    header = {"source_model": Path(analysis.model_path).name, "generator": "runmuscles"}
    paths: dict[str, Path] = {}
    paths["activation"] = write_storage(
        out / "activation.sto",
        TimeTable(t, np.hstack([rec.activation, rec.reserve_control]), rec.muscle_names + rec.reserve_names),
        name="runmuscles_StaticOptimization_activation",
        extra_header=header,
    )
    paths["force"] = write_storage(
        out / "force.sto",
        TimeTable(
            t, np.hstack([rec.muscle_force_n, rec.reserve_force]), rec.muscle_names + rec.reserve_names
        ),
        name="runmuscles_StaticOptimization_force",
        extra_header=header,
    )
    paths["inverse_dynamics"] = write_storage(
        out / "inverse_dynamics.sto",
        TimeTable(t, analysis.generalized_forces, [c + "_moment" for c in analysis.coordinates.names]),
        name="runmuscles_inverse_dynamics",
        extra_header=header,
    )
    paths["muscles"] = _write_csv(out / "muscles.csv", analysis.muscle_rows())
    paths["groups"] = _write_csv(out / "groups.csv", analysis.group_rows())
    norm = analysis.normalized()
    if norm is not None:
        pct, act_n, force_n = norm
        rows = []
        for i, p in enumerate(pct):
            for j, m in enumerate(rec.muscle_names):
                rows.append(
                    {"cycle_pct": float(p), "muscle": m, "activation": act_n[i, j], "force_n": force_n[i, j]}
                )
        paths["normalized"] = _write_csv(out / "normalized.csv", rows)
    if parquet:
        paths["timeseries"] = _write_parquet(out / "timeseries.parquet", analysis)
    summary = dict(analysis.summary())
    summary["files"] = {k: p.name for k, p in paths.items()}
    summary["provenance"] = {**provenance, **summary.get("provenance", {})}
    paths["summary"] = write_json(out / "summary.json", summary)
    return paths


def _write_parquet(path: Path, analysis: TrialAnalysis) -> Path:
    import pyarrow as pa  # noqa: PLC0415 - optional, slow import
    import pyarrow.parquet as pq  # noqa: PLC0415

    rec = analysis.recruitment
    F, M = rec.activation.shape
    phase = analysis.muscle_phase_per_frame()  # (F, M): each muscle in its own leg's phase
    columns = {
        "time_s": _float_column(np.repeat(analysis.time_s, M)),
        "muscle": _string_column(list(rec.muscle_names), np.tile(np.arange(M, dtype=np.int32), F)),
        "activation": _float_column(rec.activation),
        "force_n": _float_column(rec.muscle_force_n),
        "power_w": _float_column(analysis.muscle_power_w),
        "phase": _string_column(*_codes(phase.ravel().tolist())),
    }
    # the dynamic solution's own states (force_n is then the tendon force)
    for name in ("excitation", "tendon_length_m", "fibre_length_m", "fibre_velocity_m_s"):
        values = getattr(rec, name, None)
        if values is not None:
            columns[name] = _float_column(values)
    pq.write_table(pa.Table.from_arrays(list(columns.values()), names=list(columns)), path)
    return path


# Arrow arrays straight from NumPy's buffers: the same arrays ``pyarrow.array`` makes of float and
# string ndarrays (the file written is byte for byte the same), without ``pyarrow.array``'s check
# for pandas objects, which imports pandas (0.2-0.3 s of a command's start-up) on first use.


def _float_column(values) -> pa.Array:
    """A float64 Arrow array of ``values`` (flattened in C order; NaN stays NaN, not null)."""
    import pyarrow as pa  # noqa: PLC0415

    flat = np.ascontiguousarray(np.asarray(values, dtype=float).ravel())
    return pa.Array.from_buffers(pa.float64(), flat.size, [None, pa.py_buffer(flat)])


def _codes(values: list[str]) -> tuple[list[str], np.ndarray]:
    """``(labels, codes)``: the distinct strings of ``values`` in order of first appearance and
    each value's index among them."""
    lookup: dict[str, int] = {}
    codes = np.fromiter(
        (lookup.setdefault(v, len(lookup)) for v in values), dtype=np.int32, count=len(values)
    )
    return list(lookup), codes


def _string_column(labels: list[str], codes: np.ndarray) -> pa.Array:
    """A UTF-8 string Arrow array whose element ``i`` is ``labels[codes[i]]`` (its offsets and
    bytes gathered with NumPy)."""
    import pyarrow as pa  # noqa: PLC0415

    encoded = [str(s).encode("utf-8") for s in labels]
    label_len = np.array([len(e) for e in encoded], dtype=np.int64)
    label_start = np.concatenate([[0], np.cumsum(label_len)[:-1]]).astype(np.int64)
    pool = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    idx = np.asarray(codes, dtype=np.int64)
    lengths = label_len[idx]
    offsets = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise ValueError("string column over 2 GB: too large for one Arrow string array")
    # byte k of element i is pool[label_start[code_i] + (k - offsets[i])]
    gather = np.repeat(label_start[idx] - offsets[:-1], lengths) + np.arange(offsets[-1])
    data = np.ascontiguousarray(pool[gather])
    return pa.Array.from_buffers(
        pa.string(), idx.size, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
    )
