"""Experiments over NATS: each agent serves its bench's experiment; the fronts list them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from remotelab.api.context import EXTENSION
from tests.support.cluster import agent_process, lab, run
from tests.support.nats import NatsServer

pytestmark = pytest.mark.timeout(120)

RC = (
    'wiring = ["SI1 -> CH1", "PV1 -> CH3"]\n'
    "[experiment]\n"
    'name = "RC filter"\n'
    'description = "SI1 through an RC low-pass to CH1"\n'
)
#: No [experiment] table: the experiment is the file's stem.
DIVIDER = 'wiring = ["PV1 -> CH3"]\n'


def benches(folder: Path) -> dict[str, dict[str, str]]:
    """Environment for agents on the two benches."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rc.toml").write_text(RC)
    (folder / "divider.toml").write_text(DIVIDER)
    return {
        name: {"REMOTELAB_EMULATOR_BENCH": str(folder / file)}
        for name, file in (("rc", "rc.toml"), ("divider", "divider.toml"))
    }


async def test_agents_publish_their_experiment_and_the_front_lists_experiments(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    env = benches(tmp_path / "benches")
    async with (
        agent_process(nats_server, "rc-1", tmp_path, extra=env["rc"]),
        agent_process(nats_server, "rc-2", tmp_path, extra=env["rc"]),
        agent_process(nats_server, "div-1", tmp_path, extra=env["divider"]),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        headers = await front.token("s@example.org")
        assert (await client.get(f"{front.base}/v1/experiments")).status_code == 401
        response = await client.get(f"{front.base}/v1/experiments", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["experiments"] == [
            {
                "name": "RC filter",
                "description": "SI1 through an RC low-pass to CH1",
                "devices": ["rc-1", "rc-2"],
                "free": 2,
                "busy": 0,
                "queue": 0,
                "yours": False,
            },
            {
                "name": "divider",
                "description": "",
                "devices": ["div-1"],
                "free": 1,
                "busy": 0,
                "queue": 0,
                "yours": False,
            },
        ]
        devices = (await client.get(f"{front.base}/v1/devices", headers=headers)).json()
        assert {d["name"]: (d["bench"], d["experiment"]) for d in devices["devices"]} == {
            "rc-1": ("rc", "RC filter"),
            "rc-2": ("rc", "RC filter"),
            "div-1": ("divider", "divider"),
        }
        assert (await run(client, front, headers, "get_voltage('CH1')"))[0] == 200
        listed = (await client.get(f"{front.base}/v1/experiments", headers=headers)).json()
        assert [e["yours"] for e in listed["experiments"]].count(True) == 1


async def test_a_user_chooses_an_experiment_and_stays_in_it_when_their_device_dies(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import signal

    env = benches(tmp_path / "benches")
    fast = {"REMOTELAB_NATS_HEARTBEAT_SECONDS": "0.2"}
    async with (
        agent_process(nats_server, "rc-1", tmp_path, extra={**env["rc"], **fast}) as rc1,
        agent_process(nats_server, "rc-2", tmp_path, extra={**env["rc"], **fast}) as rc2,
        agent_process(nats_server, "div-1", tmp_path, extra={**env["divider"], **fast}),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        device = front.app.extensions[EXTENSION].instrument
        headers = await front.token("s@example.org")
        url = f"{front.base}/v1/experiment"
        # Bad choices: clear errors, nothing changed.
        for body, status, problem in (
            ({}, 400, "experiment"),
            ({"experiment": 3}, 400, "experiment"),
            ({"experiment": ""}, 400, "experiment"),
            ({"experiment": "optics"}, 404, "no experiment named 'optics' is served now"),
        ):
            response = await client.put(url, json=body, headers=headers)
            assert response.status_code == status, response.text
            assert problem in response.json()["error"], response.text
        assert (await client.put(url, json={"experiment": "divider"})).status_code == 401
        response = await client.put(url, json={"experiment": "divider"}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["devices"] == ["div-1"]
        assert response.json()["yours"] is True
        assert (await run(client, front, headers, "get_voltage('CH1')"))[0] == 200
        assert list(device.assigned.values()) == ["div-1"]
        # To the RC filter: the least busy of its two devices; never div-1 again.
        response = await client.put(url, json={"experiment": "RC filter"}, headers=headers)
        assert response.status_code == 200, response.text
        listed = (await client.get(f"{front.base}/v1/experiments", headers=headers)).json()
        assert [e["name"] for e in listed["experiments"] if e["yours"]] == ["RC filter"]
        assert (await run(client, front, headers, "set_pv1(1.5)"))[0] == 200
        (mine,) = device.assigned.values()
        assert mine in ("rc-1", "rc-2")
        victim, other = (rc1, rc2) if mine == "rc-1" else (rc2, rc1)
        victim.process.send_signal(signal.SIGKILL)
        await victim.stop()
        status, body = await run(client, front, headers, "get_voltage('CH3')")
        assert status == 200, body
        assert abs(body["result"] - 1.5) < 0.05  # their PV1 re-applied on the other device
        assert list(device.assigned.values()) == [other.name]
        # The experiment's last device gone: a 503 naming it, not a move to div-1.
        other.process.send_signal(signal.SIGKILL)
        await other.stop()
        status, body = await run(client, front, headers, "get_voltage('CH3')")
        assert status == 503, body
        assert "no device of the experiment 'RC filter' is available" in body["error"]
        assert body["details"] == {"experiment": "RC filter"}


async def test_the_default_experiment_and_a_choice_hold_across_fronts(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    env = benches(tmp_path / "benches")
    settings = {**nats_server.front_settings(), "nats_experiment": "divider"}
    async with (
        agent_process(nats_server, "rc-1", tmp_path, extra=env["rc"]),
        agent_process(nats_server, "div-1", tmp_path, extra=env["divider"]),
        lab(tmp_path / "one", **settings) as one,
        lab(tmp_path / "two", **settings) as two,
        httpx.AsyncClient(timeout=60) as client,
    ):
        first = one.app.extensions[EXTENSION].instrument
        second = two.app.extensions[EXTENSION].instrument
        # The same account in both fronts' databases (same id), as a shared one would be.
        accounts = [one.app.extensions[EXTENSION].accounts, two.app.extensions[EXTENSION].accounts]
        users = [
            await a.create_account(email="s@example.org", password="password123") for a in accounts
        ]
        assert users[0].id == users[1].id
        headers = {"Authorization": f"JWT {accounts[0].codec.issue_access(users[0].id)}"}
        for _ in range(3):  # the setting's experiment, whichever front
            for front in (one, two):
                assert (await run(client, front, headers, "get_voltage('CH1')"))[0] == 200
        assert list(first.assigned.values()) == list(second.assigned.values()) == ["div-1"]
        response = await client.put(
            f"{one.base}/v1/experiment", json={"experiment": "RC filter"}, headers=headers
        )
        assert response.status_code == 200, response.text
        # The other front heard of it: the user's next call there goes to the RC filter.
        async with asyncio.timeout(5):
            while second.assigned:
                await asyncio.sleep(0.05)
        assert (await run(client, two, headers, "get_voltage('CH1')"))[0] == 200
        assert list(second.assigned.values()) == ["rc-1"]
        assert list(first.assigned.values()) == ["rc-1"]


async def test_a_teachers_bench_belongs_to_an_experiment(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from remotelab.auth.roles import Role

    env = benches(tmp_path / "benches")
    async with (
        agent_process(nats_server, "rc-1", tmp_path, extra=env["rc"]) as rc1,
        agent_process(nats_server, "div-1", tmp_path, extra=env["divider"]) as div1,
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        accounts = front.app.extensions[EXTENSION].accounts

        async def account(email: str, role: Role = Role.STUDENT) -> dict[str, str]:
            user = await accounts.create_account(email=email, password="password123", role=role)
            return {"Authorization": f"JWT {accounts.codec.issue_access(user.id)}"}

        teacher = await account("t@example.org", Role.TEACHER)
        on_rc, on_div = await account("rc@example.org"), await account("div@example.org")
        for headers, experiment in (
            (teacher, "RC filter"),
            (on_rc, "RC filter"),
            (on_div, "divider"),
        ):
            response = await client.put(
                f"{front.base}/v1/experiment", json={"experiment": experiment}, headers=headers
            )
            assert response.status_code == 200, response.text
        bench = f"{front.base}/v1/device/bench"
        # Without an experiment: the teacher's own (RC filter), on its devices only.
        response = await client.put(bench, json={"outputs": {"PV1": 1.5}}, headers=teacher)
        assert response.status_code == 200, response.text
        assert response.json()["experiment"] == "RC filter"
        assert response.json()["changed"] == ["PV1"]
        # With one: the divider's, from the same teacher.
        response = await client.put(
            bench, json={"outputs": {"PV1": -0.5}, "experiment": "divider"}, headers=teacher
        )
        assert response.status_code == 200, response.text
        assert response.json()["experiment"] == "divider"
        response = await client.put(
            bench, json={"outputs": {"PV1": 1.0}, "experiment": "optics"}, headers=teacher
        )
        assert response.status_code == 404, response.text
        assert "no experiment named 'optics' is served now" in response.json()["error"]
        assert response.json()["details"] == {"experiment": "optics"}

        async def reads(headers: dict[str, str]) -> tuple[float, float]:
            status, body = await run(client, front, headers, "get_voltage('CH3')")
            assert status == 200, body
            state = (await client.get(f"{front.base}/v1/device", headers=headers)).json()
            return round(body["result"], 1), state["bench"]["PV1"]

        async def names() -> set[str]:
            response = await client.get(f"{front.base}/v1/devices", headers=on_rc)
            return {device["name"] for device in response.json()["devices"]}

        assert await reads(on_rc) == (1.5, 1.5)
        assert await reads(on_div) == (-0.5, -0.5)
        # Devices that join later get their own experiment's bench, not the other's; the
        # users of the devices gone move to them.
        async with (
            agent_process(nats_server, "rc-2", tmp_path, extra=env["rc"]),
            agent_process(nats_server, "div-2", tmp_path, extra=env["divider"]),
        ):
            async with asyncio.timeout(10):  # the front has heard of both
                while not {"rc-2", "div-2"} <= await names():
                    await asyncio.sleep(0.05)
            await rc1.stop()
            await div1.stop()
            assert await reads(on_rc) == (1.5, 1.5)
            assert await reads(on_div) == (-0.5, -0.5)
            device = front.app.extensions[EXTENSION].instrument
            assert sorted(device.assigned.values()) == ["div-2", "rc-2"]  # (the teacher: none)
