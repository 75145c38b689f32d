"""Labelled time tables: the one data type that flows between pipeline stages.

A :class:`TimeTable` is a time column (seconds) and a 2-D float array whose columns carry
names; ``meta`` holds provenance (source file, units, header keys). It converts to pandas
and to OpenSim ``.sto`` without losing labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError


@dataclass
class TimeTable:
    """Time series with named columns.

    Attributes
    ----------
    time_s
        Sample times in seconds, shape ``(n_frames,)``, strictly increasing.
    data
        Values, shape ``(n_frames, n_columns)``.
    labels
        Column names, one per column of ``data``.
    in_degrees
        For coordinate tables: whether angular columns are in degrees (as read from the
        file's header; ``None`` when the header does not say).
    meta
        Provenance and header information (``source`` path, ``name``, units...).
    """

    time_s: np.ndarray
    data: np.ndarray
    labels: list[str]
    in_degrees: bool | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.time_s = np.asarray(self.time_s, dtype=float)
        self.data = np.asarray(self.data, dtype=float)
        if self.data.ndim == 1:
            self.data = self.data[:, None]
        self.labels = list(self.labels)
        if self.data.shape != (self.time_s.size, len(self.labels)):
            raise ValueError(
                f"data shape {self.data.shape} does not match {self.time_s.size} times "
                f"x {len(self.labels)} labels"
            )
        self._index = {name: i for i, name in enumerate(self.labels)}

    # -- access ---------------------------------------------------------------------
    @property
    def source(self) -> str:
        return str(self.meta.get("source", "<table>"))

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise InputError(self.source, f"column '{name}' is missing") from None

    def column(self, name: str) -> np.ndarray:
        """One column by name (a view)."""
        return self.data[:, self.index(name)]

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """Several columns by name, shape ``(n_frames, len(names))``."""
        missing = [n for n in names if n not in self._index]
        if missing:
            shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
            raise InputError(self.source, f"missing column(s): {shown}")
        return self.data[:, [self._index[n] for n in names]]

    def select(self, names: Iterable[str]) -> TimeTable:
        names = list(names)
        return TimeTable(self.time_s, self.columns(names), names, self.in_degrees, dict(self.meta))

    def window(self, start_s: float | None, end_s: float | None) -> TimeTable:
        """Rows with ``start_s <= t <= end_s`` (a small tolerance for rounding)."""
        t = self.time_s
        lo = -np.inf if start_s is None else start_s - 1e-9
        hi = np.inf if end_s is None else end_s + 1e-9
        keep = (t >= lo) & (t <= hi)
        return TimeTable(t[keep], self.data[keep], self.labels, self.in_degrees, dict(self.meta))

    @property
    def n_frames(self) -> int:
        return int(self.time_s.size)

    @property
    def sample_rate_hz(self) -> float:
        if self.time_s.size < 2:
            return float("nan")
        return float((self.time_s.size - 1) / (self.time_s[-1] - self.time_s[0]))

    def to_pandas(self):  # pragma: no cover - thin wrapper
        import pandas as pd

        df = pd.DataFrame(self.data, columns=self.labels)
        df.insert(0, "time", self.time_s)
        return df
