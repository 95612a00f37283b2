"""The token rules of DESIGN.md section 2, and where the signing secret comes from.

Forged tokens are made with PyJWT, except where PyJWT refuses to make them (an
RS256 header without an RSA key), which are put together by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from app.runtime import signing_secret
from app.server import create_app
from app.settings import Settings, SettingsError
from app.tokens import (
    CONNECTION_AUDIENCE,
    JOIN_AUDIENCE,
    TokenPolicy,
    TokenService,
)
from models.clock import ManualClock
from models.errors import BadUserInput, Unauthenticated
from models.principals import JoinClaims
from models.tables import Role
from tests.conftest import SECRET
from tests.support import JOIN, AppCaller, Server, running

ISSUER = "video-data-store"
OTHER_SECRET = "another-secret-that-is-also-long-enough-for-hs256"

TOKEN = """
mutation($i: CreateTokenInput!) { createToken(input: $i) { token expiresAt } }"""


def _payload(clock: ManualClock, **changes: Any) -> dict[str, Any]:
    """A join token's claims as the server would sign them, with some changed."""
    now = int(clock.now().timestamp())
    payload: dict[str, Any] = {
        "sub": "alice",
        "app": "app_x",
        "room": "room_x",
        "name": "Alice",
        "role": "PARTICIPANT",
        "iss": ISSUER,
        "aud": JOIN_AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


def _forge(payload: dict[str, Any], key: str = SECRET, algorithm: str = "HS256") -> str:
    # A forger does not care that the test secret is short for HS512.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, key, algorithm=algorithm)


def _unsigned(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, None, algorithm="none")


def _with_header(payload: dict[str, Any], header: dict[str, Any]) -> str:
    """A token with any header, signed with HMAC-SHA-256 and the server's secret."""

    def encode(part: dict[str, Any]) -> str:
        raw = json.dumps(part, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{encode(header)}.{encode(payload)}"
    digest = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    return f"{signing_input}.{signature}"


@pytest.fixture
def service(clock: ManualClock) -> TokenService:
    """The token service with the default policy."""
    policy = TokenPolicy(
        secret=SECRET,
        issuer=ISSUER,
        leeway_seconds=30,
        default_ttl_seconds=3600,
        max_ttl_seconds=86400,
    )
    return TokenService(policy, clock)


def _claims(clock: ManualClock, ttl_seconds: int = 3600) -> JoinClaims:
    return JoinClaims(
        app_id="app_x",
        room_id="room_x",
        user_ref="alice",
        name="Alice",
        role=Role.MODERATOR,
        expires_at=clock.now() + timedelta(seconds=ttl_seconds),
    )


# The token service on its own.


def test_issued_join_token_reads_back_its_claims(
    service: TokenService, clock: ManualClock
) -> None:
    claims = _claims(clock)

    issued = service.issue_join(claims)

    assert service.read_join(issued.token) == claims
    assert issued.expires_at == claims.expires_at


def test_join_token_header_names_hs256(
    service: TokenService, clock: ManualClock
) -> None:
    issued = service.issue_join(_claims(clock))

    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_token_of_another_secret_is_refused(
    service: TokenService, clock: ManualClock
) -> None:
    token = _forge(_payload(clock), key=OTHER_SECRET)

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_unsigned_token_is_refused(service: TokenService, clock: ManualClock) -> None:
    token = _unsigned(_payload(clock))

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_hs512_token_with_the_right_secret_is_refused(
    service: TokenService, clock: ManualClock
) -> None:
    token = _forge(_payload(clock), algorithm="HS512")

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_rs256_header_is_refused_even_with_a_valid_hmac(
    service: TokenService, clock: ManualClock
) -> None:
    token = _with_header(_payload(clock), {"alg": "RS256", "typ": "JWT"})

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_hand_made_hs256_token_is_accepted(
    service: TokenService, clock: ManualClock
) -> None:
    """The forging helper itself makes tokens the server takes."""
    token = _with_header(_payload(clock), {"alg": "HS256", "typ": "JWT"})

    assert service.read_join(token).user_ref == "alice"


def test_tampered_payload_is_refused(service: TokenService, clock: ManualClock) -> None:
    header, _, signature = _forge(_payload(clock)).split(".")
    other = _forge(_payload(clock, role="MODERATOR")).split(".")[1]

    with pytest.raises(Unauthenticated):
        service.read_join(f"{header}.{other}.{signature}")


def test_token_without_exp_is_refused(
    service: TokenService, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, exp=None))

    with pytest.raises(Unauthenticated, match="exp"):
        service.read_join(token)


@pytest.mark.parametrize("claim", ["iat", "iss", "aud", "sub"])
def test_token_without_a_registered_claim_is_refused(
    service: TokenService, clock: ManualClock, claim: str
) -> None:
    token = _forge(_payload(clock, **{claim: None}))

    with pytest.raises(Unauthenticated):
        service.read_join(token)


@pytest.mark.parametrize("claim", ["app", "room", "name", "role"])
def test_join_token_without_a_claim_of_its_own_is_refused(
    service: TokenService, clock: ManualClock, claim: str
) -> None:
    token = _forge(_payload(clock, **{claim: None}))

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_join_token_with_an_unknown_role_is_refused(
    service: TokenService, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, role="ADMIN"))

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_token_expired_beyond_the_leeway_is_refused(
    service: TokenService, clock: ManualClock
) -> None:
    token = service.issue_join(_claims(clock, ttl_seconds=60)).token

    clock.advance(60 + 31)

    with pytest.raises(Unauthenticated, match="expired"):
        service.read_join(token)


