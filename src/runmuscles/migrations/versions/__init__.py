"""The history's schema revisions (Alembic migration scripts, oldest first)."""
