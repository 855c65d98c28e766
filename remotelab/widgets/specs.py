"""The widget list of one script run (compatible with pslab-remote; docs/reference/widgets.md).

:class:`WidgetCollector` is what the sandbox exposes to a user script as
``print``, ``print_``, ``label``, ``button`` and ``plot``: each call appends one
JSON-safe widget spec (a button without ``target`` two) and returns the name it
got, so that it can be passed as ``target=`` later (``print`` returns the text
for stdout instead). Pure: no I/O, no device.

Names are unique within a run: a name already taken gets ``1``, ``2``, ...
appended (``myPlot``, ``myPlot1``, ``myPlot2``), as pslab-remote's ``toUnique``
did. ``print``, ``print_`` and ``label`` share the default base ``"print"``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from remotelab.config import WidgetSettings
from remotelab.errors import InputError
from remotelab.widgets.display import DISPLAY, DISPLAY_NUMBER, DISPLAY_TYPES, UPDATE_PLOT
from remotelab.widgets.errors import WidgetLimitError
from remotelab.widgets.series import (
    FloatArray,
    decimation_indices,
    to_float_array,
    to_json_numbers,
)
from remotelab.widgets.stacking import DEFAULT_STACKING, STACKED, series_count
from remotelab.widgets.wire import (
    ButtonWidget,
    DisplayType,
    LabelWidget,
    PlotWidget,
    SpanWidget,
    SuccessSpec,
    TextWidget,
    Widget,
)

_DISPLAY_TYPE: dict[str, DisplayType] = {
    DISPLAY_NUMBER: DISPLAY_NUMBER,
    DISPLAY: DISPLAY,
    UPDATE_PLOT: UPDATE_PLOT,
}


class WidgetCollector:
    """Builds the ordered widget list of one run, within ``limits``.

    ``validate_function`` checks a button's function string when the button is
    made (the device registry's parser); whatever it raises, normally
    :class:`~remotelab.errors.FunctionStringError`, propagates unchanged and no
    widget is added. Its return value is ignored.

    Every method raises :class:`~remotelab.errors.InputError` for a bad argument
    and :class:`WidgetLimitError` when the run already holds
    ``limits.max_widgets`` widgets; on any error nothing is added.
    """

    def __init__(
        self,
        limits: WidgetSettings | None = None,
        validate_function: Callable[[str], object] | None = None,
    ) -> None:
        self.limits = limits if limits is not None else WidgetSettings()
        self._validate_function = validate_function
        self._widgets: list[Widget] = []
        self._names: set[str] = set()
        #: The text widget the last print() wrote, and that print's ``end``: the next
        #: print() goes on in it while no other widget came after and it has room.
        self._open_print: TextWidget | None = None
        self._open_end = "\n"
        self._open_chars = 0

    @property
    def widgets(self) -> list[Widget]:
        """The widgets so far, in order (a new list; treat the dicts as read-only)."""
        return list(self._widgets)

    # ------------------------------------------------------------------ text

    def print(
        self,
        *args: object,
        sep: str | None = " ",
        end: str | None = "\n",
        flush: object = False,
    ) -> str:
        """Add ``{"type": "text", "name": "print<N>", "value": [str(arg), ...]}``, or
        go on in the text widget of the print just before.

        Consecutive prints (no other widget between them) share one widget: this
        call's strings follow its value, the first of them joined to its last string
        by the previous print's ``end`` (``print("a", 1); print("b")`` gives
        ``["a", "1\\nb"]``), so a print loop costs one widget, not one per print. A
        new widget (a new name) starts after another widget, or when the open one is
        full: a widget's strings are cut to ``limits.max_text_chars`` in all (and
        marked ``"truncated": true``).

        Returns the text Python's ``print`` would write (``sep.join`` of the
        strings, plus ``end``), for the sandbox to append to stdout; it is not cut.
        ``sep`` and ``end`` behave as in Python (``None`` means the default);
        ``flush`` is accepted and ignored. The first text widget is named ``print``,
        then ``print1``, ...
        """
        del flush  # nothing is buffered here
        sep = " " if sep is None else _require_str(sep, "print: sep")
        end = "\n" if end is None else _require_str(end, "print: end")
        strings = [str(arg) for arg in args]
        text = sep.join(strings) + end
        open_print = self._open_print
        if (
            open_print is not None
            and self._widgets
            and self._widgets[-1] is open_print
            and not open_print.get("truncated")
        ):
            value = open_print["value"]
            first, *rest = strings or [""]
            budget = self.limits.max_text_chars - self._open_chars
            glued, truncated = self._cut_strings([self._open_end + first, *rest], budget)
            self._open_chars += sum(map(len, glued))
            if glued:  # the value grows in place (a print loop is linear, not quadratic)
                glued[0] = (value.pop() if value else "") + glued[0]
                value.extend(glued)
            # A new dict around it: the live stream sees that the widget grew.
            widget: TextWidget = {"type": "text", "name": open_print["name"], "value": value}
        else:
            self._check_room(1)
            value, truncated = self._cut_strings(strings)
            widget = {"type": "text", "name": self._unique("print"), "value": value}
            self._widgets.append(widget)
            self._open_chars = sum(map(len, value))
        if truncated:
            widget["truncated"] = True
        self._widgets[-1] = widget
        self._open_print, self._open_end = widget, end
        return text

    def print_(self, txt: object, name: str = "print") -> str:
        """Add ``{"type": "span", "name": ..., "class": "row well", "value": str(txt)}``.

        Returns the widget's final name.
        """
        name = self._check_name(name, "print_: name")
        self._check_room(1)
        value, truncated = self._cut_text(str(txt))
        widget: SpanWidget = {
            "type": "span",
            "name": self._unique(name),
            "class": "row well",
            "value": value,
        }
        if truncated:
            widget["truncated"] = True
        self._widgets.append(widget)
        return widget["name"]

    def label(self, txt: object, name: str = "print", html_class: str = "") -> str:
        """Add ``{"type": "label", "name": ..., "class": html_class, "value": str(txt)}``.

        Returns the widget's final name.
        """
        name = self._check_name(name, "label: name")
        html_class = self._check_attr(html_class, "label: html_class")
        self._check_room(1)
        return self._add_label(str(txt), name, html_class)

    # ---------------------------------------------------------------- button

    def button(
        self,
        label: object,
        function_string: str,
        display_type: str = DISPLAY_NUMBER,
        name: str = "button-id",
        target: str | None = None,
        stacking: str | None = None,
    ) -> str:
        """Add a button that runs ``function_string`` and routes its result to a target.

        The spec is ``{"type": "button", "name", "label", "fetched_value": "",
        "action": {"type": "POST", "endpoint": function_string, "success":
        {"datapoint": "result", "type": display_type, "target": ...}}}``, with
        ``"stacking"`` (default ``"xy"``) in ``success`` for ``update-plot`` only.
        Without ``target`` the target is ``<name>-label`` (made unique) and, for
        ``display_number`` and ``display``, an empty label of that name follows
        the button. Returns the button's final name.

        Raises :class:`InputError` for a display type other than ``display_number``,
        ``display`` and ``update-plot``; a stacking that is neither ``"x"`` followed
        by 1 to ``limits.max_series`` ``"y"`` nor ``"stacked"``; a stacking given
        with another display type; a name, target, label or function string that
        is not a non-empty string within its size limit. Whatever
        ``validate_function`` raises for the function string propagates.
        """
        name = self._check_name(name, "button: name")
        label_text = self._check_attr(str(label), "button: label")
        if not isinstance(function_string, str) or not function_string.strip():
            raise InputError("button: the function string must be a non-empty string")
        if len(function_string) > self.limits.max_text_chars:
            raise InputError(
                f"button: the function string has {len(function_string)} characters; "
                f"the limit is {self.limits.max_text_chars}"
            )
        checked_type = _DISPLAY_TYPE.get(display_type) if isinstance(display_type, str) else None
        if checked_type is None:
            raise InputError(
                f"button: display_type must be one of {', '.join(DISPLAY_TYPES)}, "
                f"not {display_type!r}"
            )
        if checked_type == UPDATE_PLOT:
            stacking = self._check_stacking(DEFAULT_STACKING if stacking is None else stacking)
        elif stacking is not None:
            raise InputError(
                f"button: stacking applies to display_type 'update-plot' only, "
                f"not to {display_type!r}"
            )
        if target is not None:
            target = self._check_name(target, "button: target")
        makes_label = target is None and checked_type in (DISPLAY_NUMBER, DISPLAY)
        self._check_room(2 if makes_label else 1)
        if self._validate_function is not None:
            self._validate_function(function_string)

        name = self._unique(name)
        if target is None:
            target = self._unique_candidate(f"{name}-label")
        success: SuccessSpec = {"datapoint": "result", "type": checked_type, "target": target}
        if stacking is not None:
            success["stacking"] = stacking
        button: ButtonWidget = {
            "type": "button",
            "name": name,
            "label": label_text,
            "fetched_value": "",
            "action": {"type": "POST", "endpoint": function_string, "success": success},
        }
        self._widgets.append(button)
        if makes_label:
            self._add_label("", target, "")
        return name

    # ------------------------------------------------------------------ plot

    def plot(
        self,
        x: object,
        *ys: object,
        name: str = "myPlot",
        labels: object = None,
        x_label: object = None,
        y_label: object = None,
    ) -> str:
        """Add ``{"type": "plot", "name": ..., "data": [series, ...]}``, one series per y.

        Optional (remotelab's, only when given): ``x_label`` and ``y_label`` name the axes
        (``"Time (µs)"``), ``labels`` the series in the legend (``["CH1", "CH2"]``, one
        string per y).

        Series i is ``[[x0, yi0], [x1, yi1], ...]``. ``plot(y)`` alone plots y
        against its index 0, 1, 2, ... (as pslab-remote did). Values become
        floats; ``None``, ``nan`` and infinities become ``None`` (JSON ``null``).
        Beyond ``limits.max_plot_points`` points in all, every series is
        decimated evenly to ``max_plot_points // len(ys)`` points, keeping
        its first and last, and the widget gets ``"decimated": true`` and
        ``"original_points"`` (the point count before). Returns the final name.

        Raises :class:`InputError` for more than ``limits.max_series`` y arrays,
        arrays of different lengths, or an array that is not a flat sequence of
        numbers (see :func:`~remotelab.widgets.series.to_float_array`).
        """
        name = self._check_name(name, "plot: name")
        if not ys:
            y = to_float_array(x, "y")
            xs: FloatArray = np.arange(len(y), dtype=np.float64)
            columns = [y]
        else:
            if len(ys) > self.limits.max_series:
                raise InputError(
                    f"plot: {len(ys)} y arrays; a plot holds at most "
                    f"{self.limits.max_series} series"
                )
            xs = to_float_array(x, "x")
            columns = []
            for i, raw in enumerate(ys, start=1):
                what = "y" if len(ys) == 1 else f"y{i}"
                column = to_float_array(raw, what)
                if len(column) != len(xs):
                    raise InputError(
                        f"plot: x has {len(xs)} values but {what} has {len(column)}; "
                        "they must be the same length"
                    )
                columns.append(column)
        names = self._check_labels(labels, len(columns))
        axes = {
            key: self._check_attr(value, f"plot: {key}")
            for key, value in (("x_label", x_label), ("y_label", y_label))
            if value is not None
        }
        self._check_room(1)

        total = len(xs) * len(columns)
        keep = decimation_indices(len(xs), self.limits.max_plot_points // len(columns))
        if keep is not None:
            xs = xs[keep]
            columns = [column[keep] for column in columns]
        x_values = to_json_numbers(xs)
        data = [
            [[xv, yv] for xv, yv in zip(x_values, to_json_numbers(column), strict=True)]
            for column in columns
        ]
        widget: PlotWidget = {"type": "plot", "name": self._unique(name), "data": data}
        if "x_label" in axes:
            widget["x_label"] = axes["x_label"]
        if "y_label" in axes:
            widget["y_label"] = axes["y_label"]
        if names is not None:
            widget["labels"] = names
        if keep is not None:
            widget["decimated"] = True
            widget["original_points"] = total
        self._widgets.append(widget)
        return widget["name"]

    # --------------------------------------------------------------- helpers

    def _add_label(self, text: str, name: str, html_class: str) -> str:
        value, truncated = self._cut_text(text)
        widget: LabelWidget = {
            "type": "label",
            "name": self._unique(name),
            "class": html_class,
            "value": value,
        }
        if truncated:
            widget["truncated"] = True
        self._widgets.append(widget)
        return widget["name"]

    def _cut_text(self, text: str) -> tuple[str, bool]:
        limit = self.limits.max_text_chars
        return text[:limit], len(text) > limit

    def _cut_strings(self, strings: list[str], budget: int | None = None) -> tuple[list[str], bool]:
        budget = self.limits.max_text_chars if budget is None else budget
        kept: list[str] = []
        for s in strings:
            if len(s) > budget:
                kept.append(s[:budget])
                return kept, True
            kept.append(s)
            budget -= len(s)
        return kept, False

    def _unique_candidate(self, base: str) -> str:
        """The first of ``base``, ``base1``, ``base2``... not taken (not reserved)."""
        if base not in self._names:
            return base
        suffix = 1
        while f"{base}{suffix}" in self._names:
            suffix += 1
        return f"{base}{suffix}"

    def _unique(self, base: str) -> str:
        name = self._unique_candidate(base)
        self._names.add(name)
        return name

    def _check_room(self, count: int) -> None:
        if len(self._widgets) + count > self.limits.max_widgets:
            raise WidgetLimitError(
                f"too many widgets: a run may create at most {self.limits.max_widgets} "
                f"(consecutive print() calls share one, up to {self.limits.max_text_chars} "
                "characters)",
                details={"max_widgets": self.limits.max_widgets},
            )

    def _check_name(self, value: object, what: str) -> str:
        text = _require_str(value, what)
        if not text:
            raise InputError(f"{what} must not be empty")
        return self._check_attr(text, what)

    def _check_attr(self, value: object, what: str) -> str:
        text = _require_str(value, what)
        if len(text) > self.limits.max_name_chars:
            raise InputError(
                f"{what} has {len(text)} characters; the limit is {self.limits.max_name_chars}"
            )
        return text

    def _check_labels(self, labels: object, count: int) -> list[str] | None:
        if labels is None:
            return None
        if isinstance(labels, str) or not isinstance(labels, list | tuple):
            raise InputError("plot: labels must be a list of strings, one per y")
        if len(labels) != count:
            raise InputError(f"plot: {len(labels)} labels for {count} series; give one label per y")
        return [self._check_attr(label, f"plot: labels[{i}]") for i, label in enumerate(labels)]

    def _check_stacking(self, stacking: object) -> str:
        text = _require_str(stacking, "button: stacking")
        if text == STACKED:
            return text
        n = series_count(text)
        if n is None or n > self.limits.max_series:
            raise InputError(
                f"button: stacking must be 'x' followed by 1 to {self.limits.max_series} "
                f"'y' (xy, xyy, xyyyy...) or '{STACKED}' for a result that is already a "
                f"list of series, not {text!r}"
            )
        return text


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, not {type(value).__name__}")
    return value
