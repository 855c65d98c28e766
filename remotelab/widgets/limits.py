"""Bounds on what one run may put into its widget list, and the errors for them.

Every bound is a named field with a default, so the lead can surface them as
settings (``remotelab/config.py``) and the sandbox can pass its own values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from remotelab.errors import InputError


class WidgetLimitError(InputError):
    """A run asked for more widgets than ``WidgetLimits.max_widgets`` allows."""

    code = "widget_limit"


class StackingError(InputError):
    """A result that cannot be stacked into plot series (or a bad stacking value).

    ``details["reason"]`` is a stable, language-neutral reason code, the same
    one the shared table ``stacking_cases.json`` names as ``error``.
    """

    code = "bad_stacking"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason = reason


@dataclass(frozen=True)
class WidgetLimits:
    """Caps on the widgets of one run. All fields are positive integers.

    Raises :class:`ValueError` on construction when a field is not a positive
    int, or when ``max_points_per_plot < 2 * max_series`` (decimation keeps at
    least the first and the last point of every series).
    """

    max_widgets: int = 200
    """Widgets one run may create (a button's automatic label counts)."""
    max_points_per_plot: int = 100_000
    """Points one plot may hold over all its series; beyond it every series is
    decimated evenly, keeping its first and last points."""
    max_text_chars: int = 10_000
    """Characters of text one print/print_/label widget may show; beyond it the
    text is cut and the widget marked ``"truncated": true``."""
    max_series: int = 16
    """Series one plot (or one ``update-plot`` stacking) may hold."""
    max_name_chars: int = 100
    """Characters in a widget name, target, CSS class or button label."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"WidgetLimits.{f.name} must be a positive int, got {value!r}")
        if self.max_points_per_plot < 2 * self.max_series:
            raise ValueError(
                "WidgetLimits.max_points_per_plot must be at least 2 * max_series "
                f"({2 * self.max_series}), got {self.max_points_per_plot}"
            )
