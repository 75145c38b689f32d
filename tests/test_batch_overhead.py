"""A batch's own costs (issue 17): file hashing once per plan, and the batch's LocalCluster."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from runmuscles.batch import FileHashes, discover, plan


def _straight(paths: list[Path]) -> str:
    """sha256 over each file's name, then its bytes: the input hash as read file by file."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def test_file_hashes_reuse_shared_leading_files_with_the_same_digests(tmp_path: Path) -> None:
    model, a, b = (tmp_path / n for n in ("model.osim", "a.mot", "b.mot"))
    model.write_bytes(b"<OpenSimDocument/>" * 1000)
    a.write_text("motion a\n")
    b.write_text("motion b\n")
    fh = FileHashes()
    assert fh.sha256([model, a]) == (_straight([model, a]), [])
    assert fh.sha256([model, b]) == (_straight([model, b]), [])
    assert fh.sha256([model]) == (_straight([model]), [])
    # a file edited since (size and time change) is read again
    model.write_bytes(b"<OpenSimDocument></OpenSimDocument>")
    os.utime(model, ns=(1, 1))
    assert fh.sha256([model, a]) == (_straight([model, a]), [])
    # a missing file is named and not remembered: it may appear later
    gone = tmp_path / "gone.mot"
    digest, missing = fh.sha256([model, gone])
    assert missing == [str(gone)]
    gone.write_text("now here\n")
    assert fh.sha256([model, gone]) == (_straight([model, gone]), [])
    assert digest != _straight([model, gone])


def test_plan_hashes_as_before_and_reads_each_shared_model_once(hamner: Path, tmp_path: Path) -> None:
    rows, _ = discover(hamner, cycle=1)
    fh = FileHashes()
    planned = plan(rows, tmp_path / "out", file_hashes=fh)
    for p in planned[:8]:
        assert p.hashes["input_hash"] == _straight(p.row.input_files())
    # one remembered state per distinct list prefix: each runner's model once, then its trials
    models = {p.row.input_files()[0] for p in planned}
    assert len(models) == 7
    firsts = [k for k in fh._states if len(k) == 1]
    assert sorted(k[0][0] for k in firsts) == sorted(str(m) for m in models)


def test_the_batch_cluster_runs_workers_without_the_profiler_and_with_a_slower_tick() -> None:
    distributed = pytest.importorskip("distributed")
    from runmuscles.batch import local_cluster  # noqa: PLC0415

    def callbacks(dask_worker) -> dict[str, float]:
        return {k: pc.callback_time for k, pc in dask_worker.periodic_callbacks.items()}

    cluster = local_cluster(1, dashboard=False)
    try:
        with distributed.Client(cluster) as client:
            (names,) = client.run(callbacks).values()
            info = client.scheduler_info()
    finally:
        cluster.close()
    assert "heartbeat" in names and "profile" not in names and "profile-cycle" not in names
    assert names["tick"] == 200.0  # ms, not Dask's 20
    (worker,) = info["workers"].values()
    assert worker["nthreads"] == 1


@pytest.mark.parametrize("workers", [-1, 0, 5000])
def test_the_batch_cluster_refuses_worker_counts_outside_the_limits(workers: int) -> None:
    """Library callers get the command's limits: -1 started a cluster with no worker (a batch
    that never ran), 0 silently meant every CPU."""
    from runmuscles.batch import local_cluster  # noqa: PLC0415
    from runmuscles.errors import InputError  # noqa: PLC0415

    with pytest.raises(InputError, match="workers"):
        local_cluster(workers, dashboard=False)
