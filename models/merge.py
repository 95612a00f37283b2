"""How a write changes a document: JSON Merge Patch, replace and key removal.

The merge follows RFC 7386 section 2: objects merge key by key and
recursively, a ``null`` member removes that key, and anything that is not an
object (arrays included) replaces the old value whole. Because ``null``
removes, a stored document never holds a ``null`` member of an object (arrays
keep their ``null`` items). Inputs are never mutated.
"""

from __future__ import annotations

import copy
from typing import Any

JSONObject = dict[str, Any]


def merge_patch(target: JSONObject, patch: JSONObject) -> JSONObject:
    """Apply ``patch`` to ``target`` as a JSON Merge Patch and return the result."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            base = current if isinstance(current, dict) else {}
            result[key] = merge_patch(base, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def replace(document: JSONObject) -> JSONObject:
    """Return ``document`` as a stored document: its ``null`` members dropped."""
    return merge_patch({}, document)


def remove_keys(target: JSONObject, keys: list[str] | None) -> JSONObject:
    """Return ``target`` without the given top-level keys, or empty for ``None``."""
    if keys is None:
        return {}
    doomed = set(keys)
    return {key: value for key, value in target.items() if key not in doomed}


def diff(old: JSONObject, new: JSONObject) -> JSONObject:
    """Return the smallest merge patch that turns ``old`` into ``new``."""
    patch: JSONObject = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(before, dict) and isinstance(value, dict):
            inner = diff(before, value)
            if inner:
                patch[key] = inner
        elif key not in old or not same_json(before, value):
            patch[key] = copy.deepcopy(value)
    return patch


def same_json(left: object, right: object) -> bool:
    """Tell whether two values are the same JSON (``1``, ``1.0``, ``true`` differ)."""
    # Python's == takes 1, 1.0 and True for one another, so types are compared too.
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        assert isinstance(right, dict)
        return left.keys() == right.keys() and all(
            same_json(value, right[key]) for key, value in left.items()
        )
    if isinstance(left, list):
        assert isinstance(right, list)
        return len(left) == len(right) and all(map(same_json, left, right))
    return left == right
