"""The graphql-transport-ws connection: credentials, close codes, pings, cleanup.

Field reports AUTH-01 (WebSocket credentials) and PROTO-01 (the protocol's
state machine), message by message over a raw socket.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest

from tests.support import AppCaller, ClientCaller, RawSocket, Server

FEED = "subscription { sessionDataChanged { kind revision patch } }"


def _subscribe(operation_id: str, query: str = FEED, **variables: object) -> dict:
    return {
        "id": operation_id,
        "type": "subscribe",
        "payload": {"query": query, "variables": variables},
    }


async def _connected(server: Server, authorization: str) -> RawSocket:
    socket = await server.socket()
    assert (await socket.init(authorization))["type"] == "connection_ack"
    return socket


# AUTH-01: credentials travel in connection_init


async def test_connection_token_in_connection_init_is_accepted(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)

    await socket.send(_subscribe("1"))
    await server.listeners(1)
    await alice.set("SESSION", {"q": 1})

    message = await socket.receive()
    assert message["id"] == "1"
    assert message["payload"]["data"]["sessionDataChanged"]["patch"] == {"q": 1}


async def test_bare_token_field_is_read_as_a_bearer_token(
    server: Server, alice: ClientCaller
) -> None:
    socket = await server.socket()

    await socket.send(
        {"type": "connection_init", "payload": {"token": alice.connection_token}}
    )

    assert (await socket.receive())["type"] == "connection_ack"


@pytest.mark.parametrize(
    "init",
    [
        {"type": "connection_init", "payload": {"Authorization": "Bearer garbage"}},
        {"type": "connection_init", "payload": {"token": "garbage"}},
        {"type": "connection_init", "payload": {}},
        {"type": "connection_init"},
        {"type": "connection_init", "payload": {"Authorization": "Digest x"}},
        {"type": "connection_init", "payload": {"Authorization": "Basic é"}},
        {"type": "connection_init", "payload": {"Authorization": "Basic \ud800"}},
        {"type": "connection_init", "payload": {"Authorization": "Bearer \ud800"}},
        {"type": "connection_init", "payload": {"token": "\ud800.x.y"}},
    ],
    ids=[
        "bad-bearer",
        "bad-token",
        "empty-payload",
        "no-payload",
        "other-scheme",
        "basic-past-ascii",
        "basic-lone-surrogate",
        "bearer-lone-surrogate",
        "token-lone-surrogate",
    ],
)
async def test_bad_or_missing_credentials_close_with_4403(
    server: Server, init: dict
) -> None:
    socket = await server.socket()

    await socket.send(init)

    assert await socket.close_code() == 4403


async def test_application_key_as_a_bearer_token_closes_with_4403(
    server: Server, app: AppCaller
) -> None:
    socket = await server.socket()

    await socket.send({"type": "connection_init", "payload": {"token": app.key}})

    assert await socket.close_code() == 4403


async def test_application_credentials_make_an_application_socket(
    server: Server, app: AppCaller
) -> None:
    socket = await _connected(server, app.authorization)

    await socket.send(_subscribe("1", "{ viewer { kind clientId } }"))

    message = await socket.receive()
    assert message["payload"]["data"]["viewer"] == {
        "kind": "APPLICATION",
        "clientId": None,
    }


async def test_a_denied_subscription_errors_once_and_the_socket_lives_on(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    other = await app.join(await app.create_room("owner-2"), "carol")
    socket = await _connected(server, alice.authorization)
    denied = "subscription($c: Int) { sessionDataChanged(confNum: $c) { revision } }"

    await socket.send(_subscribe("5", denied, c=other.who.conf_num))
    refusal = await socket.receive()
    await socket.send({"id": "5", "type": "complete"})
    await socket.send(_subscribe("6"))
    await server.listeners(1)
    await alice.set("SESSION", {"q": 1})

    assert refusal["id"] == "5"
    assert refusal["type"] in ("error", "next")
    errors = (
        refusal["payload"]
        if refusal["type"] == "error"
        else refusal["payload"]["errors"]
    )
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    follow = [await socket.receive() for _ in range(2)]
    assert any(m["id"] == "6" and m["type"] == "next" for m in follow)


# Joining over a socket


async def test_join_token_joins_and_the_socket_leaves_when_it_closes(
    server: Server, app: AppCaller, room: str
) -> None:
    token = await app.token(room, "alice")
    socket = await _connected(server, f"Bearer {token}")
    await socket.send(_subscribe("1", "{ viewer { clientId confNum } }"))
    viewer = (await socket.receive())["payload"]["data"]["viewer"]

    await socket.close()

    query = (
        "query($c: Int!) { session(confNum: $c) { participants { clientId leftAt } } }"
    )
    async with asyncio.timeout(5):
        while True:
            found = await app.run(query, c=viewer["confNum"])
            (participant,) = found["session"]["participants"]
            if participant["leftAt"] is not None:
                break
            await asyncio.sleep(0.05)
    assert participant["clientId"] == viewer["clientId"]


async def test_each_socket_join_makes_a_fresh_client_id(
    server: Server, app: AppCaller, room: str
) -> None:
    token = await app.token(room, "alice")
    ids = []
    for _ in range(2):
        socket = await _connected(server, f"Bearer {token}")
        await socket.send(_subscribe("1", "{ viewer { clientId } }"))
        ids.append((await socket.receive())["payload"]["data"]["viewer"]["clientId"])

    assert ids[0] != ids[1]


# Per-operation state on one socket


async def test_each_operation_on_a_socket_reads_fresh_data(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)
    read = "{ customData(scope: SESSION) { revision } }"
    await socket.send(_subscribe("1", read))
    first = await socket.receive()
    await socket.receive()  # complete

    await alice.set("SESSION", {"x": 1})
    await socket.send(_subscribe("2", read))
    second = await socket.receive()

    assert first["payload"]["data"]["customData"]["revision"] == 0
    assert second["payload"]["data"]["customData"]["revision"] == 1


async def test_each_operation_on_a_socket_checks_the_caller_again(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)

    await alice.run("mutation { leaveRoom { leftAt } }")
    await socket.send(_subscribe("1", "{ customData(scope: SESSION) { revision } }"))

    message = await socket.receive()
    errors = (
        message["payload"]
        if message["type"] == "error"
        else message["payload"]["errors"]
    )
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_errors_over_a_socket_carry_codes_and_hide_internals(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)

    await socket.send(_subscribe("1", '{ room(roomId: "room_nope") { name } }'))

    message = await socket.receive()
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_deep_json_over_a_socket_is_bad_input_and_the_socket_closes_4400(
    server: Server, alice: ClientCaller
) -> None:
    """INPUT-01 (b): the same 20,000-deep value, sent over the WebSocket."""
    socket = await _connected(server, alice.authorization)
    deep = "[" * 20_000 + "]" * 20_000
    query = "mutation($d: JSON!) { setCustomData(scope: ROOM, data: $d) { revision } }"
    text = (
        '{"id": "1", "type": "subscribe", "payload": {"query": '
        + json.dumps(query)
        + ', "variables": {"d": {"x": '
        + deep
        + "}}}}"
    )

    await socket.send(text)

    assert await socket.close_code() == 4400
    assert (await alice.get("ROOM"))["revision"] == 0


# PROTO-01: the protocol's state machine


@pytest.mark.settings(ws_init_timeout_seconds=0.3)
async def test_no_connection_init_closes_with_4408(server: Server) -> None:
    socket = await server.socket()

    assert await socket.close_code() == 4408


async def test_a_second_connection_init_closes_with_4429(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)

    await socket.send({"type": "connection_init", "payload": {}})

    assert await socket.close_code() == 4429


async def test_subscribe_before_connection_init_closes_with_4401(
    server: Server,
) -> None:
    socket = await server.socket()

    await socket.send(_subscribe("1"))

    assert await socket.close_code() == 4401


async def test_duplicate_subscription_id_closes_with_4409(
    server: Server, alice: ClientCaller
) -> None:
    for _ in range(20):
        socket = await _connected(server, alice.authorization)

        both = json.dumps(_subscribe("1"))
        await socket.connection.send(both)
        await socket.connection.send(both)

        assert await socket.close_code() == 4409
        await server.listeners(0)


async def test_ids_are_free_again_once_complete_is_sent(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)
    read = "{ customData(scope: ROOM) { revision } }"

    replies = []
    for _ in range(2):
        await socket.send(_subscribe("q1", read))
        replies += [await socket.receive(), await socket.receive()]

    assert [m["type"] for m in replies] == ["next", "complete", "next", "complete"]


async def test_a_completed_subscription_gets_nothing_more_while_its_neighbour_does(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)
    await socket.send(_subscribe("s1"))
    await socket.send(_subscribe("s2"))
    await server.listeners(2)
    await alice.set("SESSION", {"n": 1})
    first = {(await socket.receive())["id"], (await socket.receive())["id"]}

    await socket.send({"id": "s1", "type": "complete"})
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}  # the complete was handled
    await alice.set("SESSION", {"n": 2})
    await alice.set("SESSION", {"n": 3})
    await socket.send({"type": "ping"})

    later = [await socket.receive() for _ in range(3)]
    assert first == {"s1", "s2"}
    assert [(m.get("id"), m["type"]) for m in later] == [
        ("s2", "next"),
        ("s2", "next"),
        (None, "pong"),  # after the changes queued before it
    ]
    revisions = [
        m["payload"]["data"]["sessionDataChanged"]["revision"] for m in later[:2]
    ]
    assert revisions == [2, 3]


async def test_stray_complete_is_ignored_and_ping_gets_pong(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)

    await socket.send({"id": "zzz", "type": "complete"})
    await socket.send({"type": "ping"})

    assert await socket.receive() == {"type": "pong"}


@pytest.mark.parametrize(
    "message", [{"type": "bogus"}, "not json", {"id": "1", "type": "subscribe"}]
)
async def test_invalid_messages_close_with_4400(
    server: Server, alice: ClientCaller, message: dict | str
) -> None:
    socket = await _connected(server, alice.authorization)

    await socket.send(message)

    assert await socket.close_code() == 4400


@pytest.mark.settings(ws_ping_interval_seconds=0.2)
async def test_the_server_pings_idle_sockets(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)

    pings = 0
    async with asyncio.timeout(3):
        while pings < 3:
            message = json.loads(await socket.connection.recv())
            pings += message == {"type": "ping"}

    assert pings == 3


async def test_default_ping_interval_is_under_a_30_second_proxy_timeout(
    server: Server,
) -> None:
    assert server.runtime.settings.ws_ping_interval_seconds < 30


async def test_legacy_graphql_ws_protocol_is_off_by_default(server: Server) -> None:
    socket = await server.socket(protocol="graphql-ws")

    assert await socket.close_code() == 4406


@pytest.mark.settings(ws_legacy_protocol=True)
async def test_legacy_graphql_ws_protocol_can_be_turned_on(
    server: Server, alice: ClientCaller
) -> None:
    socket = await server.socket(protocol="graphql-ws")

    await socket.send(
        {"type": "connection_init", "payload": {"Authorization": alice.authorization}}
    )

    assert (await socket.receive())["type"] == "connection_ack"


async def test_app_credentials_in_basic_form_are_checked(
    server: Server, app: AppCaller
) -> None:
    wrong = base64.b64encode(f"{app.app_id}:wrong".encode()).decode()
    socket = await server.socket()

    await socket.send(
        {"type": "connection_init", "payload": {"Authorization": f"Basic {wrong}"}}
    )

    assert await socket.close_code() == 4403


@pytest.mark.settings(max_body_bytes=64 * 1024)
async def test_a_socket_message_over_the_body_limit_closes_with_1009(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)
    query = "mutation($d: JSON!) { setCustomData(scope: ROOM, data: $d) { revision } }"

    await socket.send(_subscribe("1", query, d={"blob": "a" * 70 * 1024}))

    assert await socket.close_code() == 1009
    assert (await alice.get("ROOM"))["revision"] == 0


# Found by a break-it trial of live changes


@pytest.mark.parametrize(
    "message",
    [
        [1],
        "x",
        {"id": "z", "type": "subscribe", "payload": None},
        {"id": "z", "type": "subscribe", "payload": {"query": 5}},
        {
            "id": "z",
            "type": "subscribe",
            "payload": {"query": "{ viewer { kind } }", "variables": [1]},
        },
        {
            "id": "z",
            "type": "subscribe",
            "payload": {"query": "{ viewer { kind } }", "operationName": 7},
        },
        {"id": 1, "type": "subscribe", "payload": {"query": "{ viewer { kind } }"}},
    ],
    ids=[
        "array",
        "string",
        "null-payload",
        "number-query",
        "array-variables",
        "number-operation-name",
        "number-id",
    ],
)
async def test_json_that_is_not_a_protocol_message_closes_with_4400(
    server: Server,
    alice: ClientCaller,
    message: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    socket = await _connected(server, alice.authorization)

    await socket.send(json.dumps(message))

    assert await socket.close_code() == 4400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.settings(max_subscriptions_per_connection=2)
async def test_too_many_operations_on_a_socket_are_refused_with_a_code(
    server: Server, alice: ClientCaller
) -> None:
    socket = await _connected(server, alice.authorization)
    for operation_id in ("1", "2"):
        await socket.send(_subscribe(operation_id))
    await server.listeners(2)

    await socket.send(_subscribe("3"))

    refusal = await socket.receive()
    assert (refusal["id"], refusal["type"]) == ("3", "error")
    assert refusal["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def _stalled_feed(server: Server, client: ClientCaller) -> RawSocket:
    """A socket with small buffers that follows the client's session, unread."""
    stalled = await server.socket(slow=True)
    await stalled.init(client.authorization)
    query = "subscription { sessionDataChanged { revision data } }"
    await stalled.send({"id": "s", "type": "subscribe", "payload": {"query": query}})
    await server.listeners(1)
    return stalled


