"""Display types of a button's ``success`` action, and ``display_number`` formatting.

The browser formats numbers itself; this module is the reference it is tested
against (``stacking_cases.json``, ``format_number`` cases), so the rules are
JavaScript's ``Number.prototype.toFixed(3)`` exactly, not Python's ``format``:
ties round away from zero on the exact binary value (``0.0625`` -> ``"0.063"``,
where Python's ``f"{0.0625:.3f}"`` gives ``"0.062"``).
"""

from __future__ import annotations

import json
import math
import numbers
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

DISPLAY_NUMBER: Final = "display_number"
DISPLAY: Final = "display"
UPDATE_PLOT: Final = "update-plot"
DISPLAY_TYPES: Final = (DISPLAY_NUMBER, DISPLAY, UPDATE_PLOT)

_THOUSANDTH = Decimal("0.001")


def is_number(value: object) -> bool:
    """True for a real number that is not a bool (JSON's ``number``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def format_number(value: object) -> str:
    """Return what a ``display_number`` target shows for ``value``; never raises.

    - a number: three decimals, as JavaScript's ``toFixed(3)`` writes it
      (``2.5`` -> ``"2.500"``, ``-0.0001`` -> ``"-0.000"``, ``nan`` -> ``"NaN"``,
      ``inf`` -> ``"Infinity"``, magnitudes from ``1e21`` up in exponent form);
    - a string (a failed call returns its error text): the string itself;
    - anything else (``None``, a bool, a list): its compact JSON text
      (``"null"``, ``"true"``, ``"[1,2]"``), or ``str(value)`` if it has none.
    """
    if isinstance(value, str):
        return value
    if not is_number(value):
        return _json_text(value)
    try:
        x = float(value)  # type: ignore[arg-type]  # is_number() checked it is Real
    except OverflowError:  # an int beyond float range is Infinity in JavaScript
        x = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if abs(x) >= 1e21:
        # toFixed falls back to Number#toString here; Python's repr writes the
        # same shortest round-trip digits ("1e+21", "1.5e+300").
        return repr(x)
    if x == 0:
        x = 0.0  # toFixed drops the sign of -0 (but not of -0.0001)
    return f"{Decimal(x).quantize(_THOUSANDTH, rounding=ROUND_HALF_UP):f}"


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
