"""The limits every document and every write must keep.

Checks walk values with an explicit stack rather than recursion, so that a
value nested thousands of levels deep is refused with ``BAD_USER_INPUT``
instead of exhausting Python's recursion limit.
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

from models.errors import BadUserInput, PayloadTooLarge

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """Size and shape limits of documents; each is a setting."""

    max_document_bytes: int = 64 * 1024
    max_top_level_keys: int = 128
    max_depth: int = 16
    max_array_items: int = 1000
    max_key_length: int = 128


def check_object(value: object) -> JSONObject:
    """Return ``value`` if it is a JSON object; documents and patches must be."""
    if not isinstance(value, dict):
        raise BadUserInput(f"data must be a JSON object, not {_json_type_name(value)}")
    return value


def check_patch(value: object, limits: Limits) -> JSONObject:
    """Return ``value`` as a JSON object after checking its shape and contents."""
    patch = check_object(value)
    _check_tree(patch, limits)
    return patch


def check_keys(keys: list[str], limits: Limits) -> None:
    """Check a list of top-level key names against the key rules."""
    for key in keys:
        _check_key(key, limits)


def check_document(document: JSONObject, limits: Limits) -> int:
    """Check a whole document's key count and size; return its size in bytes."""
    if len(document) > limits.max_top_level_keys:
        raise BadUserInput(
            f"a document may have at most {limits.max_top_level_keys} top-level "
            f"keys; this write would leave {len(document)}"
        )
    size = len(encode_document(document))
    if size > limits.max_document_bytes:
        raise PayloadTooLarge(
            f"a document may be at most {limits.max_document_bytes} bytes as "
            f"compact JSON; this write would make it {size} bytes"
        )
    return size


def encode_document(document: JSONObject) -> bytes:
    """Encode a document as compact UTF-8 JSON, the form its size is measured in."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadUserInput(
            "strings must be valid Unicode: a lone surrogate cannot be stored"
        ) from exc


def _check_tree(root: JSONObject, limits: Limits) -> None:
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            _check_depth(depth, limits)
            for key, child in value.items():
                _check_key(key, limits)
                stack.append((child, depth + 1))
        elif isinstance(value, list):
            _check_depth(depth, limits)
            _check_array(value, limits)
            stack.extend((child, depth + 1) for child in value)
        else:
            _check_scalar(value)


def _check_depth(depth: int, limits: Limits) -> None:
    if depth > limits.max_depth:
        raise BadUserInput(
            f"data may nest objects and arrays at most {limits.max_depth} levels deep"
        )


def _check_array(value: list[object], limits: Limits) -> None:
    if len(value) > limits.max_array_items:
        raise BadUserInput(
            f"an array may hold at most {limits.max_array_items} items; "
            f"one holds {len(value)}"
        )


def _check_key(key: object, limits: Limits) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= limits.max_key_length:
        raise BadUserInput(f"keys must be 1 to {limits.max_key_length} characters long")
    if any(unicodedata.category(char) == "Cc" for char in key):
        raise BadUserInput(f"key {key!r} contains a control character")


def _check_scalar(value: object) -> None:
    if value is None or isinstance(value, str | bool):
        return
    if isinstance(value, int | float):
        # Every JSON reader can hold a double; NaN and Infinity are not JSON.
        # (An int is compared exactly: converting it could overflow.)
        too_large = abs(value) > sys.float_info.max
        if too_large or (isinstance(value, float) and not math.isfinite(value)):
            raise BadUserInput(
                "numbers must be finite and fit in a double (at most about 1.8e308)"
            )
        return
    raise BadUserInput(f"{_json_type_name(value)} is not a JSON value")


def _json_type_name(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
