"""Errors that carry a one-line, user-facing message.

Every error a user can cause (a missing file, a bad header, NaNs, a model without the
named muscles) is raised as an :class:`InputError`, whose ``str()`` names the file (or
object) and the problem on one line. The command line prints exactly that line.
"""

from __future__ import annotations

from pathlib import Path


class RunmusclesError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(RunmusclesError):
    """Bad input: says what is wrong and where.

    Parameters
    ----------
    where
        The file (or the object, e.g. a model or a column) the problem is in.
    problem
        What is wrong, in words a user can act on.
    """

    def __init__(self, where: str | Path | None, problem: str) -> None:
        self.where = str(where) if where is not None else None
        self.problem = " ".join(str(problem).split())
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}" if self.where else self.problem

    def __reduce__(self):
        # rebuilt from its two fields (a forked helper's error reaches its parent by pickle)
        return (type(self), (self.where, self.problem))


class ModelError(InputError):
    """The model cannot do what was asked (no muscles, a missing coordinate, ...)."""
