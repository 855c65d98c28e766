"""A throwaway PostgreSQL server for the test session (``remotelab.cluster.local.postgres``).

Use the session fixture :func:`postgres_server` (import it into a ``conftest.py``)::

    async def test_x(postgres_server: PostgresServer) -> None:
        url = postgres_server.create_database("test_x")   # postgresql+asyncpg://...
        postgres_server.psql("SELECT 1", db="test_x")       # as the superuser, via psql

The server is the one ``make cluster`` runs (see that module). Missing binaries are a
failure, never a skip: the message says to run ``scripts/ensure-system-packages.sh
postgres``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remotelab.cluster.local.ports import free_port
from remotelab.cluster.local.postgres import (
    INSTALL_HINT,
    PostgresServer,
    PostgresUnavailable,
    PsqlError,
    find_bin_dir,
    running_postgres,
    start_postgres,
)

__all__ = [
    "INSTALL_HINT",
    "PostgresServer",
    "PostgresUnavailable",
    "PsqlError",
    "find_bin_dir",
    "free_port",
    "postgres_server",
    "running_postgres",
    "start_postgres",
]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the test session. Fails (never skips) without it."""
    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
