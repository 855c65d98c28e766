"""The ``numpy`` a script imports: a curated facade, never the real module.

What it exposes: array creation, elementwise math, reductions and statistics,
polynomials, a little linear algebra, ``numpy.fft`` and ``numpy.random``
sub-facades, dtypes and constants (lists below). What it never exposes: file
I/O (``load``, ``save``, ``fromfile``, ``memmap``, ``tofile``...), ``ctypes``,
``lib`` and its stride tricks, ``frombuffer``, ``vectorize``/``frompyfunc``,
``ndarray`` itself (its constructor takes a buffer and strides), global state
setters (``seterr``, ``set_printoptions``).

Every function is wrapped: it refuses ``dtype=object`` and an object array as
its result, so a facade call never returns an array of references. ``empty``
and ``empty_like`` are ``zeros`` and ``zeros_like`` (no uninitialised memory).
Arrays returned are real ``ndarray`` objects; what a script may do with them is
decided by :mod:`remotelab.sandbox.worker.guards`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from remotelab.sandbox.worker.facades import Facade

OBJECT_ARRAY_MESSAGE = "arrays of Python objects (dtype=object) are not available in the sandbox"

CREATION = """
array asarray zeros ones full zeros_like ones_like full_like arange linspace logspace
geomspace eye identity diag diagonal meshgrid copy concatenate stack vstack hstack
column_stack append insert delete repeat tile reshape ravel transpose flip fliplr flipud roll
squeeze expand_dims swapaxes moveaxis atleast_1d atleast_2d split array_split take
"""

ELEMENTWISE = """
where nonzero argwhere unique sort argsort searchsorted clip round around floor ceil trunc
rint fix abs absolute fabs sign sqrt cbrt square power exp exp2 expm1 log log10 log2 log1p
sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh hypot
degrees radians deg2rad rad2deg unwrap sinc real imag angle conj conjugate maximum minimum
fmax fmin mod remainder fmod floor_divide divmod add subtract multiply divide true_divide
negative reciprocal isnan isinf isfinite isclose allclose array_equal logical_and logical_or
logical_not logical_xor heaviside gcd lcm isreal iscomplex nan_to_num select piecewise
"""

REDUCTIONS = """
all any sum prod cumsum cumprod diff ediff1d gradient mean average median std var min max
amin amax ptp argmin argmax percentile quantile nanmean nanstd nanvar nanmin nanmax nansum
nanmedian nanargmin nanargmax histogram bincount digitize convolve correlate interp polyfit
polyval polyder polyint roots dot vdot inner outer cross matmul count_nonzero cov corrcoef
shape size ndim
"""

DTYPES = """
bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 complex64
complex128
"""

CONSTANTS = "pi e inf nan newaxis euler_gamma"

FFT = "fft ifft rfft irfft fft2 ifft2 fftfreq rfftfreq fftshift ifftshift"

RANDOM = """
random rand randn randint random_sample normal uniform choice shuffle permutation seed
standard_normal poisson exponential binomial default_rng
"""

LINALG = "norm inv det solve eig eigvals eigh lstsq pinv svd matrix_rank"


def refuse_object_dtype(dtype: object) -> None:
    """Raise ``TypeError`` when ``dtype`` describes (or contains) Python objects."""
    try:
        has_object = np.dtype(dtype).hasobject  # type: ignore[call-overload]
    except TypeError:
        return  # not a dtype at all: numpy itself will say so
    if has_object:
        raise TypeError(OBJECT_ARRAY_MESSAGE)


def checked(value: Any) -> Any:
    """Return ``value`` unless it is (or directly holds) an object array."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(OBJECT_ARRAY_MESSAGE)
    elif isinstance(value, tuple | list):
        for item in value:
            if isinstance(item, np.ndarray) and item.dtype.hasobject:
                raise TypeError(OBJECT_ARRAY_MESSAGE)
    return value


def wrap(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A plain function calling ``function`` with the object-array checks.

    The wrapper carries no reference to numpy in any attribute a script can
    name (``functools.wraps`` would copy ``__dict__`` and set ``__wrapped__``).
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        if "dtype" in kwargs:
            refuse_object_dtype(kwargs["dtype"])
        return checked(function(*args, **kwargs))

    call.__name__ = call.__qualname__ = name
    call.__doc__ = function.__doc__
    call.__module__ = "numpy"
    return call


def _functions(module: Any, prefix: str, names: str) -> dict[str, object]:
    return {n: wrap(getattr(module, n), f"{prefix}{n}") for n in names.split()}


def build_numpy_facades() -> dict[str, Facade]:
    """The facades ``numpy``, ``numpy.fft``, ``numpy.random`` and ``numpy.linalg``.

    Raises ``AttributeError`` when the installed numpy lacks a listed name.
    """
    fft = Facade("numpy.fft", _functions(np.fft, "fft.", FFT))
    rand = Facade("numpy.random", _functions(np.random, "random.", RANDOM))
    linalg_exports = _functions(np.linalg, "linalg.", LINALG)
    linalg_exports["LinAlgError"] = np.linalg.LinAlgError
    linalg = Facade("numpy.linalg", linalg_exports)

    exports: dict[str, object] = {}
    for group in (CREATION, ELEMENTWISE, REDUCTIONS):
        exports.update(_functions(np, "", group))
    exports["empty"] = wrap(np.zeros, "empty")
    exports["empty_like"] = wrap(np.zeros_like, "empty_like")
    trapezoid = getattr(np, "trapezoid", None) or getattr(np, "trapz")  # noqa: B009 - renamed in numpy 2
    exports["trapezoid"] = exports["trapz"] = wrap(trapezoid, "trapezoid")
    exports["poly1d"] = np.poly1d
    exports.update({n: getattr(np, n) for n in DTYPES.split()})
    exports.update({n: getattr(np, n) for n in CONSTANTS.split()})
    exports.update({"fft": fft, "random": rand, "linalg": linalg})
    numpy = Facade("numpy", exports)
    return {"numpy": numpy, "numpy.fft": fft, "numpy.random": rand, "numpy.linalg": linalg}


NUMPY_FACADES = build_numpy_facades()
