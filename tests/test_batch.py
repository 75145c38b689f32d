"""`runmuscles batch` on a 2-worker Dask LocalCluster: discovery, equality with `analyze`,
faults (a corrupted trial, a killed worker), reuse on rerun, and the tidy dataset."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from runmuscles.batch import (
    bids_entities,
    bids_id,
    dataset_summary,
    discover,
    plan,
    read_dataset,
    read_manifest_csv,
    run,
)
from runmuscles.errors import InputError
from runmuscles.reports.dataset_html import dataset_curves, dataset_report_html, trial_curves
from runmuscles.reports.resultset import load_results

pytestmark = pytest.mark.slow

TRIALS = ("Run_2", "Run_3", "Run_4")


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runmuscles", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _bad_runner(tmp: Path, hamner: Path) -> Path:
    """A runner folder whose Run_4 joint angles are not a motion file (model and forces real)."""
    bad = tmp / "subject99"
    (bad / "ik").mkdir(parents=True)
    (bad / "model").symlink_to(hamner / "subject01" / "model", target_is_directory=True)
    for name in ("Run_4_grf.xml", "Run_4_grf.mot"):
        (bad / name).symlink_to(hamner / "subject01" / name)
    (bad / "ik" / "Run_4.mot").write_text("this is not a motion file\n1 2 3\n")
    return bad


def _manifest(tmp: Path, hamner: Path, *, bad: bool) -> Path:
    lines = ["folder,trial,cycle"]
    lines += [f"{hamner / 'subject01'},{t},1" for t in TRIALS]
    if bad:
        lines.append(f"{_bad_runner(tmp, hamner)},Run_4,1")
    f = tmp / "manifest.csv"
    f.write_text("\n".join(lines) + "\n")
    return f


def _summary(folder: Path) -> dict:
    """A results folder's summary.json without provenance and timings, its own folder's
    name (in paths of files it wrote there) as OUT."""
    text = (folder / "summary.json").read_text().replace(str(folder), "OUT")
    summary = json.loads(text)
    summary.pop("provenance")
    summary.pop("timings_s")
    return summary


# -- discovery ---------------------------------------------------------------------------------
def test_discovers_every_hamner_and_fukuchi_trial(shared_data: Path) -> None:
    rows, skipped = discover(shared_data / "hamner2013", cycle=1)
    assert len(rows) == 28 and not skipped
    ids = {r.trial_id for r in rows}
    assert "sub-01_task-Run4" in ids and "sub-19_task-Run2" in ids
    assert all(r.cycle == 1 and r.folder and r.trial for r in rows)
    c3d, skipped = discover(shared_data / "fukuchi2017")
    assert len(c3d) == 12 and not skipped
    first = next(r for r in c3d if r.trial_id == "sub-RBDS001_task-runT25")
    assert first.lab_file.endswith("RBDS001runT25.c3d") and first.model.endswith("RBDS001_complex.osim")
    assert not any("static" in r.lab_file for r in c3d)


def test_discovery_says_what_it_skipped(tmp_path: Path, hamner: Path) -> None:
    bad = _bad_runner(tmp_path, hamner)
    (bad / "ik" / "Run_9.mot").write_text("x")  # no Run_9_grf.xml beside it
    (tmp_path / "notes").mkdir()
    rows, skipped = discover(tmp_path)
    assert [r.trial_id for r in rows] == ["sub-99_task-Run4"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "Run_9_grf.xml" in reasons["Run_9.mot"] and "not a runner's folder" in reasons["notes"]
    with pytest.raises(InputError, match="has no trials"):
        discover(tmp_path / "notes")


def test_bids_names() -> None:
    assert bids_entities("sub-03_ses-2_task-run_run-4_markers.c3d") == {
        "sub": "03",
        "ses": "2",
        "task": "run",
        "run": "4",
    }
    assert bids_id("03", "run", session="2", run="4") == "sub-03_ses-2_task-run_run-4"
    assert bids_id("RBDS_001", "run T25") == "sub-RBDS001_task-runT25"


def test_manifest_csv(tmp_path: Path, hamner: Path) -> None:
    data = tmp_path / "lab"
    data.mkdir()
    (data / "sub-07_ses-1_task-run_run-2.trc").write_text("x")
    f = tmp_path / "m.csv"
    f.write_text(
        "markers,static,mass_kg,start_s,end_s,strength\nlab/sub-07_ses-1_task-run_run-2.trc,,70.5,1,3,model\n"
        f"{hamner / 'subject01' / 'ik' / 'Run_4.mot'},,,,,\n"
    )
    rows, _ = read_manifest_csv(f)
    assert rows[0].trial_id == "sub-07_ses-1_task-run_run-2" and rows[0].subject == "07"
    assert rows[0].lab_file == str((data / "sub-07_ses-1_task-run_run-2.trc").resolve())
    assert (rows[0].mass_kg, rows[0].start_s, rows[0].end_s, rows[0].strength) == (70.5, 1.0, 3.0, "model")
    assert rows[1].lab_file.endswith("Run_4.mot") and rows[1].mass_kg is None
    for text, match in (
        ("coordinates,colour\na.mot,red\n", "unknown manifest column"),
        ("coordinates,mass_kg\na.mot,heavy\n", "not a number"),
        ("coordinates,mass_kg\na.mot,7000\n", r"m.csv:2 \(mass_kg\): 7000 kg is outside"),
        ("coordinates,cycle\na.mot,1.5\n", "not a whole number"),
        ("coordinates,strength\na.mot,huge\n", "'huge' is not one of"),
        ("coordinates,folder,trial\na.mot,b,Run_4\n", "either markers/coordinates or folder"),
        ("mass_kg\n70\n", "needs a 'coordinates', 'markers' or 'folder' column"),
    ):
        f.write_text(text)
        with pytest.raises(InputError, match=match):
            read_manifest_csv(f)
    f.write_text(f"folder,trial,id\n{hamner / 'subject01'},Run_2,x\n{hamner / 'subject01'},Run_3,x\n")
    with pytest.raises(InputError, match="two trials have the ID x"):
        discover(f)


# -- a batch on a 2-worker cluster ---------------------------------------------------------------
@pytest.fixture(scope="module")
def batch_run(client, tmp_path_factory, hamner: Path):
    tmp = tmp_path_factory.mktemp("batch")
    manifest = _manifest(tmp, hamner, bad=True)
    out = tmp / "out"
    models: list[dict] = []
    result = run(manifest, client, out=out, model_progress=lambda info, done, total: models.append(info))
    return result, out, manifest, tmp, models


def test_each_unique_model_is_prepared_once(batch_run) -> None:
    # subject01's trials and subject99 (whose model/ is subject01's) share one model file content
    models = batch_run[4]
    assert len(models) == 1 and models[0]["error"] == ""
    assert models[0]["model"].endswith("subject01_adjusted_scaled.osim")


def test_batch_records_memory_timings_and_model_preparation(batch_run) -> None:
    result, out, *_ = batch_run
    m = pq.read_table(out / "manifest.parquet").to_pylist()
    ran = [r for r in m if r["executed"] and r["status"] == "ok"]
    # each trial's worker's peak resident memory so far (MB): a Python process with the model
    assert ran and all(50.0 < r["peak_rss_mb"] < 4096.0 for r in ran)
    assert set(result.timings_s) == {"plan", "cluster", "execute", "write"}
    assert all(v >= 0.0 for v in result.timings_s.values()) and result.timings_s["execute"] > 0.0
    assert set(result.cpu_s) == {"plan", "write"} and all(v >= 0.0 for v in result.cpu_s.values())
    (model,) = result.models
    assert model["error"] == "" and model["seconds"] > 0.0 and ":" in model["worker"]
    assert model["finished_utc"] >= min(r["submitted_utc"] for r in ran)
    # the trials start after their model's preparation, yet are not all put on the worker that
    # prepared it: the one runner's four trials ran on both workers
    assert all(r["started_utc"] >= model["finished_utc"] for r in ran)
    assert len({r["worker"] for r in m if r["executed"]}) == 2


def test_report_curves_from_the_workers_equal_those_read_from_the_folders(batch_run) -> None:
    result, out, *_ = batch_run
    ok = [r for r in result.records if r["status"] == "ok"]
    known = {r["trial_id"]: trial_curves(out / r["results"]) for r in ok}
    assert all(set(c["groups"]) >= {"calves", "quadriceps"} for c in known.values())
    read, given = dataset_curves(out), dataset_curves(out, known=known)
    assert read.problems == given.problems == []
    assert read.toe_off_pct == given.toe_off_pct and np.array_equal(read.cycle_pct, given.cycle_pct)
    for speed, groups in read.curves.items():
        for g, by_subject in groups.items():
            for subject, curve in by_subject.items():
                assert np.array_equal(curve, given.curves[speed][g][subject])
    # the batch's report (drawn from the workers' curves) is the one drawn from the folders alone
    stamp = re.compile(r"written \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    batch_html = stamp.sub("", (out / "dataset_report.html").read_text(encoding="utf-8"))
    assert batch_html == stamp.sub("", dataset_report_html(out))


def test_a_corrupted_trial_fails_with_its_reason_and_the_others_complete(batch_run) -> None:
    result, out, *_ = batch_run
    by_id = {r["trial_id"]: r for r in result.records}
    assert result.executed == 4 and result.ok == 3
    bad = by_id["sub-99_task-Run4"]
    assert bad["status"] == "failed" and bad["error_kind"] == "input"
    assert "Run_4.mot" in bad["error"], bad["error"]
    assert [r["trial_id"] for r in result.failed] == ["sub-99_task-Run4"]
    for t in TRIALS:
        r = by_id[f"sub-01_task-{t.replace('_', '')}"]
        assert r["status"] == "ok" and r["n_strides"] == 1 and r["duration_s"] > 0
        assert (out / r["results"] / "summary.json").is_file()
    # the manifest (Parquet and CSV) says the same
    m = pq.read_table(out / "manifest.parquet").to_pylist()
    assert {r["trial_id"]: r["status"] for r in m} == {k: v["status"] for k, v in by_id.items()}
    assert all(len(r["input_hash"]) == 64 and len(r["version_hash"]) == 64 for r in m)
    assert "sub-99_task-Run4" in (out / "manifest.csv").read_text()
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["GeneratedBy"][0]["Name"] == "runmuscles"
    assert desc["provenance"]["failed"] == 1
    assert not any(out.rglob("opensim.log"))


def test_batch_results_equal_analyze(batch_run, hamner: Path, tmp_path: Path) -> None:
    _, out, *_ = batch_run
    single = tmp_path / "single"
    p = _cli("analyze", str(hamner / "subject01"), "--trial", "Run_4", "--cycle", "1", "--no-report", "-q",
             "--out", str(single))  # fmt: skip
    assert p.returncode == 0, p.stderr
    mine = out / "trials" / "sub-01_task-Run4"
    for name in ("activation.sto", "force.sto", "inverse_dynamics.sto", "muscles.csv", "groups.csv",
                 "normalized.csv"):  # fmt: skip
        assert (mine / name).read_bytes() == (single / name).read_bytes(), name
    assert pq.read_table(mine / "timeseries.parquet").equals(pq.read_table(single / "timeseries.parquet"))
    assert _summary(mine) == _summary(single)


def test_tidy_dataset_holds_every_successful_trial(batch_run) -> None:
    _, out, *_ = batch_run
    muscles = read_dataset(out, "muscles")
    assert set(muscles["trial_id"]) == {"sub-01_task-Run2", "sub-01_task-Run3", "sub-01_task-Run4"}
    assert set(muscles["subject"]) == {"01"}
    one = muscles[muscles["trial_id"] == "sub-01_task-Run4"]
    csv_rows = (out / "trials" / "sub-01_task-Run4" / "muscles.csv").read_text().strip().splitlines()
    assert len(one) == len(csv_rows) - 1
    ts = read_dataset(out, "timeseries")
    single = pq.read_table(out / "trials" / "sub-01_task-Run4" / "timeseries.parquet").to_pandas()
    mine = ts[ts["trial_id"] == "sub-01_task-Run4"].reset_index(drop=True)
    assert mine["force_n"].tolist() == single["force_n"].tolist()
    groups = read_dataset(out, "groups")
    assert {"group", "side", "phase", "trial_id", "subject"} <= set(groups.columns)
    assert not (out / "dataset" / "muscles" / "subject=99").exists()
    assert set(groups["speed_m_s"]) == {2.0, 3.0, 4.0}  # from the trial names (hamner2013 layout)


def test_dataset_summaries_average_strides_then_subjects(batch_run) -> None:
    _, out, *_ = batch_run
    per_subject, across = dataset_summary(out)
    groups = read_dataset(out, "groups")
    pick = (groups["speed_m_s"] == 4.0) & (groups["group"] == "gluteals") & (groups["phase"] == "stride")
    pick &= groups["side"] == "right"
    row = per_subject[(per_subject["speed_m_s"] == 4.0) & (per_subject["group"] == "gluteals")]
    row = row[(row["phase"] == "stride") & (row["side"] == "right")]
    assert len(row) == 1 and int(row["n_strides"].iloc[0]) == int(pick.sum()) == 1
    assert row["share_of_impulse"].iloc[0] == pytest.approx(groups.loc[pick, "share_of_impulse"].mean())
    assert set(across["n_subjects"]) == {1}  # one runner in this batch
    text = (out / "summary_subjects.csv").read_text().splitlines()
    assert text[0].startswith("subject,speed_m_s,group,side,phase,") and len(text) == len(per_subject) + 1
    assert (out / "summary_dataset.csv").is_file()


def test_dataset_outputs_equal_those_rebuilt_from_the_folder_alone(batch_run, tmp_path: Path) -> None:
    import shutil

    from runmuscles.batch import write_dataset_outputs

    _, out, *_ = batch_run
    copy = tmp_path / "elsewhere" / out.name  # the report names its folder
    shutil.copytree(out, copy)
    for name in ("summary_subjects.csv", "summary_dataset.csv", "dataset_report.html"):
        (copy / name).unlink()
    write_dataset_outputs(copy)  # from the manifest and the trials' folders alone
    for name in ("summary_subjects.csv", "summary_dataset.csv"):
        assert (copy / name).read_bytes() == (out / name).read_bytes(), name
    stamp = re.compile(r"written \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    mine, here = ((d / "dataset_report.html").read_text(encoding="utf-8") for d in (out, copy))
    assert stamp.sub("", mine) == stamp.sub("", here)


def test_changed_settings_run_again(client, tmp_path: Path, hamner: Path) -> None:
    rows, _ = discover(hamner / "subject01", cycle=1)
    rows = [r for r in rows if r.trial == "Run_3"]
    out = tmp_path / "out"
    assert run(rows, client, out=out).executed == 1
    summary = json.loads((out / "trials" / "sub-01_task-Run3" / "summary.json").read_text())
    assert summary["settings"]["residual_reduction"] is True  # on by default, as in analyze
    assert summary["quality"]["residual_reduction"]["applied"] is True
    rows[0].cycle = 2
    planned = plan(rows, out)
    assert [(p.action, p.reason) for p in planned] == [("run", "settings changed")]
    assert run(rows, client, out=out).executed == 1
    assert [p.action for p in plan(rows, out)] == ["reuse"]
    assert [p.reason for p in plan(rows, out, force=True)] == ["--force"]
    # switching residual reduction off is a settings change, and reaches the analysis
    rows[0].residual_reduction = False
    assert [(p.action, p.reason) for p in plan(rows, out)] == [("run", "settings changed")]
    assert run(rows, client, out=out).executed == 1
    summary = json.loads((out / "trials" / "sub-01_task-Run3" / "summary.json").read_text())
    assert summary["settings"]["residual_reduction"] is False
    assert "residual_reduction" not in summary["quality"]


def test_manifest_residual_reduction_column(tmp_path: Path, hamner: Path) -> None:
    f = tmp_path / "m.csv"
    runner = hamner / "subject01"
    f.write_text(f"folder,trial,residual_reduction\n{runner},Run_2,no\n{runner},Run_3,\n{runner},Run_4,YES\n")
    rows, _ = read_manifest_csv(f)
    assert [r.residual_reduction for r in rows] == [False, None, True]
    # the value in force is hashed: a row without its own takes the default (on)
    assert [r.settings()["residual_reduction"] for r in rows] == [False, True, True]
    # the command's switch fills the rows without their own
    rows, _ = discover(f, residual_reduction=False)
    assert [r.residual_reduction for r in rows] == [False, False, True]
    f.write_text("coordinates,residual_reduction\na.mot,maybe\n")
    with pytest.raises(InputError, match=r"m.csv:2 \(residual_reduction\): 'maybe' is not one of"):
        read_manifest_csv(f)


def test_an_immediate_rerun_executes_no_trial_task(batch_run, client) -> None:
    first, out, manifest, *_ = batch_run
    stamp = {p: p.stat().st_mtime_ns for p in (out / "trials").rglob("*.sto")}
    again = run(manifest, client, out=out)
    assert again.executed == 0
    assert [r["status"] for r in again.records] == [r["status"] for r in first.records]
    assert {p: p.stat().st_mtime_ns for p in (out / "trials").rglob("*.sto")} == stamp
    # the failed trial runs again only when asked
    retry = run(manifest, client, out=out, rerun_failed=True)
    assert retry.executed == 1 and len(retry.failed) == 1


def test_a_worker_killed_mid_batch_is_survived(client, tmp_path: Path, hamner: Path) -> None:
    rows, _ = discover(hamner / "subject02", cycle=1)
    rows += discover(hamner / "subject03", cycle=1)[0]
    pids = client.run(os.getpid)  # worker address -> process id
    killed: list[int] = []

    def kill_a_busy_worker(record, done, total):
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys and w in pids]
        if busy:
            killed.append(pids[busy[0]])
            os.kill(pids[busy[0]], signal.SIGKILL)

    result = run(rows, client, out=tmp_path / "out", progress=kill_a_busy_worker)
    assert killed, "no worker was busy when the first trial finished"
    assert result.executed == 8 and result.ok == 8, [r["error"] for r in result.failed]
    assert not any(r["status"] != "ok" for r in result.records)


# -- the command ---------------------------------------------------------------------------------
def test_cli_exit_codes_dry_run_and_failure_count(tmp_path: Path, hamner: Path) -> None:
    manifest = _manifest(tmp_path, hamner, bad=True)
    out = tmp_path / "out"
    p = _cli("batch", str(manifest), "--out", str(out), "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "4 trials: 4 would run, 0 reused" in p.stdout and not out.exists()
    p = _cli("batch", str(manifest), "--out", str(out), "--workers", "2")
    assert p.returncode == 1, p.stderr
    assert "3 ok, 1 failed" in p.stderr and "failed: sub-99_task-Run4: " in p.stderr
    p = _cli("batch", str(manifest), "--out", str(out), "--dry-run")
    assert "4 trials: 0 would run, 4 reused" in p.stdout
    # bad batch input: exit 2, one line
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("x")
    for args in (
        ("batch", str(tmp_path / "nothing"), "--out", str(out)),
        ("batch", str(manifest), "--out", str(tmp_path / "mine")),
        ("batch", str(manifest), "--out", str(out), "--workers", "0"),
    ):
        p = _cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("runmuscles: error:") and len(p.stderr.strip().splitlines()) == 1


def test_cli_on_an_existing_scheduler(client, tmp_path: Path, hamner: Path) -> None:
    manifest = _manifest(tmp_path, hamner, bad=False)
    p = _cli("batch", str(manifest), "--out", str(tmp_path / "out"), "--scheduler", client.scheduler.address)
    assert p.returncode == 0, p.stderr
    assert "3 ok, 0 failed (3 run now, 0 reused)" in p.stderr
    p = _cli("batch", str(manifest), "--out", str(tmp_path / "o2"), "--scheduler", "tcp://127.0.0.1:9")
    assert p.returncode == 2 and "cannot connect to the Dask scheduler" in p.stderr


@pytest.mark.opensim
def test_a_c3d_trial_in_a_batch_equals_analyze(client, tmp_path: Path, shared_data: Path) -> None:
    """The lab path (C3D markers, OpenSim IK, the C3D's force plate), one second of a trial."""
    runner = shared_data / "fukuchi2017" / "RBDS001"
    c3d, model = runner / "RBDS001runT25.c3d", runner / "RBDS001_complex.osim"
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"markers,model,start_s,end_s,speed_m_s\n{c3d},{model},2,3,2.5\n")
    result = run(manifest, client, out=tmp_path / "out")
    assert result.ok == 1, result.failed
    single = tmp_path / "single"
    p = _cli("analyze", str(c3d), "--model", str(model), "--start", "2", "--end", "3", "--speed", "2.5",
             "--no-report", "-q", "--out", str(single))  # fmt: skip
    assert p.returncode == 0, p.stderr
    mine = tmp_path / "out" / "trials" / "sub-RBDS001_task-runT25"
    for name in ("ik.mot", "activation.sto", "force.sto", "inverse_dynamics.sto", "muscles.csv"):
        assert (mine / name).read_bytes() == (single / name).read_bytes(), name
    assert _summary(mine) == _summary(single)


