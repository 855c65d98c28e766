"""Live output, partial results of killed runs, and cancel: real zygote, real workers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from remotelab.config import SandboxSettings
from remotelab.sandbox.result import RunResult
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.pool import SandboxPool
from remotelab.widgets import merge_output

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = SandboxSettings(wall_seconds=1.5, cpu_seconds=5, memory_mb=256, live_interval_ms=50)


async def hang(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if name == "hang":
        await asyncio.sleep(3600)
    return 1.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(LIMITS, function_names=("hang", "get_voltage")) as sandbox:
        yield sandbox


class Watch:
    """A run's control that records every live batch and when it came."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[dict[str, Any]], str, int | None]] = []
        self.first: float | None = None
        self.control = RunControl("user-1", self.on_output)
        self.got_output = asyncio.Event()

    def on_output(self, widgets: list[dict[str, Any]], text: str, line: int | None) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.batches.append((widgets, text, line))
        self.got_output.set()

    def widgets(self) -> list[dict[str, Any]]:
        """The widgets as a live client applies the batches (a grown print replaces itself)."""
        shown: list[dict[str, Any]] = []
        for batch in self.batches:
            merge_output(shown, batch[0])
        return shown

    def stdout(self) -> str:
        return "".join(batch[1] for batch in self.batches)


async def run(pool: SandboxPool, code: str, watch: Watch | None = None) -> RunResult:
    control = None if watch is None else watch.control
    return await pool.run(code, device_call=hang, control=control)


async def test_live_batches_are_in_order_and_equal_the_result(pool: SandboxPool) -> None:
    watch = Watch()
    code = "for i in range(30):\n    print(i)\nlabel('end')\nplot([1, 2], [3, 4])\n"
    result = await run(pool, code, watch)
    assert result.status == "ok"
    assert watch.stdout() == result.stdout == "".join(f"{i}\n" for i in range(30))
    assert watch.widgets() == result.widgets
    assert [w["type"] for w in watch.widgets()][-2:] == ["label", "plot"]


async def test_a_tight_print_loop_is_batched(pool: SandboxPool) -> None:
    watch = Watch()
    code = (
        "import time\nfor i in range(190):\n    t = time.monotonic()\n"
        "    while time.monotonic() - t < 0.0025:\n        pass\n    print(i)\n"
    )
    result = await run(pool, code, watch)
    assert result.status == "ok", result.error
    assert len(result.widgets) == 1  # consecutive prints share one widget
    assert watch.stdout() == result.stdout
    assert watch.widgets() == result.widgets
    # At most one batch per 50 ms of the run, plus the first at once and the tail: never one
    # per print (190 prints over about 0.5 s; longer on a loaded machine).
    assert len(watch.batches) <= result.stats.wall_ms / 50 + 3, len(watch.batches)
    assert len(watch.batches) < 100


async def test_first_output_arrives_at_once(pool: SandboxPool) -> None:
    await run(pool, "1")  # warm
    watch = Watch()
    started = time.perf_counter()
    task = asyncio.create_task(run(pool, "print('hi')\nwhile True:\n    pass\n", watch))
    await asyncio.wait_for(watch.got_output.wait(), 2)
    assert watch.first is not None
    assert watch.first - started < 0.2
    watch.control.cancel()
    result = await task
    assert result.status == "cancelled"


async def test_timeout_keeps_output_and_names_the_line(pool: SandboxPool) -> None:
    result = await run(pool, "print('before')\nlabel('made')\nx = 0\nwhile True:\n    x += 1\n")
    assert result.status == "timeout"
    assert result.stdout == "before\n"
    assert [w["type"] for w in result.widgets] == ["text", "label"]
    assert result.error is not None and result.error.line in (4, 5)


async def test_timeout_of_a_sleeping_script_names_the_sleep(pool: SandboxPool) -> None:
    code = "import time\nprint('a')\nwhile True:\n    time.sleep(0.05)\n"
    result = await run(pool, code)
    # The last sleep may be refused (LimitExceeded: longer than the time left) or killed.
    assert result.status in ("timeout", "error")
    assert result.stdout == "a\n"
    assert result.error is not None and result.error.line in (3, 4)


