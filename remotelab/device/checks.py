"""The checks every call passes before it is queued, wherever the device is (pure).

A function string is parsed and checked against the registry, a call by name is bound,
and the call's expected device time is held against ``REMOTELAB_DEVICE_MAX_CALL_SECONDS``.
The local device (:mod:`.service`) and the NATS one (``remotelab.cluster.front``) both
run them before anything is queued or sent, so a bad call is a 400 naming the problem.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from remotelab.config import DeviceSettings, FunctionSettings
from remotelab.device.functions import ParsedCall, Registry, bind_call, parse_call
from remotelab.device.functions.timing import MARGIN, duration
from remotelab.device.scheduler import Cost
from remotelab.errors import FunctionStringError

PARSE_CACHE_SIZE = 1024


class CallChecks:
    """The registry and the limits a call is checked against."""

    def __init__(
        self, registry: Registry, limits: FunctionSettings, max_call_seconds: float
    ) -> None:
        self.registry = registry
        self.limits = limits
        #: How long one call may hold the device (``REMOTELAB_DEVICE_MAX_CALL_SECONDS``).
        self.max_call_seconds = max_call_seconds
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
        self.check_time(call)
        # Good strings repeat (buttons, polling programs); a ParsedCall is immutable in use
        # (invoke copies its arguments), so it can be shared.
        self._parsed[source] = call
        if len(self._parsed) > PARSE_CACHE_SIZE:
            self._parsed.popitem(last=False)
        return call

    def bind(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> ParsedCall:
        """Check a call given by name and literal values (sandbox proxies, streams)."""
        call = bind_call(self.registry, name, args, kwargs)
        self.check_time(call)
        return call

    def check_time(self, call: ParsedCall) -> None:
        """Refuse a call expected to hold the device longer than a call may.

        Raises FunctionStringError naming the limit, the expected time and what to change.
        """
        estimate = call.estimate
        limit = self.max_call_seconds
        if estimate.seconds <= limit + MARGIN:
            return
        variable = DeviceSettings.variable("max_call_seconds")
        message = (
            f"{call.function.name}: {estimate.what}, more than the {limit:g} s a call may "
            f"hold the device ({variable})"
        )
        raise FunctionStringError(
            f"{message}; {estimate.advice}" if estimate.advice else message,
            details={
                "function": call.function.name,
                "parameter": estimate.parameter,
                "expected_ms": estimate.ms,
                "expected": duration(estimate.seconds),
                "limit_seconds": limit,
                "setting": variable,
            },
        )

    def validate(self, source: str) -> None:
        """Check a function string without running it (widget buttons)."""
        self.parse(source)

    @staticmethod
    def cost(call: ParsedCall) -> Cost:
        """What the fair queue needs to know of ``call`` before it runs."""
        estimate = call.estimate
        return Cost(estimate.seconds, estimate.engine, estimate.sliced)
