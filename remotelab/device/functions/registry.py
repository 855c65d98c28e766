"""Function specs and the registry of whitelisted functions (pure data).

A :class:`Function` is one name a function string may call: its parameters,
what it returns, a one-line doc, an example, whether it is a pslab-remote
legacy name, and a *binding* that performs the call on a ``pslab.ScienceLab``.
:func:`legacy` derives a pslab-remote name from the pslab 4.x function it spells
the old way. Nothing here talks to a device: the device owner calls
:meth:`Function.invoke` on its own thread with arguments that
:mod:`remotelab.device.functions.parse` has already checked.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from remotelab.device.functions.effects import Effect
from remotelab.device.functions.params import Param, format_literal
from remotelab.device.functions.timing import QUICK, DeviceTime, fixed

Binding = Callable[[Any, dict[str, Any]], Any]
"""Performs a call on a ``pslab.ScienceLab`` with checked arguments; returns the raw result."""

Check = Callable[[str, dict[str, Any]], None]
"""A rule across parameters (``samples`` depends on ``channels``...); raises
:class:`~remotelab.errors.FunctionStringError`. Receives the function name and the
bound arguments."""

CATEGORIES: Final = (
    "multimeter",
    "oscilloscope",
    "waveform generator",
    "PWM generator",
    "power supply",
    "logic analyzer",
    "device",
)
"""The instruments functions are grouped by, in the order the docs list them."""

RESULT_KINDS: Final = {
    "float": "a number",
    "float | null": "a number, or null",
    "int": "a whole number",
    "bool": "true or false",
    "str": "a string",
    "null": "null",
    "traces": "[x, y1, y2, ...]: x in µs, then one list of volts per channel",
    "list[float]": "a list of numbers",
    "list[float] | null": "a list of numbers, or null",
    "list[list[float]]": "one list of numbers per channel",
    "dict[str, bool]": "an object of true/false values",
    "dict[str, float | null]": "an object of numbers or nulls",
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(_number(v) for v in value)


def _traces(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(_numbers(series) for series in value)
        and len({len(series) for series in value}) == 1
    )


_SHAPES: Final[dict[str, Callable[[Any], bool]]] = {
    "float": _number,
    "float | null": lambda v: v is None or _number(v),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "traces": _traces,
    "list[float]": _numbers,
    "list[float] | null": lambda v: v is None or _numbers(v),
    "list[list[float]]": lambda v: isinstance(v, list) and all(_numbers(s) for s in v),
    "dict[str, bool]": lambda v: (
        isinstance(v, dict)
        and all(isinstance(k, str) and isinstance(x, bool) for k, x in v.items())
    ),
    "dict[str, float | null]": lambda v: (
        isinstance(v, dict)
        and all(isinstance(k, str) and (x is None or _number(x)) for k, x in v.items())
    ),
}


@dataclass(frozen=True)
class Returns:
    """What a function returns, as JSON: a kind from :data:`RESULT_KINDS` and a doc."""

    kind: str
    doc: str
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in RESULT_KINDS:
            raise ValueError(f"unknown result kind {self.kind!r}")

    def accepts(self, data: Any) -> bool:
        """Whether ``data`` (already converted by ``to_json_safe``) has this shape."""
        return _SHAPES[self.kind](data)

    def describe(self) -> dict[str, Any]:
        return {"type": self.kind, "unit": self.unit or None, "doc": self.doc}


NOTHING: Final = Returns("null", "Nothing.")


@dataclass(frozen=True, eq=False)
class Function:
    """One whitelisted function of the function-string language."""

    name: str
    doc: str
    params: tuple[Param, ...]
    returns: Returns
    binding: Binding = field(repr=False)
    example: str
    category: str
    legacy: bool = False
    see_also: tuple[str, ...] = ()
    check: Check | None = field(default=None, repr=False)
    #: A reading that changes nothing on the instrument: identical calls waiting at the
    #: same moment may be answered by one measurement (see DeviceOwner).
    shared: bool = False
    #: The outputs the call sets, from its checked arguments (None: it only reads).
    #: The device owner records them in the caller's context (docs/reference/contexts.md).
    effects: Effect | None = field(default=None, repr=False)
    #: How long a call holds the device, from its arguments (``catalog.DEVICE_TIMES``).
    device_time: DeviceTime = field(default=fixed(QUICK, "the call"), repr=False)
    #: The expected device time of :attr:`example`, in ms (set by the catalog).
    example_ms: float | None = None
    #: For a ``traces`` result: the inputs its y lists come from, from the checked arguments
    #: (the legend of a plot of it, ``["CH1", "CH2"]``).
    trace_names: Callable[[dict[str, Any]], list[str]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.shared and self.effects is not None:
            raise ValueError(f"{self.name}: a shared reading cannot set outputs")
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.name}: unknown category {self.category!r}")
        if (self.returns.kind == "traces") != (self.trace_names is not None):
            raise ValueError(f"{self.name}: trace_names goes with a 'traces' result, and only")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate parameter names")
        seen_optional = False
        for param in self.params:
            if param.required and seen_optional:
                raise ValueError(f"{self.name}: required {param.name!r} follows an optional one")
            seen_optional = seen_optional or not param.required

    def param(self, name: str) -> Param | None:
        """The parameter called ``name``, or ``None``."""
        for param in self.params:
            if param.name == name:
                return param
        return None

    @property
    def signature(self) -> str:
        """Call signature as text, e.g. ``sqr1(freq, duty_cycle=50)``."""
        parts = [
            p.name if p.required else f"{p.name}={format_literal(p.default)}" for p in self.params
        ]
        return f"{self.name}({', '.join(parts)})"

    def invoke(self, sciencelab: Any, args: dict[str, Any]) -> Any:
        """Perform the call on ``sciencelab`` (a ``pslab.ScienceLab``) and return the raw result.

        ``args`` must come from :func:`~remotelab.device.functions.parse.parse_call` or
        :func:`~remotelab.device.functions.parse.bind_call` (every parameter present,
        already checked); they are copied, so pslab may mutate its arguments freely.
        Pass the result through :func:`~remotelab.device.functions.jsonsafe.to_json_safe`.
        A wait for edges returns steps instead (``bindings.Steps``): its result is the
        generator's return value.
        Raises whatever pslab raises (``TimeoutError``, ``RuntimeError``...).
        """
        return self.binding(sciencelab, copy.deepcopy(args))

    def plot_labels(self, args: dict[str, Any]) -> dict[str, Any] | None:
        """How to label a plot of a call's result, for a ``traces`` result (else None):
        ``{"x_label": "Time (µs)", "y_label": "Voltage (V)", "labels": ["CH1", "CH2"]}``,
        the keys of a ``plot`` widget (docs/reference/widgets.md)."""
        if self.trace_names is None:
            return None
        return {
            "x_label": "Time (µs)",
            "y_label": f"Voltage ({self.returns.unit})" if self.returns.unit else "Voltage",
            "labels": self.trace_names(args),
        }

    def describe(self) -> dict[str, Any]:
        """This function as JSON for ``GET /v1/functions``."""
        return {
            "name": self.name,
            "signature": self.signature,
            "doc": self.doc,
            "category": self.category,
            "legacy": self.legacy,
            "shared": self.shared,
            "sets": list(self.effects.outputs) if self.effects else [],
            "device_time": self.device_time.formula,
            "expected_ms": self.example_ms,
            "see_also": list(self.see_also),
            "example": self.example,
            "params": [p.describe() for p in self.params],
            "returns": self.returns.describe(),
        }


def legacy(
    modern: Function,
    name: str,
    example: str,
    *,
    rename: Mapping[str, str] | None = None,
    param_changes: Mapping[str, Mapping[str, Any]] | None = None,
    fixed: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Function:
    """``modern`` under its pslab-remote name: the same call, spelled the old way.

    A copy of ``modern`` (doc, parameters, returns, binding, check, effects, category) called
    ``name``, with ``example``, ``legacy=True`` and ``see_also=(modern.name,)``, that
    differs only where asked:

    - ``rename`` maps modern parameter names to the old keyword names
      (``{"channel": "channel_name"}``); the binding still receives the modern names.
    - ``param_changes`` replaces fields of parameters, keyed by their old name
      (``{"channel_name": {"doc": "...", "default": REQUIRED}}``).
    - ``fixed`` drops modern parameters the old function lacked; the binding receives
      the value given here instead (``{"simultaneous_oscilloscope": False}``).
    - The effects (the outputs the call sets) are the modern function's, computed from
      the arguments translated back to the modern names.
    - ``changes`` replaces fields of the function itself (``doc``, ``returns``...).

    A different binding, check or parameter list is a different function: declare it.
    A check reports errors by the modern names, so a function with one keeps them all.
    Raises :class:`ValueError` for a name ``modern`` does not have.
    """
    rename = dict(rename or {})
    param_changes = dict(param_changes or {})
    fixed = dict(fixed or {})
    if changes.keys() & {"params", "binding", "check", "effects"}:
        raise ValueError(f"{name}: a new params, binding, check or effects makes another function")
    modern_names = {p.name for p in modern.params}
    unknown = (rename.keys() | fixed.keys()) - modern_names
    unknown |= param_changes.keys() - {rename.get(n, n) for n in modern_names - fixed.keys()}
    if unknown:
        raise ValueError(f"{name}: {modern.name} has no parameters {sorted(unknown)}")
    if modern.check is not None and (rename or fixed):
        raise ValueError(f"{name}: {modern.name}'s check needs its own parameter names")
    params = tuple(
        dataclasses.replace(
            p,
            name=rename.get(p.name, p.name),
            **param_changes.get(rename.get(p.name, p.name), {}),
        )
        for p in modern.params
        if p.name not in fixed
    )
    to_modern = {old: new for new, old in rename.items()}

    def translated(sciencelab: Any, args: dict[str, Any]) -> Any:
        args = {to_modern.get(key, key): value for key, value in args.items()}
        return modern.binding(sciencelab, args | copy.deepcopy(fixed))

    effects = modern.effects
    if effects is not None and (rename or fixed):
        compute = effects.compute

        def modern_args(args: dict[str, Any], before: Any) -> Any:
            return compute({to_modern.get(k, k): v for k, v in args.items()} | fixed, before)

        effects = Effect(effects.outputs, modern_args)

    return dataclasses.replace(
        modern,
        name=name,
        example=example,
        params=params,
        binding=translated if rename or fixed else modern.binding,
        effects=effects,
        legacy=True,
        see_also=(modern.name,),
        **changes,
    )


class Registry:
    """The whitelist: functions by name, in declaration order."""

    def __init__(self, functions: Iterable[Function]) -> None:
        self._functions: dict[str, Function] = {}
        for function in functions:
            if function.name in self._functions:
                raise ValueError(f"duplicate function name {function.name!r}")
            self._functions[function.name] = function
        for function in self._functions.values():
            for other in function.see_also:
                if other not in self._functions:
                    raise ValueError(f"{function.name}: see_also names unknown {other!r}")

    def get(self, name: str) -> Function | None:
        """The function called ``name``, or ``None`` when it is not whitelisted."""
        return self._functions.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __iter__(self) -> Iterator[Function]:
        return iter(self._functions.values())

    def __len__(self) -> int:
        return len(self._functions)

    def names(self) -> list[str]:
        return list(self._functions)

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Registered names closest to ``name`` (case-insensitive), best first."""
        folded: dict[str, str] = {}
        for known in self._functions:
            folded.setdefault(known.casefold(), known)
        matches = difflib.get_close_matches(name.casefold(), list(folded), n=limit, cutoff=0.6)
        return [folded[m] for m in matches]

    def describe(self) -> list[dict[str, Any]]:
        """Every function as JSON (the body of ``GET /v1/functions``)."""
        return [function.describe() for function in self]
