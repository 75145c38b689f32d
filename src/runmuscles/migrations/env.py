"""Alembic's environment for the ``alembic`` command line (developers: new revisions).

runmuscles itself does not use this file: :func:`runmuscles.migrations.upgrade` runs the
revisions on its own connection. Here the database is ``$RUNMUSCLES_DB`` (default: the
user's history, :func:`runmuscles.history.default_db_url`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from runmuscles.history import default_db_url

with sa.create_engine(default_db_url()).connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
