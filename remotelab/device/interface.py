"""The one interface to the instrument that the API, the sandbox and the streams use.

:class:`Device` is what the rest of the server knows of the instrument: check a call,
run it on behalf of a user (in that user's context), hold the device for a script, read
and change the state users see (their context, the bench, the queue). Two
implementations sit behind it:

- *local* (:class:`remotelab.device.service.Instrument`): the device owner and its thread
  in this process, as ``remotelab serve`` runs with no NATS URL set (the embedded default);
- *NATS* (:class:`remotelab.cluster.front.NatsDevice`): each call goes by request/reply to
  a ``remotelab agent`` that owns a device on some host (docs/reference/deploy.md).

Only the wiring (``remotelab/app.py``) picks one; an import-linter contract keeps the
API, the sandbox and the streams off both implementations' modules. Live streams have
their own seam (``remotelab.streaming.sources``), because an acquisition loop runs
where the device is.

Pure declarations: no I/O, nothing imported beyond the device's pure types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from remotelab.device.functions import ParsedCall, Registry


@dataclass(frozen=True)
class CallResult:
    """What one call answered, JSON-safe (see ``POST /v1/functions/run``)."""

    function: str
    #: A JSON value; from a NATS device, its JSON text (a :class:`~remotelab.device.rawjson.
    #: RawJSON`, relayed as is: :func:`~remotelab.device.rawjson.plain` gives the value).
    result: Any
    notes: list[str]
    elapsed_ms: float
    #: The outputs whose value the call changed in the caller's context (``["SI1"]``).
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class HoldInfo:
    """The hold in force: who holds the device, and a number telling one hold from the
    next (a run says "held" once per hold)."""

    user: str
    number: int


@dataclass(frozen=True)
class BenchChange:
    """A change of the bench as ``PUT /v1/device/bench`` answers it."""

    #: The bench now, JSON values by output name.
    outputs: dict[str, Any]
    #: The outputs that differ from the configured bench (the bench file's or the default).
    differs_from_default: tuple[str, ...]
    #: The outputs this change changed.
    changed: tuple[str, ...]
    #: The experiment whose bench this is (its devices have it).
    experiment: str


#: Stores the bench's changes from the configured bench (JSON values) before they apply.
StoreBench = Callable[[dict[str, Any]], Awaitable[None]]
#: Ends a hold (idempotent).
Release = Callable[[], None]


class Device(Protocol):
    """The instrument as the API, the sandbox's server side and the streams see it.

    ``user`` is always the caller's id as a string, already authenticated and authorized
    by the caller of these methods: an implementation trusts it.
    """

    @property
    def registry(self) -> Registry:
        """The whitelist of functions (``GET /v1/functions``)."""
        ...

    def parse(self, source: str) -> ParsedCall:
        """Check a function string, its expected device time included.

        Raises FunctionStringError naming the problem."""
        ...

    def bind(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> ParsedCall:
        """Check a call given by name and literal values (raises FunctionStringError)."""
        ...

    def validate(self, source: str) -> None:
        """Check a function string without running it (widget buttons)."""
        ...

    async def run_parsed(self, user: str, call: ParsedCall) -> CallResult:
        """Queue and run a checked call in ``user``'s context.

        Raises DeviceBusy (429), DeviceUnavailable or DeviceTimeout (503), InputError for
        arguments the device refused."""
        ...

    async def run_call(
        self, user: str, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> CallResult:
        """Check and run a call given by name and literal values (sandbox proxies)."""
        ...

    async def take_hold(self, user: str, seconds: object, *, teacher: bool = False) -> Release:
        """Hold the device for ``user`` (a script's ``with hold(seconds):``) within the limit
        of their role; waits while someone else holds it. Returns what ends the hold.

        Raises InputError naming the limit's setting."""
        ...

    def hold_info(self, user: str) -> HoldInfo | None:
        """The hold in force on ``user``'s device, if any (who holds it is never shown to
        other users)."""
        ...

    def hold_status(self, user: str | None) -> dict[str, Any] | None:
        """The hold in force as ``user`` may see it: ``{by, seconds_left, waiting}``."""
        ...

    def summary(self, user: str) -> dict[str, Any]:
        """What a stream's ``status`` message says of ``user``'s device: ``{state, fault,
        queue}``."""
        ...

    async def devices(self, user: str) -> list[dict[str, Any]]:
        """``GET /v1/devices``: every device (name, host, backend, bench, firmware, state,
        queue) and whether ``user``'s calls go to it (``yours``)."""
        ...

    async def experiments(self, user: str) -> list[dict[str, Any]]:
        """``GET /v1/experiments``: every experiment (name, description, its devices, how
        many are free and busy, calls queued) and whether ``user``'s calls go to it
        (``yours``)."""
        ...

    async def set_experiment(self, user: str, experiment: str) -> dict[str, Any]:
        """``PUT /v1/experiment``: put ``user`` on ``experiment`` (their calls then go to its
        least busy device); returns its entry as :meth:`experiments` gives it. Raises
        NotFound for a name no device serves now."""
        ...

    async def status(self, user: str) -> dict[str, Any]:
        """``GET /v1/device``: the device's state, ``user``'s context and the bench."""
        ...

    async def reset_context(self, user: str) -> dict[str, Any]:
        """``user``'s outputs back to the bench's; returns their context as
        ``GET /v1/device`` shows it."""
        ...

    async def change_bench(
        self, user: str, data: Any, store: StoreBench, experiment: str | None = None
    ) -> BenchChange:
        """Check ``data`` (output names and JSON values) and apply it to the bench of
        ``experiment`` (None: the experiment of ``user``'s device): every user of its devices
        who did not set an output gets the new value. What then differs from the configured
        bench is kept: by ``store`` in the embedded server (one device, one bench), per
        experiment over NATS. One change at a time. Raises InputError naming the output,
        NotFound for an experiment not served."""
        ...
