"""OpenSim's Static Optimization against runmuscles on the same stride, in the same run.

Usage (from the repository root, with ../shared/data beside it)::

    .venv/bin/python benchmarks/bench_so.py [--opensim-repeats 1] [--repeats 5] [--json FILE]

Case: Hamner & Delp (2013) subject01, Run_4 (4 m/s), the first published gait cycle
(69 frames), the published scaled Hamner 2010 model (92 muscles), a 12 Hz coordinate
low-pass, reserves on every free coordinate (see ``tests/reference_cases.py``). The same
AnalyzeTool setup file is given to both programs.

Measured:

* **end to end**: each program as a fresh process, setup file in, activation and force
  files written (``python -c`` running OpenSim's AnalyzeTool; ``python -m runmuscles so``).
  runmuscles' model cache is warm (built by an untimed first run), as a user's is after
  the first analysis of a runner. Bytecode is compiled first, as an installed package's is.
* **solve stage**: OpenSim's ``AnalyzeTool.run()`` (the per-frame optimizations, after
  the model is loaded) against runmuscles' batched solver on the same stride's problem.
* **peak memory** of each whole process (maximum resident set size).

Ratios are OpenSim time / runmuscles time; medians over repeats. Targets (issue 2): end
to end >= 50x, solve stage >= 1000x.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _timed_process(cmd: list[str], env: dict) -> tuple[float, float | None]:
    """Wall seconds and peak resident memory (MiB) of one child process.

    Memory is read by GNU time (``/usr/bin/time -f %M``) around the command: the rusage of
    a child forked from this (large) benchmark process would include the parent's pages.
    """
    gnu_time = Path("/usr/bin/time")
    full = [str(gnu_time), "-f", "RSS_KB=%M", *cmd] if gnu_time.exists() else cmd
    with tempfile.TemporaryFile() as errf:
        t = time.perf_counter()
        proc = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=errf, env=env)
        wall = time.perf_counter() - t
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{err[-2000:]}")
    rss = [line for line in err.splitlines() if line.startswith("RSS_KB=")]
    return wall, (float(rss[-1].split("=")[1]) / 1024.0 if rss else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opensim-repeats", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()

    import reference_cases  # noqa: PLC0415 - tests/ on sys.path

    from runmuscles.opensim_adapter.tools import run_static_optimization  # noqa: PLC0415
    from runmuscles.readers.setup_files import read_analyze_setup  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="runmuscles-bench-"))
    case = reference_cases.hamner_case(work, "subject01", "Run_4", 1)
    setup = case.so_setup
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(REPO / "src" / "runmuscles"), quiet=1)

    ours_cmd = [sys.executable, "-m", "runmuscles", "so", str(setup)]
    print("warming runmuscles' model cache (untimed)...", flush=True)
    _timed_process(ours_cmd, env)

    print(f"OpenSim AnalyzeTool + StaticOptimization, {args.opensim_repeats} run(s)...", flush=True)
    osim_cmd = [
        sys.executable,
        "-c",
        "import sys, opensim as osim; osim.Logger.setLevelString('Error'); "
        "t = osim.AnalyzeTool(sys.argv[1]); t.run()",
        str(setup),
    ]
    osim_walls, osim_mem = [], []
    for _ in range(args.opensim_repeats):
        w, m = _timed_process(osim_cmd, env)
        osim_walls.append(w)
        osim_mem.append(m)
    print(f"runmuscles so, {args.repeats} runs...", flush=True)
    ours_walls, ours_mem = [], []
    for _ in range(args.repeats):
        w, m = _timed_process(ours_cmd, env)
        ours_walls.append(w)
        ours_mem.append(m)

    # in-process measurements last: a child forked from a parent that has loaded OpenSim
    # would report the parent's memory as its own peak
    # solve stage: AnalyzeTool.run() alone, in-process (model already loaded)
    so_runs = [run_static_optimization(setup) for _ in range(args.opensim_repeats)]
    osim_solve = statistics.median(r.run_s for r in so_runs)
    n_frames = so_runs[0].n_frames

    # solve stage: the batched solver on this stride's problem
    from runmuscles.muscles.static_optimization import solve_static_optimization  # noqa: PLC0415
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.so import reserves_for_setup  # noqa: PLC0415

    s = read_analyze_setup(setup)
    opts = AnalysisOptions(
        lowpass_hz=s.lowpass_cutoff_frequency_for_coordinates,
        start_s=s.initial_time,
        end_s=s.final_time,
        reserves=reserves_for_setup(s),
        require_gait_events=False,
        start_at_frame_before=True,
    )
    analysis = analyze_trial(s.model_file, s.coordinates_file, s.external_loads_file, opts)
    prob = analysis.problem
    solve_times = []
    for _ in range(max(20, args.repeats)):
        t = time.perf_counter()
        solve_static_optimization(prob.A, prob.b, prob.lower, prob.upper, exponent=prob.exponent)
        solve_times.append(time.perf_counter() - t)
    ours_solve = statistics.median(solve_times)

    res = {
        "machine": _machine(),
        "case": f"hamner2013 subject01 Run_4 cycle 1, {n_frames} frames, {len(prob.muscle_names)} muscles",
        "opensim_end_to_end_s": statistics.median(osim_walls),
        "runmuscles_end_to_end_s": statistics.median(ours_walls),
        "opensim_solve_stage_s": osim_solve,
        "runmuscles_solve_stage_s": ours_solve,
        "opensim_peak_rss_mib": max((m for m in osim_mem if m), default=None),
        "runmuscles_peak_rss_mib": max((m for m in ours_mem if m), default=None),
    }
    res["end_to_end_ratio"] = res["opensim_end_to_end_s"] / res["runmuscles_end_to_end_s"]
    res["solve_stage_ratio"] = res["opensim_solve_stage_s"] / res["runmuscles_solve_stage_s"]
    print()
    print(f"machine: {res['machine']}")
    print(f"case:    {res['case']}")
    print(f"{'':24}{'OpenSim':>12}{'runmuscles':>12}{'ratio':>10}{'target':>9}")
    print(
        f"{'end to end (s)':24}{res['opensim_end_to_end_s']:12.3f}{res['runmuscles_end_to_end_s']:12.3f}"
        f"{res['end_to_end_ratio']:9.0f}x{'>= 50x':>9}"
    )
    print(
        f"{'solve stage (s)':24}{res['opensim_solve_stage_s']:12.4f}{res['runmuscles_solve_stage_s']:12.4f}"
        f"{res['solve_stage_ratio']:9.0f}x{'>= 1000x':>9}"
    )
    print(
        f"{'peak memory (MiB)':24}{res['opensim_peak_rss_mib']:12.0f}{res['runmuscles_peak_rss_mib']:12.0f}"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
