"""What ``report_metrics`` stores for each kind of value: plain decimals, whatever numeric type a script returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from katib_flow.collectors.push import _number_text
from katib_flow.exceptions import CollectorError


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0.25, "0.25"),
        (3, "3"),
        (" 0.5 ", "0.5"),
        (np.float64(0.9375), "0.9375"),  # repr() is 'np.float64(0.9375)' in NumPy 2: no collector parses that
        (np.float32(0.5), "0.5"),  # not a float subclass
        (np.int64(7), "7"),
        (np.array(0.125)[()], "0.125"),
    ],
)
def test_numbers_are_stored_as_plain_decimals(value: Any, stored: str) -> None:
    assert _number_text("m", value) == stored
    assert float(stored) == float(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "expected a number, got a boolean"),
        (np.bool_(True), "expected a number, got a boolean"),
        (float("nan"), "is not a finite number"),
        (np.float64("inf"), "is not a finite number"),
        ("inf", "is not a finite number"),
        ("fast", "'fast' is not a number"),
        ([0.5], r"\[0.5\] is not a number"),
    ],
)
def test_values_that_are_not_finite_numbers_are_refused(value: Any, message: str) -> None:
    with pytest.raises(CollectorError, match=message):
        _number_text("m", value)