# -- the dataset report ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_runners(client, tmp_path_factory, hamner: Path):
    """Two runners at 4 m/s (one stride each) and the corrupted trial: a small real batch."""
    tmp = tmp_path_factory.mktemp("report")
    lines = ["folder,trial,cycle"] + [f"{hamner / s},Run_4,1" for s in ("subject01", "subject02")]
    lines.append(f"{_bad_runner(tmp, hamner)},Run_4,1")
    manifest = tmp / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    out = tmp / "out"
    return run(manifest, client, out=out), out


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split(",")])


def test_dataset_report_shows_curves_and_shares_across_subjects_and_failed_trials(two_runners) -> None:
    result, out = two_runners
    assert result.ok == 2 and len(result.failed) == 1
    page = (out / "dataset_report.html").read_text()
    assert (
        page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("<svg")[0]
    )
    # the failed trial, with its reason
    bad = result.failed[0]
    assert bad["trial_id"] in page and html.escape(bad["error"]) in page
    # the curves: the subjects' own curves (normalized.csv over body weight), their mean and SD
    dc = dataset_curves(out)
    assert list(dc.curves) == [4.0]
    own = {}
    for sub in ("01", "02"):
        rs = load_results(out / "trials" / f"sub-{sub}_task-Run4")
        idx = [rs.muscle_names.index(m) for m in rs.members("calves", "right")]
        own[sub] = rs.force_norm_n[:, idx].sum(axis=1) / rs.body_weight_n
        assert np.array_equal(dc.curves[4.0]["calves"][sub], own[sub])
    curve = re.search(r'data-group="calves" data-subjects="2">.*?class="curve"[^>]*data-mean-bw="([^"]+)" '
                      r'data-sd-bw="([^"]+)"', page, re.S)  # fmt: skip
    assert curve is not None
    pair = np.array([own["01"], own["02"]])
    assert np.allclose(_floats(curve.group(1)), pair.mean(axis=0), rtol=1e-4, atol=1e-9)
    assert np.allclose(_floats(curve.group(2)), pair.std(axis=0, ddof=1), rtol=1e-4, atol=1e-9)
    assert _floats(curve.group(2)).max() > 0.0  # two runners differ
    # the shares: the dataset summary's mean over subjects and its SD, per group and speed
    _, across = dataset_summary(out)
    row = across[(across["group"] == "calves") & (across["side"] == "both") & (across["phase"] == "stride")]
    dot = re.search(r'<circle [^>]*data-group="calves" data-value="([^"]+)" data-sd="([^"]+)"', page)
    assert dot is not None and int(row["n_subjects"].iloc[0]) == 2
    assert float(dot.group(1)) == pytest.approx(float(row["share_of_impulse"].iloc[0]), rel=1e-5)
    assert float(dot.group(2)) == pytest.approx(float(row["share_of_impulse_sd"].iloc[0]), rel=1e-5)
    # subject x speed x group: one row per subject and group
    table = page.split('class="subjects"')[1].split("</table>")[0]
    per_subject, _ = dataset_summary(out)
    drawn = set(per_subject["group"]) - {"other"}
    assert table.count("<tr>") - 1 == 2 * len(drawn) and ">01<" in table and ">02<" in table
    desc = json.loads((out / "dataset_description.json").read_text())
    assert "dataset_report.html" in desc["provenance"]["tables"]["report"]


