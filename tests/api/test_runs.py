"""Script runs over HTTP: the sandbox, the widgets, instrument calls on the caller's behalf."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client

from tests.conftest import Signup


async def run(client: Client, headers: dict[str, str], code: str):
    response = await client.post("/v1/run", headers=headers, json={"code": code})
    return response.status_code, await response.get_json()


async def test_run_editor_code_with_widgets_and_an_instrument_call(
    client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    code = (
        "set_pv1(1.5)\n"
        "v = get_voltage('CH3')\n"
        "print('v=%.1f' % v)\n"
        "button('Voltage', \"get_voltage('CH3')\", 'display_number')\n"
    )
    status, body = await run(client, a, code)
    assert status == 200
    assert body["status"] == "ok", body
    assert body["stdout"] == "v=1.5\n"
    assert body["widgets"][0] == {"type": "text", "name": "print", "value": ["v=1.5"]}
    assert body["widgets"][1]["type"] == "button"
    assert body["widgets"][1]["action"]["endpoint"] == "get_voltage('CH3')"
    assert body["widgets"][2] == {
        "type": "label",
        "name": "button-id-label",
        "class": "",
        "value": "",
    }
    assert body["stats"]["device_calls"] == 2


async def test_errors_are_data_with_the_users_line(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    status, body = await run(client, a, "x = 1\ny = x / 0\n")
    assert status == 200
    assert body["status"] == "error"
    assert body["error"]["type"] == "ZeroDivisionError"
    assert body["error"]["line"] == 2
    status, body = await run(client, a, "x = (\n")
    assert body["status"] == "error"
    assert body["error"]["line"] == 1
    bad_button = "button('x', \"os.system('ls')\")\n"
    status, body = await run(client, a, bad_button)
    assert body["status"] == "error"
    assert "only one call" in body["error"]["message"]


async def test_run_saved_scripts_and_examples(client: Client, signup: Signup) -> None:
    teacher = await signup("t@example.org", role="teacher")
    student = await signup("s@example.org")
    created = await client.post(
        "/v1/examples", headers=teacher, json={"title": "t", "code": "print(6 * 7)"}
    )
    example = await created.get_json()
    response = await client.post(f"/v1/examples/{example['id']}/run", headers=student)
    assert (await response.get_json())["stdout"] == "42\n"
    mine = await (
        await client.post("/v1/scripts", headers=student, json={"title": "m", "code": "print(1)"})
    ).get_json()
    response = await client.post(f"/v1/scripts/{mine['id']}/run", headers=student)
    assert (await response.get_json())["status"] == "ok"
    # Another user's script is not found, not runnable.
    other = await client.post(f"/v1/scripts/{mine['id']}/run", headers=teacher)
    assert other.status_code == 404


async def test_runs_need_a_login_and_are_rate_limited(
    client: Client, signup: Signup, settings
) -> None:
    assert (await client.post("/v1/run", json={"code": "print(1)"})).status_code == 401
    a = await signup("a@example.org")
    for _ in range(settings.sandbox.script_runs_per_minute):
        assert (await client.post("/v1/run", headers=a, json={"code": "1"})).status_code == 200
    limited = await client.post("/v1/run", headers=a, json={"code": "1"})
    assert limited.status_code == 429


async def test_too_large_source_is_413(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    response = await client.post("/v1/run", headers=a, json={"code": "#" * 70_000})
    assert response.status_code == 413


async def test_a_script_call_longer_than_a_call_may_hold_the_device_is_refused(
    client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    code = "x = 1\nf = get_freq('FRQ', 5)\n"
    status, body = await run(client, a, code)
    assert status == 200
    assert body["status"] == "error"
    assert body["error"]["type"] == "ValueError"
    assert body["error"]["line"] == 2
    assert "more than the 1 s a call may hold the device" in body["error"]["message"]
    assert "use a smaller timeout" in body["error"]["message"]


async def test_hold_limits_depend_on_the_role(client: Client, signup: Signup) -> None:
    student = await signup("s@example.org")
    teacher = await signup("t@example.org", role="teacher")
    code = "x = 1\nwith hold(30):\n    get_voltage('CH1')\n"
    status, body = await run(client, student, code)
    assert status == 200
    assert body["status"] == "error"
    assert body["error"]["type"] == "ValueError"
    assert "REMOTELAB_DEVICE_HOLD_MAX_SECONDS" in body["error"]["message"]
    assert body["error"]["line"] == 2
    status, body = await run(client, teacher, code)
    assert body["status"] == "ok", body
    status, body = await run(client, teacher, "with hold(61):\n    pass\n")
    assert "REMOTELAB_DEVICE_HOLD_MAX_SECONDS_TEACHER" in body["error"]["message"]


async def test_get_device_shows_a_hold_without_naming_the_holder(
    client: Client, signup: Signup
) -> None:
    import asyncio

    a = await signup("a@example.org")
    b = await signup("b@example.org")
    code = "import time\nwith hold(5):\n    get_voltage('CH1')\n    time.sleep(1.0)\n"
    task = asyncio.create_task(run(client, a, code))
    seen: dict[str, object] = {}
    for _ in range(300):
        theirs = (await (await client.get("/v1/device", headers=b)).get_json())["hold"]
        if theirs is not None:
            seen["b"] = theirs
            seen["a"] = (await (await client.get("/v1/device", headers=a)).get_json())["hold"]
            break
        await asyncio.sleep(0.01)
    assert seen, "the hold never showed"
    assert seen["b"]["by"] == "another user"  # type: ignore[index]
    assert "a@example.org" not in str(seen["b"])
    assert seen["a"]["by"] == "you"  # type: ignore[index]
    # b's calls wait for the hold, then run
    response = await client.post(
        "/v1/functions/run", headers=b, json={"function": "get_voltage('CH1')"}
    )
    assert response.status_code == 200
    _status, body = await task
    assert body["status"] == "ok", body
    assert (await (await client.get("/v1/device", headers=b)).get_json())["hold"] is None
