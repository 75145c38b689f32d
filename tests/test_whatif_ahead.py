"""What-ifs computed ahead (runmuscles.whatif.ahead): the slider grids, the order of the
conditions one move away, and the service's answers (exact, remembered, refusals kept)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from runmuscles.errors import InputError
from runmuscles.validation import LIMITS
from runmuscles.whatif import Condition
from runmuscles.whatif.ahead import (
    SLIDER_CHOICES,
    SLIDER_STEPS,
    RunnerSpec,
    WhatIfService,
    canonical,
    reachable,
    slider_values,
)

SPEEDS = [2.0, 3.0, 4.0, 5.0]


def test_canonical_rounds_float_noise_and_negative_zero():
    c = canonical(Condition(grade_pct=0.1 + 0.2, lean_deg=-0.0, overstride_m=0.05))
    assert c.grade_pct == 0.3 and math.copysign(1.0, c.lean_deg) == 1.0
    assert c == Condition(grade_pct=0.3, overstride_m=0.05)
    assert hash(c) == hash(Condition(grade_pct=0.3, overstride_m=0.05))
    assert canonical(Condition(grade_pct=2.5)) == Condition(grade_pct=2.5)  # not moved to a step


def test_slider_values_cover_the_declared_ranges_in_steps():
    grades = slider_values("grade_pct")
    assert grades[0] == LIMITS["grade_pct"].low and grades[-1] == LIMITS["grade_pct"].high
    assert len(grades) == 41 and 0.0 in grades
    over = slider_values("overstride_m")
    assert over[0] == 0.0 and over[-1] == pytest.approx(0.15) and len(over) == 16
    assert slider_values("speed_m_s", SPEEDS)[:3] == [2.0, 2.1, 2.2]
    assert slider_values("speed_m_s", [3.0]) == []  # one speed: no speed slider
    assert slider_values("strike") == [None, "rearfoot", "forefoot"]


def test_reachable_from_the_baseline_is_every_slider_step_once_nearest_first():
    todo = reachable(Condition(), speeds_m_s=SPEEDS, baseline_speed_m_s=3.0)
    assert len(todo) == len(set(todo))
    assert Condition() not in todo
    for key in SLIDER_STEPS:
        values = slider_values(key, SPEEDS)
        moved = [c for c in todo if set(c.changes()) == {key}]
        # every other step of the slider, the baseline's own value (cadence 100 %, 3 m/s) left out
        assert len(moved) == len(values) - 1, key
    for key, choices in SLIDER_CHOICES.items():
        assert {getattr(c, key) for c in todo if set(c.changes()) == {key}} == set(choices) - {None}
    grade = [c.grade_pct for c in todo if set(c.changes()) == {"grade_pct"}]
    assert sorted(grade[:2]) == [-1.0, 1.0] and sorted(map(abs, grade)) == list(map(abs, grade))
    # sliders interleaved by the fraction of their range: grade's 10th step after lean's 1st
    assert todo.index(Condition(lean_deg=1.0)) < todo.index(Condition(grade_pct=10.0))


def test_reachable_around_a_condition_keeps_its_other_settings():
    here = Condition(grade_pct=5.0, cadence_pct=105.0)
    todo = reachable(here, reach=2, speeds_m_s=SPEEDS, baseline_speed_m_s=3.0)
    assert Condition(grade_pct=4.0, cadence_pct=105.0) in todo
    assert Condition(grade_pct=5.0, cadence_pct=103.0) in todo
    assert Condition(grade_pct=5.0, cadence_pct=105.0, strike="forefoot") in todo
    assert Condition(grade_pct=8.0, cadence_pct=105.0) not in todo  # 3 steps: beyond reach
    assert all(c.grade_pct == 5.0 or c.cadence_pct == 105.0 for c in todo)  # one slider moved
    # cadence back to 100 % is "as recorded" (a slope's adaptation applies), not a fixed 100 %
    back = reachable(Condition(cadence_pct=101.0), reach=1, speeds_m_s=SPEEDS, baseline_speed_m_s=3.0)
    assert Condition() in back and Condition(cadence_pct=100.0) not in back


@pytest.mark.slow
def test_service_answers_exactly_from_worker_processes_and_remembers():
    from runmuscles.whatif.compare import whatif_payload
    from runmuscles.whatif.speed import load_runner

    svc = WhatIfService(RunnerSpec(), workers=2)
    try:
        cond = Condition(grade_pct=3.0)
        assert svc.cached(cond) is None
        got = svc.payload(cond)
        assert svc.cached(Condition(grade_pct=3.0000000001)) == got  # the same key
        t0 = time.perf_counter()
        assert svc.payload(cond) == got
        assert time.perf_counter() - t0 < 0.05
        assert svc.counts()["hits"] == 1 and svc.counts()["computed"] == 1
        # the engine run in this process gives the same answer (a worker's linear algebra runs
        # on one thread: equal up to the last bits)
        direct = whatif_payload(load_runner(None), cond, energetics=False)
        assert got["condition"] == direct["condition"] == {"grade_pct": 3.0}
        for g, row in direct["change"].items():
            for k, v in row.items():
                assert got["change"][g][k] == pytest.approx(v, rel=1e-9, abs=1e-12), (g, k)
        assert got["whatif"]["notes"] == direct["whatif"]["notes"]
        # ahead: queued around the condition, computed, then answered at once
        assert svc.ahead(Condition(grade_pct=3.0, lean_deg=4.0)) > 0
        assert svc.wait_idle(timeout_s=900)
        c = svc.counts()
        assert c["queued"] == 0 and c["computing"] == 0 and c["computed_ahead"] >= 10
        t0 = time.perf_counter()
        svc.payload(Condition(grade_pct=2.0, lean_deg=4.0))
        assert time.perf_counter() - t0 < 0.05
    finally:
        svc.close()


@pytest.mark.slow
def test_service_keeps_refusals_and_interpolates_speeds_from_remembered_runs():
    svc = WhatIfService(RunnerSpec(), workers=0)
    try:
        with pytest.raises(InputError, match="grade"):
            svc.payload(Condition(grade_pct=45.0))  # refused before anything is queued
        assert svc.counts()["waited"] == 0
        bad = Condition(surface="overground", belt_fluctuation_pct=5.0)
        with pytest.raises(InputError, match="treadmill only"):
            svc.payload(bad)
        with pytest.raises(InputError, match="treadmill only"):
            svc.cached(bad)  # remembered: not computed again
        assert svc.counts()["computed"] == 1
        # speeds between two trials: interpolated from the same two engine runs, computed once
        a = svc.payload(Condition(speed_m_s=3.4))
        b = svc.payload(Condition(speed_m_s=3.6))
        assert "interpolated between the trials at 3 and 4 m/s" in a["whatif"]["notes"][0]
        assert a["whatif"]["stride"] != b["whatif"]["stride"]
        first, second = (svc._done[Condition(speed_m_s=v)][2] for v in (3.4, 3.6))
        assert second < 0.25 * first, (first, second)
        # queued around conditions the user has left: dropped; around the latest: kept
        for g in (5.0, -5.0, 10.0):
            assert svc.ahead(Condition(grade_pct=g)) > 0
        assert Condition(grade_pct=5.0, lean_deg=3.0) not in svc._pending
        assert Condition(grade_pct=-5.0, lean_deg=3.0) in svc._pending
        assert Condition(grade_pct=10.0, lean_deg=3.0) in svc._pending
    finally:
        svc.close()


def test_a_dragged_slider_s_own_steps_are_computed_ahead_first():
    """Around a condition reached by moving the grade slider, every grade step within reach
    comes before any other slider's step, nearest first; around one with two moved sliders,
    both sliders' steps come first."""
    from runmuscles.whatif.ahead import drag_first, moves

    around = Condition(grade_pct=5.0)
    ranked = drag_first(around, moves(around, reach=4))
    grades = [c.grade_pct for r, _, c in ranked if r == 0]
    assert [abs(g - 5.0) for g in grades] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [r for r, _, _ in ranked[:8]] == [0] * 8 and {r for r, _, _ in ranked[8:]} == {1}
    for _, _, c in ranked[8:]:  # the others keep grade 5 and move another slider
        assert c.grade_pct == 5.0 and len(c.changes()) == 2
    distances = [d for r, d, _ in ranked if r == 1]
    assert distances == sorted(distances) and len(ranked) == len(moves(around, reach=4))
    two = Condition(grade_pct=5.0, lean_deg=3.0)
    ranked = drag_first(two, moves(two, reach=2))
    first = [c for r, _, c in ranked if r == 0]
    assert len(first) == 8 and all((c.grade_pct != 5.0) != (c.lean_deg != 3.0) for c in first)
    assert all(c.grade_pct == 5.0 and c.lean_deg == 3.0 for r, _, c in ranked if r == 1)
    # around the recorded condition: nothing was moved, every slider by its distance alone
    assert {r for r, _, _ in drag_first(Condition(), moves(Condition(), reach=1))} == {1}


