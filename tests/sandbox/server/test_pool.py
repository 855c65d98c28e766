"""SandboxPool end to end: real zygote, real workers, real isolation."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from remotelab.config import SandboxSettings
from remotelab.errors import DeviceBusy, FunctionStringError, ScriptTooLarge
from remotelab.sandbox.protocol import NO_DEVICE_MESSAGE
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.errors import SandboxBusy
from remotelab.sandbox.server.pool import SandboxPool
from remotelab.sandbox.server.supervisor import ZYGOTE_ENV
from tests.sandbox.helpers import full_root

pytestmark = pytest.mark.asyncio(loop_scope="module")

FUNCTIONS = ("get_voltage", "capture1", "hang")
# CPU tests compare CPU time with wall time; other processes on a shared
# machine slow a worker down, so the wall limit is far above the CPU limit.
LIMITS = SandboxSettings(wall_seconds=10, cpu_seconds=1, max_device_calls=5)


class Instrument:
    """A device_call handler that records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []
        self.cancelled = 0

    async def __call__(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.calls.append((name, args, kwargs))
        if name == "get_voltage":
            if args == ["BAD"]:
                raise FunctionStringError("get_voltage: channel must be one of CH1, CH2")
            if args == ["BUSY"]:
                raise DeviceBusy("the instrument queue is full")
            if args == ["BOOM"]:
                raise RuntimeError("secret server detail")
            return 1.25
        if name == "capture1":
            return [[0.0, 1.0, 2.0], [0.5, 0.25, 0.125]]
        try:
            await asyncio.sleep(3600)  # "hang": a device call that never returns
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return None


def validate(function_string: str) -> None:
    if not function_string.startswith(("get_voltage(", "capture1(")):
        raise FunctionStringError(f"unknown function in {function_string!r}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(LIMITS, function_names=FUNCTIONS) as sandbox:
        yield sandbox


def worker_pids(zygote_pid: int) -> set[int]:
    children: set[int] = set()
    for task in Path(f"/proc/{zygote_pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children.update(int(pid) for pid in text)
    return children


async def test_a_run_returns_the_wire_shape(pool: SandboxPool) -> None:
    result = (await pool.run("print(1)")).to_dict()
    stats = result.pop("stats")
    assert result == {
        "status": "ok",
        "widgets": [{"type": "text", "name": "print", "value": ["1"]}],
        "stdout": "1\n",
        "error": None,
    }
    assert set(stats) == {"wall_ms", "cpu_ms", "device_calls", "max_rss_kb"}
    assert stats["wall_ms"] > 0 and stats["cpu_ms"] > 0 and stats["max_rss_kb"] > 1000


async def test_a_run_takes_milliseconds(pool: SandboxPool) -> None:
    times = []
    for _ in range(20):
        start = time.perf_counter()
        result = await pool.run("print(1)")
        times.append(time.perf_counter() - start)
        assert result.status == "ok"
    assert statistics.median(times) < 0.1  # about 5 ms here; generous for a loaded CI


async def test_a_pslab_remote_script_runs_unchanged(pool: SandboxPool) -> None:
    code = (
        "import numpy as np\n"
        "x = np.linspace(0, 2 * np.pi, 100)\n"
        "plt = plot(x, np.sin(x))\n"
        "for a in ['CH1', 'CH2']:\n"
        "\tbutton('Voltage : %s' % a, \"get_voltage('%s')\" % a, \"display_number\")\n"
        "button('Capture', \"capture1('CH1', 100, 10)\", 'update-plot',\n"
        "       target=plt, stacking='xyy')\n"
        "print_('Mean: %.3f' % np.mean(np.sin(x)))\n"
        "print('V =', get_voltage('CH1'))\n"
    )
    result = await pool.run(code, device_call=Instrument(), validate_function=validate)
    assert result.status == "ok", result.error
    assert [w["type"] for w in result.widgets] == [
        "plot",
        "button",
        "label",
        "button",
        "label",
        "button",
        "span",
        "text",
    ]
    assert result.widgets[5]["action"]["success"]["target"] == "myPlot"
    assert result.widgets[5]["action"]["success"]["stacking"] == "xyy"
    assert result.widgets[6]["value"] == "Mean: -0.000"
    assert result.stdout == "V = 1.25\n"


async def test_errors_are_data_with_the_user_line(pool: SandboxPool) -> None:
    result = await pool.run("x = 1\ny = x / 0\n")
    assert result.status == "error"
    assert result.error is not None
    assert (result.error.type, result.error.message, result.error.line) == (
        "ZeroDivisionError",
        "division by zero",
        2,
    )


async def test_instrument_calls_reach_the_handler(pool: SandboxPool) -> None:
    instrument = Instrument()
    code = (
        "v = get_voltage('CH1')\nx, y = capture1('CH1', 3, timegap=1)\nprint(v, x * 2, y.mean())\n"
    )
    result = await pool.run(code, device_call=instrument)
    assert result.status == "ok", result.error
    assert result.stdout == "1.25 [0. 2. 4.] 0.2916666666666667\n"
    assert instrument.calls == [
        ("get_voltage", ["CH1"], {}),
        ("capture1", ["CH1", 3], {"timegap": 1}),
    ]
    assert result.stats.device_calls == 2


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("BAD", "ValueError: get_voltage: channel must be one of CH1, CH2"),
        ("BUSY", "RuntimeError: the instrument queue is full"),
        ("BOOM", "RuntimeError: get_voltage: the instrument call failed"),
    ],
)
async def test_instrument_errors_are_plain_exceptions(
    pool: SandboxPool, argument: str, expected: str
) -> None:
    code = (
        f"try:\n  get_voltage('{argument}')\n"
        "except ValueError as e:\n  print('ValueError: %s' % e)\n"
        "except RuntimeError as e:\n  print('RuntimeError: %s' % e)\n"
    )
    result = await pool.run(code, device_call=Instrument())
    assert result.stdout == expected + "\n"


async def test_without_a_handler_instrument_functions_raise(pool: SandboxPool) -> None:
    result = await pool.run("get_voltage('CH1')")
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("RuntimeError", NO_DEVICE_MESSAGE)


async def test_only_registered_functions_exist(pool: SandboxPool) -> None:
    result = await pool.run("set_pv1(5)", device_call=Instrument())
    assert result.error is not None
    assert result.error.message == "name 'set_pv1' is not defined"


async def test_button_function_strings_are_validated(pool: SandboxPool) -> None:
    ok = await pool.run("button('V', \"get_voltage('CH1')\")", validate_function=validate)
    assert ok.status == "ok"
    bad = await pool.run("x = 1\nbutton('V', 'rm_rf()')", validate_function=validate)
    assert bad.error is not None
    assert (bad.error.type, bad.error.message, bad.error.line) == (
        "ValueError",
        "unknown function in 'rm_rf()'",
        2,
    )


async def test_instrument_call_cap_holds_even_when_the_script_catches(pool: SandboxPool) -> None:
    instrument = Instrument()
    code = "for i in range(50):\n  try:\n    get_voltage('CH1')\n  except BaseException:\n    pass"
    result = await pool.run(code, device_call=instrument)
    assert result.status == "ok"
    assert len(instrument.calls) == LIMITS.max_device_calls
    assert result.stats.device_calls == LIMITS.max_device_calls


async def test_a_blocking_instrument_call_times_out_and_is_cancelled() -> None:
    instrument = Instrument()
    async with SandboxPool(SandboxSettings(wall_seconds=1), function_names=FUNCTIONS) as sandbox:
        result = await sandbox.run("hang()", device_call=instrument)
    assert result.status == "timeout"
    assert result.error is not None
    assert result.error.message == "the script ran longer than the time limit of 1 s"
    assert instrument.cancelled == 1
    assert 1000 <= result.stats.wall_ms < 2000


async def test_cpu_limit_kills(pool: SandboxPool) -> None:
    result = await pool.run("while True:\n  pass")
    assert result.status == "killed"
    assert result.error is not None
    assert result.error.message == "the script used more than 1 s of CPU time"


async def test_runs_share_no_state(pool: SandboxPool) -> None:
    first = await pool.run("import numpy as np, random\nprint(np.random.random(), random.random())")
    second = await pool.run(
        "import numpy as np, random\nprint(np.random.random(), random.random())"
    )
    assert first.stdout != second.stdout
    seeded = await pool.run("import numpy as np\nnp.random.seed(1)\nprint(np.random.random())")
    after = await pool.run("import numpy as np\nprint(np.random.random())")
    assert seeded.stdout != after.stdout
    # No Gaussian left over from the zygote's warm-up: each run's first one is its own.
    normals = [await pool.run("import numpy as np\nprint(np.random.normal())") for _ in range(2)]
    assert normals[0].stdout != normals[1].stdout
    await pool.run("import math\nx = 42")
    assert (await pool.run("print(x)")).error is not None


async def test_source_over_the_cap_is_refused_before_a_worker(pool: SandboxPool) -> None:
    with pytest.raises(ScriptTooLarge) as info:
        await pool.run("#" * (pool.max_script_bytes + 1))
    assert info.value.message == "the script is 65537 bytes long; the limit is 65536"


async def test_cancelling_a_run_kills_its_worker(pool: SandboxPool) -> None:
    zygote = pool.zygote_pid
    assert zygote is not None
    task = asyncio.create_task(pool.run("while True:\n  pass"))

    def running() -> set[int]:  # workers but for the spares waiting for a run
        return worker_pids(zygote) - {spare.handle.pid for spare in pool.spares}

    for _ in range(100):
        await asyncio.sleep(0.01)
        if running():
            break
    assert running(), "the worker never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if not running():
            break
        await asyncio.sleep(0.01)
    assert running() == set()


async def test_isolation_is_what_the_machine_allows(pool: SandboxPool) -> None:
    report = pool.isolation
    assert report["capabilities"] == 0
    assert report["no_new_privs"] is True
    assert report["environment_empty"] is True
    if full_root():  # CI runs as root: the full plan
        assert report["plan"] == "root"
        # With the filter, the zygote's network, IPC and UTS namespaces serve all workers.
        assert report["shared_namespaces"] == (["net", "ipc", "uts"] if report["seccomp"] else [])
        assert (report["uid"], report["gid"]) == (65534, 65534)
        assert report["network_isolated"] and report["filesystem_hidden"]
        assert report["processes_blocked"]
        assert (
            report["not_enforced"] == []
            if report["seccomp"]
            else ["seccomp: no system call filter"]
        )
    else:  # every check that fails is named as a gap
        assert report["plan"] in ("user-namespace", "limits-only")
        gaps = " ".join(report["not_enforced"])
        for check, word in [("network_isolated", "network"), ("filesystem_hidden", "filesystem")]:
            assert report[check] or word in gaps


async def test_the_zygote_is_a_fresh_interpreter_without_secrets(pool: SandboxPool) -> None:
    zygote = pool.zygote_pid
    assert zygote is not None
    stat = Path(f"/proc/{zygote}/stat").read_text()
    assert int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()  # our child...
    cmdline = Path(f"/proc/{zygote}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1:3] == [b"-I", b"-c"]  # ...but exec'd, not a fork of this process
    environ = Path(f"/proc/{zygote}/environ").read_bytes().split(b"\0")
    names = {item.split(b"=", 1)[0].decode() for item in environ if item}
    assert names == set(ZYGOTE_ENV)


async def test_a_dead_zygote_is_replaced() -> None:
    async with SandboxPool(LIMITS) as sandbox:
        first = sandbox.zygote_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        # Whether or not the pool has noticed yet, the next run gets a new zygote.
        result = await sandbox.run("print('again')")
        assert result.stdout == "again\n"
        assert sandbox.zygote_pid not in (None, first)


async def test_closing_the_pool_ends_runs_in_progress() -> None:
    sandbox = SandboxPool(SandboxSettings(wall_seconds=30, cpu_seconds=30))
    await sandbox.start()
    task = asyncio.create_task(sandbox.run("while True:\n  pass"))
    await asyncio.sleep(0.3)
    await sandbox.close()
    result = await asyncio.wait_for(task, 5)
    assert result.status == "killed"
    assert result.error is not None
    assert result.error.message == "the sandbox stopped during the run"


async def test_concurrency_and_the_queue_are_bounded() -> None:
    limits = SandboxSettings(wall_seconds=5, max_concurrent=2, max_queued=1)
    async with SandboxPool(limits) as sandbox:
        code = "import time\ntime.sleep(0.3)"
        start = time.perf_counter()
        tasks = [asyncio.create_task(sandbox.run(code)) for _ in range(3)]
        await asyncio.sleep(0.05)
        with pytest.raises(SandboxBusy):
            await sandbox.run(code)
        results = await asyncio.gather(*tasks)
        assert [r.status for r in results] == ["ok"] * 3
        assert time.perf_counter() - start >= 0.6  # two rounds: at most two at once


async def test_non_root_zygote_uses_a_user_namespace() -> None:
    # As root (CI), run the zygote as nobody to exercise the unprivileged plan.
    prefix = (
        ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups") if os.geteuid() == 0 else ()
    )
    async with SandboxPool(LIMITS, zygote_prefix=prefix, python=sys.executable) as sandbox:
        report = sandbox.isolation
        assert report["plan"] in ("user-namespace", "limits-only")
        assert report["capabilities"] == 0
        assert any(gap.startswith("uid:") for gap in report["not_enforced"])
        if report["plan"] == "user-namespace":
            assert report["network_isolated"] and report["filesystem_hidden"]
            assert report["processes_blocked"]
        result = await sandbox.run("import numpy as np\nprint(np.arange(3).sum())")
        assert result.stdout == "3\n"
        killed = await sandbox.run("while True:\n  pass")
        assert killed.status == "killed"


async def test_a_run_answers_before_its_worker_exits_but_keeps_its_place_until_then() -> None:
    limits = SandboxSettings(wall_seconds=5, max_concurrent=1, spare_workers=1)
    async with SandboxPool(limits, function_names=()) as sandbox:
        first = RunControl("a")
        assert (await sandbox.run("print(1)", control=first)).status == "ok"
        # The second run gets the only place once the first worker is gone, never before.
        second = RunControl("b")
        task = asyncio.create_task(sandbox.run("while True:\n  pass", control=second))
        for _ in range(500):
            if second.worker_pid:
                break
            await asyncio.sleep(0.01)
        assert second.worker_pid is not None and first.worker_pid is not None
        assert not os.path.exists(f"/proc/{first.worker_pid}")
        second.cancel()
        assert (await task).status == "cancelled"
        await sandbox.settle()
        assert not os.path.exists(f"/proc/{second.worker_pid}")
