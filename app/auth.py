"""Turning an ``Authorization`` header into the caller it proves.

``Basic app_id:app_key`` is the application server; ``Bearer <connection
token>`` is an in-session client. The principal is rebuilt from the database
on every request, so a suspension or a departure applies to the next request.
"""

from __future__ import annotations

import base64
import binascii

from app.keys import hash_key, new_key, verify_key
from app.tokens import TokenService
from models.applications import find_application
from models.errors import Unauthenticated
from models.principals import (
    ApplicationPrincipal,
    AppStatus,
    Principal,
    client_principal,
)
from models.sessions import active_participant

WRONG_KEY = "unknown application or wrong key"
STAND_IN_HASH = hash_key(new_key())


async def authenticate(
    authorization: str | None, tokens: TokenService
) -> Principal | None:
    """Return the caller an ``Authorization`` header proves, or ``None`` without one."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "basic":
        return await _application(credentials.strip())
    if scheme.lower() == "bearer":
        return await _client(credentials.strip(), tokens)
    raise Unauthenticated(
        f"unsupported authorization scheme {scheme!r}: use Basic or Bearer"
    )


async def _application(credentials: str) -> ApplicationPrincipal:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated(
            "Basic credentials must be base64 of app_id:app_key"
        ) from None
    app_id, separator, key = decoded.partition(":")
    app = await find_application(app_id) if separator else None
    # An unknown application is checked against a stand-in hash, so that it
    # takes as long as a wrong key and the answer does not tell them apart.
    if not verify_key(key, app.key_hash if app else STAND_IN_HASH) or app is None:
        raise Unauthenticated(WRONG_KEY)
    status = AppStatus.of(app)
    status.ensure_active()
    return ApplicationPrincipal(status, app.name)


async def _client(token: str, tokens: TokenService) -> Principal:
    participant = await active_participant(tokens.read_connection(token))
    principal = client_principal(participant)
    principal.status.ensure_active()
    return principal
