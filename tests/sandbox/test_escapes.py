"""The escape corpus: attempts to get out of the sandbox, each refused or contained.

Every attempt runs through a real SandboxPool (zygote, forked worker, full
isolation) with an instrument handler attached, so traversal through the
instrument proxies and widget functions is real. An attempt passes when the
run is refused with the expected error, or when it runs but its output shows
it got nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from remotelab.config import SandboxSettings, WidgetSettings
from remotelab.errors import FunctionStringError
from remotelab.sandbox.protocol import TRUNCATION_MARKER
from remotelab.sandbox.result import RunResult
from remotelab.sandbox.server.pool import SandboxPool
from remotelab.sandbox.worker.numpy_facade import OBJECT_ARRAY_MESSAGE
from remotelab.sandbox.worker.policy import TOO_COMPLEX

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "s3cr3t-of-the-test-process-7f3a"
FUNCTIONS = ("get_voltage", "hang")
ALLOWED = "(allowed: cmath, math, numpy, random, statistics, time)"
NO_NAME = "cannot import name '{}' from '<unknown module name>' (unknown location)"


def underscore(name: str) -> str:
    return f'"{name}" is an invalid attribute name because it starts with "_"'


def compile_underscore(name: str, line: int = 1) -> str:
    return f"Line {line}: " + underscore(name) + "."


def variable_underscore(name: str, line: int = 1) -> str:
    return f'Line {line}: "{name}" is an invalid variable name because it starts with "_"'


def restricted(name: str) -> str:
    return f'"{name}" is a restricted attribute name in the sandbox'


def inspect_name(name: str, line: int = 1) -> str:
    return (
        f'Line {line}: "{name}" is a restricted name, '
        "that is forbidden to access in RestrictedPython."
    )


def not_allowed(module: str) -> str:
    return f'import of "{module}" is not allowed in the sandbox {ALLOWED}'


@dataclass(frozen=True)
class Refused:
    """The run fails with this error type and message (exact, or a prefix with ``...``)."""

    type: str
    message: str

    def check(self, result: RunResult) -> None:
        assert result.status == "error", result.to_dict()
        assert result.error is not None
        assert result.error.type == self.type, result.error
        if self.message.endswith("..."):
            assert result.error.message.startswith(self.message[:-3]), result.error.message
        else:
            assert result.error.message == self.message


@dataclass(frozen=True)
class Contained:
    """The run succeeds and prints exactly this: it got nothing it should not have."""

    stdout: str

    def check(self, result: RunResult) -> None:
        assert result.status == "ok", result.to_dict()
        assert result.stdout == self.stdout


@dataclass(frozen=True)
class Stopped:
    """The run is ended by a limit (any of these statuses), and leaks nothing."""

    statuses: tuple[str, ...]
    message: str = ""

    def check(self, result: RunResult) -> None:
        assert result.status in self.statuses, result.to_dict()
        assert result.error is not None
        assert self.message in result.error.message
        assert SECRET not in result.stdout


Expectation = Refused | Contained | Stopped


def attempt(name: str, code: str, expect: Expectation) -> Any:
    return pytest.param(code, expect, id=name)


ATTRIBUTE_WALKS = [
    attempt(
        "subclasses-walk",
        "().__class__.__bases__[0].__subclasses__()",
        Refused(
            "PolicyError",
            "\n".join(compile_underscore(n) for n in ["__subclasses__", "__bases__", "__class__"]),
        ),
    ),
    attempt(
        "getattr-class",
        "getattr((), '__class__')",
        Refused("AttributeError", underscore("__class__")),
    ),
    attempt(
        "getattr-default",
        "getattr((), '__class__', 1)",
        Refused("AttributeError", underscore("__class__")),
    ),
    attempt(
        "getattr-self-of-getattr",
        "getattr(getattr, '__self__')",
        Refused("AttributeError", underscore("__self__")),
    ),
    attempt(
        "method-self", "[].append.__self__", Refused("PolicyError", compile_underscore("__self__"))
    ),
    attempt("mro-call", "int.mro()", Refused("PolicyError", "Line 1: " + restricted("mro") + ".")),
    attempt("mro-getattr", "getattr(int, 'mro')", Refused("AttributeError", restricted("mro"))),
    attempt("type-builtin", "type(1)", Refused("NameError", "name 'type' is not defined")),
    attempt("vars-builtin", "vars()", Refused("NameError", "name 'vars' is not defined")),
    attempt(
        "object-subclasses",
        "getattr(object, '__subclasses__')()",
        Refused("AttributeError", underscore("__subclasses__")),
    ),
    attempt(
        "class-bases-write",
        "class A:\n  pass\nA.__bases__ = ()",
        Refused("PolicyError", compile_underscore("__bases__", 3)),
    ),
    attempt(
        "setattr-dunder",
        "class A:\n  pass\nsetattr(A, '__getattr__', len)",
        Refused("AttributeError", underscore("__getattr__")),
    ),
    attempt(
        "facade-internals",
        "import numpy as np\ngetattr(np, '_facade_exports')",
        Refused("AttributeError", underscore("_facade_exports")),
    ),
    attempt(
        "facade-dict",
        "import numpy as np\ngetattr(np, '__dict__')",
        Refused("AttributeError", underscore("__dict__")),
    ),
    attempt(
        "import-private-name",
        "from numpy import _facade_exports",
        Refused("PolicyError", variable_underscore("_facade_exports")),
    ),
    attempt(
        "str-subclass",
        "class S(str):\n  pass",
        Refused(
            "TypeError",
            "class S: a class may derive only from object, exceptions "
            "and classes defined in the script",
        ),
    ),
    attempt(
        "attribute-error-obj",
        "import numpy as np\ntry:\n  np.load\nexcept AttributeError as e:\n  e.obj",
        Refused("AttributeError", restricted("obj")),
    ),
    attempt(
        "hasattr-probe",
        "print(hasattr((), '__class__'), hasattr(print_, '__globals__'))",
        Contained("False False\n"),
    ),
]

FRAME_WALKS = [
    attempt(
        "generator-gi-frame",
        "g = (i for i in [1])\ng.gi_frame",
        Refused("PolicyError", inspect_name("gi_frame", 2)),
    ),
    attempt(
        "generator-getattr-gi-frame",
        "g = (i for i in [1])\ngetattr(g, 'gi_frame')",
        Refused("AttributeError", restricted("gi_frame")),
    ),
    attempt(
        "generator-gi-code",
        "g = (i for i in [1])\ngetattr(g, 'gi_code')",
        Refused("AttributeError", restricted("gi_code")),
    ),
    attempt(
        "generator-yieldfrom",
        "def f():\n  yield from [1]\ng = f()\nnext(g)\ngetattr(g, 'gi_yieldfrom')",
        Refused("AttributeError", restricted("gi_yieldfrom")),
    ),
    attempt(
        "traceback-attribute",
        "try:\n  1 / 0\nexcept Exception as e:\n  e.__traceback__",
        Refused("PolicyError", compile_underscore("__traceback__", 4)),
    ),
    attempt(
        "traceback-getattr",
        "try:\n  1 / 0\nexcept Exception as e:\n  getattr(e, '__traceback__')",
        Refused("AttributeError", underscore("__traceback__")),
    ),
    attempt(
        "tb-frame",
        "x.tb_frame.f_globals",
        Refused("PolicyError", inspect_name("f_globals") + "\n" + inspect_name("tb_frame")),
    ),
    attempt(
        "coroutine",
        "async def f():\n  pass",
        Refused("PolicyError", "Line 1: AsyncFunctionDef statements are not allowed."),
    ),
    attempt(
        "cr-frame", "getattr(None, 'cr_frame')", Refused("AttributeError", restricted("cr_frame"))
    ),
    attempt("f-back", "getattr(None, 'f_back')", Refused("AttributeError", restricted("f_back"))),
    attempt(
        "sys-getframe",
        "import sys\nsys._getframe()",
        Refused("PolicyError", compile_underscore("_getframe", 2)),
    ),
    attempt("sys", "import sys", Refused("ImportError", not_allowed("sys"))),
    attempt("inspect-module", "import inspect", Refused("ImportError", not_allowed("inspect"))),
    attempt(
        "traceback-module", "import traceback", Refused("ImportError", not_allowed("traceback"))
    ),
    attempt(
        "except-star",
        "try:\n  pass\nexcept* Exception:\n  pass",
        Refused("PolicyError", "Line 1: TryStar statements are not allowed."),
    ),
    attempt(
        "exception-context",
        "try:\n  get_voltage('BAD')\nexcept ValueError as e:\n  getattr(e, '__context__')",
        Refused("AttributeError", underscore("__context__")),
    ),
]

FORMAT_STRINGS = [
    attempt(
        "str-format-walk",
        "'{0.__class__.__mro__}'.format(1)",
        Refused(
            "AttributeError",
            '"format" is not allowed on strings in the sandbox: use % or f-strings',
        ),
    ),
    attempt(
        "str-format-map",
        "'{a.__class__}'.format_map({'a': 1})",
        Refused(
            "AttributeError",
            '"format_map" is not allowed on strings in the sandbox: use % or f-strings',
        ),
    ),
    attempt(
        "getattr-format",
        "getattr('{0}', 'format')",
        Refused(
            "AttributeError",
            '"format" is not allowed on strings in the sandbox: use % or f-strings',
        ),
    ),
    attempt(
        "unbound-str-format",
        "str.format('{0.__class__}', 1)",
        Refused(
            "AttributeError",
            '"format" is not allowed on strings in the sandbox: use % or f-strings',
        ),
    ),
    attempt(
        "string-formatter",
        "import string\nstring.Formatter().format('{0.__class__}', 1)",
        Refused("ImportError", not_allowed("string")),
    ),
    attempt(
        "f-string-attribute",
        "f'{(1).__class__}'",
        Refused("PolicyError", compile_underscore("__class__")),
    ),
    attempt(
        "format-builtin-spec",
        "format(1, '{0.__class__}')",
        Refused("ValueError", "Invalid format specifier..."),
    ),
    attempt("percent-format-dict", "print('%(a)s' % {'a': 1})", Contained("1\n")),
]

BUILTINS_RECOVERY = [
    attempt(
        "builtins-name", "__builtins__", Refused("PolicyError", variable_underscore("__builtins__"))
    ),
    attempt(
        "shadow-getattr",
        "_getattr_ = lambda o, n: 1",
        Refused("PolicyError", variable_underscore("_getattr_")),
    ),
    attempt(
        "shadow-by-argument",
        "def f(_getattr_):\n  pass",
        Refused("PolicyError", variable_underscore("_getattr_")),
    ),
    attempt(
        "shadow-by-import",
        "import math as _getiter_",
        Refused("PolicyError", variable_underscore("_getiter_")),
    ),
    attempt(
        "shadow-by-loop",
        "for _write_ in [1]:\n  pass",
        Refused("PolicyError", variable_underscore("_write_")),
    ),
    attempt(
        "shadow-by-walrus", "(_print_ := 1)", Refused("PolicyError", variable_underscore("_print_"))
    ),
    attempt(
        "shadow-by-global",
        "global _getattr_\n_getattr_ = 1",
        Refused("PolicyError", variable_underscore("_getattr_", 2)),
    ),
    attempt(
        "delete-guard", "del _getattr_", Refused("PolicyError", variable_underscore("_getattr_"))
    ),
    attempt("eval", "eval('1')", Refused("PolicyError", "Line 1: Eval calls are not allowed.")),
    attempt("exec", "exec('1')", Refused("PolicyError", "Line 1: Exec calls are not allowed.")),
    attempt(
        "compile",
        "compile('1', 'x', 'eval')",
        Refused("NameError", "name 'compile' is not defined"),
    ),
    attempt(
        "dunder-import",
        "__import__('os')",
        Refused("PolicyError", variable_underscore("__import__")),
    ),
    attempt(
        "globals", "globals()['_getattr_']", Refused("NameError", "name 'globals' is not defined")
    ),
    attempt(
        "metaclass-keyword",
        "class A(metaclass=list):\n  pass",
        Refused("PolicyError", 'Line 1: The keyword argument "metaclass" is not allowed.'),
    ),
    attempt(
        "match-capture",
        "match 1:\n  case _getattr_:\n    pass",
        Refused("PolicyError", "Line 1: Match statements are not allowed."),
    ),
    attempt(
        "print-self",
        "p = print\ngetattr(p, '__self__')",
        Refused("AttributeError", underscore("__self__")),
    ),
]

IMPORT_TRICKS = [
    attempt("os", "import os", Refused("ImportError", not_allowed("os"))),
    attempt("from-os", "from os import system", Refused("ImportError", not_allowed("os"))),
    attempt("numpy-lib", "import numpy.lib", Refused("ImportError", not_allowed("numpy.lib"))),
    attempt(
        "numpy-private",
        "import numpy._core._methods",
        Refused("ImportError", not_allowed("numpy._core._methods")),
    ),
    attempt(
        # Found by this corpus: while facades had a __name__, IMPORT_FROM's
        # fallback read sys.modules["numpy.lib"] and bound the real module.
        "from-numpy-lib",
        "from numpy import lib",
        Refused("ImportError", NO_NAME.format("lib")),
    ),
    attempt(
        "from-numpy-core",
        "from numpy import _core",
        Refused("PolicyError", variable_underscore("_core")),
    ),
    attempt(
        "from-numpy-fft-helper",
        "from numpy.fft import helper",
        Refused("ImportError", NO_NAME.format("helper")),
    ),
    attempt(
        "from-numpy-linalg-module",
        "from numpy.linalg import linalg",
        Refused("ImportError", NO_NAME.format("linalg")),
    ),
    attempt(
        "import-numpy-lib-as",
        "import numpy.lib as l",
        Refused("ImportError", not_allowed("numpy.lib")),
    ),
    attempt(
        "relative",
        "from . import x",
        Refused("ImportError", "relative imports are not allowed in the sandbox"),
    ),
    attempt(
        "star",
        "from numpy import *",
        Refused("PolicyError", 'Line 1: "*" imports are not allowed.'),
    ),
    attempt("importlib", "import importlib", Refused("ImportError", not_allowed("importlib"))),
    attempt(
        "builtins-module",
        "import builtins",
        Refused("PolicyError", 'Line 1: "builtins" is a reserved name.'),
    ),
    attempt("pslab", "import pslab", Refused("ImportError", not_allowed("pslab"))),
    attempt(
        "remotelab",
        "from remotelab.sandbox import pool",
        Refused("ImportError", not_allowed("remotelab.sandbox")),
    ),
    attempt("ctypes", "import ctypes", Refused("ImportError", not_allowed("ctypes"))),
    attempt("pickle", "import pickle", Refused("ImportError", not_allowed("pickle"))),
    attempt(
        "module-loader",
        "import math\nmath.__loader__",
        Refused("PolicyError", compile_underscore("__loader__", 2)),
    ),
    attempt("codec-import", "'x'.encode('rot13')", Refused("LookupError", "...")),
]

NUMPY_TRICKS = [
    attempt(
        "np-load",
        "import numpy as np\nnp.load('/etc/passwd')",
        Refused("AttributeError", "module 'numpy' has no attribute 'load' in the sandbox"),
    ),
    attempt(
        "np-fromfile",
        "import numpy as np\nnp.fromfile('/etc/passwd')",
        Refused("AttributeError", "module 'numpy' has no attribute 'fromfile' in the sandbox"),
    ),
    attempt(
        "np-memmap",
        "import numpy as np\nnp.memmap('/tmp/x')",
        Refused("AttributeError", "module 'numpy' has no attribute 'memmap' in the sandbox"),
    ),
    attempt(
        "tofile",
        "import numpy as np\nnp.arange(3).tofile('/tmp/x')",
        Refused("AttributeError", restricted("tofile")),
    ),
    attempt(
        "dumps",
        "import numpy as np\nnp.arange(3).dumps()",
        Refused("AttributeError", restricted("dumps")),
    ),
    attempt(
        "ctypes-attribute",
        "import numpy as np\nnp.arange(3).ctypes.data",
        Refused("PolicyError", "Line 2: " + restricted("ctypes") + "."),
    ),
    attempt(
        "as-strided",
        "import numpy as np\nnp.lib.stride_tricks.as_strided",
        Refused("AttributeError", "module 'numpy' has no attribute 'lib' in the sandbox"),
    ),
    attempt(
        "strides-write",
        "import numpy as np\na = np.arange(3)\na.strides = (0,)",
        Refused("TypeError", "cannot assign attributes of numpy arrays in the sandbox"),
    ),
    attempt(
        "resize-no-refcheck",
        "import numpy as np\na = np.arange(3)\nb = a[:]\na.resize(10**6, refcheck=False)",
        Refused("AttributeError", restricted("resize")),
    ),
    attempt(
        "view-as",
        "import numpy as np\nnp.arange(3).view('int8')",
        Refused("AttributeError", restricted("view")),
    ),
    attempt(
        "base-buffer",
        "import numpy as np\nnp.arange(3)[1:].base",
        Refused("AttributeError", restricted("base")),
    ),
    attempt(
        "object-array",
        "import numpy as np\nnp.array([print_, 1])",
        Refused("TypeError", OBJECT_ARRAY_MESSAGE),
    ),
    attempt(
        "astype-object",
        "import numpy as np\nnp.arange(3).astype('O')",
        Refused("TypeError", OBJECT_ARRAY_MESSAGE),
    ),
    attempt(
        "ndarray-constructor",
        "import numpy as np\nnp.ndarray((10,), buffer=b'x')",
        Refused("AttributeError", "module 'numpy' has no attribute 'ndarray' in the sandbox"),
    ),
    attempt(
        "bit-generator-ctypes",
        "import numpy as np\nnp.random.default_rng().bit_generator",
        Refused("AttributeError", restricted("bit_generator")),
    ),
    attempt(
        "writeable-flag",
        "import numpy as np\na = np.arange(3)\na.flags.writeable = True",
        Refused("TypeError", "cannot assign attributes of flagsobj objects in the sandbox"),
    ),
    attempt(
        "frompyfunc",
        "import numpy as np\nnp.frompyfunc(len, 1, 1)",
        Refused("AttributeError", "module 'numpy' has no attribute 'frompyfunc' in the sandbox"),
    ),
    attempt(
        "global-error-state",
        "import numpy as np\nnp.seterr(all='ignore')",
        Refused("AttributeError", "module 'numpy' has no attribute 'seterr' in the sandbox"),
    ),
    attempt(
        "interface-dunder",
        "import numpy as np\nnp.arange(3).__array_interface__",
        Refused("PolicyError", compile_underscore("__array_interface__", 2)),
    ),
    attempt(
        "empty-is-zeroed", "import numpy as np\nprint(np.empty(1000).any())", Contained("False\n")
    ),
]

HOST_TRAVERSAL = [
    attempt(
        "proxy-closure",
        "getattr(get_voltage, '__closure__')",
        Refused("AttributeError", underscore("__closure__")),
    ),
    attempt(
        "proxy-globals",
        "get_voltage.__globals__",
        Refused("PolicyError", compile_underscore("__globals__")),
    ),
    attempt(
        "widget-wrapped",
        "getattr(plot, '__wrapped__')",
        Refused("AttributeError", underscore("__wrapped__")),
    ),
    attempt(
        "widget-defaults",
        "getattr(button, '__defaults__')",
        Refused("AttributeError", underscore("__defaults__")),
    ),
    attempt(
        "widget-code", "label.__code__", Refused("PolicyError", compile_underscore("__code__"))
    ),
    attempt(
        "facade-function-globals",
        "import numpy as np\ngetattr(np.sin, '__globals__')",
        Refused("AttributeError", underscore("__globals__")),
    ),
    attempt(
        "sleep-closure",
        "import time\ngetattr(time.sleep, '__closure__')",
        Refused("AttributeError", underscore("__closure__")),
    ),
    attempt(
        "random-self",
        "import random\ngetattr(random.random, '__self__')",
        Refused("AttributeError", underscore("__self__")),
    ),
    attempt(
        "instrument-error-carries-only-text",
        "try:\n  get_voltage('BOOM')\nexcept RuntimeError as e:\n  print(e.args)",
        Contained("('get_voltage: the instrument call failed',)\n"),
    ),
    attempt(
        "host-object-as-argument",
        "get_voltage(print_)",
        Refused(
            "TypeError",
            "instrument function arguments must be numbers, strings, booleans, None "
            "or lists of these, not function",
        ),
    ),
    attempt(
        "function-as-function-string",
        "button('x', get_voltage)",
        Refused("ValueError", "button: the function string must be a non-empty string"),
    ),
    attempt(
        "unknown-function-string",
        "button('x', 'open(\"/etc/passwd\")')",
        Refused("ValueError", "unknown function in 'open(\"/etc/passwd\")'"),
    ),
    attempt(
        "widget-limit-carries-only-text",
        "try:\n  for i in range(300):\n    label(i)\n"
        "except BaseException as e:\n  raise ValueError(repr(e.args))",
        Refused(
            "ValueError",
            "('too many widgets: a run may create at most 200 (consecutive print() calls share "
            "one, up to 10000 characters)',)",
        ),
    ),
    attempt(
        "print-file",
        "print('x', file=get_voltage)",
        Refused("TypeError", "print(file=...) is not available in the sandbox"),
    ),
]

EXFILTRATION = [
    attempt(
        "environment", "import os\nos.environ['SECRET']", Refused("ImportError", not_allowed("os"))
    ),
    attempt(
        "open-file",
        "open('/etc/passwd').read()",
        Refused("NameError", "name 'open' is not defined"),
    ),
    attempt("socket", "import socket", Refused("ImportError", not_allowed("socket"))),
    attempt("subprocess", "import subprocess", Refused("ImportError", not_allowed("subprocess"))),
    attempt(
        "urllib", "import urllib.request", Refused("ImportError", not_allowed("urllib.request"))
    ),
    attempt("threading", "import threading", Refused("ImportError", not_allowed("threading"))),
    attempt(
        "private-thread", "import _thread", Refused("PolicyError", variable_underscore("_thread"))
    ),
    attempt(
        "multiprocessing",
        "import multiprocessing",
        Refused("ImportError", not_allowed("multiprocessing")),
    ),
]


async def instrument(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if name == "hang":
        await asyncio.sleep(3600)
    if args == ["BAD"]:
        raise FunctionStringError("get_voltage: bad channel")
    if args == ["BOOM"]:
        raise RuntimeError(SECRET)  # a server-side detail: must not reach the script
    return 1.0


def validate(function_string: str) -> None:
    if not function_string.startswith("get_voltage("):
        raise FunctionStringError(f"unknown function in {function_string!r}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool() -> AsyncIterator[SandboxPool]:
    os.environ["SECRET"] = SECRET  # in the server's environment while the zygote starts
    try:
        async with SandboxPool(function_names=FUNCTIONS) as sandbox:
            yield sandbox
    finally:
        del os.environ["SECRET"]


async def run(pool: SandboxPool, code: str) -> RunResult:
    return await pool.run(code, device_call=instrument, validate_function=validate)


@pytest.mark.parametrize(
    ("code", "expect"),
    ATTRIBUTE_WALKS
    + FRAME_WALKS
    + FORMAT_STRINGS
    + BUILTINS_RECOVERY
    + IMPORT_TRICKS
    + NUMPY_TRICKS
    + HOST_TRAVERSAL
    + EXFILTRATION,
)
async def test_attempt(pool: SandboxPool, code: str, expect: Expectation) -> None:
    expect.check(await run(pool, code))


async def test_the_secret_is_nowhere_a_worker_can_look(pool: SandboxPool) -> None:
    assert pool.isolation["environment_empty"] is True
    zygote = pool.zygote_pid
    assert zygote is not None
    with open(f"/proc/{zygote}/environ", "rb") as environ:
        assert SECRET.encode() not in environ.read()
    result = await run(pool, "print(printed, get_voltage('CH1'))")
    assert SECRET not in result.stdout


async def test_generator_finalizers_never_run_after_the_result(pool: SandboxPool) -> None:
    code = (
        "def g():\n  try:\n    yield 1\n  finally:\n    while True:\n      pass\n"
        "x = g()\nnext(x)\nprint('done')"
    )
    result = await run(pool, code)
    assert (result.status, result.stdout) == ("ok", "done\n")
    assert result.stats.wall_ms < 1000


# --- resource exhaustion: a pool with tight limits ----------------------------------------

TIGHT = SandboxSettings(
    wall_seconds=2,
    cpu_seconds=1,
    memory_mb=256,
    stdout_bytes=4096,
    max_device_calls=10,
    max_result_bytes=256 * 1024,
)
TIGHT_WIDGETS = WidgetSettings(max_widgets=20, max_plot_points=1000)
CPU_OR_WALL = ("killed", "timeout")  # a busy shared machine may hit the wall clock first

EXHAUSTION = [
    attempt("cpu-loop", "while True:\n  pass", Stopped(CPU_OR_WALL)),
    attempt(
        "cpu-loop-catching-everything",
        "while True:\n  try:\n    while True:\n      pass\n  except BaseException:\n    pass",
        Stopped(CPU_OR_WALL),
    ),
    attempt("big-int-power", "x = 9 ** 9 ** 9", Stopped((*CPU_OR_WALL, "error"))),
    attempt(
        "big-int-str",
        "str(10 ** 100000)",
        Refused("ValueError", "Exceeds the limit (4300 digits) for integer string conversion..."),
    ),
    attempt(
        "list-bomb",
        "x = [0] * 10 ** 10",
        Refused("MemoryError", "the script ran out of memory (the limit is 256 MiB)"),
    ),
    attempt(
        "string-bomb",
        "x = 'x' * 2 ** 31",
        Refused("MemoryError", "the script ran out of memory (the limit is 256 MiB)"),
    ),
    attempt(
        "growing-list",
        "x = []\nwhile True:\n  x.append('x' * 10 ** 6)",
        Refused("MemoryError", "the script ran out of memory (the limit is 256 MiB)"),
    ),
    attempt(
        "numpy-bomb",
        "import numpy as np\nnp.zeros((10 ** 5, 10 ** 5))",
        Refused("MemoryError", "Unable to allocate 74.5 GiB..."),
    ),
    attempt(
        "print-flood",
        "while True:\n  print('x' * 1000)",
        Refused(
            "LimitExceeded",
            "too many widgets: a run may create at most 20 "
            "(consecutive print() calls share one, up to 10000 characters)",
        ),
    ),
    attempt(
        "recursion",
        "def f():\n  f()\nf()",
        Refused("RecursionError", "maximum recursion depth exceeded"),
    ),
    attempt(
        "recursion-retrying",
        "def f():\n  try:\n    f()\n  except RecursionError:\n    f()\nf()",
        Stopped((*CPU_OR_WALL, "error")),
    ),
    attempt(
        "compile-100000-terms", "x = " + "1+" * 100_000 + "1", Refused("SyntaxError", TOO_COMPLEX)
    ),
    attempt(
        "compile-nesting",
        "x = " + "(" * 300 + ")" * 300,
        Refused("SyntaxError", "Line 1: too many nested parentheses"),
    ),
    attempt(
        "sleep-past-the-limit",
        "import time\ntime.sleep(100)",
        Refused("LimitExceeded", "time.sleep(100) would pass the time limit of the run (2 s..."),
    ),
    attempt(
        "sleep-loop", "import time\nwhile True:\n  time.sleep(0.2)", Stopped(("error", "timeout"))
    ),
    attempt(
        "blocking-instrument-call",
        "hang()",
        Stopped(("timeout",), "the script ran longer than the time limit of 2 s"),
    ),
    attempt(
        "instrument-call-flood",
        "for i in range(10 ** 6):\n  get_voltage('CH1')",
        Refused("LimitExceeded", "too many instrument calls: a run may make at most 10"),
    ),
    attempt(
        "result-too-large",
        "x = [i + 0.123456789 for i in range(1000)]\nfor i in range(20):\n  plot(x, x)",
        Refused("LimitExceeded", "the run's output is over the limit of 262144 bytes"),
    ),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tight_pool() -> AsyncIterator[SandboxPool]:
    async with SandboxPool(
        TIGHT, widgets=TIGHT_WIDGETS, max_script_bytes=1024 * 1024, function_names=FUNCTIONS
    ) as sandbox:
        yield sandbox


@pytest.mark.parametrize(("code", "expect"), EXHAUSTION)
async def test_exhaustion(tight_pool: SandboxPool, code: str, expect: Expectation) -> None:
    expect.check(await run(tight_pool, code))


async def test_output_flood_is_cut_with_a_marker(tight_pool: SandboxPool) -> None:
    result = await run(tight_pool, "for i in range(10):\n  print('x' * 1000)")
    assert result.status == "ok"
    assert result.stdout.endswith(TRUNCATION_MARKER.format(limit=4096))
    assert len(result.stdout.encode()) <= 4096 + len(TRUNCATION_MARKER)


async def test_the_pool_still_serves_after_the_exhaustion_corpus(tight_pool: SandboxPool) -> None:
    result = await run(tight_pool, "print('still here')")
    assert (result.status, result.stdout) == ("ok", "still here\n")


async def test_the_corpus_is_big_enough() -> None:
    groups = [
        ATTRIBUTE_WALKS,
        FRAME_WALKS,
        FORMAT_STRINGS,
        BUILTINS_RECOVERY,
        IMPORT_TRICKS,
        NUMPY_TRICKS,
        HOST_TRAVERSAL,
        EXFILTRATION,
        EXHAUSTION,
    ]
    assert sum(len(group) for group in groups) >= 80
