"""The stream protocol, pure: message validation and the binary frame format.

Text messages are JSON objects tagged with ``"type"`` (docs/reference/streaming.md).
Client → server: ``subscribe``, ``unsubscribe``, ``ping``. Server → client:
``subscribed``, ``unsubscribed``, ``status``, ``error``, ``pong``; frames are binary.

A frame (little-endian)::

    offset size  field
    0      4     magic b"RLF1"
    4      1     encoding: 1 = int16 + per-channel scale/offset, 2 = float32
    5      1     channels (n)
    6      2     length of the subscription id in bytes (k)
    8      4     samples per channel (m)
    12     8     sequence number (u64, per subscription, from 0)
    20     8     capture time (f64, POSIX seconds)
    28     4     x0: time of the first sample (f32, µs)
    32     4     dx: time between samples (f32, µs; 0 for single readings)
    36     k     subscription id (UTF-8)
    ...    8n    int16 only: per channel scale (f32) then offset (f32): volts = raw*scale+offset
    ...          samples, channel after channel: m int16 or m float32 each

An int16 frame of one 1,000-sample channel is 36 + k + 8 + 2,000 bytes: about 2.05 bytes
per sample.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from remotelab.device.functions.hardware import trace_names
from remotelab.errors import InputError

MAGIC = b"RLF1"
INT16 = 1
FLOAT32 = 2
HEADER = struct.Struct("<4sBBHIQdff")
INSTRUMENTS = ("oscilloscope", "multimeter", "logic_analyzer")
MAX_ID_CHARS = 64
MAX_DEPTH = 32  # arrays and objects nested in one client message
#: Volts above the trigger level a triggered trace may start at (noise, a 10-bit step of CH1).
TRIGGER_SLACK = 0.1

Instrument = Literal["oscilloscope", "multimeter", "logic_analyzer"]


class ProtocolError(InputError):
    """A message the server cannot act on; answered with an ``error`` message."""

    code = "bad_message"


@dataclass(frozen=True)
class ScopeConfig:
    channels: int | str
    samples: int
    timegap: float
    trigger: float | None = None
    trigger_channel: str | None = None
    range: float | None = None

    def call(self) -> tuple[str, dict[str, Any]]:
        return "oscilloscope_capture", {
            "channels": self.channels,
            "samples": self.samples,
            "timegap": self.timegap,
            "trigger": self.trigger,
            "trigger_channel": self.trigger_channel,
        }

    def trace_names(self) -> list[str]:
        """The inputs of a frame's traces, in order."""
        if isinstance(self.channels, str):
            return [self.channels]
        return trace_names(self.channels)

    def trigger_seen(self, traces: Sequence[npt.ArrayLike]) -> bool | None:
        """Whether a capture with a trigger level shows the trigger on the trigger channel's
        trace: it crosses the level (samples below it and at or above it), or it starts at
        the level (within one sample's rise and :data:`TRIGGER_SLACK`), as a capture that
        began on a rising edge does when it is shorter than the signal's rise. False: the
        capture started on the trigger's timeout (free-running) — the level is above the
        trace, or below the whole of it. None: no trigger, or the trigger channel is not
        among the traces."""
        if self.trigger is None:
            return None
        names = self.trace_names()
        channel = self.trigger_channel or names[0]
        if channel not in names or names.index(channel) >= len(traces):
            return None
        trace = np.asarray(traces[names.index(channel)], dtype=np.float64)
        if trace.size == 0:
            return None
        level = self.trigger
        if trace.max() < level:
            return False
        if trace.min() < level:
            return True
        rise = abs(float(trace[1] - trace[0])) if trace.size > 1 else 0.0
        return bool(trace[0] - level <= rise + TRIGGER_SLACK)


@dataclass(frozen=True)
class MeterConfig:
    channel: str
    rate: float

    def call(self) -> tuple[str, dict[str, Any]]:
        return "measure_voltage", {"channel": self.channel}


@dataclass(frozen=True)
class LogicConfig:
    channel: str
    rate: float

    def call(self) -> tuple[str, dict[str, Any]]:
        return "logic_analyzer_measure_duty_cycle", {"channel": self.channel, "timeout": 0.2}


Config = ScopeConfig | MeterConfig | LogicConfig


@dataclass(frozen=True)
class Subscribe:
    id: str
    instrument: Instrument
    config: Config

    @property
    def key(self) -> tuple[Any, ...]:
        """Subscriptions with equal keys share one acquisition loop."""
        return (self.instrument, self.config)


@dataclass(frozen=True)
class Unsubscribe:
    id: str


