"""The NATS users' JetStream permissions (deploy/nats/remotelab-users.conf, ADR 0021).

A lab runs first (an agent, a front, a teacher's bench, a user's call, choice and outputs),
so every bucket exists and holds data; then raw NATS clients logged in as ``front`` and as
``agent`` try what their side must never do. NATS refuses each (the permission error names
the subject), the data is still there, and the lab still serves. The rest of the cluster
suite checks the other half: the fixture fails any test in which NATS refused something
the lab did.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest

from remotelab.api.context import EXTENSION
from remotelab.auth.roles import Role
from remotelab.cluster import wire
from tests.support.cluster import Lab, agent_process, lab, logged_in, run
from tests.support.nats import NatsServer

pytestmark = pytest.mark.timeout(120)

#: A refused JetStream request gets no answer: the client gives up after this.
REFUSED_WAIT_S = 0.5


async def attempt(action: Callable[[], Awaitable[Any]]) -> str:
    """Run ``action``; what became of it (a refused request times out)."""
    try:
        await action()
    except (nats.errors.TimeoutError, TimeoutError):
        return "no answer"
    except nats.errors.Error as exc:
        return f"error: {exc}"
    return "done"


async def device_names(client: httpx.AsyncClient, front: Lab, headers: dict[str, str]) -> set[str]:
    response = await client.get(f"{front.base}/v1/devices", headers=headers)
    return {device["name"] for device in response.json()["devices"]}


def refused(errors: list[str]) -> str:
    return "\n".join(errors)


async def a_lab_with_data(client: httpx.AsyncClient, front: Lab) -> tuple[dict[str, str], str]:
    """A teacher's bench, a student's choice, call and outputs: every bucket written. The
    student's headers and id."""
    accounts = front.app.extensions[EXTENSION].accounts
    teacher = await accounts.create_account(
        email="t@example.org", password="password123", role=Role.TEACHER
    )
    teacher_headers = {"Authorization": f"JWT {accounts.codec.issue_access(teacher.id)}"}
    response = await client.put(
        f"{front.base}/v1/device/bench", json={"outputs": {"PV2": 1.0}}, headers=teacher_headers
    )
    assert response.status_code == 200, response.text
    account = await accounts.create_account(email="s@example.org", password="password123")
    student = {"Authorization": f"JWT {accounts.codec.issue_access(account.id)}"}
    response = await client.put(
        f"{front.base}/v1/experiment", json={"experiment": "default"}, headers=student
    )
    assert response.status_code == 200, response.text
    assert (await run(client, front, student, "set_pv1(1.5)"))[0] == 200
    return student, str(account.id)


