"""One validity mark for every result: ``quality.valid`` and ``quality.warnings``.

Every shell (command line, report, web app, batch) and every stage marks a result that is
usable but doubtful the same way: a :class:`QualityWarning` with a stable ``code`` (what
kind of problem, for programs), a ``message`` (one line naming the input and the problem,
for people) and ``invalidates`` (whether the numbers must not be presented as valid).
:func:`quality_mark` turns a list of them into the ``{"valid", "warnings"}`` pair that
``summary.json``'s ``quality`` section carries, next to :data:`SCHEMA_VERSION`.

A warning that does not invalidate says where a figure is less certain (for instance
energy resting on saturated muscles); one that invalidates says the numbers are not to
be trusted at all (for instance joint angles that disagree with the forces).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SCHEMA_VERSION", "QualityWarning", "quality_mark", "merge_warnings"]

#: Version of the ``summary.json`` layout. 2: ``quality.valid`` / ``quality.warnings`` and
#: ``schema_version`` added (1 was the layout before them, without a version field).
SCHEMA_VERSION = 2


@dataclass(frozen=True)
class QualityWarning:
    """A named problem with a result that is still written.

    Attributes
    ----------
    code
        Stable identifier of the kind of problem (``snake_case``), e.g.
        ``"pelvis_residuals_above_hicks"``.
    message
        One line for people: what is wrong and where.
    invalidates
        True when the numbers are not to be presented as valid.
    affects
        What the problem bears on (``"energy"``, ``"muscles"``, ``"all"``, ...), so a shell
        can flag the figures it shows.
    """

    code: str
    message: str
    invalidates: bool = False
    affects: tuple[str, ...] = ("all",)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": " ".join(self.message.split()),
            "invalidates": self.invalidates,
            "affects": list(self.affects),
        }

    @classmethod
    def from_dict(cls, d: dict) -> QualityWarning:
        return cls(
            code=str(d["code"]),
            message=str(d["message"]),
            invalidates=bool(d.get("invalidates", False)),
            affects=tuple(d.get("affects", ("all",))),
        )


def merge_warnings(*groups: Iterable[QualityWarning | dict]) -> list[QualityWarning]:
    """Concatenate warnings (objects or their dicts), dropping exact repeats, order kept."""
    seen: set[tuple[str, str]] = set()
    out: list[QualityWarning] = []
    for group in groups:
        for w in group:
            qw = w if isinstance(w, QualityWarning) else QualityWarning.from_dict(w)
            key = (qw.code, qw.message)
            if key not in seen:
                seen.add(key)
                out.append(qw)
    return out


def quality_mark(warnings: Iterable[QualityWarning | dict]) -> dict:
    """``{"valid": bool, "warnings": [dict, ...]}``: valid unless a warning invalidates."""
    ws = merge_warnings(warnings)
    return {"valid": not any(w.invalidates for w in ws), "warnings": [w.as_dict() for w in ws]}
