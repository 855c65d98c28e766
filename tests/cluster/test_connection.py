"""NATS as the lab runs it: authorization on, each user on its side of the subjects."""

from __future__ import annotations

import asyncio
import dataclasses

import nats
import pytest

from remotelab.cluster import wire
from remotelab.cluster.connection import connect
from remotelab.config import NatsSettings, Secret
from remotelab.errors import ConfigError
from tests.support.nats import NatsServer


def front(server: NatsServer, password: str | None = None) -> NatsSettings:
    return NatsSettings(
        url=server.url, user="front", password=Secret(password or server.front_password)
    )


async def test_a_wrong_password_is_refused_with_the_setting_named(nats_server: NatsServer) -> None:
    with pytest.raises(ConfigError, match="NATS refused the credentials of REMOTELAB_NATS_USER"):
        await asyncio.wait_for(
            connect(front(nats_server, "wrong"), "test", inbox=wire.FRONT_INBOX), 10
        )


async def test_no_credentials_are_refused(nats_server: NatsServer) -> None:
    settings = dataclasses.replace(front(nats_server), user="", password=None)
    with pytest.raises(ConfigError, match="no user"):
        await asyncio.wait_for(connect(settings, "test", inbox=wire.FRONT_INBOX), 10)


async def test_the_right_password_connects(nats_server: NatsServer) -> None:
    nc = await connect(front(nats_server), "test", inbox=wire.FRONT_INBOX)
    try:
        assert nc.is_connected
    finally:
        await nc.close()


async def test_a_front_may_not_publish_frames_nor_answer_calls(nats_server: NatsServer) -> None:
    nats_server.expect_violations = True
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(
        nats_server.url, user="front", password=nats_server.front_password, error_cb=on_error
    )
    try:
        await nc.publish(wire.frames_subject("a1", "s"), b"x")
        await nc.subscribe(wire.call_subject("a1"))
        await nc.flush()
        await asyncio.sleep(0.2)
    finally:
        await nc.close()
    text = " ".join(str(e) for e in errors)
    assert 'permissions violation for publish to "remotelab.frames.a1.s"' in text
    assert 'permissions violation for subscription to "remotelab.call.a1"' in text


async def test_an_agent_may_not_send_calls(nats_server: NatsServer) -> None:
    nats_server.expect_violations = True
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(
        nats_server.url, user="agent", password=nats_server.agent_password, error_cb=on_error
    )
    try:
        await nc.publish(wire.call_subject("a2"), b"{}")
        await nc.flush()
        await asyncio.sleep(0.2)
    finally:
        await nc.close()
    assert 'permissions violation for publish to "remotelab.call.a2"' in " ".join(map(str, errors))