async def test_a_front_cannot_delete_streams_nor_write_the_registry(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    nats_server.expect_violations = True
    errors: list[str] = []
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        student, _ = await a_lab_with_data(client, front)
        async with logged_in(nats_server, "front", wire.FRONT_INBOX, errors) as nc:
            js = nc.jetstream(timeout=REFUSED_WAIT_S)
            registry = await js.key_value(wire.REGISTRY_BUCKET)  # reading it is allowed
            entry = json.loads((await registry.get("bench-a")).value)
            assert entry["name"] == "bench-a"
            outcomes = await asyncio.gather(
                attempt(lambda: js.delete_stream("KV_remotelab_devices")),
                attempt(lambda: js.purge_stream("KV_remotelab_devices")),
                attempt(lambda: js.delete_key_value(wire.CONTEXTS_BUCKET)),
                attempt(lambda: js.update_stream(name="KV_remotelab_devices", max_age=1.0)),
                attempt(lambda: registry.put("bench-a", b'{"name": "evil"}')),
                attempt(lambda: registry.delete("bench-a")),
                attempt(lambda: js.streams_info()),
                attempt(lambda: js.add_consumer("KV_remotelab_devices")),
                attempt(lambda: js.add_stream(name="EVIL", subjects=["evil.>"])),
            )
            await nc.flush()
        assert outcomes == ["no answer"] * len(outcomes), outcomes
        for subject in (
            "$js.api.stream.delete.kv_remotelab_devices",
            "$js.api.stream.purge.kv_remotelab_devices",
            "$js.api.stream.delete.kv_remotelab_contexts",
            "$js.api.stream.update.kv_remotelab_devices",
            "$kv.remotelab_devices.bench-a",
            "$js.api.stream.list",
            "$js.api.consumer.create.kv_remotelab_devices",
            "$js.api.stream.create.evil",
        ):
            assert f'permissions violation for publish to "{subject}"' in refused(errors), subject
        # Nothing changed: the agent is still registered as itself, the lab still serves.
        assert (await run(client, front, student, "get_voltage('CH3')"))[0] == 200
        async with logged_in(nats_server, "front", wire.FRONT_INBOX, []) as nc:
            registry = await nc.jetstream().key_value(wire.REGISTRY_BUCKET)
            assert json.loads((await registry.get("bench-a")).value)["name"] == "bench-a"


async def test_an_agent_cannot_reach_the_fronts_buckets_nor_delete_streams(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    nats_server.expect_violations = True
    errors: list[str] = []
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        student, user = await a_lab_with_data(client, front)
        async with logged_in(nats_server, "agent", wire.AGENT_INBOX, errors) as nc:
            js = nc.jetstream(timeout=REFUSED_WAIT_S)
            buckets = (
                wire.ASSIGNMENTS_BUCKET,
                wire.CONTEXTS_BUCKET,
                wire.EXPERIMENTS_BUCKET,
                wire.BENCHES_BUCKET,
            )
            outcomes = await asyncio.gather(
                *(attempt(lambda b=b: js.key_value(b)) for b in buckets),
                *(
                    attempt(lambda b=b: js.get_last_msg(f"KV_{b}", f"$KV.{b}.{user}"))
                    for b in buckets
                ),
                *(attempt(lambda b=b: js.publish(f"$KV.{b}.{user}", b'"evil"')) for b in buckets),
                attempt(lambda: js.delete_stream("KV_remotelab_devices")),
                attempt(lambda: js.delete_stream("KV_remotelab_contexts")),
                attempt(lambda: js.purge_stream("KV_remotelab_devices")),
            )
            # Nor may it listen in on the fronts' inboxes (what their buckets answer them)
            # or on the buckets' subjects.
            await nc.subscribe(f"{wire.FRONT_INBOX}.>")
            await nc.subscribe("_INBOX.>")
            await nc.subscribe("$KV.>")
            await nc.flush()
            await asyncio.sleep(0.2)
        assert outcomes == ["no answer"] * len(outcomes), outcomes
        for bucket in buckets:
            for subject in (
                f"$js.api.stream.info.kv_{bucket}",
                f"$js.api.stream.msg.get.kv_{bucket}",
                f"$kv.{bucket}.{user}",
            ):
                assert f'permissions violation for publish to "{subject}"' in refused(errors), (
                    subject
                )
        for subject in (
            "$js.api.stream.delete.kv_remotelab_devices",
            "$js.api.stream.delete.kv_remotelab_contexts",
            "$js.api.stream.purge.kv_remotelab_devices",
        ):
            assert f'permissions violation for publish to "{subject}"' in refused(errors), subject
        for subject in ("_inbox.front.>", "_inbox.>", "$kv.>"):
            assert f'permissions violation for subscription to "{subject}"' in refused(errors), (
                subject
            )
        # The user's outputs, choice and device are untouched: their next call finds them.
        status, body = await run(client, front, student, "get_voltage('CH3')")
        assert status == 200, body
        assert abs(body["result"] - 1.5) < 0.05
        state = (await client.get(f"{front.base}/v1/device", headers=student)).json()
        assert state["bench"]["PV2"] == 1.0


async def test_buckets_made_with_direct_gets_work_within_the_permissions(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """An operator may make the buckets beforehand (``nats kv add`` turns direct gets on):
    reads then go through DIRECT.GET, which the users file allows too (the fixture fails
    this test on any refusal)."""
    async with logged_in(nats_server, "front", wire.FRONT_INBOX, []) as nc:
        for bucket in (
            wire.ASSIGNMENTS_BUCKET,
            wire.CONTEXTS_BUCKET,
            wire.EXPERIMENTS_BUCKET,
            wire.BENCHES_BUCKET,
        ):
            await nc.jetstream().create_key_value(bucket=bucket, history=1, direct=True)
    async with logged_in(nats_server, "agent", wire.AGENT_INBOX, []) as nc:
        await nc.jetstream().create_key_value(
            bucket=wire.REGISTRY_BUCKET, history=1, ttl=3.0, direct=True
        )
    async with (
        agent_process(nats_server, "bench-a", tmp_path) as first,
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        student, _ = await a_lab_with_data(client, front)
        async with agent_process(nats_server, "bench-b", tmp_path):
            async with asyncio.timeout(10):  # the front has heard of it
                while "bench-b" not in await device_names(client, front, student):
                    await asyncio.sleep(0.05)
            await first.stop()
            # Moved with their outputs; the new device has the stored bench.
            status, body = await run(client, front, student, "get_voltage('CH3')")
            assert status == 200, body
            assert abs(body["result"] - 1.5) < 0.05
            state = (await client.get(f"{front.base}/v1/device", headers=student)).json()
            assert state["bench"]["PV2"] == 1.0
    async with logged_in(nats_server, "front", wire.FRONT_INBOX, []) as nc:
        kv = await nc.jetstream().key_value(wire.BENCHES_BUCKET)
        assert kv._direct  # the reads above were direct gets
