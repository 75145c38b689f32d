"""The bundled demo: runs out of the box, and its numbers behave as running does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from runmuscles.model import bundled_cache_dir
from runmuscles.model.geometry import FORMAT_VERSION, MuscleGeometry, model_hash
from runmuscles.trials import demo_folder, demo_trials


def test_bundled_geometry_cache_matches_the_demo_model() -> None:
    model = demo_folder() / "model" / "subject01_adjusted_scaled.osim"
    files = list(bundled_cache_dir().glob("*.npz"))
    assert len(files) == 1
    geom = MuscleGeometry.load(files[0])  # raises on a stale format version
    assert geom.model_sha256 == model_hash(model)
    assert FORMAT_VERSION >= 1
    assert len(geom.muscle_names) == 92


def test_demo_trials_are_complete() -> None:
    specs = demo_trials()
    assert [s.speed_m_s for s in specs] == [2.0, 3.0, 4.0, 5.0]
    for s in specs:
        assert s.model.exists() and s.coordinates.exists() and s.forces.exists()


def test_demo_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runmuscles", "demo", "--out", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    speeds = sorted(out)
    assert len(speeds) == 4
    stride = [out[k]["stride_time_s"] for k in speeds]
    grf = [out[k]["peak_vertical_grf_bw"] for k in speeds]
    # faster running: shorter strides (Hamner & Delp 2013, Table 1: 0.77 -> 0.63 s)
    assert np.all(np.diff(stride) < 0)
    assert 0.6 < stride[-1] < stride[0] < 0.85
    # and higher peak vertical force
    assert grf[-1] > grf[0]
    for k in speeds:
        assert (tmp_path / k / "summary.json").exists()
        assert (tmp_path / k / "activation.sto").exists()
