"""The guard functions on their own (the policy tests exercise them through scripts)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from remotelab.sandbox.worker.facades import Facade
from remotelab.sandbox.worker.guards import (
    DENIED_ATTRIBUTES,
    Guards,
    check_attribute,
    denied_message,
    underscore_message,
)


def test_check_attribute_allows_ordinary_names() -> None:
    assert check_attribute([], "append") == "append"
    assert check_attribute(np.arange(2), "mean") == "mean"


@pytest.mark.parametrize("name", ["_x", "__class__", "__dict__", "_facade_exports"])
def test_underscore_names(name: str) -> None:
    with pytest.raises(AttributeError, match=r"^" + underscore_message(name) + "$"):
        check_attribute(object(), name)


@pytest.mark.parametrize("name", sorted(DENIED_ATTRIBUTES))
def test_denied_names_on_any_object(name: str) -> None:
    with pytest.raises(AttributeError) as info:
        check_attribute(object(), name)
    assert str(info.value) == denied_message(name)


@pytest.mark.parametrize(
    "obj",
    [sys, sys._getframe(), compile("1", "x", "eval"), types.CellType(1)],
    ids=["module", "frame", "code", "cell"],
)
def test_opaque_objects_refuse_every_name(obj: object) -> None:
    with pytest.raises(AttributeError, match=r"objects are not accessible in the sandbox$"):
        check_attribute(obj, "anything")


def test_traceback_objects_are_opaque() -> None:
    try:
        raise ValueError
    except ValueError as exc:
        tb = exc.__traceback__
    with pytest.raises(AttributeError, match=r"^traceback objects are not accessible"):
        check_attribute(tb, "anything")


def test_name_must_be_a_real_str() -> None:
    class Name(str):
        pass

    with pytest.raises(TypeError):
        check_attribute([], Name("append"))


def test_getitem_and_getiter_refuse_facades_and_opaque_objects() -> None:
    guards = Guards()
    facade = Facade("m", {"x": 1})
    with pytest.raises(TypeError, match=r"^Facade objects are not accessible in the sandbox$"):
        guards.getitem(facade, "x")
    with pytest.raises(TypeError):
        guards.getiter(sys)
    assert list(guards.getiter([1, 2])) == [1, 2]
    assert guards.getitem({"a": 1}, "a") == 1


def test_write_passes_lists_and_dicts_through() -> None:
    guards = Guards()
    items: list[int] = [1]
    assert guards.write(items) is items
    mapping: dict[str, int] = {}
    assert guards.write(mapping) is mapping


def test_write_on_an_array_allows_items_only() -> None:
    guards = Guards()
    array = np.zeros(2)
    guards.write(array)[0] = 5
    assert array[0] == 5
    with pytest.raises(TypeError):
        guards.write(array).shape = (2, 1)


def test_write_on_a_list_subclass_is_refused() -> None:
    class MyList(list[int]):
        pass

    with pytest.raises(TypeError, match=r"^cannot assign items of MyList objects in the sandbox$"):
        Guards().write(MyList())[0] = 1


def test_script_classes_are_writable_others_not() -> None:
    guards = Guards()
    cls = guards.make_class("A", (), {"__module__": "script", "__qualname__": "A"})
    instance = cls()
    guards.write(instance).x = 1
    assert instance.x == 1
    guards.write(cls).y = 2
    other = Guards()  # another run does not know this class
    with pytest.raises(TypeError):
        other.write(instance).x = 2


def test_make_class_refuses_foreign_bases() -> None:
    guards = Guards()
    with pytest.raises(TypeError, match=r"^class A: a class may derive only from"):
        guards.make_class("A", (dict,), {})
    with pytest.raises(TypeError):
        guards.make_class("A", (np.ndarray,), {})
    assert issubclass(guards.make_class("E", (ValueError,), {}), ValueError)


def test_inplacevar_uses_the_in_place_operator() -> None:
    items = [1]
    assert Guards.inplacevar("+=", items, [2]) is items
    assert items == [1, 2]
    assert Guards.inplacevar("**=", 3, 2) == 9
    with pytest.raises(SyntaxError):
        Guards.inplacevar("and=", 1, 2)


def test_getattr_wraps_astype_of_arrays() -> None:
    astype = Guards().getattr(np.arange(2), "astype")
    assert astype("float32").dtype == np.float32
    with pytest.raises(TypeError):
        astype(object)
