"""The errors of the widget layer: over a limit, or a result that cannot be stacked.

The limits themselves are settings (:class:`remotelab.config.WidgetSettings`).
"""

from __future__ import annotations

from remotelab.errors import InputError


class WidgetLimitError(InputError):
    """A run asked for more widgets than ``WidgetSettings.max_widgets`` allows."""

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
