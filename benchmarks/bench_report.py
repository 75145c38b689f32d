"""How long building report.html takes for one trial (target, issue 3: under 2 s).

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_report.py [--repeats 5] [--results DIR] [--json FILE]

Case: the bundled demo runner at 4 m/s (hamner2013 subject01 Run_4, 92 muscles, about 500
frames and 6 strides), analysed once (untimed) unless ``--results`` names a results folder.

Measured:

* **in process**: :func:`runmuscles.reports.html.build_report` after the modules are
  imported (reading the tables, drawing every figure, writing the page);
* **command**: ``python -m runmuscles report DIR`` as a fresh process (start-up and
  imports included), what a user waits for.

Medians over repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _results(tmp: Path) -> Path:
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.results import write_results  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415

    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    a = analyze_trial(spec.model, spec.coordinates, spec.forces, AnalysisOptions(speed_m_s=4.0))
    out = tmp / spec.label
    write_results(a, out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        folder = args.results or _results(Path(td))
        from runmuscles.reports.html import build_report  # noqa: PLC0415

        inproc = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            path = build_report(folder, Path(td) / "report.html")
            inproc.append(time.perf_counter() - t0)
        size = path.stat().st_size
        cmd = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "runmuscles",
                    "report",
                    str(folder),
                    "--out",
                    str(Path(td) / "r.html"),
                ],
                check=True,
                capture_output=True,
            )
            cmd.append(time.perf_counter() - t0)
    res = {
        "case": str(folder.name),
        "report_bytes": size,
        "in_process_s": statistics.median(inproc),
        "command_s": statistics.median(cmd),
        "target_s": 2.0,
    }
    res["meets_target"] = res["command_s"] < res["target_s"]
    print(
        f"report for one trial ({size / 1e6:.2f} MB): in process {res['in_process_s']:.2f} s, "
        f"as a command {res['command_s']:.2f} s (target < 2 s: {'met' if res['meets_target'] else 'NOT met'})"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
