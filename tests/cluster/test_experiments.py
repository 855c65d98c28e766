"""Experiments over NATS: each agent serves its bench's experiment; the fronts list them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.cluster import agent_process, lab, run
from tests.support.nats import NatsServer

pytestmark = pytest.mark.timeout(120)

RC = (
    'wiring = ["SI1 -> CH1"]\n'
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
