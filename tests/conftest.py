"""Shared test fixtures: paths to the reference data beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Like the command line: one BLAS thread (the engine's matrices are small; threads only
# contend for the cores). Set before NumPy is imported by any test module.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
HAMNER = SHARED_DATA / "hamner2013"
HAMNER_SUBJECTS = ("subject01", "subject02", "subject03", "subject08", "subject10", "subject11", "subject19")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present beside the repository")
    return SHARED_DATA


@pytest.fixture(scope="session")
def hamner(shared_data: Path) -> Path:
    if not HAMNER.is_dir():
        pytest.skip("../shared/data/hamner2013 is not present")
    return HAMNER
