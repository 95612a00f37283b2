"""The limits, independent of GraphQL and the database."""

from __future__ import annotations

from typing import Any

import pytest

from models.errors import BadUserInput, PayloadTooLarge
from models.limits import Limits, check_document, check_patch

LIMITS = Limits()


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


def test_a_value_100000_levels_deep_is_refused_without_recursion() -> None:
    with pytest.raises(BadUserInput, match="16 levels"):
        check_patch(_deep(100_000), LIMITS)


def test_depth_counts_the_document_itself_as_level_one() -> None:
    check_patch(_deep(16), LIMITS)

    with pytest.raises(BadUserInput):
        check_patch(_deep(17), LIMITS)


def test_arrays_count_as_levels() -> None:
    with pytest.raises(BadUserInput):
        check_patch({"a": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}, LIMITS)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(BadUserInput, match="finite"):
        check_patch({"x": [value]}, LIMITS)


def test_values_that_are_not_json_are_refused() -> None:
    with pytest.raises(BadUserInput, match="not a JSON value"):
        check_patch({"x": {1, 2}}, LIMITS)


def test_size_is_measured_as_compact_utf8_json() -> None:
    fits = {"k": "é" * ((LIMITS.max_document_bytes - 8) // 2)}

    size = check_document(fits, LIMITS)

    assert size <= LIMITS.max_document_bytes
    with pytest.raises(PayloadTooLarge):
        check_document({"k": "é" * (LIMITS.max_document_bytes // 2)}, LIMITS)


def test_settings_change_the_limits() -> None:
    small = Limits(max_top_level_keys=2, max_array_items=1)

    with pytest.raises(BadUserInput, match="2 top-level"):
        check_document({"a": 1, "b": 2, "c": 3}, small)
    with pytest.raises(BadUserInput, match="1 items"):
        check_patch({"a": [1, 2]}, small)
