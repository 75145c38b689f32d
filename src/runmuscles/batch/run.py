"""Running a batch on Dask: plan (what runs, what is reused), submit, collect, record.

:func:`run` is the library entry point (``runmuscles batch`` is a thin shell over it). With
no ``client`` it starts :func:`local_cluster` (one thread per worker process, as many
workers as cores); with a ``client`` (a notebook's own, or one connected to ``--scheduler``)
it uses that cluster as it is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..errors import InputError
from ..outputs import check_output_file, json_written_by_runmuscles, prepare_output_dir
from .discover import Skipped, TrialRow, discover
from .task import DATASET_DIR, TABLES, TRIALS_DIR, BatchWorker, prepare_model_task, run_trial_task

__all__ = [
    "BatchResult",
    "FileHashes",
    "PlannedTrial",
    "dataset_summary",
    "local_cluster",
    "plan",
    "read_dataset",
    "run",
    "trial_hashes",
    "versions",
    "write_dataset_outputs",
    "write_dataset_summary",
]

MANIFEST_PARQUET = "manifest.parquet"
MANIFEST_CSV = "manifest.csv"
DESCRIPTION = "dataset_description.json"
SUMMARY_SUBJECTS = "summary_subjects.csv"
SUMMARY_DATASET = "summary_dataset.csv"
#: The group table's loads that the dataset summaries average.
SUMMARY_VALUES = (
    "impulse_bw_s",
    "positive_work_j_per_kg",
    "negative_work_j_per_kg",
    "share_of_impulse",
    "share_of_positive_work",
)
#: Times Dask runs a trial task again after its worker was lost (on top of the
#: scheduler's own ``distributed.scheduler.allowed-failures``).
TASK_RETRIES = 2
#: BIDS version whose derivatives convention ``dataset_description.json`` follows.
BIDS_VERSION = "1.9.0"


def versions() -> dict[str, str]:
    """Versions that change results: runmuscles, Python and the numeric libraries."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    # looked up once per process: a distribution's metadata costs milliseconds per lookup,
    # and a batch's manifest asks for it once per trial
    out = {"runmuscles": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "opensim", "daqp", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = ""
    return tuple(out.items())


class FileHashes:
    """sha256 over a list of files (each file's name, then its bytes), remembering the state after
    each list of files met before: the trials of one runner list the runner's model first, so a
    plan reads and hashes each shared model once, not once per trial, with the same digests.

    Files are told apart by path, size and modification time; make one per plan (files may
    change between plans).
    """

    def __init__(self) -> None:
        self._states: dict[tuple, tuple[object, tuple[str, ...]]] = {}

    def sha256(self, paths: list[Path]) -> tuple[str, list[str]]:
        """The hex digest over ``paths`` and the paths that could not be read."""
        h = hashlib.sha256()
        missing: tuple[str, ...] = ()
        key: tuple = ()
        for p in paths:
            try:
                st = p.stat()
                key += ((str(p), st.st_size, st.st_mtime_ns),)
            except OSError:
                key += ((str(p), None, None),)
            known = self._states.get(key)
            if known is not None:
                h, missing = known[0].copy(), known[1]  # type: ignore[attr-defined]
                continue
            h.update(p.name.encode())
            try:
                with p.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
            except OSError:
                missing += (str(p),)
                h.update(b"<missing>")
            if key[-1][1] is not None:  # a file that changes name or vanishes is not remembered
                self._states[key] = (h.copy(), missing)
        return h.hexdigest(), list(missing)


def _sha256_json(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def trial_hashes(row: TrialRow, version_hash: str, file_hashes: FileHashes | None = None) -> dict[str, str]:
    """``input_hash`` (every input file's bytes), ``settings_hash``, ``version_hash`` and
    the ``key`` made of the three: a trial whose key matches its last successful run is not
    run again. ``file_hashes``: a plan's :class:`FileHashes` (shared files hashed once)."""
    try:
        files = row.input_files()
    except InputError as exc:
        files, problem = [], str(exc)
    else:
        problem = ""
    inputs, missing = (file_hashes or FileHashes()).sha256(files)
    settings = _sha256_json(row.settings())
    key = hashlib.sha256(f"{inputs}{settings}{version_hash}".encode()).hexdigest()
    return {
        "input_hash": inputs,
        "settings_hash": settings,
        "version_hash": version_hash,
        "key": key if not (problem or missing) else "",
        "input_problem": problem or (f"missing {', '.join(missing)}" if missing else ""),
    }


@dataclass
class PlannedTrial:
    """A trial and what the batch will do with it: ``run`` or ``reuse`` (and why)."""

    row: TrialRow
    hashes: dict[str, str]
    action: str
    reason: str
    previous: dict | None = None


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    out
        The output folder.
    records
        One dict per trial (the rows of ``manifest.parquet``).
    executed
        Trial tasks run this time (0 on an immediate rerun).
    skipped
        What discovery skipped, and why.
    models
        Each unique model's preparation record (``model``, ``error``, ``seconds``, ``worker``,
        ``finished_utc``) of this run.
    timings_s
        Where the batch's own time went: ``plan`` (hashing inputs, reading the last
        manifest), ``cluster`` (starting or joining the cluster, the worker plugin's set-up),
        ``execute`` (from submitting the first task to collecting the last), ``write``
        (manifest, dataset summaries, report, description).
    cpu_s
        The client process's CPU seconds in ``plan`` and ``write`` (a shared machine's wall
        times say little).
    """

    out: Path
    records: list[dict]
    executed: int
    skipped: list[Skipped] = field(default_factory=list)
    dashboard: str = ""
    models: list[dict] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]

    @property
    def ok(self) -> int:
        return sum(1 for r in self.records if r["status"] == "ok")


def _previous_manifest(out: Path) -> dict[str, dict]:
    f = out / MANIFEST_PARQUET
    if not f.is_file():
        return {}
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        rows = pq.read_table(f).to_pylist()
    except Exception:  # noqa: BLE001 - an unreadable old manifest means: run everything
        return {}
    return {r["trial_id"]: r for r in rows}


def plan(
    rows: list[TrialRow],
    out: str | Path,
    *,
    force: bool = False,
    rerun_failed: bool = False,
    file_hashes: FileHashes | None = None,
) -> list[PlannedTrial]:
    """What each trial will do: run, or reuse its last result (same key, same status).

    A trial is reused when its previous record has the same input, settings and version
    hashes and (for a success) its results folder still has ``summary.json``; a previous
    failure with the same key is reused too (it would fail the same way) unless
    ``rerun_failed``. ``force`` runs everything. ``file_hashes``: the :class:`FileHashes` to
    use (and fill; a new one by default).
    """
    out = Path(out)
    version_hash = _sha256_json(versions())
    prev = _previous_manifest(out)
    file_hashes = FileHashes() if file_hashes is None else file_hashes
    planned = []
    for row in rows:
        h = trial_hashes(row, version_hash, file_hashes)
        p = prev.get(row.trial_id)
        action, reason = "run", "new"
        if force:
            reason = "--force"
        elif h["input_problem"]:
            reason = f"inputs cannot be hashed ({h['input_problem']})"
        elif p is not None:
            if p.get("key") != h["key"]:
                changed = [
                    k.split("_")[0]
                    for k in ("input_hash", "settings_hash", "version_hash")
                    if p.get(k) != h[k]
                ]
                reason = f"{', '.join(changed) or 'key'} changed"
            elif p.get("status") == "ok":
                if (out / TRIALS_DIR / row.trial_id / "summary.json").is_file():
                    action, reason = "reuse", "unchanged since its last successful run"
                else:
                    reason = "its results folder is gone"
            elif rerun_failed:
                reason = "--rerun-failed"
            else:
                action, reason = "reuse", "failed before with the same inputs (--rerun-failed runs it again)"
        planned.append(PlannedTrial(row, h, action, reason, p))
    return planned


def _model_of(row: TrialRow) -> str | None:
    """The model file a trial uses as it is (prepared once per content), or None when the
    trial makes its own (scaled from a static trial or a height)."""
    if row.folder:
        from ..trials import trial_model  # noqa: PLC0415

        try:
            return str(row.model or trial_model(Path(row.folder)))
        except InputError:
            return None
    if row.model and not row.static and row.height_m is None:
        return row.model
    return None


def _dashboard(client) -> str:
    """The cluster's dashboard link, or "" when it serves none (Bokeh not installed)."""
    try:
        import bokeh  # noqa: F401, PLC0415
    except ImportError:
        return ""
    try:
        return str(client.dashboard_link or "")
    except Exception:  # noqa: BLE001 - a link is a convenience
        return ""


