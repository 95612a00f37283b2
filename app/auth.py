"""Turning an ``Authorization`` header into the caller it proves.

``Basic app_id:app_key`` is the application server; ``Bearer <connection
token>`` is an in-session client. The principal is rebuilt from the database
on every request, so a suspension or a departure applies to the next request.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import partial

from app.keys import hash_key, new_key, verify_key
from app.tokens import TokenService
from models.applications import application_credentials
from models.errors import Unauthenticated
from models.principals import (
    ApplicationPrincipal,
    ClientPrincipal,
    Principal,
    client_principal,
    load_client,
)
from models.rooms import join_room
from models.rules import Rules
from schema.context import Authenticator

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
    except ValueError:
        # binascii.Error (not base64), UnicodeDecodeError (not UTF-8) and the
        # ValueError for characters past ASCII (a header's bytes arrive
        # latin-1 decoded) are all ValueErrors.
        raise Unauthenticated(
            "Basic credentials must be base64 of app_id:app_key"
        ) from None
    app_id, separator, key = decoded.partition(":")
    app = await application_credentials(app_id) if separator else None
    # An unknown application is checked against a stand-in hash, so that it
    # takes as long as a wrong key and the answer does not tell them apart.
    if not verify_key(key, app.key_hash if app else STAND_IN_HASH) or app is None:
        raise Unauthenticated(WRONG_KEY)
    app.status.ensure_active()
    return ApplicationPrincipal(app.status, app.name)


async def _client(token: str, tokens: TokenService) -> ClientPrincipal:
    return await _participant(tokens.read_connection(token), tokens)


async def _participant(client_id: str, tokens: TokenService) -> ClientPrincipal:
    return await load_client(client_id, tokens.leeway)


@dataclass(frozen=True)
class SocketCaller:
    """What a WebSocket's credentials prove, and how to prove it again later."""

    principal: Principal
    reauthenticate: Authenticator
    # Set when the socket joined with a join token: the participant it made.
    joined_client_id: str | None = None


async def authenticate_socket(
    authorization: str | None, tokens: TokenService, rules: Rules
) -> SocketCaller:
    """Authenticate a WebSocket from its ``connection_init`` credentials.

    A join token joins the room: the socket becomes a new participant, which
    leaves when the socket closes. A connection token acts as its participant,
    and Basic credentials as the application.
    """
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    token = credentials.strip()
    if scheme.lower() == "bearer" and tokens.is_join_token(token):
        return await _join(token, tokens, rules)
    principal = await authenticate(authorization, tokens)
    if principal is None:
        raise Unauthenticated("connection_init carries no Authorization")
    return SocketCaller(principal, partial(_required, authorization, tokens))


async def _join(token: str, tokens: TokenService, rules: Rules) -> SocketCaller:
    claims = tokens.read_join(token)
    participant = await join_room(claims, rules)
    client_id = participant.client_id
    principal = client_principal(participant, participant.expires_at + tokens.leeway)
    return SocketCaller(principal, partial(_participant, client_id, tokens), client_id)


async def _required(authorization: str | None, tokens: TokenService) -> Principal:
    principal = await authenticate(authorization, tokens)
    if principal is None:
        raise Unauthenticated("connection_init carries no Authorization")
    return principal
