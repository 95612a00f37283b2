"""Sessions: when they start and end, and which one each selector reads."""

from __future__ import annotations

from models.clock import ManualClock
from tests.support import AppCaller

LEAVE = "mutation { leaveRoom { clientId leftAt } }"
GRACE = 30


async def _past_session(
    app: AppCaller, room: str, clock: ManualClock, data: dict[str, object]
) -> int:
    """Hold a whole session in the room with ``data``; return its number."""
    client = await app.join(room, "host")
    await client.set("SESSION", data)
    await client.run(LEAVE)
    clock.advance(GRACE + 1)
    return client.who.conf_num


async def test_first_join_starts_a_session_and_later_joins_share_it(
    app: AppCaller, room: str
) -> None:
    alice = await app.join(room, "alice")

    bob = await app.join(room, "bob")

    assert alice.who.conf_num == bob.who.conf_num
    assert alice.who.client_id != bob.who.client_id


async def test_every_join_gets_a_fresh_client_id(app: AppCaller, room: str) -> None:
    first = await app.join(room, "alice")

    second = await app.join(room, "alice")

    assert first.who.client_id != second.who.client_id


async def test_session_stays_live_through_the_grace_period(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    alice = await app.join(room, "alice")
    await alice.run(LEAVE)
    clock.advance(GRACE - 1)

    again = await app.join(room, "alice")

    assert again.who.conf_num == alice.who.conf_num


async def test_session_ends_after_the_grace_period(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    alice = await app.join(room, "alice")
    await alice.run(LEAVE)
    clock.advance(GRACE + 1)

    again = await app.join(room, "alice")

    assert again.who.conf_num > alice.who.conf_num


async def test_conf_nums_rise_across_rooms(app: AppCaller, clock: ManualClock) -> None:
    first_room, second_room = await app.create_room(), await app.create_room()

    first = await _past_session(app, first_room, clock, {"x": 1})
    second = await _past_session(app, second_room, clock, {"x": 2})
    third = await _past_session(app, first_room, clock, {"x": 3})

    assert first < second < third


async def test_participant_that_left_can_no_longer_call(
    app: AppCaller, room: str
) -> None:
    alice = await app.join(room, "alice")
    await alice.run(LEAVE)

    error = await alice.get_refused("ROOM")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_end_session_ends_it_for_everyone(app: AppCaller, room: str) -> None:
    alice = await app.join(room, "alice")

    ended = await app.run(
        "mutation($c: Int!) { endSession(confNum: $c) { confNum endedAt } }",
        c=alice.who.conf_num,
    )

    assert ended["endSession"]["endedAt"] is not None
    assert (await alice.get_refused("ROOM"))["extensions"]["code"] == "SESSION_ENDED"
    assert (await app.join(room, "alice")).who.conf_num > alice.who.conf_num


async def test_end_session_twice_keeps_the_first_end(app: AppCaller, room: str) -> None:
    alice = await app.join(room, "alice")
    end = "mutation($c: Int!) { endSession(confNum: $c) { endedAt } }"

    first = await app.run(end, c=alice.who.conf_num)
    second = await app.run(end, c=alice.who.conf_num)

    assert first == second


async def test_current_reads_the_live_session(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    await _past_session(app, room, clock, {"topic": "A"})
    alice = await app.join(room, "alice")
    await alice.set("SESSION", {"topic": "B"})

    found = await alice.get("SESSION", session="CURRENT")

    assert (found["confNum"], found["data"]) == (alice.who.conf_num, {"topic": "B"})


async def test_last_reads_the_session_before_the_live_one(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    past = await _past_session(app, room, clock, {"topic": "A"})
    alice = await app.join(room, "alice")
    await alice.set("SESSION", {"topic": "B"})

    found = await alice.get("SESSION", session="LAST")

    assert (found["confNum"], found["data"]) == (past, {"topic": "A"})


async def test_last_reads_the_latest_ended_session_when_none_is_live(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    await _past_session(app, room, clock, {"topic": "A"})
    latest = await _past_session(app, room, clock, {"topic": "B"})

    found = await app.get("SESSION", session="LAST", target={"roomId": room})

    assert (found["confNum"], found["data"]) == (latest, {"topic": "B"})


async def test_current_without_a_live_session_reads_nothing(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    await _past_session(app, room, clock, {"topic": "A"})

    found = await app.get("SESSION", target={"roomId": room})

    assert (found["confNum"], found["data"], found["revision"]) == (None, None, None)


async def test_conf_num_reads_one_session(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    first = await _past_session(app, room, clock, {"topic": "A"})
    await _past_session(app, room, clock, {"topic": "B"})

    found = await app.get("SESSION", confNum=first)

    assert found["data"] == {"topic": "A"}


async def test_all_lists_sessions_newest_first_in_pages(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    numbers = [await _past_session(app, room, clock, {"n": n}) for n in range(5)]

    page = await app.get("SESSION", session="ALL", target={"roomId": room}, first=2)
    cursor = page["pageInfo"]["endCursor"]
    rest = await app.get(
        "SESSION", session="ALL", target={"roomId": room}, first=10, after=cursor
    )

    assert [s["confNum"] for s in page["sessions"]] == numbers[::-1][:2]
    assert page["pageInfo"]["hasNextPage"] is True
    assert [s["data"]["n"] for s in rest["sessions"]] == [2, 1, 0]
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert all(s["endedAt"] is not None for s in page["sessions"] + rest["sessions"])


async def test_all_includes_the_live_session_unended(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    await _past_session(app, room, clock, {"n": 0})
    alice = await app.join(room, "alice")

    found = await alice.get("SESSION", session="ALL")

    assert found["sessions"][0]["confNum"] == alice.who.conf_num
    assert found["sessions"][0]["endedAt"] is None
    assert found["sessions"][1]["endedAt"] is not None


async def test_user_ref_keeps_only_the_keys_that_user_wrote_last(
    app: AppCaller, room: str
) -> None:
    alice = await app.join(room, "alice")
    bob = await app.join(room, "bob")
    await alice.set("SESSION", {"alice_vote": "pizza", "shared": "alice"})
    await bob.set("SESSION", {"bob_vote": "soup", "shared": "bob"})

    alices = await bob.get("SESSION", userRef="alice")
    bobs = await alice.get("SESSION", userRef="bob")

    assert alices["data"] == {"alice_vote": "pizza"}
    assert bobs["data"] == {"bob_vote": "soup", "shared": "bob"}


async def test_user_ref_filters_every_session_of_all(app: AppCaller, room: str) -> None:
    alice = await app.join(room, "alice")
    bob = await app.join(room, "bob")
    await alice.set("SESSION", {"a": 1})
    await bob.set("SESSION", {"b": 1})

    found = await alice.get("SESSION", session="ALL", userRef="bob")

    assert found["sessions"][0]["data"] == {"b": 1}


async def test_conf_num_with_last_is_bad_input(app: AppCaller, room: str) -> None:
    alice = await app.join(room, "alice")

    error = await alice.get_refused(
        "SESSION", session="LAST", confNum=alice.who.conf_num
    )

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_app_writes_to_a_room_without_a_live_session_are_not_found(
    app: AppCaller, room: str
) -> None:
    error = await app.set_refused("SESSION", {"x": 1}, target={"roomId": room})

    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_app_may_annotate_an_ended_session(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    past = await _past_session(app, room, clock, {"topic": "A"})

    written = await app.set("SESSION", {"summary": "done"}, target={"confNum": past})

    assert written["data"] == {"topic": "A", "summary": "done"}


async def test_unknown_session_is_not_found(app: AppCaller) -> None:
    error = await app.get_refused("SESSION", confNum=999_999)

    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_session_lists_its_participants(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    alice = await app.join(room, "alice")
    clock.advance(1)
    await app.join(room, "bob", role="MODERATOR")
    await alice.run(LEAVE)

    found = await app.run(
        """query($c: Int!) { session(confNum: $c) {
             live participants { userRef role leftAt } } }""",
        c=alice.who.conf_num,
    )

    participants = found["session"]["participants"]
    assert found["session"]["live"] is True
    assert [(p["userRef"], p["role"]) for p in participants] == [
        ("alice", "PARTICIPANT"),
        ("bob", "MODERATOR"),
    ]
    assert participants[0]["leftAt"] is not None
    assert participants[1]["leftAt"] is None


async def test_participant_whose_token_expires_is_gone(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = await app.token(room, "alice", ttlSeconds=60)
    alice = await app._server.join(token)
    clock.advance(60 + 30 + 1)  # past expiry and the 30 s leeway

    error = await alice.get_refused("ROOM")
    clock.advance(GRACE)
    again = await app.join(room, "alice")

    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert again.who.conf_num > alice.who.conf_num


async def test_a_participant_whose_token_expired_shows_when_it_left(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    token = await app.token(room, "alice", ttlSeconds=60)
    alice = await app._server.join(token)
    clock.advance(61)

    found = await app.run(
        "query($c: Int!) { session(confNum: $c) { participants { leftAt } } }",
        c=alice.who.conf_num,
    )

    assert found["session"]["participants"][0]["leftAt"] is not None
