"""Schema migrations of the run history (Alembic).

The revisions live in ``versions/`` inside the package, so an installed wheel upgrades a
history without the source tree. :func:`upgrade` runs them on a connection the caller holds
(inside its transaction and lock, see :func:`runmuscles.history.open_history`); no ``alembic.ini``
is needed. A history created by runmuscles before migrations existed (its tables made by
SQLAlchemy's ``create_all``, no ``alembic_version`` table) is recognised, given the column
that in-place upgrades added then (``drivers``), stamped as revision ``0001``, and upgraded
from there: its rows are kept.

New revisions: ``alembic -c src/runmuscles/migrations/alembic.ini revision -m "..."``
(``env.py`` reads the database from ``$RUNMUSCLES_DB``), then set :data:`HEAD` to it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BASE", "HEAD", "HERE", "current_revision", "upgrade"]

HERE = Path(__file__).parent
#: The first revision: the schema of the code before migrations.
BASE = "0001"
#: The newest revision (checked against the scripts by the tests).
HEAD = "0002"


def _config():
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def current_revision(conn) -> str | None:
    """The history's revision (``None``: no ``alembic_version`` table, or empty)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn, legacy: bool) -> None:
    """Bring the database on ``conn`` to :data:`HEAD`, inside the caller's transaction.

    ``legacy``: the database holds a history made before migrations (stamped :data:`BASE`
    first, not created again).
    """
    from alembic.runtime.environment import EnvironmentContext  # noqa: PLC0415
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    cfg = _config()
    script = ScriptDirectory.from_config(cfg)
    if legacy and MigrationContext.configure(conn).get_current_revision() is None:
        MigrationContext.configure(conn).stamp(script, BASE)

    def steps(rev, _context):
        return script._upgrade_revs("head", rev)

    with EnvironmentContext(cfg, script, fn=steps, destination_rev="head") as env:
        env.configure(connection=conn, target_metadata=None)
        with env.begin_transaction():
            env.run_migrations()