def test_token_expired_within_the_leeway_is_accepted(
    service: TokenService, clock: ManualClock
) -> None:
    token = service.issue_join(_claims(clock, ttl_seconds=60)).token

    clock.advance(60 + 29)

    assert service.read_join(token).user_ref == "alice"


# exp values that are not a NumericDate (RFC 7519, section 2) or that no
# datetime can hold with the leeway added: JSON lets a signer put any of them.
BAD_EXPIRIES = [
    "soon",
    "4102444800",
    True,
    [1],
    {"at": 1},
    1e20,
    10**30,
    -(10**20),
    float("nan"),
    float("inf"),
    253402300799,
]


@pytest.mark.parametrize("exp", BAD_EXPIRIES)
def test_token_whose_exp_is_not_a_usable_numeric_date_is_refused(
    service: TokenService, clock: ManualClock, exp: object
) -> None:
    token = _forge(_payload(clock, exp=exp))

    with pytest.raises(Unauthenticated, match="exp"):
        service.read_join(token)


@pytest.mark.parametrize("exp", BAD_EXPIRIES)
def test_connection_token_whose_exp_is_not_a_usable_numeric_date_is_refused(
    service: TokenService, clock: ManualClock, exp: object
) -> None:
    token = _forge(_payload(clock, aud=CONNECTION_AUDIENCE, exp=exp))

    with pytest.raises(Unauthenticated, match="exp"):
        service.read_connection(token)


def test_token_with_a_fractional_exp_is_accepted(
    service: TokenService, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, exp=clock.now().timestamp() + 60.5))

    assert service.read_join(token).user_ref == "alice"


def test_wrong_issuer_is_refused(service: TokenService, clock: ManualClock) -> None:
    token = _forge(_payload(clock, iss="someone-else"))

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_wrong_audience_is_refused(service: TokenService, clock: ManualClock) -> None:
    token = _forge(_payload(clock, aud="some-other-service"))

    with pytest.raises(Unauthenticated):
        service.read_join(token)


def test_connection_token_is_not_a_join_token(
    service: TokenService, clock: ManualClock
) -> None:
    token = service.issue_connection("client_x", clock.now() + timedelta(hours=1))

    with pytest.raises(Unauthenticated, match="not a join token"):
        service.read_join(token.token)