_ORPHAN_PARENT = """
import multiprocessing, os, sys, time
from runmuscles.whatif.ahead import exit_when_orphaned

def child(parent_pid):
    exit_when_orphaned(parent_pid)
    time.sleep(600)

if __name__ == "__main__":
    p = multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(),))
    p.start()
    print(p.pid, flush=True)
    time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # ended (a zombie at most)
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_worker_ends_when_the_server_that_started_it_is_killed(tmp_path):
    """A service worker's orphan check: the server SIGKILLed, its worker ends by itself
    (a pool's idle workers would otherwise stay for ever, each holding a loaded runner)."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_PARENT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    child = None
    try:
        child = int(parent.stdout.readline())
        time.sleep(0.5)
        assert not _gone(child)  # alive while its parent is
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 30
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(child)
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if child is not None and not _gone(child):  # the check failed: do not leave it behind
            os.kill(child, signal.SIGKILL)


@pytest.mark.slow
def test_a_second_worker_loads_the_runner_from_the_first_one_s_snapshot(tmp_path):
    """The first worker leaves the loaded runner for the next one: read in a fraction of the
    load's time, removed once read, and answering exactly as the runner it came from."""
    import os

    from runmuscles.whatif.ahead import _compute, _load

    path = str(tmp_path / "runner.pickle")
    spec = RunnerSpec()
    t0 = time.process_time()
    first = _load(spec, path)
    load_s = time.process_time() - t0
    assert os.path.exists(path)
    t0 = time.process_time()
    second = _load(spec, path)
    assert time.process_time() - t0 < 0.2 * load_s
    assert not os.path.exists(path)  # read once: no copy of the runner left behind
    for cond in (Condition(grade_pct=4.0), Condition(lean_deg=-2.0)):
        a, b = _compute(spec, first, cond), _compute(spec, second, cond)
        assert a[0] == b[0] == "ok" and a[1] == b[1], cond
