"""Shared test fixtures: paths to the reference data beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Like the command line: one BLAS thread (the engine's matrices are small; threads only
# contend for the cores). Set before NumPy is imported by any test module.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
HAMNER = SHARED_DATA / "hamner2013"
HAMNER_SUBJECTS = ("subject01", "subject02", "subject03", "subject08", "subject10", "subject11", "subject19")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present beside the repository")
    return SHARED_DATA


@pytest.fixture(scope="session")
def hamner(shared_data: Path) -> Path:
    if not HAMNER.is_dir():
        pytest.skip("../shared/data/hamner2013 is not present")
    return HAMNER


#: The PostgreSQL server the history tests use: an SQLAlchemy URL whose role may create
#: databases (``.ci/run`` starts one and sets it).
POSTGRES_ENV = "RUNMUSCLES_TEST_POSTGRES_URL"


def skip_or_fail_in_ci(reason: str) -> None:
    """Skip a test for want of a service, except in CI (``CI`` set), where the test fails.

    ``.ci/run`` installs PostgreSQL and Chromium; a CI run without them must not pass by
    skipping the tests that need them.
    """
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, and CI must provide it (see .ci/run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def require_service():
    """:func:`skip_or_fail_in_ci`, for tests and fixtures that need a service."""
    return skip_or_fail_in_ci


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """``$RUNMUSCLES_TEST_POSTGRES_URL``: skipped locally without it, a failure in CI."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        skip_or_fail_in_ci(f"{POSTGRES_ENV} is not set (no PostgreSQL server to test against)")
    return url


@pytest.fixture
def new_postgres_db(postgres_url: str):
    """The URL of a new, empty PostgreSQL database on the test server (dropped afterwards)."""
    import uuid

    import sqlalchemy as sa

    admin_url = sa.engine.make_url(postgres_url)
    name = f"runmuscles_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except (sa.exc.DBAPIError, ImportError) as exc:
        skip_or_fail_in_ci(f"PostgreSQL at {admin_url!r} cannot create a test database: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
