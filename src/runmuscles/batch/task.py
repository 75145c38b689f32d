"""What a Dask worker runs: one model's preparation, one trial's analysis.

A task gets plain data (a :class:`~runmuscles.batch.discover.TrialRow` as a dict, paths as
strings) and returns plain data (a record dict); OpenSim objects never cross processes
(they cannot be pickled, opensim-core issue #3525). A trial task runs the library path of
``runmuscles analyze`` (:func:`analyze_row`) and writes the trial's results folder with
:func:`runmuscles.results.write_results`, then its rows of the tidy dataset. A trial's
failure is caught and returned as its record (status ``failed`` and the reason), so one
bad trial never stops a batch and is not retried; only a lost worker makes Dask run a
task again.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from contextlib import suppress
from pathlib import Path

from ..errors import InputError
from .discover import TrialRow

__all__ = ["QuietOpenSim", "analyze_row", "prepare_model_task", "run_trial_task"]

#: Sub-folders of a batch's output: one results folder per trial, and the tidy dataset.
TRIALS_DIR = "trials"
DATASET_DIR = "dataset"
#: The dataset's tables (one Parquet file per trial, partitioned by subject).
TABLES = ("timeseries", "muscles", "groups")


def quiet_opensim() -> None:
    """Turn OpenSim's ``opensim.log`` file sink off in this process (every worker of a
    batch would otherwise append to the same file in its working folder)."""
    with suppress(Exception):
        from ..opensim_adapter import opensim  # noqa: PLC0415

        opensim().Logger.removeFileSink()


try:  # the plugin class needs distributed; the rest of this module does not
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - distributed is a dependency
    _WorkerPlugin = object  # type: ignore[assignment,misc]


class QuietOpenSim(_WorkerPlugin):  # type: ignore[misc,valid-type]
    """Worker plugin: one BLAS thread per worker and OpenSim's log file off, at worker start."""

    name = "runmuscles-quiet-opensim"

    def setup(self, worker) -> None:  # noqa: D401 - Dask's hook
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        quiet_opensim()


def analyze_row(row: TrialRow, out: Path, *, cache_dir: str | Path | None = None):
    """Analyse one batch row into ``out``, as ``runmuscles analyze`` does with the same inputs.

    A row with ``folder`` + ``trial`` is ``runmuscles analyze FOLDER --trial TRIAL``
    (:func:`runmuscles.trials.resolve_trial`); a row with ``lab_file`` is ``runmuscles
    analyze LAB_FILE`` (:func:`runmuscles.lab.prepare_lab_trial`). Settings left ``None``
    take the command's defaults. Returns ``(analysis, paths)``.
    """
    from ..analysis_inputs import analysis_options, folder_trial_inputs  # noqa: PLC0415
    from ..pipeline import analyze_trial  # noqa: PLC0415
    from ..results import write_results  # noqa: PLC0415

    if row.lab_file:
        from ..lab import prepare_lab_trial  # noqa: PLC0415

        lab = prepare_lab_trial(
            row.lab_file,
            out,
            static=row.static or None,
            model=row.model or None,
            forces=row.forces or None,
            mass_kg=row.mass_kg,
            height_m=row.height_m,
            start_s=row.start_s,
            end_s=row.end_s,
        )
        spec, inputs = lab.spec, lab.analysis_inputs()
    else:
        spec, inputs = folder_trial_inputs(
            row.folder, row.trial, out, model=row.model or None, forces=row.forces or None
        )
    opts = analysis_options(
        spec,
        inputs,
        lowpass_hz=row.lowpass_hz,
        activation_exponent=row.activation_exponent,
        strength=row.strength,
        height_m=row.height_m,
        cycle=row.cycle,
        start_s=row.start_s,
        end_s=row.end_s,
        speed_m_s=row.speed_m_s,
        cache_dir=cache_dir,
        residual_reduction=row.residual_reduction,
        muscles=row.muscles,
    )
    analysis = analyze_trial(spec.model, spec.coordinates, spec.forces, opts)
    paths = write_results(analysis, out)
    return analysis, paths


