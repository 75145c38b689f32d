"""The per-task overhead of a batch (runmuscles.batch.accounting) and the one analysis entry
point's refusals (runmuscles.analysis_inputs.analyze_one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runmuscles.analysis_inputs import analyze_one, trial_inputs
from runmuscles.batch.accounting import task_overhead
from runmuscles.errors import InputError


def _rec(worker: str, start: float, duration: float) -> dict:
    return {
        "executed": True,
        "worker": worker,
        "submitted_utc": 100.0,
        "started_utc": 100.0 + start,
        "duration_s": duration,
        "finished_utc": 100.0 + start + duration,
    }


def test_overhead_splits_work_preparation_gaps_and_tail() -> None:
    # worker a: a model preparation 0-1 s, trials 1.1-3.1 and 3.2-5.2 s; worker b: trials 0.05-2.05
    # and 2.15-4.15 s, then idle until a finishes at 5.2 s (tail 1.05 s)
    records = [_rec("a", 1.1, 2.0), _rec("a", 3.2, 2.0), _rec("b", 0.05, 2.0), _rec("b", 2.15, 2.0)]
    models = [{"worker": "a", "seconds": 1.0, "finished_utc": 101.0}]
    cpu = {"plan": 0.1, "write": 0.3}
    o = task_overhead(records, models, {"plan": 0.2, "write": 0.6}, workers=2, cpu_s=cpu)
    assert o["tasks"] == 4
    assert o["work_s"] == pytest.approx(8.0) and o["preparation_s"] == pytest.approx(1.0)
    assert o["span_s"] == pytest.approx(5.2)
    # a: 5.2 - 3.0 (work and preparation) = 0.2 s between tasks; b: 4.15 - 4.0 = 0.15 s
    assert o["between_tasks_s"] == pytest.approx(0.35)
    assert o["tail_s"] == pytest.approx(1.05)
    assert o["between_tasks_per_task_ms"] == pytest.approx(87.5)
    assert o["bookkeeping_per_task_ms"] == pytest.approx(200.0)
    assert o["overhead_per_task_ms"] == pytest.approx(287.5)
    assert o["bookkeeping_cpu_per_task_ms"] == pytest.approx(100.0)
    # the first definition: 2 workers x 5.2 s - 8 s of trials, per task
    assert o["span_definition_per_task_ms"] == pytest.approx(600.0)


def test_overhead_ignores_reused_trials_and_counts_idle_workers_as_tail() -> None:
    reused = {"executed": False, "worker": "a", "duration_s": 50.0, "submitted_utc": 0.0, "finished_utc": 1.0}
    o = task_overhead([_rec("a", 0.01, 1.0), reused], [], {}, workers=3)
    assert o["tasks"] == 1 and o["work_s"] == pytest.approx(1.0) and o["bookkeeping_cpu_per_task_ms"] is None
    assert o["between_tasks_s"] == pytest.approx(0.01)
    assert o["tail_s"] == pytest.approx(2 * 1.01)  # two workers never got a task
    lost = {"executed": True, "worker": "", "duration_s": None, "submitted_utc": 100.0, "finished_utc": None}
    o = task_overhead([_rec("a", 0.5, 1.0), lost], [], {}, workers=1)
    assert o["tasks"] == 2 and o["between_tasks_per_task_ms"] == pytest.approx(250.0)
    with pytest.raises(ValueError):
        task_overhead([reused], [], {}, workers=1)


def test_one_entry_point_refuses_lab_options_with_a_trial_folder(tmp_path: Path, hamner: Path) -> None:
    for kwargs in ({"static": hamner / "x.c3d"}, {"mass_kg": 70.0}, {"ik": "opensim"}, {"stance_only": True}):
        with pytest.raises(InputError, match="only with a C3D, TRC or joint-angle file"):
            analyze_one(tmp_path / "out", folder=hamner / "subject01", trial="Run_4", **kwargs)
    spec, inputs, notices = trial_inputs(tmp_path / "out", folder=hamner / "subject01", trial="Run_4")
    assert spec.coordinates.name == "Run_4.mot" and inputs == {"forces_source": "measured"} and notices == []
