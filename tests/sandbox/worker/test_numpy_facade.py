"""The numpy facade: what scripts can do with arrays, and what they never reach."""

from __future__ import annotations

import types

import numpy as np
import pytest

from remotelab.sandbox.worker.facades import Facade
from remotelab.sandbox.worker.numpy_facade import NUMPY_FACADES, OBJECT_ARRAY_MESSAGE, wrap
from tests.sandbox.helpers import error_of, run_local, stdout_of

RESTRICTED = '"{}" is a restricted attribute name in the sandbox'


def exports(facade: Facade) -> dict[str, object]:
    return {name: getattr(facade, name) for name in dir(facade)}


def test_the_facade_holds_no_module_and_no_raw_numpy_function() -> None:
    for facade in NUMPY_FACADES.values():
        for name, value in exports(facade).items():
            assert not isinstance(value, types.ModuleType), name
            if isinstance(value, types.FunctionType):
                assert value.__module__ == "numpy", name  # our wrappers
            else:
                assert isinstance(value, type | float | Facade) or value is None, name


def test_wrapper_keeps_no_reference_to_numpy_in_public_attributes() -> None:
    wrapped = wrap(np.sin, "sin")
    assert not hasattr(wrapped, "__wrapped__")
    assert [n for n in vars(wrapped) if not n.startswith("_")] == []


@pytest.mark.parametrize(
    "name",
    [
        "load",
        "save",
        "savez",
        "savetxt",
        "loadtxt",
        "genfromtxt",
        "fromfile",
        "frombuffer",
        "fromstring",
        "memmap",
        "lib",
        "ndarray",
        "vectorize",
        "frompyfunc",
        "seterr",
        "set_printoptions",
        "DataSource",
        "ctypeslib",
        "testing",
        "f2py",
        "dtype",
        "char",
        "rec",
    ],
)
def test_names_outside_the_facade(name: str) -> None:
    assert error_of(f"import numpy as np\nnp.{name}") == (
        "AttributeError",
        f"module 'numpy' has no attribute '{name}' in the sandbox",
        2,
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = np.linspace(0, 1, 3)\nprint(x * 2)", "[0. 1. 2.]"),
        ("x = np.arange(6)\nprint(x[1:4], x[::-1][0], x.shape)", "[1 2 3] 5 (6,)"),
        ("x = np.arange(4.0)\nprint(x.mean(), x.std() > 0, x.sum(), x.max())", "1.5 True 6.0 3.0"),
        ("print(np.sin(np.pi / 2), np.sqrt(4.0), np.abs(-2))", "1.0 2.0 2"),
        ("print(np.polyfit([0, 1, 2], [1, 3, 5], 1).round(6))", "[2. 1.]"),
        ("print(np.polyval([2, 1], 3))", "7"),
        ("print(np.fft.rfft([1.0, 0, 0, 0]))", "[1.+0.j 1.+0.j 1.+0.j]"),
        ("print(np.fft.fftfreq(4, 0.5))", "[ 0.   0.5 -1.  -0.5]"),
        ("print(np.argmax([1, 5, 2]), np.median([3, 1, 2]))", "1 2.0"),
        ("print(np.zeros(2), np.ones(2, dtype='int16'), np.full(2, 7))", "[0. 0.] [1 1] [7 7]"),
        ("print(np.empty(3), np.empty_like(np.ones(2)))", "[0. 0. 0.] [0. 0.]"),
        ("print(np.linalg.det([[1, 2], [3, 4]]).round(6))", "-2.0"),
        ("x = np.arange(3)\nx[0] = 9\nx[1:] = 0\nprint(x)", "[9 0 0]"),
        ("print(np.arange(3).astype('float32').dtype)", "float32"),
        ("print(np.array([1, 2]).tolist(), np.array([[1, 2]]).T.shape)", "[1, 2] (2, 1)"),
        ("print(np.pi > 3, np.inf > 1e308, np.isnan(np.nan))", "True True True"),
        ("print(np.trapz([1, 1], [0, 1]), np.trapezoid([1, 1], [0, 1]))", "1.0 1.0"),
        (
            "np.random.seed(3)\na = np.random.random()\n"
            "np.random.seed(3)\nprint(a == np.random.random())",
            "True",
        ),
        ("print(np.random.default_rng(1).integers(0, 10, 3).shape)", "(3,)"),
        ("print(np.float32(1.5) * 2, np.int16(3).dtype)", "3.0 int16"),
        ("p = np.poly1d([1, 0])\nprint(p(3))", "3"),
    ],
)
def test_what_scripts_expect_works(code: str, expected: str) -> None:
    assert stdout_of("import numpy as np\n" + code) == expected + "\n"


