"""The runner's stored profile: body mass, height, sex, usual cadence and units.

The profile is one row of the history database (table ``profile``, schema revision 0002,
:mod:`runmuscles.migrations`), so ``runmuscles run``, ``runmuscles advice`` and the web app
read the same values. A command-line flag overrides the profile; :func:`resolve` says which
value was used and where it came from ("--mass", "profile", or not set), and every command
prints that.

Each value is checked against the declared limits (:data:`runmuscles.validation.LIMITS`:
``body_mass_kg``, ``height_m``, ``cadence_spm``) and choices (``sex``, ``units``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import InputError
from .validation import check, check_choice

__all__ = [
    "KM_PER_MI",
    "M_PER_MI",
    "Profile",
    "Resolved",
    "format_distance",
    "format_pace",
    "load_profile",
    "profile_from_db",
    "resolve",
    "save_profile",
]

#: Metres in a mile (international mile, exact by definition).
M_PER_MI = 1609.344
KM_PER_MI = M_PER_MI / 1000.0


@dataclass(frozen=True)
class Profile:
    """A runner's profile (every field optional: ``None`` is not set)."""

    body_mass_kg: float | None = None
    height_m: float | None = None
    sex: str | None = None
    cadence_spm: float | None = None
    units: str | None = None

    def __post_init__(self) -> None:
        check("body_mass_kg", self.body_mass_kg, "profile: body mass")
        check("height_m", self.height_m, "profile: height")
        check("cadence_spm", self.cadence_spm, "profile: usual cadence")
        check_choice("sex", self.sex, "profile: sex")
        check_choice("units", self.units, "profile: units")

    @property
    def shown_units(self) -> str:
        """The units distances are shown in (``km`` unless the profile says ``mi``)."""
        return self.units or "km"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Resolved:
    """A value as used, and where it came from (``flag``, ``profile`` or ``default``)."""

    value: Any
    source: str
    flag: str = ""

    def said(self, name: str, unit: str = "") -> str:
        """One line for the user: "body mass: 70 kg (from --mass)"."""
        if self.value is None:
            return f"{name}: not set (no {self.flag} and none in the profile)"
        where = {"flag": f"from {self.flag}", "profile": "from the profile"}.get(self.source, "default")
        shown = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        return f"{name}: {shown}{' ' + unit if unit else ''} ({where})"


def resolve(flag_value: Any, profile_value: Any, flag: str, default: Any = None) -> Resolved:
    """The flag when given, else the profile's value, else ``default``."""
    if flag_value is not None:
        return Resolved(flag_value, "flag", flag)
    if profile_value is not None:
        return Resolved(profile_value, "profile", flag)
    return Resolved(default, "default", flag)


def load_profile(engine) -> Profile:
    """The stored profile (an empty :class:`Profile` when none was saved)."""
    import sqlalchemy as sa  # noqa: PLC0415

    from .history import _schema  # noqa: PLC0415

    t = _schema()["profile"]
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.id == 1)).first()
    if row is None:
        return Profile()
    m = row._mapping
    try:
        return Profile(**{f.name: m[f.name] for f in fields(Profile)})
    except InputError as exc:  # a stored value outside today's limits: say how to get out
        raise InputError(
            "stored profile", f"{exc.problem} (`runmuscles profile --clear` resets it)"
        ) from None


def save_profile(engine, profile: Profile) -> Profile:
    """Store ``profile`` (replacing the one stored) in one transaction; returns it."""
    import sqlalchemy as sa  # noqa: PLC0415

    from .history import _schema  # noqa: PLC0415

    t = _schema()["profile"]
    values = {**profile.as_dict(), "updated_at": datetime.now(UTC).replace(tzinfo=None)}
    with engine.begin() as conn:
        if conn.execute(sa.select(t.c.id).where(t.c.id == 1)).first() is None:
            conn.execute(sa.insert(t).values(id=1, **values))
        else:
            conn.execute(sa.update(t).where(t.c.id == 1).values(**values))
    return profile


def profile_from_db(db: str | Path | None) -> Profile:
    """The profile of the history ``db`` (``None``: the default history) without creating it.

    A default SQLite history that does not exist yet has no profile: nothing is created by
    a command that only reads the profile.
    """
    from .history import _sqlite_path, _url, open_history  # noqa: PLC0415

    url = _url(db)
    path = _sqlite_path(url) if url.startswith("sqlite") else None
    if path is not None and not path.exists():
        return Profile()
    engine = open_history(url)
    try:
        return load_profile(engine)
    finally:
        engine.dispose()


def format_distance(distance_m: float | None, units: str = "km", digits: int = 2) -> str:
    """A distance in the profile's units: ``5.00 km`` or ``3.11 mi``."""
    if distance_m is None:
        return "-"
    if units == "mi":
        return f"{distance_m / M_PER_MI:.{digits}f} mi"
    return f"{distance_m / 1000.0:.{digits}f} km"


def format_pace(s_per_km: float | None, units: str = "km") -> str:
    """A pace in the profile's units: ``5:03 /km`` or ``8:08 /mi`` (``-`` when unknown)."""
    if s_per_km is None or not s_per_km > 0:
        return "-"
    s = round(s_per_km * (KM_PER_MI if units == "mi" else 1.0))
    return f"{s // 60}:{s % 60:02d} /{'mi' if units == 'mi' else 'km'}"
