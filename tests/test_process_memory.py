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
