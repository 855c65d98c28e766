"""Connecting to NATS with the lab's settings (user and password, or a credentials file).

Both sides reconnect by themselves for as long as they run (nats-py's reconnect, with no
limit on attempts); the first connection is retried with back-off too, so an agent or a
front may start before NATS does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats
from nats.aio.client import Client

from remotelab.config import NatsSettings
from remotelab.errors import ConfigError

log = logging.getLogger(__name__)

RECONNECT_WAIT_SECONDS = 0.5
FIRST_CONNECT_MAX_WAIT_SECONDS = 5.0


def options(settings: NatsSettings, name: str, inbox: str) -> dict[str, Any]:
    """The keyword arguments of ``nats.connect`` for ``settings``; replies come to subjects
    under ``inbox`` (``wire.FRONT_INBOX`` or ``wire.AGENT_INBOX``: the users file lets each
    side read its own only)."""
    if not settings.url:
        raise ConfigError(f"{settings.variable('url')} is empty: no NATS server to connect to")

    async def on_error(exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    async def on_disconnected() -> None:
        # Also at a close of our own: not a warning by itself (reconnects are logged).
        log.info("NATS: disconnected")

    async def on_reconnected() -> None:
        log.info("NATS: reconnected")

    kwargs: dict[str, Any] = {
        "servers": [url.strip() for url in settings.url.split(",") if url.strip()],
        "name": name,
        "inbox_prefix": inbox,
        "connect_timeout": settings.connect_timeout_seconds,
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": RECONNECT_WAIT_SECONDS,
        "error_cb": on_error,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": on_reconnected,
    }
    if settings.creds_file is not None:
        kwargs["user_credentials"] = str(settings.creds_file)
    elif settings.user:
        kwargs["user"] = settings.user
        kwargs["password"] = settings.password.reveal() if settings.password else ""
    return kwargs


async def _quiet(exc: Exception) -> None:
    """The probe's errors are the caller's to report."""


async def _probe(kwargs: dict[str, Any]) -> None:
    """Connect once and close; raise what the connection failed with."""
    probe = Client()
    try:
        await probe.connect(
            **{**kwargs, "allow_reconnect": False, "error_cb": _quiet, "disconnected_cb": None}
        )
    finally:
        # Closed even when it failed: nats-py leaves a failed try's socket open.
        with contextlib.suppress(Exception):
            await probe.close()
        transport = getattr(probe, "_transport", None)
        if transport is not None:
            transport.close()
            with contextlib.suppress(Exception):
                await transport.wait_closed()


async def connect(
    settings: NatsSettings, name: str, *, inbox: str, attempts: int | None = None
) -> Client:
    """Connect to NATS, retrying with back-off (``attempts``: at most that many tries; None:
    until it works), replies under ``inbox`` (see :func:`options`). An authorization failure
    is not retried: it raises ConfigError naming the settings."""
    kwargs = options(settings, name, inbox)
    wait = RECONNECT_WAIT_SECONDS
    tries = 0
    while True:
        tries += 1
        try:
            # A first try that may fail (nats-py's own retries would go on for ever, even
            # past a refused password); once it worked, the client that reconnects.
            await _probe(kwargs)
            return await nats.connect(**kwargs)
        except nats.errors.Error as exc:
            if "authorization" in str(exc).lower():
                raise ConfigError(
                    f"NATS refused the credentials of {settings.variable('user')} "
                    f"({settings.user or 'no user'}): {exc}"
                ) from None
            if attempts is not None and tries >= attempts:
                raise
            log.warning("NATS at %s: %s; next try in %.1f s", settings.url, exc, wait)
        except OSError as exc:
            if attempts is not None and tries >= attempts:
                raise
            log.warning("NATS at %s: %s; next try in %.1f s", settings.url, exc, wait)
        await asyncio.sleep(wait)
        wait = min(wait * 2, FIRST_CONNECT_MAX_WAIT_SECONDS)


async def close_quietly(nc: Client) -> None:
    """Flush (1 s at most) and close; with NATS gone there is nothing left to tell it, so a
    failure is logged, not raised (a shutdown must not fail on it)."""
    try:
        await nc.flush(timeout=1)
    except Exception as exc:
        log.info("NATS: not flushed at close: %s", exc)
    try:
        await nc.close()
    except Exception as exc:
        log.info("NATS: closed with an error: %s", exc)
