"""WidgetLimits: defaults and validation."""

from __future__ import annotations

import dataclasses

import pytest

from remotelab.widgets import WidgetLimits


def test_defaults() -> None:
    assert WidgetLimits() == WidgetLimits(
        max_widgets=200,
        max_points_per_plot=100_000,
        max_text_chars=10_000,
        max_series=16,
        max_name_chars=100,
    )


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        WidgetLimits().max_widgets = 5  # type: ignore[misc]


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(WidgetLimits)])
@pytest.mark.parametrize("value", [0, -1, True, 2.5, "10"])
def test_every_field_must_be_a_positive_int(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"WidgetLimits.{field} must be a positive int"):
        WidgetLimits(**{field: value})  # type: ignore[arg-type]


def test_point_budget_must_cover_two_points_per_series() -> None:
    with pytest.raises(ValueError, match="at least 2 \\* max_series \\(32\\), got 31"):
        WidgetLimits(max_points_per_plot=31)
    assert WidgetLimits(max_points_per_plot=32).max_points_per_plot == 32
