"""Turn a raw instrument result into data that ``json.dumps`` always accepts (pure).

numpy arrays become lists, numpy scalars Python numbers, tuples lists; ``inf``
and ``nan`` become ``None`` with a note that says where (``result[1][42] was
nan``), because JSON has no spelling for them. The walk is bounded in depth and
in the number of values, so a result can never grow without limit.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from remotelab.config import FunctionSettings
from remotelab.errors import DeviceError

_DEFAULTS: Final = FunctionSettings()


class ResultError(DeviceError):
    """The instrument returned something that cannot be sent as JSON (too big or odd)."""

    code = "bad_result"


class _Walk:
    def __init__(self, max_items: int, max_depth: int, max_notes: int) -> None:
        self.max_items = max_items
        self.max_depth = max_depth
        self.max_notes = max_notes
        self.items = 0
        self.notes: list[str] = []
        self.unlisted = 0

    def count(self, n: int, path: str) -> None:
        self.items += n
        if self.items > self.max_items:
            raise ResultError(
                f"the result has more than {self.max_items} values (at {path})",
                details={"max_items": self.max_items},
            )

    def note(self, path: str, value: float) -> None:
        if len(self.notes) < self.max_notes:
            self.notes.append(f"{path} was {_spell(value)}")
        else:
            self.unlisted += 1

    def convert(self, value: Any, path: str, depth: int) -> Any:
        if depth > self.max_depth:
            raise ResultError(
                f"the result is nested more than {self.max_depth} levels deep (at {path})",
                details={"max_depth": self.max_depth},
            )
        if isinstance(value, np.ndarray):
            return self.array(value, path, depth)
        self.count(1, path)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return str(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return self.number(float(value), path)
        if isinstance(value, np.generic):
            return self.numpy_scalar(value, path)
        if isinstance(value, list | tuple):
            return [self.convert(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {
                _key(k, path): self.convert(v, f"{path}[{_key(k, path)!r}]", depth + 1)
                for k, v in value.items()
            }
        raise ResultError(
            f"the result holds a {type(value).__name__} at {path}, which JSON cannot carry",
            details={"type": type(value).__name__},
        )

    def number(self, value: float, path: str) -> float | None:
        if math.isfinite(value):
            return value
        self.note(path, value)
        return None

    def numpy_scalar(self, value: np.generic, path: str) -> Any:
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return self.number(float(value), path)
        if isinstance(value, np.str_):
            return str(value)
        raise ResultError(
            f"the result holds a numpy {value.dtype} at {path}, which JSON cannot carry",
            details={"type": str(value.dtype)},
        )

    def array(self, value: np.ndarray[Any, Any], path: str, depth: int) -> Any:
        if depth + value.ndim > self.max_depth:
            raise ResultError(
                f"the result is nested more than {self.max_depth} levels deep (at {path})",
                details={"max_depth": self.max_depth},
            )
        kind = value.dtype.kind
        if kind in "biuU":
            self.count(max(value.size, 1), path)
            return value.tolist()
        if kind == "f":
            self.count(max(value.size, 1), path)
            finite = np.isfinite(value)
            if bool(finite.all()):
                return value.tolist()
            data = value.astype(object)
            for index in np.argwhere(~finite):
                where = tuple(int(i) for i in index)
                self.note(path + "".join(f"[{i}]" for i in where), float(value[where]))
                data[where] = None
            return data.tolist()
        if kind == "O":
            return self.convert(value.tolist(), path, depth)
        raise ResultError(
            f"the result holds a numpy {value.dtype} array at {path}, which JSON cannot carry",
            details={"type": str(value.dtype)},
        )


def _spell(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"


def _key(key: Any, path: str) -> str:
    if isinstance(key, str):
        return str(key)
    if isinstance(key, bool | int) or key is None:
        return str(key)
    raise ResultError(
        f"the result has a {type(key).__name__} key at {path}, which JSON cannot carry",
        details={"type": type(key).__name__},
    )


def to_json_safe(
    value: Any,
    *,
    max_items: int = _DEFAULTS.max_result_items,
    max_depth: int = _DEFAULTS.max_result_depth,
    max_notes: int = _DEFAULTS.max_result_notes,
) -> tuple[Any, list[str]]:
    """Convert ``value`` into JSON-ready data and the notes about values that changed.

    Returns ``(data, notes)``: ``data`` holds only ``None``, ``bool``, ``int``, finite
    ``float``, ``str``, lists and dicts with string keys; each ``inf``/``nan`` became
    ``None`` and got a note like ``result[3] was nan`` (at most ``max_notes`` are
    listed, then one note counts the rest). Raises :class:`ResultError` when the
    value holds more than ``max_items`` values, nests deeper than ``max_depth``, or
    holds something JSON cannot carry (bytes, complex numbers, objects).
    """
    walk = _Walk(max_items, max_depth, max_notes)
    data = walk.convert(value, "result", 0)
    notes = list(walk.notes)
    if walk.unlisted:
        notes.append(f"{walk.unlisted} more values were not finite and became null")
    return data, notes
