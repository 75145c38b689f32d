"""Where a batch's time went: the per-task overhead of running trials on Dask.

:func:`task_overhead` splits the workers' time during a batch's execution (from submitting
the first task to the last trial's end) into

* **work**: the trial tasks' own durations (each measured inside the task: reading,
  analysing, writing the trial's results and its dataset rows) and the model preparations;
* **overhead between tasks**: a worker's time before its last task ends that is neither, that
  is the machinery per task: serialising and sending tasks, the scheduler's round trips,
  returning results, waiting for a model's preparation;
* **tail**: a worker's idle time after its own last task while another still works (load
  imbalance at the batch's end, which shrinks relative to the batch as trials are added; not
  a per-task cost).

The client's own work around the execution (planning: hashing every input; writing the
manifest, the dataset summaries, the report and the description) is reported per task as
``bookkeeping_per_task_ms`` (wall time, during which the workers wait).

The per-task overhead is ``(overhead between tasks) / tasks + bookkeeping / tasks``; the issue's
target is under 50 ms (issue 17).
"""

from __future__ import annotations

from collections import defaultdict

__all__ = ["task_overhead"]


def task_overhead(
    records: list[dict],
    models: list[dict],
    timings_s: dict[str, float],
    workers: int,
    cpu_s: dict[str, float] | None = None,
) -> dict:
    """The overhead of one batch run from its records (:class:`~runmuscles.batch.BatchResult`).

    Parameters
    ----------
    records
        Trial records with ``executed``, ``worker``, ``duration_s``, ``submitted_utc`` and
        ``finished_utc`` (lost tasks, without a duration, count as overhead).
    models
        Model preparation records (``worker``, ``seconds``, ``finished_utc``).
    timings_s
        The batch's ``plan`` and ``write`` seconds (:attr:`BatchResult.timings_s`).
    workers
        Worker processes (threads) of the cluster.
    cpu_s
        The client's CPU seconds in ``plan`` and ``write`` (:attr:`BatchResult.cpu_s`), if known.

    Returns
    -------
    dict
        ``tasks``, ``work_s`` (trials), ``preparation_s`` (models), ``span_s``,
        ``between_tasks_s``, ``tail_s``, ``between_tasks_per_task_ms``,
        ``bookkeeping_per_task_ms``, ``overhead_per_task_ms`` (their sum),
        ``bookkeeping_cpu_per_task_ms`` (``None`` without ``cpu_s``) and
        ``span_definition_per_task_ms`` (``workers x span - trial work``, per task: the
        benchmark's first definition, which also counts preparation and the tail).
    """
    ran = [r for r in records if r.get("executed")]
    if not ran:
        raise ValueError("no executed trial tasks to account for")
    submitted = min(float(r["submitted_utc"]) for r in ran)
    ends: dict[str, float] = defaultdict(lambda: submitted)
    busy: dict[str, float] = defaultdict(float)
    for r in ran:
        if r.get("duration_s") is None or not r.get("worker"):
            continue  # a lost task: its time is overhead
        w = str(r["worker"])
        busy[w] += float(r["duration_s"])
        ends[w] = max(ends[w], float(r["finished_utc"]))
    prep = 0.0
    for m in models:
        if m.get("seconds") is None or not m.get("worker"):
            continue
        w = str(m["worker"])
        prep += float(m["seconds"])
        busy[w] += float(m["seconds"])
        ends[w] = max(ends[w], float(m.get("finished_utc") or submitted))
    end = max(float(r["finished_utc"]) for r in ran if r.get("finished_utc") is not None)
    n = len(ran)
    seen = set(ends) | set(busy)
    between = sum(max(0.0, ends[w] - submitted - busy[w]) for w in seen)
    # workers that got no task at all idle for the whole span: tail, not per-task machinery
    tail = sum(end - ends[w] for w in seen) + max(0, workers - len(seen)) * (end - submitted)
    work = sum(float(r["duration_s"]) for r in ran if r.get("duration_s") is not None)
    bookkeeping = float(timings_s.get("plan", 0.0)) + float(timings_s.get("write", 0.0))
    book_cpu = None if cpu_s is None else float(cpu_s.get("plan", 0.0)) + float(cpu_s.get("write", 0.0))
    return {
        "tasks": n,
        "work_s": work,
        "preparation_s": prep,
        "span_s": end - submitted,
        "between_tasks_s": between,
        "tail_s": tail,
        "between_tasks_per_task_ms": 1000.0 * between / n,
        "bookkeeping_per_task_ms": 1000.0 * bookkeeping / n,
        "overhead_per_task_ms": 1000.0 * (between + bookkeeping) / n,
        "bookkeeping_cpu_per_task_ms": None if book_cpu is None else 1000.0 * book_cpu / n,
        "span_definition_per_task_ms": 1000.0 * max(0.0, workers * (end - submitted) - work) / n,
    }
