"""A throwaway NATS server for tests (``remotelab.cluster.local.nats``).

Use the fixture :func:`nats_server` (imported into ``tests/conftest.py``)::

    async def test_x(nats_server: NatsServer) -> None:
        settings = make_settings(tmp_path, **nats_server.front_settings())

The server is the one ``make cluster`` runs: the real ``nats-server`` on a free loopback
port, JetStream on, the lab's users file with random passwords. A missing binary is a
failure, never a skip.

A test that made NATS refuse anything (a publish or a subscription outside a user's
permissions: the lab's own code needs more than the users file gives) fails at the end,
unless it set ``expect_violations`` (tests of the permissions).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remotelab.cluster.local.nats import (
    NatsServer,
    NatsUnavailable,
    nats_server_binary,
    running_nats_server,
)

__all__ = ["NatsServer", "nats_server", "nats_server_binary", "running_nats_server"]


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A fresh NATS server for one test (about 50 ms to start)."""
    try:
        with running_nats_server() as server:
            yield server
            refused = server.violations()
            if refused and not server.expect_violations:
                pytest.fail(
                    "NATS refused what the lab did (deploy/nats/remotelab-users.conf):\n"
                    + "\n".join(refused)
                )
    except NatsUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
