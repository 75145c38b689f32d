"""The one-analysis memory settings (runmuscles.process_memory)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from runmuscles.process_memory import keep_freed_memory, no_huge_pages


def _madvise_switch():
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # noqa: PLC0415
    except ImportError:
        from numpy.core.multiarray import _set_madvise_hugepage  # noqa: PLC0415
    return _set_madvise_hugepage


def test_no_huge_pages_turns_numpy_advice_off() -> None:
    switch = _madvise_switch()
    before = switch(True)  # the previous setting; now on
    try:
        assert no_huge_pages() is True
        assert switch(True) is False  # it was off
    finally:
        switch(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_applies_on_glibc_and_arrays_still_work() -> None:
    import platform  # noqa: PLC0415

    applied = keep_freed_memory()
    assert applied is (platform.libc_ver()[0] == "glibc")
    # large arrays are still allocated, freed and allocated again correctly
    for k in range(3):
        a = np.full((4000, 4000), float(k))
        assert a.sum() == k * 16e6
        del a


def _fresh(code: str, **env: str) -> str:
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    run_env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=run_env, check=True
    )
    return proc.stdout.split()


_ARROW_POOL = (
    "from runmuscles.process_memory import arrow_system_allocator as a\n"
    "first = a()\n"
    "import pyarrow as pa\n"
    "print(first, a(), pa.default_memory_pool().backend_name)\n"
)


def test_arrow_system_allocator_in_a_fresh_process() -> None:
    pytest.importorskip("pyarrow")
    # chosen before pyarrow loads; once it is loaded, the pool is left as it is
    assert _fresh(_ARROW_POOL) == ["True", "False", "system"]


def test_arrow_system_allocator_leaves_the_users_choice() -> None:
    pa = pytest.importorskip("pyarrow")
    other = next((b for b in pa.supported_memory_backends() if b != "system"), None)
    if other is None:
        pytest.skip("this pyarrow has only the system allocator")
    assert _fresh(_ARROW_POOL, ARROW_DEFAULT_MEMORY_POOL=other) == ["False", "False", other]


_FAULTS = """
import resource, sys
import numpy as np
from runmuscles.process_memory import steady_malloc_thresholds
applied = steady_malloc_thresholds() if sys.argv[1] == "on" else None
a = np.ones(1 << 17)  # 1 MiB, allocated once before counting
del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    a = np.ones(1 << 17)  # 1 MiB: above the 128 kB mmap threshold the nanny's setting pins
    del a
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_steady_malloc_thresholds_reuse_freed_blocks_under_dasks_trim_setting() -> None:
    import os  # noqa: PLC0415
    import platform  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc")
    # as a Dask nanny starts its worker (distributed.nanny.pre-spawn-environ)
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    faults = {}
    for mode in ("off", "on"):
        p = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, env=env)
        assert p.returncode == 0, p.stderr
        applied, n = p.stdout.split()
        faults[mode] = int(n)
        assert applied == ("True" if mode == "on" else "None")
    # pinned: each 1 MiB array is mapped afresh (256 pages faulted each time); steady: reused
    assert faults["off"] > 200 * 200
    assert faults["on"] < faults["off"] / 20
