"""Function strings and the device over HTTP, on the emulator."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import httpx
import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from tests.conftest import Signup, make_settings
from tests.support.served import new_user_token, served


async def run(client: Client, headers: dict[str, str], function: str, **extra: object):
    return await client.post(
        "/v1/functions/run", headers=headers, json={"function": function, **extra}
    )


async def test_function_list_documents_every_function(client: Client) -> None:
    body = await (await client.get("/v1/functions")).get_json()
    names = {f["name"] for f in body["functions"]}
    assert {"get_voltage", "capture1", "set_pv1", "get_resistance"} <= names
    voltage = next(f for f in body["functions"] if f["name"] == "get_voltage")
    assert voltage["doc"]
    assert voltage["params"][0]["name"]
    assert voltage["expected_ms"] == 1.0  # the example's expected device time
    freq = next(f for f in body["functions"] if f["name"] == "get_freq")
    assert freq["device_time"] == "`timeout` + 1.1 ms, in slices"
    assert freq["expected_ms"] == 1001.1


async def test_a_call_longer_than_a_call_may_hold_the_device_is_refused(
    client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    response = await run(client, a, "get_freq('FRQ', 10)")
    assert response.status_code == 400
    body = await response.get_json()
    assert body["error"] == (
        "get_freq: waits up to 10 s for edges (timeout=10), more than the 1 s a call may hold "
        "the device (REMOTELAB_DEVICE_MAX_CALL_SECONDS); use a smaller timeout"
    )
    assert body["code"] == "bad_function_string"
    assert body["details"] == {
        "function": "get_freq",
        "parameter": "timeout",
        "expected_ms": 10001.1,
        "expected": "10 s",
        "limit_seconds": 1.0,
        "setting": "REMOTELAB_DEVICE_MAX_CALL_SECONDS",
    }
    capture = await run(client, a, "capture1('CH1', 10000, 120)")
    assert capture.status_code == 400
    assert (await capture.get_json())["error"] == (
        "capture1: captures for 1.2 s and transfers 20 kB (ns=10000, tg=120), about 1.43 s in "
        "all, more than the 1 s a call may hold the device (REMOTELAB_DEVICE_MAX_CALL_SECONDS); "
        "use fewer samples (ns) or a shorter timegap (tg)"
    )
    # Within the limit: pslab's "no signal" answer (FRQ is not wired on the default bench).
    allowed = await run(client, a, "get_freq('FRQ', 0.05)")
    assert allowed.status_code == 200, await allowed.get_json()
    assert (await allowed.get_json())["result"] == 0


async def test_run_a_function_string(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    set_pv = await run(client, a, "set_pv1(2.5)")
    assert set_pv.status_code == 200, await set_pv.get_json()
    response = await run(client, a, "get_voltage('CH3')")  # PV1 is wired to CH3
    assert response.status_code == 200
    body = await response.get_json()
    assert body["function"] == "get_voltage"
    assert abs(body["result"] - 2.5) < 0.25
    assert body["elapsed_ms"] >= 0
    assert body["notes"] == []


async def test_capture_with_stacking_returns_series(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    response = await run(client, a, "capture2(100, 2)", stacking="xyy")
    body = await response.get_json()
    assert response.status_code == 200, body
    x, y1, y2 = body["result"]
    assert len(x) == len(y1) == len(y2) == 100
    assert len(body["series"]) == 2
    assert body["series"][0][5] == [x[5], y1[5]]
    assert body["series"][1][5] == [x[5], y2[5]]


async def test_errors_teach(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    unknown = await run(client, a, "get_voltag('CH1')")
    assert unknown.status_code == 400
    body = await unknown.get_json()
    assert "get_voltage" in body["details"]["suggestions"]
    assert body["code"] == "bad_function_string"
    attribute = await run(client, a, "os.system('ls')")
    assert attribute.status_code == 400
    assert (
        "only one call with literal arguments is allowed" in (await attribute.get_json())["error"]
    )
    syntax = await run(client, a, "get_voltage('CH1'")
    assert syntax.status_code == 400
    assert "column" in (await syntax.get_json())["details"]
    bad_range = await run(client, a, "set_pv1(50)")
    assert bad_range.status_code == 400
    assert "pv1" in (await bad_range.get_json())["error"].lower()


async def test_running_functions_needs_a_login(client: Client) -> None:
    response = await run(client, {}, "get_voltage('CH1')")
    assert response.status_code == 401


async def test_device_status(client: Client, signup: Signup) -> None:
    a = await signup("a@example.org")
    body = await (await client.get("/v1/device", headers=a)).get_json()
    assert body["backend"] == "emulator"
    assert body["fallback"] is None
    assert body["connected"] is True
    assert body["queue"]["your_position"] is None
    assert "SI1 -> CH1" in body["wiring"]


async def test_a_device_fault_is_503_and_the_server_recovers(
    app: Quart, client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    instrument = app.extensions[EXTENSION].instrument
    emulator = instrument.owner.backend.emulator
    emulator.inject_fault("disconnect")
    failed = await run(client, a, "get_voltage('CH1')")
    assert failed.status_code == 503
    assert "serial port" in (await failed.get_json())["error"]
    # Everything else keeps working meanwhile.
    assert (await client.get("/v1/scripts", headers=a)).status_code == 200
    status = await (await client.get("/v1/device", headers=a)).get_json()
    assert status["faulted"] is True
    emulator.clear_fault()
    for _ in range(300):
        if instrument.owner.state == "connected":
            break
        await asyncio.sleep(0.01)
    assert (await run(client, a, "get_voltage('CH1')")).status_code == 200


async def test_a_result_carries_its_unit_and_a_capture_its_plot_labels(
    client: Client, signup: Signup
) -> None:
    a = await signup("a@example.org")
    capacitance = await (await run(client, a, "get_capacitance()")).get_json()
    assert capacitance["unit"] == "F"
    assert "plot" not in capacitance
    version = await (await run(client, a, "get_version()")).get_json()
    assert version["unit"] is None
    capture = await (await run(client, a, "capture2(20, 10)", stacking="xyy")).get_json()
    assert capture["unit"] == "V"
    assert capture["plot"] == {
        "x_label": "Time (µs)",
        "y_label": "Voltage (V)",
        "labels": ["CH1", "CH2"],
    }
    one = await (await run(client, a, "oscilloscope_capture('CH3', 20, 2)")).get_json()
    assert one["plot"]["labels"] == ["CH3"]


async def test_a_capacitor_too_large_to_measure_is_422_not_503(tmp_path: Path) -> None:
    """Through a real Hypercorn: a 470 µF capacitor on CAP, uncharged (beyond what a PSLab
    measures from rest), is a clear 422 naming the range, not a 503: the device stays
    connected. 220 µF still reads."""
    answers = {}
    for farads in ("220uF", "470uF"):
        bench = tmp_path / f"{farads}.toml"
        bench.write_text(f'wiring = ["CAP -> {farads} -> GND"]\n')
        app = create_app(make_settings(tmp_path / farads, emulator_bench=bench))
        async with served(app) as server:
            headers = {"Authorization": f"JWT {await new_user_token(app, 's@example.org')}"}
            async with httpx.AsyncClient(base_url=f"http://{server.address}") as http:
                answer = await http.post(
                    "/v1/functions/run",
                    headers=headers,
                    json={"function": "get_capacitance()"},
                    timeout=30,
                )
                answers[farads] = answer.status_code, answer.json()
                device = (await http.get("/v1/device", headers=headers)).json()
        assert device["state"] == "connected"
    status, body = answers["220uF"]
    assert status == 200 and body["result"] == pytest.approx(220e-6, rel=0.05)
    status, body = answers["470uF"]
    assert status == 422, body
    assert body["code"] == "out_of_range"
    assert "too large to measure" in body["error"]
    assert "about 300 µF" in body["error"]
    assert body["details"] == {"range_farads": [10e-12, 300e-6]}


async def test_every_example_uses_values_the_list_allows(client: Client) -> None:
    """GET /v1/functions: each example's string arguments are among the allowed values
    its parameter lists (``choices``, or an old name in ``aliases``)."""
    functions = (await (await client.get("/v1/functions")).get_json())["functions"]
    checked = 0
    for function in functions:
        call = ast.parse(function["example"], mode="eval").body
        assert isinstance(call, ast.Call)
        params = function["params"]
        given = list(zip(params, call.args, strict=False))
        given += [(next(p for p in params if p["name"] == k.arg), k.value) for k in call.keywords]
        for param, node in given:
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if param["choices"]:
                allowed = [*param["choices"], *(param["aliases"] or {})]
                assert node.value in allowed, (function["name"], param["name"], node.value)
                checked += 1
    assert checked > 20
