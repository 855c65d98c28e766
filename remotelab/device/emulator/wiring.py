"""Bench wiring in pslab's documentation notation: the pin vocabulary and a pure parser.

One connection per string, either a wire between two pins or one component in
series between two pins::

    "SI1 -> CH1"            wire
    "PV1 -> 10k -> VOL"     resistor (R, k, M prefixes; "4k7" style too)
    "CAP -> 1nF -> GND"     capacitor (p, n, u/µ, m prefixes; must touch GND)

:func:`parse_wiring` checks each string on its own; electrical checks that need
the whole bench (two outputs shorted together) are made when the network is
built (:mod:`.network`). Every error is a :class:`~remotelab.errors.InputError`
that names the offending string.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from remotelab.errors import InputError

#: Voltage outputs (name -> output range in volts, as the hardware can drive them).
VOLTAGE_OUTPUTS: dict[str, tuple[float, float]] = {
    "SI1": (-3.3, 3.3),
    "SI2": (-3.3, 3.3),
    "PV1": (-5.0, 5.0),
    "PV2": (-3.3, 3.3),
    "PV3": (0.0, 3.3),
    "SQ1": (0.0, 3.3),
    "SQ2": (0.0, 3.3),
    "SQ3": (0.0, 3.3),
    "SQ4": (0.0, 3.3),
}
#: The programmable current source.
CURRENT_OUTPUT = "PCS"
OUTPUTS: frozenset[str] = frozenset(VOLTAGE_OUTPUTS) | {CURRENT_OUTPUT}
ANALOG_INPUTS: tuple[str, ...] = ("CH1", "CH2", "CH3", "MIC", "CAP", "RES", "VOL", "AN4")
DIGITAL_INPUTS: tuple[str, ...] = ("LA1", "LA2", "LA3", "LA4", "FRQ", "EXT")
GROUND = "GND"
PINS: frozenset[str] = OUTPUTS | set(ANALOG_INPUTS) | set(DIGITAL_INPUTS) | {GROUND}

_ARROW = re.compile(r"\s*->\s*")
_RESISTOR = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<prefix>[kKM]?)\s*(?P<unit>R|Ω|[oO]hms?)?$")
_RESISTOR_RKM = re.compile(r"^(?P<int>\d+)(?P<prefix>[RkKM])(?P<frac>\d+)$")
_CAPACITOR = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<prefix>[pnuµμm]?)\s*[fF]$")
_R_PREFIX = {"": 1.0, "R": 1.0, "k": 1e3, "K": 1e3, "M": 1e6}
_C_PREFIX = {"": 1.0, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3}


@dataclass(frozen=True)
class Component:
    """A two-terminal passive part: ``kind`` "R" (ohms) or "C" (farads)."""

    kind: Literal["R", "C"]
    value: float


@dataclass(frozen=True)
class Connection:
    """One parsed wiring string: pins ``a`` and ``b``, joined by a wire or a component."""

    a: str
    b: str
    component: Component | None
    text: str


def parse_component(token: str) -> Component | None:
    """Parse a component value such as ``10k``, ``4k7``, ``100R``, ``1nF``, ``4.7µF``.

    Returns None when ``token`` is not a component value (it may be a pin).
    """
    token = token.strip()
    if m := _RESISTOR_RKM.match(token):
        value = float(f"{m['int']}.{m['frac']}") * _R_PREFIX[m["prefix"]]
        return Component("R", value)
    if m := _RESISTOR.match(token):
        return Component("R", float(m["num"]) * _R_PREFIX[m["prefix"]])
    if m := _CAPACITOR.match(token):
        return Component("C", float(m["num"]) * _C_PREFIX[m["prefix"]])
    return None


def _pin(token: str, text: str) -> str:
    name = token.strip().upper()
    if name not in PINS:
        valid = ", ".join(sorted(PINS))
        raise InputError(
            f"unknown pin {token.strip()!r} in wiring {text!r}; valid pins: {valid}",
            details={"wiring": text},
        )
    return name


def parse_connection(text: str) -> Connection:
    """Parse one wiring string.

    Raises:
        InputError: the string is not ``PIN -> PIN`` or ``PIN -> VALUE -> PIN`` with
            known pins and a positive resistor or capacitor value, joins a pin to
            itself, or puts a capacitor anywhere but between a pin and GND.
    """
    if not isinstance(text, str):
        raise InputError(f"wiring entries must be strings, got {text!r}")
    parts = _ARROW.split(text.strip())
    if len(parts) not in (2, 3) or any(not p.strip() for p in parts):
        raise InputError(
            f"bad wiring {text!r}: expected 'PIN -> PIN' or 'PIN -> VALUE -> PIN'",
            details={"wiring": text},
        )
    a = _pin(parts[0], text)
    b = _pin(parts[-1], text)
    component: Component | None = None
    if len(parts) == 3:
        component = parse_component(parts[1])
        if component is None:
            raise InputError(
                f"bad component value {parts[1].strip()!r} in wiring {text!r}: use a resistor "
                "like 100R, 10k, 4k7, 1M or a capacitor like 100pF, 1nF, 4.7uF",
                details={"wiring": text},
            )
        if not component.value > 0:
            raise InputError(
                f"component value must be positive in wiring {text!r}", details={"wiring": text}
            )
        if component.kind == "C" and GROUND not in (a, b):
            raise InputError(
                f"capacitor in wiring {text!r} must connect a pin to GND "
                "(the emulator models capacitors to ground only)",
                details={"wiring": text},
            )
    if a == b:
        raise InputError(f"wiring {text!r} connects {a} to itself", details={"wiring": text})
    return Connection(a, b, component, text)


def parse_wiring(lines: Iterable[str]) -> tuple[Connection, ...]:
    """Parse a list of wiring strings (see :func:`parse_connection`)."""
    if isinstance(lines, str):
        raise InputError("wiring must be a list of strings, not one string")
    return tuple(parse_connection(line) for line in lines)


def load_bench_file(path: str | Path) -> list[str]:
    """Read the ``wiring`` list of a TOML bench file (see :func:`load_bench`)."""
    return load_bench(path)[0]


def load_bench(path: str | Path) -> tuple[list[str], dict[str, Any]]:
    """Read a TOML bench file: its ``wiring`` list and its ``outputs`` table (or ``{}``).

    The file holds ``wiring = ["SI1 -> CH1", ...]`` and optionally an ``[outputs]`` table
    of the outputs the lab sets at start (``PV1 = 1.5``, ``SI1 = {shape = "sine",
    frequency = 1000}``...; checked by the device owner's output model, not here) and an
    ``[experiment]`` table (see :func:`load_experiment`).

    Raises:
        InputError: the file is not valid TOML, or has no ``wiring`` list of strings,
            or has other keys, or an ``outputs`` that is not a table.
        OSError: the file cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"bench file {str(path)!r} is not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"wiring", "outputs", "experiment"})
    if extra:
        raise InputError(
            f"bench file {str(path)!r}: unknown keys {extra}; only 'wiring', 'outputs' "
            "and 'experiment' are allowed"
        )
    wiring = data.get("wiring")
    if not isinstance(wiring, list) or not all(isinstance(w, str) for w in wiring):
        raise InputError(f'bench file {str(path)!r} needs wiring = ["PIN -> PIN", ...]')
    outputs = data.get("outputs", {})
    if not isinstance(outputs, dict):
        raise InputError(f"bench file {str(path)!r}: 'outputs' must be a table ([outputs])")
    return list(wiring), outputs


#: The longest experiment name and description a bench file may give.
EXPERIMENT_NAME_MAX = 64
EXPERIMENT_DESCRIPTION_MAX = 2000


def load_experiment(path: str | Path | None) -> tuple[str, str]:
    """The experiment a bench file serves: ``(name, description)``.

    From its optional ``[experiment]`` table (``name = "RC filter"``, ``description =
    "..."``); without one, or without a name in it, the name is the file's stem and the
    description empty. No file (the default bench): ``("default", "")``.

    Raises:
        InputError: ``experiment`` is not a table, has other keys, or a name or description
            that is not a string of the allowed length.
        OSError: the file cannot be read.
    """
    if path is None:
        return "default", ""
    load_bench(path)  # the file's own checks first
    table = tomllib.loads(Path(path).read_text("utf-8")).get("experiment", {})
    where = f"bench file {str(path)!r}"
    if not isinstance(table, dict):
        raise InputError(f"{where}: 'experiment' must be a table ([experiment])")
    extra = sorted(set(table) - {"name", "description"})
    if extra:
        raise InputError(
            f"{where}: unknown keys {extra} in [experiment]; only 'name' and 'description'"
        )
    name = table.get("name", Path(path).stem)
    description = table.get("description", "")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= EXPERIMENT_NAME_MAX:
        raise InputError(
            f"{where}: [experiment] name must be a string of 1 to {EXPERIMENT_NAME_MAX} characters"
        )
    if not isinstance(description, str) or len(description) > EXPERIMENT_DESCRIPTION_MAX:
        raise InputError(
            f"{where}: [experiment] description must be a string of at most "
            f"{EXPERIMENT_DESCRIPTION_MAX} characters"
        )
    return name.strip(), description.strip()
