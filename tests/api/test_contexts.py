"""Contexts over HTTP: your outputs in GET /v1/device, reset, the bench teachers change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from remotelab.app import create_app
from remotelab.config import Settings
from remotelab.device.emulator import load_experiment
from remotelab.device.outputs import DEFAULT_BENCH
from tests.conftest import Signup, make_settings


async def call(client: Client, headers: dict[str, str], source: str) -> dict[str, Any]:
    response = await client.post("/v1/functions/run", headers=headers, json={"function": source})
    body: dict[str, Any] = await response.get_json()
    assert response.status_code == 200, body
    return body


async def device(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/v1/device", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = await response.get_json()
    return body


async def test_your_outputs_and_what_a_call_changed(client: Client, signup: Signup) -> None:
    a, b = await signup("a@example.org"), await signup("b@example.org")
    fresh = await device(client, a)
    assert fresh["bench"] == DEFAULT_BENCH.to_json()
    assert fresh["context"] == {
        "outputs": DEFAULT_BENCH.to_json(),
        "differs_from_bench": [],
        "fingerprint": DEFAULT_BENCH.fingerprint,
        "expires_in": None,
    }
    assert (await call(client, a, "set_sine1(2000)"))["changed"] == ["SI1"]
    assert (await call(client, a, "set_sine1(2000)"))["changed"] == []  # already so
    assert (await call(client, a, "get_voltage('CH1')"))["changed"] == []
    mine = (await device(client, a))["context"]
    assert mine["outputs"]["SI1"] == {"shape": "sine", "frequency": 2000.0, "phase": None}
    assert mine["differs_from_bench"] == ["SI1"]
    assert 0 < mine["expires_in"] <= 3600
    assert (await device(client, b))["context"]["differs_from_bench"] == []


async def test_reset_returns_your_outputs_to_the_bench(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    await call(client, a, "set_pv1(2)")
    assert (await call(client, a, "get_voltage('CH3')"))["result"] == pytest.approx(2, abs=0.05)
    response = await client.post("/v1/device/reset", headers=a)
    assert response.status_code == 200
    assert (await response.get_json())["differs_from_bench"] == []
    assert (await call(client, a, "get_voltage('CH3')"))["result"] == pytest.approx(0, abs=0.05)


async def test_a_runs_result_says_what_it_changed(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    code = "set_pv1(1)\nset_sine1(500)\nprint(get_voltage('CH3'))"
    body = await (await client.post("/v1/run", headers=a, json={"code": code})).get_json()
    assert body["status"] == "ok", body["error"]
    assert body["changed"] == ["SI1", "PV1"]
    body = await (await client.post("/v1/run", headers=a, json={"code": "print(1)"})).get_json()
    assert body["changed"] == []


async def test_students_cannot_change_the_bench(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    response = await client.put("/v1/device/bench", headers=a, json={"outputs": {"PV1": 1}})
    assert response.status_code == 403
    assert (await response.get_json())["code"] == "forbidden"
    assert (await device(client, a))["bench"]["PV1"] == 0.0


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({"PV1": 9}, "PV1 must be between -5 and 5 V, got 9"),
        ({"SQ1": {"mode": "pwm", "frequency": 1000}}, "SQ1: a pwm output needs duty"),
        ({"XX": 1}, "unknown output 'XX'"),
        ({"CH1_RANGE": 7}, "CH1_RANGE must be one of"),
    ],
)
async def test_bench_changes_are_checked(
    client: Client, signup: Signup, outputs: dict[str, Any], message: str
) -> None:
    teacher = await signup("t@example.org", role="teacher")
    response = await client.put("/v1/device/bench", headers=teacher, json={"outputs": outputs})
    assert response.status_code == 400
    body = await response.get_json()
    assert message in body["error"]


async def test_a_bench_change_reaches_users_without_their_own(
    client: Client, signup: Signup
) -> None:
    teacher = await signup("t@example.org", role="teacher")
    a, b = await signup("a@example.org"), await signup("b@example.org")
    await call(client, a, "set_pv1(-2)")
    response = await client.put(
        "/v1/device/bench",
        headers=teacher,
        json={"outputs": {"PV1": 1.5, "SI1": {"shape": "sine", "frequency": 500}}},
    )
    assert response.status_code == 200
    body = await response.get_json()
    assert body["changed"] == ["SI1", "PV1"]
    assert body["differs_from_default"] == ["SI1", "PV1"]
    assert (await call(client, b, "get_voltage('CH3')"))["result"] == pytest.approx(1.5, abs=0.05)
    assert (await call(client, a, "get_voltage('CH3')"))["result"] == pytest.approx(-2, abs=0.05)
    assert (await device(client, a))["context"]["differs_from_bench"] == ["PV1"]
    assert (await device(client, b))["context"]["differs_from_bench"] == []
    # Back to the default value: no longer a change of the bench.
    response = await client.put("/v1/device/bench", headers=teacher, json={"outputs": {"PV1": 0}})
    assert (await response.get_json())["differs_from_default"] == ["SI1"]


async def test_the_embedded_server_changes_the_bench_of_its_one_experiment(
    client: Client, signup: Signup
) -> None:
    teacher = await signup("t@example.org", role="teacher")
    change = {"outputs": {"PV1": 1.0}}
    response = await client.put("/v1/device/bench", headers=teacher, json=change)
    assert (await response.get_json())["experiment"] == "default"  # yours: the one served
    response = await client.put(
        "/v1/device/bench", headers=teacher, json={**change, "experiment": "default"}
    )
    assert response.status_code == 200
    for experiment, status, problem in (
        ("optics", 404, "no experiment named 'optics' is served here"),
        ("", 400, "experiment"),
        (3, 400, "experiment"),
    ):
        response = await client.put(
            "/v1/device/bench",
            headers=teacher,
            json={"outputs": {"PV1": 2.0}, "experiment": experiment},
        )
        assert response.status_code == status
        assert problem in (await response.get_json())["error"]
    assert (await device(client, teacher))["bench"]["PV1"] == 1.0  # nothing changed


async def test_the_bench_survives_a_restart(tmp_path: Path) -> None:
    from remotelab.api.context import EXTENSION
    from remotelab.auth.roles import Role

    settings = make_settings(tmp_path)

    async def session(settings: Settings, change: dict[str, Any] | None) -> dict[str, Any]:
        app = create_app(settings)
        async with app.test_app() as test_app:
            state = test_app.app.extensions[EXTENSION]  # type: ignore[attr-defined]
            client = test_app.test_client()
            email = "t@example.org"
            if change is not None:
                await state.accounts.create_account(
                    email=email, password="password123", role=Role.TEACHER
                )
            login = await client.post(
                "/v1/auth/login", json={"email": email, "password": "password123"}
            )
            headers = {"Authorization": f"JWT {(await login.get_json())['access_token']}"}
            if change is not None:
                response = await client.put("/v1/device/bench", headers=headers, json=change)
                assert response.status_code == 200
            status = await device(client, headers)
            status["reading"] = (await call(client, headers, "get_voltage('CH3')"))["result"]
            return status

    await session(settings, {"outputs": {"PV1": 1.25, "SQ2": {"mode": "high"}}})
    after = await session(settings, None)
    assert after["bench"]["PV1"] == 1.25
    assert after["bench"]["SQ2"] == {"mode": "high"}
    assert after["reading"] == pytest.approx(1.25, abs=0.05)


async def test_the_bench_files_outputs(tmp_path: Path) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text(
        'wiring = ["SI1 -> CH1", "PV1 -> CH3"]\n'
        "[outputs]\n"
        "PV1 = -1.5\n"
        'SI1 = {shape = "tria", frequency = 250}\n'
    )
    app = create_app(make_settings(tmp_path, emulator_bench=bench))
    async with app.test_app() as test_app:
        from remotelab.api.context import EXTENSION

        instrument = test_app.app.extensions[EXTENSION].instrument  # type: ignore[attr-defined]
        assert instrument.configured_bench["PV1"] == -1.5
        value = (await instrument.run("x", "get_voltage('CH3')")).result
        assert value == pytest.approx(-1.5, abs=0.05)
        assert instrument.owner.context_status("x")["outputs"]["SI1"]["shape"] == "tria"


def test_a_bad_bench_file_stops_the_start(tmp_path: Path) -> None:

    from remotelab.config import EmulatorSettings
    from remotelab.device.backends import configured_bench
    from remotelab.errors import InputError

    bench = tmp_path / "bench.toml"
    bench.write_text('wiring = ["SI1 -> CH1"]\n[outputs]\nPV3 = 5\n')
    with pytest.raises(InputError, match=r"bench\.toml: \[outputs\] PV3 must be between 0 and 3.3"):
        configured_bench(EmulatorSettings(bench=bench))
    bench.write_text('wiring = ["SI1 -> CH1"]\noutputs = 3\n')
    with pytest.raises(InputError, match="'outputs' must be a table"):
        configured_bench(EmulatorSettings(bench=bench))


async def test_the_embedded_server_lists_its_one_device(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    assert (await client.get("/v1/devices")).status_code == 401
    response = await client.get("/v1/devices", headers=a)
    assert response.status_code == 200
    (device,) = (await response.get_json())["devices"]
    assert device["name"] == "local"
    assert device["backend"] == "emulator"
    assert device["bench"] == "default"
    assert device["experiment"] == "default"
    assert device["state"] == "connected"
    assert device["yours"] is True


async def test_the_embedded_server_lists_one_experiment_its_bench(
    client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    assert (await client.get("/v1/experiments")).status_code == 401
    response = await client.get("/v1/experiments", headers=a)
    assert response.status_code == 200
    assert (await response.get_json())["experiments"] == [
        {
            "name": "default",
            "description": "",
            "devices": ["local"],
            "free": 1,
            "busy": 0,
            "queue": 0,
            "yours": True,
        }
    ]


async def test_the_embedded_server_takes_its_one_experiment_and_no_other(
    client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    response = await client.put("/v1/experiment", json={"experiment": "default"}, headers=a)
    assert response.status_code == 200
    assert (await response.get_json())["devices"] == ["local"]
    response = await client.put("/v1/experiment", json={"experiment": "optics"}, headers=a)
    assert response.status_code == 404
    assert (await response.get_json())["error"] == (
        "no experiment named 'optics' is served here (this server serves 'default' only); "
        "see GET /v1/experiments"
    )
    for body in ({}, {"experiment": 1}, {"experiment": "x" * 65}):
        response = await client.put("/v1/experiment", json=body, headers=a)
        assert response.status_code == 400
        assert "experiment" in (await response.get_json())["error"]


async def test_a_bench_file_names_its_experiment_or_its_stem_does(tmp_path: Path) -> None:
    from quart.testing.app import LifespanError

    from remotelab.errors import InputError

    bench = tmp_path / "rc-filter.toml"
    bench.write_text('wiring = ["SI1 -> CH1"]\n')
    assert load_experiment(bench) == ("rc-filter", "")
    assert load_experiment(None) == ("default", "")
    bench.write_text(
        'wiring = ["SI1 -> CH1"]\n[experiment]\nname = " RC filter "\n'
        'description = "SI1 through an RC low-pass to CH1"\n'
    )
    assert load_experiment(bench) == ("RC filter", "SI1 through an RC low-pass to CH1")
    for table, problem in (
        ("experiment = 3", "'experiment' must be a table"),
        ('[experiment]\ntitle = "x"', r"unknown keys \['title'\] in \[experiment\]"),
        ('[experiment]\nname = ""', "name must be a string of 1 to 64 characters"),
        (f'[experiment]\nname = "{"x" * 65}"', "name must be a string of 1 to 64"),
        ("[experiment]\nname = 7", "name must be a string"),
        ("[experiment]\ndescription = []", "description must be a string of at most 2000"),
    ):
        bench.write_text(f'wiring = ["SI1 -> CH1"]\n{table}\n')
        with pytest.raises(InputError, match=problem):
            load_experiment(bench)
    bench.write_text('wiring = ["SI1 -> CH1"]\n[experiment]\nname = ""\n')
    # The server does not start, saying why.
    with pytest.raises(LifespanError, match=r"rc-filter\.toml': \[experiment\] name must be"):
        async with create_app(make_settings(tmp_path, emulator_bench=bench)).test_app():
            pass
