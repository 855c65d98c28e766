"""The widget specs as types: the wire format of docs/reference/widgets.md.

One ``TypedDict`` per widget, so the sandbox, the API (an OpenAPI schema) and
the tests share one statement of the format. Keys appear in this order in the
JSON. Optional keys (``NotRequired``) are remotelab additions that
pslab-remote's webapp never sent; a client that ignores them still works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

from remotelab.widgets.stacking import Series

DisplayType = Literal["display_number", "display", "update-plot"]


class TextWidget(TypedDict):
    """``print(*args)``: one string per argument; consecutive prints go on in one widget
    (their strings follow, joined by the previous print's ``end``)."""

    type: Literal["text"]
    name: str
    value: list[str]
    truncated: NotRequired[bool]
    """Present (true) when the strings were cut to ``max_text_chars``."""


# "class" is a Python keyword, hence the functional syntax.
SpanWidget = TypedDict(
    "SpanWidget",
    {
        "type": Literal["span"],
        "name": str,
        "class": Literal["row well"],
        "value": str,
        "truncated": NotRequired[bool],
    },
)
"""``print_(txt)``: highlighted text."""

LabelWidget = TypedDict(
    "LabelWidget",
    {
        "type": Literal["label"],
        "name": str,
        "class": str,
        "value": str,
        "truncated": NotRequired[bool],
    },
)
"""``label(txt)``, and the empty target label a button makes."""


class SuccessSpec(TypedDict):
    """Where a button's result goes."""

    datapoint: Literal["result"]
    type: DisplayType
    target: str
    stacking: NotRequired[str]
    """Only (and always) for ``update-plot``."""


class ActionSpec(TypedDict):
    type: Literal["POST"]
    endpoint: str
    """The function string."""
    success: SuccessSpec


class ButtonWidget(TypedDict):
    type: Literal["button"]
    name: str
    label: str
    fetched_value: Literal[""]
    action: ActionSpec


class PlotWidget(TypedDict):
    """``plot(x, *ys)``: one series of ``[x, y]`` points per y."""

    type: Literal["plot"]
    name: str
    data: list[Series]
    x_label: NotRequired[str]
    """Optional: the x axis's label, e.g. ``"Time (µs)"``."""
    y_label: NotRequired[str]
    """Optional: the y axis's label, e.g. ``"Voltage (V)"``."""
    labels: NotRequired[list[str]]
    """Optional: the legend, one name per series."""
    decimated: NotRequired[bool]
    """Present (true) when the series were thinned to ``max_plot_points``."""
    original_points: NotRequired[int]
    """With ``decimated``: the points over all series before thinning."""


Widget = TextWidget | SpanWidget | LabelWidget | ButtonWidget | PlotWidget


def merge_output(shown: list[Any], more: list[Any]) -> int:
    """Apply one batch of a live run's widgets to those ``shown`` so far, in place.

    A widget named like the last one shown replaces it (a print widget that grew since it
    was sent); any other is appended. Applied batch after batch, the widgets are those of
    the run's result. Returns how many widgets were appended.
    """
    added = 0
    for widget in more:
        last = shown[-1] if shown else None
        if (
            isinstance(last, Mapping)
            and isinstance(widget, Mapping)
            and (last.get("name") == widget.get("name"))
        ):
            shown[-1] = widget
        else:
            shown.append(widget)
            added += 1
    return added
