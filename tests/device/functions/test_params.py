"""Parameter specs: coercion of literals, and what a spec may declare."""

from __future__ import annotations

from typing import Any

import pytest

from remotelab.device.functions import REQUIRED, Param
from remotelab.device.functions.params import describe_value, format_literal, format_number
from remotelab.errors import FunctionStringError

PIN = Param("pin", "str", "A pin.", choices=("CH1", "RES"), aliases={"SEN": "RES"})
COUNT = Param("count", "int | str", "A count or a pin.", choices=("CH1",), minimum=1, maximum=4)
LEVELS = Param(
    "levels", "float | list[float]", "Levels.", default=0, minimum=0, maximum=1, max_items=2
)
FLAG = Param("flag", "bool", "A flag.", default=None)


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        (PIN, "ch1", "CH1"),
        (PIN, "sen", "RES"),
        (COUNT, 3, 3),
        (COUNT, 3.0, 3),
        (COUNT, "ch1", "CH1"),
        (LEVELS, 1, 1.0),
        (LEVELS, (0, 0.5), [0.0, 0.5]),
        (FLAG, 1, True),
        (FLAG, 0, False),
        (FLAG, None, None),
        (Param("any", "str", "Any text."), "free text", "free text"),
        (Param("n", "int", "Whole.", choices=(1, 2)), 2, 2),
    ],
)
def test_coercion(param: Param, value: Any, expected: Any) -> None:
    result = param.coerce(value, "f")
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (COUNT, 0, "parameter 'count' of f() must be between 1 and 4, got 0"),
        (
            COUNT,
            [1],
            "parameter 'count' of f() must be a whole number or one of 'CH1', not a list of 1 item",
        ),
        (LEVELS, [0.5, 0.5, 0.5], "parameter 'levels' of f() must have 1 to 2 items, got 3"),
        (
            LEVELS,
            [0.5, True],
            "parameter 'levels[1]' of f() must be a number, not a boolean (True)",
        ),
        (LEVELS, [None], "parameter 'levels[0]' of f() must be a number, not None"),
        (LEVELS, [2], "parameter 'levels[0]' of f() must be between 0 and 1, got 2"),
        (FLAG, 2, "parameter 'flag' of f() must be True or False or None, not a number (2)"),
        (
            FLAG,
            "yes",
            "parameter 'flag' of f() must be True or False or None, not a string ('yes')",
        ),
        (
            Param("n", "int", "Whole.", choices=(1, 2)),
            3,
            "parameter 'n' of f() must be one of 1, 2; got 3",
        ),
        (
            Param("x", "float", "Below 1.", maximum=1, max_exclusive=True),
            1,
            "parameter 'x' of f() must be less than 1, got 1",
        ),
        (
            Param("x", "float", "At least 1.", minimum=1, unit="s"),
            0.5,
            "parameter 'x' of f() must be at least 1 s, got 0.5",
        ),
        (
            Param("x", "list[str]", "Names.", min_items=2),
            ["a"],
            "parameter 'x' of f() must have at least 2 items, got 1",
        ),
        (
            Param("x", "list[str]", "One name.", max_items=1),
            [],
            "parameter 'x' of f() must have exactly 1 item, got 0",
        ),
        (
            PIN,
            "x" * 50,
            "parameter 'pin' of f() must be one of 'CH1', 'RES'; got '" + "x" * 37 + "...'",
        ),
    ],
)
def test_refusals(param: Param, value: Any, message: str) -> None:
    with pytest.raises(FunctionStringError) as caught:
        param.coerce(value, "f")
    assert caught.value.message == message
    assert caught.value.details["parameter"] == param.name


def test_a_spec_must_be_consistent() -> None:
    with pytest.raises(ValueError, match="unknown parameter type 'number'"):
        Param("x", "number", "Bad.")
    with pytest.raises(ValueError, match="aliases point outside choices"):
        Param("x", "str", "Bad.", choices=("A",), aliases={"OLD": "B"})


def test_properties() -> None:
    assert PIN.required and PIN.default is REQUIRED
    assert not FLAG.required and FLAG.nullable
    assert LEVELS.kinds == ("float", "list[float]")
    assert LEVELS.type_text == "float | list[float]"
    assert FLAG.type_text == "bool | None"
    assert Param("x", "float", "X.").range_text() == ""
    assert Param("x", "float", "X.", maximum=3, unit="V").range_text() == "at most 3 V"


def test_describe_is_json_ready() -> None:
    assert LEVELS.describe() == {
        "name": "levels",
        "type": "float | list[float]",
        "required": False,
        "default": 0,
        "choices": None,
        "aliases": None,
        "minimum": 0,
        "maximum": 1,
        "max_exclusive": False,
        "unit": None,
        "min_items": 1,
        "max_items": 2,
        "doc": "Levels.",
    }
    assert PIN.describe()["aliases"] == {"SEN": "RES"}
    assert PIN.describe()["default"] is None and PIN.describe()["required"] is True


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5, "5"),
        (5.0, "5"),
        (0.0033, "0.0033"),
        (8191.875, "8191.875"),
        (1e20, "1e+20"),
        (True, "True"),
        (float("inf"), "inf"),
    ],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_format_literal_and_describe_value() -> None:
    assert format_literal(("any", 1.0)) == "['any', 1]"
    assert format_literal(None) == "None"
    assert describe_value([1, 2]) == "a list of 2 items"
    assert describe_value({"a": 1}) == "a dict"