def test_dataset_report_when_no_trial_succeeded(tmp_path: Path) -> None:
    import pyarrow as pa

    from runmuscles.reports.dataset_html import dataset_report_html

    failed = {"trial_id": "sub-1_task-x", "subject": "1", "status": "failed", "error": "bad <file>"}
    pq.write_table(
        pa.Table.from_pylist([{**failed, "error_kind": "input", "results": ""}]),
        tmp_path / "manifest.parquet",
    )
    page = dataset_report_html(tmp_path)
    assert "bad &lt;file&gt;" in page and "1 of 1 trials failed" in page
    assert "No trial succeeded" in page and "<svg" not in page
    with pytest.raises(InputError, match="no manifest.parquet"):
        dataset_report_html(tmp_path / "elsewhere")


def test_manifest_muscles_column_is_read_and_checked(tmp_path: Path, hamner: Path) -> None:
    """A row's own muscle solution is kept (``--muscles`` fills only empty cells); a bad one is refused."""
    from runmuscles.batch.discover import discover
    from runmuscles.errors import InputError

    m = tmp_path / "m.csv"
    s01 = hamner / "subject01"
    m.write_text(f"folder,trial,muscles\n{s01},Run_4,dynamic\n{s01},Run_5,\n")
    rows, _ = discover(m, muscles="static")
    assert [r.muscles for r in rows] == ["dynamic", "static"]
    rows, _ = discover(m)
    assert rows[1].muscles is None and rows[1].settings()["muscles"] == "static"
    m.write_text(f"folder,trial,muscles\n{hamner / 'subject01'},Run_4,maybe\n")
    with pytest.raises(InputError, match=r"m.csv:2 \(muscles\)"):
        discover(m)
