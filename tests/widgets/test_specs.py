"""WidgetCollector: the widget JSON of docs/reference/widgets.md, naming, limits, validation."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from remotelab.config import WidgetSettings
from remotelab.errors import FunctionStringError, InputError
from remotelab.widgets import WidgetCollector, WidgetLimitError


def collector(**limits: int) -> WidgetCollector:
    return WidgetCollector(WidgetSettings(**limits))


def ws(c: WidgetCollector) -> list[Any]:
    """The widgets as plain JSON values, to index into freely."""
    return list(c.widgets)


class Recorder:
    """A real validator stand-in: accepts names it knows, records every call."""

    def __init__(self, known: tuple[str, ...] = ("get_voltage", "capture1", "capture2")) -> None:
        self.known = known
        self.calls: list[str] = []

    def __call__(self, function_string: str) -> None:
        self.calls.append(function_string)
        if function_string.split("(", 1)[0] not in self.known:
            raise FunctionStringError(f"unknown function in {function_string!r}")


# --------------------------------------------------------------------- print


def test_print_spec_and_returned_text() -> None:
    c = collector()
    assert c.print("V =", 1.5, [1, 2], None) == "V = 1.5 [1, 2] None\n"
    assert c.widgets == [
        {"type": "text", "name": "print", "value": ["V =", "1.5", "[1, 2]", "None"]}
    ]


def test_print_without_arguments() -> None:
    c = collector()
    assert c.print() == "\n"
    assert c.widgets == [{"type": "text", "name": "print", "value": []}]


def test_print_sep_and_end_shape_the_text_not_the_widget() -> None:
    c = collector()
    assert c.print("a", "b", sep="-", end="!") == "a-b!"
    assert c.print("a", "b", sep=None, end=None, flush=True) == "a b\n"
    # The second print goes on in the first's widget, joined by the first's end.
    assert ws(c) == [{"type": "text", "name": "print", "value": ["a", "b!a", "b"]}]


def test_print_sep_must_be_a_string() -> None:
    c = collector()
    with pytest.raises(InputError, match="print: sep must be a string, not int"):
        c.print("a", sep=1)  # type: ignore[arg-type]
    assert c.widgets == []


def test_consecutive_prints_share_one_widget() -> None:
    c = collector()
    for i in range(3):
        c.print("x", i)
    assert c.widgets == [{"type": "text", "name": "print", "value": ["x", "0\nx", "1\nx", "2"]}]


def test_a_print_loop_costs_one_widget() -> None:
    c = collector(max_widgets=2)
    for i in range(1000):
        c.print(i)
    assert c.widgets == [
        {"type": "text", "name": "print", "value": ["\n".join(map(str, range(1000)))]}
    ]


@pytest.mark.parametrize(
    ("calls", "value"),
    [
        ([((), {}), (("x",), {})], ["\nx"]),  # an empty print is an empty line
        ([(("a",), {}), ((), {})], ["a\n"]),
        ([(("a",), {"end": ""}), (("b",), {"end": ""}), (("c",), {})], ["abc"]),
        ([(("a",), {"end": " | "}), (("b", "c"), {})], ["a | b", "c"]),
    ],
)
def test_prints_are_joined_by_the_previous_end(
    calls: list[tuple[tuple[object, ...], dict[str, Any]]], value: list[str]
) -> None:
    c = collector()
    for args, kwargs in calls:
        c.print(*args, **kwargs)
    assert c.widgets == [{"type": "text", "name": "print", "value": value}]


def test_a_widget_between_prints_starts_a_new_print_widget() -> None:
    c = collector()
    c.print("a")
    c.print("b")
    c.label("L")
    c.print("c")
    c.print("d")
    assert [(w["name"], w["value"]) for w in ws(c)] == [
        ("print", ["a\nb"]),
        ("print1", "L"),
        ("print2", ["c\nd"]),
    ]


def test_a_full_print_widget_is_cut_and_the_next_print_starts_another() -> None:
    c = collector(max_text_chars=10, max_widgets=2)
    c.print("12345")
    c.print("6789")  # "12345\n6789": 10 characters, full but not cut
    assert "truncated" not in ws(c)[0]
    c.print("abc")
    assert ws(c) == [{"type": "text", "name": "print", "value": ["12345\n6789"], "truncated": True}]
    c.print("next")
    assert ws(c)[1] == {"type": "text", "name": "print1", "value": ["next"]}
    c.print("x" * 20)
    assert ws(c)[1] == {
        "type": "text",
        "name": "print1",
        "value": ["next\nxxxxx"],
        "truncated": True,
    }
    with pytest.raises(
        WidgetLimitError,
        match=r"at most 2 \(consecutive print\(\) calls share one, up to 10 characters\)",
    ):
        c.print("more")


# -------------------------------------------------------------- print_, label


def test_print__spec() -> None:
    c = collector()
    assert c.print_("highlighted") == "print"
    assert c.print_(42, name="note") == "note"
    assert c.widgets == [
        {"type": "span", "name": "print", "class": "row well", "value": "highlighted"},
        {"type": "span", "name": "note", "class": "row well", "value": "42"},
    ]


def test_label_spec() -> None:
    c = collector()
    assert c.label("Voltage") == "print"
    assert c.label(3.25, name="v", html_class="big red") == "v"
    assert c.widgets == [
        {"type": "label", "name": "print", "class": "", "value": "Voltage"},
        {"type": "label", "name": "v", "class": "big red", "value": "3.25"},
    ]


def test_print_print__and_label_share_the_default_name() -> None:
    c = collector()
    names = [c.label("a"), c.print_("b"), c.label("c")]
    c.print("d")
    assert names == ["print", "print1", "print2"]
    assert ws(c)[-1]["name"] == "print3"


# -------------------------------------------------------------------- button


def test_button_display_number_default_with_its_label() -> None:
    c = collector()
    assert c.button("Read CH1", "get_voltage('CH1')") == "button-id"
    assert c.widgets == [
        {
            "type": "button",
            "name": "button-id",
            "label": "Read CH1",
            "fetched_value": "",
            "action": {
                "type": "POST",
                "endpoint": "get_voltage('CH1')",
                "success": {
                    "datapoint": "result",
                    "type": "display_number",
                    "target": "button-id-label",
                },
            },
        },
        {"type": "label", "name": "button-id-label", "class": "", "value": ""},
    ]


def test_button_display_makes_a_label_too() -> None:
    c = collector()
    c.button("Id", "get_voltage('CH2')", "display", name="b")
    assert ws(c)[0]["action"]["success"] == {
        "datapoint": "result",
        "type": "display",
        "target": "b-label",
    }
    assert ws(c)[1] == {"type": "label", "name": "b-label", "class": "", "value": ""}


def test_button_update_plot_default_stacking_and_no_label() -> None:
    c = collector()
    plot = c.plot([0, 1], [0, 0], name="scope")
    name = c.button("Capture", "capture1('CH1', 100, 10)", "update-plot", target=plot)
    assert name == "button-id"
    assert ws(c)[1] == {
        "type": "button",
        "name": "button-id",
        "label": "Capture",
        "fetched_value": "",
        "action": {
            "type": "POST",
            "endpoint": "capture1('CH1', 100, 10)",
            "success": {
                "datapoint": "result",
                "type": "update-plot",
                "target": "scope",
                "stacking": "xy",
            },
        },
    }
    assert len(c.widgets) == 2


@pytest.mark.parametrize("stacking", ["xy", "xyy", "xyyyy", "x" + "y" * 16, "stacked"])
def test_button_update_plot_accepts_valid_stackings(stacking: str) -> None:
    c = collector()
    c.button("C", "capture2(100, 10)", "update-plot", target="p", stacking=stacking)
    assert ws(c)[0]["action"]["success"]["stacking"] == stacking


def test_button_update_plot_without_target_points_at_name_label_and_adds_nothing() -> None:
    c = collector()
    c.button("C", "capture1('CH1', 10, 10)", "update-plot")
    assert ws(c)[0]["action"]["success"]["target"] == "button-id-label"
    assert len(c.widgets) == 1


def test_button_with_target_adds_no_label() -> None:
    c = collector()
    out = c.label("-", name="reading")
    c.button("Read", "get_voltage('CH1')", target=out)
    assert len(c.widgets) == 2
    assert ws(c)[1]["action"]["success"]["target"] == "reading"


def test_repeated_buttons_get_unique_names_and_labels() -> None:
    c = collector()
    assert c.button("A", "get_voltage('CH1')") == "button-id"
    assert c.button("B", "get_voltage('CH2')") == "button-id1"
    assert [w["name"] for w in c.widgets] == [
        "button-id",
        "button-id-label",
        "button-id1",
        "button-id1-label",
    ]
    assert ws(c)[2]["action"]["success"]["target"] == "button-id1-label"


def test_automatic_label_name_avoids_a_taken_name() -> None:
    c = collector()
    c.label("mine", name="go-label")
    c.button("Go", "get_voltage('CH1')", name="go")
    assert ws(c)[1]["action"]["success"]["target"] == "go-label1"
    assert ws(c)[2]["name"] == "go-label1"


def test_button_label_is_text() -> None:
    c = collector()
    c.button(5, "get_voltage('CH1')")
    assert ws(c)[0]["label"] == "5"


@pytest.mark.parametrize("display_type", ["display-number", "plot", "", "DISPLAY"])
def test_button_rejects_unknown_display_types(display_type: str) -> None:
    c = collector()
    with pytest.raises(InputError, match="display_type must be one of display_number, display"):
        c.button("B", "get_voltage('CH1')", display_type)
    assert c.widgets == []


@pytest.mark.parametrize("stacking", ["", "x", "yx", "XY", "xz", "xyx", "x" + "y" * 17])
def test_button_rejects_bad_stackings(stacking: str) -> None:
    c = collector()
    with pytest.raises(InputError, match="stacking must be 'x' followed by 1 to 16 'y'"):
        c.button("C", "capture1('CH1', 10, 10)", "update-plot", stacking=stacking)
    assert c.widgets == []


def test_button_rejects_a_stacking_that_is_not_a_string() -> None:
    with pytest.raises(InputError, match="button: stacking must be a string, not int"):
        collector().button("C", "capture1('CH1', 10, 10)", "update-plot", stacking=2)  # type: ignore[arg-type]


def test_button_rejects_stacking_for_other_display_types() -> None:
    with pytest.raises(InputError, match="stacking applies to display_type 'update-plot' only"):
        collector().button("B", "get_voltage('CH1')", "display_number", stacking="xy")


@pytest.mark.parametrize("function_string", ["", "   ", None, 3])
def test_button_needs_a_function_string(function_string: Any) -> None:
    with pytest.raises(InputError, match="the function string must be a non-empty string"):
        collector().button("B", function_string)


def test_button_function_string_size_is_bounded() -> None:
    c = collector(max_text_chars=20)
    with pytest.raises(InputError, match="the function string has 21 characters; the limit is 20"):
        c.button("B", "get_voltage('CH1'   )")


# ------------------------------------------------------- validation hook


def test_validate_function_sees_each_function_string_at_call_time() -> None:
    recorder = Recorder()
    c = WidgetCollector(WidgetSettings(), validate_function=recorder)
    c.button("A", "get_voltage('CH1')")
    assert recorder.calls == ["get_voltage('CH1')"]
    c.button("B", "capture1('CH1', 10, 10)", "update-plot", target="p")
    assert recorder.calls == ["get_voltage('CH1')", "capture1('CH1', 10, 10)"]


def test_validate_function_error_propagates_and_adds_nothing() -> None:
    recorder = Recorder()
    c = WidgetCollector(WidgetSettings(), validate_function=recorder)
    with pytest.raises(FunctionStringError, match="unknown function"):
        c.button("Boom", "__import__('os')")
    assert c.widgets == []
    # The name was not used up by the failed button.
    assert c.button("A", "get_voltage('CH1')") == "button-id"


def test_validate_function_is_not_called_for_arguments_already_refused() -> None:
    recorder = Recorder()
    c = WidgetCollector(WidgetSettings(), validate_function=recorder)
    with pytest.raises(InputError):
        c.button("A", "get_voltage('CH1')", "bogus")
    assert recorder.calls == []


def test_other_widgets_do_not_call_the_validator() -> None:
    recorder = Recorder()
    c = WidgetCollector(WidgetSettings(), validate_function=recorder)
    c.print("get_voltage('CH1')")
    c.label("x")
    c.print_("y")
    c.plot([1], [2])
    assert recorder.calls == []


# ---------------------------------------------------------------- names


def test_explicit_names_are_made_unique_too() -> None:
    c = collector()
    assert c.plot([0], [1], name="scope") == "scope"
    assert c.plot([0], [1], name="scope") == "scope1"
    assert c.label("x", name="scope") == "scope2"
    assert [w["name"] for w in c.widgets] == ["scope", "scope1", "scope2"]


def test_suffixes_skip_names_taken_explicitly() -> None:
    c = collector()
    c.plot([0], [1], name="myPlot1")
    assert c.plot([0], [1]) == "myPlot"
    assert c.plot([0], [1]) == "myPlot2"


def test_all_names_in_a_run_are_distinct() -> None:
    c = collector()
    for _ in range(5):
        c.print("p")
        c.print_("s")
        c.label("l")
        c.button("b", "get_voltage('CH1')")
        c.button("b", "get_voltage('CH1')", name="print")
        c.plot([0], [0], name="print")
    names = [w["name"] for w in c.widgets]
    assert len(names) == len(set(names)) == 40


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.label("x", name=""), "label: name must not be empty"),
        (lambda c: c.label("x", name=5), "label: name must be a string, not int"),
        (lambda c: c.print_("x", name=None), "print_: name must be a string, not NoneType"),
        (lambda c: c.plot([0], [0], name="n" * 101), "plot: name has 101 characters"),
        (lambda c: c.button("b", "get_voltage('CH1')", target=""), "target must not be empty"),
        (lambda c: c.button("b" * 101, "get_voltage('CH1')"), "button: label has 101 characters"),
        (lambda c: c.label("x", html_class=["a"]), "html_class must be a string, not list"),
    ],
)
def test_bad_names_and_attributes(call: Any, message: str) -> None:
    c = collector()
    with pytest.raises(InputError, match=message):
        call(c)
    assert c.widgets == []


# ---------------------------------------------------------------- limits


def test_too_many_widgets() -> None:
    c = collector(max_widgets=3)
    for _ in range(3):
        c.label("x")
    with pytest.raises(WidgetLimitError, match="too many widgets: a run may create at most 3"):
        c.label("one more")
    assert len(c.widgets) == 3


def test_widget_limit_error_is_an_input_error() -> None:
    c = collector(max_widgets=1)
    c.print()
    with pytest.raises(InputError) as info:
        c.plot([0], [0])
    assert info.value.code == "widget_limit"
    assert info.value.details == {"max_widgets": 1}


def test_a_button_and_its_label_are_added_together_or_not_at_all() -> None:
    c = collector(max_widgets=2)
    c.print()
    with pytest.raises(WidgetLimitError):
        c.button("B", "get_voltage('CH1')")
    assert len(c.widgets) == 1
    c.button("B", "get_voltage('CH1')", target="somewhere")  # one slot is enough
    assert len(c.widgets) == 2


def test_default_limit_is_200_widgets() -> None:
    c = WidgetCollector()
    for _ in range(200):
        c.label("x")
    with pytest.raises(WidgetLimitError):
        c.print()


def test_long_print_text_is_cut_and_marked() -> None:
    c = collector(max_text_chars=10)
    assert c.print("abcdef", "ghijkl", "mn") == "abcdef ghijkl mn\n"
    assert c.widgets == [
        {"type": "text", "name": "print", "value": ["abcdef", "ghij"], "truncated": True}
    ]


def test_text_at_the_limit_is_not_marked() -> None:
    c = collector(max_text_chars=10)
    c.print("abcde", "fghij")
    c.label("0123456789")
    assert "truncated" not in ws(c)[0]
    assert ws(c)[1] == {"type": "label", "name": "print1", "class": "", "value": "0123456789"}


def test_long_label_and_span_are_cut_and_marked() -> None:
    c = collector(max_text_chars=4)
    c.label("abcdefgh")
    c.print_("123456")
    assert c.widgets == [
        {"type": "label", "name": "print", "class": "", "value": "abcd", "truncated": True},
        {"type": "span", "name": "print1", "class": "row well", "value": "1234", "truncated": True},
    ]


# ------------------------------------------------------------------ plot


def test_plot_spec() -> None:
    c = collector()
    assert c.plot([0, 1, 2], [5, 6, 7]) == "myPlot"
    assert c.widgets == [
        {"type": "plot", "name": "myPlot", "data": [[[0.0, 5.0], [1.0, 6.0], [2.0, 7.0]]]}
    ]


def test_plot_extra_ys_add_series() -> None:
    c = collector()
    c.plot((0, 1), [2, 3], np.array([4, 5]), range(6, 8), name="multi")
    assert ws(c)[0]["data"] == [
        [[0.0, 2.0], [1.0, 3.0]],
        [[0.0, 4.0], [1.0, 5.0]],
        [[0.0, 6.0], [1.0, 7.0]],
    ]


def test_plot_labels_are_optional_keys_added_only_when_given() -> None:
    c = collector()
    c.plot([0, 1], [2, 3], [4, 5], labels=("CH1", "CH2"), x_label="Time (µs)", y_label="V")
    assert ws(c)[0] == {
        "type": "plot",
        "name": "myPlot",
        "data": [[[0.0, 2.0], [1.0, 3.0]], [[0.0, 4.0], [1.0, 5.0]]],
        "x_label": "Time (µs)",
        "y_label": "V",
        "labels": ["CH1", "CH2"],
    }
    c.plot([0, 1], [2, 3], x_label="t (s)")
    assert ws(c)[1] == {
        "type": "plot",
        "name": "myPlot1",
        "data": [[[0.0, 2.0], [1.0, 3.0]]],
        "x_label": "t (s)",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": "CH1"}, "plot: labels must be a list of strings, one per y"),
        ({"labels": ["CH1", "CH2"]}, "plot: 2 labels for 1 series; give one label per y"),
        ({"labels": [1]}, r"plot: labels\[0\] must be a string, not int"),
        ({"labels": ["x" * 101]}, r"plot: labels\[0\] has 101 characters; the limit is 100"),
        ({"x_label": 3}, "plot: x_label must be a string, not int"),
        ({"y_label": "y" * 101}, "plot: y_label has 101 characters; the limit is 100"),
    ],
)
def test_bad_plot_labels_are_errors_and_add_nothing(
    kwargs: dict[str, object], message: str
) -> None:
    c = collector()
    with pytest.raises(InputError, match=message):
        c.plot([0, 1], [2, 3], **kwargs)  # type: ignore[arg-type]
    assert c.widgets == []


def test_plot_of_y_alone_uses_the_index_as_x() -> None:
    c = collector()
    c.plot([3.5, 4.5, 5.5])
    assert ws(c)[0]["data"] == [[[0.0, 3.5], [1.0, 4.5], [2.0, 5.5]]]


def test_plot_numpy_arrays_gaps_and_bools() -> None:
    c = collector()
    x = np.linspace(0, 1, 3, dtype=np.float32)
    c.plot(x, [math.nan, None, True], np.array([math.inf, -math.inf, 1], dtype=np.float64))
    assert ws(c)[0]["data"] == [
        [[0.0, None], [0.5, None], [1.0, 1.0]],
        [[0.0, None], [0.5, None], [1.0, 1.0]],
    ]


def test_plot_of_empty_arrays() -> None:
    c = collector()
    c.plot([], [])
    assert ws(c)[0]["data"] == [[]]


def test_plot_length_mismatch() -> None:
    c = collector()
    with pytest.raises(InputError, match="plot: x has 3 values but y has 2; they must be"):
        c.plot([0, 1, 2], [0, 1])
    with pytest.raises(InputError, match="plot: x has 2 values but y2 has 1"):
        c.plot([0, 1], [0, 1], [0])
    assert c.widgets == []


def test_plot_series_limit() -> None:
    c = collector(max_series=2)
    c.plot([0], [1], [2])
    with pytest.raises(InputError, match="plot: 3 y arrays; a plot holds at most 2 series"):
        c.plot([0], [1], [2], [3])


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([0, 1], ["a", "b"], "plot: y must hold numbers, but it holds text"),
        ([0, 1], [1, "b"], "plot: y must hold numbers, but it holds text"),
        ([0, 1], [1j, 2j], "plot: y must hold numbers, but it holds complex numbers"),
        ([0, 1], [[1, 2], [3, 4]], "plot: y must be a flat list of numbers, not a 2-D array"),
        ([0, 1], [1, [2, 3]], "plot: y must be a flat list of numbers, not a nested list"),
        ([0, 1], [1, {}], r"plot: y\[1\] is dict \{\}, not a number"),
        (5, [1], "plot: x must be a list, tuple, range or numpy array of numbers, not int"),
        (np.float64(1.0), [1], "plot: x must be a list, tuple, range or numpy array"),
        (np.array(1.0), [1], "plot: x must be a flat list of numbers, not a single value"),
        ((i for i in range(2)), [1, 2], "not generator"),
        ("01", [1, 2], "not str"),
        (None, [1], "not NoneType"),
    ],
)
def test_plot_rejects_non_numbers(x: Any, y: Any, message: str) -> None:
    c = collector()
    with pytest.raises(InputError, match=message):
        c.plot(x, y)
    assert c.widgets == []


def test_plot_huge_int_is_a_gap_not_a_crash() -> None:
    c = collector()
    c.plot([0, 1], [10**400, -(10**400)])
    assert ws(c)[0]["data"] == [[[0.0, None], [1.0, None]]]


def test_plot_decimates_evenly_keeping_first_and_last() -> None:
    c = collector(max_plot_points=10, max_series=2)
    c.plot(range(100), [2 * i for i in range(100)])
    widget = ws(c)[0]
    kept = [i * 99 // 9 for i in range(10)]
    assert kept[0] == 0 and kept[-1] == 99
    assert widget == {
        "type": "plot",
        "name": "myPlot",
        "data": [[[float(i), float(2 * i)] for i in kept]],
        "decimated": True,
        "original_points": 100,
    }


def test_plot_decimation_budget_is_shared_by_the_series() -> None:
    c = collector(max_plot_points=10, max_series=2)
    c.plot(range(8), range(8), range(8))  # 16 points > 10: 5 per series
    widget = ws(c)[0]
    assert widget["original_points"] == 16
    assert [len(series) for series in widget["data"]] == [5, 5]
    assert [p[0] for p in widget["data"][0]] == [0.0, 1.0, 3.0, 5.0, 7.0]


def test_plot_at_the_point_limit_is_not_decimated() -> None:
    c = collector(max_plot_points=10, max_series=2)
    c.plot(range(5), range(5), range(5))
    assert "decimated" not in ws(c)[0]
    assert len(ws(c)[0]["data"][0]) == 5


def test_plot_default_limit_keeps_100000_points() -> None:
    c = WidgetCollector()
    x = np.arange(250_000, dtype=np.float64)
    c.plot(x, x * 2)
    series = ws(c)[0]["data"][0]
    assert len(series) == 100_000
    assert series[0] == [0.0, 0.0]
    assert series[-1] == [249_999.0, 499_998.0]


# ------------------------------------------------------------- the list


def test_widgets_is_json_safe_and_in_order() -> None:
    c = collector()
    c.print("a", math.nan)
    c.plot([math.nan, 1.0], [math.inf, 2.0])
    c.button("b", "get_voltage('CH1')")
    text = json.dumps(c.widgets, allow_nan=False)
    assert [w["type"] for w in json.loads(text)] == ["text", "plot", "button", "label"]


def test_widgets_returns_a_new_list() -> None:
    c = collector()
    c.print("a")
    snapshot: list[Any] = c.widgets
    snapshot.append({"type": "bogus"})
    c.label("b")
    assert [w["type"] for w in c.widgets] == ["text", "label"]
    assert len(snapshot) == 2
