"""Parameter specs, and the checking of literal arguments against them (pure).

A :class:`Param` says what one argument of a whitelisted function may be: its
type (``float``, ``int``, ``str``, ``bool``, ``list[...]`` or a union such as
``int | str``), default, allowed values or range, unit and aliases.
:meth:`Param.coerce` turns a literal into the value the binding receives, or
raises :class:`~remotelab.errors.FunctionStringError` with a message that names
the parameter and says what is allowed.

Coercion rules: an ``int`` is accepted where a ``float`` is expected; an
integral float (``1e3``) where an ``int`` is expected; a bool is never a number,
but ``0`` and ``1`` are accepted where a bool is expected (pslab 1.x scripts
wrote ``set_state(SQR1=1)``); strings are matched case-insensitively against
the allowed values and old names are replaced by their pslab 4.x names; tuples
become lists; ``None`` is accepted only by parameters whose default is ``None``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from remotelab.errors import FunctionStringError

SCALAR_KINDS: Final = ("float", "int", "str", "bool")
LIST_KINDS: Final = ("list[float]", "list[int]", "list[str]")

_EXPECTED: Final = {
    "float": "a number",
    "int": "a whole number",
    "str": "a string",
    "bool": "True or False",
    "list[float]": "a list of numbers",
    "list[int]": "a list of whole numbers",
    "list[str]": "a list of strings",
}

# Larger integers are refused before any float conversion can overflow.
_MAX_ABS_INT: Final = 2**63


class _Required:
    """Sentinel default of a required parameter."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final[Any] = _Required()