async def test_timeout_inside_an_instrument_call_names_the_call(pool: SandboxPool) -> None:
    result = await run(pool, "print('a')\n\nhang()\n")
    assert result.status == "timeout"
    assert result.stdout == "a\n"
    assert result.error is not None and result.error.line == 3


async def test_output_printed_just_before_the_timeout_is_kept(pool: SandboxPool) -> None:
    # Printed in a loop until the kill: the sample before the kill sends the pending tail.
    code = "i = 0\nwhile True:\n    i += 1\n    if i % 100000 == 0:\n        print(i)\n"
    result = await run(pool, code)
    assert result.status == "timeout"
    assert result.stdout.startswith("100000\n200000\n")
    assert result.error is not None and result.error.line in (2, 3, 4, 5)


async def test_a_memory_bomb_keeps_its_output_and_line(pool: SandboxPool) -> None:
    code = "print('start')\nx = []\nwhile True:\n    x.append('a' * 1000000)\n"
    result = await run(pool, code)
    assert result.status == "error"
    assert result.error is not None and result.error.type == "MemoryError"
    assert result.stdout == "start\n"
    assert result.error.line == 4


async def test_a_worker_killed_from_outside_keeps_its_output_and_line(pool: SandboxPool) -> None:
    # What the kernel's OOM killer does: SIGKILL, no result from the worker.
    watch = Watch()
    code = "print('start')\nlabel('x')\nwhile True:\n    pass\n"
    task = asyncio.create_task(run(pool, code, watch))
    await asyncio.wait_for(watch.got_output.wait(), 2)
    await asyncio.sleep(0.15)  # a timer sample names the loop's line
    assert watch.control.worker_pid is not None
    os.kill(watch.control.worker_pid, signal.SIGKILL)
    result = await task
    assert result.status == "killed"
    assert result.stdout == "start\n"
    assert len(result.widgets) == 2
    assert result.error is not None and result.error.line in (3, 4)


async def test_cpu_limit_kill_keeps_output() -> None:
    limits = SandboxSettings(wall_seconds=10, cpu_seconds=1, live_interval_ms=50)
    async with SandboxPool(limits, function_names=()) as pool:
        result = await pool.run("print('a')\nwhile True:\n    pass\n")
    assert result.status == "killed"
    assert result.stdout == "a\n"
    assert result.error is not None and result.error.line in (2, 3)


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("print('a')\nwhile True:\n    pass\n", (2, 3)),
        ("import time\nprint('a')\ntime.sleep(1.2)\n", (3,)),
        ("print('a')\nhang()\n", (2,)),
    ],
    ids=["busy-loop", "sleeping", "instrument-call"],
)
async def test_cancel_kills_at_once_and_keeps_output(
    pool: SandboxPool, code: str, line: tuple[int, ...]
) -> None:
    watch = Watch()
    task = asyncio.create_task(run(pool, code, watch))
    await asyncio.wait_for(watch.got_output.wait(), 2)
    await asyncio.sleep(0.12)
    pid = watch.control.worker_pid
    assert pool.find(watch.control.id) is watch.control
    asked = time.perf_counter()
    watch.control.cancel()
    result = await task
    elapsed = time.perf_counter() - asked
    assert result.status == "cancelled"
    assert result.stdout == "a\n"
    assert result.error is not None and result.error.type == "Cancelled"
    assert result.error.line in line
    assert elapsed < 0.1, elapsed
    assert pid is not None and not os.path.exists(f"/proc/{pid}")
    assert pool.find(watch.control.id) is None


async def test_cancel_of_a_waiting_run() -> None:
    limits = SandboxSettings(wall_seconds=5, max_concurrent=1)
    async with SandboxPool(limits, function_names=()) as pool:
        first = asyncio.create_task(pool.run("while True:\n    pass\n"))
        await asyncio.sleep(0.2)
        control = RunControl("u")
        second = asyncio.create_task(pool.run("print(1)", control=control))
        await asyncio.sleep(0.05)
        control.cancel()
        result = await second
        assert result.status == "cancelled"
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
