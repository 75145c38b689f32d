"""The history as runmuscles created it before migrations (``metadata.create_all``).

A history made by that code holds exactly these tables (``drivers`` was added by an earlier
in-place column addition, which :func:`runmuscles.migrations.upgrade` still applies before
stamping such a history with this revision).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("sport", sa.String(40), nullable=False),
        sa.Column("start_time", sa.DateTime, nullable=False),
        sa.Column("distance_m", sa.Float, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("ascent_m", sa.Float),
        sa.Column("descent_m", sa.Float),
        sa.Column("warnings", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.Column("drivers", sa.Text),
    )
    op.create_index("ix_activities_start_time", "activities", ["start_time"])
    op.create_table(
        "group_loads",
        sa.Column(
            "activity_id", sa.Integer, sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("muscle_group", sa.String(40), primary_key=True),
        sa.Column("impulse_bw_s", sa.Float, nullable=False),
        sa.Column("positive_work_j_per_kg", sa.Float, nullable=False),
        sa.Column("negative_work_j_per_kg", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("group_loads")
    op.drop_index("ix_activities_start_time", table_name="activities")
    op.drop_table("activities")
