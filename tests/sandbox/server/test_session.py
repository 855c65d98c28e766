"""The server's checks on what a worker sends back (a worker is untrusted)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from remotelab.sandbox.protocol import ProtocolError
from remotelab.sandbox.result import RunError
from remotelab.sandbox.server.session import check_outcome, death_error, worker_usage
from remotelab.sandbox.server.supervisor import ExitInfo
from tests.sandbox.helpers import job_for

JOB = job_for("", max_widgets=3, stdout_bytes=100, cpu_seconds=2)
BUTTON = {
    "type": "button",
    "name": "b",
    "label": "V",
    "fetched_value": "",
    "action": {"type": "POST", "endpoint": "get_voltage('CH1')", "success": {}},
}


def no_errors(function_string: str) -> str | None:
    return None


def only_get_voltage(function_string: str) -> str | None:
    return None if function_string.startswith("get_voltage(") else "unknown function"


def outcome(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "result",
        "status": "ok",
        "widgets": [{"type": "text", "name": "print", "value": ["1"]}],
        "stdout": "1\n",
        "error": None,
    }
    message.update(changes)
    return message


def test_an_honest_result_passes() -> None:
    status, widgets, stdout, error = check_outcome(outcome(), JOB, no_errors)
    assert (status, stdout, error) == ("ok", "1\n", None)
    assert widgets == [{"type": "text", "name": "print", "value": ["1"]}]


def test_an_error_result_passes() -> None:
    error = {"type": "ValueError", "message": "x", "line": 3}
    assert check_outcome(outcome(status="error", error=error), JOB, no_errors)[3] == RunError(
        "ValueError", "x", 3
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "timeout"},
        {"status": ["ok"]},
        {"widgets": [{"type": "text"}] * 4},
        {"widgets": "nope"},
        {"widgets": [["text"]]},
        {"widgets": [{"name": "no type"}]},
        {"stdout": "x" * 10_000},
        {"stdout": None},
        {"status": "error", "error": {"type": "E", "message": "m", "line": True}},
        {"status": "error", "error": {"type": "E", "message": 1, "line": None}},
        {"status": "error", "error": None},
        {"status": "ok", "error": {"type": "E", "message": "m", "line": None}},
        {"widgets": [dict(BUTTON, action={"endpoint": "rm_rf()"})]},
        {"widgets": [dict(BUTTON, action={"endpoint": 42})]},
    ],
)
def test_a_dishonest_result_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises((ProtocolError, KeyError, TypeError)):
        check_outcome(outcome(**changes), JOB, only_get_voltage)


def test_buttons_are_validated_again() -> None:
    assert check_outcome(outcome(widgets=[BUTTON]), JOB, only_get_voltage)[1] == [BUTTON]


def test_long_error_fields_are_cut() -> None:
    error = {"type": "E" * 1000, "message": "m" * 100_000, "line": None}
    checked = check_outcome(outcome(status="error", error=error), JOB, no_errors)[3]
    assert checked is not None
    assert len(checked.type) == 200 and len(checked.message) < 4000


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (ExitInfo(None, signal.SIGXCPU, 2001.0, 1), "the script used more than 2 s of CPU time"),
        (ExitInfo(None, signal.SIGKILL, 2999.0, 1), "the script used more than 2 s of CPU time"),
        (ExitInfo(None, signal.SIGKILL, 10.0, 1), "the worker was killed (out of memory?)"),
        (ExitInfo(None, signal.SIGSEGV, 10.0, 1), "the worker crashed (SIGSEGV)"),
        (ExitInfo(70, None, 10.0, 1), "the worker stopped unexpectedly (exit code 70)"),
        (None, "the sandbox stopped during the run"),
    ],
)
def test_why_a_worker_died(info: ExitInfo | None, message: str) -> None:
    assert death_error(info, JOB.limits) == RunError("Killed", message)


def test_a_results_usage_lets_the_server_answer_before_the_exit() -> None:
    usage = {"cpu_ms": 2.5, "max_rss_kb": 30_000}
    assert worker_usage(outcome(usage=usage)) == (2.5, 30_000)
    assert worker_usage(outcome(usage={"cpu_ms": 3, "max_rss_kb": 1})) == (3.0, 1)


@pytest.mark.parametrize(
    "message",
    [
        None,
        outcome(),  # no usage (the pre-encoded out-of-memory result)
        outcome(usage=None),
        outcome(usage=[1, 2]),
        outcome(usage={"cpu_ms": -1, "max_rss_kb": 1}),
        outcome(usage={"cpu_ms": float("nan"), "max_rss_kb": 1}),
        outcome(usage={"cpu_ms": True, "max_rss_kb": 1}),
        outcome(usage={"cpu_ms": 1, "max_rss_kb": 1.5}),
        outcome(usage={"cpu_ms": 1, "max_rss_kb": 1 << 50}),
        outcome(usage={"cpu_ms": "1", "max_rss_kb": 1}),
        {"type": "fatal", "message": "x", "usage": {"cpu_ms": 1, "max_rss_kb": 1}},
    ],
)
def test_without_plausible_usage_the_server_waits_for_the_exit(
    message: dict[str, Any] | None,
) -> None:
    assert worker_usage(message) is None
