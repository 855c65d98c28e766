"""The server's entry point to the sandbox: :class:`SandboxPool`.

Owns one zygote process (restarted when it dies), bounds how many runs go at
once and how many may wait, and turns each run into a
:class:`~remotelab.sandbox.server.session.RunSession`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from remotelab.config import MIB, SandboxSettings, ScriptSettings, WidgetSettings
from remotelab.errors import ScriptTooLarge
from remotelab.sandbox.protocol import Job, source_size_error
from remotelab.sandbox.result import CANCELLED, RunError, RunResult
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.errors import SandboxBusy, SandboxUnavailable
from remotelab.sandbox.server.session import (
    DeviceCall,
    FunctionValidator,
    HoldDevice,
    RunSession,
    Spare,
    ZygoteUnresponsive,
    make_spare,
)
from remotelab.sandbox.server.supervisor import ZygoteLost, ZygoteProcess

log = logging.getLogger(__name__)

# A worker needs this much address space beyond what the zygote already maps.
MIN_MEMORY_HEADROOM_BYTES = 64 * MIB


def registry_function_names() -> list[str]:
    """Every function name of the device registry (imported here, on the server side only:
    the zygote never imports the device package or pslab)."""
    from remotelab.device.functions import default_registry

    return default_registry().names()


class SandboxPool:
    """Runs scripts in isolated worker processes forked from one warm zygote.

    ``limits.max_concurrent`` runs execute at once; up to ``limits.max_queued``
    more wait for a slot; beyond that :meth:`run` raises :class:`SandboxBusy`.
    ``widgets`` bounds each run's widget list, ``max_script_bytes`` its source.
    ``function_names`` are the instrument functions a script can call (each a
    proxy to ``device_call``; default: every name of the device function
    registry). ``python`` is the interpreter for the zygote
    (default: this one); ``zygote_prefix`` is put before it in the command
    (e.g. ``setpriv`` to run the zygote under a dedicated account).
    """

    def __init__(
        self,
        limits: SandboxSettings | None = None,
        *,
        widgets: WidgetSettings | None = None,
        max_script_bytes: int | None = None,
        function_names: Iterable[str] | None = None,
        python: str | None = None,
        zygote_prefix: Sequence[str] = (),
        start_timeout: float = 60.0,
    ) -> None:
        self.limits = limits if limits is not None else SandboxSettings()
        self.max_concurrent = self.limits.max_concurrent
        self.max_queued = self.limits.max_queued
        self.max_script_bytes = (
            ScriptSettings().max_script_bytes if max_script_bytes is None else max_script_bytes
        )
        self.function_names = frozenset(
            registry_function_names() if function_names is None else function_names
        )
        #: Every run's job but for its code.
        self.job = Job(
            "",
            self.limits,
            tuple(sorted(self.function_names)),
            widgets if widgets is not None else WidgetSettings(),
            self.max_script_bytes,
        )
        self._python = python
        self._zygote_prefix = tuple(zygote_prefix)
        self._start_timeout = start_timeout
        self._slots = asyncio.Semaphore(self.max_concurrent)
        self._waiting = 0
        self._zygote: ZygoteProcess | None = None
        self._zygote_lock = asyncio.Lock()
        self._closed = False
        self._active: dict[str, RunControl] = {}
        # Spares: workers forked and isolated ahead of time (ADR 0010). Running runs, spares
        # and spares being made never exceed max_concurrent worker processes together.
        self.spare_target = min(self.limits.spare_workers, self.max_concurrent)
        self._spares: list[Spare] = []
        self._making = 0
        self._running = 0
        self._spare_tasks: set[asyncio.Task[None]] = set()
        #: Runs answered while their workers exit (each keeps its slot until then).
        self._reapers: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start the zygote. Raises :class:`SandboxUnavailable` when it cannot start."""
        self._closed = False
        await self._ensure_zygote()
        self._refill()

    async def close(self) -> None:
        """Stop the zygote; runs in progress end as ``killed``."""
        self._closed = True
        for task in list(self._spare_tasks):
            task.cancel()
        for spare in self._spares:
            spare.discard()
        self._spares.clear()
        async with self._zygote_lock:
            zygote, self._zygote = self._zygote, None
            if zygote is not None:
                await zygote.close()
        # The zygote killed its workers as it closed: every reaper ends now.
        await asyncio.gather(*self._reapers, return_exceptions=True)

    async def __aenter__(self) -> SandboxPool:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def isolation(self) -> dict[str, Any]:
        """What the workers enforce, as the zygote's probe found it (empty before start).

        Keys: ``plan`` (``root``, ``user-namespace`` or ``limits-only``), ``uid``,
        ``network_isolated``, ``filesystem_hidden``, ``processes_blocked``,
        ``capabilities``, ``no_new_privs``, ``environment_empty``, ``shared_namespaces``
        (the namespaces all workers share with the zygote, e.g. ``["net", "ipc", "uts"]``)
        and ``not_enforced`` (a list of sentences).
        """
        zygote = self._zygote
        return dict(zygote.info.get("isolation", {})) if zygote is not None else {}

    @property
    def code_cache(self) -> dict[str, int]:
        """The zygote's compiled-script cache, as of the last worker it reaped: ``entries``,
        ``bytes`` (marshalled), ``max_bytes``, ``hits`` and ``misses`` (scripts compiled
        and offered) since the zygote started. Empty before the first run."""
        zygote = self._zygote
        return dict(zygote.code_cache) if zygote is not None else {}

    @property
    def zygote_pid(self) -> int | None:
        zygote = self._zygote
        return None if zygote is None else zygote.pid

    # --- runs ----------------------------------------------------------------

    async def run(
        self,
        code: str,
        *,
        device_call: DeviceCall | None = None,
        validate_function: FunctionValidator | None = None,
        control: RunControl | None = None,
        hold_device: HoldDevice | None = None,
    ) -> RunResult:
        """Run ``code`` in a fresh worker and return its result (never the script's exceptions).

        ``device_call(name, args, kwargs)`` serves the script's instrument calls
        (``None``: they raise in the script); ``validate_function(s)`` checks
        button function strings (``None``: not checked). Raises
        :class:`ScriptTooLarge` for a source over ``limits.max_source_bytes``,
        :class:`SandboxBusy` when the queue is full, :class:`SandboxUnavailable`
        when the zygote cannot be (re)started, and
        :class:`~remotelab.errors.SandboxError` when a worker cannot be set up.
        ``hold_device(seconds)`` serves ``with hold(seconds):`` (ADR 0012; released when
        the run ends, however it ends). Cancelling the call kills the worker. ``control``
        names the run while it waits or runs (:meth:`find`), streams its output and can
        stop it (result ``cancelled``).
        """
        too_big = source_size_error(code, self.max_script_bytes)
        if too_big is not None:
            raise ScriptTooLarge(
                too_big.message, details={"max_script_bytes": self.max_script_bytes}
            )
        if control is None:
            return await self._run(code, device_call, validate_function, None, hold_device)
        self._active[control.id] = control
        task = asyncio.current_task()
        assert task is not None

        def stop_waiting() -> None:
            task.cancel()

        control.bind(stop_waiting)  # while it waits for a slot
        result: RunResult | None = None
        try:
            result = await self._run(code, device_call, validate_function, control, hold_device)
        except asyncio.CancelledError:
            if control.cancelled and task.uncancel() == 0:
                text = "the run was stopped by its owner before it started"
                result = RunResult("cancelled", error=RunError(CANCELLED, text))
            else:
                raise
        finally:
            control.bind(None)
            self._active.pop(control.id, None)
            control.finish(result)
        return result

    async def settle(self) -> None:
        """Wait until the workers of the runs that have answered are gone.

        A run answers as soon as its worker sent the result; the worker exits just after,
        and its place among ``max_concurrent`` is freed only then."""
        while self._reapers:
            await asyncio.gather(*self._reapers, return_exceptions=True)

    def find(self, run_id: str) -> RunControl | None:
        """A run that is waiting or executing, by its id."""
        return self._active.get(run_id)

    async def _run(
        self,
        code: str,
        device_call: DeviceCall | None,
        validate_function: FunctionValidator | None,
        control: RunControl | None,
        hold_device: HoldDevice | None = None,
    ) -> RunResult:
        await self._acquire_slot()
        if control is not None:
            control.bind(None)  # from here the session stops it
        self._running += 1
        sessions: list[RunSession] = []
        try:
            return await self._in_slot(
                code, device_call, validate_function, control, hold_device, sessions
            )
        finally:
            if sessions and sessions[-1].reaping:
                # Answered while its worker exits: the slot is freed once the worker is gone.
                task = asyncio.create_task(self._reap(sessions[-1]))
                self._reapers.add(task)
                task.add_done_callback(self._reapers.discard)
            else:
                self._release_slot()

    async def _reap(self, session: RunSession) -> None:
        try:
            await session.reaped()
        except ZygoteUnresponsive:
            log.error("sandbox zygote unresponsive; restarting it")
            await self._discard(session.zygote)
        except Exception:
            log.exception("reaping a sandbox worker failed")
        finally:
            self._release_slot()

    async def _in_slot(
        self,
        code: str,
        device_call: DeviceCall | None,
        validate_function: FunctionValidator | None,
        control: RunControl | None,
        hold_device: HoldDevice | None,
        sessions: list[RunSession],
    ) -> RunResult:
        for attempt in range(2):
            zygote = await self._ensure_zygote()
            spare = self._take_spare(zygote)
            self._refill()
            session = RunSession(
                zygote, self.job, device_call, validate_function, control, hold_device
            )
            sessions.append(session)
            try:
                return await session.run(code, spare)
            except ZygoteLost as exc:
                # It died before taking the run: nothing ran, so a new one may.
                await self._discard(zygote)
                if attempt:
                    raise SandboxUnavailable(f"the sandbox is not running: {exc}") from None
            except ZygoteUnresponsive:
                log.error("sandbox zygote unresponsive; restarting it")
                await self._discard(zygote)
                raise
        raise AssertionError("unreachable")

    # --- spares ---------------------------------------------------------------------

    @property
    def spares(self) -> list[Spare]:
        """The spares waiting now (for tests and the benchmark)."""
        return list(self._spares)

    def _take_spare(self, zygote: ZygoteProcess) -> Spare | None:
        while self._spares:
            spare = self._spares.pop(0)
            if spare.zygote is zygote and spare.usable:
                return spare
            spare.discard()
        return None

    def _refill(self) -> None:
        """Start making spares up to the target, within max_concurrent worker processes."""
        zygote = self._zygote
        if self._closed or zygote is None or not zygote.alive:
            return
        while (
            len(self._spares) + self._making < self.spare_target
            and self._running + len(self._spares) + self._making < self.max_concurrent
        ):
            self._making += 1
            task = asyncio.create_task(self._make_spare(zygote))
            self._spare_tasks.add(task)
            task.add_done_callback(self._spare_tasks.discard)

    async def _make_spare(self, zygote: ZygoteProcess) -> None:
        try:
            spare = await make_spare(zygote, self.limits)
        except ZygoteLost:
            return
        finally:
            self._making -= 1
        if self._closed or zygote is not self._zygote:
            spare.discard()
        else:
            self._spares.append(spare)

    async def _acquire_slot(self) -> None:
        """A place among ``max_concurrent`` runs, or among ``max_queued`` waiting for one."""
        if self._slots.locked() and self._waiting >= self.max_queued:
            raise SandboxBusy(
                f"the sandbox is busy: {self.max_concurrent} runs in progress and "
                f"{self._waiting} waiting"
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1

    def _release_slot(self) -> None:
        """The run's worker is gone: its place may go to the next run or a spare."""
        self._running -= 1
        self._slots.release()
        self._refill()

    async def _ensure_zygote(self) -> ZygoteProcess:
        if self._closed:
            raise SandboxUnavailable("the sandbox is closed")
        async with self._zygote_lock:
            zygote = self._zygote
            if zygote is not None and zygote.alive:
                return zygote
            if zygote is not None:
                log.warning("sandbox zygote stopped; starting a new one")
                self._zygote = None
                await zygote.close()
            zygote = ZygoteProcess(
                python=self._python, prefix=self._zygote_prefix, start_timeout=self._start_timeout
            )
            info = await zygote.start()
            needed = int(info.get("vm_kb", 0)) * 1024 + MIN_MEMORY_HEADROOM_BYTES
            if self.limits.memory_bytes < needed:
                await zygote.close()
                raise SandboxUnavailable(
                    f"{SandboxSettings.variable('memory_mb')}={self.limits.memory_mb} is too "
                    f"low: a worker maps {info.get('vm_kb')} KiB before the script starts; "
                    f"allow at least {-(-needed // MIB)}"
                )
            for gap in info.get("isolation", {}).get("not_enforced", []):
                log.warning("sandbox isolation: %s", gap)
            self._zygote = zygote
            return zygote

    async def _discard(self, zygote: ZygoteProcess) -> None:
        async with self._zygote_lock:
            if self._zygote is zygote:
                self._zygote = None
        await zygote.close()
