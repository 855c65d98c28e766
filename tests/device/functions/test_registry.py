"""Function specs and the registry: lookup, suggestions, signatures, description as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remotelab.device.functions import REQUIRED, Function, Param, Registry, Returns, bind_arguments
from remotelab.device.functions.registry import _SHAPES, RESULT_KINDS, legacy


def make(name: str, *params: Param, see_also: tuple[str, ...] = (), **kw: Any) -> Function:
    return Function(
        name=name,
        doc="Do it.",
        params=params,
        returns=Returns("float", "A number.", "V"),
        binding=kw.pop("binding", lambda sl, a: None),
        example=f"{name}()",
        category=kw.pop("category", "device"),
        see_also=see_also,
        **kw,
    )


def test_lookup_and_order() -> None:
    registry = Registry([make("b"), make("a", see_also=("b",))])
    assert registry.names() == ["b", "a"]
    assert [f.name for f in registry] == ["b", "a"]
    assert len(registry) == 2
    assert "a" in registry and "c" not in registry
    a = registry.get("a")
    assert a is not None and a.name == "a"
    assert registry.get("c") is None


def test_a_registry_must_be_consistent() -> None:
    with pytest.raises(ValueError, match="duplicate function name 'a'"):
        Registry([make("a"), make("a")])
    with pytest.raises(ValueError, match="a: see_also names unknown 'z'"):
        Registry([make("a", see_also=("z",))])


def test_a_function_must_be_consistent() -> None:
    optional = Param("x", "float", "X.", default=1)
    required = Param("y", "float", "Y.")
    with pytest.raises(ValueError, match="required 'y' follows an optional one"):
        make("f", optional, required)
    with pytest.raises(ValueError, match="duplicate parameter names"):
        make("f", required, required)
    with pytest.raises(ValueError, match="unknown result kind 'number'"):
        Returns("number", "Bad.")
    with pytest.raises(ValueError, match="f: unknown category 'toaster'"):
        make("f", category="toaster")


def test_every_result_kind_has_a_shape() -> None:
    assert set(_SHAPES) == set(RESULT_KINDS)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("float", 1.5, None),
        ("float | null", None, "1"),
        ("int", 3, True),
        ("bool", False, 0),
        ("str", "x", None),
        ("null", None, 0),
        ("traces", [[0, 1], [2.0, 3.0]], [[0, 1], [2.0]]),
        ("list[float]", [1, 2.5], [None]),
        ("list[float] | null", None, [True]),
        ("list[list[float]]", [[1.0], []], [1.0]),
        ("dict[str, bool]", {"LA1": True}, {"LA1": 1}),
        ("dict[str, float | null]", {"pv1": None, "pcs": 0.001}, {"pv1": "1"}),
    ],
)
def test_result_shapes(kind: str, good: Any, bad: Any) -> None:
    returns = Returns(kind, "Something.")
    assert returns.accepts(good)
    assert not returns.accepts(bad)


def test_suggestions_are_case_insensitive_and_close() -> None:
    registry = Registry([make("get_voltage"), make("get_state"), make("sqr1")])
    assert registry.suggest("GET_VOLTAGE") == ["get_voltage", "get_state"]
    assert registry.suggest("sqr") == ["sqr1"]
    assert registry.suggest("xyz") == []


def test_signature_text() -> None:
    function = make(
        "f",
        Param("a", "str", "A.", choices=("CH1",)),
        Param("b", "float", "B.", default=2.0),
        Param("c", "list[str]", "C.", default=("any", "any")),
        Param("d", "float", "D.", default=None),
    )
    assert function.signature == "f(a, b=2, c=['any', 'any'], d=None)"
    assert function.param("b") is function.params[1]
    assert function.param("z") is None


def test_invoke_passes_a_copy_of_the_arguments() -> None:
    seen: list[dict[str, Any]] = []

    def binding(sl: Any, args: dict[str, Any]) -> Any:
        args["levels"].append(99)
        seen.append(args)
        return sl

    function = make("f", binding=binding)
    args = {"levels": [1.0]}
    assert function.invoke("the sciencelab", args) == "the sciencelab"
    assert args == {"levels": [1.0]}
    assert seen == [{"levels": [1.0, 99]}]


def test_describe_is_json() -> None:
    function = make("f", Param("a", "float", "A.", minimum=0, unit="V"), see_also=())
    described = Registry([function]).describe()
    assert described == [
        {
            "name": "f",
            "signature": "f(a)",
            "doc": "Do it.",
            "category": "device",
            "legacy": False,
            "shared": False,
            "sets": [],
            "device_time": "0.5 ms",
            "expected_ms": None,
            "see_also": [],
            "example": "f()",
            "params": [function.params[0].describe()],
            "returns": {"type": "float", "unit": "V", "doc": "A number."},
        }
    ]
    json.dumps(described, allow_nan=False)


def _modern(**kw: Any) -> Function:
    seen: list[dict[str, Any]] = kw.pop("seen", [])
    return make(
        "measure",
        Param("channel", "str", "Input.", default="CH1"),
        Param("fast", "bool", "Hurry.", default=False),
        Param("levels", "list[float]", "Levels.", default=(1.0,)),
        binding=lambda sl, a: seen.append(a) or len(seen),
        **kw,
    )


def test_legacy_spells_a_modern_function_the_old_way() -> None:
    seen: list[dict[str, Any]] = []
    modern = _modern(seen=seen)
    old = legacy(
        modern,
        "get_it",
        "get_it('CH2')",
        rename={"channel": "channel_name"},
        param_changes={"channel_name": {"doc": "Old input.", "default": REQUIRED}},
        fixed={"fast": True},
        doc="Do it the old way.",
    )
    assert (old.name, old.example, old.doc) == ("get_it", "get_it('CH2')", "Do it the old way.")
    assert old.legacy and old.see_also == ("measure",)
    assert (old.returns, old.category) == (modern.returns, modern.category)
    assert old.signature == "get_it(channel_name, levels=[1])"
    assert old.params[0].doc == "Old input." and old.params[0].choices is None
    assert old.params[1] is not modern.params[2] and old.params[1].doc == "Levels."
    args = bind_arguments(old, ["CH2"], {})
    assert args == {"channel_name": "CH2", "levels": [1.0]}
    assert old.invoke(None, args) == 1
    assert seen == [{"channel": "CH2", "levels": [1.0], "fast": True}]
    # The modern function is left as it was.
    assert modern.signature == "measure(channel='CH1', fast=False, levels=[1])"
    assert not modern.legacy and modern.see_also == ()


def test_legacy_without_renames_keeps_the_binding_and_check() -> None:
    def check(function: str, args: dict[str, Any]) -> None:
        pass

    modern = _modern(check=check)
    old = legacy(modern, "get_it", "get_it()")
    assert old.binding is modern.binding and old.check is check
    assert [p.name for p in old.params] == [p.name for p in modern.params]


def test_legacy_refuses_what_is_another_function() -> None:
    modern = _modern()
    with pytest.raises(ValueError, match=r"measure has no parameters \['chan'\]"):
        legacy(modern, "get_it", "get_it()", rename={"chan": "c"})
    with pytest.raises(ValueError, match=r"no parameters \['fast'\]"):
        legacy(modern, "get_it", "get_it()", fixed={"fast": 1}, param_changes={"fast": {}})
    with pytest.raises(ValueError, match=r"no parameters \['channel'\]"):
        legacy(modern, "get_it", "get_it()", rename={"channel": "c"}, param_changes={"channel": {}})
    with pytest.raises(ValueError, match="makes another function"):
        legacy(modern, "get_it", "get_it()", binding=lambda sl, a: None)
    checked = _modern(check=lambda function, args: None)
    with pytest.raises(ValueError, match="check needs its own parameter names"):
        legacy(checked, "get_it", "get_it()", rename={"channel": "c"})
