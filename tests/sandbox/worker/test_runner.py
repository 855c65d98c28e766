"""Running a script in-process: output caps, widgets, compatibility with pslab-remote scripts."""

from __future__ import annotations

import json

import pytest

from remotelab.config import SandboxSettings
from remotelab.sandbox.protocol import NO_DEVICE_MESSAGE, TRUNCATION_MARKER, Job
from remotelab.sandbox.worker.runner import Output, encode_result, execute
from tests.sandbox.helpers import error_of, run_local, stdout_of


def test_output_keeps_text_under_the_cap() -> None:
    output = Output(10)
    output.write("abc")
    output.write("def")
    assert output.text() == "abcdef"
    assert not output.truncated


def test_output_cuts_at_the_byte_cap_and_marks_it() -> None:
    output = Output(5)
    output.write("abcdefgh")
    output.write("more")
    assert output.text() == "abcde" + TRUNCATION_MARKER.format(limit=5)
    assert output.truncated


def test_output_never_splits_a_character() -> None:
    output = Output(3)
    output.write("éé")  # 4 bytes
    assert output.text().startswith("é\n[output truncated")


def test_print_flood_is_truncated_and_stops_at_the_widget_cap() -> None:
    result = run_local("while True:\n  print('x' * 1000)", stdout_bytes=5000, max_widgets=20)
    assert result["status"] == "error"
    assert result["error"] == {
        "type": "LimitExceeded",
        "message": "too many widgets: a run may create at most 20 "
        "(consecutive print() calls share one, up to 10000 characters)",
        "line": 2,
    }
    assert len(result["widgets"]) == 20
    assert result["stdout"].endswith(TRUNCATION_MARKER.format(limit=5000))


def test_widget_limit_is_not_caught_by_except_exception() -> None:
    code = "for i in range(50):\n  try:\n    label(i)\n  except Exception:\n    pass"
    assert error_of(code, max_widgets=10)[0] == "LimitExceeded"


def test_bad_widget_argument_is_a_value_error() -> None:
    assert error_of("button('b', 'f()', 'nope')") == (
        "ValueError",
        "button: display_type must be one of display_number, display, update-plot, not 'nope'",
        1,
    )


def test_instrument_functions_without_a_device_raise() -> None:
    result = execute(
        Job("get_voltage('CH1')", SandboxSettings(), ("get_voltage",)), None, device=False
    )
    assert result["error"] == {"type": "RuntimeError", "message": NO_DEVICE_MESSAGE, "line": 1}


def test_memory_error_gets_a_message() -> None:
    assert error_of("x = 'a' * (10 ** 12)") == (
        "MemoryError",
        "the script ran out of memory (the limit is 512 MiB)",
        1,
    )


def test_job_round_trips_through_its_message() -> None:
    job = Job("print(1)", SandboxSettings(wall_seconds=2.5), ("get_voltage",))
    message = job.to_message(device=True, validate=False)
    assert Job.from_message(json.loads(json.dumps(message))) == job


def test_result_over_the_cap_becomes_a_limit_error() -> None:
    result = run_local("import numpy as np\nx = np.arange(10000.0)\nplot(x, x)")
    assert result["status"] == "ok"
    body = json.loads(encode_result(result, 50_000))
    assert body["status"] == "error"
    assert body["widgets"] == []
    assert body["error"]["type"] == "LimitExceeded"
    assert body["error"]["message"] == "the run's output is over the limit of 50000 bytes"


def test_result_encoding_round_trips() -> None:
    result = run_local("print('é')\nplot([1, 2], [3, None])\nlabel('x')")
    assert json.loads(encode_result(result, 10_000)) == result


# --- compatibility with pslab-remote scripts ------------------------------------------


def test_pslab_remote_buttons_in_a_loop() -> None:
    code = (
        "for a in ['CH1', 'CH2']:\n"
        "\tbutton('Voltage : %s' % a, \"get_voltage('%s')\" % a, \"display_number\")\n"
    )
    result = run_local(code)
    assert result["status"] == "ok", result["error"]
    assert [w["type"] for w in result["widgets"]] == ["button", "label", "button", "label"]
    first = result["widgets"][0]
    assert first["label"] == "Voltage : CH1"
    assert first["action"]["endpoint"] == "get_voltage('CH1')"
    assert first["action"]["success"]["target"] == "button-id-label"
    assert result["widgets"][2]["name"] == "button-id1"


def test_pslab_remote_plot_with_an_update_button() -> None:
    code = (
        "import numpy as np\n"
        "x = np.linspace(0, 2 * np.pi, 50)\n"
        "plt = plot(x, np.sin(x))\n"
        "button('Capture', \"capture2(1000, 10)\", \"update-plot\", target=plt, stacking='xyy')\n"
    )
    result = run_local(code)
    assert result["status"] == "ok", result["error"]
    plot, button = result["widgets"]
    assert plot["type"] == "plot" and plot["name"] == "myPlot"
    assert len(plot["data"][0]) == 50
    assert button["action"]["success"] == {
        "datapoint": "result",
        "type": "update-plot",
        "target": "myPlot",
        "stacking": "xyy",
    }


def test_a_script_labels_its_plot() -> None:
    code = "plot([0, 1], [2, 3], [4, 5], labels=['CH1', 'CH2'], x_label='Time (µs)', y_label='V')"
    result = run_local(code)
    assert result["status"] == "ok", result["error"]
    (plot,) = result["widgets"]
    assert (plot["x_label"], plot["y_label"], plot["labels"]) == ("Time (µs)", "V", ["CH1", "CH2"])
    bad = run_local("plot([0, 1], [2, 3], labels=['a', 'b'])")
    assert bad["error"]["message"] == "plot: 2 labels for 1 series; give one label per y"
    assert bad["error"]["line"] == 1


def test_print_underscore_and_label() -> None:
    result = run_local("print_('hello')\nlabel('V', html_class='big')")
    assert result["widgets"] == [
        {"type": "span", "name": "print", "class": "row well", "value": "hello"},
        {"type": "label", "name": "print1", "class": "big", "value": "V"},
    ]


def test_widget_functions_return_names_for_targets() -> None:
    assert stdout_of("a = plot([1, 2], [3, 4])\nb = plot([1], [2])\nprint(a, b)") == (
        "myPlot myPlot1\n"
    )


@pytest.mark.parametrize(
    "code",
    [
        "import math\nprint(math.sqrt(16))",
        "import statistics\nprint(statistics.mean([1, 2, 3]))",
        "import random\nrandom.seed(1)\nprint(0 <= random.random() < 1)",
        "import time\nt = time.time()\ntime.sleep(0)\nprint(time.time() >= t)",
        "import cmath\nprint(cmath.sqrt(-1))",
    ],
)
def test_standard_modules(code: str) -> None:
    assert run_local(code)["status"] == "ok"
