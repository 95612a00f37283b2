"""Join tokens and connection tokens: signed JWTs (PyJWT), HS256 only.

A *join token* is what the application server gives a client so that it may
join one room as one user. A *connection token* is what ``joinRoom`` gives
back: it names the participant that the join created. The two carry different
audiences, so neither can stand in for the other.

The algorithm is fixed here and never read from a token. Expiry is checked
against the injected clock (with the configured leeway) rather than PyJWT's
own, so that tests can move time; PyJWT checks the signature, the algorithm,
the issuer, the audience and that every required claim is present.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from app.settings import SettingsError
from models.clock import Clock
from models.errors import BadUserInput, Unauthenticated
from models.principals import JoinClaims
from models.tables import Role
from schema.context import IssuedToken

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32
# Tokens whose signature was checked, kept (least recently used dropped).
VERIFIED_TOKENS_KEPT = 10_000
JOIN_AUDIENCE = "video-data-store:join"
CONNECTION_AUDIENCE = "video-data-store:connection"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


@dataclass(frozen=True)
class TokenPolicy:
    """How tokens are signed and how long they may live."""

    secret: str
    issuer: str
    leeway_seconds: int
    default_ttl_seconds: int
    max_ttl_seconds: int


class TokenService:
    """Signs and reads the server's tokens."""

    def __init__(self, policy: TokenPolicy, clock: Clock) -> None:
        self._policy = policy
        self._secret = policy.secret
        self._issuer = policy.issuer
        self._leeway = timedelta(seconds=policy.leeway_seconds)
        self._clock = clock
        # Past this, adding the leeway to an expiry would leave datetime's range.
        self._latest_expiry = datetime.max.replace(tzinfo=UTC) - self._leeway
        self._known: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def join_expiry(self, ttl_seconds: int | None) -> datetime:
        """Return when a join token made now expires, refusing too long a life."""
        policy = self._policy
        ttl = policy.default_ttl_seconds if ttl_seconds is None else ttl_seconds
        if not 1 <= ttl <= policy.max_ttl_seconds:
            raise BadUserInput(
                f"ttlSeconds must be between 1 and {policy.max_ttl_seconds}"
            )
        return self._clock.now() + timedelta(seconds=ttl)

    def issue_join(self, claims: JoinClaims) -> IssuedToken:
        """Sign a join token for ``claims``."""
        payload = {
            "sub": claims.user_ref,
            "app": claims.app_id,
            "room": claims.room_id,
            "name": claims.name,
            "role": claims.role.value,
        }
        return self._sign(payload, JOIN_AUDIENCE, claims.expires_at)

    def read_join(self, token: str) -> JoinClaims:
        """Return the claims of a valid join token, or raise ``Unauthenticated``."""
        payload = self._decode(token, JOIN_AUDIENCE, "join token")
        try:
            return JoinClaims(
                app_id=str(payload["app"]),
                room_id=str(payload["room"]),
                user_ref=str(payload["sub"]),
                name=str(payload["name"]),
                role=Role(payload["role"]),
                expires_at=self._expiry(payload, "join token"),
            )
        except (KeyError, ValueError):
            raise Unauthenticated("the join token lacks a claim it needs") from None

    def issue_connection(self, client_id: str, expires_at: datetime) -> IssuedToken:
        """Sign a connection token for the participant ``client_id``."""
        return self._sign({"sub": client_id}, CONNECTION_AUDIENCE, expires_at)

    @property
    def leeway(self) -> timedelta:
        """How long past its expiry a token is still accepted."""
        return self._leeway

    def is_join_token(self, token: str) -> bool:
        """Tell a join token from a connection token, before verifying either.

        Only the unverified audience is looked at, to choose which check to
        run; the check itself then verifies everything.
        """
        if not token.isascii():
            return False
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return bool(claims.get("aud") == JOIN_AUDIENCE)

    def read_connection(self, token: str) -> str:
        """Return the participant a valid connection token names."""
        return str(self._decode(token, CONNECTION_AUDIENCE, "connection token")["sub"])

    def _sign(
        self, claims: dict[str, Any], audience: str, expires: datetime
    ) -> IssuedToken:
        now = self._clock.now()
        payload = {
            **claims,
            "iss": self._issuer,
            "aud": audience,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(9),
        }
        token = jwt.encode(payload, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, datetime.fromtimestamp(payload["exp"], UTC))

    def _decode(self, token: str, audience: str, kind: str) -> dict[str, Any]:
        payload = self._verified(token, audience, kind)
        if self._expiry(payload, kind) + self._leeway < self._clock.now():
            raise Unauthenticated(f"the {kind} has expired")
        return payload

    def _expiry(self, payload: dict[str, Any], kind: str) -> datetime:
        """Return when a token expires, refusing an ``exp`` no datetime can hold.

        PyJWT checks ``exp`` only when it checks expiry itself, which it is not
        asked to here. It must be a NumericDate, a JSON number (RFC 7519,
        section 2), early enough that the leeway can still be added to it.
        """
        exp = payload["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise Unauthenticated(f"the {kind} is not valid: exp must be a number")
        out_of_range = Unauthenticated(f"the {kind} is not valid: exp is out of range")
        try:
            expires_at = datetime.fromtimestamp(int(exp), UTC)
        except (ValueError, OverflowError, OSError):  # NaN, infinities, past 9999
            raise out_of_range from None
        if expires_at > self._latest_expiry:
            raise out_of_range
        return expires_at

    def _verified(self, token: str, audience: str, kind: str) -> dict[str, Any]:
        """Check a token's signature and claims, remembering tokens that pass.

        A client sends the same connection token with every request, and
        what its signature proves never changes; only the expiry, checked on
        every use, does. Verifying it each time was an eighth of a read.
        """
        cached = self._known.get((token, audience))
        if cached is not None:
            self._known.move_to_end((token, audience))
            return cached
        # A JWS is base64url and dots (RFC 7515, section 7.1); PyJWT encodes
        # the token to UTF-8 first, which a lone surrogate from JSON breaks.
        if not token.isascii():
            raise Unauthenticated(f"the {kind} is not valid: it is not ASCII")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self._issuer,
                # Expiry is checked by _decode, against the injected clock.
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise Unauthenticated(_wrong_kind(kind)) from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the {kind} is not valid: {exc}") from None
        self._known[token, audience] = payload
        if len(self._known) > VERIFIED_TOKENS_KEPT:
            self._known.popitem(last=False)
        return payload


def _wrong_kind(kind: str) -> str:
    if kind == "connection token":
        return (
            "this is not a connection token: call joinRoom with a join token and "
            "send the connectionToken it returns"
        )
    return "this is not a join token: the application makes them with createToken"


def load_or_create_secret(path: Path) -> str:
    """Return the signing secret kept in ``path``, creating it on first use."""
    if path.exists():
        return _read_secret(path)
    # Written whole to a private file first, then linked into place: a link
    # never replaces an existing file, so two servers starting at once agree
    # on one secret and neither can read a half-written one.
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)
        logger.info("Created a token signing secret in %s", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"the signing secret in {path} is shorter than {MIN_SECRET_LENGTH} "
            "characters"
        )
    if path.stat().st_mode & 0o077:
        logger.warning(
            "The signing secret in %s is readable by other users: chmod 600 it", path
        )
    return secret
