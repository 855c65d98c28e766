"""The runtime guards RestrictedPython's rewritten code calls (``_getattr_`` and friends).

RestrictedPython rewrites ``a.b`` into ``_getattr_(a, "b")``, ``a[k]`` into
``_getitem_(a, k)``, iteration into ``_getiter_(it)``, ``a.b = v`` and
``a[k] = v`` into ``_write_(a).b = v`` / ``_write_(a)[k] = v``, ``x += y``
into ``x = _inplacevar_("+=", x, y)``, ``f(*a, **k)`` into ``_apply_(f, *a, **k)``
and ``class C(B): ...`` into ``class C(B, metaclass=__metaclass__)``.

The invariant they keep: no frame, code, traceback, cell or module object, no
name starting with ``_``, and no raw-memory numpy attribute is ever reachable,
so a script cannot walk from any object it holds to the interpreter's
internals. One :class:`Guards` serves one run (it remembers the script's own
classes, whose instances a script may write to).
"""

from __future__ import annotations

import builtins
import operator
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from remotelab.sandbox.worker.facades import Facade
from remotelab.sandbox.worker.numpy_facade import OBJECT_ARRAY_MESSAGE, checked, refuse_object_dtype

# Refused on every object, also at compile time (see policy.py).
DENIED_ATTRIBUTES = frozenset(
    INSPECT_ATTRIBUTES
    | {
        # generator / coroutine / frame / code internals not in RestrictedPython's list
        "gi_running",
        "gi_suspended",
        "cr_running",
        "cr_suspended",
        "f_lasti",
        "f_lineno",
        "f_trace_lines",
        "f_trace_opcodes",
        "tb_lasti",
        "tb_lineno",
        "co_consts",
        "co_names",
        "co_filename",
        # class hierarchy walking
        "mro",
        # raw memory of numpy and random bit generators
        "ctypes",
        "cffi",
        # Python 2 era spellings of function internals
        "func_globals",
        "func_code",
        "func_closure",
        "im_func",
        "im_self",
        "im_class",
    }
)

# Refused on str objects and the str type: str.format walks attributes.
STR_DENIED = frozenset({"format", "format_map"})

# Refused on numpy arrays, scalars, dtypes, iterators and random generators.
NUMPY_DENIED = frozenset(
    {
        "base",  # the owner of the memory: a buffer or another array
        "data",  # a memoryview on the raw buffer
        "tofile",  # file I/O
        "dump",  # pickle to a file
        "dumps",  # pickle
        "setflags",  # would make a read-only view writable
        "view",  # reinterprets memory with another dtype
        "getfield",  # reinterprets memory at an offset
        "setfield",
        "resize",  # in place, refcheck=False frees memory that views still use
        "bit_generator",  # exposes .ctypes / .cffi state pointers
        "lock",
    }
)
NUMPY_TYPES: tuple[type, ...] = (
    np.ndarray,
    np.generic,
    np.dtype,
    np.flatiter,
    np.random.Generator,
    np.random.BitGenerator,
    np.random.RandomState,
)

# Refused on exceptions: AttributeError.obj is the object (a module, sometimes)
# whose attribute was missing; ImportError.path is a server path.
EXCEPTION_DENIED = frozenset({"obj", "path"})

# Objects that are never inspected at all, whatever the name.
OPAQUE_TYPES: tuple[type, ...] = (
    types.ModuleType,
    types.FrameType,
    types.TracebackType,
    types.CodeType,
    types.CellType,
)

# Exceptions (and object) a script's classes may derive from, besides its own classes.
ALLOWED_BASES: frozenset[type] = frozenset(
    {object}
    | {
        value
        for value in vars(builtins).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
)

INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}

_MISSING: Any = object()


def underscore_message(name: str) -> str:
    return f'"{name}" is an invalid attribute name because it starts with "_"'


def denied_message(name: str) -> str:
    return f'"{name}" is a restricted attribute name in the sandbox'


def _is_numpy(obj: object) -> bool:
    return isinstance(obj, NUMPY_TYPES) or (isinstance(obj, type) and issubclass(obj, NUMPY_TYPES))


def _is_str(obj: object) -> bool:
    return isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))


def check_attribute(obj: object, name: object) -> str:
    """Return ``name`` when a script may read ``obj.<name>``, else raise.

    Raises ``TypeError`` for a non-str name and ``AttributeError`` (with the
    message the user sees) for a refused one.
    """
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_"):
        raise AttributeError(underscore_message(name))
    if name in DENIED_ATTRIBUTES:
        raise AttributeError(denied_message(name))
    if isinstance(obj, OPAQUE_TYPES):
        raise AttributeError(f"{type(obj).__name__} objects are not accessible in the sandbox")
    if name in STR_DENIED and _is_str(obj):
        raise AttributeError(
            f'"{name}" is not allowed on strings in the sandbox: use % or f-strings'
        )
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise AttributeError(OBJECT_ARRAY_MESSAGE)
    if name in NUMPY_DENIED and _is_numpy(obj):
        raise AttributeError(denied_message(name))
    if name in EXCEPTION_DENIED and isinstance(obj, BaseException):
        raise AttributeError(denied_message(name))
    return name


def _check_container(obj: object) -> None:
    if isinstance(obj, (*OPAQUE_TYPES, Facade)):
        raise TypeError(f"{type(obj).__name__} objects are not accessible in the sandbox")
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject:
        raise TypeError(OBJECT_ARRAY_MESSAGE)


