"""Several students on one lab at once, through a real Hypercorn: function strings over HTTP,
script runs in the sandbox and live streams, each with their own outputs. Every capture and
every reading is checked against its own user's settings: no user ever sees another's
(tests/support/interference.py; benchmarks/bench_contexts.py runs the same for longer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from tests.conftest import make_settings
from tests.support.interference import Setting, Tally, function_user, script_user, stream_user
from tests.support.served import new_user_token, served

SECONDS = 6.0


@dataclass
class Server:
    url: str
    app: Any

    async def token(self, email: str) -> str:
        return await new_user_token(self.app, email)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    app = create_app(
        make_settings(
            tmp_path,
            sandbox_max_concurrent=3,
            script_runs_per_minute=100_000,  # the limits of a class, not of this test
            function_calls_per_minute=100_000,
        )
    )
    async with served(app) as running:
        yield Server(running.address, app)


async def test_no_user_ever_measures_another_users_outputs(server: Server) -> None:
    tallies = {kind: Tally() for kind in ("functions", "changer", "scripts", "streams")}
    tokens = [await server.token(f"student{i}@example.org") for i in range(4)]
    deadline = time.monotonic() + SECONDS
    async with httpx.AsyncClient(base_url=f"http://{server.url}", timeout=30) as http:
        await asyncio.gather(
            function_user(
                http, tokens[0], [Setting(2000, 1.5, 1000, 0.25)], tallies["functions"], deadline
            ),
            function_user(  # changes its outputs every three rounds, as a class would
                http,
                tokens[1],
                [Setting(5000, -1.0, 2000, 0.5), Setting(4000, 2.5, 500, 0.1)],
                tallies["changer"],
                deadline,
            ),
            script_user(
                http, tokens[2], Setting(3000, 0.5, 4000, 0.75), tallies["scripts"], deadline
            ),
            stream_user(
                server.url,
                http,
                tokens[3],
                Setting(1500, -2.0, 250, 0.4),
                tallies["streams"],
                deadline,
            ),
        )
    for kind, tally in tallies.items():
        assert tally.wrong == [], f"{kind}: {len(tally.wrong)} wrong of {tally.checks}"
        assert tally.checks >= 9, f"{kind}: only {tally.checks} checks"
    assert server.app.extensions[EXTENSION].instrument.owner.switches > 10
