"""Spares: workers forked and isolated ahead of time, one run each, within the worker limit."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from remotelab.config import SandboxSettings
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.pool import SandboxPool

pytestmark = pytest.mark.asyncio

FIELDS = ("Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "CapBnd")


def isolation_of(pid: int) -> dict[str, object]:
    """What the kernel says about a process: credentials, filters, namespaces, limits."""
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in FIELDS:
            status[key] = value.split()
    namespaces = {ns: os.readlink(f"/proc/{pid}/ns/{ns}") for ns in ("net", "mnt", "ipc", "uts")}
    limits = Path(f"/proc/{pid}/limits").read_text()
    return {"status": status, "ns": namespaces, "limits": limits, "root": _root(pid)}


def _root(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/root")
    except OSError as exc:
        return type(exc).__name__


async def wait_for_spares(pool: SandboxPool, count: int) -> None:
    for _ in range(300):
        if len(pool.spares) >= count and all(s.handle.pid for s in pool.spares):
            await asyncio.sleep(0.05)  # let it finish isolating itself
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(pool.spares)} spares, expected {count}")


async def test_a_spare_is_as_isolated_as_a_fresh_worker() -> None:
    limits = SandboxSettings(wall_seconds=5, spare_workers=1)
    fresh = SandboxSettings(wall_seconds=5, spare_workers=0)
    async with SandboxPool(limits, function_names=()) as pool:
        await wait_for_spares(pool, 1)
        pid = pool.spares[0].handle.pid
        assert pid is not None
        spare = isolation_of(pid)
        zygote = isolation_of(pool.zygote_pid or 0)
        report = pool.isolation
    async with SandboxPool(fresh, function_names=()) as pool:
        assert pool.spares == []
        control = RunControl("u")
        task = asyncio.create_task(pool.run("while True:\n    pass\n", control=control))
        for _ in range(300):
            if control.worker_pid:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert control.worker_pid is not None
        worker = isolation_of(control.worker_pid)
        worker_zygote = isolation_of(pool.zygote_pid or 0)
        control.cancel()
        await task
    assert spare["status"] == worker["status"]
    assert spare["limits"] == worker["limits"]
    if report["plan"] != "limits-only":
        # Each its own empty read-only root (chroot into its own run folder).
        assert spare["root"] != "/" and worker["root"] != "/"
        # Its own mount namespace; the others its own too, or the zygote's (made for its
        # workers: never the server's) when the plan shares them (ADR 0024).
        server = isolation_of(os.getpid())  # (numbers of namespaces gone may come back)
        shared = report["shared_namespaces"]
        for ns in ("net", "mnt", "ipc", "uts"):
            assert spare["ns"][ns] != server["ns"][ns]
            assert (spare["ns"][ns] == zygote["ns"][ns]) is (ns in shared), ns
            assert (worker["ns"][ns] == worker_zygote["ns"][ns]) is (ns in shared), ns
    assert spare["status"]["NoNewPrivs"] == ["1"]


async def test_spares_are_never_shared_or_reused() -> None:
    limits = SandboxSettings(wall_seconds=5, spare_workers=1)
    async with SandboxPool(limits, function_names=()) as pool:
        await wait_for_spares(pool, 1)
        seen: dict[int, str] = {}
        for i in range(12):
            user = "a" if i % 2 else "b"
            spare_pid = pool.spares[0].handle.pid if pool.spares else None
            control = RunControl(user)
            result = await pool.run("print(1)", control=control)
            assert result.status == "ok"
            pid = control.worker_pid
            assert pid is not None and pid not in seen, "a worker ran twice"
            seen[pid] = user
            if spare_pid is not None:
                assert pid == spare_pid  # the run took the waiting spare
            await asyncio.wait_for(pool.settle(), 5)  # the answer came while it exited
            assert not os.path.exists(f"/proc/{pid}"), "a worker outlived its run"
            await wait_for_spares(pool, 1)
            assert pid not in {s.handle.pid for s in pool.spares}


async def test_spares_count_against_the_worker_limit() -> None:
    limits = SandboxSettings(wall_seconds=5, max_concurrent=2, spare_workers=2)
    async with SandboxPool(limits, function_names=()) as pool:
        await wait_for_spares(pool, 2)
        controls = [RunControl("u") for _ in range(2)]
        tasks = [
            asyncio.create_task(pool.run("while True:\n    pass\n", control=c)) for c in controls
        ]
        for _ in range(300):
            if all(c.worker_pid for c in controls):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        # Two runs take both worker places: no spare may be forked beside them.
        assert pool.spares == []
        controls[0].cancel()
        await tasks[0]
        await wait_for_spares(pool, 1)
        assert len(pool.spares) == 1  # one run + one spare = the limit of two
        controls[1].cancel()
        await tasks[1]
        await wait_for_spares(pool, 2)


def ignored_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigIgn line")


async def test_a_spare_rehearses_and_its_run_sees_nothing_of_it() -> None:
    limits = SandboxSettings(wall_seconds=5)  # the default: two spares
    assert limits.spare_workers == 2
    async with SandboxPool(limits, function_names=()) as pool:
        await wait_for_spares(pool, 2)
        pid = pool.spares[0].handle.pid
        assert pid is not None
        # A spare that went through its rehearsal has started and stopped the live timer:
        # SIGALRM is ignored while it waits (a worker that never ran a job leaves it as is).
        assert ignored_signals(pid) & (1 << (signal.SIGALRM - 1))
        control = RunControl("u")
        result = await pool.run("label('mine')\nprint(repr(printed))\n", control=control)
        await pool.settle()
        cache = pool.code_cache
    assert control.worker_pid == pid
    assert result.status == "ok", result.error
    # Nothing printed before the script's own print, no widget but its own...
    assert result.stdout == "''\n"
    assert [(w["type"], w["value"]) for w in result.widgets] == [
        ("label", "mine"),
        ("text", ["''"]),
    ]
    # ...and nothing offered to the code cache but the script's own compiled code.
    assert (cache["entries"], cache["misses"], cache["hits"]) == (1, 1, 0)
