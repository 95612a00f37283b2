"""HTTP credentials, and an application's standing: suspension and the add-on."""

from __future__ import annotations

import base64
import logging
from typing import Any

import httpx
import pytest

from app.keys import hash_key, new_key
from models.applications import set_addon, set_key_hash, set_suspended
from models.clock import ManualClock
from tests.support import JOIN, AppCaller, ClientCaller, DataCaller, Server

VIEWER = "{ viewer { kind appId clientId userRef } }"


def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


async def _viewer_error(server: Server, authorization: str) -> dict[str, Any]:
    caller = await server.with_header(authorization)
    return await caller.refused(VIEWER)


# Credentials.


async def test_basic_with_a_wrong_key_is_unauthenticated(
    server: Server, app: AppCaller
) -> None:
    error = await _viewer_error(server, _basic(f"{app.app_id}:{new_key()}"))

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_basic_with_an_unknown_app_is_unauthenticated(
    server: Server, app: AppCaller
) -> None:
    error = await _viewer_error(server, _basic(f"app_nobody:{app.key}"))

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_app_and_wrong_key_get_the_same_message(
    server: Server, app: AppCaller
) -> None:
    wrong_key = await _viewer_error(server, _basic(f"{app.app_id}:{new_key()}"))

    unknown_app = await _viewer_error(server, _basic(f"app_nobody:{app.key}"))

    assert wrong_key["message"] == unknown_app["message"]


async def test_basic_with_an_empty_key_is_unauthenticated(
    server: Server, app: AppCaller
) -> None:
    error = await _viewer_error(server, _basic(f"{app.app_id}:"))

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("credentials", ["not base64!", "%%%", "YWJj*"])
async def test_basic_with_garbage_base64_is_unauthenticated(
    server: Server, credentials: str
) -> None:
    error = await _viewer_error(server, f"Basic {credentials}")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_basic_with_non_utf8_credentials_is_unauthenticated(
    server: Server,
) -> None:
    credentials = base64.b64encode(b"\xff\xfe:\xff").decode()

    error = await _viewer_error(server, f"Basic {credentials}")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "credentials", [b"\xff\xfe", "é".encode("latin-1"), "é".encode()]
)
async def test_basic_with_bytes_past_ascii_is_unauthenticated(
    server: Server, credentials: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    headers = [(b"authorization", b"Basic " + credentials)]

    async with httpx.AsyncClient() as http:
        response = await http.post(server.url, json={"query": VIEWER}, headers=headers)

    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_basic_without_a_colon_is_unauthenticated(
    server: Server, app: AppCaller
) -> None:
    error = await _viewer_error(server, _basic(f"{app.app_id}{app.key}"))

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_basic_without_credentials_is_unauthenticated(server: Server) -> None:
    error = await _viewer_error(server, "Basic")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_bearer_with_garbage_is_unauthenticated(server: Server) -> None:
    error = await _viewer_error(server, "Bearer not.a.token")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("scheme", ["Digest", "Token", "Negotiate"])
async def test_unknown_scheme_is_unauthenticated(
    server: Server, app: AppCaller, scheme: str
) -> None:
    error = await _viewer_error(server, f"{scheme} {app.key}")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_scheme_name_is_case_insensitive(server: Server, app: AppCaller) -> None:
    """RFC 9110 section 11.1: auth-scheme names are case-insensitive."""
    caller = await server.with_header(
        "basic " + _basic(f"{app.app_id}:{app.key}").split()[1]
    )

    found = await caller.run(VIEWER)

    assert found["viewer"]["kind"] == "APPLICATION"


async def test_viewer_is_null_without_credentials(server: Server) -> None:
    anonymous = await server.anonymous()

    found = await anonymous.run(VIEWER)

    assert found == {"viewer": None}


async def test_viewer_says_application_for_basic_credentials(app: AppCaller) -> None:
    found = await app.run(VIEWER)

    assert found["viewer"] == {
        "kind": "APPLICATION",
        "appId": app.app_id,
        "clientId": None,
        "userRef": None,
    }


async def test_viewer_says_client_for_a_connection_token(
    app: AppCaller, alice: ClientCaller
) -> None:
    found = await alice.run(VIEWER)

    assert found["viewer"] == {
        "kind": "CLIENT",
        "appId": app.app_id,
        "clientId": alice.who.client_id,
        "userRef": "alice",
    }


async def test_data_operation_without_credentials_is_unauthenticated(
    server: Server,
) -> None:
    anonymous = await server.anonymous()

    error = await anonymous.get_refused("APP")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "authorization", ["Basic bm9ib2R5Om5vdGhpbmc=", "Bearer x.y.z", "Digest abc", ""]
)
async def test_no_response_asks_for_credentials(
    server: Server, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url, json={"query": "{ application { name } }"}, headers=headers
        )

    assert "www-authenticate" not in response.headers
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# Key rotation.