async def test_a_client_gone_while_events_are_sent_is_not_a_server_error(
    server: Server, alice: ClientCaller, caplog: pytest.LogCaptureFixture
) -> None:
    stalled = await _stalled_feed(server, alice)
    for n in range(120):  # more than the socket's buffers hold
        await alice.set("SESSION", {"n": n, "pad": f"{n:x}" * 12_000})

    stalled.abort()

    await server.listeners(0)
    await asyncio.sleep(0.2)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.settings(ws_ping_interval_seconds=0.3)
async def test_a_client_that_stops_reading_is_dropped_and_its_feed_freed(
    server: Server, alice: ClientCaller
) -> None:
    """Its buffers full, not even a close frame gets through: the server drops it."""
    await _stalled_feed(server, alice)
    sockets = server.runtime.metrics.open_sockets

    for n in range(300):  # 15 MB: far more than the buffers on the way hold
        await alice.set("SESSION", {"n": n, "pad": "x" * 50_000})

    await server.listeners(0, within=30)
    async with asyncio.timeout(30):
        while sockets._value.get() > 0:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@pytest.mark.settings(ws_legacy_protocol=True)
async def test_legacy_protocol_refuses_bad_credentials_with_4403(
    server: Server,
) -> None:
    socket = await server.socket(protocol="graphql-ws")

    await socket.send(
        {"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}
    )

    assert await socket.close_code() == 4403


@pytest.mark.settings(ws_legacy_protocol=True)
async def test_legacy_protocol_socket_that_joined_leaves_when_it_closes(
    server: Server, app: AppCaller, room: str
) -> None:
    token = await app.token(room, "alice")
    socket = await server.socket(protocol="graphql-ws")
    await socket.send(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    )
    await socket.receive()  # connection_ack
    await socket.send({"id": "1", "type": "start", "payload": {"query": FEED}})
    await server.listeners(1)

    await socket.close()

    query = (
        "query($r: ID!) { room(roomId: $r) { sessions { participants { leftAt } } } }"
    )
    async with asyncio.timeout(5):
        while True:
            found = await app.run(query, r=room)
            if found["room"]["sessions"][0]["participants"][0]["leftAt"]:
                break
            await asyncio.sleep(0.05)


async def test_messages_are_text_frames(server: Server, alice: ClientCaller) -> None:
    socket = await server.socket()
    await socket.send(
        {"type": "connection_init", "payload": {"Authorization": alice.authorization}}
    )

    frame = await socket.connection.recv()

    assert isinstance(frame, str)