#: Dask settings of the LocalCluster a batch starts (:func:`local_cluster`): Dask's own
#: timers, made for tasks of milliseconds, on a cluster whose tasks take seconds. The workers'
#: statistical profiler is off: it samples each running task's Python stack every 10 ms
#: (``distributed.worker.profile.interval``) on the worker's event-loop thread, which takes the
#: GIL from the trial it samples, and a trial's time is spent inside NumPy, SciPy and OpenSim
#: calls, which such a profile does not resolve. The event loops' tick, which only measures how
#: long a loop was blocked (a warning past ``distributed.admin.tick.limit``, 3 s), wakes every
#: process 5 times a second instead of 50. Measured on an idle 2-worker cluster (2-core host,
#: 20 s): the workers' CPU 1.07 s -> 0.36 s, the client, scheduler and nannies' 0.71 s -> 0.47 s.
LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
}


def local_cluster(workers: int | None = None, *, dashboard: bool | None = None):
    """The :class:`distributed.LocalCluster` that ``runmuscles batch`` starts.

    ``workers`` processes (default: the CPU count) of one thread each (OpenSim is not
    thread-safe, and parallel OpenSim runs in one process slow each other down: opensim-core
    issue #2959), with :data:`LOCAL_CLUSTER_CONFIG`. ``dashboard``: serve Dask's dashboard on
    a free port (``None``: when Bokeh is installed).
    """
    import dask  # noqa: PLC0415
    from distributed import LocalCluster  # noqa: PLC0415

    if dashboard is None:
        try:
            import bokeh  # noqa: F401, PLC0415

            dashboard = True
        except ImportError:
            dashboard = False
    if workers is not None:
        from ..validation import check  # noqa: PLC0415

        check("batch_workers", workers, "workers")  # the command's limits, for library callers too
    n = workers or os.cpu_count() or 1
    # the nannies hand the configuration in force when they are made to their workers
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        return LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0" if dashboard else None,
            silence_logs=40,
        )


