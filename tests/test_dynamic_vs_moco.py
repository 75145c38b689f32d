"""The dynamic muscle solution against OpenSim MocoInverse on the same stride (issue 15).

The reference solutions (``tests/data/moco_inverse/<run>.sto`` and ``<run>.json``, made by
``benchmarks/moco_inverse_reference.py``) solve the bundled runner's stride (Hamner & Delp 2013
subject01 Run_4, cycle 1, volume strength) with DeGroote-Fregly 2016 muscles, compliant triceps
surae (``compliant_triceps``) or rigid tendons (``rigid``, the fallback where the compliant
solve did not converge). The dynamic solution with the matching preset
(:meth:`runmuscles.muscles.dynamic_model.DynamicSettings.moco`) must give, for every muscle
whose mean activation over the stride exceeds 0.05 in Moco's solution, an activation RMS
difference <= 0.05 and a correlation r >= 0.9.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("casadi") is None:  # found, never imported here: OpenSim's own
    pytest.skip("casadi is not installed", allow_module_level=True)  # libcasadi clashes with it

REFERENCE = Path(__file__).parent / "data" / "moco_inverse"
#: Reference runs, first the preferred: a run "continued" from its own stopped iterate
#: (``--variation continued``) before the run itself.
RUNS = (
    ("compliant_triceps_continued", "triceps_surae"),
    ("compliant_triceps", "triceps_surae"),
    ("rigid_continued", "none"),
    ("rigid", "none"),
)


def _reference() -> tuple[str, str, dict] | None:
    """The first converged run whose files are present: (name, compliant setting, record)."""
    for name, compliant in RUNS:
        meta, sto = REFERENCE / f"{name}.json", REFERENCE / f"{name}.sto"
        if meta.is_file() and sto.is_file():
            record = json.loads(meta.read_text())
            if record.get("converged"):
                return name, compliant, record
    return None


def _moco_activations(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from runmuscles.readers.opensim_files import read_storage  # noqa: PLC0415

    table = read_storage(path)
    acts = {}
    for k, label in enumerate(table.labels):
        if label.endswith("/activation"):
            acts[label.split("/")[-2]] = np.asarray(table.data[:, k], dtype=float)
    return np.asarray(table.time_s, dtype=float), acts


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 15, not met yet: against the converged MocoInverse solution (compliant triceps "
        "surae, 2026-12-07) 8 of 88 muscles are within RMS 0.05; the dynamic solution's mean "
        "activation is 0.20 against Moco's 0.17 (median RMS 0.12): the muscle models still differ"
    ),
)
def test_dynamic_solution_agrees_with_moco_inverse():
    found = _reference()
    if found is None:
        pytest.skip(f"pending: no converged MocoInverse reference in {REFERENCE}")
    name, compliant, record = found
    from runmuscles.model import RunnerModel  # noqa: PLC0415
    from runmuscles.muscles.dynamic import solve_dynamic  # noqa: PLC0415
    from runmuscles.muscles.dynamic_model import DynamicSettings  # noqa: PLC0415
    from runmuscles.muscles.dynamic_pipeline import dynamic_inputs  # noqa: PLC0415
    from runmuscles.pipeline import AnalysisOptions, analyze_trial  # noqa: PLC0415
    from runmuscles.trials import demo_trials  # noqa: PLC0415

    opts = record.get("stride", {}).get("analysis_options", {})
    spec = next(s for s in demo_trials() if s.speed_m_s == 4)
    a = analyze_trial(
        spec.model,
        spec.coordinates,
        spec.forces,
        AnalysisOptions(
            speed_m_s=4.0,
            strength="volume",
            cycle=1,
            residual_reduction=bool(opts.get("residual_reduction", False)),
        ),
    )
    model = RunnerModel.load(a.model_path)
    geo = model.muscle_geometry(a.coordinates.q, a.coordinates.qdot, strength="volume")
    settings = record.get("settings", {})
    muscle = next(iter(record["model"]["muscles"].values()))  # Moco's muscles, as it ran them
    st = DynamicSettings.moco(compliant=compliant).with_(
        activation_time_constant_s=float(muscle["activation_time_constant_s"]),
        deactivation_time_constant_s=float(muscle["deactivation_time_constant_s"]),
        mesh_interval_s=float(settings.get("mesh_interval_s", 0.02)),
        fibre_damping=float(settings.get("fiber_damping", 0.01)),
        active_force_width_scale=float(settings.get("active_force_width_scale", 1.5)),
    )
    sol = solve_dynamic(dynamic_inputs(model, geo, a.problem, a.recruitment, a.time_s, st), st)
    assert sol.converged, sol.block_status
    t_moco, moco = _moco_activations(REFERENCE / f"{name}.sto")
    t0, t1 = max(t_moco[0], a.time_s[0]), min(t_moco[-1], a.time_s[-1])
    sel = (a.time_s >= t0 - 1e-9) & (a.time_s <= t1 + 1e-9)
    assert sel.sum() >= 20
    failures = []
    for j, m in enumerate(a.muscle_names):
        if m not in moco:
            continue
        ref = np.interp(a.time_s[sel], t_moco, moco[m])
        if ref.mean() <= 0.05:
            continue
        ours = sol.activation[sel, j]
        rms = float(np.sqrt(np.mean((ours - ref) ** 2)))
        r = float(np.corrcoef(ours, ref)[0, 1])
        if not (rms <= 0.05 and r >= 0.9):
            failures.append(f"{m}: RMS {rms:.3f}, r {r:.2f}")
    assert not failures, f"against MocoInverse '{name}': " + "; ".join(failures)