class _ArrayWriter:
    """What ``_write_`` returns for an array: item assignment only, no attributes."""

    __slots__ = ("_array",)
    _array: np.ndarray[Any, Any]

    def __init__(self, array: np.ndarray[Any, Any]) -> None:
        object.__setattr__(self, "_array", array)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._array[key] = value

    def __delitem__(self, key: Any) -> None:
        raise TypeError("numpy arrays do not support item deletion")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("cannot assign attributes of numpy arrays in the sandbox")

    def __delattr__(self, name: str) -> None:
        raise TypeError("cannot delete attributes of numpy arrays in the sandbox")


class _ReadOnly:
    """What ``_write_`` returns for objects a script may not change."""

    __slots__ = ("_type_name",)
    _type_name: str

    def __init__(self, obj: object) -> None:
        name = "module" if isinstance(obj, Facade) else type(obj).__name__
        object.__setattr__(self, "_type_name", name)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError(f"cannot assign items of {self._type_name} objects in the sandbox")

    def __delitem__(self, key: Any) -> None:
        raise TypeError(f"cannot delete items of {self._type_name} objects in the sandbox")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"cannot assign attributes of {self._type_name} objects in the sandbox")

    def __delattr__(self, name: str) -> None:
        raise TypeError(f"cannot delete attributes of {self._type_name} objects in the sandbox")


class Guards:
    """The guard functions of one run. See the module docstring for the rewrites."""

    def __init__(self) -> None:
        self._classes: weakref.WeakSet[type] = weakref.WeakSet()

    # --- reading ---------------------------------------------------------

    def getattr(self, obj: object, name: str, default: Any = _MISSING) -> Any:
        """``_getattr_`` and the script's ``getattr`` builtin."""
        check_attribute(obj, name)
        value = getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
        if name == "astype" and isinstance(obj, np.ndarray) and callable(value):
            return _checked_astype(value)
        return value

    def hasattr(self, obj: object, name: str) -> bool:
        """The script's ``hasattr``: ``False`` for a name it may not read."""
        try:
            check_attribute(obj, name)
        except AttributeError:
            return False
        return hasattr(obj, name)

    def getitem(self, obj: Any, key: Any) -> Any:
        """``_getitem_``: ``obj[key]``, refused on opaque objects and object arrays."""
        _check_container(obj)
        return obj[key]

    def getiter(self, obj: Any) -> Any:
        """``_getiter_``: ``iter(obj)``, refused on opaque objects and object arrays."""
        _check_container(obj)
        return iter(obj)

    def iter_unpack_sequence(self, it: Any, spec: Any, _getiter_: Any) -> Any:
        return guarded_iter_unpack_sequence(it, spec, self.getiter)  # type: ignore[no-untyped-call]

    def unpack_sequence(self, it: Any, spec: Any, _getiter_: Any) -> Any:
        return guarded_unpack_sequence(it, spec, self.getiter)  # type: ignore[no-untyped-call]

    # --- writing ---------------------------------------------------------

    def write(self, obj: Any) -> Any:
        """``_write_``: the object a script may assign through.

        Lists and dicts as they are; numpy arrays for item assignment only;
        the script's own classes and their instances as they are (attribute
        names starting with ``_`` are refused at compile time and by
        ``setattr``); everything else refuses every assignment.
        """
        kind = type(obj)
        if kind is list or kind is dict:
            return obj
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            return _ArrayWriter(obj)
        if kind in self._classes or (isinstance(obj, type) and obj in self._classes):
            return obj
        return _ReadOnly(obj)

    def setattr(self, obj: object, name: str, value: object) -> None:
        """The script's ``setattr``."""
        _check_write_name(name)
        setattr(self.write(obj), name, value)

    def delattr(self, obj: object, name: str) -> None:
        """The script's ``delattr``."""
        _check_write_name(name)
        delattr(self.write(obj), name)

    # --- operators and calls ----------------------------------------------

    @staticmethod
    def inplacevar(op: str, target: Any, value: Any) -> Any:
        """``_inplacevar_``: ``target op value`` for an augmented assignment."""
        function = INPLACE_OPERATORS.get(op)
        if function is None:
            raise SyntaxError(f"operator {op} is not allowed in the sandbox")
        return function(target, value)

    @staticmethod
    def apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``_apply_``: a call with ``*args`` or ``**kwargs``."""
        return function(*args, **kwargs)

    # --- classes ----------------------------------------------------------

    def make_class(self, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        """``__metaclass__``: build a script class from allowed bases only."""
        for base in bases:
            if not isinstance(base, type) or (
                base not in ALLOWED_BASES and base not in self._classes
            ):
                raise TypeError(
                    f"class {name}: a class may derive only from object, exceptions "
                    "and classes defined in the script"
                )
        cls = type(name, bases, namespace)
        self._classes.add(cls)
        return cls


def _check_write_name(name: object) -> None:
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_"):
        raise AttributeError(underscore_message(name))


def _checked_astype(method: Callable[..., Any]) -> Callable[..., Any]:
    def astype(dtype: Any, *args: Any, **kwargs: Any) -> Any:
        refuse_object_dtype(dtype)
        return checked(method(dtype, *args, **kwargs))

    return astype
