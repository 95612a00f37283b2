"""Live changes over graphql-transport-ws: delivery, resume, snapshots, access.

Field reports CONC-03 (a) and PERF-01 are replayed at the end.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from graphql.execution.collect_fields import FieldDetails

from models.clock import ManualClock
from models.merge import merge_patch
from tests.support import AppCaller, ClientCaller, RawSocket, Server

SESSION_FEED = """
subscription($after: Int, $snapshot: Boolean!, $confNum: Int) {
  sessionDataChanged(afterRevision: $after, includeSnapshot: $snapshot,
                     confNum: $confNum) {
    kind scope confNum roomId revision patch changedKeys removedKeys
    author { application clientId userRef name role } at
  }
}"""

SESSION_FEED_WITH_DATA = """
subscription($after: Int, $snapshot: Boolean!) {
  sessionDataChanged(afterRevision: $after, includeSnapshot: $snapshot) {
    kind revision data
  }
}"""

DOCUMENT_FEED = """
subscription($scope: Scope!, $target: TargetInput, $snapshot: Boolean!) {
  customDataChanged(scope: $scope, target: $target, includeSnapshot: $snapshot) {
    kind scope roomId ownerRef userRef confNum revision patch data
  }
}"""


async def _session_feed(
    server: Server, caller: AppCaller | ClientCaller, **variables: object
) -> object:
    variables.setdefault("snapshot", False)
    return await server.subscribe(caller, SESSION_FEED, **variables)


async def test_a_write_reaches_every_subscriber_of_the_session(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    bob = await app.join(room, "bob")
    feeds = [
        await _session_feed(server, alice),
        await _session_feed(server, bob),
        await _session_feed(server, app, confNum=alice.who.conf_num),
    ]
    await server.listeners(3)

    await bob.set("SESSION", {"slide": 3})

    for feed in feeds:
        event = await feed.next()  # type: ignore[attr-defined]
        assert (event["kind"], event["revision"], event["patch"]) == (
            "CHANGE",
            1,
            {"slide": 3},
        )
        assert event["author"] == {
            "application": False,
            "clientId": bob.who.client_id,
            "userRef": "bob",
            "name": "Bob",
            "role": "PARTICIPANT",
        }
        assert event["changedKeys"] == ["slide"]
        assert event["confNum"] == alice.who.conf_num
        assert event["roomId"] == room


async def test_a_write_reaches_nobody_outside_its_document(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    other_room = await app.create_room("owner-2")
    carol = await app.join(other_room, "carol")
    other_app = await server.application("globex")
    dave = await other_app.join(await other_app.create_room(), "dave")
    outsiders = [
        await _session_feed(server, carol),
        await _session_feed(server, dave),
        await server.subscribe(alice, DOCUMENT_FEED, scope="ROOM", snapshot=False),
        await server.subscribe(alice, DOCUMENT_FEED, scope="USER", snapshot=False),
    ]
    await server.listeners(4)

    await alice.set("SESSION", {"secret": 1})

    for feed in outsiders:
        assert await feed.nothing_within(0.5)


async def test_every_scope_can_be_followed(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    follows = {
        "APP": None,
        "ROOM": None,
        "OWNER": None,
        "USER": None,
        "SESSION": None,
    }
    feeds = {
        scope: await server.subscribe(
            alice, DOCUMENT_FEED, scope=scope, target=target, snapshot=True
        )
        for scope, target in follows.items()
    }
    for feed in feeds.values():
        await feed.next()  # the snapshot

    await app.set("APP", {"v": 1})
    await alice.set("ROOM", {"v": 1})
    await app.set("OWNER", {"v": 1}, target={"ownerRef": "owner-1"})
    await alice.set("USER", {"v": 1})
    await alice.set("SESSION", {"v": 1})

    for scope, feed in feeds.items():
        event = await feed.next()
        assert (event["scope"], event["revision"], event["data"]) == (
            scope,
            1,
            {"v": 1},
        )
    ids = {s: (await feeds[s].nothing_within(0.1)) for s in feeds}
    assert all(ids.values())


async def test_resume_after_50_missed_writes_delivers_each_once_in_order(
    server: Server, alice: ClientCaller
) -> None:
    first = await _session_feed(server, alice)
    await server.listeners(1)
    await alice.set("SESSION", {"n": 0})
    seen = await first.next()
    await first.close()
    await server.listeners(0)

    for n in range(1, 51):
        await alice.set("SESSION", {"n": n})
    resumed = await _session_feed(server, alice, after=seen["revision"])
    events = await resumed.events(50)
    await alice.set("SESSION", {"n": 51})
    live = await resumed.next()

    assert [e["revision"] for e in events] == list(range(2, 52))
    assert [e["patch"]["n"] for e in events] == list(range(1, 51))
    assert (live["revision"], live["patch"]) == (52, {"n": 51})
    assert await resumed.nothing_within(0.3)


@pytest.mark.settings(change_log_max_entries=5)
async def test_resume_past_the_change_log_starts_with_a_snapshot(
    server: Server, alice: ClientCaller
) -> None:
    for n in range(70):  # the log is pruned at revision 64, down to the last 5
        await alice.set("SESSION", {"n": n})

    feed = await server.subscribe(
        alice, SESSION_FEED_WITH_DATA, after=2, snapshot=False
    )

    first = await feed.next()
    assert (first["kind"], first["revision"], first["data"]) == (
        "SNAPSHOT",
        70,
        {"n": 69},
    )


async def test_include_snapshot_sends_the_document_first(
    server: Server, alice: ClientCaller
) -> None:
    await alice.set("SESSION", {"agenda": ["intro"]})

    feed = await server.subscribe(alice, SESSION_FEED_WITH_DATA, snapshot=True)
    first = await feed.next()
    await alice.set("SESSION", {"agenda": ["intro", "demo"]})
    second = await feed.next()

    assert first == {"kind": "SNAPSHOT", "revision": 1, "data": {"agenda": ["intro"]}}
    assert second == {
        "kind": "CHANGE",
        "revision": 2,
        "data": {"agenda": ["intro", "demo"]},
    }


async def test_data_is_the_whole_document_at_each_revision(
    server: Server, alice: ClientCaller
) -> None:
    await alice.set("SESSION", {"a": 1})
    feed = await server.subscribe(alice, SESSION_FEED_WITH_DATA, snapshot=False)
    await server.listeners(1)

    await alice.set("SESSION", {"b": {"c": 1}})
    await alice.set("SESSION", {"b": {"c": None, "d": 2}, "a": None})

    assert [e["data"] for e in await feed.events(2)] == [
        {"a": 1, "b": {"c": 1}},
        {"b": {"d": 2}},
    ]


async def test_concurrent_writers_reach_every_subscriber_once_in_order(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    """Changes go straight to waiting subscribers: still each once, in order."""
    writers = [alice, *[await app.join(room, f"w{n}") for n in range(7)]]
    feeds = [
        await server.subscribe(alice, SESSION_FEED_WITH_DATA, snapshot=False)
        for _ in range(3)
    ] + [await _session_feed(server, app, confNum=alice.who.conf_num)]
    await server.listeners(len(feeds))

    async def write(writer: ClientCaller, n: int) -> None:
        for i in range(10):
            await writer.set("SESSION", {f"w{n}": i, "last": f"{n}.{i}"})

    await asyncio.gather(*(write(w, n) for n, w in enumerate(writers)))

    received = [await feed.events(80) for feed in feeds]  # type: ignore[attr-defined]
    for events in received:
        assert [e["revision"] for e in events] == list(range(1, 81))
    document: dict[str, object] = {}
    for event, with_patch in zip(received[0], received[-1], strict=True):
        document = merge_patch(document, with_patch["patch"])
        assert event["data"] == document  # the document at each revision
    assert document == {**{f"w{n}": 9 for n in range(8)}, "last": document["last"]}


async def test_snapshot_then_changes_under_concurrent_writes_never_misses(
    server: Server, app: AppCaller
) -> None:
    """CONC-03 (a), 200 times: the listener is registered before the snapshot."""
    for iteration in range(200):
        room = await app.create_room()
        writer = await app.join(room, "writer")
        await writer.set("SESSION", {"slide": -1})
        feed = await server.subscribe(
            app,
            "subscription($c: Int!) { sessionDataChanged(confNum: $c, "
            "includeSnapshot: true) { kind revision data } }",
            c=writer.who.conf_num,
        )

        await writer.set("SESSION", {"slide": iteration})

        view: dict[str, object] = {}
        while view.get("slide") != iteration:
            view = (await feed.next())["data"]
        await feed.close()
    await server.listeners(0)


async def test_read_then_resume_from_its_revision_never_misses(
    server: Server, app: AppCaller
) -> None:
    """CONC-03 (a) without a snapshot: read over HTTP, then follow afterRevision."""
    room = await app.create_room()
    writer = await app.join(room, "writer")
    reader = await app.join(room, "reader")
    for iteration in range(50):
        writing = asyncio.create_task(writer.set("SESSION", {"slide": iteration}))
        read = await reader.get("SESSION")
        feed = await _session_feed(server, reader, after=read["revision"])
        await writing

        view = dict(read["data"])
        while view.get("slide") != iteration:
            event = await feed.next()
            view = merge_patch(view, event["patch"])
        await feed.close()


@pytest.mark.settings(subscriber_queue_size=8)
async def test_slow_subscriber_is_sent_a_snapshot_and_others_are_not_slowed(
    server: Server, alice: ClientCaller
) -> None:
    """PERF-01 (b): a bounded queue per subscriber; the healthy one gets everything.

    The stalled socket asks for whole 50 KB documents, has small buffers and
    reads nothing, so the server soon cannot send to it any more.
    """
    healthy = await _session_feed(server, alice)
    stalled = await server.socket(slow=True)
    await stalled.init(alice.authorization)
    query = "subscription { sessionDataChanged { kind revision data } }"
    await stalled.send({"id": "s", "type": "subscribe", "payload": {"query": query}})
    await server.listeners(2)

    writes = 300
    for n in range(writes):
        await alice.set("SESSION", {"seq": n, "pad": "x" * 50_000})
        assert max(listener.depth for listener in _listeners(server)) <= 8

    received = await healthy.events(writes)
    late = await _until_revision(stalled, writes)
    assert [e["revision"] for e in received] == list(range(1, writes + 1))
    assert "SNAPSHOT" in [event["kind"] for event in late]
    assert late[-1]["data"]["seq"] == writes - 1


async def _until_revision(socket: RawSocket, revision: int) -> list[dict[str, object]]:
    """Read a raw subscription's events until one reaches ``revision``."""
    events: list[dict[str, object]] = []
    while not events or events[-1]["revision"] != revision:
        message = await socket.receive()
        events.append(message["payload"]["data"]["sessionDataChanged"])
    return events


