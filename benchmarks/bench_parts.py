"""Timings of the parts whose speed matters, against their targets (no timed unit tests).

Usage (from the repository root, with ../shared/data beside it)::

    .venv/bin/python benchmarks/bench_parts.py [--repeats 3] [--json FILE]

* **watch hour** (issue 5): one hour of 1 Hz FIT records (a synthetic file written by the
  tests' FIT writer) read, cleaned and integrated over the speed x grade x cadence load table,
  with the pace/hills/cadence split; target < 1 s.
* **model parse**: the Rajagopal 2016 model's ``.osim`` parsed into the multibody arrays
  (what a new model costs before its cache exists); target < 0.5 s.
* **model cache load**: the parsed model loaded back from its cache; target < 0.05 s.

Medians over ``--repeats``; the first run of each is untimed (imports, file cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _median_s(fn, repeats: int) -> float:
    fn()
    walls = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    return statistics.median(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from multibody_cases import MODELS, data_path  # noqa: PLC0415 - tests/ on sys.path
    from test_watch_readers import write_fit  # noqa: PLC0415

    from runmuscles.analyses.load_model import load_load_model, run_load  # noqa: PLC0415
    from runmuscles.analyses.runs import clean_activity  # noqa: PLC0415
    from runmuscles.model.multibody import Multibody, load_osim  # noqa: PLC0415
    from runmuscles.readers.watch import read_activity  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="runmuscles-bench-parts-"))
    fit = work / "hour.fit"
    write_fit(fit, n=3600)
    table = load_load_model()
    rows = {}
    rows["watch hour: read + clean + load (s)"] = (
        _median_s(lambda: run_load(clean_activity(read_activity(fit)), model=table), args.repeats),
        1.0,
    )
    osim = data_path(MODELS["rajagopal"])
    if osim.is_file():
        rows["model parse, Rajagopal 2016 (s)"] = (_median_s(lambda: load_osim(osim), args.repeats), 0.5)
        cached = load_osim(osim).save(work / "rajagopal.pkl")
        rows["model cache load (s)"] = (_median_s(lambda: Multibody.load(cached), args.repeats), 0.05)
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{'part':42s} {'median':>9s} {'target':>9s}")
    for name, (v, target) in rows.items():
        print(f"{name:42s} {v:9.3f} {'< ' + format(target, 'g'):>9s}  {'ok' if v < target else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({k: {"s": v, "target_s": t} for k, (v, t) in rows.items()}, indent=2))


if __name__ == "__main__":
    main()
