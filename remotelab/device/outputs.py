"""The instrument's outputs as data (pure): what persists on the device between calls.

A PSLab keeps what it was last told: the waveforms on SI1/SI2, the voltages on PV1-PV3,
the current on PCS, the square waves (or levels, or reference clock) on SQ1-SQ4, and the
gain of CH1/CH2 that scales every later capture. An :class:`Outputs` is one complete
setting of all of them, by name (:data:`NAMES`):

========================  ====================================================  =========
name                      value                                                 kind
========================  ====================================================  =========
``SI1``, ``SI2``          :class:`Wave`: shape (sine, tria, off), frequency;   ``wave``
                          SI2 also the phase by which it leads SI1 when both
                          were started together (else None: unspecified)
``PV1`` ``PV2`` ``PV3``   volts (float)                                         ``power``
``PCS``                   amperes (float)                                       ``power``
``SQ1`` ... ``SQ4``       :class:`Square`: low, high, pwm (frequency, duty,     ``pwm``
                          phase) or the reference clock (prescaler)
``CH1_RANGE``             the input range of CH1 in volts (16 = gain 1)         ``range``
``CH2_RANGE``             the input range of CH2                                ``range``
========================  ====================================================  =========

The four SQ outputs share one timer and one clock divider: every ``pwm`` pin has the same
frequency and every ``clock`` pin the same prescaler (:func:`check_invariants`).

Outputs are immutable and compare by value; :attr:`Outputs.fingerprint` names a setting in
a few characters, :meth:`Outputs.diff` lists the outputs two settings disagree on. Nothing
here touches a device: :mod:`remotelab.device.contexts` keeps one setting per user, the
device owner applies the differences (:mod:`remotelab.device.switch`), and each function
declares what it sets (:mod:`remotelab.device.functions.effects`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from remotelab.errors import InputError

Shape = Literal["sine", "tria", "off"]
Mode = Literal["low", "high", "pwm", "clock"]
Kind = Literal["wave", "power", "pwm", "range"]

SI_OUTPUTS: Final = ("SI1", "SI2")
POWER_OUTPUTS: Final = ("PV1", "PV2", "PV3", "PCS")
SQ_OUTPUTS: Final = ("SQ1", "SQ2", "SQ3", "SQ4")
RANGE_OUTPUTS: Final = ("CH1_RANGE", "CH2_RANGE")
#: Every output, in the order they are listed and applied.
NAMES: Final = (*SI_OUTPUTS, *POWER_OUTPUTS, *SQ_OUTPUTS, *RANGE_OUTPUTS)
KIND: Final[dict[str, Kind]] = {
    **dict.fromkeys(SI_OUTPUTS, "wave"),
    **dict.fromkeys(POWER_OUTPUTS, "power"),
    **dict.fromkeys(SQ_OUTPUTS, "pwm"),
    **dict.fromkeys(RANGE_OUTPUTS, "range"),
}
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
SHAPES: Final[tuple[Shape, ...]] = get_args(Shape)
MODES: Final[tuple[Mode, ...]] = get_args(Mode)


@dataclass(frozen=True)
class Wave:
    """What SI1 or SI2 plays: a sine or triangle table, or a flat one (``off``), at a rate.

    ``phase`` (SI2 only): degrees by which SI2 leads SI1, when the two were started
    together; None when they were started apart (their phase is then unspecified).
    """

    shape: Shape
    frequency: float
    phase: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"shape": self.shape, "frequency": self.frequency, "phase": self.phase}


@dataclass(frozen=True)
class Square:
    """What one of SQ1-SQ4 outputs.

    ``low``/``high``: a level. ``pwm``: a square wave of ``frequency`` Hz (shared by every
    pwm pin), ``duty`` (0 < duty < 1) and ``phase`` (0 <= phase < 1 of a period, from
    the timer's start). ``clock``: the 128 MHz reference clock divided by 2**``prescaler``
    (shared by every clock pin).
    """

    mode: Mode
    frequency: float | None = None
    duty: float | None = None
    phase: float | None = None
    prescaler: int | None = None

    @classmethod
    def level(cls, high: bool) -> Square:
        return HIGH if high else LOW

    @classmethod
    def pwm(cls, frequency: float, duty: float, phase: float = 0.0) -> Square:
        """A pwm pin; a duty of 0 or 1 is a level (pslab sets those pins LOW or HIGH)."""
        if duty <= 0:
            return LOW
        if duty >= 1:
            return HIGH
        return cls("pwm", float(frequency), float(duty), float(phase))

    @classmethod
    def clock(cls, prescaler: int) -> Square:
        return cls("clock", prescaler=int(prescaler))

    def to_json(self) -> dict[str, Any]:
        if self.mode == "pwm":
            return {
                "mode": "pwm",
                "frequency": self.frequency,
                "duty": self.duty,
                "phase": self.phase,
            }
        if self.mode == "clock":
            return {"mode": "clock", "prescaler": self.prescaler}
        return {"mode": self.mode}


LOW: Final = Square("low")
HIGH: Final = Square("high")

Value = Wave | Square | float


def value_to_json(value: Value) -> Any:
    return value if isinstance(value, float) else value.to_json()


class Outputs(Mapping[str, Value]):
    """A complete setting of every output (immutable; equal when every value is)."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        missing = [n for n in NAMES if n not in values]
        unknown = [n for n in values if n not in KIND]
        if missing or unknown:
            raise ValueError(f"outputs: missing {missing}, unknown {unknown}")
        self._values: dict[str, Value] = {name: values[name] for name in NAMES}

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outputs):
            return NotImplemented
        return self is other or self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        return f"Outputs({self.fingerprint})"

    def wave(self, name: str) -> Wave:
        value = self._values[name]
        assert isinstance(value, Wave), name
        return value

    def square(self, name: str) -> Square:
        value = self._values[name]
        assert isinstance(value, Square), name
        return value

    def number(self, name: str) -> float:
        value = self._values[name]
        assert isinstance(value, float), name
        return value

    def replace(self, changes: Mapping[str, Value]) -> Outputs:
        """These outputs with ``changes`` applied (``self`` when they change nothing)."""
        unknown = [name for name in changes if name not in KIND]
        if unknown:
            raise ValueError(f"outputs: unknown {unknown}")
        if all(self._values[name] == value for name, value in changes.items()):
            return self
        return Outputs({**self._values, **changes})

    def diff(self, other: Outputs | None) -> tuple[str, ...]:
        """The outputs whose values differ from ``other``'s, in :data:`NAMES` order.

        ``other`` None (a device in an unknown state) differs everywhere.
        """
        if other is None:
            return NAMES
        if other is self or other.fingerprint == self.fingerprint:
            return ()
        return tuple(name for name in NAMES if self._values[name] != other._values[name])

    def to_json(self) -> dict[str, Any]:
        return {name: value_to_json(value) for name, value in self._values.items()}

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short name of this setting: equal outputs have equal fingerprints."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


