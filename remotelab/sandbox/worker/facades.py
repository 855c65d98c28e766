"""Module stand-ins for scripts: ``math``, ``cmath``, ``statistics``, ``random``, ``time``.

A script never gets a module object. ``import math`` binds a :class:`Facade`:
a read-only object whose only public attributes are the vetted names listed
here; everything else raises ``AttributeError``. ``numpy`` is in
:mod:`remotelab.sandbox.worker.numpy_facade`. :class:`Importer` is the script's
``__import__``: it hands out facades by name and refuses every other import.
"""

from __future__ import annotations

import cmath
import math
import random
import statistics
import time as _time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from remotelab.sandbox.worker.errors import LimitExceeded


class Facade:
    """A read-only module stand-in exposing exactly ``exports``.

    It has no ``__name__``, ``__path__``, ``__spec__`` or ``__dict__`` (see
    ``__getattr__`` for why ``__name__`` matters).
    """

    __slots__ = ("_facade_exports", "_facade_name")

    _facade_name: str
    _facade_exports: Mapping[str, object]

    def __init__(self, name: str, exports: Mapping[str, object]) -> None:
        if any(key.startswith("_") for key in exports):
            raise ValueError("a facade exports public names only")
        object.__setattr__(self, "_facade_name", name)
        object.__setattr__(self, "_facade_exports", MappingProxyType(dict(exports)))

    def __getattr__(self, attr: str) -> object:
        # Only reached when normal lookup fails, i.e. for every public name.
        # A facade must never answer ``__name__``: when ``from numpy import x``
        # finds no ``x``, CPython's IMPORT_FROM falls back to
        # ``sys.modules[f"{module.__name__}.x"]`` -- the real ``numpy.x``.
        try:
            if attr.startswith("_"):
                raise KeyError(attr)
            return self._facade_exports[attr]
        except KeyError:
            raise AttributeError(
                f"module '{self._facade_name}' has no attribute '{attr}' in the sandbox"
            ) from None

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError(f"module '{self._facade_name}' is read-only in the sandbox")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"module '{self._facade_name}' is read-only in the sandbox")

    def __repr__(self) -> str:
        return f"<module '{self._facade_name}' (sandbox)>"

    def __dir__(self) -> list[str]:
        # No public attribute of its own: every public name is an export.
        return sorted(self._facade_exports)


def facade_from(module: Any, name: str, names: str) -> Facade:
    """A facade over ``module`` exposing the whitespace-separated ``names``.

    Raises ``AttributeError`` at import time when a listed name does not exist,
    so that an interpreter upgrade cannot silently change the surface.
    """
    return Facade(name, {n: getattr(module, n) for n in names.split()})


MATH_NAMES = """
acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh degrees dist e
erf erfc exp exp2 expm1 fabs factorial floor fmod frexp fsum gamma gcd hypot inf isclose
isfinite isinf isnan isqrt lcm ldexp lgamma log log10 log1p log2 modf nan nextafter perm pi
pow prod radians remainder sin sinh sqrt tan tanh tau trunc ulp
"""

CMATH_NAMES = """
acos acosh asin asinh atan atanh cos cosh e exp inf infj isclose isfinite isinf isnan log
log10 nan nanj phase pi polar rect sin sinh sqrt tan tanh tau
"""

STATISTICS_NAMES = """
NormalDist StatisticsError correlation covariance fmean geometric_mean harmonic_mean
linear_regression mean median median_grouped median_high median_low mode multimode pstdev
pvariance quantiles stdev variance
"""

# Bound methods of the module's hidden Random instance; their __self__ is
# unreachable (underscore names are refused), and the state is per run.
RANDOM_NAMES = """
betavariate choice choices expovariate gammavariate gauss getrandbits lognormvariate
normalvariate paretovariate randbytes randint random randrange sample seed shuffle
triangular uniform vonmisesvariate weibullvariate
"""

TIME_NAMES = (
    "asctime ctime gmtime localtime mktime monotonic perf_counter process_time strftime time"
)


def time_facade(wall_seconds: float, started: float) -> Facade:
    """``time`` for one run: ``sleep`` refuses to sleep past the run's time limit.

    ``started`` is the ``time.monotonic()`` at which the run's clock started.
    """

    def sleep(seconds: float) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"time.sleep() needs a number of seconds, not {type(seconds).__name__}")
        if not seconds >= 0:  # also refuses nan
            raise ValueError("sleep length must be non-negative")
        remaining = wall_seconds - (_time.monotonic() - started)
        if seconds > remaining:
            raise LimitExceeded(
                f"time.sleep({seconds:g}) would pass the time limit of the run "
                f"({wall_seconds:g} s, {max(remaining, 0.0):.2f} s left)"
            )
        _time.sleep(seconds)

    exports: dict[str, object] = {n: getattr(_time, n) for n in TIME_NAMES.split()}
    exports["sleep"] = sleep
    return Facade("time", exports)


STATIC_FACADES: dict[str, Facade] = {
    "math": facade_from(math, "math", MATH_NAMES),
    "cmath": facade_from(cmath, "cmath", CMATH_NAMES),
    "statistics": facade_from(statistics, "statistics", STATISTICS_NAMES),
    "random": facade_from(random, "random", RANDOM_NAMES),
}


class Importer:
    """The script's ``__import__``: facades by exact dotted name, nothing else."""

    def __init__(self, modules: Mapping[str, Facade]) -> None:
        self._modules = dict(modules)
        self._allowed = ", ".join(sorted(m for m in self._modules if "." not in m))

    def __call__(
        self,
        name: str,
        globals: object = None,  # the signature of __import__
        locals: object = None,
        fromlist: object = (),
        level: int = 0,
    ) -> Facade | None:
        if type(fromlist) is list:
            # C code running on behalf of the script (numpy's lazy
            # ``npy_cache_import``) imports through PyImport_Import, which finds
            # ``__import__`` in the script's builtins, calls it with an empty
            # *list* (an import statement passes a tuple or None) and ignores
            # the return value: it then reads sys.modules itself. Do nothing
            # and return nothing: modules already imported by the zygote stay
            # usable by numpy, no new module is loaded, and the script never
            # receives a module object.
            return None
        if level != 0:
            raise ImportError("relative imports are not allowed in the sandbox")
        if not isinstance(name, str):
            raise TypeError("module name must be a string")
        facade = self._modules.get(name)
        if facade is None:
            raise ImportError(
                f'import of "{name}" is not allowed in the sandbox (allowed: {self._allowed})'
            )
        if fromlist:
            return facade
        # `import numpy.fft` binds the top-level name, as Python does.
        return self._modules[name.partition(".")[0]]