def prepare_model_task(model_path: str, cache_dir: str | None) -> dict:
    """Load a model once (building its geometry cache, written atomically, if missing).

    Trial tasks that use the model depend on this task, so the cache is built once per
    unique model, not by every worker at once. A failure is returned, not raised: the
    trials that use the model then fail with their own reason.
    """
    from ..model import RunnerModel  # noqa: PLC0415

    t0 = time.perf_counter()
    try:
        RunnerModel.load(model_path, cache_dir=cache_dir)
        error = ""
    except Exception as exc:  # noqa: BLE001 - reported per trial
        error = str(exc)
    return {"model": model_path, "error": error, "seconds": time.perf_counter() - t0}


def _atomic_parquet(table, target: Path) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, target)


def dataset_file(out: Path, table: str, row: TrialRow) -> Path:
    """Where a trial's rows of one dataset table go (Hive partitioning by subject)."""
    return Path(out) / DATASET_DIR / table / f"subject={row.subject}" / f"{row.trial_id}.parquet"


def _write_dataset_rows(out: Path, row: TrialRow, analysis, trial_dir: Path) -> None:
    """The trial's rows of the tidy dataset: per-frame series, per-stride muscles and groups."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    # the subject is the partition (the folder name), not a column of the files
    speed = analysis.options.speed_m_s
    ids = {
        "trial_id": (row.trial_id, pa.string()),
        "session": (row.session, pa.string()),
        "speed_m_s": (None if speed is None else float(speed), pa.float64()),
    }

    def with_ids(table):
        for i, (k, (v, kind)) in enumerate(ids.items()):
            table = table.add_column(i, k, pa.array([v] * table.num_rows, type=kind))
        return table

    ts = trial_dir / "timeseries.parquet"
    if ts.is_file():
        _atomic_parquet(with_ids(pq.read_table(ts)), dataset_file(out, "timeseries", row))
    for name, rows in (("muscles", analysis.muscle_rows()), ("groups", analysis.group_rows())):
        target = dataset_file(out, name, row)
        if rows:
            _atomic_parquet(with_ids(pa.Table.from_pylist(rows)), target)
        else:
            with suppress(FileNotFoundError):
                target.unlink()


def _drop_dataset_rows(out: Path, row: TrialRow) -> None:
    for name in TABLES:
        with suppress(FileNotFoundError):
            dataset_file(out, name, row).unlink()


def run_trial_task(row_data: dict, out: str, cache_dir: str | None, model_ready: dict | None = None) -> dict:
    """Analyse one trial on a worker; return its record (never raises for the trial's own faults).

    Parameters
    ----------
    row_data
        :meth:`TrialRow.to_dict` of the trial.
    out
        The batch's output folder: the trial's results go to ``out/trials/<trial_id>``.
    cache_dir
        Model cache folder (``None``: the user cache).
    model_ready
        The record of the trial's model preparation task (the dependency; unused otherwise).
    """
    quiet_opensim()
    row = TrialRow.from_dict(row_data)
    base = Path(out)
    trial_dir = base / TRIALS_DIR / row.trial_id
    started = time.time()
    t0 = time.perf_counter()
    record: dict = {
        "trial_id": row.trial_id,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "started_utc": started,
    }
    try:
        analysis, paths = analyze_row(row, trial_dir, cache_dir=cache_dir)
        t1 = time.perf_counter()
        _write_dataset_rows(base, row, analysis, trial_dir)
        summary = analysis.summary()
        record.update(
            status="ok",
            error="",
            error_kind="",
            n_strides=int(summary.get("n_strides") or 0),
            quality_valid=bool(summary.get("quality", {}).get("valid", True)),
            stage_timings_s={k: float(v) for k, v in (analysis.timings_s or {}).items()},
            analyze_s=t1 - t0,
            dataset_s=time.perf_counter() - t1,
        )
    except InputError as exc:
        _drop_dataset_rows(base, row)
        record.update(status="failed", error=str(exc), error_kind="input")
    except Exception as exc:  # noqa: BLE001 - one trial's bug must not stop the batch
        _drop_dataset_rows(base, row)
        last = traceback.extract_tb(exc.__traceback__)[-1:] or []
        at = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
        text = " ".join(str(exc).split())
        record.update(status="failed", error=f"{type(exc).__name__}: {text}{at}", error_kind="internal")
    record["duration_s"] = time.perf_counter() - t0
    record["finished_utc"] = time.time()
    if model_ready and model_ready.get("error") and record["status"] == "ok":
        record["model_note"] = model_ready["error"]
    return record