def test_join_token_is_not_a_connection_token(
    service: TokenService, clock: ManualClock
) -> None:
    token = service.issue_join(_claims(clock)).token

    with pytest.raises(Unauthenticated, match="not a connection token"):
        service.read_connection(token)


def test_connection_token_names_its_participant(
    service: TokenService, clock: ManualClock
) -> None:
    issued = service.issue_connection("client_x", clock.now() + timedelta(hours=1))

    payload = jwt.decode(
        issued.token, SECRET, algorithms=["HS256"], audience=CONNECTION_AUDIENCE
    )

    assert service.read_connection(issued.token) == "client_x"
    assert payload["iss"] == ISSUER


@pytest.mark.parametrize("ttl", [0, -1, 86401])
def test_join_lifetime_outside_one_second_to_the_maximum_is_refused(
    service: TokenService, ttl: int
) -> None:
    with pytest.raises(BadUserInput, match="86400"):
        service.join_expiry(ttl)


def test_join_lifetime_defaults_to_the_default_ttl(
    service: TokenService, clock: ManualClock
) -> None:
    assert service.join_expiry(None) == clock.now() + timedelta(seconds=3600)


# Through the API.


async def _join_code(server: Server, token: str) -> dict[str, Any]:
    anonymous = await server.anonymous()
    return await anonymous.refused(JOIN, token=token)


