"""A real Hypercorn serving an app in the test's own event loop, on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from remotelab.api.context import EXTENSION
from remotelab.app import shutdown_trigger
from tests.support.ports import free_port


@dataclass
class Served:
    port: int
    #: Set it to stop the server (the context manager does on exit).
    stop: asyncio.Event

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def served(app: Quart, *, stop_seconds: float = 15.0) -> AsyncIterator[Served]:
    """Serve ``app`` (from :func:`remotelab.app.create_app`) until the block ends.

    Yields once the app's resources are open (the lifespan ran); on exit stops the server
    as ``remotelab serve`` does (streams closed first) and waits for it, at most
    ``stop_seconds``.
    """
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 2
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(app, config, shutdown_trigger=lambda: shutdown_trigger(app, stop))  # type: ignore[arg-type]
    )
    for _ in range(500):
        if EXTENSION in app.extensions:
            break
        if task.done():
            task.result()  # the start failed: say why
        await asyncio.sleep(0.02)
    else:
        raise TimeoutError("the app did not start in 10 s")
    try:
        yield Served(port, stop)
    finally:
        stop.set()
        await asyncio.wait_for(task, stop_seconds)


async def new_user_token(app: Quart, email: str, password: str = "password123") -> str:
    """A new student account in ``app``'s database, and an access token for it."""
    accounts = app.extensions[EXTENSION].accounts
    user = await accounts.create_account(email=email, password=password)
    return str(accounts.codec.issue_access(user.id))
