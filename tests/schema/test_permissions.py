"""The permission table of DESIGN.md section 1, row by row, for each caller.

The world: an application with two rooms (owners owner-1 and owner-2); a past
session of the first room; alice in the first room's live session; carol in
the second room; and a second application.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from models.clock import ManualClock
from tests.support import AppCaller, ClientCaller, Server


@dataclass
class World:
    """Who and what exists in these tests."""

    app: AppCaller
    other_app: AppCaller
    room: str
    other_room: str
    past_conf: int
    alice: ClientCaller
    carol: ClientCaller


@pytest.fixture
async def world(server: Server, app: AppCaller, clock: ManualClock) -> World:
    """Two rooms, a past session, two clients and a second application."""
    room = await app.create_room("owner-1")
    other_room = await app.create_room("owner-2")
    dave = await app.join(room, "dave")
    await dave.set("SESSION", {"topic": "past"})
    await dave.run("mutation { leaveRoom { leftAt } }")
    clock.advance(31)  # past the 30 s grace period: dave's session has ended
    alice = await app.join(room, "alice")
    carol = await app.join(other_room, "carol")
    other_app = await server.application("globex")
    return World(app, other_app, room, other_room, dave.who.conf_num, alice, carol)


Arguments = Callable[[World], dict[str, Any]]


def _none(world: World) -> dict[str, Any]:
    return {}


CLIENT_MAY_READ: list[tuple[str, Arguments]] = [
    ("APP", _none),
    ("ROOM", _none),
    ("ROOM", lambda w: {"target": {"roomId": w.room}}),
    ("OWNER", _none),
    ("OWNER", lambda w: {"target": {"ownerRef": "owner-1"}}),
    ("USER", _none),
    ("USER", lambda w: {"userRef": "alice"}),
    ("SESSION", _none),
    ("SESSION", lambda w: {"session": "LAST"}),
    ("SESSION", lambda w: {"session": "ALL"}),
    ("SESSION", lambda w: {"confNum": w.past_conf}),
]


@pytest.mark.parametrize(("scope", "arguments"), CLIENT_MAY_READ)
async def test_client_reads_what_the_table_allows(
    world: World, scope: str, arguments: Arguments
) -> None:
    found = await world.alice.get(scope, **arguments(world))

    assert found["result"] == 0
    assert found["clientId"] == world.alice.who.client_id


CLIENT_MAY_NOT_READ: list[tuple[str, Arguments]] = [
    ("ROOM", lambda w: {"target": {"roomId": w.other_room}}),
    ("OWNER", lambda w: {"target": {"ownerRef": "owner-2"}}),
    ("USER", lambda w: {"userRef": "carol"}),
    ("USER", lambda w: {"target": {"userRef": "carol"}}),
    ("SESSION", lambda w: {"confNum": w.carol.who.conf_num}),
    ("SESSION", lambda w: {"target": {"roomId": w.other_room}}),
    ("SESSION", lambda w: {"target": {"roomId": w.other_room}, "session": "ALL"}),
]


@pytest.mark.parametrize(("scope", "arguments"), CLIENT_MAY_NOT_READ)
async def test_client_is_refused_what_the_table_forbids(
    world: World, scope: str, arguments: Arguments
) -> None:
    error = await world.alice.get_refused(scope, **arguments(world))

    assert error["extensions"]["code"] == "FORBIDDEN"


CLIENT_MAY_WRITE: list[tuple[str, Arguments]] = [
    ("ROOM", _none),
    ("ROOM", lambda w: {"target": {"roomId": w.room}}),
    ("USER", _none),
    ("USER", lambda w: {"target": {"userRef": "alice"}}),
    ("SESSION", _none),
    ("SESSION", lambda w: {"target": {"confNum": w.alice.who.conf_num}}),
]


@pytest.mark.parametrize(("scope", "arguments"), CLIENT_MAY_WRITE)
async def test_client_writes_what_the_table_allows(
    world: World, scope: str, arguments: Arguments
) -> None:
    written = await world.alice.set(scope, {"hand": True}, **arguments(world))

    assert written["data"] == {"hand": True}
    assert written["keys"][0]["clientId"] == world.alice.who.client_id


@dataclass
class RefusedWrite:
    """A write the table forbids, and how the application reads its target."""

    scope: str
    client_arguments: Arguments
    app_arguments: Arguments
    code: str = "FORBIDDEN"


CLIENT_MAY_NOT_WRITE = [
    RefusedWrite("APP", _none, _none),
    RefusedWrite("OWNER", _none, lambda w: {"target": {"ownerRef": "owner-1"}}),
    RefusedWrite(
        "ROOM",
        lambda w: {"target": {"roomId": w.other_room}},
        lambda w: {"target": {"roomId": w.other_room}},
    ),
    RefusedWrite(
        "USER",
        lambda w: {"target": {"userRef": "carol"}},
        lambda w: {"target": {"userRef": "carol"}},
    ),
    RefusedWrite(
        "SESSION",
        lambda w: {"target": {"confNum": w.carol.who.conf_num}},
        lambda w: {"target": {"confNum": w.carol.who.conf_num}},
    ),
    RefusedWrite(
        "SESSION",
        lambda w: {"target": {"confNum": w.past_conf}},
        lambda w: {"target": {"confNum": w.past_conf}},
        code="SESSION_ENDED",
    ),
]


@pytest.mark.parametrize(
    "refused", CLIENT_MAY_NOT_WRITE, ids=lambda r: f"{r.scope}-{r.code}"
)
async def test_client_write_refused_leaves_the_document_untouched(
    world: World, refused: RefusedWrite
) -> None:
    before = await world.app.get(refused.scope, **refused.app_arguments(world))

    error = await world.alice.set_refused(
        refused.scope, {"hacked": True}, **refused.client_arguments(world)
    )

    after = await world.app.get(refused.scope, **refused.app_arguments(world))
    assert error["extensions"]["code"] == refused.code
    assert after == before


APP_TARGETS: list[tuple[str, Arguments]] = [
    ("APP", _none),
    ("ROOM", lambda w: {"target": {"roomId": w.room}}),
    ("OWNER", lambda w: {"target": {"ownerRef": "owner-1"}}),
    ("OWNER", lambda w: {"target": {"roomId": w.other_room}}),
    ("USER", lambda w: {"target": {"userRef": "alice"}}),
    ("SESSION", lambda w: {"target": {"roomId": w.room}}),
    ("SESSION", lambda w: {"target": {"confNum": w.past_conf}}),
]


@pytest.mark.parametrize(("scope", "arguments"), APP_TARGETS)
async def test_application_reads_and_writes_every_scope_of_its_own(
    world: World, scope: str, arguments: Arguments
) -> None:
    written = await world.app.set(scope, {"by": "server"}, **arguments(world))
    found = await world.app.get(scope, **arguments(world))

    assert found["data"]["by"] == "server"
    assert found["revision"] == written["revision"]
    assert found["clientId"] is None
    assert found["role"] is None


OTHER_APPLICATIONS_TARGETS: list[tuple[str, Arguments]] = [
    ("ROOM", lambda w: {"target": {"roomId": w.room}}),
    ("OWNER", lambda w: {"target": {"roomId": w.room}}),
    ("SESSION", lambda w: {"target": {"roomId": w.room}}),
    ("SESSION", lambda w: {"target": {"confNum": w.alice.who.conf_num}}),
    ("SESSION", lambda w: {"target": {"confNum": w.past_conf}}),
]


@pytest.mark.parametrize(("scope", "arguments"), OTHER_APPLICATIONS_TARGETS)
async def test_application_is_refused_another_applications_documents(
    world: World, scope: str, arguments: Arguments
) -> None:
    before = await world.app.get(scope, **arguments(world))

    read = await world.other_app.get_refused(scope, **arguments(world))
    write = await world.other_app.set_refused(scope, {"x": 1}, **arguments(world))

    assert read["extensions"]["code"] == "FORBIDDEN"
    assert write["extensions"]["code"] == "FORBIDDEN"
    assert await world.app.get(scope, **arguments(world)) == before


@pytest.mark.parametrize(
    ("scope", "arguments"),
    [
        ("APP", _none),
        ("OWNER", lambda w: {"target": {"ownerRef": "owner-1"}}),
        ("USER", lambda w: {"target": {"userRef": "alice"}}),
    ],
)
async def test_same_names_in_two_applications_are_two_documents(
    world: World, scope: str, arguments: Arguments
) -> None:
    await world.app.set(scope, {"mine": 1}, **arguments(world))

    await world.other_app.set(scope, {"theirs": 2}, **arguments(world))

    assert (await world.app.get(scope, **arguments(world)))["data"] == {"mine": 1}
    assert (await world.other_app.get(scope, **arguments(world)))["data"] == {
        "theirs": 2
    }


APPLICATION_ONLY = [
    'mutation { createRoom(input: {name: "x", ownerRef: "o"}) { roomId } }',
    "mutation($r: ID!) { deleteRoom(roomId: $r) { roomId } }",
    'mutation($r: ID!) { createToken(input: {roomId: $r, userRef: "u", name: "U"}) '
    "{ token } }",
    "mutation($c: Int!) { endSession(confNum: $c) { confNum } }",
    "{ application { rooms { roomId } } }",
]


@pytest.mark.parametrize("operation", APPLICATION_ONLY)
async def test_client_is_refused_application_only_operations(
    world: World, operation: str
) -> None:
    variables = {"r": world.room, "c": world.alice.who.conf_num}
    used = {k: v for k, v in variables.items() if f"${k}" in operation}

    assert await world.alice.code(operation, **used) == "FORBIDDEN"


async def test_application_is_refused_client_only_operations(world: World) -> None:
    code = await world.app.code("mutation { leaveRoom { leftAt } }")

    assert code == "FORBIDDEN"


@pytest.mark.parametrize(
    "operation",
    [
        'mutation($r: ID!) { createToken(input: {roomId: $r, userRef: "u", name: "U"}) '
        "{ token } }",
        "mutation($r: ID!) { deleteRoom(roomId: $r) { roomId } }",
        "query($r: ID!) { room(roomId: $r) { name } }",
    ],
)
async def test_application_is_refused_another_applications_rooms(
    world: World, operation: str
) -> None:
    assert await world.other_app.code(operation, r=world.room) == "FORBIDDEN"


@pytest.mark.parametrize(
    "operation",
    [
        "mutation($c: Int!) { endSession(confNum: $c) { confNum } }",
        "query($c: Int!) { session(confNum: $c) { live } }",
    ],
)
async def test_application_is_refused_another_applications_sessions(
    world: World, operation: str
) -> None:
    code = await world.other_app.code(operation, c=world.alice.who.conf_num)

    assert code == "FORBIDDEN"


async def test_anonymous_caller_is_unauthenticated(
    server: Server, world: World
) -> None:
    anonymous = await server.anonymous()

    error = await anonymous.get_refused("APP")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_client_may_not_name_another_session_on_other_scopes(
    world: World,
) -> None:
    error = await world.alice.set_refused(
        "ROOM",
        {"x": 1},
        target={"roomId": world.room, "confNum": world.carol.who.conf_num},
    )

    assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("scope", ["APP", "ROOM", "OWNER", "USER"])
async def test_answers_name_a_session_only_for_session_data(
    world: World, scope: str
) -> None:
    assert (await world.alice.get(scope))["confNum"] is None
