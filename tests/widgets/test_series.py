"""Plot data conversion and decimation indices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from remotelab.errors import InputError
from remotelab.widgets.series import decimation_indices, to_float_array, to_json_numbers


def test_to_float_array_accepts_sequences_and_arrays() -> None:
    for values in ([1, 2], (1, 2), range(1, 3), np.array([1, 2], dtype=np.uint8)):
        array = to_float_array(values, "y")
        assert array.dtype == np.float64
        assert array.tolist() == [1.0, 2.0]


def test_to_float_array_none_is_nan() -> None:
    array = to_float_array([1, None, 3], "y")
    assert math.isnan(array[1])


def test_to_float_array_names_the_argument() -> None:
    with pytest.raises(InputError, match=r"plot: y3\[0\] is str"):
        to_float_array(np.array(["a"], dtype=object), "y3")


def test_to_json_numbers_replaces_non_finite_with_none() -> None:
    array = np.array([1.0, math.nan, math.inf, -math.inf, -0.5])
    assert to_json_numbers(array) == [1.0, None, None, None, -0.5]


@pytest.mark.parametrize("length", [0, 1, 2, 10])
def test_no_decimation_within_budget(length: int) -> None:
    assert decimation_indices(length, 10) is None


@pytest.mark.parametrize(("length", "budget"), [(11, 10), (100, 2), (1000, 7), (10**6, 999)])
def test_decimation_indices_are_even_distinct_and_keep_the_ends(length: int, budget: int) -> None:
    indices = decimation_indices(length, budget)
    assert indices is not None
    assert len(indices) == budget
    assert indices[0] == 0
    assert indices[-1] == length - 1
    assert (np.diff(indices) > 0).all()
    assert indices.tolist() == [i * (length - 1) // (budget - 1) for i in range(budget)]


def test_decimation_budget_below_two_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        decimation_indices(10, 1)