@dataclass(frozen=True)
class Ping:
    data: Any = None


ClientMessage = Subscribe | Unsubscribe | Ping


def _field(data: dict[str, Any], name: str, kinds: tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise ProtocolError(f"{where}: '{name}' is missing")
    value = data[name]
    if isinstance(value, bool) and bool not in kinds:
        raise ProtocolError(f"{where}: '{name}' must be {_kinds(kinds)}, not a boolean")
    if not isinstance(value, kinds):
        raise ProtocolError(f"{where}: '{name}' must be {_kinds(kinds)}")
    return value


def _kinds(kinds: tuple[type, ...]) -> str:
    names = {int: "a number", float: "a number", str: "text", dict: "an object"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _optional_number(data: dict[str, Any], name: str, where: str) -> float | None:
    if data.get(name) is None:
        return None
    return _number(_field(data, name, (int, float), where), name, where)


def _rate(data: dict[str, Any], where: str, max_rate: float) -> float:
    rate = _number(_field(data, "rate", (int, float), where), "rate", where)
    if not (0 < rate <= max_rate) or math.isnan(rate):
        raise ProtocolError(f"{where}: 'rate' must be above 0 and at most {max_rate:g} Hz")
    return rate


def parse_config(instrument: str, data: Any, *, max_rate: float) -> Config:
    """Validate the ``config`` of a subscription (ranges are checked by the registry later)."""
    where = f"{instrument} config"
    if instrument not in INSTRUMENTS:
        raise ProtocolError(
            f"unknown instrument {instrument!r}: choose one of {', '.join(INSTRUMENTS)}"
        )
    if not isinstance(data, dict):
        raise ProtocolError(f"{where} must be an object")
    if instrument == "oscilloscope":
        channels = _field(data, "channels", (int, str), where)
        if isinstance(channels, str):
            channels = channels.upper()
        voltage_range = _optional_number(data, "range", where)
        trigger_channel = data.get("trigger_channel")
        if trigger_channel is not None and not isinstance(trigger_channel, str):
            raise ProtocolError(f"{where}: 'trigger_channel' must be text")
        return ScopeConfig(
            channels=channels,
            samples=int(_field(data, "samples", (int,), where)),
            timegap=_number(_field(data, "timegap", (int, float), where), "timegap", where),
            trigger=_optional_number(data, "trigger", where),
            trigger_channel=trigger_channel.upper() if trigger_channel else None,
            range=voltage_range,
        )
    if instrument == "multimeter":
        channel = str(_field(data, "channel", (str,), where)).upper()
        return MeterConfig(channel=channel, rate=_rate(data, where, max_rate))
    if instrument == "logic_analyzer":
        channel = str(_field(data, "channel", (str,), where)).upper()
        return LogicConfig(channel=channel, rate=_rate(data, where, max_rate))
    raise AssertionError(instrument)


def parse_client_message(raw: str | bytes, *, max_bytes: int, max_rate: float) -> ClientMessage:
    """One client message. Raises :class:`ProtocolError` naming the problem."""
    if isinstance(raw, bytes):
        raise ProtocolError("binary messages are not accepted from clients; send JSON text")
    if len(raw) > max_bytes:
        raise ProtocolError(f"message too long: {len(raw)} characters (at most {max_bytes})")
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
        # A bound below the parser's own: a `ping`'s data is echoed and must be written again.
        deep = not within_depth(data, MAX_DEPTH)
    except ValueError as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    except RecursionError:  # deeper than the parser goes
        deep = True
    if deep:
        raise ProtocolError(f"malformed JSON: nested too deeply (at most {MAX_DEPTH} levels)")
    if not isinstance(data, dict):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    kind = data.get("type")
    if kind == "ping":
        return Ping(data.get("data"))
    if kind not in ("subscribe", "unsubscribe"):
        raise ProtocolError(f"unknown message type {kind!r}: send subscribe, unsubscribe or ping")
    sub_id = _field(data, "id", (str,), kind)
    if not 0 < len(sub_id) <= MAX_ID_CHARS:
        raise ProtocolError(f"{kind}: 'id' must have 1 to {MAX_ID_CHARS} characters")
    if not is_encodable(sub_id):  # every frame carries the id in UTF-8
        raise ProtocolError(f"{kind}: 'id' must be valid Unicode (no lone surrogates)")
    if kind == "unsubscribe":
        return Unsubscribe(sub_id)
    instrument = _field(data, "instrument", (str,), kind)
    config = parse_config(instrument, data.get("config"), max_rate=max_rate)
    return Subscribe(sub_id, instrument, config)


def _not_json(constant: str) -> Any:
    # Python's json reads NaN and Infinity; echoed back (a ping's data, a config) they would
    # make answers that are not JSON for any other parser.
    raise ProtocolError(f"malformed JSON: {constant} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as inf
        raise ProtocolError(f"malformed JSON: {text[:40]} is out of range")
    return value


def _number(value: Any, name: str, where: str) -> float:
    """A JSON number as a float; integers too large for one are refused, not an overflow."""
    try:
        return float(value)
    except OverflowError:
        raise ProtocolError(f"{where}: '{name}' is out of range") from None


def within_depth(value: Any, limit: int) -> bool:
    """Whether JSON ``value`` nests arrays and objects at most ``limit`` levels deep
    (iterative: any depth is measured without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def is_encodable(value: str) -> bool:
    """Whether ``value`` can be written as UTF-8 (JSON text may carry lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(kind: str, **fields: Any) -> str:
    """A server text message."""
    return json.dumps({"type": kind, **fields}, separators=(",", ":"))


# ------------------------------------------------------------------ binary frames


@dataclass(frozen=True)
class Frame:
    id: str
    seq: int
    timestamp: float
    x0: float
    dx: float
    channels: list[npt.NDArray[np.float64]]


@dataclass(frozen=True)
class FrameBody:
    """The part of a frame shared by every subscriber of a loop (all but the header)."""

    encoding: int
    channels: int
    samples: int
    data: bytes


def encode_body(
    channels: list[npt.NDArray[np.float64]] | list[list[float]], *, compact: bool = True
) -> FrameBody:
    """Pack the samples. ``compact``: int16 with a per-channel scale and offset."""
    arrays = [np.nan_to_num(np.asarray(c, dtype=np.float64)) for c in channels]
    samples = len(arrays[0]) if arrays else 0
    encoding = INT16 if compact and samples > 1 else FLOAT32
    if encoding == FLOAT32:
        return FrameBody(
            encoding, len(arrays), samples, b"".join(a.astype("<f4").tobytes() for a in arrays)
        )
    scales = []
    packed = []
    for a in arrays:
        low, high = float(a.min()), float(a.max())
        scale = (high - low) / 65535 if high > low else 1.0
        offset = low + 32768 * scale
        raw = np.clip(np.rint((a - offset) / scale), -32768, 32767).astype("<i2")
        scales.append(struct.pack("<ff", scale, offset))
        packed.append(raw.tobytes())
    return FrameBody(encoding, len(arrays), samples, b"".join(scales + packed))


def frame_bytes(
    sub_id: str, seq: int, timestamp: float, x0: float, dx: float, body: FrameBody
) -> bytes:
    """A whole frame for one subscriber: its header, then the shared body."""
    ident = sub_id.encode()
    head = HEADER.pack(
        MAGIC, body.encoding, body.channels, len(ident), body.samples, seq, timestamp, x0, dx
    )
    return b"".join((head, ident, body.data))


def encode_frame(
    sub_id: str,
    seq: int,
    timestamp: float,
    x0: float,
    dx: float,
    channels: list[npt.NDArray[np.float64]] | list[list[float]],
    *,
    compact: bool = True,
) -> bytes:
    """Pack one frame (:func:`encode_body` and :func:`frame_bytes` in one)."""
    return frame_bytes(sub_id, seq, timestamp, x0, dx, encode_body(channels, compact=compact))


def decode_frame(data: bytes) -> Frame:
    """Unpack a frame (for tests and Python clients). Raises ProtocolError."""
    if len(data) < HEADER.size or data[:4] != MAGIC:
        raise ProtocolError("not a remotelab frame")
    _magic, encoding, n, k, m, seq, timestamp, x0, dx = HEADER.unpack_from(data)
    pos = HEADER.size
    ident = data[pos : pos + k].decode()
    pos += k
    channels = []
    if encoding == INT16:
        params = [struct.unpack_from("<ff", data, pos + 8 * i) for i in range(n)]
        pos += 8 * n
        for scale, offset in params:
            raw = np.frombuffer(data, dtype="<i2", count=m, offset=pos)
            channels.append(raw.astype(np.float64) * scale + offset)
            pos += 2 * m
    elif encoding == FLOAT32:
        for _ in range(n):
            channels.append(np.frombuffer(data, dtype="<f4", count=m, offset=pos).astype(float))
            pos += 4 * m
    else:
        raise ProtocolError(f"unknown frame encoding {encoding}")
    return Frame(ident, seq, timestamp, x0, dx, channels)
