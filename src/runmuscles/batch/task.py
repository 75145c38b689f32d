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

__all__ = [
    "BatchWorker",
    "analyze_row",
    "peak_rss_mb",
    "prepare_model_task",
    "run_trial_task",
    "warm_worker",
    "worker_process_settings",
]

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


#: Modules a trial task imports, imported once when a worker joins the batch
#: (:class:`BatchWorker`) rather than inside its first trial.
WARM_IMPORTS = (
    "runmuscles.analysis_inputs",
    "runmuscles.pipeline",
    "runmuscles.results",
    "runmuscles.model",
    "runmuscles.lab",
    "runmuscles.dynamics.inverse",
    "runmuscles.dynamics.residual_reduction",
    "pyarrow.parquet",
)


def warm_worker() -> float:
    """Import what trial tasks use (:data:`WARM_IMPORTS`); return the seconds it took."""
    import importlib  # noqa: PLC0415

    t0 = time.perf_counter()
    for name in WARM_IMPORTS:
        with suppress(ImportError):
            importlib.import_module(name)
    return time.perf_counter() - t0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MB; Linux reports kB, macOS bytes)."""
    import resource  # noqa: PLC0415
    import sys  # noqa: PLC0415

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def worker_process_settings() -> None:
    """The settings of a process that runs trial tasks one after another (a batch worker, or
    the serial baseline of ``benchmarks/bench_batch.py``): one BLAS and Arrow thread, the
    dynamic solution's blocks and residual reduction's segments solved in this process, no
    huge-page advice, malloc's thresholds as in a plain process, OpenSim's log file off."""
    from ..muscles.dynamic_model import SOLVER_PROCESSES_ENV  # noqa: PLC0415
    from ..process_memory import no_huge_pages, steady_malloc_thresholds  # noqa: PLC0415

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # nor a pool of Arrow threads per worker for the trial's Parquet files (a pool of one
    # thread per core in every worker only makes the workers' threads take turns)
    with suppress(ImportError):
        import pyarrow  # noqa: PLC0415

        pyarrow.set_cpu_count(1)
    # the cluster already runs one trial per core: the dynamic solution's independent
    # blocks are solved one after another inside a worker (runmuscles.muscles.dynamic)
    os.environ[SOLVER_PROCESSES_ENV] = "1"
    # no transparent-huge-page advice for NumPy's arrays (synchronous compaction cost
    # seconds of system time per whole trial on a busy host: runmuscles.process_memory)
    no_huge_pages()
    # malloc's thresholds as a plain process's: the nanny's MALLOC_TRIM_THRESHOLD_ pinned
    # them, so that every block over 128 kB was mapped afresh; since a worker lives on
    # between trials, freed memory is kept only up to 64 MiB (runmuscles.process_memory)
    steady_malloc_thresholds()
    quiet_opensim()


class BatchWorker(_WorkerPlugin):  # type: ignore[misc,valid-type]
    """Worker plugin, at worker start: one BLAS and Arrow thread per worker, OpenSim's log file
    off, malloc's thresholds as in a plain process, and the analysis' modules imported
    (:func:`warm_worker`), so that no trial task pays for them.

    Loaded models stay per worker process (:meth:`runmuscles.model.RunnerModel.load` keeps
    them), so a worker loads each model it meets once.
    """

    name = "runmuscles-batch-worker"

    def setup(self, worker) -> None:  # noqa: D401 - Dask's hook
        worker_process_settings()
        warm_worker()


def analyze_row(row: TrialRow, out: Path, *, cache_dir: str | Path | None = None):
    """Analyse one batch row into ``out``, as ``runmuscles analyze`` does with the same inputs.

    A row with ``folder`` + ``trial`` is ``runmuscles analyze FOLDER --trial TRIAL``; a row
    with ``lab_file`` is ``runmuscles analyze LAB_FILE``: both through the command's own
    library path, :func:`runmuscles.analysis_inputs.analyze_one`. Settings left ``None`` take
    the command's defaults. Returns ``(analysis, paths)``.
    """
    from ..analysis_inputs import analyze_one  # noqa: PLC0415

    lab = bool(row.lab_file)
    analysis, paths, _notices = analyze_one(
        out,
        lab_file=row.lab_file or None,
        folder=None if lab else row.folder,
        trial=None if lab else row.trial,
        model=row.model or None,
        forces=row.forces or None,
        static=(row.static or None) if lab else None,
        mass_kg=row.mass_kg if lab else None,
        height_m=row.height_m,
        start_s=row.start_s,
        end_s=row.end_s,
        lowpass_hz=row.lowpass_hz,
        activation_exponent=row.activation_exponent,
        strength=row.strength,
        cycle=row.cycle,
        speed_m_s=row.speed_m_s,
        cache_dir=cache_dir,
        residual_reduction=row.residual_reduction,
        muscles=row.muscles,
    )
    return analysis, paths


def prepare_model_task(model_path: str, cache_dir: str | None) -> dict:
    """Load a model once (building its geometry cache, written atomically, if missing).

    The trials that use the model are submitted once this task has finished
    (:func:`runmuscles.batch.run.run`), so the cache is built once per unique model, not by
    every worker at once. A failure is returned, not raised: the
    trials that use the model then fail with their own reason.
    """
    from ..model import RunnerModel  # noqa: PLC0415

    t0 = time.perf_counter()
    try:
        RunnerModel.load(model_path, cache_dir=cache_dir)
        error = ""
    except Exception as exc:  # noqa: BLE001 - reported per trial
        error = str(exc)
    return {
        "model": model_path,
        "error": error,
        "seconds": time.perf_counter() - t0,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "finished_utc": time.time(),
    }


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


def _report_curves(trial_dir: Path) -> dict | None:
    """The trial's curves for the dataset report (read here, beside the trial, so that the
    client does not read every trial's folder again); ``None`` if unreadable (the report
    then reads the folder itself and says why it could not)."""
    from ..reports.dataset_html import trial_curves  # noqa: PLC0415

    try:
        return trial_curves(trial_dir)
    except InputError:
        return None


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
        The record of the trial's model preparation task (its error, if any, is noted).
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
        record["curves"] = _report_curves(trial_dir)
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
    record["peak_rss_mb"] = peak_rss_mb()
    if model_ready and model_ready.get("error") and record["status"] == "ok":
        record["model_note"] = model_ready["error"]
    return record
