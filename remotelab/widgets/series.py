"""Plot data from a script: checking and converting arrays, and even decimation.

A script hands ``plot`` lists, tuples, ranges or numpy arrays; the wire format
wants JSON numbers, with ``null`` for gaps. Long series are thinned to a point
budget by taking evenly spaced indices, always including the first and the
last point.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from remotelab.errors import InputError
from remotelab.widgets.display import is_number

FloatArray = npt.NDArray[np.float64]

_NUMERIC_KINDS = "biuf"  # bool, signed int, unsigned int, float


def to_float_array(values: object, what: str) -> FloatArray:
    """Return ``values`` as a 1-D float64 array; ``None`` becomes ``nan``.

    ``what`` names the argument in error messages (``"x"``, ``"y2"``). Numbers
    and bools are accepted, and ``None`` as a gap.

    Raises :class:`InputError` when ``values`` is not a list, tuple, range or
    1-D numpy array, or holds anything but numbers, bools and ``None`` (text,
    complex numbers, nested lists).
    """
    if isinstance(values, np.ndarray):
        array = values
    elif isinstance(values, list | tuple | range):
        try:
            array = np.asarray(values)
        except (ValueError, TypeError):  # ragged nesting, e.g. [1, [2, 3]]
            raise InputError(f"plot: {what} must be a flat list of numbers, not a nested list")
    else:
        raise InputError(
            f"plot: {what} must be a list, tuple, range or numpy array of numbers, "
            f"not {type(values).__name__}"
        )
    if array.ndim != 1:
        shape = "a single value" if array.ndim == 0 else f"a {array.ndim}-D array"
        raise InputError(f"plot: {what} must be a flat list of numbers, not {shape}")
    if array.dtype.kind in _NUMERIC_KINDS:
        return array.astype(np.float64)
    if array.dtype.kind == "O":
        return _objects_to_floats(array, what)
    kind = {"U": "text", "S": "bytes", "c": "complex numbers"}.get(array.dtype.kind, "non-numbers")
    raise InputError(f"plot: {what} must hold numbers, but it holds {kind}")


def _objects_to_floats(array: npt.NDArray[np.object_], what: str) -> FloatArray:
    out = np.empty(len(array), dtype=np.float64)
    for i, value in enumerate(array.tolist()):
        if value is None:
            out[i] = math.nan
        elif is_number(value) or isinstance(value, bool):
            try:
                out[i] = float(value)
            except OverflowError:  # an int too large for a float
                out[i] = math.inf if value > 0 else -math.inf
        else:
            raise InputError(
                f"plot: {what}[{i}] is {type(value).__name__} {_short(value)}, not a number"
            )
    return out


def decimation_indices(length: int, budget: int) -> npt.NDArray[np.int64] | None:
    """Indices that keep ``budget`` evenly spaced points out of ``length``.

    Index ``i`` of the kept points is ``floor(i * (length - 1) / (budget - 1))``,
    so the first (0) and the last (``length - 1``) are always kept and no index
    repeats. Returns ``None`` when nothing needs dropping (``length <= budget``).
    ``budget`` must be at least 2.
    """
    if budget < 2:
        raise ValueError("decimation budget must be at least 2")
    if length <= budget:
        return None
    return (np.arange(budget, dtype=np.int64) * (length - 1)) // (budget - 1)


def to_json_numbers(array: FloatArray) -> list[float | None]:
    """Return the array as a list of floats, with ``None`` for nan and infinities."""
    return [v if math.isfinite(v) else None for v in array.tolist()]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
