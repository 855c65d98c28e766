"""The local device: instrument calls by name, one path to the device owner in this process.

:class:`Instrument` is the *local* implementation of
:class:`~remotelab.device.interface.Device` (the embedded default, and what a
``remotelab agent`` serves over NATS).

A function string (HTTP) or a ``(name, args, kwargs)`` triple (a sandboxed
script's proxy) is checked against the registry before the device sees
anything — its expected device time included (``REMOTELAB_DEVICE_MAX_CALL_SECONDS``) —,
queued on the owner's fair queue on behalf of a user with that expected time, run on the
device thread in that user's context, and converted to JSON-safe data there. A call
that sets outputs has them recorded in the user's context (``CallResult.changed``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import socket
import time
import types
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from remotelab.config import DeviceSettings, FunctionSettings, Settings
from remotelab.device.backends import select_backend
from remotelab.device.checks import CallChecks
from remotelab.device.emulator import load_experiment
from remotelab.device.functions import ParsedCall, Registry, default_registry, to_json_safe
from remotelab.device.functions.effects import check_outputs
from remotelab.device.interface import BenchChange, CallResult, HoldInfo, Release, StoreBench
from remotelab.device.outputs import Outputs, changes_from_json, value_to_json
from remotelab.device.owner import DeviceOwner, Hold
from remotelab.errors import DeviceTimeout, InputError, NotFound

log = logging.getLogger(__name__)

__all__ = ["CallResult", "Instrument", "open_instrument", "stored_bench"]


class Instrument(CallChecks):
    """The registry, its limits and the device owner in this process (a local
    :class:`~remotelab.device.interface.Device`)."""

    def __init__(
        self,
        owner: DeviceOwner,
        registry: Registry,
        limits: FunctionSettings,
        *,
        share_readings: bool = True,
    ) -> None:
        super().__init__(registry, limits, owner.limits.max_call_seconds)
        self.owner = owner
        #: Whether identical shared readings waiting together get one measurement (ADR 0007).
        self.share_readings = share_readings
        #: Held while the bench is changed and stored (one teacher at a time).
        self.bench_lock = asyncio.Lock()
        #: What the bench is called (the bench file's stem, or ``default``).
        self.bench_name = "default"
        #: The experiment the bench serves: its ``[experiment]`` name and description, else
        #: the bench's name and no description.
        self.experiment = "default"
        self.experiment_description = ""

    async def hold(self, user: str, seconds: object, *, teacher: bool = False) -> Hold:
        """Hold the device for ``user`` (a script's ``with hold(seconds):``), within the
        limit of their role; waits while someone else holds it. Release it with
        ``owner.release``. Raises InputError naming the limit's setting."""
        limits = self.owner.limits
        field = "hold_max_seconds_teacher" if teacher else "hold_max_seconds"
        limit: float = getattr(limits, field)
        variable = DeviceSettings.variable(field)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise InputError("hold: seconds must be a positive number")
        if seconds > limit:
            raise InputError(
                f"hold: {seconds:g} s is more than the {limit:g} s a script may hold the "
                f"device ({variable})",
                details={"limit_seconds": limit, "setting": variable},
            )
        return await self.owner.hold(user, float(seconds))

    async def run(self, user: str, source: str) -> CallResult:
        """Parse, queue, run and convert one function string."""
        return await self.run_parsed(user, self.parse(source))

    async def run_call(
        self, user: str, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> CallResult:
        """Check and run a call given by name and literal values (sandbox proxies)."""
        return await self.run_parsed(user, self.bind(name, args, kwargs))

    async def run_parsed(self, user: str, call: ParsedCall) -> CallResult:
        """Queue and run a checked call (from :meth:`parse` or :meth:`bind`)."""
        limits = self.limits
        owner = self.owner
        effects = call.function.effects

        def convert(raw: Any, changed: tuple[str, ...] = ()) -> Any:
            result, notes = to_json_safe(
                raw,
                max_items=limits.max_result_items,
                max_depth=limits.max_result_depth,
                max_notes=limits.max_result_notes,
            )
            return result, notes, changed

        def on_device(lab: Any) -> Any:
            # In ``user``'s context (the owner switched to it before this runs).
            if effects is None:
                raw = call.invoke(lab)
                if isinstance(raw, types.GeneratorType):  # a wait in steps: convert at its end
                    return _then(raw, convert)
                return convert(raw)
            before = owner.contexts.outputs(user)
            try:
                raw = call.invoke(lab)
            except BaseException:
                owner.forget_device_outputs()  # it may have set some of them
                raise
            return convert(raw, owner.record(user, effects(call.args, before)))

        start = time.perf_counter()
        try:
            result, notes, changed = await owner.call(
                user,
                on_device,
                label=call.function.name,
                share_key=call.share_key if self.share_readings else None,
                cost=self.cost(call),
            )
        except DeviceTimeout as exc:
            hold = owner.hold_status(user)
            if hold is None or hold["by"] == "you":
                raise
            # It waited behind another user's hold: say so (never who).
            raise DeviceTimeout(
                f"{exc.message}: the device is held by another user's script "
                f"({hold['seconds_left']:g} s more at most)",
                details={"hold": hold},
            ) from None
        elapsed = (time.perf_counter() - start) * 1000
        return CallResult(call.function.name, result, notes, round(elapsed, 3), changed)

    # ------------------------------------------------------------------ the Device interface

    async def take_hold(self, user: str, seconds: object, *, teacher: bool = False) -> Release:
        hold = await self.hold(user, seconds, teacher=teacher)
        return functools.partial(self.owner.release, hold)

    def hold_info(self, user: str) -> HoldInfo | None:
        hold = self.owner.current_hold
        return None if hold is None else HoldInfo(hold.user, hold.number)

    def hold_status(self, user: str | None) -> dict[str, Any] | None:
        return self.owner.hold_status(user)

    def summary(self, user: str) -> dict[str, Any]:
        owner = self.owner
        return {"state": owner.state, "fault": owner.fault, "queue": len(owner.queue)}

    async def devices(self, user: str) -> list[dict[str, Any]]:
        owner = self.owner
        return [
            {
                "name": "local",
                "host": socket.gethostname(),
                "backend": owner.backend.describe(),
                "bench": self.bench_name,
                "experiment": self.experiment,
                "firmware": owner.firmware,
                "state": owner.state,
                "queue": len(owner.queue),
                "yours": True,
            }
        ]

    async def experiments(self, user: str) -> list[dict[str, Any]]:
        owner = self.owner
        return [
            experiment_summary(
                self.experiment,
                self.experiment_description,
                [
                    {
                        "name": "local",
                        "state": owner.state,
                        "queue": len(owner.queue),
                        "hold": owner.current_hold is not None,
                    }
                ],
                yours=True,
            )
        ]

    async def set_experiment(self, user: str, experiment: str) -> dict[str, Any]:
        if experiment != self.experiment:
            raise NotFound(
                f"no experiment named {experiment!r} is served here (this server serves "
                f"{self.experiment!r} only); see GET /v1/experiments",
                details={"experiment": experiment},
            )
        (summary,) = await self.experiments(user)
        return summary

    async def status(self, user: str) -> dict[str, Any]:
        owner = self.owner
        return {
            **owner.status(user),
            "context": owner.context_status(user),
            "bench": owner.contexts.bench.to_json(),
        }

    async def reset_context(self, user: str) -> dict[str, Any]:
        self.owner.reset_context(user)
        return self.owner.context_status(user)

    async def change_bench(
        self, user: str, data: Any, store: StoreBench, experiment: str | None = None
    ) -> BenchChange:
        if experiment is not None and experiment != self.experiment:
            raise NotFound(
                f"no experiment named {experiment!r} is served here (this server serves "
                f"{self.experiment!r} only); see GET /v1/experiments",
                details={"experiment": experiment},
            )
        async with self.bench_lock:
            old = self.owner.contexts.bench
            bench = self.bench_with(data)
            await store(self.bench_changes(bench))
            self.owner.set_bench(bench)
        return BenchChange(
            bench.to_json(), bench.diff(self.configured_bench), bench.diff(old), self.experiment
        )

    # ------------------------------------------------------------------ the bench

    @property
    def configured_bench(self) -> Outputs:
        """The bench before any teacher's change: the bench file's, or the default."""
        return self.owner.backend.bench

    def bench_with(self, data: Any) -> Outputs:
        """The bench with ``data`` (output names and JSON values) applied, each checked
        like the function arguments that set it. Raises InputError naming the output."""
        return check_outputs(self.owner.contexts.bench, changes_from_json(data))

    def bench_changes(self, bench: Outputs) -> dict[str, Any]:
        """What ``bench`` changes from the configured bench (JSON values, to store)."""
        return {name: value_to_json(bench[name]) for name in bench.diff(self.configured_bench)}


def stored_bench(configured: Outputs, stored: Mapping[str, Any]) -> Outputs:
    """``configured`` with the outputs teachers set (stored as JSON). A stored value that
    no longer checks (a newer rule) is skipped with a warning, never fatal."""
    try:
        return check_outputs(configured, changes_from_json(dict(stored)))
    except InputError as exc:
        log.warning("the stored bench does not check (%s): applying it output by output", exc)
    bench = configured
    for name, value in stored.items():
        try:
            bench = check_outputs(bench, changes_from_json({name: value}))
        except InputError as exc:
            log.warning("ignoring the stored bench output %s: %s", name, exc.message)
    return bench


def _then(
    steps: Generator[float, None, Any], convert: Callable[[Any], Any]
) -> Generator[float, None, Any]:
    return convert((yield from steps))


async def open_instrument(settings: Settings, stored_outputs: dict[str, Any]) -> Instrument:
    """Pick the backend (a USB scan may block: off the loop), start the device owner.

    ``stored_outputs``: the bench's outputs as teachers set them (``lab_bench_outputs``),
    over the configured bench (the bench file's or the default).
    """
    bench_file = settings.emulator.bench
    try:
        experiment = load_experiment(bench_file)
    except OSError as exc:
        raise InputError(f"cannot read the emulator bench file {bench_file}: {exc}") from None
    backend = await asyncio.to_thread(select_backend, settings.device, settings.emulator)
    owner = DeviceOwner(backend, settings.device, bench=stored_bench(backend.bench, stored_outputs))
    await owner.start()
    instrument = Instrument(
        owner,
        default_registry(settings.functions),
        settings.functions,
        share_readings=settings.device.share_readings,
    )
    instrument.bench_name = bench_file.stem if bench_file is not None else "default"
    instrument.experiment, instrument.experiment_description = experiment
    return instrument


def experiment_summary(
    name: str, description: str, devices: Sequence[Mapping[str, Any]], *, yours: bool
) -> dict[str, Any]:
    """``GET /v1/experiments``' entry for one experiment, from its devices' ``name``,
    ``state``, ``queue`` and ``hold`` (whether someone holds it): free devices (connected,
    nothing queued, not held), busy ones (something queued or held), calls queued."""
    connected = [d for d in devices if d["state"] == "connected"]
    busy = sum(1 for d in connected if int(d["queue"]) > 0 or d["hold"])
    return {
        "name": name,
        "description": description,
        "devices": sorted(str(d["name"]) for d in devices),
        "free": len(connected) - busy,
        "busy": busy,
        "queue": sum(int(d["queue"]) for d in devices),
        "yours": yours,
    }