async def test_rotated_key_fails_at_the_next_request(app: AppCaller) -> None:
    await app.run(VIEWER)

    await set_key_hash(app.app_id, hash_key(new_key()))

    assert await app.code(VIEWER) == "UNAUTHENTICATED"


async def test_new_key_works_after_rotation(server: Server, app: AppCaller) -> None:
    key = new_key()
    await set_key_hash(app.app_id, hash_key(key))

    caller = await server.with_header(_basic(f"{app.app_id}:{key}"))

    assert (await caller.run(VIEWER))["viewer"]["appId"] == app.app_id


# Suspension.


APP_CALLS = [
    VIEWER,
    "{ application { name } }",
    'mutation { createRoom(input: {name: "r", ownerRef: "o"}) { roomId } }',
    "{ customData(scope: APP) { data } }",
    "mutation { setCustomData(scope: APP, data: {a: 1}) { revision } }",
    "mutation { deleteCustomData(scope: APP) { revision } }",
]


@pytest.mark.parametrize("query", APP_CALLS)
async def test_suspended_app_gets_app_suspended(
    app: AppCaller, clock: ManualClock, query: str
) -> None:
    await set_suspended(app.app_id, clock.now())

    assert await app.code(query) == "APP_SUSPENDED"


async def test_suspended_app_cannot_make_tokens(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    await set_suspended(app.app_id, clock.now())

    error = await app.refused(
        "mutation($i: CreateTokenInput!) { createToken(input: $i) { token } }",
        i={"roomId": room, "userRef": "bob", "name": "Bob"},
    )

    assert error["extensions"]["code"] == "APP_SUSPENDED"


CLIENT_CALLS = [
    VIEWER,
    "{ customData(scope: ROOM) { data } }",
    "mutation { setCustomData(scope: ROOM, data: {a: 1}) { revision } }",
    "mutation { leaveRoom { leftAt } }",
]


@pytest.mark.parametrize("query", CLIENT_CALLS)
async def test_client_of_a_suspended_app_gets_app_suspended(
    app: AppCaller, alice: ClientCaller, clock: ManualClock, query: str
) -> None:
    await set_suspended(app.app_id, clock.now())

    assert await alice.code(query) == "APP_SUSPENDED"


async def test_join_with_a_token_of_a_suspended_app_gets_app_suspended(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = await app.token(room, "bob")
    await set_suspended(app.app_id, clock.now())
    anonymous = await server.anonymous()

    error = await anonymous.refused(JOIN, token=token)

    assert error["extensions"]["code"] == "APP_SUSPENDED"


async def test_resumed_app_is_served_again(app: AppCaller, clock: ManualClock) -> None:
    await set_suspended(app.app_id, clock.now())
    await app.code(VIEWER)

    await set_suspended(app.app_id, None)

    assert (await app.run(VIEWER))["viewer"]["kind"] == "APPLICATION"


async def test_client_of_a_resumed_app_is_served_again(
    app: AppCaller, alice: ClientCaller, clock: ManualClock
) -> None:
    await set_suspended(app.app_id, clock.now())
    await alice.code(VIEWER)

    await set_suspended(app.app_id, None)

    assert (await alice.get("ROOM"))["result"] == 0


async def test_suspension_of_one_app_leaves_another_alone(
    server: Server, app: AppCaller, clock: ManualClock
) -> None:
    other = await server.application("globex")

    await set_suspended(app.app_id, clock.now())

    assert (await other.run(VIEWER))["viewer"]["appId"] == other.app_id


# The data store add-on.


@pytest.fixture
async def plain(server: Server) -> AppCaller:
    """An application whose plan lacks the data store add-on."""
    return await server.application("plain", addon=False)


@pytest.fixture
async def plain_room(plain: AppCaller) -> str:
    """A room of the application without the add-on."""
    return await plain.create_room("owner-1")


DATA_CALLS = [
    "{ customData(scope: APP) { data } }",
    "mutation { setCustomData(scope: APP, data: {a: 1}) { revision } }",
    "mutation { deleteCustomData(scope: APP) { revision } }",
    "{ application { customData { data } } }",
]


@pytest.mark.parametrize("query", DATA_CALLS)
async def test_app_without_the_addon_gets_addon_required(
    plain: AppCaller, query: str
) -> None:
    assert await plain.code(query) == "ADDON_REQUIRED"


NESTED_CALLS = [
    "query($r: ID!) { room(roomId: $r) { customData { data } } }",
    "query($r: ID!) { room(roomId: $r) { owner { customData { data } } } }",
    "query($r: ID!) { room(roomId: $r) { sessions { customData { data } } } }",
    """query($r: ID!) { room(roomId: $r) { sessions {
         participants { user { customData { data } } } } } }""",
]


@pytest.mark.parametrize("query", NESTED_CALLS)
async def test_nested_custom_data_without_the_addon_gets_addon_required(
    plain: AppCaller, plain_room: str, query: str
) -> None:
    await plain.join(plain_room, "alice")

    assert await plain.code(query, r=plain_room) == "ADDON_REQUIRED"


async def test_app_without_the_addon_still_creates_rooms(plain: AppCaller) -> None:
    room = await plain.create_room("owner-1")

    assert room


async def test_app_without_the_addon_still_makes_tokens_that_join(
    plain: AppCaller, plain_room: str
) -> None:
    client = await plain.join(plain_room, "alice")

    assert client.who.room_id == plain_room


@pytest.mark.parametrize("scope", ["APP", "ROOM", "OWNER", "USER", "SESSION"])
async def test_client_of_an_app_without_the_addon_gets_addon_required(
    plain: AppCaller, plain_room: str, scope: str
) -> None:
    client = await plain.join(plain_room, "alice")

    error = await client.get_refused(scope)

    assert error["extensions"]["code"] == "ADDON_REQUIRED"


async def test_client_write_without_the_addon_gets_addon_required(
    plain: AppCaller, plain_room: str
) -> None:
    client = await plain.join(plain_room, "alice")

    error = await client.set_refused("SESSION", {"a": 1})

    assert error["extensions"]["code"] == "ADDON_REQUIRED"


async def test_addon_turned_off_applies_at_the_next_request(
    app: AppCaller, alice: ClientCaller
) -> None:
    await alice.set("ROOM", {"a": 1})

    await set_addon(app.app_id, enabled=False)

    assert (await alice.set_refused("ROOM", {"a": 2}))["extensions"]["code"] == (
        "ADDON_REQUIRED"
    )


async def test_addon_turned_on_serves_data_again(plain: AppCaller) -> None:
    await plain.code(DATA_CALLS[0])

    await set_addon(plain.app_id, enabled=True)

    assert (await plain.set("APP", {"a": 1}))["revision"] == 1


async def test_viewer_works_without_the_addon(plain: AppCaller) -> None:
    found = await plain.run(VIEWER)

    assert found["viewer"]["appId"] == plain.app_id


async def test_join_snapshot_without_the_addon_gets_addon_required(
    server: Server, plain: AppCaller, plain_room: str
) -> None:
    anonymous: DataCaller = await server.anonymous()
    token = await plain.token(plain_room, "alice")

    error = await anonymous.refused(
        "mutation($t: String!) { joinRoom(token: $t) { customData { room } } }",
        t=token,
    )

    assert error["extensions"]["code"] == "ADDON_REQUIRED"