@pytest.mark.parametrize(
    "code",
    [
        "np.array([1, None])",
        "np.array([1, 'a', []], dtype=object)",
        "np.zeros(3, dtype=object)",
        "np.zeros(3, object)",
        "np.zeros(3, dtype='O')",
        "np.zeros(3, dtype=[('a', 'O')])",
        "np.arange(3).astype(object)",
        "np.concatenate([[1], [None]])",
        "np.full(2, None)",
    ],
)
def test_object_arrays_are_refused(code: str) -> None:
    kind, message, _line = error_of("import numpy as np\n" + code)
    assert (kind, message) == ("TypeError", OBJECT_ARRAY_MESSAGE)


@pytest.mark.parametrize(
    "name",
    [
        "base",
        "data",
        "tofile",
        "dump",
        "dumps",
        "setflags",
        "view",
        "getfield",
        "setfield",
        "resize",
    ],
)
def test_raw_memory_attributes_of_arrays_are_refused(name: str) -> None:
    assert error_of(f"import numpy as np\na = np.arange(3)\na.{name}") == (
        "AttributeError",
        RESTRICTED.format(name),
        3,
    )


@pytest.mark.parametrize(
    "code",
    [
        "np.float64(1).base",
        "np.float64.view",
        "np.arange(3).flat.base",
        "np.arange(3).dtype.base",
        "np.arange(3).T.base",
        "getattr(np.arange(3), 'data')",
        "np.random.default_rng().bit_generator",
    ],
)
def test_raw_memory_attributes_everywhere_in_numpy(code: str) -> None:
    kind, message, _line = error_of("import numpy as np\n" + code)
    assert (kind, message.startswith('"')) == ("AttributeError", True)
    assert message.endswith("is a restricted attribute name in the sandbox")


def test_ctypes_is_refused_at_compile_time() -> None:
    kind, message, _line = error_of("import numpy as np\nnp.arange(3).ctypes")
    assert (kind, message) == ("PolicyError", "Line 2: " + RESTRICTED.format("ctypes") + ".")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("a.shape = (3, 1)", "cannot assign attributes of numpy arrays in the sandbox"),
        ("a.strides = (0,)", "cannot assign attributes of numpy arrays in the sandbox"),
        ("a.dtype = 'int8'", "cannot assign attributes of numpy arrays in the sandbox"),
        ("a.flags.writeable = True", "cannot assign attributes of flagsobj objects in the sandbox"),
        ("a.flags['WRITEABLE'] = True", "cannot assign items of flagsobj objects in the sandbox"),
        ("del a[0]", "numpy arrays do not support item deletion"),
        ("setattr(a, 'shape', (3,))", "cannot assign attributes of numpy arrays in the sandbox"),
    ],
)
def test_array_metadata_cannot_be_written(code: str, message: str) -> None:
    assert error_of("import numpy as np\na = np.arange(3.0)\n" + code) == ("TypeError", message, 3)


def test_object_arrays_made_by_other_paths_are_opaque() -> None:
    # A random generator's choice over mixed values makes an object array; the
    # script may print it but not look inside.
    code = "import numpy as np\nc = np.random.default_rng(1).choice([None, 1], 2)\n"
    assert run_local(code + "print(len(str(c)) > 0)")["status"] == "ok"
    assert error_of(code + "c.tolist()")[1] == OBJECT_ARRAY_MESSAGE
    assert error_of(code + "c[0]")[1] == OBJECT_ARRAY_MESSAGE
    assert error_of(code + "for v in c: pass")[1] == OBJECT_ARRAY_MESSAGE


def test_numpy_lazy_imports_do_not_give_modules_to_scripts() -> None:
    # x.mean() makes numpy import numpy._core._methods through the script's
    # __import__; the import statement form of the same name is still refused.
    assert stdout_of("import numpy as np\nprint(np.arange(3.0).mean())") == "1.0\n"
    assert error_of("import numpy._core._methods")[0] == "ImportError"
