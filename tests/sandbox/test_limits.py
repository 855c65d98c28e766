"""SandboxLimits and RunResult: the settings and the wire shape."""

from __future__ import annotations

import pytest

from remotelab.sandbox.limits import MIB, SandboxLimits
from remotelab.sandbox.result import RunError, RunResult, RunStats


def test_defaults() -> None:
    limits = SandboxLimits()
    assert (limits.wall_seconds, limits.cpu_seconds, limits.memory_bytes) == (10.0, 10, 512 * MIB)
    assert (limits.stdout_bytes, limits.max_widgets, limits.max_plot_points) == (
        65536,
        200,
        100_000,
    )
    assert (limits.max_device_calls, limits.max_source_bytes) == (1000, 65536)


@pytest.mark.parametrize("field", ["wall_seconds", "memory_bytes", "max_widgets"])
@pytest.mark.parametrize("value", [0, -1, True, "1"])
def test_limits_must_be_positive_numbers(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SandboxLimits(**{field: value})  # type: ignore[arg-type]


def test_limits_round_trip() -> None:
    limits = SandboxLimits(wall_seconds=2.5, max_widgets=3)
    assert SandboxLimits.from_dict(limits.to_dict()) == limits


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
