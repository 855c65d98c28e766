"""RunResult: the wire shape of a run's answer."""

from __future__ import annotations

from remotelab.sandbox.result import RunError, RunResult, RunStats


def test_result_wire_shape() -> None:
    result = RunResult(
        "error",
        [],
        "x\n",
        RunError("ValueError", "bad", 3),
        RunStats(wall_ms=1.5, cpu_ms=2.0, device_calls=1, max_rss_kb=100),
    )
    assert result.to_dict() == {
        "status": "error",
        "widgets": [],
        "stdout": "x\n",
        "error": {"type": "ValueError", "message": "bad", "line": 3},
        "stats": {"wall_ms": 1.5, "cpu_ms": 2.0, "device_calls": 1, "max_rss_kb": 100},
    }
    assert RunResult("ok").to_dict()["error"] is None
