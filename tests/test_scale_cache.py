"""The scaled-model cache's key (runmuscles.lab.scale_cache): the same inputs give the same key,
any input that changes the scaled model gives another. (Reuse itself, with OpenSim's ScaleTool,
is tested in test_marker_ik.py::test_agrees_with_opensim_on_a_fukuchi_c3d_trial.)"""

from __future__ import annotations

import numpy as np

from runmuscles.lab import default_model
from runmuscles.lab.scale_cache import scaling_key
from runmuscles.readers.opensim_files import MarkerTable


def _table(shift_m: float = 0.0) -> MarkerTable:
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(5, 4, 3)) + shift_m
    return MarkerTable(np.arange(5) / 100.0, pos, ["RASI", "LASI", "RPSI", "LPSI"], 100.0, "m")


def test_key_follows_every_input(tmp_path) -> None:
    generic = default_model()
    plan = {"rename": {"R.ASIS": "RASI"}, "tracking": {}, "from": "static.c3d"}
    key = scaling_key(generic, _table(), plan, 62.0, 1.81)
    assert key == scaling_key(generic, _table(), dict(plan), 62.0, 1.81)
    other = tmp_path / "other.osim"
    other.write_bytes(generic.read_bytes().replace(b"</OpenSimDocument>", b"<!-- x --></OpenSimDocument>"))
    changed = [
        scaling_key(other, _table(), plan, 62.0, 1.81),
        scaling_key(generic, _table(0.001), plan, 62.0, 1.81),
        scaling_key(generic, _table(), {**plan, "rename": {"R.ASIS": "LASI"}}, 62.0, 1.81),
        scaling_key(generic, _table(), plan, 63.0, 1.81),
        scaling_key(generic, _table(), plan, 62.0, None),
    ]
    assert key not in changed and len(set(changed)) == len(changed)
