"""Rooms and join tokens: creating, listing, deleting, and what deletion ends."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.support import AppCaller, Server

CREATE = (
    "mutation($i: CreateRoomInput!) { createRoom(input: $i) { roomId name ownerRef } }"
)
DELETE = "mutation($r: ID!) { deleteRoom(roomId: $r) { roomId deletedAt } }"
JOIN = "mutation($t: String!) { joinRoom(token: $t) { clientId } }"


async def test_create_room_returns_its_id_name_and_owner(app: AppCaller) -> None:
    created = await app.run(CREATE, i={"name": "standup", "ownerRef": "owner-7"})

    room = created["createRoom"]
    assert room["roomId"].startswith("room_")
    assert (room["name"], room["ownerRef"]) == ("standup", "owner-7")


@pytest.mark.parametrize(
    "room_input",
    [
        {"name": "", "ownerRef": "o"},
        {"name": "n" * 201, "ownerRef": "o"},
        {"name": "n", "ownerRef": ""},
        {"name": "n", "ownerRef": "o" * 129},
        {"name": "n", "ownerRef": "bad\u0000ref"},
    ],
    ids=["empty-name", "long-name", "empty-owner", "long-owner", "control-owner"],
)
async def test_create_room_refuses_bad_names(
    app: AppCaller, room_input: dict[str, str]
) -> None:
    assert await app.code(CREATE, i=room_input) == "BAD_USER_INPUT"


async def test_rooms_are_listed_in_pages(app: AppCaller) -> None:
    rooms = sorted([await app.create_room() for _ in range(3)])
    listing = "query($a: ID) { application { rooms(first: 2, after: $a) { roomId } } }"

    first = await app.run(listing)
    rest = await app.run(listing, a=first["application"]["rooms"][-1]["roomId"])

    found = first["application"]["rooms"] + rest["application"]["rooms"]
    assert [r["roomId"] for r in found] == rooms


async def test_create_token_for_an_unknown_room_is_not_found(app: AppCaller) -> None:
    error = await app.refused(
        'mutation { createToken(input: {roomId: "room_nope", userRef: "u", name: "U"}) '
        "{ token } }"
    )

    assert error["extensions"]["code"] == "NOT_FOUND"


# JSON text of each id: a lone surrogate cannot even be encoded by a client library.
@pytest.mark.parametrize(
    "room_id", ['"\\ud800"', '"room_\\u00e9"', '"' + "x" * 65 + '"']
)
async def test_a_room_id_that_no_room_could_have_is_not_found(
    server: Server, app: AppCaller, room_id: str
) -> None:
    query = "query($r: ID!) { room(roomId: $r) { name } }"
    body = f'{{"query": "{query}", "variables": {{"r": {room_id}}}}}'

    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url,
            content=body.encode(),
            headers={
                "Authorization": app.authorization,
                "Content-Type": "application/json",
            },
        )

    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("user_ref", "name"), [("", "Ann"), ("u" * 129, "Ann"), ("ann", "")]
)
async def test_create_token_refuses_bad_user_refs_and_names(
    app: AppCaller, user_ref: str, name: str
) -> None:
    room = await app.create_room()

    error = await app.refused(
        "mutation($r: ID!, $u: String!, $n: String!) { createToken(input: "
        "{roomId: $r, userRef: $u, name: $n}) { token } }",
        r=room,
        u=user_ref,
        n=name,
    )

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_deleting_a_room_removes_its_room_data_at_once(app: AppCaller) -> None:
    room = await app.create_room()
    await app.set("ROOM", {"agenda": "v1"}, target={"roomId": room})

    await app.run(DELETE, r=room)

    error = await app.get_refused("ROOM", target={"roomId": room})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_deleting_a_room_ends_its_session_and_its_connections(
    app: AppCaller,
) -> None:
    room = await app.create_room()
    alice = await app.join(room, "alice")

    await app.run(DELETE, r=room)

    session = await app.run(
        "query($c: Int!) { session(confNum: $c) { live endedAt } }",
        c=alice.who.conf_num,
    )
    assert session["session"]["live"] is False
    assert (await alice.get_refused("ROOM"))["extensions"]["code"] == "SESSION_ENDED"


async def test_join_tokens_of_a_deleted_room_stop_working(
    server: Server, app: AppCaller
) -> None:
    room = await app.create_room()
    token = await app.token(room, "alice")

    await app.run(DELETE, r=room)

    anonymous = await server.anonymous()
    assert await anonymous.code(JOIN, t=token) == "NOT_FOUND"


async def test_deleting_a_room_twice_is_not_found(app: AppCaller) -> None:
    room = await app.create_room()
    await app.run(DELETE, r=room)

    assert await app.code(DELETE, r=room) == "NOT_FOUND"


async def test_deleted_rooms_are_not_listed(app: AppCaller) -> None:
    kept, deleted = await app.create_room(), await app.create_room()

    await app.run(DELETE, r=deleted)

    found = await app.run("{ application { rooms { roomId } } }")
    assert [r["roomId"] for r in found["application"]["rooms"]] == [kept]


async def test_client_may_see_only_its_own_room(app: AppCaller) -> None:
    room, other = await app.create_room("owner-1"), await app.create_room("owner-2")
    alice = await app.join(room, "alice")
    query = (
        "query($r: ID!) { room(roomId: $r) { name ownerRef liveSession { confNum } } }"
    )

    own = await alice.run(query, r=room)
    error = await alice.refused(query, r=other)

    assert own["room"]["liveSession"]["confNum"] == alice.who.conf_num
    assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "operation",
    [
        "query($r: ID!) { room(roomId: $r) { name } }",
        "mutation($r: ID!) { deleteRoom(roomId: $r) { roomId } }",
        'mutation($r: ID!) { createToken(input: {roomId: $r, userRef: "u", name: "U"}) '
        "{ token } }",
    ],
)
async def test_an_over_long_room_id_is_not_found_and_not_logged(
    app: AppCaller, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    code = await app.code(operation, r="r" * 100_000)

    assert code == "NOT_FOUND"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_over_long_page_cursor_is_bad_input(app: AppCaller) -> None:
    code = await app.code(
        "query($a: ID) { application { rooms(after: $a) { roomId } } }", a="r" * 100
    )

    assert code == "BAD_USER_INPUT"
