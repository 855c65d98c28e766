"""The one owner of the instrument: a dedicated thread, a fair queue, fault recovery.

Every pslab call runs on one thread, one call at a time, so the serial protocol
is never interleaved (docs/architecture.md, ADR 0004). Calls reach that thread only through
:meth:`DeviceOwner.call`, which queues them fairly (:mod:`.scheduler`).

States: ``connecting`` → ``connected`` ⇄ ``faulted`` → ``closed``. A call that
fails with a device error (pslab's ConnectionError, TimeoutError, RuntimeError
on a bad ACK, a vanished serial port) marks the device faulted: that call and
every queued one fail with :class:`~remotelab.errors.DeviceUnavailable`, new
calls fail fast, and a background task reconnects with exponential back-off.
Everything else the server does keeps working meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from serial import SerialException

from remotelab.config import DeviceSettings
from remotelab.device.backends import Backend
from remotelab.device.scheduler import FairQueue, Job, new_job, wait_for_job
from remotelab.errors import DeviceUnavailable, InputError, RemotelabError

log = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["connecting", "connected", "faulted", "closed"]

# What a vanished, silent or confused instrument raises through pslab and pyserial.
DEVICE_FAULTS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    RuntimeError,
    SerialException,
    OSError,
    struct.error,
)


def describe_fault(exc: BaseException) -> str:
    """A message for users that says what went wrong and, where known, how to fix it."""
    if isinstance(exc, PermissionError):
        return (
            "no permission to open the PSLab's serial port: add the server's user to the "
            "'dialout' group or install the udev rule deploy/99-pslab.rules, then reconnect "
            f"({exc})"
        )
    if isinstance(exc, TimeoutError):
        return "the instrument stopped answering (timeout)"
    if isinstance(exc, SerialException):
        return f"the instrument's serial port failed: {exc}"
    if isinstance(exc, ConnectionError):
        return f"the instrument is not connected: {exc}"
    if isinstance(exc, RuntimeError | struct.error):
        return f"the instrument sent an unexpected answer: {exc}"
    return f"the instrument failed: {exc}"


class DeviceOwner:
    """Owns the backend's ScienceLab. Open with :meth:`start`, close with :meth:`close`."""

    def __init__(self, backend: Backend, limits: DeviceSettings | None = None) -> None:
        self.backend = backend
        self.limits = limits or DeviceSettings()
        self.queue = FairQueue(self.limits)
        self.state: State = "connecting"
        self.fault: str | None = None
        self.firmware: str | None = None
        self.calls_served = 0
        self._lab: Any = None
        self._executor = self._new_executor()
        self._worker: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._running: list[Job[Any]] = []

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="pslab")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (or start reconnecting) and start serving calls."""
        try:
            await self._open()
        except DEVICE_FAULTS as exc:
            self._mark_faulted(exc)
        self._worker = asyncio.create_task(self._serve(), name="device-worker")

    async def close(self) -> None:
        """Stop serving: queued calls fail, the backend is closed, the thread ends."""
        self.state = "closed"
        for task in (self._worker, self._reconnector):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._fail_queued(DeviceUnavailable("the server is shutting down"))
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor, self.backend.close), 5)
        except Exception as exc:  # closing a broken port must not stop the shutdown
            log.warning("closing the instrument failed: %s", exc)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self.state = "connecting"
        lab = await asyncio.wait_for(
            loop.run_in_executor(self._executor, self.backend.open), self.limits.run_timeout
        )
        self._lab = lab
        version = getattr(lab, "firmware", None)
        parts = [getattr(version, k, None) for k in ("major", "minor", "patch")]
        self.firmware = ".".join(map(str, parts)) if None not in parts else None
        self.state, self.fault = "connected", None
        log.info("instrument connected: %s (firmware %s)", self.backend.describe(), self.firmware)

    # ------------------------------------------------------------------ calls

    async def call(
        self,
        user: str,
        fn: Callable[[Any], T],
        *,
        label: str = "",
        timeout: float | None = None,
        share_key: str | None = None,
    ) -> T:
        """Run ``fn(sciencelab)`` on the device thread on behalf of ``user``.

        ``share_key``: calls with the same key are the same reading; those waiting when
        one of them is taken are answered by its run, and share its (unmutated) result.

        Raises DeviceBusy (queue full), DeviceUnavailable (faulted, closed, or the
        device failed during the call), DeviceTimeout (waited + ran too long), or
        the exception ``fn`` raised for a non-device reason.
        """
        self._check_available()
        job = new_job(user, fn, label, share_key)
        self.queue.put(job)
        return await wait_for_job(job, timeout or self.limits.call_timeout)

    def _check_available(self) -> None:
        if self.state == "closed":
            raise DeviceUnavailable("the server is shutting down")
        if self.state == "faulted":
            raise DeviceUnavailable(f"{self.fault}; reconnecting", details={"state": self.state})

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.queue.wait()
            batch = self._take_batch()
            if not batch:
                continue
            if self.state != "connected":
                for job in batch:
                    _settle(job, DeviceUnavailable(f"{self.fault}; reconnecting"))
                continue
            self._running = batch
            try:
                done: asyncio.Future[BaseException | None] = loop.create_future()
                self._executor.submit(self._run_batch, loop, batch, self._lab, done)
                # A timer on a plain future (cheaper than asyncio.wait): neither the timeout
                # nor this task's cancellation (at shutdown) touches the batch the device
                # thread is running; the thread's late answer finds ``done`` settled.
                timer = loop.call_later(self.limits.run_timeout, _settle_done, done, _HUNG)
                try:
                    fault = await done
                finally:
                    timer.cancel()
                if fault is _HUNG:
                    # The device thread is stuck in a read: give up on it, use a fresh thread.
                    self._executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
                if fault is not None:
                    self._fault(batch, fault)
            finally:
                self._running = []

    def _take_batch(self) -> list[Job[Any]]:
        """Up to ``batch_max`` live jobs in round-robin order (dropped callers skipped).

        A shared reading takes every identical job still queued along as its followers:
        one measurement answers all of them, and they leave the queue early.
        """
        batch: list[Job[Any]] = []
        while len(batch) < self.limits.batch_max:
            job = self.queue.pop()
            if job is None:
                break
            if job.key is not None:
                job.followers = self.queue.take_matching(job.key)
            if job.wanted():  # else every caller went away or timed out: drop it
                batch.append(job)
        return batch

    def _run_batch(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[Job[Any]],
        lab: Any,
        done: asyncio.Future[BaseException | None],
    ) -> None:
        """On the device thread: run the jobs in order, hand each outcome to the loop.

        Handing a batch to the thread at once saves a thread switch per call (the GIL
        passes between the loop and this thread once per batch, not once per call).
        Each outcome goes to the loop as soon as the next job starts; the last one travels
        with the end of the batch, so a batch costs the loop one wake-up per job, not one
        more. ``done`` gets the device fault that stopped the batch, or None; the jobs not
        yet run are then failed by the loop with the rest of the queue.
        """
        last: tuple[Callable[..., None], Job[Any], Any] | None = None
        fault: BaseException | None = None
        try:
            for job in batch:
                if not job.wanted():  # plain reads of the futures' states
                    continue
                if last is not None:
                    callback, previous, outcome = last
                    loop.call_soon_threadsafe(callback, previous, outcome)
                    last = None
                try:
                    result = job.fn(lab)
                except DEVICE_FAULTS as exc:
                    fault = exc
                    break
                except Exception as exc:
                    last = (self._settle_error, job, exc)
                else:
                    last = (self._deliver, job, result)
        finally:
            loop.call_soon_threadsafe(_end_batch, done, last, fault)

    def _deliver(self, job: Job[Any], result: Any) -> None:
        for future in job.futures():
            self.calls_served += 1
            if not future.done():
                future.set_result(result)

    def _settle_error(self, job: Job[Any], exc: Exception) -> None:
        if isinstance(exc, RemotelabError):
            _settle(job, exc)
        elif isinstance(exc, ValueError | TypeError):
            # pslab refused the arguments (a limit the registry did not know).
            _settle(job, InputError(f"{job.label or 'the call'}: {exc}"))
        else:  # a bug in a binding: report it, keep serving
            log.error("instrument call %s failed", job.label, exc_info=exc)
            _settle(job, InputError(f"{job.label or 'the call'} failed: {exc}"))

    def _fault(self, batch: list[Job[Any]], exc: BaseException) -> None:
        message = self._mark_faulted(exc)
        for job in batch:  # those already answered keep their answers
            _settle(job, DeviceUnavailable(message))
        self._fail_queued(DeviceUnavailable(f"{message}; reconnecting"))

    def _mark_faulted(self, exc: BaseException) -> str:
        message = describe_fault(exc)
        log.error("instrument faulted: %s", message)
        self.state, self.fault, self._lab = "faulted", message, None
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = asyncio.create_task(self._reconnect(), name="device-reconnect")
        return message

    def _fail_queued(self, error: RemotelabError) -> None:
        for job in self.queue.drain():
            _settle(job, error)

    async def _reconnect(self) -> None:
        delay = self.limits.reconnect_initial
        loop = asyncio.get_running_loop()
        while self.state == "faulted":
            await asyncio.sleep(delay)
            try:
                await loop.run_in_executor(self._executor, self.backend.close)
            except Exception as exc:  # the old handle may be dead already; that is fine
                log.debug("closing the faulted handle: %s", exc)
            try:
                await self._open()
            except DEVICE_FAULTS as exc:  # TimeoutError included
                self.state, self.fault = "faulted", describe_fault(exc)
                log.warning("reconnect failed (next try in %.1f s): %s", delay, self.fault)
                delay = min(delay * 2, self.limits.reconnect_max)

    # ------------------------------------------------------------------ status

    def status(self, user: str | None = None) -> dict[str, Any]:
        """JSON-safe state for ``GET /v1/device``."""
        info = self.backend.info()
        running = any(job.wanted() for job in self._running)
        return {
            **info,
            "state": self.state,
            "connected": self.state == "connected",
            "faulted": self.state == "faulted",
            "fault": self.fault,
            "firmware": self.firmware,
            "queue": {
                "length": len(self.queue),
                "running": running,
                "max": self.limits.queue_max,
                "your_position": self.queue.position(user) if user is not None else None,
            },
            "calls_served": self.calls_served,
            "checked_at": time.time(),
        }


#: What ``done`` holds when a batch outlived the run timeout.
_HUNG = TimeoutError("no answer within the run timeout")


def _settle_done(done: asyncio.Future[BaseException | None], value: BaseException | None) -> None:
    if not done.done():
        done.set_result(value)


def _end_batch(
    done: asyncio.Future[BaseException | None],
    last: tuple[Callable[..., None], Job[Any], Any] | None,
    fault: BaseException | None,
) -> None:
    if last is not None:
        callback, job, outcome = last
        callback(job, outcome)
    _settle_done(done, fault)


def _settle(job: Job[Any], error: BaseException) -> None:
    for future in job.futures():
        if not future.done():
            future.set_exception(error)
