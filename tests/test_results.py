"""timeseries.parquet's columns (runmuscles.results): Arrow arrays built from NumPy's buffers are
the arrays pyarrow's own conversion makes, and the file is the same byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from runmuscles.results import _codes, _float_column, _string_column

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def test_codes_in_order_of_first_appearance() -> None:
    labels, codes = _codes(["swing", "", "stance", "swing", ""])
    assert labels == ["swing", "", "stance"]
    assert codes.tolist() == [0, 1, 2, 0, 1] and codes.dtype == np.int32
    empty_labels, empty_codes = _codes([])
    assert empty_labels == [] and empty_codes.size == 0


@pytest.mark.parametrize(
    "values",
    [["soleus_r", "", "glmax1_l", "soleus_r", "é-ü"], [], [""] * 5, ["a"], ["stance", "swing"] * 50],
)
def test_string_column_is_pyarrows(values: list[str]) -> None:
    got = _string_column(*_codes(values))
    got.validate(full=True)
    assert got.type == pa.string()
    assert got.equals(pa.array(np.array(values, dtype=object), type=pa.string()))


def test_float_column_keeps_nan_and_order() -> None:
    x = np.arange(12.0).reshape(3, 4).T  # not C-contiguous
    x[1, 2] = np.nan
    got = _float_column(x)
    want = pa.array(x.ravel())
    assert got.type == want.type == pa.float64()
    assert got.null_count == want.null_count == 0  # NaN stays NaN, as pyarrow.array has it
    assert np.array_equal(got.to_numpy(), x.ravel(), equal_nan=True)


def test_parquet_file_is_byte_for_byte_the_same(tmp_path) -> None:
    rng = np.random.default_rng(3)
    F, names = 50, ["soleus_r", "tibant_l", "glmax1_r"]
    phase = rng.choice(np.array(["stance", "swing", ""], dtype=object), size=(F, len(names)))
    act = rng.random((F, len(names)))
    time_s = np.arange(F) / 150.0
    old = pa.table(
        {
            "time_s": np.repeat(time_s, len(names)),
            "muscle": np.tile(np.array(names, dtype=object), F),
            "activation": act.ravel(),
            "phase": phase.ravel(),
        }
    )
    cols = [
        _float_column(np.repeat(time_s, len(names))),
        _string_column(names, np.tile(np.arange(len(names), dtype=np.int32), F)),
        _float_column(act),
        _string_column(*_codes(phase.ravel().tolist())),
    ]
    new = pa.Table.from_arrays(cols, names=["time_s", "muscle", "activation", "phase"])
    pq.write_table(old, tmp_path / "old.parquet")
    pq.write_table(new, tmp_path / "new.parquet")
    assert (tmp_path / "old.parquet").read_bytes() == (tmp_path / "new.parquet").read_bytes()
