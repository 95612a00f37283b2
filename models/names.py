"""Rules for the names callers choose (user_ref, owner_ref, room names) and ids."""

from __future__ import annotations

import secrets
import unicodedata

from models.errors import BadUserInput

MAX_REF_LENGTH = 128
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200


def check_ref(value: str, argument: str) -> str:
    """Return an application's id for a user or owner after checking it."""
    return _check_text(value, argument, MAX_REF_LENGTH)


def check_name(value: str, argument: str) -> str:
    """Return a display name after checking it."""
    return _check_text(value, argument, MAX_NAME_LENGTH)


def could_be_id(value: str) -> bool:
    """Tell whether a string could be one of our ids, before looking it up."""
    # Ids are ASCII; a lone surrogate (JSON can carry one) could not even be
    # handed to SQLite.
    return 0 < len(value) <= MAX_ID_LENGTH and value.isascii()


def new_id(prefix: str) -> str:
    """Return a fresh unguessable id such as ``room_3kq…``."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def _check_text(value: str, argument: str, max_length: int) -> str:
    if not 1 <= len(value) <= max_length:
        raise BadUserInput(f"{argument} must be 1 to {max_length} characters long")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise BadUserInput(f"{argument} must not contain control characters")
    return value
