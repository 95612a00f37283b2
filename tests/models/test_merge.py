"""The merge rules, independent of GraphQL: RFC 7386 and the diff of a write."""

from __future__ import annotations

from typing import Any

import pytest

from models.merge import diff, merge_patch, remove_keys, replace, same_json

# RFC 7386 appendix A, restricted to object targets and object patches, the
# only ones the data store accepts (data must be a JSON object).
RFC_7386_EXAMPLES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_7386_EXAMPLES)
def test_merge_matches_rfc_7386_examples(
    target: dict[str, Any], patch: dict[str, Any], result: dict[str, Any]
) -> None:
    assert merge_patch(target, patch) == result


def test_merge_does_not_mutate_its_inputs() -> None:
    target = {"a": {"b": 1}}
    patch = {"a": {"c": [1]}}

    merged = merge_patch(target, patch)
    merged["a"]["c"].append(2)

    assert target == {"a": {"b": 1}}
    assert patch == {"a": {"c": [1]}}


def test_replace_drops_null_members_at_every_depth() -> None:
    assert replace({"a": None, "b": {"c": None, "d": [None]}}) == {"b": {"d": [None]}}


def test_remove_keys_without_names_empties_the_document() -> None:
    assert remove_keys({"a": 1}, None) == {}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"a": 1, "b": {"x": 1, "y": 2}}, {"b": {"x": 9}}),
        ({"a": [1, 2]}, {"a": [1, 2], "c": {}}),
        ({"a": {"b": {"c": 1}}}, {"a": {"b": {}}}),
        ({"n": 1}, {"n": 1.0}),
        ({"n": 1}, {"n": True}),
    ],
)
def test_diff_is_a_merge_patch_from_old_to_new(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    patch = diff(old, new)

    assert same_json(merge_patch(old, patch), new)


def test_diff_of_equal_documents_is_empty() -> None:
    assert diff({"a": {"b": [1, None]}}, {"a": {"b": [1, None]}}) == {}


def test_same_json_tells_numbers_and_booleans_apart() -> None:
    assert not same_json(1, 1.0)
    assert not same_json(1, True)
    assert same_json({"a": 1, "b": 2}, {"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ([1, 2], [1, 2.0]),
        ({"a": [True]}, {"a": [1]}),
        ({"a": {}}, {"a": []}),
        ({"a": {"b": 0}}, {"a": {"b": False}}),
        ([None], []),
        ({"a": 1}, {"a": 1, "b": None}),
        ("1", 1),
    ],
)
def test_same_json_looks_inside_arrays_and_objects(left: object, right: object) -> None:
    assert not same_json(left, right)
    assert not same_json(right, left)
    assert same_json(left, left)
    assert same_json({"x": [left, {"y": right}]}, {"x": [left, {"y": right}]})


def test_diff_sees_a_type_change_inside_an_array() -> None:
    assert diff({"a": [1]}, {"a": [1.0]}) == {"a": [1.0]}