def kinds_of(names: tuple[str, ...] | list[str]) -> set[Kind]:
    """The kinds of output among ``names`` (to wait for each kind's settle time)."""
    return {KIND[name] for name in names}


# --- invariants and the JSON form --------------------------------------------------


def check_invariants(outputs: Outputs) -> None:
    """Raise InputError when the SQ pins disagree on their shared timer or clock divider."""
    pwm = {outputs.square(n).frequency for n in SQ_OUTPUTS if outputs.square(n).mode == "pwm"}
    if len(pwm) > 1:
        raise InputError(
            "SQ1-SQ4 share one timer: every pwm output needs the same frequency, got "
            + ", ".join(f"{f:g}" for f in sorted(f for f in pwm if f is not None)),
            details={"outputs": list(SQ_OUTPUTS)},
        )
    clock = {outputs.square(n).prescaler for n in SQ_OUTPUTS if outputs.square(n).mode == "clock"}
    if len(clock) > 1:
        raise InputError(
            "SQ1-SQ4 share one clock divider: every clock output needs the same prescaler",
            details={"outputs": list(SQ_OUTPUTS)},
        )
    if outputs.wave("SI1").phase is not None:
        raise InputError("SI1 has no phase: the phase of SI2 is relative to SI1")


def _error(name: str, message: str, **details: Any) -> InputError:
    return InputError(f"{name}: {message}", details={"output": name, **details})


