"""Stacking: turning a function-string result into plot series (docs/reference/widgets.md).

A capture returns separate arrays ``[x, y1, y2, ...]``; a plot wants series of
``[x, y]`` pairs. The stacking string of an ``update-plot`` button says how:

- ``"x"`` followed by n ``"y"`` (``xy``, ``xyy``, ``xyyyy``...) gives n series,
  series i pairing ``result[0]`` with ``result[i]``; arrays past ``result[n]``
  are ignored;
- any other string: the result already is a list of series of ``[x, y]`` pairs,
  and is only checked and normalised.

This is the reference implementation; the webapp runs the same table of cases
(``stacking_cases.json``). Every malformed result raises :class:`StackingError`
with a reason code from that table, never an ``IndexError`` or ``TypeError``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import numpy as np

from remotelab.widgets.display import is_number
from remotelab.widgets.errors import StackingError

Series = list[list[float | None]]
"""One plot series: a list of ``[x, y]`` points (``None`` is a gap)."""

DEFAULT_STACKING: Final = "xy"
STACKED: Final = "stacked"
"""The stacking a script names for a result that is already a list of series."""

_X_THEN_YS = re.compile(r"xy+")

# Reason codes, shared with the webapp through stacking_cases.json.
BAD_STACKING: Final = "bad_stacking"
RESULT_NOT_LIST: Final = "result_not_list"
TOO_FEW_ARRAYS: Final = "too_few_arrays"
ARRAY_NOT_LIST: Final = "array_not_list"
LENGTH_MISMATCH: Final = "length_mismatch"
NOT_A_NUMBER: Final = "not_a_number"
SERIES_NOT_LIST: Final = "series_not_list"
POINT_NOT_PAIR: Final = "point_not_pair"


def series_count(stacking: str) -> int | None:
    """Return n for ``"x"`` followed by n ``"y"``, or ``None`` for any other string."""
    if _X_THEN_YS.fullmatch(stacking) is None:
        return None
    return len(stacking) - 1


def stack(result: Any, stacking: str) -> list[Series]:
    """Return the plot series that ``result`` gives under ``stacking``.

    Coordinates come back as floats; ``None``, ``nan`` and infinities become
    ``None`` (JSON ``null``, a gap in the plot). Lists, tuples and 1-D numpy
    arrays are accepted wherever a list is.

    Raises :class:`StackingError` (an ``InputError``) when ``stacking`` is not a
    string or ``result`` does not have the shape the stacking needs: not a list,
    fewer arrays than the stacking names, an array that is not a list, arrays of
    different lengths, a value that is neither a number nor null, a series that
    is not a list, a point that is not an ``[x, y]`` pair.
    """
    if not isinstance(stacking, str):
        raise StackingError(BAD_STACKING, f"stacking must be a string, not {_kind(stacking)}")
    n = series_count(stacking)
    if n is None:
        return _already_stacked(result, stacking)
    return _zip_arrays(result, stacking, n)


def _zip_arrays(result: Any, stacking: str, n: int) -> list[Series]:
    arrays = _as_list(result)
    if arrays is None:
        raise StackingError(
            RESULT_NOT_LIST,
            f"stacking '{stacking}' needs a list of {n + 1} arrays [x, y...], "
            f"but the result is {_kind(result)}",
        )
    if len(arrays) < n + 1:
        raise StackingError(
            TOO_FEW_ARRAYS,
            f"stacking '{stacking}' needs {n + 1} arrays (x and {n} y), "
            f"but the result has {len(arrays)}",
        )
    columns: list[list[float | None]] = []
    for i in range(n + 1):
        column = _as_list(arrays[i])
        if column is None:
            raise StackingError(
                ARRAY_NOT_LIST,
                f"stacking '{stacking}': result[{i}] should be an array of numbers, "
                f"but it is {_kind(arrays[i])}",
            )
        if i > 0 and len(column) != len(columns[0]):
            raise StackingError(
                LENGTH_MISMATCH,
                f"stacking '{stacking}': result[{i}] has {len(column)} values "
                f"but x (result[0]) has {len(columns[0])}",
            )
        columns.append([_coordinate(v, f"result[{i}][{j}]") for j, v in enumerate(column)])
    xs = columns[0]
    return [[[x, y] for x, y in zip(xs, ys, strict=True)] for ys in columns[1:]]


def _already_stacked(result: Any, stacking: str) -> list[Series]:
    why = (
        f"stacking '{stacking}' is not 'x' followed by 'y's, so the result must already "
        "be a list of series of [x, y] pairs"
    )
    all_series = _as_list(result)
    if all_series is None:
        raise StackingError(RESULT_NOT_LIST, f"{why}, but it is {_kind(result)}")
    stacked: list[Series] = []
    for s, raw_series in enumerate(all_series):
        points = _as_list(raw_series)
        if points is None:
            raise StackingError(
                SERIES_NOT_LIST, f"{why}; result[{s}] is {_kind(raw_series)}, not a series"
            )
        series: Series = []
        for p, raw_point in enumerate(points):
            pair = _as_list(raw_point)
            if pair is None or len(pair) != 2:
                raise StackingError(
                    POINT_NOT_PAIR,
                    f"{why}; result[{s}][{p}] is {_kind(raw_point)}, not an [x, y] pair",
                )
            series.append(
                [
                    _coordinate(pair[0], f"result[{s}][{p}][0]"),
                    _coordinate(pair[1], f"result[{s}][{p}][1]"),
                ]
            )
        stacked.append(series)
    return stacked


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        return list(value)
    return None


def _coordinate(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not is_number(value):
        raise StackingError(NOT_A_NUMBER, f"{where} is {_kind(value)}, not a number")
    try:
        x = float(value)
    except OverflowError:  # an int too large for a float: not plottable
        return None
    return x if math.isfinite(x) else None


def _kind(value: Any) -> str:
    """Describe a value by its JSON type, so messages read the same in Python and TS."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return f"a boolean ({'true' if value else 'false'})"
    if is_number(value):
        return f"a number ({value})"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({text!r})"
    if isinstance(value, list | tuple | np.ndarray):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
