"""The dynamic muscle solution against the recorded MocoInverse solution (issue 15).

Usage (from the repository root; about a minute)::

    .venv/bin/python benchmarks/compare_dynamic_moco.py [--reference compliant_triceps_refined]
        [--on-frames] [--set FIELD=VALUE ...] [--json FILE]

Solves the reference's stride (the bundled runner's 4 m/s trial, stride 1, volume strength)
as MocoInverse did: :func:`runmuscles.muscles.moco_reference.moco_settings` (Hermite-Simpson)
on :func:`~runmuscles.muscles.moco_reference.moco_inverse_stride` at Moco's grid points, and
prints, per muscle, the mean activation of Moco and ours, the RMS difference and the
correlation. ``--on-frames``: :meth:`DynamicSettings.moco` as it is (trapezoidal, nodes every
0.01 s) on the analysis frames instead. ``--set`` changes one setting (e.g.
``--set activation_smoothing=10``) to see what a term does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
REFERENCE = REPO / "tests" / "data" / "moco_inverse"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default="compliant_triceps_refined")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--on-frames", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from runmuscles.muscles.moco_reference import (  # noqa: PLC0415
        agreement_table,
        moco_settings,
        solve_recorded_stride,
    )

    record = json.loads((REFERENCE / f"{args.reference}.json").read_text())
    compliant = "triceps_surae" if record["settings"].get("compliant_triceps") else "none"
    st = moco_settings(record, compliant)
    if args.on_frames:
        st = st.with_(transcription="trapezoidal", mesh_interval_s=0.01)
    for item in args.set:
        key, value = item.split("=", 1)
        st = st.with_(**{key: json.loads(value)})
    cmp = solve_recorded_stride(
        record, REFERENCE / f"{args.reference}.sto", settings=st, on_moco_grid=not args.on_frames
    )
    rows, sol, wall = cmp.rows, cmp.solution, cmp.wall_s
    print(agreement_table(rows))
    print(f"solved in {wall:.1f} s, converged {sol.converged}: {sol.block_status}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "reference": args.reference,
                    "settings": dict(vars(st)),
                    "on_frames": args.on_frames,
                    "wall_s": round(wall, 1),
                    "converged": sol.converged,
                    "muscles": [vars(r) for r in rows],
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
