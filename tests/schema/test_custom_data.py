"""Reading and writing documents: merge, replace, delete, revisions, authors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support import GET, AppCaller, ClientCaller


async def test_unwritten_document_reads_empty_at_revision_zero(
    alice: ClientCaller,
) -> None:
    found = await alice.get("ROOM")

    assert (found["data"], found["revision"], found["keys"]) == ({}, 0, [])


async def test_merge_adds_keys_and_keeps_the_others(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1, "keep": "me"})

    written = await alice.set("ROOM", {"b": 2})

    assert written["data"] == {"a": 1, "keep": "me", "b": 2}
    assert written["revision"] == 2


async def test_merge_null_removes_a_key(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1, "b": 2})

    written = await alice.set("ROOM", {"a": None})

    assert written["data"] == {"b": 2}


async def test_merge_nested_objects_merge_recursively(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"poll": {"q": "Lunch?", "votes": {"alice": "pizza"}}})

    written = await alice.set("ROOM", {"poll": {"votes": {"bob": "soup"}}})

    assert written["data"] == {
        "poll": {"q": "Lunch?", "votes": {"alice": "pizza", "bob": "soup"}}
    }


async def test_merge_nested_null_removes_a_nested_key(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"poll": {"q": "Lunch?", "votes": {"alice": "pizza"}}})

    written = await alice.set("ROOM", {"poll": {"votes": {"alice": None}}})

    assert written["data"] == {"poll": {"q": "Lunch?", "votes": {}}}


async def test_merge_replaces_arrays_whole_keeping_their_nulls(
    alice: ClientCaller,
) -> None:
    await alice.set("ROOM", {"c": [1, 2, 3]})

    written = await alice.set("ROOM", {"c": [None]})

    assert written["data"] == {"c": [None]}


async def test_merge_object_over_a_scalar_drops_its_nulls(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 5})

    written = await alice.set("ROOM", {"a": {"x": 1, "y": None}})

    assert written["data"] == {"a": {"x": 1}}


async def test_empty_merge_changes_nothing(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1})

    written = await alice.set("ROOM", {})

    assert (written["applied"], written["revision"]) == (False, 1)


async def test_replace_swaps_the_whole_document(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1, "b": {"x": 1, "y": 2}})

    written = await alice.set("ROOM", {"b": {"x": 9}}, mode="REPLACE")

    assert written["data"] == {"b": {"x": 9}}
    assert written["revision"] == 2


async def test_replace_drops_null_members(alice: ClientCaller) -> None:
    written = await alice.set("ROOM", {"a": None, "b": [None]}, mode="REPLACE")

    assert written["data"] == {"b": [None]}


async def test_delete_removes_named_top_level_keys(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1, "b": 2, "c": 3})

    deleted = await alice.delete("ROOM", keys=["a", "c", "absent"])

    assert deleted["data"] == {"b": 2}
    assert deleted["revision"] == 2


async def test_delete_without_keys_empties_the_document(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1, "b": 2})

    deleted = await alice.delete("ROOM")

    assert (deleted["data"], deleted["revision"]) == ({}, 2)


async def test_delete_of_absent_keys_changes_nothing(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1})

    deleted = await alice.delete("ROOM", keys=["zzz"])

    assert (deleted["applied"], deleted["revision"]) == (False, 1)


async def test_write_at_the_expected_revision_applies(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1})

    written = await alice.set("ROOM", {"a": 2}, ifRevision=1)

    assert (written["data"], written["revision"]) == ({"a": 2}, 2)


async def test_write_at_a_stale_revision_conflicts_and_writes_nothing(
    alice: ClientCaller,
) -> None:
    await alice.set("ROOM", {"a": 1})
    await alice.set("ROOM", {"a": 2})

    error = await alice.set_refused("ROOM", {"a": 3}, ifRevision=1)

    assert error["extensions"] == {"code": "REVISION_CONFLICT", "currentRevision": 2}
    assert (await alice.get("ROOM"))["data"] == {"a": 2}


async def test_if_revision_zero_writes_only_a_new_document(alice: ClientCaller) -> None:
    seeded = await alice.set("ROOM", {"agenda": []}, ifRevision=0)

    error = await alice.set_refused("ROOM", {"agenda": ["reset"]}, ifRevision=0)

    assert seeded["revision"] == 1
    assert error["extensions"] == {"code": "REVISION_CONFLICT", "currentRevision": 1}
    assert (await alice.get("ROOM"))["data"] == {"agenda": []}


async def test_delete_checks_if_revision_too(alice: ClientCaller) -> None:
    await alice.set("ROOM", {"a": 1})

    error = await alice.refused(
        "mutation { deleteCustomData(scope: ROOM, ifRevision: 7) { revision } }"
    )

    assert error["extensions"]["code"] == "REVISION_CONFLICT"


async def test_negative_if_revision_is_bad_input(alice: ClientCaller) -> None:
    error = await alice.set_refused("ROOM", {"a": 1}, ifRevision=-1)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_each_key_remembers_its_last_writer(
    app: AppCaller, room: str, alice: ClientCaller
) -> None:
    bob = await app.join(room, "bob")
    await alice.set("ROOM", {"a": 1, "b": 1})

    await bob.set("ROOM", {"b": 2})
    await app.set("ROOM", {"c": 3}, target={"roomId": room})

    keys = {k["key"]: k for k in (await alice.get("ROOM"))["keys"]}
    assert keys["a"]["userRef"] == "alice"
    assert keys["b"]["userRef"] == "bob"
    assert keys["c"]["clientId"] is None


async def test_answer_names_the_caller(alice: ClientCaller) -> None:
    found = await alice.run(
        "{ customData(scope: USER) { result clientId name userRef role } }"
    )

    assert found["customData"] == {
        "result": 0,
        "clientId": alice.who.client_id,
        "name": "Alice",
        "userRef": "alice",
        "role": "PARTICIPANT",
    }


@pytest.mark.parametrize(
    "value",
    [
        12345678901234567890,
        -0.5,
        1.0,
        1e-7,
        3.141592653589793,
        "emoji 🎉 and 漢字 and \u0000 nul",
        {"deep": {"er": [1, "two", None, True, False, {"x": []}]}},
    ],
)
async def test_values_round_trip_exactly(alice: ClientCaller, value: object) -> None:
    await alice.set("USER", {"v": value})

    found = (await alice.get("USER"))["data"]
    # Compared as JSON text: 1.0 == 1 in Python, but not on the wire.
    assert json.dumps(found) == json.dumps({"v": value})


async def test_nested_fields_read_the_same_documents(
    app: AppCaller, room: str, alice: ClientCaller
) -> None:
    await alice.set("ROOM", {"r": 1})
    await alice.set("USER", {"u": 1})
    await alice.set("SESSION", {"s": 1})
    await app.set("OWNER", {"o": 1}, target={"ownerRef": "owner-1"})
    await app.set("APP", {"a": 1})

    found = await app.run(
        """query($r: ID!, $c: Int!) {
          application { customData { data } }
          room(roomId: $r) {
            customData { data }
            owner { customData { data } }
            sessions { confNum customData { data } }
          }
          session(confNum: $c) { participants { user { customData { data } } } }
        }""",
        r=room,
        c=alice.who.conf_num,
    )

    assert found["application"]["customData"]["data"] == {"a": 1}
    assert found["room"]["customData"]["data"] == {"r": 1}
    assert found["room"]["owner"]["customData"]["data"] == {"o": 1}
    assert found["room"]["sessions"][0]["customData"]["data"] == {"s": 1}
    participant = found["session"]["participants"][0]
    assert participant["user"]["customData"]["data"] == {"u": 1}


async def test_nested_fields_apply_the_permission_table(
    app: AppCaller, room: str, alice: ClientCaller
) -> None:
    bob = await app.join(room, "bob")
    await bob.set("USER", {"secret": 1})

    error = await alice.refused(
        """query($c: Int!) {
          session(confNum: $c) { participants { userRef user { customData { data } } } }
        }""",
        c=alice.who.conf_num,
    )

    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"][-1] == "customData"


async def test_join_returns_every_readable_document(
    app: AppCaller, room: str, alice: ClientCaller
) -> None:
    await app.set("APP", {"a": 1})
    await app.set("OWNER", {"o": 1}, target={"ownerRef": "owner-1"})
    await alice.set("ROOM", {"r": 1})
    await app.set("USER", {"theme": "dark"}, target={"userRef": "alice"})
    token = await app.token(room, "alice")

    joined = await alice.run(
        """mutation($t: String!) { joinRoom(token: $t) {
             clientId session { confNum }
             customData { app room owner user session
                          revisions { app room owner user session } } } }""",
        t=token,
    )

    snapshot = joined["joinRoom"]["customData"]
    assert joined["joinRoom"]["clientId"] != alice.who.client_id
    assert joined["joinRoom"]["session"]["confNum"] == alice.who.conf_num
    assert snapshot["app"] == {"a": 1}
    assert snapshot["owner"] == {"o": 1}
    assert snapshot["room"] == {"r": 1}
    assert snapshot["user"] == {"theme": "dark"}
    assert snapshot["session"] == {}
    assert snapshot["revisions"] == {
        "app": 1,
        "room": 1,
        "owner": 1,
        "user": 1,
        "session": 0,
    }


# Paging cursors: anything a previous page could not have returned is the
# caller's mistake, never a server error.


@pytest.mark.parametrize(
    "after",
    [
        "99999999999999999999999",
        "9223372036854775808",
        "9" * 5000,
        "0",
        "-1",
        "+1",
        " 1",
        "1_0",
        "١",
        "",
    ],
)
async def test_session_page_cursor_that_no_read_returns_is_bad_input(
    app: AppCaller, room: str, alice: ClientCaller, after: str
) -> None:
    error = await app.get_refused(
        "SESSION", session="ALL", target={"roomId": room}, after=after
    )

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_session_page_cursor_at_the_largest_conf_num_reads_on(
    app: AppCaller, room: str, alice: ClientCaller
) -> None:
    page = await app.get(
        "SESSION", session="ALL", target={"roomId": room}, after=str(2**63 - 1)
    )

    assert [session["confNum"] for session in page["sessions"]] == [alice.who.conf_num]


@pytest.mark.parametrize("after", [0, -1, -(2**31)])
async def test_room_sessions_cursor_below_one_is_bad_input(
    app: AppCaller, room: str, after: int
) -> None:
    code = await app.code(
        "query($r: ID!, $a: Int) { room(roomId: $r) { sessions(after: $a) "
        "{ confNum } } }",
        r=room,
        a=after,
    )

    assert code == "BAD_USER_INPUT"


@pytest.mark.parametrize("after", ["room_é", "room_\ud800"])
async def test_rooms_cursor_past_ascii_is_bad_input(app: AppCaller, after: str) -> None:
    query = "query($a: ID) { application { rooms(after: $a) { roomId } } }"

    error = await _posted_error(app, query, a=after)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_session_page_cursor_with_a_lone_surrogate_is_bad_input(
    app: AppCaller, room: str
) -> None:
    variables = {"scope": "SESSION", "session": "ALL", "after": "1\ud800"}

    error = await _posted_error(app, GET, target={"roomId": room}, **variables)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def _posted_error(app: AppCaller, query: str, **variables: Any) -> Any:
    """Post a lone surrogate escaped in JSON, which gql cannot; return the error."""
    body = json.dumps({"query": query, "variables": variables})
    headers = {"content-type": "application/json", **app.headers}

    async with httpx.AsyncClient() as http:
        response = await http.post(app.url, content=body, headers=headers)

    return response.json()["errors"][0]
