"""The scale test: ten device agents, each in a network namespace of its own (a host of its
own: its own address, link and host name), realtime emulators, one front.

Needs root to make the namespaces (:mod:`tests.support.netns`): without it the tests skip,
or fail when ``CI=true`` (CI runs them as root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from remotelab.api.context import EXTENSION
from remotelab.cluster.front import NatsDevice
from tests.support.cluster import AgentProcess, Lab, agent_process, lab, run
from tests.support.nats import running_nats_server
from tests.support.netns import (
    Network,
    namespace_hosts,
    need_root,
    ours,
    remove_leftovers,
    root_problem,
)

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

AGENTS = 10
USERS_PER_AGENT = 3
HEARTBEAT_S = 0.5
AGENT_ENV = {
    "REMOTELAB_NATS_HEARTBEAT_SECONDS": str(HEARTBEAT_S),
    "REMOTELAB_EMULATOR_REALTIME": "true",
}
#: About 0.52 s of device time each (0.5 s capture, 2,000 bytes at 1 Mbaud, overhead).
LONG_CAPTURE = "capture1('CH1', 1000, 500)"
LONG_CAPTURE_S = 0.52
#: Ten agents start at once (each about a second of CPU): on a busy shared machine, slowly.
START_TIMEOUT_S = 150


def test_without_root_the_scale_test_fails_in_ci_and_skips_elsewhere() -> None:
    assert root_problem(0, ci=True) is None
    assert root_problem(0, ci=False) is None
    action, why = root_problem(1000, ci=True) or ("", "")
    assert action == "fail"
    assert "needs root" in why and "CI=true" in why and "uid 1000" in why
    action, why = root_problem(1000, ci=False) or ("", "")
    assert action == "skip"
    assert "needs root" in why


def test_what_a_crashed_run_left_is_removed_and_a_running_ones_kept() -> None:
    need_root()
    gone = subprocess.Popen(["true"])
    gone.wait()  # its id now names a run that is over
    leftovers = [f"rlt{gone.pid}-0", f"rlt{gone.pid}br"]
    subprocess.run(["ip", "netns", "add", leftovers[0]], check=True)
    subprocess.run(["ip", "link", "add", leftovers[1], "type", "bridge"], check=True)
    try:
        with namespace_hosts(2) as net:
            namespaces, links = ours()
            # The crashed run's names went when this run started; this run's are there.
            assert not set(leftovers) & {*namespaces, *links}
            assert {h.namespace for h in net.hosts} <= set(namespaces)
            assert {net.bridge, *(h.link for h in net.hosts)} <= set(links)
            # Another run cleaning up keeps the names of a run still going (this one).
            assert remove_leftovers() == []
        namespaces, links = ours()
        assert not {net.bridge, *(h.link for h in net.hosts)} & set(links)
        assert not {h.namespace for h in net.hosts} & set(namespaces)
    finally:
        remove_leftovers()


@dataclass
class ScaleLab:
    net: Network
    agents: list[AgentProcess]
    front: Lab
    device: NatsDevice
    client: httpx.AsyncClient


@contextlib.asynccontextmanager
async def scale_lab(tmp_path: Path) -> AsyncIterator[ScaleLab]:
    """Ten namespaces, NATS on their bridge, an agent in each, a front on this host."""
    with namespace_hosts(AGENTS) as net, running_nats_server(host=net.gateway) as nats:
        async with contextlib.AsyncExitStack() as stack:
            # Started together (each one is seconds of imports on a busy machine).
            started = await asyncio.gather(
                *(
                    stack.enter_async_context(
                        agent_process(
                            nats,
                            f"ns-agent-{i}",
                            tmp_path,
                            extra=AGENT_ENV,
                            prefix=h.exec_prefix,
                            start_timeout=START_TIMEOUT_S,
                        )
                    )
                    for i, h in enumerate(net.hosts)
                ),
                return_exceptions=True,
            )
            for result in started:
                if isinstance(result, BaseException):
                    raise result
            agents = [a for a in started if isinstance(a, AgentProcess)]
            front = await stack.enter_async_context(
                lab(tmp_path / "front", **nats.front_settings())
            )
            client = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
            device = front.app.extensions[EXTENSION].instrument
            assert isinstance(device, NatsDevice)
            yield ScaleLab(net, agents, front, device, client)


async def devices(lab_: ScaleLab, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await lab_.client.get(f"{lab_.front.base}/v1/devices", headers=headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["devices"]
    return listed


async def served(lab_: ScaleLab) -> dict[str, int]:
    """Calls each agent has served, from its next heartbeat on."""
    await asyncio.sleep(2 * HEARTBEAT_S)
    return {name: int(entry["calls_served"]) for name, entry in lab_.device.alive().items()}


async def test_ten_agents_on_hosts_of_their_own_share_the_users_and_fail_over(
    tmp_path: Path,
) -> None:
    need_root()
    async with scale_lab(tmp_path) as sl:
        names = [a.name for a in sl.agents]
        # Each agent runs in its namespace: its network is that namespace's, not this one's.
        for agent, host in zip(sl.agents, sl.net.hosts, strict=True):
            inode = os.stat(f"/proc/{agent.process.pid}/ns/net").st_ino
            assert inode == os.stat(f"/run/netns/{host.namespace}").st_ino
            assert inode != os.stat("/proc/self/ns/net").st_ino

        # All ten registered, each from its own host.
        users = [await sl.front.token(f"u{i}@example.org") for i in range(AGENTS * USERS_PER_AGENT)]
        listed = await devices(sl, users[0])
        assert [d["name"] for d in listed] == sorted(names)
        assert {d["host"] for d in listed} == {h.hostname for h in sl.net.hosts}
        assert {d["state"] for d in listed} == {"connected"}

        # Users arriving one after the other are each placed on the least busy device:
        # spread evenly over all ten. Each sets an output of their own.
        volts = {i: round(-2.9 + 0.2 * i, 2) for i in range(len(users))}
        for i, headers in enumerate(users):
            status, body = await run(sl.client, sl.front, headers, f"set_pv1({volts[i]})")
            assert status == 200, body
        counts = Counter(sl.device.assigned.values())
        assert set(counts) == set(names), counts
        assert max(counts.values()) - min(counts.values()) <= 1, counts

        # Calls from all users at once: every agent serves its users' share.
        before = await served(sl)
        answers = await asyncio.gather(
            *(
                run(sl.client, sl.front, headers, "get_voltage('CH3')")
                for headers in users
                for _ in range(3)
            )
        )
        assert [status for status, _ in answers] == [200] * len(answers), answers
        for i, (_, body) in enumerate(answers):
            assert abs(body["result"] - volts[i // 3]) < 0.05, (i, body)  # their own PV1
        after = await served(sl)
        for name in names:
            assert after[name] - before[name] >= 3 * counts[name], (name, before, after)

        # Captures run in parallel across the agents: one user per agent, ten long captures
        # at once take about one capture's time, not ten.
        email_of = {i: f"u{i}@example.org" for i in range(len(users))}
        user_ids = list(sl.device.assigned)  # in the order of their first call: u0, u1, ...
        first_of: dict[str, int] = {}
        for i, user in enumerate(user_ids):
            first_of.setdefault(sl.device.assigned[user], i)
        assert len(first_of) == AGENTS
        started = time.monotonic()
        captures = await asyncio.gather(
            *(run(sl.client, sl.front, users[i], LONG_CAPTURE) for i in first_of.values())
        )
        wall = time.monotonic() - started
        assert [status for status, _ in captures] == [200] * AGENTS, captures
        assert all(body["elapsed_ms"] >= 500 for _, body in captures), captures  # realtime
        assert wall < AGENTS * LONG_CAPTURE_S / 2, f"{wall:.2f} s for {AGENTS} captures"

        # One host cut off the network (its link down; the agent runs on): calls in flight
        # there fail with a 503 naming it within a few heartbeats, and its users' next calls
        # are served by the others, with the outputs they had set.
        victim = sl.device.assigned[user_ids[0]]
        host = sl.net.hosts[names.index(victim)]
        theirs = [i for i, user in enumerate(user_ids) if sl.device.assigned[user] == victim]
        in_flight = [
            asyncio.create_task(run(sl.client, sl.front, users[i], LONG_CAPTURE)) for i in theirs
        ]
        await asyncio.sleep(0.2)
        cut = time.monotonic()
        host.cut()
        failed = await asyncio.gather(*in_flight)
        waited = time.monotonic() - cut
        for status, body in failed:
            assert status == 503, body
            assert body["details"] == {"device": victim}, body
        assert waited < 5.0, f"the 503s came {waited:.1f} s after the cut"
        for i in theirs:
            status, body = await run(sl.client, sl.front, users[i], "get_voltage('CH3')")
            assert status == 200, (email_of[i], body)
            assert abs(body["result"] - volts[i]) < 0.05, (email_of[i], body)
            assert sl.device.assigned[user_ids[i]] != victim
        assert victim not in [d["name"] for d in await devices(sl, users[0])]
        assert sl.agents[names.index(victim)].process.returncode is None

        # Back on the network, the agent comes back by itself.
        host.mend()
        async with asyncio.timeout(60):
            while victim not in [d["name"] for d in await devices(sl, users[0])]:
                await asyncio.sleep(0.2)
