"""Display types of a button's ``success`` action, and ``display_number`` formatting.

The browser formats numbers itself (``webapp/src/units.ts``); this module is the
reference it is tested against (``stacking_cases.json``, ``format_number`` cases), so
the rules are JavaScript's exactly, not Python's ``format``: three significant digits
rounded as ``Number.prototype.toExponential`` rounds (ties away from zero on the exact
binary value: ``999.5`` -> ``"1.00 k"``), an SI prefix and the unit of the function's
result (``1.004e-9`` F -> ``"1.00 nF"``).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Final

DISPLAY_NUMBER: Final = "display_number"
DISPLAY: Final = "display"
UPDATE_PLOT: Final = "update-plot"
DISPLAY_TYPES: Final = (DISPLAY_NUMBER, DISPLAY, UPDATE_PLOT)

_PREFIXES: Final = {
    -15: "f",
    -12: "p",
    -9: "n",
    -6: "µ",
    -3: "m",
    0: "",
    3: "k",
    6: "M",
    9: "G",
    12: "T",
}
#: Units an SI prefix may go in front of; others (°C, %, degrees) keep the plain number.
_PREFIXABLE: Final = frozenset({"V", "A", "Hz", "s", "F", "Ω", "W", "H", "S", "C", "J"})
_PREFIX_POWERS: Final = {"p": -12, "n": -9, "µ": -6, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9}
DIGITS: Final = 3
#: Enough precision for any float exactly (5e-324 has 751 significant digits).
_EXACT: Final = Context(prec=1100)


def is_number(value: object) -> bool:
    """True for a real number that is not a bool (JSON's ``number``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def format_number(value: object, unit: str | None = None) -> str:
    """Return what a ``display_number`` target shows for ``value``; never raises.

    - a number with a unit (the ``unit`` of the function's result, ``GET /v1/functions``):
      three significant digits, an SI prefix and the unit (``1.004e-9, "F"`` ->
      ``"1.00 nF"``, ``-0.00498, "V"`` -> ``"-4.98 mV"``, ``1500, "µs"`` -> ``"1.50 ms"``);
      units that take no prefix (``°C``, ``%``) get the plain number (``"30.0 °C"``);
    - a number without a unit: a whole number as it is (``"12345"``), others with three
      significant digits and no prefix (``0.5`` -> ``"0.500"``);
    - beyond the prefixes (or, plain, below 1e-6 and from 1e9 up) an exponent
      (``"1.00e-18 F"``); ``nan`` -> ``"NaN"``; infinities ``"∞ V"``, ``"-∞ V"``;
    - a string (a failed call returns its error text): the string itself;
    - anything else (``None``, a bool, a list): its compact JSON text
      (``"null"``, ``"true"``, ``"[1,2]"``), or ``str(value)`` if it has none.
    """
    if isinstance(value, str):
        return value
    if not is_number(value):
        return _json_text(value)
    if not unit and isinstance(value, numbers.Integral) and abs(int(value)) <= 2**53 - 1:
        return str(int(value))
    try:
        x = float(value)  # type: ignore[arg-type]  # is_number() checked it is Real
    except OverflowError:  # an int beyond float range is Infinity in JavaScript
        x = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    if not unit and x.is_integer() and abs(x) <= 2**53 - 1:
        return str(int(x))
    return format_quantity(x, unit or "", prefixes=bool(unit))


def base_unit(unit: str) -> tuple[str, int]:
    """A unit that carries a prefix (``"µs"``, ``"kHz"``) as its base and power of ten."""
    if len(unit) > 1 and unit[0] in _PREFIX_POWERS and unit[1:] in _PREFIXABLE:
        return unit[1:], _PREFIX_POWERS[unit[0]]
    return unit, 0


def format_quantity(
    x: float, unit: str = "", *, digits: int = DIGITS, prefixes: bool = True
) -> str:
    """``x`` in ``unit`` with ``digits`` significant digits and (``prefixes``) an SI prefix."""
    base, power = base_unit(unit)

    def suffix(prefix: str) -> str:
        return f" {prefix}{base}" if prefix + base else ""

    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return f"{'-' if x < 0 else ''}∞{suffix('')}"
    with localcontext(_EXACT):
        return _format(Decimal(x).scaleb(power), digits, prefixes, base, suffix)


def _format(
    exact: Decimal, digits: int, prefixes: bool, base: str, suffix: Callable[[str], str]
) -> str:
    if exact == 0:
        return _place("0" * digits, 1) + suffix("")
    sign = "-" if exact < 0 else ""
    ds, exponent = _significant(abs(exact), digits)
    if not prefixes or (base not in _PREFIXABLE and base != ""):
        if exponent < -6 or exponent >= 9:
            return f"{sign}{_place(ds, 1)}e{exponent}{suffix('')}"
        return sign + _place(ds, exponent + 1) + suffix("")
    thousands = exponent // 3 * 3
    if thousands not in _PREFIXES:
        return f"{sign}{_place(ds, 1)}e{exponent}{suffix('')}"
    return sign + _place(ds, exponent - thousands + 1) + suffix(_PREFIXES[thousands])


def _significant(x: Decimal, digits: int) -> tuple[str, int]:
    """``digits`` significant digits of ``x`` > 0 and the exponent of the first one, ties
    away from zero on the exact value (as ``toExponential``)."""
    exponent = x.adjusted()
    rounded = x.scaleb(-exponent).quantize(Decimal(1).scaleb(1 - digits), rounding=ROUND_HALF_UP)
    if rounded >= 10:  # 9.995 -> 10.0: one more digit in front
        exponent += 1
        rounded = x.scaleb(-exponent).quantize(
            Decimal(1).scaleb(1 - digits), rounding=ROUND_HALF_UP
        )
    return str(rounded).replace(".", ""), exponent


def _place(ds: str, whole: int) -> str:
    """A decimal point after ``whole`` digits of ``ds`` (zeros added where needed)."""
    if whole <= 0:
        return "0." + "0" * -whole + ds
    if whole >= len(ds):
        return ds + "0" * (whole - len(ds))
    return f"{ds[:whole]}.{ds[whole:]}"


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
