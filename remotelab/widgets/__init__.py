"""Widget specs and stacking: the pure core of a script's app (pslab-remote's wire format).

- :class:`WidgetCollector` builds the widget list of one run (``print``,
  ``print_``, ``label``, ``button``, ``plot``) within :class:`~remotelab.config.WidgetSettings`;
- :func:`stack` turns a function-string result into plot series;
- :func:`format_number` is what a ``display_number`` target shows.

No I/O here. The wire format is documented in ``docs/reference/widgets.md``.
"""

from __future__ import annotations

from remotelab.widgets.display import (
    DISPLAY,
    DISPLAY_NUMBER,
    DISPLAY_TYPES,
    UPDATE_PLOT,
    format_number,
)
from remotelab.widgets.errors import StackingError, WidgetLimitError
from remotelab.widgets.specs import WidgetCollector
from remotelab.widgets.stacking import DEFAULT_STACKING, STACKED, Series, series_count, stack
from remotelab.widgets.wire import (
    ActionSpec,
    ButtonWidget,
    DisplayType,
    LabelWidget,
    PlotWidget,
    SpanWidget,
    SuccessSpec,
    TextWidget,
    Widget,
    merge_output,
)

__all__ = [
    "DEFAULT_STACKING",
    "DISPLAY",
    "DISPLAY_NUMBER",
    "DISPLAY_TYPES",
    "STACKED",
    "UPDATE_PLOT",
    "ActionSpec",
    "ButtonWidget",
    "DisplayType",
    "LabelWidget",
    "PlotWidget",
    "Series",
    "SpanWidget",
    "StackingError",
    "SuccessSpec",
    "TextWidget",
    "Widget",
    "WidgetCollector",
    "WidgetLimitError",
    "format_number",
    "merge_output",
    "series_count",
    "stack",
]
