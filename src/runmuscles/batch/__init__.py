"""Whole datasets on Dask: ``runmuscles batch`` and :func:`runmuscles.batch.run`.

* :mod:`.discover`: a data folder (hamner2013 layout, C3D sessions) or a manifest CSV ->
  one :class:`TrialRow` per trial, with BIDS-style trial IDs.
* :mod:`.task`: what a worker runs (a model's preparation; a trial's analysis through the
  same library path as ``runmuscles analyze``, :func:`runmuscles.analysis_inputs.analyze_one`),
  returning plain records (with the worker's peak memory); the worker plugin that sets each
  worker up once (OpenSim's log file off, the analysis' modules imported).
* :mod:`.run`: plan (reuse what is unchanged), submit to a Dask cluster, collect, and write
  ``manifest.parquet``/``.csv`` and ``dataset_description.json``.
* :mod:`.accounting`: where a batch's time went (the per-task overhead).

Usable from a notebook with one's own client::

    from distributed import Client
    from runmuscles import batch
    result = batch.run("hamner2013/", Client("tcp://scheduler:8786"), out="results/")
"""

from __future__ import annotations

from .discover import Skipped, TrialRow, bids_entities, bids_id, discover, read_manifest_csv
from .run import (
    BatchResult,
    FileHashes,
    PlannedTrial,
    dataset_summary,
    local_cluster,
    plan,
    read_dataset,
    run,
    versions,
    write_dataset_outputs,
)

__all__ = [
    "BatchResult",
    "FileHashes",
    "PlannedTrial",
    "Skipped",
    "TrialRow",
    "bids_entities",
    "bids_id",
    "dataset_summary",
    "discover",
    "local_cluster",
    "plan",
    "read_dataset",
    "read_manifest_csv",
    "run",
    "versions",
    "write_dataset_outputs",
]