def _number(name: str, field: str, value: Any, *, nullable: bool = False) -> float | None:
    where = f"{name}.{field}" if field else name
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(where, f"must be a number, not {json.dumps(value)[:40]}")
    number = float(value)
    if not math.isfinite(number):
        raise _error(where, "must be a finite number")
    return number


def _fields(name: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _error(name, "must be an object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _error(name, f"unknown fields {unknown}; allowed: {sorted(allowed)}")
    return data


def value_from_json(name: str, data: Any) -> Value:
    """One output's value from its JSON form (structure only: ranges are checked by
    :func:`remotelab.device.functions.effects.check_outputs`). Raises InputError."""
    kind = KIND.get(name)
    if kind is None:
        raise InputError(
            f"unknown output {name!r}; outputs: {', '.join(NAMES)}", details={"output": name}
        )
    if kind in ("power", "range"):
        number = _number(name, "", data)
        assert number is not None
        return number
    if kind == "wave":
        fields = _fields(name, data, {"shape", "frequency", "phase"})
        shape = fields.get("shape")
        if shape not in SHAPES:
            raise _error(f"{name}.shape", f"must be one of {', '.join(SHAPES)}")
        frequency = _number(name, "frequency", fields.get("frequency"))
        assert frequency is not None
        phase = _number(name, "phase", fields.get("phase"), nullable=True)
        return Wave(shape, frequency, phase)
    fields = _fields(name, data, {"mode", "frequency", "duty", "phase", "prescaler"})
    mode = fields.get("mode")
    if mode not in MODES:
        raise _error(f"{name}.mode", f"must be one of {', '.join(MODES)}")
    needed = {"pwm": {"frequency", "duty"}, "clock": {"prescaler"}}.get(mode, set())
    optional = {"pwm": {"phase"}}.get(mode, set())
    stray = sorted(k for k in fields if k != "mode" and k not in needed | optional)
    if stray:
        raise _error(name, f"a {mode} output has no {', '.join(stray)}")
    absent = sorted(needed - set(fields))
    if absent:
        raise _error(name, f"a {mode} output needs {', '.join(absent)}")
    if mode == "pwm":
        frequency = _number(name, "frequency", fields["frequency"])
        duty = _number(name, "duty", fields["duty"])
        phase = _number(name, "phase", fields.get("phase", 0.0))
        assert frequency is not None and duty is not None and phase is not None
        return Square.pwm(frequency, duty, phase)
    if mode == "clock":
        prescaler = fields["prescaler"]
        if isinstance(prescaler, bool) or not isinstance(prescaler, int):
            raise _error(f"{name}.prescaler", "must be a whole number")
        return Square.clock(prescaler)
    return Square.level(mode == "high")


def changes_from_json(data: Any) -> dict[str, Value]:
    """Output values by name from a JSON object (``{"PV1": 1.5, "SI1": {...}}``)."""
    if not isinstance(data, dict):
        raise InputError("outputs must be an object of output names and values")
    return {name: value_from_json(name, value) for name, value in data.items()}


def with_phase(wave: Wave, phase: float | None) -> Wave:
    return wave if wave.phase == phase else dataclasses.replace(wave, phase=phase)


#: The bench the lab sets at start unless a bench file or a teacher says otherwise:
#: a 1 kHz sine on SI1 (wired to CH1 on the default bench), SI2 off (a flat table),
#: every source at 0, every SQ pin low, CH1 and CH2 at their widest range (±16 V).
DEFAULT_BENCH: Final = Outputs(
    {
        "SI1": Wave("sine", 1000.0),
        "SI2": Wave("off", 1000.0),
        **dict.fromkeys(POWER_OUTPUTS, 0.0),
        **dict.fromkeys(SQ_OUTPUTS, LOW),
        **dict.fromkeys(RANGE_OUTPUTS, 16.0),
    }
)
