"""Where a stream's frames come from: the seam between the hub and the device.

The hub (:mod:`.hub`) keeps one *frame source* per distinct configuration and hands its
frames to the subscribers. It opens sources through an :class:`OpenSource` the wiring
gives it, and never knows which kind it has:

- a local acquisition loop (:mod:`.acquisition`), capturing through the device owner of
  this process (the embedded default; also what a ``remotelab agent`` runs);
- a subscription to the frames an agent publishes on NATS (``remotelab.cluster.front``).

Pure declarations, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

from remotelab.device.functions import ParsedCall
from remotelab.device.interface import Device
from remotelab.streaming.messages import FrameBody, Subscribe

#: ``deliver(body, seq, timestamp, x0, dx, users)``: a frame for the subscribers among
#: ``users`` (those whose context it was captured in).
Deliver = Callable[[FrameBody, int, float, float, float, Collection[str]], None]

#: The users subscribed now (ids, sorted).
Users = Callable[[], list[str]]


def prepare(device: Device, sub: Subscribe) -> ParsedCall:
    """Check a subscription's configuration against the function registry (raises
    FunctionStringError). A capture expected to hold the device longer than a call may is
    refused like a call."""
    name, kwargs = sub.config.call()
    return device.bind(name, [], kwargs)


class Report(Protocol):
    """``report(code, message)``: a status or an error for the subscribers (but ``skip``;
    only those of the users in ``only`` when it is given)."""

    def __call__(
        self, code: str, message: str, *, skip: str | None = None, only: Collection[str] = ()
    ) -> None: ...


class FrameSource(Protocol):
    """Frames for one configuration until stopped."""

    def start(self) -> None:
        """Begin (returns at once; frames go to ``deliver``)."""
        ...

    def cancel(self) -> None:
        """Stop without waiting (:meth:`ended` waits)."""
        ...

    def joined(self, user: str) -> None:
        """``user`` subscribed (again): statuses about the trigger are said to them anew."""
        ...

    async def stop(self) -> None:
        """Stop and wait until stopped."""
        ...

    async def ended(self) -> None:
        """Wait until a cancelled source has ended (raises only the caller's own
        cancellation)."""
        ...


class OpenSource(Protocol):
    """Opens the frame source of one configuration (``call``: it, checked)."""

    def __call__(
        self,
        sub: Subscribe,
        call: ParsedCall,
        deliver: Deliver,
        report: Report,
        *,
        max_fps: float,
        users: Users,
    ) -> FrameSource: ...