def format_number(value: float) -> str:
    """Format a number the way a user would type it (``5``, ``0.0033``, ``8191.875``)."""
    if isinstance(value, int):  # bool included
        return str(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def format_literal(value: Any) -> str:
    """Format a default or allowed value as a Python literal for messages and docs."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_literal(v) for v in value) + "]"
    return repr(value)


def describe_value(value: Any) -> str:
    """Describe a literal for an error message: ``a string ('CH9')``, ``a boolean (True)``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({format_number(value)})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    return f"a {type(value).__name__}"


def argument_error(
    function: str,
    parameter: str,
    message: str,
    *,
    index: int | None = None,
    **details: Any,
) -> FunctionStringError:
    """Build the error for one bad argument: ``parameter 'x' of f() <message>``."""
    shown = parameter if index is None else f"{parameter}[{index}]"
    data: dict[str, Any] = {"function": function, "parameter": parameter}
    if index is not None:
        data["index"] = index
    data.update(details)
    return FunctionStringError(f"parameter '{shown}' of {function}() {message}", details=data)


def _close_matches(word: str, candidates: list[str]) -> list[str]:
    folded = {c.casefold(): c for c in candidates}
    matches = difflib.get_close_matches(word.casefold(), list(folded), n=3, cutoff=0.5)
    return [folded[m] for m in matches]


def join_or(items: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@dataclass(frozen=True, eq=False)
class Param:
    """One parameter of a whitelisted function.

    ``type`` is one of ``float``, ``int``, ``str``, ``bool``, ``list[float]``,
    ``list[int]``, ``list[str]`` or a union of them written ``"int | str"``.
    ``choices``, ``minimum`` and ``maximum`` apply to scalars and to each item
    of a list. ``aliases`` maps old names to allowed values.
    """

    name: str
    type: str
    doc: str
    default: Any = REQUIRED
    choices: tuple[Any, ...] | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    max_exclusive: bool = False
    unit: str = ""
    min_items: int = 1
    max_items: int | None = None

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in SCALAR_KINDS and kind not in LIST_KINDS:
                raise ValueError(f"{self.name}: unknown parameter type {kind!r}")
        if self.choices is not None and self.aliases:
            unknown = set(self.aliases.values()) - set(self.choices)
            if unknown:
                raise ValueError(f"{self.name}: aliases point outside choices: {unknown}")

    @property
    def kinds(self) -> tuple[str, ...]:
        """The alternatives of :attr:`type`, in order."""
        return tuple(part.strip() for part in self.type.split("|"))

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def nullable(self) -> bool:
        """Whether ``None`` is accepted (exactly when the default is ``None``)."""
        return self.default is None

    @property
    def type_text(self) -> str:
        """The type as shown to users, e.g. ``int | str`` or ``float | None``."""
        return " | ".join([*self.kinds, *(["None"] if self.nullable else [])])

    def range_text(self) -> str:
        """``between -5 and 5 V``, ``at least 0.5 µs``... or ``""`` without bounds."""
        unit = f" {self.unit}" if self.unit else ""
        lo = None if self.minimum is None else format_number(self.minimum)
        hi = None if self.maximum is None else format_number(self.maximum)
        if lo is not None and hi is not None:
            if self.max_exclusive:
                return f"at least {lo} and less than {hi}{unit}"
            return f"between {lo} and {hi}{unit}"
        if lo is not None:
            return f"at least {lo}{unit}"
        if hi is not None:
            return f"less than {hi}{unit}" if self.max_exclusive else f"at most {hi}{unit}"
        return ""

    def expected_text(self) -> str:
        """What the parameter accepts, for type errors."""
        options = []
        for kind in self.kinds:
            if kind == "str" and self.choices is not None:
                options.append("one of " + ", ".join(format_literal(c) for c in self.choices))
            else:
                options.append(_EXPECTED[kind])
        if self.nullable:
            options.append("None")
        return join_or(options)

    # --- coercion ---------------------------------------------------------------

    def coerce(self, value: Any, function: str) -> Any:
        """Check one literal argument and return the value the binding receives.

        Raises :class:`FunctionStringError` naming this parameter when the value
        has the wrong type, is out of range or is not an allowed value.
        """
        if value is None:
            if self.nullable:
                return None
            raise self._type_error(value, function, None)
        kind = self._pick_kind(value, self.kinds)
        if kind is None:
            raise self._type_error(value, function, None)
        if kind in LIST_KINDS:
            return self._coerce_list(kind, value, function)
        return self._coerce_scalar(kind, value, function, None)

    def _type_error(self, value: Any, function: str, index: int | None) -> FunctionStringError:
        expected = self.expected_text() if index is None else _EXPECTED[self._item_kind()]
        return argument_error(
            function,
            self.name,
            f"must be {expected}, not {describe_value(value)}",
            index=index,
            expected=self.type_text if index is None else self._item_kind(),
        )

    def _item_kind(self) -> str:
        for kind in self.kinds:
            if kind in LIST_KINDS:
                return kind[5:-1]
        return self.kinds[0]

    @staticmethod
    def _pick_kind(value: Any, kinds: tuple[str, ...]) -> str | None:
        numeric = [k for k in kinds if k in ("float", "int")]
        if isinstance(value, bool):
            return "bool" if "bool" in kinds else None
        if isinstance(value, int | float):
            if numeric:
                return numeric[0]
            if "bool" in kinds and isinstance(value, int) and value in (0, 1):
                return "bool"
            return None
        if isinstance(value, str):
            return "str" if "str" in kinds else None
        if isinstance(value, list | tuple):
            lists = [k for k in kinds if k in LIST_KINDS]
            return lists[0] if lists else None
        return None

    def _coerce_list(self, kind: str, value: list[Any] | tuple[Any, ...], function: str) -> Any:
        count = len(value)
        if count < self.min_items or (self.max_items is not None and count > self.max_items):
            if self.max_items is None:
                wanted = f"at least {self.min_items}"
            elif self.max_items == self.min_items:
                wanted = f"exactly {self.min_items}"
            else:
                wanted = f"{self.min_items} to {self.max_items}"
            noun = "item" if wanted.endswith(" 1") else "items"
            raise argument_error(
                function,
                self.name,
                f"must have {wanted} {noun}, got {count}",
                min_items=self.min_items,
                max_items=self.max_items,
            )
        item_kind = kind[5:-1]
        result = []
        for index, item in enumerate(value):
            if item is None or self._pick_kind(item, (item_kind,)) is None:
                raise self._type_error(item, function, index)
            result.append(self._coerce_scalar(item_kind, item, function, index))
        return result

    def _coerce_scalar(self, kind: str, value: Any, function: str, index: int | None) -> Any:
        if kind == "bool":
            return bool(value)
        if kind == "str":
            return self._coerce_str(value, function, index)
        if isinstance(value, int) and abs(value) > _MAX_ABS_INT:
            raise argument_error(function, self.name, "is too large", index=index)
        if kind == "int" and isinstance(value, float):
            if not value.is_integer():
                raise argument_error(
                    function,
                    self.name,
                    f"must be a whole number, not {format_number(value)}",
                    index=index,
                )
            value = int(value)
        if kind == "float":
            value = float(value)
            if not math.isfinite(value):
                raise argument_error(
                    function, self.name, f"must be a finite number, not {value}", index=index
                )
        self._check_range(value, function, index)
        # In a union such as ``int | str`` the choices name the strings.
        if self.choices is not None and "str" not in self.kinds and value not in self.choices:
            allowed = ", ".join(format_literal(c) for c in self.choices)
            raise argument_error(
                function,
                self.name,
                f"must be one of {allowed}; got {format_number(value)}",
                index=index,
                allowed=list(self.choices),
            )
        return value

    def _check_range(self, value: float, function: str, index: int | None) -> None:
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and (
            value >= self.maximum if self.max_exclusive else value > self.maximum
        )
        if too_low or too_high:
            raise argument_error(
                function,
                self.name,
                f"must be {self.range_text()}, got {format_number(value)}",
                index=index,
                minimum=self.minimum,
                maximum=self.maximum,
            )

    def _coerce_str(self, value: str, function: str, index: int | None) -> str:
        if self.choices is None:
            return value
        folded = {str(c).casefold(): str(c) for c in self.choices}
        key = value.casefold()
        if key in folded:
            return folded[key]
        for alias, target in self.aliases.items():
            if alias.casefold() == key:
                return target
        suggestions = _close_matches(value, [*folded.values(), *self.aliases])
        allowed = ", ".join(format_literal(c) for c in self.choices)
        hint = f"; did you mean {join_or([repr(s) for s in suggestions])}?" if suggestions else ""
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise argument_error(
            function,
            self.name,
            f"must be one of {allowed}; got {shown!r}{hint}",
            index=index,
            allowed=list(self.choices),
            suggestions=suggestions,
        )

    # --- description ------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """This parameter as JSON for ``GET /v1/functions``."""
        return {
            "name": self.name,
            "type": self.type_text,
            "required": self.required,
            "default": None
            if self.required
            else list(self.default)
            if isinstance(self.default, tuple)
            else self.default,
            "choices": None if self.choices is None else list(self.choices),
            "aliases": dict(self.aliases) or None,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "max_exclusive": self.max_exclusive,
            "unit": self.unit or None,
            "min_items": self.min_items if any(k in LIST_KINDS for k in self.kinds) else None,
            "max_items": self.max_items,
            "doc": self.doc,
        }
