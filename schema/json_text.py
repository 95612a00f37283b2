"""Responses as JSON text: how every transport writes what the schema answers."""

from __future__ import annotations

import json

import orjson


def json_text(value: object) -> str:
    """Encode with orjson, or the standard encoder where orjson cannot.

    orjson refuses integers beyond 64 bits (documents may hold them) and lone
    surrogates; the standard encoder writes both. The result is text because
    a WebSocket sends bytes as a binary frame, which GraphQL clients ignore.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))
