"""Module facades and the import hook."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest

from remotelab.sandbox.worker.errors import LimitExceeded
from remotelab.sandbox.worker.facades import STATIC_FACADES, Facade, Importer, time_facade


def test_facade_exposes_exactly_its_exports() -> None:
    facade = Facade("m", {"pi": 3.0})
    assert facade.pi == 3.0
    assert dir(facade) == ["pi"]
    with pytest.raises(AttributeError, match=r"^module 'm' has no attribute 'e' in the sandbox$"):
        _ = facade.e


def test_facade_is_read_only() -> None:
    facade = Facade("m", {"pi": 3.0})
    with pytest.raises(AttributeError, match=r"read-only"):
        facade.pi = 4.0
    with pytest.raises(AttributeError, match=r"read-only"):
        del facade.pi


def test_facade_has_no_public_attribute_of_its_own() -> None:
    public = [n for n in dir(type(Facade("m", {}))) if not n.startswith("_")]
    assert public == []


def test_static_facades_list_real_functions() -> None:
    assert STATIC_FACADES["math"].sqrt is math.sqrt
    assert "sleep" not in dir(STATIC_FACADES["math"])
    assert "Random" not in dir(STATIC_FACADES["random"])
    assert "SystemRandom" not in dir(STATIC_FACADES["random"])


def test_importer_hands_out_facades() -> None:
    numpy_facade = Facade("numpy", {})
    fft = Facade("numpy.fft", {})
    importer = Importer({"numpy": numpy_facade, "numpy.fft": fft})
    assert importer("numpy") is numpy_facade
    assert importer("numpy.fft") is numpy_facade  # `import numpy.fft` binds numpy
    assert importer("numpy.fft", None, None, ("rfft",)) is fft


def test_importer_refuses_the_rest() -> None:
    importer = Importer({"math": Facade("math", {})})
    with pytest.raises(ImportError, match=r'^import of "os" is not allowed in the sandbox'):
        importer("os")
    with pytest.raises(ImportError, match=r"relative"):
        importer("math", None, None, (), 1)


def test_importer_ignores_c_level_imports() -> None:
    # PyImport_Import passes an empty list and reads sys.modules itself.
    assert Importer({})("numpy._core._methods", {}, {}, [], 0) is None


def sleep_of(wall_seconds: float) -> Callable[[object], None]:
    sleep = time_facade(wall_seconds, time.monotonic()).sleep
    assert callable(sleep)
    return sleep


def test_sleep_sleeps_within_the_budget() -> None:
    sleep = sleep_of(10.0)
    start = time.monotonic()
    sleep(0.01)
    assert time.monotonic() - start >= 0.01


def test_sleep_past_the_time_limit_is_refused_at_once() -> None:
    sleep = sleep_of(1.0)
    with pytest.raises(LimitExceeded, match=r"^time\.sleep\(5\) would pass the time limit"):
        sleep(5)


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (float("nan"), ValueError), ("1", TypeError), (True, TypeError)],
)
def test_sleep_checks_its_argument(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        sleep_of(10.0)(value)


def test_facade_has_no_name_for_import_from_to_fall_back_on() -> None:
    # CPython's IMPORT_FROM retries sys.modules[f"{module.__name__}.{name}"].
    facade = Facade("numpy", {"sin": 1})
    with pytest.raises(AttributeError):
        _ = facade.__name__
    namespace: dict[str, object] = {"__builtins__": {"__import__": lambda *a: facade}}
    with pytest.raises(ImportError):
        exec("from numpy import lib", namespace)  # numpy.lib is in sys.modules here


def test_facade_refuses_private_exports() -> None:
    with pytest.raises(ValueError):
        Facade("m", {"_x": 1})