def _start_client(workers: int | None, scheduler: str | None):
    from distributed import Client  # noqa: PLC0415

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(scheduler, f"cannot connect to the Dask scheduler ({exc})") from None
    cluster = local_cluster(workers)
    return Client(cluster), cluster


def run(
    manifest: str | Path | list[TrialRow],
    client=None,
    *,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    cycle: int | None = None,
    residual_reduction: bool | None = None,
    force: bool = False,
    rerun_failed: bool = False,
    cache_dir: str | Path | None = None,
    progress: Callable[[dict, int, int], None] | None = None,
    model_progress: Callable[[dict, int, int], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> BatchResult:
    """Analyse every trial of a batch on Dask; write per-trial results and the tidy dataset.

    Parameters
    ----------
    manifest
        A data folder, a manifest CSV (:func:`runmuscles.batch.discover.discover`) or rows.
    client
        A :class:`distributed.Client` to use (a notebook's own); ``None``: ``scheduler``'s
        cluster, else a new LocalCluster of ``workers`` processes (default: the CPU count),
        one thread each, closed at the end.
    out
        Output folder: ``trials/<trial_id>/`` (what ``runmuscles analyze`` writes),
        ``dataset/{timeseries,muscles,groups}/subject=<s>/<trial_id>.parquet``,
        ``manifest.parquet``, ``manifest.csv``, ``dataset_description.json``, the dataset
        summaries (``summary_subjects.csv``, ``summary_dataset.csv``) and the dataset report
        ``dataset_report.html`` (:mod:`runmuscles.reports.dataset_html`).
    cycle
        Stride cycle for rows without their own window.
    residual_reduction
        Residual reduction on or off for rows without their own setting (``None``: on, the
        analysis default).
    force, rerun_failed
        Run every trial; run again the trials that failed last time.
    cache_dir
        Model cache folder (default: the user cache).
    progress
        Called with each finished trial's record, the count done and the total to run.
    model_progress
        Called likewise for each unique model's preparation (``{"model", "error", "seconds"}``).
    on_start
        Called with the dashboard link (empty without one) once the cluster is there.

    Returns
    -------
    BatchResult
    """
    if isinstance(manifest, list):
        rows, skipped = manifest, []
        if residual_reduction is not None:
            for r in rows:
                if r.residual_reduction is None:
                    r.residual_reduction = residual_reduction
    else:
        rows, skipped = discover(manifest, cycle=cycle, residual_reduction=residual_reduction)
    out_p = Path(out).resolve()
    check_output_file(out_p / DESCRIPTION, json_written_by_runmuscles)
    prepare_output_dir(out_p)
    t0, c0 = time.perf_counter(), time.process_time()
    timings: dict[str, float] = {"cluster": 0.0, "execute": 0.0}
    cpu: dict[str, float] = {}  # the client process's CPU seconds in its own stages
    file_hashes = FileHashes()  # the plan's file digests, reused for the models' at submission
    planned = plan(rows, out_p, force=force, rerun_failed=rerun_failed, file_hashes=file_hashes)
    timings["plan"], cpu["plan"] = time.perf_counter() - t0, time.process_time() - c0
    to_run = [p for p in planned if p.action == "run"]
    records: dict[str, dict] = {}
    for p in planned:
        if p.action == "reuse":
            records[p.row.trial_id] = {**p.previous, "executed": False}
    dashboard = ""
    models: list[dict] = []
    if to_run:
        own = client is None
        cluster = None
        t0 = time.perf_counter()
        if own:
            client, cluster = _start_client(workers, scheduler)
        try:
            dashboard = _dashboard(client)
            if on_start is not None:
                on_start(dashboard)
            _setup_workers(client)
            timings["cluster"] = time.perf_counter() - t0
            _import_writers_meanwhile()
            t0 = time.perf_counter()
            records.update(
                _execute(client, to_run, out_p, cache_dir, progress, model_progress, models, file_hashes)
            )
            timings["execute"] = time.perf_counter() - t0
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
    t0, c0 = time.perf_counter(), time.process_time()
    ordered = [_manifest_row(p, records[p.row.trial_id], out_p) for p in planned]
    written = _write_manifest(out_p, ordered).to_pylist()  # the rows as the report would read them
    curves = {k: r["curves"] for k, r in records.items() if r.get("executed") and r.get("curves")}
    write_dataset_outputs(out_p, curves, written)
    _write_description(out_p, manifest, ordered)
    timings["write"], cpu["write"] = time.perf_counter() - t0, time.process_time() - c0
    return BatchResult(out_p, ordered, len(to_run), skipped, dashboard, models, timings, cpu)


def write_dataset_outputs(
    out: str | Path, curves: dict[str, dict] | None = None, rows: list[dict] | None = None
):
    """Write a batch folder's dataset summaries (:func:`write_dataset_summary`) and its report
    (:func:`runmuscles.reports.dataset_html.write_dataset_report`; ``curves``, the trials' curves
    already computed, and ``rows``, the manifest's rows, as there: read from the folder when not
    given). Returns the report's path."""
    from ..reports.dataset_html import write_dataset_report  # noqa: PLC0415

    summaries = dataset_summary(out)
    write_dataset_summary(out, summaries)
    return write_dataset_report(out, curves=curves, summaries=summaries, rows=rows)


#: Modules the client needs only to write a batch's dataset files (manifest, summaries, report;
#: pandas' CSV writer is a module of its own, imported on the first ``to_csv``).
_WRITER_MODULES = (
    "pandas",
    "pandas.io.formats.csvs",
    "pyarrow.csv",
    "pyarrow.dataset",
    "runmuscles.reports.dataset_html",
)


def _import_writers_meanwhile() -> None:
    """Import the writers' modules in a background thread while the workers run the trials
    (the client only waits then), rather than after the last trial (some 0.3-0.5 s).
    Python's import lock makes a later ``import`` of the same module wait for this one."""
    import contextlib  # noqa: PLC0415
    import importlib  # noqa: PLC0415
    import threading  # noqa: PLC0415

    def load() -> None:
        for name in _WRITER_MODULES:
            with contextlib.suppress(ImportError):  # the writer then reports it itself
                importlib.import_module(name)

    threading.Thread(target=load, name="runmuscles-batch-imports", daemon=True).start()


def _setup_workers(client) -> None:
    """Register :class:`~runmuscles.batch.task.BatchWorker` (also on workers that join later)."""
    try:
        client.register_plugin(BatchWorker(), name=BatchWorker.name)
    except AttributeError:  # pragma: no cover - older distributed
        client.register_worker_plugin(BatchWorker(), name=BatchWorker.name)


def _execute(
    client,
    to_run: list[PlannedTrial],
    out: Path,
    cache_dir,
    progress,
    model_progress,
    models_done_info,
    file_hashes: FileHashes | None = None,
) -> dict[str, dict]:
    """Submit and collect: each unique model's preparation first, each trial once its model
    is prepared.

    A trial is submitted when its model's preparation has finished (with that task's record),
    not as a task depending on it: Dask places a task beside its dependencies' results, which
    would put every trial of a runner on the worker that prepared the runner's model and leave
    the others idle; trials without dependencies are spread over the workers as they free up
    (and need no transfer of a dependency's result).
    """
    import uuid  # noqa: PLC0415

    from distributed import as_completed  # noqa: PLC0415

    cache = str(cache_dir) if cache_dir else None
    digests: dict[str, str] = {}  # model path -> content digest (each file read once)
    models: dict[str, object] = {}  # model content digest -> its preparation's future
    model_paths: dict[str, str] = {}
    waiting: dict[str, list[PlannedTrial]] = {}  # model digest -> trials waiting for it
    free: list[PlannedTrial] = []  # trials whose model is made by the trial itself
    futures: dict[object, PlannedTrial] = {}
    submitted = time.time()
    # keys unique to this run: a key the scheduler still holds from an earlier run on the
    # same client would hand back that run's result instead of running the task again
    nonce = uuid.uuid4().hex[:10]
    for p in to_run:
        model = _model_of(p.row)
        if model is None:
            free.append(p)
            continue
        if model not in digests:
            digests[model] = (file_hashes or FileHashes()).sha256([Path(model)])[0]
        digest = digests[model]
        if digest not in models:
            model_paths[digest] = model
            waiting[digest] = []
            models[digest] = client.submit(
                prepare_model_task,
                model,
                cache,
                key=f"prepare-model-{digest[:16]}-{nonce}",
                retries=TASK_RETRIES,
            )
        waiting[digest].append(p)
    pending = as_completed(list(models.values()))

    def submit_trial(p: PlannedTrial, model_ready: dict | None) -> None:
        fut = client.submit(
            run_trial_task,
            p.row.to_dict(),
            str(out),
            cache,
            model_ready,
            key=f"trial-{p.row.trial_id}-{nonce}",
            retries=TASK_RETRIES,
            pure=False,
        )
        futures[fut] = p
        pending.add(fut)

    for p in free:
        submit_trial(p, None)
    results: dict[str, dict] = {}
    model_of = {f: digest for digest, f in models.items()}
    done = models_done = 0
    for fut in pending:
        if fut in model_of:  # a model preparation: reported, then its trials go
            models_done += 1
            try:
                info = fut.result()
            except Exception as exc:  # noqa: BLE001 - its trials report it
                info = {"model": model_paths[model_of[fut]], "error": str(exc), "seconds": None}
            models_done_info.append(info)
            if model_progress is not None:
                model_progress(info, models_done, len(models))
            for p in waiting.pop(model_of[fut]):
                submit_trial(p, info)
            continue
        done += 1
        p = futures[fut]
        try:
            rec = fut.result()
        except Exception as exc:  # noqa: BLE001 - the task itself was lost (killed workers)
            rec = {
                "trial_id": p.row.trial_id,
                "status": "failed",
                "error": f"its task was lost: {type(exc).__name__}: {' '.join(str(exc).split())}",
                "error_kind": "lost",
            }
        rec["executed"] = True
        rec["submitted_utc"] = submitted
        results[p.row.trial_id] = rec
        if progress is not None:
            progress(rec, done, len(to_run))
    return results


_COLUMNS = (
    "trial_id",
    "subject",
    "session",
    "status",
    "error",
    "error_kind",
    "executed",
    "source",
    "results",
    "n_strides",
    "quality_valid",
    "input_hash",
    "settings_hash",
    "version_hash",
    "key",
    "settings",
    "versions",
    "inputs",
    "duration_s",
    "analyze_s",
    "dataset_s",
    "stage_timings_s",
    "worker",
    "peak_rss_mb",
    "submitted_utc",
    "started_utc",
    "finished_utc",
)


def _manifest_row(p: PlannedTrial, rec: dict, out: Path) -> dict:
    row = p.row
    if not rec.get("executed"):  # reused: its previous row as it was, with this run's plan
        base = {k: rec.get(k) for k in _COLUMNS}
        base["executed"] = False
        return base
    try:
        inputs = [str(f) for f in row.input_files()]
    except InputError:
        inputs = []
    return {
        "trial_id": row.trial_id,
        "subject": row.subject,
        "session": row.session,
        "status": rec.get("status", "failed"),
        "error": rec.get("error", ""),
        "error_kind": rec.get("error_kind", ""),
        "executed": True,
        "source": row.source,
        "results": f"{TRIALS_DIR}/{row.trial_id}" if rec.get("status") == "ok" else "",
        "n_strides": rec.get("n_strides"),
        "quality_valid": rec.get("quality_valid"),
        "input_hash": p.hashes["input_hash"],
        "settings_hash": p.hashes["settings_hash"],
        "version_hash": p.hashes["version_hash"],
        "key": p.hashes["key"],
        "settings": json.dumps(row.settings(), sort_keys=True),
        "versions": json.dumps(versions(), sort_keys=True),
        "inputs": json.dumps(inputs),
        "duration_s": rec.get("duration_s"),
        "analyze_s": rec.get("analyze_s"),
        "dataset_s": rec.get("dataset_s"),
        "stage_timings_s": json.dumps(rec.get("stage_timings_s") or {}, sort_keys=True),
        "worker": rec.get("worker", ""),
        "peak_rss_mb": rec.get("peak_rss_mb"),
        "submitted_utc": rec.get("submitted_utc"),
        "started_utc": rec.get("started_utc"),
        "finished_utc": rec.get("finished_utc"),
    }


def _manifest_table(rows: list[dict]):
    import pyarrow as pa  # noqa: PLC0415

    def kind(column: str):
        if column in ("executed", "quality_valid"):
            return pa.bool_()
        if column == "n_strides":
            return pa.int64()
        if column.endswith("_utc") or column in ("duration_s", "analyze_s", "dataset_s", "peak_rss_mb"):
            return pa.float64()
        return pa.string()

    schema = pa.schema([(c, kind(c)) for c in _COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def _write_manifest(out: Path, rows: list[dict]):
    """Write ``manifest.parquet`` and ``manifest.csv``; return the table written."""
    import pyarrow.csv as pcsv  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    table = _manifest_table(rows)
    for name, write in ((MANIFEST_PARQUET, pq.write_table), (MANIFEST_CSV, pcsv.write_csv)):
        tmp = out / f".{name}.tmp{os.getpid()}"
        write(table, tmp)
        os.replace(tmp, out / name)
    return table


def _write_description(out: Path, source, rows: list[dict]) -> None:
    """``dataset_description.json`` after the BIDS derivatives convention (BIDS 1.9.0,
    "Derived dataset and pipeline description"), with the batch's provenance."""
    src = "" if isinstance(source, list) else str(Path(source).resolve())
    n_failed = sum(1 for r in rows if r["status"] != "ok")
    part = "subject=<subject>/<trial_id>.parquet"
    desc = {
        "Name": f"runmuscles analyses of {Path(src).name if src else 'a batch of trials'}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [
            {
                "Name": "runmuscles",
                "Version": __version__,
                "Description": "inverse dynamics and static optimization per trial (runmuscles batch)",
            }
        ],
        "SourceDatasets": [{"URL": Path(src).as_uri()}] if src else [],
        "provenance": {
            "built_by": f"runmuscles {__version__}",
            "command": " ".join(["runmuscles", *sys.argv[1:]]) if Path(sys.argv[0]).name != "pytest" else "",
            "versions": versions(),
            "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "trials": len(rows),
            "failed": n_failed,
            "tables": {
                "timeseries": f"{DATASET_DIR}/timeseries/{part} (per frame and muscle)",
                "muscles": f"{DATASET_DIR}/muscles/{part} (per stride and muscle)",
                "groups": f"{DATASET_DIR}/groups/{part} (per stride, group, side and phase)",
                "manifest": f"{MANIFEST_PARQUET} and {MANIFEST_CSV} (one row per trial)",
                "report": "dataset_report.html (group curves and shares across subjects, failed trials)",
            },
        },
    }
    tmp = out / f".{DESCRIPTION}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(desc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / DESCRIPTION)


def read_dataset(out: str | Path, table: str, *, use_threads: bool = True, columns: list[str] | None = None):
    """One table of a batch's tidy dataset as a pandas DataFrame (``subject`` as text).

    ``table`` is ``timeseries``, ``muscles`` or ``groups``. The files are Hive-partitioned
    by subject (``subject=<label>/``), so any Parquet reader gets the same rows; this one
    keeps subject labels such as ``01`` as text. ``use_threads``: Arrow's thread pool for the
    scan (the same rows in the same order either way); ``columns``: only these (default: all).
    """
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.dataset as pads  # noqa: PLC0415

    if table not in TABLES:
        raise InputError(table, f"is not a dataset table (one of {', '.join(TABLES)})")
    folder = Path(out) / DATASET_DIR / table
    if not folder.is_dir():
        raise InputError(folder, "not found (no trial of this batch succeeded, or not a batch folder)")
    part = pads.partitioning(pa.schema([("subject", pa.string())]), flavor="hive")
    return (
        pads.dataset(folder, format="parquet", partitioning=part)
        .to_table(columns=columns, use_threads=use_threads)
        .to_pandas()
    )


def dataset_summary(out: str | Path):
    """The dataset-level summaries of a batch: ``(per_subject, across_subjects)`` DataFrames.

    ``per_subject``: one row per subject, speed, group, side and phase, each load the mean
    over that subject's strides at that speed (``n_strides`` of them). ``across_subjects``:
    one row per speed, group, side and phase: the mean of the subjects' means, their
    standard deviation (``_sd``, sample, n-1) and ``n_subjects``. Trials without a known
    speed are grouped under a missing speed. ``(None, None)`` when no trial succeeded.
    """
    keys = ["subject", "speed_m_s", "group", "side", "phase"]
    try:
        # one thread: a few rows per trial, where each hand-off between Arrow's threads waits
        # for a core on a busy host (the scan took 150-190 ms instead of 15 ms at a load of 5)
        # and only the columns summarised (a whole trial has thousands of rows of text IDs)
        groups = read_dataset(out, "groups", use_threads=False, columns=[*keys, *SUMMARY_VALUES])
    except InputError:
        return None, None
    per = groups.groupby(keys, dropna=False, sort=True)
    per_subject = per[list(SUMMARY_VALUES)].mean().join(per.size().rename("n_strides")).reset_index()
    across = per_subject.groupby(keys[1:], dropna=False, sort=True)
    mean = across[list(SUMMARY_VALUES)].mean()
    sd = across[list(SUMMARY_VALUES)].std(ddof=1).add_suffix("_sd")
    across_subjects = mean.join(sd).join(across.size().rename("n_subjects")).reset_index()
    return per_subject, across_subjects


def write_dataset_summary(out: str | Path, summaries=None) -> list[Path]:
    """Write :func:`dataset_summary` (``summaries``, when already computed) as
    ``summary_subjects.csv`` and ``summary_dataset.csv``."""
    out = Path(out)
    per_subject, across = dataset_summary(out) if summaries is None else summaries
    written = []
    for name, frame in ((SUMMARY_SUBJECTS, per_subject), (SUMMARY_DATASET, across)):
        target = out / name
        if frame is None:
            target.unlink(missing_ok=True)
            continue
        tmp = out / f".{name}.tmp{os.getpid()}"
        frame.to_csv(tmp, index=False, float_format="%.6g")
        os.replace(tmp, target)
        written.append(target)
    return written
