"""The zygote's compiled-script cache, through a real pool: hits equal misses, users share
compiled code and nothing else, the bound holds."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from remotelab.config import SandboxSettings
from remotelab.sandbox.result import RunResult
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.pool import SandboxPool

pytestmark = pytest.mark.asyncio

# No spare: each run's worker is forked when it starts, after the previous run's offer.
NO_SPARE = SandboxSettings(wall_seconds=5, spare_workers=0)


def user(value: float) -> Any:
    """A device_call for one user: their instrument reads ``value``."""

    async def device_call(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return value

    return device_call


async def run(pool: SandboxPool, code: str, **kwargs: Any) -> tuple[RunResult, dict[str, int]]:
    """Run ``code``; the result and what the run did to the cache (its worker reaped)."""
    before = pool.code_cache
    result = await pool.run(code, **kwargs)
    await pool.settle()
    after = pool.code_cache
    return result, {k: after[k] - before.get(k, 0) for k in ("hits", "misses")}


def same(a: RunResult, b: RunResult) -> bool:
    return (a.status, a.widgets, a.stdout, a.error) == (b.status, b.widgets, b.stdout, b.error)


@pytest.mark.parametrize(
    "code",
    [
        "x = [1, 2]\nprint(len(x))\nprint(x[5])\n",
        "def f(v):\n    return 1 / v\n\nf(0)\n",
        "x = 1\nif x:\n    y = x.__dict__\n",
        "print(1)\nx = (\n",
    ],
)
async def test_a_hit_gives_the_same_result_and_error_line_as_a_miss(code: str) -> None:
    async with SandboxPool(NO_SPARE, function_names=()) as pool:
        miss, first = await run(pool, code)
        hit, second = await run(pool, code)
    assert first == {"hits": 0, "misses": 1}
    assert second == {"hits": 1, "misses": 0}
    assert same(hit, miss)
    assert hit.error is not None and hit.error.line is not None


async def test_users_share_compiled_code_and_nothing_else() -> None:
    code = (
        "try:\n"
        "    print('left by an earlier run:', secret)\n"
        "except NameError:\n"
        "    pass\n"
        "def remember(v, seen=[]):\n"
        "    seen.append(v)\n"
        "    return len(seen)\n"
        "secret = get_voltage('CH1')\n"
        "print(secret, remember(secret))\n"
    )
    async with SandboxPool(NO_SPARE, function_names=("get_voltage",)) as pool:
        a, by_a = await run(pool, code, device_call=user(1.25), control=RunControl("a"))
        b, by_b = await run(pool, code, device_call=user(2.5), control=RunControl("b"))
        again, by_a_again = await run(pool, code, device_call=user(1.25), control=RunControl("a"))
    assert by_a == {"hits": 0, "misses": 1}
    assert by_b == by_a_again == {"hits": 1, "misses": 0}  # b runs what a's run compiled
    assert a.stdout == "1.25 1\n"
    assert b.stdout == "2.5 1\n"  # b's own instrument; nothing of a's run
    assert again.stdout == "1.25 1\n"


async def test_the_cache_stays_within_its_bound() -> None:
    limits = SandboxSettings(wall_seconds=5, spare_workers=0, code_cache_bytes=1500)
    async with SandboxPool(limits, function_names=()) as pool:
        for i in range(8):
            result, _ = await run(pool, f"values = [{i}] * 3\nprint(sum(values), 'run {i}')\n")
            assert result.stdout == f"{3 * i} run {i}\n"
            info = pool.code_cache
            assert info["bytes"] <= info["max_bytes"] == 1500
        assert info["misses"] == 8 and 0 < info["entries"] < 8
        # The oldest went first; the newest is still there.
        _, newest = await run(pool, "values = [7] * 3\nprint(sum(values), 'run 7')\n")
        _, oldest = await run(pool, "values = [0] * 3\nprint(sum(values), 'run 0')\n")
    assert newest == {"hits": 1, "misses": 0}
    assert oldest == {"hits": 0, "misses": 1}


async def test_no_cache_when_its_bound_is_zero() -> None:
    limits = SandboxSettings(wall_seconds=5, spare_workers=0, code_cache_bytes=0)
    async with SandboxPool(limits, function_names=()) as pool:
        for _ in range(3):
            result, _ = await run(pool, "print(1)")
            assert result.stdout == "1\n"
        assert pool.code_cache["entries"] == 0 and pool.code_cache["hits"] == 0


async def test_a_spare_has_the_scripts_compiled_before_it_was_forked() -> None:
    # A spare is forked when the previous run starts: the second run of a source still
    # compiles it, the third finds it.
    async with SandboxPool(
        SandboxSettings(wall_seconds=5, spare_workers=1), function_names=()
    ) as pool:
        changes = [(await run(pool, "print('same')"))[1] for _ in range(3)]
    assert changes == [
        {"hits": 0, "misses": 1},
        {"hits": 0, "misses": 1},
        {"hits": 1, "misses": 0},
    ]


async def test_the_offer_pipe_is_closed_before_the_script_runs() -> None:
    async with SandboxPool(NO_SPARE, function_names=()) as pool:
        control = RunControl("u")
        task = asyncio.create_task(pool.run("print(1)\nwhile True:\n    pass\n", control=control))
        for _ in range(500):
            if control.worker_pid:
                break
            await asyncio.sleep(0.01)
        assert control.worker_pid is not None
        await asyncio.sleep(0.05)
        fds = {int(fd) for fd in os.listdir(f"/proc/{control.worker_pid}/fd")}
        control.cancel()
        assert (await task).status == "cancelled"
    assert fds == {0, 1, 2, 3}  # stdio on /dev/null and the run socket: no pipe to the zygote
