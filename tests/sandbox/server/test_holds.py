"""``with hold(seconds):`` in scripts: real zygote, real workers, the emulator's owner.

The hold is the server's: it is released when the block ends, and whatever ends the run
(killed for time, cancelled, an exception) — never left behind.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from remotelab.config import DeviceSettings, FunctionSettings, SandboxSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from remotelab.sandbox.result import RunResult
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.pool import SandboxPool

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = SandboxSettings(wall_seconds=1.5, cpu_seconds=5, memory_mb=256, live_interval_ms=50)
DEVICE = DeviceSettings(call_timeout=5.0, hold_max_seconds=3.0, hold_max_seconds_teacher=8.0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(LIMITS, function_names=("get_voltage", "set_pv1")) as sandbox:
        yield sandbox


@pytest_asyncio.fixture(loop_scope="module")
async def instrument() -> AsyncIterator[Instrument]:
    owner = DeviceOwner(EmulatorBackend(Emulator(seed=1)), DEVICE)
    await owner.start()
    yield Instrument(owner, default_registry(), FunctionSettings())
    await owner.close()


async def run(
    pool: SandboxPool,
    instrument: Instrument,
    code: str,
    *,
    user: str = "alice",
    teacher: bool = False,
    control: RunControl | None = None,
) -> RunResult:
    async def device_call(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return (await instrument.run_call(user, name, args, kwargs)).result

    async def hold_device(seconds: object) -> Callable[[], None]:
        hold = await instrument.hold(user, seconds, teacher=teacher)
        return functools.partial(instrument.owner.release, hold)

    return await pool.run(code, device_call=device_call, control=control, hold_device=hold_device)


async def until_held(instrument: Instrument, seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if instrument.owner.holder() is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the script never held the device")


async def test_a_hold_block_holds_then_releases(pool: SandboxPool, instrument: Instrument) -> None:
    code = "with hold(2):\n    set_pv1(2.0)\n    v = get_voltage('CH1')\nprint('done')\n"
    result = await run(pool, instrument, code)
    assert result.status == "ok", result.error
    assert instrument.owner.holder() is None


async def test_others_wait_while_a_script_holds(pool: SandboxPool, instrument: Instrument) -> None:
    code = (
        "import time\nwith hold(2):\n    set_pv1(2.0)\n    time.sleep(0.4)\n"
        "    get_voltage('CH1')\n"
    )
    task = asyncio.create_task(run(pool, instrument, code))
    await until_held(instrument)
    await asyncio.sleep(0.05)
    bob = asyncio.create_task(instrument.run("bob", "get_voltage('CH1')"))
    await asyncio.sleep(0.15)
    assert not bob.done()  # waits, not refused
    status = instrument.owner.status("bob")["hold"]
    assert status is not None and status["by"] == "another user"
    result = await task
    assert result.status == "ok", result.error
    await asyncio.wait_for(bob, 2)


async def test_asking_for_more_than_the_limit_is_a_value_error_on_its_line(
    pool: SandboxPool, instrument: Instrument
) -> None:
    code = "x = 1\nwith hold(5):\n    pass\n"
    result = await run(pool, instrument, code)
    assert result.status == "error"
    assert result.error is not None
    assert result.error.type == "ValueError"
    assert "REMOTELAB_DEVICE_HOLD_MAX_SECONDS" in result.error.message
    assert result.error.line == 2
    # a teacher's limit is longer
    assert (await run(pool, instrument, code, user="t", teacher=True)).status == "ok"
    result = await run(pool, instrument, "with hold(9):\n    pass\n", user="t", teacher=True)
    assert result.error is not None
    assert "REMOTELAB_DEVICE_HOLD_MAX_SECONDS_TEACHER" in result.error.message
    assert instrument.owner.holder() is None


async def test_an_exception_inside_a_hold_releases_it(
    pool: SandboxPool, instrument: Instrument
) -> None:
    result = await run(pool, instrument, "with hold(2):\n    get_voltage('CH1')\n    1 / 0\n")
    assert result.status == "error"
    assert result.error is not None and result.error.type == "ZeroDivisionError"
    assert instrument.owner.holder() is None


async def test_a_script_killed_for_time_inside_a_hold_releases_it(
    pool: SandboxPool, instrument: Instrument
) -> None:
    code = "with hold(3):\n    get_voltage('CH1')\n    while True:\n        pass\n"
    task = asyncio.create_task(run(pool, instrument, code))
    await until_held(instrument)
    result = await task
    assert result.status == "timeout"
    assert instrument.owner.holder() is None
    await asyncio.wait_for(instrument.run("bob", "get_voltage('CH1')"), 1)


async def test_a_run_cancelled_inside_a_hold_releases_it(
    pool: SandboxPool, instrument: Instrument
) -> None:
    control = RunControl("alice")
    code = "import time\nwith hold(3):\n    time.sleep(1.2)\n"
    task = asyncio.create_task(run(pool, instrument, code, control=control))
    await until_held(instrument)
    control.cancel()
    result = await task
    assert result.status == "cancelled"
    assert instrument.owner.holder() is None


async def test_a_second_script_waits_for_the_first_ones_hold(
    pool: SandboxPool, instrument: Instrument
) -> None:
    first = "import time\nwith hold(2):\n    time.sleep(0.3)\n"
    second = "with hold(2):\n    print(get_voltage('CH1'))\n"
    one = asyncio.create_task(run(pool, instrument, first))
    await until_held(instrument)
    two = asyncio.create_task(run(pool, instrument, second, user="bob"))
    results = await asyncio.gather(one, two)
    assert [r.status for r in results] == ["ok", "ok"]
    assert results[1].stats.wall_ms > 100  # it waited for its turn
    assert instrument.owner.holder() is None


async def test_a_hold_nobody_gets_in_time_ends_with_the_run(
    pool: SandboxPool, instrument: Instrument
) -> None:
    owner = instrument.owner
    theirs = await owner.hold("carol", 3.0)
    try:
        result = await run(pool, instrument, "with hold(1):\n    pass\n")
        assert result.status == "timeout"  # waited its turn within its wall clock
        assert owner.holder() == "carol"
    finally:
        owner.release(theirs)
    assert owner.hold_status("bob") is None  # no turn is left waiting behind


async def test_hold_checks_its_argument_in_the_script(
    pool: SandboxPool, instrument: Instrument
) -> None:
    result = await run(pool, instrument, "hold('long')\n")
    assert result.error is not None and result.error.type == "TypeError"
    result = await run(pool, instrument, "hold(-1)\n")
    assert result.error is not None and result.error.type == "ValueError"


async def test_holds_do_not_nest_and_one_may_follow_an_expired_one(
    pool: SandboxPool, instrument: Instrument
) -> None:
    nested = "with hold(1):\n    with hold(1):\n        pass\n"
    result = await run(pool, instrument, nested)
    assert result.error is not None and result.error.type == "ValueError"
    assert "do not nest" in result.error.message and result.error.line == 2
    again = (
        "import time\nwith hold(0.1):\n    time.sleep(0.3)\n"
        "with hold(1):\n    print(get_voltage('CH1'))\n"
    )
    result = await run(pool, instrument, again)
    assert result.status == "ok", result.error
    assert instrument.owner.holder() is None
