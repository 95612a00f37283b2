"""The field reports of ../shared/cases/field-reports.md, replayed step by step.

CONC-01 and CONC-02 live in test_concurrency.py. Each test here names its case
and follows the case's minimal input, translated to our API.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from models.clock import ManualClock
from tests.support import AppCaller, ClientCaller, Server

GRACE = 30


@pytest.fixture
async def user_a(app: AppCaller, room: str) -> ClientCaller:
    """user-a, a PARTICIPANT of room-1."""
    return await app.join(room, "user-a")


# AUTH-02: scope escalation by an in-session client


@pytest.mark.parametrize("scope", ["APP", "OWNER"])
async def test_auth02_client_cannot_write_server_only_scopes(
    app: AppCaller, user_a: ClientCaller, scope: str
) -> None:
    target = {"ownerRef": "owner-1"} if scope == "OWNER" else None

    error = await user_a.set_refused(scope, {"plan": "pro"})

    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await app.get(scope, target=target))["revision"] == 0


async def test_auth02_client_cannot_write_another_users_document(
    app: AppCaller, user_a: ClientCaller
) -> None:
    error = await user_a.set_refused(
        "USER", {"muted": True}, target={"userRef": "user-b"}
    )

    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await app.get("USER", target={"userRef": "user-b"}))["revision"] == 0


async def test_auth02_identity_looking_data_is_plain_data(
    app: AppCaller, room: str, user_a: ClientCaller
) -> None:
    data = {"role": "host", "userRef": "user-b", "roomId": "room-2"}

    written = await user_a.set("USER", data)
    viewer = await user_a.run("{ viewer { userRef role roomId } }")

    assert written["data"] == data
    assert written["userRef"] == "user-a"
    assert viewer["viewer"] == {
        "userRef": "user-a",
        "role": "PARTICIPANT",
        "roomId": room,
    }
    assert (await app.get("USER", target={"userRef": "user-b"}))["revision"] == 0


async def test_auth02_client_cannot_create_rooms_or_tokens(
    user_a: ClientCaller, room: str
) -> None:
    create_room = (
        'mutation { createRoom(input: {name: "x", ownerRef: "owner-1"}) { roomId } }'
    )
    create_token = (
        "mutation($r: ID!) { createToken(input: "
        '{roomId: $r, userRef: "user-z", name: "Z", role: MODERATOR}) { token } }'
    )

    assert await user_a.code(create_room) == "FORBIDDEN"
    assert await user_a.code(create_token, r=room) == "FORBIDDEN"


async def test_auth02_client_may_read_app_and_owner(
    app: AppCaller, user_a: ClientCaller
) -> None:
    await app.set("APP", {"plan": "free"})
    await app.set("OWNER", {"tier": "gold"}, target={"ownerRef": "owner-1"})

    assert (await user_a.get("APP"))["data"] == {"plan": "free"}
    assert (await user_a.get("OWNER"))["data"] == {"tier": "gold"}


async def test_auth02_write_without_credentials_is_unauthenticated(
    server: Server, app: AppCaller
) -> None:
    anonymous = await server.anonymous()

    error = await anonymous.set_refused("APP", {"plan": "pro"})

    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await app.get("APP"))["revision"] == 0


# INPUT-01: deeply nested and oversized data, and a document that keeps growing


def _nested_arrays(levels: int) -> str:
    return "[" * levels + "]" * levels


def _nested_objects(levels: int) -> str:
    """JSON text of an object ``levels`` deep (too deep for ``json.dumps``)."""
    return '{"d": ' * (levels - 1) + "{}" + "}" * (levels - 1)


async def _post_raw(caller: ClientCaller | AppCaller, data_json: str) -> httpx.Response:
    query = "mutation($d: JSON!) { setCustomData(scope: ROOM, data: $d) { revision } }"
    body = '{"query": ' + json.dumps(query) + ', "variables": {"d": ' + data_json + "}}"
    async with httpx.AsyncClient() as http:
        return await http.post(
            caller.url,
            content=body.encode(),
            headers={**caller.headers, "content-type": "application/json"},
        )


async def _still_serving(server: Server, caller: ClientCaller) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        health = await http.get(server.url.replace("/graphql", "/healthz"))
    assert health.status_code == 200
    return await caller.get("ROOM")


async def test_input01a_20000_nested_arrays_are_bad_input(
    server: Server, user_a: ClientCaller
) -> None:
    response = await _post_raw(user_a, '{"x": ' + _nested_arrays(20_000) + "}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in response.text
    assert (await _still_serving(server, user_a))["revision"] == 0


@pytest.mark.parametrize("levels", [64, 2000])
async def test_input01c_deep_objects_are_bad_input(
    server: Server, user_a: ClientCaller, levels: int
) -> None:
    response = await _post_raw(user_a, '{"deep": ' + _nested_objects(levels) + "}")

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await _still_serving(server, user_a))["revision"] == 0


async def test_input01d_a_2_mib_blob_is_too_large_and_nothing_is_stored(
    server: Server, user_a: ClientCaller
) -> None:
    response = await _post_raw(user_a, json.dumps({"blob": "a" * 2 * 1024 * 1024}))

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await _still_serving(server, user_a))["revision"] == 0


async def test_input01e_growth_by_merges_stops_at_the_cap_and_keeps_the_document(
    server: Server, user_a: ClientCaller
) -> None:
    outcomes = []
    for i in range(300):
        response = await _post_raw(user_a, json.dumps({f"k_{i}": "x" * 8192}))
        outcomes.append(response.json().get("errors") is None)
        if not outcomes[-1]:
            break

    refused = (await _post_raw(user_a, json.dumps({"k_last": "x" * 8192}))).json()
    found = await _still_serving(server, user_a)
    assert outcomes == [True] * 7 + [False]
    assert refused["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sorted(found["data"]) == sorted(f"k_{i}" for i in range(7))


@pytest.mark.parametrize("scope", ["APP", "OWNER"])
async def test_input01f_the_application_write_path_has_the_same_limits(
    app: AppCaller, scope: str
) -> None:
    target = {"ownerRef": "owner-1"} if scope == "OWNER" else None

    error = await app.set_refused(scope, {"blob": "a" * 100_000}, target=target)

    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await app.get(scope, target=target))["revision"] == 0


# INPUT-02: null and nested objects in a merge


async def test_input02_merge_steps_follow_rfc_7386(user_a: ClientCaller) -> None:
    await user_a.set(
        "ROOM", {"a": 1, "b": {"x": 1, "y": 2}, "c": [1, None, 3], "d": "keep"}
    )

    step1 = await user_a.set("ROOM", {"a": None})
    step2 = await user_a.set("ROOM", {"b": {"x": 9}})
    step3 = await user_a.set("ROOM", {"c": [None]})
    step4 = await user_a.set("ROOM", {})

    assert step1["data"] == {"b": {"x": 1, "y": 2}, "c": [1, None, 3], "d": "keep"}
    assert step2["data"]["b"] == {"x": 9, "y": 2}  # objects merge recursively
    assert step3["data"]["c"] == [None]  # arrays replace as they are
    assert step4["applied"] is False
    assert step4["data"] == {"b": {"x": 9, "y": 2}, "c": [None], "d": "keep"}


@pytest.mark.parametrize("data", [None, [], "str", 5])
async def test_input02_non_object_data_is_refused_and_the_document_kept(
    user_a: ClientCaller, data: object
) -> None:
    await user_a.set("ROOM", {"d": "keep"})

    error = await user_a.set_refused("ROOM", data)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await user_a.get("ROOM"))["data"] == {"d": "keep"}


async def test_input02_a_null_member_never_wipes_the_document(
    user_a: ClientCaller,
) -> None:
    await user_a.set("ROOM", {"d": "keep"})

    written = await user_a.set("ROOM", {"d2": None})

    assert written["data"] == {"d": "keep"}


# RET-01: session lifecycle and a re-created room


async def test_ret01_session_lifecycle_and_room_recreation(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    """RET-01, with one deliberate difference from the report's proposal.

    The report suggests that ``session: LAST`` should mean the live session.
    DESIGN.md section 3 defines LAST as the session *before* the live one, so
    while conf 2 is live, LAST answers conf 1; CURRENT answers conf 2, empty.
    """
    await app.set("OWNER", {"tier": "gold"}, target={"ownerRef": "owner-1"})
    await app.set("APP", {"v": 1})
    await app.set("ROOM", {"agenda": "v1"}, target={"roomId": room})
    user_a = await app.join(room, "user-a")
    await user_a.set("SESSION", {"topic": "A"})
    await user_a.run("mutation { leaveRoom { leftAt } }")
    clock.advance(GRACE + 1)

    user_b = await app.join(room, "user-b")

    current = await user_b.get("SESSION", session="CURRENT")
    last = await user_b.get("SESSION", session="LAST")
    first = await user_b.get("SESSION", confNum=user_a.who.conf_num)
    every = await user_b.get("SESSION", session="ALL")
    assert user_b.who.conf_num > user_a.who.conf_num
    assert (current["confNum"], current["data"]) == (user_b.who.conf_num, {})
    assert (last["confNum"], last["data"]) == (user_a.who.conf_num, {"topic": "A"})
    assert first["data"] == {"topic": "A"}
    assert [s["confNum"] for s in every["sessions"]] == [
        user_b.who.conf_num,
        user_a.who.conf_num,
    ]
    assert (await user_b.get("ROOM"))["data"] == {"agenda": "v1"}
    assert (await user_b.get("OWNER"))["data"] == {"tier": "gold"}
    assert (await user_b.get("APP"))["data"] == {"v": 1}

    await app.run("mutation($r: ID!) { deleteRoom(roomId: $r) { deletedAt } }", r=room)
    again = await app.create_room("owner-1", name="room-1")

    assert again != room
    assert (await app.get("ROOM", target={"roomId": again}))["data"] == {}
    assert (await app.get("SESSION", target={"roomId": again}))["data"] is None
    kept = await app.get("SESSION", confNum=user_a.who.conf_num)
    assert kept["data"] == {"topic": "A"}  # past sessions follow their own clock
