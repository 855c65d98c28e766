"""Every example in examples/ runs on the emulator's default bench and makes physical sense.

The two pslab-remote-style panels are checked against the exact widget JSON of
docs/reference/widgets.md, and their buttons are pressed the way the browser does
(POST /v1/functions/run).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from remotelab.storage.examples import read_examples
from tests.conftest import Signup, make_settings

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


async def run_example(client: Client, headers: dict[str, str], name: str) -> dict[str, Any]:
    code = (EXAMPLES / name).read_text()
    response = await client.post("/v1/run", headers=headers, json={"code": code})
    body: dict[str, Any] = await response.get_json()
    assert body["status"] == "ok", body["error"]
    return body


def number_after(text: str, prefix: str) -> float:
    match = re.search(re.escape(prefix) + r"\s*(-?[\d.]+)", text)
    assert match, f"{prefix!r} not in {text!r}"
    return float(match.group(1))


def button(name: str, label: str, endpoint: str, kind: str, target: str) -> dict[str, Any]:
    return {
        "type": "button",
        "name": name,
        "label": label,
        "fetched_value": "",
        "action": {
            "type": "POST",
            "endpoint": endpoint,
            "success": {"datapoint": "result", "type": kind, "target": target},
        },
    }


def empty_label(name: str) -> dict[str, Any]:
    return {"type": "label", "name": name, "class": "", "value": ""}


def test_every_example_has_a_header_and_there_are_enough() -> None:
    examples = read_examples(EXAMPLES)
    assert len(examples) >= 8
    assert {e.level for e in examples} <= {"beginner", "intermediate", "advanced"}


async def test_multimeter_panel_is_pslab_remotes_json(client: Client, signup: Signup) -> None:
    headers = await signup("s@example.org")
    body = await run_example(client, headers, "multimeter_panel.py")
    expected: list[dict[str, Any]] = [
        {"type": "span", "name": "print", "class": "row well", "value": "Multimeter"},
        {
            "type": "label",
            "name": "print1",
            "class": "text-muted",
            "value": "Press a button to read the instrument",
        },
    ]
    buttons = [
        ("Voltage : CH1", "get_voltage('CH1')"),
        ("Voltage : CH2", "get_voltage('CH2')"),
        ("Voltage : CH3", "get_voltage('CH3')"),
        ("Voltage : AN8", "get_voltage('AN8')"),
        ("Resistance on SEN", "get_resistance()"),
        ("Capacitance on CAP", "get_capacitance()"),
    ]
    for i, (label, endpoint) in enumerate(buttons):
        name = "button-id" + (str(i) if i else "")
        expected += [
            button(name, label, endpoint, "display_number", f"{name}-label"),
            empty_label(f"{name}-label"),
        ]
    assert body["widgets"] == expected
    # Press every button as the browser does: each answers a number for display_number.
    results = {}
    for widget in body["widgets"]:
        if widget["type"] == "button":
            response = await client.post(
                "/v1/functions/run",
                headers=headers,
                json={"function": widget["action"]["endpoint"]},
            )
            result = (await response.get_json())["result"]
            assert isinstance(result, float), widget
            results[widget["label"]] = result
    assert results["Resistance on SEN"] == pytest.approx(10_000, rel=0.05)
    assert results["Capacitance on CAP"] == pytest.approx(1e-9, rel=0.05)


async def test_capture_plot_panel_is_pslab_remotes_json(client: Client, signup: Signup) -> None:
    headers = await signup("s@example.org")
    body = await run_example(client, headers, "capture_plot_panel.py")
    x = np.linspace(0, 2 * np.pi, 100)
    plot, capture, label = body["widgets"]
    assert plot["type"] == "plot"
    assert plot["name"] == "myPlot"
    assert np.allclose(np.array(plot["data"][0]), np.column_stack([x, np.sin(x)]))
    assert capture == {
        "type": "button",
        "name": "button-id",
        "label": "Capture CH1 and CH2",
        "fetched_value": "",
        "action": {
            "type": "POST",
            "endpoint": "capture2(500, 2)",
            "success": {
                "datapoint": "result",
                "type": "update-plot",
                "target": "myPlot",
                "stacking": "xyy",
            },
        },
    }
    assert label == {
        "type": "label",
        "name": "print",
        "class": "",
        "value": "500 samples every 2 us",
    }
    # Press the button: two series (CH1 and CH2 against time), both sines of ~6.6 V p-p.
    response = await client.post(
        "/v1/functions/run",
        headers=headers,
        json={"function": capture["action"]["endpoint"], "stacking": "xyy"},
    )
    series = (await response.get_json())["series"]
    assert len(series) == 2
    for trace in series:
        volts = np.array(trace)[:, 1]
        assert len(volts) == 500
        assert np.ptp(volts) == pytest.approx(6.6, rel=0.1)


async def test_oscilloscope_trigger(client: Client, signup: Signup) -> None:
    body = await run_example(client, await signup("s@example.org"), "oscilloscope_trigger.py")
    assert abs(number_after(body["stdout"], "starts at")) < 0.1
    assert "rising: True" in body["stdout"]
    assert len(body["widgets"][0]["data"]) == 2  # triggered and free-running traces
    assert body["widgets"][0]["labels"] == ["CH1 triggered", "CH1 free"]
    assert body["widgets"][0]["x_label"] == "Time (µs)"


async def test_rc_time_constant(client: Client, signup: Signup) -> None:
    body = await run_example(client, await signup("s@example.org"), "rc_time_constant.py")
    tau = number_after(body["stdout"], "tau = R*C =")
    fitted = number_after(body["stdout"], "fitted tau =")
    assert tau == pytest.approx(10.0, rel=0.1)  # 10 kOhm x 1 nF
    assert fitted == pytest.approx(tau, rel=0.01)


async def test_iv_curve(client: Client, signup: Signup) -> None:
    body = await run_example(client, await signup("s@example.org"), "iv_curve.py")
    assert number_after(body["stdout"], "fitted resistance:") == pytest.approx(1000, rel=0.1)
    assert len(body["widgets"][0]["data"][0]) == 11


async def test_frequency_response(client: Client, signup: Signup) -> None:
    body = await run_example(client, await signup("s@example.org"), "frequency_response.py")
    amplitudes = [float(a) for a in body["stdout"].split(":")[1].split(",")]
    assert amplitudes[0] == pytest.approx(6.6, rel=0.05)  # flat at low frequencies
    assert amplitudes[-1] < amplitudes[0] / 4  # rolled off at 500 kHz
    assert all(a >= b - 0.05 for a, b in itertools.pairwise(amplitudes))


async def test_pwm_on_the_logic_analyzer(client: Client, signup: Signup) -> None:
    body = await run_example(client, await signup("s@example.org"), "pwm_logic_analyzer.py")
    rows = re.findall(
        r"set (\d+) Hz (\d+) % -> measured ([\d.]+) Hz, duty ([\d.]+) %", body["stdout"]
    )
    assert len(rows) == 3
    for freq, duty, measured, measured_duty in rows:
        assert float(measured) == pytest.approx(float(freq), rel=0.05)
        assert float(measured_duty) == pytest.approx(float(duty), rel=0.05)


async def test_fft_of_a_capture(client: Client, signup: Signup) -> None:
    body = await run_example(client, await signup("s@example.org"), "fft_of_a_capture.py")
    assert number_after(body["stdout"], "peak at") == pytest.approx(2000, rel=0.05)


async def test_the_app_publishes_every_example(tmp_path: Path) -> None:
    from remotelab.app import create_app

    app: Quart = create_app(make_settings(tmp_path, load_examples=True, examples_dir=EXAMPLES))
    async with app.test_app() as running:
        from remotelab.api.context import EXTENSION

        await running.app.extensions[EXTENSION].accounts.create_account(  # type: ignore[attr-defined]
            email="s@example.org", password="password123"
        )
        client = running.test_client()
        login = await client.post(
            "/v1/auth/login", json={"email": "s@example.org", "password": "password123"}
        )
        headers = {"Authorization": f"JWT {(await login.get_json())['access_token']}"}
        listing = await (await client.get("/v1/examples?limit=100", headers=headers)).get_json()
    files = {e.title for e in read_examples(EXAMPLES)}
    assert {e["title"] for e in listing["items"]} == files
    assert all(e["builtin"] for e in listing["items"])