def _listeners(server: Server) -> list[object]:
    broker = server.runtime.broker
    return list(broker._registered)  # type: ignore[attr-defined]


async def test_client_may_not_follow_another_rooms_data(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    other = await app.join(await app.create_room("owner-2"), "carol")

    feed = await _session_feed(server, alice, confNum=other.who.conf_num)

    with pytest.raises(Exception, match=r"FORBIDDEN|may only"):
        await feed.next()


async def test_leaving_ends_the_participants_feeds(
    server: Server, alice: ClientCaller
) -> None:
    feed = await _session_feed(server, alice)
    await server.listeners(1)

    await alice.run("mutation { leaveRoom { leftAt } }")

    with pytest.raises(Exception, match="left the room"):
        await feed.next()
    await server.listeners(0)


async def test_ending_the_session_ends_its_clients_feeds(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    clients_feed = await _session_feed(server, alice)
    apps_feed = await _session_feed(server, app, confNum=alice.who.conf_num)
    await server.listeners(2)

    await app.end_session(alice.who.conf_num)

    with pytest.raises(Exception, match="has ended"):
        await clients_feed.next()
    await app.set("SESSION", {"summary": 1}, target={"confNum": alice.who.conf_num})
    assert (await apps_feed.next())["patch"] == {"summary": 1}


async def test_deleting_the_room_ends_its_feeds(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    feeds = [
        await server.subscribe(
            app, DOCUMENT_FEED, scope="ROOM", target={"roomId": room}, snapshot=False
        ),
        await server.subscribe(alice, DOCUMENT_FEED, scope="USER", snapshot=False),
    ]
    await server.listeners(2)

    await app.run("mutation($r: ID!) { deleteRoom(roomId: $r) { roomId } }", r=room)

    for feed in feeds:
        with pytest.raises(Exception, match=r"deleted|has ended"):
            await feed.next()
    await server.listeners(0)


@pytest.mark.settings(token_leeway_seconds=0)
async def test_expired_token_ends_the_feed(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    client = await server.join(await app.token(room, "alice", ttlSeconds=1))
    feed = await _session_feed(server, client)
    await server.listeners(1)

    clock.advance(2)  # past the expiry; the feed checks when its timer fires

    with pytest.raises(Exception, match="expired"):
        await feed.next(within=5)
    await server.listeners(0)


async def test_suspending_the_application_ends_its_feeds(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    from models.applications import set_suspended

    feeds = [
        await _session_feed(server, alice),
        await server.subscribe(app, DOCUMENT_FEED, scope="APP", snapshot=False),
    ]
    await server.listeners(2)

    await set_suspended(app.app_id, server.clock.now(), server.runtime.broker)

    for feed in feeds:
        with pytest.raises(Exception, match="suspended"):
            await feed.next()


async def test_200_abrupt_disconnects_leave_no_live_subscription(
    server: Server, app: AppCaller, room: str
) -> None:
    """PERF-01 (a): sockets dropped without a close frame free everything."""
    token = await app.token(room, "crowd")
    sockets = []
    for _ in range(200):
        raw = await server.socket()
        await raw.init(f"Bearer {token}")  # each socket joins as a participant
        await raw.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": "subscription { sessionDataChanged { revision } }"
                },
            }
        )
        sockets.append(raw)
    await server.listeners(200)

    for raw in sockets:
        raw.abort()

    await server.listeners(0, within=20)
    assert server.runtime.broker.topic_count == 0  # type: ignore[attr-defined]
    found = await app.run(
        "query($r: ID!) { room(roomId: $r) { liveSession { "
        "participants { leftAt } } } }",
        r=room,
    )
    session = found["room"]["liveSession"]
    assert session is None or all(p["leftAt"] for p in session["participants"])


async def test_subscribers_of_one_change_each_get_their_own_selection(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    """One change is described once, but each operation and variables is its own."""
    optional = """
    subscription($patch: Boolean!) {
      sessionDataChanged { revision patch @include(if: $patch) }
    }"""
    feeds = {
        "kind": await server.subscribe(
            alice, "subscription { sessionDataChanged { kind revision } }"
        ),
        "with patch": await server.subscribe(alice, optional, patch=True),
        "without patch": await server.subscribe(alice, optional, patch=False),
        "data": await server.subscribe(
            alice, "subscription { sessionDataChanged { data } }"
        ),
        "app": await _session_feed(server, app, confNum=alice.who.conf_num),
    }
    await server.listeners(len(feeds))

    for revision in (1, 2):
        await alice.set("SESSION", {"n": revision})
        got = {name: await feed.next() for name, feed in feeds.items()}  # type: ignore[attr-defined]

        assert got["kind"] == {"kind": "CHANGE", "revision": revision}
        assert got["with patch"] == {"revision": revision, "patch": {"n": revision}}
        assert got["without patch"] == {"revision": revision}
        assert got["data"] == {"data": {"n": revision}}
        assert got["app"]["author"]["clientId"] == alice.who.client_id


async def test_a_long_subscription_does_not_grow_with_its_events(
    server: Server, app: AppCaller, room: str, alice: ClientCaller
) -> None:
    """Each event's execution state is freed once the event is sent."""
    feed = await _session_feed(server, alice)
    await server.listeners(1)

    written = 0

    async def write_and_receive(count: int) -> int:
        nonlocal written
        for _ in range(count):
            written += 1
            await alice.set("SESSION", {"n": written})
            await feed.next()  # type: ignore[attr-defined]
        gc.collect()
        return sum(isinstance(o, FieldDetails) for o in gc.get_objects())

    before = await write_and_receive(20)
    after = await write_and_receive(300)

    # graphql-core 3.3's per-event copies shared one cache: 3 entries per event.
    assert after - before < 100


async def test_subscribing_without_the_addon_is_addon_required(server: Server) -> None:
    plain = await server.application("plain", addon=False)
    client = await plain.join(await plain.create_room(), "alice")

    feed = await _session_feed(server, client)

    with pytest.raises(Exception, match="add-on"):
        await feed.next()
    await server.listeners(0)