async def test_join_with_another_secret_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, app=app.app_id, room=room), key=OTHER_SECRET)

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_with_an_unsigned_token_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = _unsigned(_payload(clock, app=app.app_id, room=room))

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_with_an_hs512_token_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, app=app.app_id, room=room), algorithm="HS512")

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_with_an_rs256_header_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    payload = _payload(clock, app=app.app_id, room=room)
    token = _with_header(payload, {"alg": "RS256", "typ": "JWT"})

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_with_a_well_forged_token_works(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    """The server's secret is all it takes: the refusals above are not accidents."""
    token = _forge(_payload(clock, app=app.app_id, room=room))

    client = await server.join(token)

    assert client.who.room_id == room


@pytest.mark.parametrize("exp", [None, "soon", 1e20], ids=["none", "text", "huge"])
async def test_join_with_a_missing_or_unusable_exp_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock, exp: object
) -> None:
    token = _forge(_payload(clock, app=app.app_id, room=room, exp=exp))

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("exp", ["soon", 1e20])
async def test_connection_token_with_an_unusable_exp_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock, exp: object
) -> None:
    client = await app.join(room, "alice")
    claims = {"sub": client.who.client_id, "aud": CONNECTION_AUDIENCE, "exp": exp}
    caller = await server.with_header(f"Bearer {_forge(_payload(clock, **claims))}")

    error = await caller.refused("{ viewer { clientId } }")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_with_a_wrong_issuer_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, app=app.app_id, room=room, iss="evil"))

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_with_a_wrong_audience_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = _forge(_payload(clock, app=app.app_id, room=room, aud="elsewhere"))

    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_join_after_expiry_beyond_the_leeway_is_unauthenticated(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = await app.token(room, "alice", ttlSeconds=60)

    clock.advance(60 + 31)
    error = await _join_code(server, token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in error["message"]


async def test_join_after_expiry_within_the_leeway_works(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = await app.token(room, "alice", ttlSeconds=60)

    clock.advance(60 + 29)
    client = await server.join(token)

    assert client.who.user_ref == "alice"


async def test_connection_token_expires_with_its_join_token(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    client = await server.join(await app.token(room, "alice", ttlSeconds=60))

    clock.advance(60 + 31)
    error = await client.refused("{ viewer { clientId } }")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_connection_token_used_to_join_is_unauthenticated_and_says_why(
    server: Server, app: AppCaller, room: str
) -> None:
    client = await app.join(room, "alice")

    error = await _join_code(server, client.connection_token)

    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "createToken" in error["message"]


async def test_join_token_used_as_bearer_is_unauthenticated_and_says_why(
    server: Server, app: AppCaller, room: str
) -> None:
    caller = await server.with_header(f"Bearer {await app.token(room, 'alice')}")

    error = await caller.refused("{ viewer { clientId } }")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "joinRoom" in error["message"]


@pytest.mark.parametrize("ttl", [0, -60, 86401])
async def test_create_token_lifetime_out_of_range_is_bad_input(
    app: AppCaller, room: str, ttl: int
) -> None:
    variables = {"roomId": room, "userRef": "alice", "name": "A", "ttlSeconds": ttl}

    error = await app.refused(TOKEN, i=variables)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "ttlSeconds" in error["message"]


async def test_create_token_lifetime_at_the_maximum_is_accepted(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    variables = {"roomId": room, "userRef": "alice", "name": "A", "ttlSeconds": 86400}

    found = await app.run(TOKEN, i=variables)

    claims = jwt.decode(
        found["createToken"]["token"], options={"verify_signature": False}
    )
    assert claims["exp"] == int(clock.now().timestamp()) + 86400


async def test_create_token_maximum_lifetime_follows_the_setting(
    settings: Settings, clock: ManualClock
) -> None:
    narrow = settings.replace(token_default_ttl_seconds=60, token_max_ttl_seconds=600)
    async with running(create_app(narrow, clock), clock, narrow) as server:
        app = await server.application()
        room = await app.create_room()
        variables = {"roomId": room, "userRef": "a", "name": "A", "ttlSeconds": 601}

        error = await app.refused(TOKEN, i=variables)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


# The signing secret.


@pytest.fixture
def unset(database_url: str) -> Settings:
    """Settings without DATASTORE_SECRET, on this test's SQLite file."""
    return Settings(database_url=database_url)


def _secret_file(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3.secret"


async def test_server_without_a_secret_creates_a_private_secret_file(
    unset: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    async with running(create_app(unset, clock), clock, unset):
        pass

    mode = stat.S_IMODE(_secret_file(tmp_path).stat().st_mode)
    assert mode == 0o600
    assert len(_secret_file(tmp_path).read_text().strip()) >= 32


async def test_secret_file_is_kept_across_restarts(
    unset: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    async with running(create_app(unset, clock), clock, unset):
        pass
    first = _secret_file(tmp_path).read_text()

    async with running(create_app(unset, clock), clock, unset):
        pass

    assert _secret_file(tmp_path).read_text() == first


async def test_token_made_before_a_restart_works_after_it(
    unset: Settings, clock: ManualClock
) -> None:
    async with running(create_app(unset, clock), clock, unset) as before:
        app = await before.application()
        token = await app.token(await app.create_room(), "alice")

    async with running(create_app(unset, clock), clock, unset) as after:
        client = await after.join(token)

    assert client.who.user_ref == "alice"


async def test_server_with_a_secret_writes_no_secret_file(
    server: Server, tmp_path: Path
) -> None:
    assert not _secret_file(tmp_path).exists()


async def test_short_secret_is_refused_at_start_up(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(settings.replace(secret="x" * 31), clock)

    with pytest.raises(SettingsError, match="DATASTORE_SECRET"):
        async with app.router.lifespan_context(app):
            pass


def test_secret_of_32_characters_is_accepted(settings: Settings) -> None:
    assert signing_secret(settings.replace(secret="x" * 32)) == "x" * 32


def test_non_sqlite_database_without_a_secret_is_refused() -> None:
    settings = Settings(database_url="postgres://user:pw@127.0.0.1:5432/store")

    with pytest.raises(SettingsError, match="DATASTORE_SECRET"):
        signing_secret(settings)


def test_short_secret_file_is_refused(unset: Settings, tmp_path: Path) -> None:
    _secret_file(tmp_path).write_text("too-short")

    with pytest.raises(ValueError, match="32"):
        signing_secret(unset)
