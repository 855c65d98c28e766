"""How one setting is declared, named, parsed and checked.

A settings section is a frozen dataclass deriving from :class:`Section`; each
field is declared with :func:`setting` (default, one-line doc, allowed range).
The field's type annotation is the parser: ``int``, ``float``, ``bool``,
``str``, ``Path``, :class:`Secret`, a ``Literal[...]``, ``tuple[str, ...]``
(comma-separated) or any of these ``| None`` (empty text means None).

The environment variable of a field is ``REMOTELAB_`` + the section's
``PREFIX`` + the field's name in capitals, unless the field names its own
(``env=``): a setting keeps the variable name it has always had.

Every section checks itself when built, whether from the environment or in
code, and raises :class:`~remotelab.errors.ConfigError` naming the variable,
the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from remotelab.errors import ConfigError

PREFIX = "REMOTELAB_"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Secret:
    """A string that never shows itself in ``repr`` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def setting(
    default: Any,
    doc: str,
    *,
    env: str | None = None,
    ge: float | None = 0,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """Declare a setting: its default, its doc line, its range and, rarely, its own variable.

    Numbers must be ``>= ge`` (0 unless said otherwise; None lifts it), ``> gt``
    and ``<= le`` when those are given. ``env`` is the variable's name without
    ``REMOTELAB_``, for the few settings whose name does not start with their
    section's prefix.
    """
    metadata = {"doc": doc, "env": env, "ge": ge, "gt": gt, "le": le}
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Spec:
    """What one field is: its name, variable, parsed type and bounds."""

    name: str
    variable: str
    kind: Any
    optional: bool
    doc: str
    default: Any
    ge: float | None
    gt: float | None
    le: float | None

    def allowed(self) -> str:
        """What values are allowed, in words (for messages and the reference page)."""
        if _is_literal(self.kind):
            return "one of " + ", ".join(str(v) for v in typing.get_args(self.kind))
        if self.kind is bool:
            return "true or false"
        if self.kind in (int, float):
            return _range_text(self)
        return ""


class Section:
    """Base of the settings sections: a frozen dataclass of settings under one prefix.

    Subclasses set ``PREFIX`` (the variables' common start after ``REMOTELAB_``)
    and may override :meth:`check` for rules that involve several fields.
    """

    PREFIX: ClassVar[str] = ""
    _specs: ClassVar[dict[type[Section], tuple[Spec, ...]]] = {}

    def __post_init__(self) -> None:
        for spec in self.specs():
            _check_value(spec, getattr(self, spec.name))
        self.check()

    def check(self) -> None:
        """Rules between fields; raise :class:`ConfigError` naming the variables."""

    @classmethod
    def specs(cls) -> tuple[Spec, ...]:
        cached = Section._specs.get(cls)
        if cached is None:
            hints = typing.get_type_hints(cls)
            cached = tuple(
                _spec(cls, f, hints[f.name])
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            )
            Section._specs[cls] = cached
        return cached

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of field ``name``."""
        return next(s.variable for s in cls.specs() if s.name == name)


def _spec(cls: type[Section], f: dataclasses.Field[Any], hint: Any) -> Spec:
    kind, optional = hint, False
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        kind, optional = rest[0], True
    meta = f.metadata
    return Spec(
        name=f.name,
        variable=PREFIX + (meta.get("env") or cls.PREFIX + f.name.upper()),
        kind=kind,
        optional=optional,
        doc=meta.get("doc", ""),
        default=f.default,
        ge=meta.get("ge", 0),
        gt=meta.get("gt"),
        le=meta.get("le"),
    )


def parse(spec: Spec, raw: str) -> Any:
    """The value of ``raw`` (a variable's text) for ``spec``. Raises :class:`ConfigError`."""
    text = raw.strip()
    if spec.optional and text == "":
        return None
    parser = _PARSERS.get(spec.kind)
    try:
        if parser is not None:
            return parser(text)
        if _is_literal(spec.kind):
            return _literal(spec.kind, text)
        if spec.kind == tuple[str, ...]:
            return tuple(part.strip() for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{spec.variable}={raw!r}: {exc}") from None
    raise TypeError(f"{spec.variable}: no parser for {spec.kind!r}")  # a programming error


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number") from None


def parse_bool(text: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case). Raises ValueError."""
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("expected true or false")


_PARSERS: dict[Any, Callable[[str], Any]] = {
    int: _int,
    float: _float,
    bool: parse_bool,
    str: str,
    Path: Path,
    Secret: Secret,
}


def _literal(kind: Any, text: str) -> str:
    allowed = [str(v) for v in typing.get_args(kind)]
    if text not in allowed:
        raise ValueError("expected one of " + ", ".join(allowed))
    return text


def _is_literal(kind: Any) -> bool:
    return typing.get_origin(kind) is Literal


def _check_value(spec: Spec, value: Any) -> None:
    if value is None and spec.optional:
        return
    problem = _type_problem(spec, value)
    if problem is None and spec.kind in (int, float) and not _in_range(spec, value):
        problem = "must be " + _range_text(spec)
    if problem is not None:
        raise ConfigError(f"{spec.variable}={_shown(value)}: {problem}")


def _type_problem(spec: Spec, value: Any) -> str | None:
    kind = spec.kind
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "expected a whole number"
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            return "must be a finite number"
        return None if ok else "expected a number"
    if _is_literal(kind):
        allowed = typing.get_args(kind)
        return None if value in allowed else "expected one of " + ", ".join(map(str, allowed))
    if kind == tuple[str, ...]:
        ok = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
        return None if ok else "expected a comma-separated list"
    if isinstance(kind, type) and not isinstance(value, kind):
        return f"expected {kind.__name__}"
    return None


def _in_range(spec: Spec, value: float) -> bool:
    if spec.ge is not None and value < spec.ge:
        return False
    if spec.gt is not None and value <= spec.gt:
        return False
    return spec.le is None or value <= spec.le


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _range_text(spec: Spec) -> str:
    low = _number(spec.gt if spec.gt is not None else spec.ge)
    high = _number(spec.le)
    if spec.gt is not None:
        return f"more than {low}" + (f" and at most {high}" if high else "")
    if low and high:
        return f"between {low} and {high}"
    if low:
        return f"at least {low}"
    if high:
        return f"at most {high}"
    return "any number"


def _shown(value: Any) -> str:
    if isinstance(value, Secret):
        return repr(value)
    if isinstance(value, str | Path):
        return repr(str(value))
    return repr(value)
