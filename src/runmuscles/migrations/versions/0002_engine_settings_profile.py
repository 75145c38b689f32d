"""Each stored result keeps the engine version and settings; the runner's profile.

* ``activities.engine_version``: the runmuscles version that computed the loads;
* ``activities.settings``: JSON of the settings the loads depend on (load model, strength,
  residual reduction, muscle solution, assumed cadence), see
  :func:`runmuscles.history.engine_settings`;
* ``activities.computed_at``: when the loads were computed (import or recompute).

Rows of an older history keep NULL in these columns: their settings are unknown, and the
history marks them as such (a recompute fills them).

* ``profile``: one row (``id`` 1): body mass, height, sex, usual cadence, units.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("activities", sa.Column("engine_version", sa.String(40)))
    op.add_column("activities", sa.Column("settings", sa.Text))
    op.add_column("activities", sa.Column("computed_at", sa.DateTime))
    op.create_table(
        "profile",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("body_mass_kg", sa.Float),
        sa.Column("height_m", sa.Float),
        sa.Column("sex", sa.String(12)),
        sa.Column("cadence_spm", sa.Float),
        sa.Column("units", sa.String(2)),
        sa.Column("updated_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("profile")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("computed_at")
        batch.drop_column("settings")
        batch.drop_column("engine_version")
