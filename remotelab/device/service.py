"""Instrument calls by name: function strings and sandbox proxies, one path to the device.

A function string (HTTP) or a ``(name, args, kwargs)`` triple (a sandboxed
script's proxy) is checked against the registry before the device sees
anything, queued on the owner's fair queue on behalf of a user, run on the
device thread, and converted to JSON-safe data there.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remotelab.config import FunctionSettings
from remotelab.device.functions import (
    ParsedCall,
    Registry,
    bind_call,
    parse_call,
    to_json_safe,
)
from remotelab.device.owner import DeviceOwner

PARSE_CACHE_SIZE = 1024


@dataclass(frozen=True)
class CallResult:
    function: str
    result: Any
    notes: list[str]
    elapsed_ms: float


class Instrument:
    """The registry, its limits and the device owner, behind two entry points."""

    def __init__(
        self,
        owner: DeviceOwner,
        registry: Registry,
        limits: FunctionSettings,
        *,
        share_readings: bool = True,
    ) -> None:
        self.owner = owner
        self.registry = registry
        self.limits = limits
        #: Whether identical shared readings waiting together get one measurement (ADR 0007).
        self.share_readings = share_readings
        self._parsed: OrderedDict[str, ParsedCall] = OrderedDict()

    def parse(self, source: str) -> ParsedCall:
        """Check a function string. Raises FunctionStringError naming the problem."""
        cached = self._parsed.get(source)
        if cached is not None:
            return cached
        call = parse_call(
            source,
            self.registry,
            max_chars=self.limits.max_chars,
            max_nesting=self.limits.max_nesting,
        )
        # Good strings repeat (buttons, polling programs); a ParsedCall is immutable in use
        # (invoke copies its arguments), so it can be shared.
        self._parsed[source] = call
        if len(self._parsed) > PARSE_CACHE_SIZE:
            self._parsed.popitem(last=False)
        return call

    def validate(self, source: str) -> None:
        """Check a function string without running it (widget buttons)."""
        self.parse(source)

    async def run(self, user: str, source: str) -> CallResult:
        """Parse, queue, run and convert one function string."""
        return await self.run_parsed(user, self.parse(source))

    async def run_call(
        self, user: str, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> CallResult:
        """Check and run a call given by name and literal values (sandbox proxies)."""
        return await self.run_parsed(user, bind_call(self.registry, name, args, kwargs))

    async def run_parsed(self, user: str, call: ParsedCall) -> CallResult:
        limits = self.limits

        def on_device(lab: Any) -> tuple[Any, list[str]]:
            return to_json_safe(
                call.invoke(lab),
                max_items=limits.max_result_items,
                max_depth=limits.max_result_depth,
                max_notes=limits.max_result_notes,
            )

        start = time.perf_counter()
        result, notes = await self.owner.call(
            user,
            on_device,
            label=call.function.name,
            share_key=call.share_key if self.share_readings else None,
        )
        elapsed = (time.perf_counter() - start) * 1000
        return CallResult(call.function.name, result, notes, round(elapsed, 3))
