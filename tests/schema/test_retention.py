"""Retention: data is served until the second its period ends, then never again,
and the purge removes exactly what has expired."""

from __future__ import annotations

import asyncio

import pytest

from models.clock import ManualClock
from models.retention import purge, resume_application, suspend_application
from tests.support import AppCaller, ClientCaller, Server

DAY = 24 * 3600
WEEK = 7 * DAY


async def _ended_session(app: AppCaller, room: str, data: dict[str, object]) -> int:
    """Hold a session with ``data`` and end it now; return its number."""
    client = await app.join(room, "host")
    await client.set("SESSION", data)
    await app.end_session(client.who.conf_num)
    return client.who.conf_num


async def test_session_data_is_served_the_second_before_it_expires(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    conf_num = await _ended_session(app, room, {"topic": "A"})

    clock.advance(WEEK - 1)

    assert (await app.get("SESSION", confNum=conf_num))["data"] == {"topic": "A"}
    last = await app.get("SESSION", session="LAST", target={"roomId": room})
    assert last["confNum"] == conf_num


async def test_session_data_is_not_served_the_second_after_it_expires(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    conf_num = await _ended_session(app, room, {"topic": "A"})

    clock.advance(WEEK + 1)

    error = await app.get_refused("SESSION", confNum=conf_num)
    last = await app.get("SESSION", session="LAST", target={"roomId": room})
    every = await app.get("SESSION", session="ALL", target={"roomId": room})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (last["confNum"], last["data"]) == (None, None)
    assert every["sessions"] == []
    session = "query($c: Int!) { session(confNum: $c) { live } }"
    assert await app.code(session, c=conf_num) == "NOT_FOUND"


async def test_expired_session_data_cannot_be_written(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    conf_num = await _ended_session(app, room, {"topic": "A"})
    clock.advance(WEEK + 1)

    error = await app.set_refused("SESSION", {"late": 1}, target={"confNum": conf_num})

    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_session_ended_by_its_grace_period_expires_from_that_end(
    app: AppCaller, room: str, clock: ManualClock
) -> None:
    client = await app.join(room, "host")
    await client.set("SESSION", {"topic": "A"})
    await client.run("mutation { leaveRoom { leftAt } }")

    clock.advance(30 + WEEK - 1)
    served = await app.get("SESSION", confNum=client.who.conf_num)
    clock.advance(2)
    error = await app.get_refused("SESSION", confNum=client.who.conf_num)

    assert served["data"] == {"topic": "A"}
    assert error["extensions"]["code"] == "NOT_FOUND"


SCOPES = {
    "APP": None,
    "ROOM": "room",
    "OWNER": {"ownerRef": "owner-1"},
    "USER": {"userRef": "alice"},
}


async def _write_every_scope(app: AppCaller, room: str) -> None:
    for scope, target in SCOPES.items():
        named = {"roomId": room} if target == "room" else target
        await app.set(scope, {"kept": scope}, target=named)


async def _read(app: AppCaller, room: str, scope: str) -> dict[str, object]:
    target = SCOPES[scope]
    named = {"roomId": room} if target == "room" else target
    return await app.get(scope, target=named)


@pytest.mark.parametrize("scope", list(SCOPES))
async def test_resuming_within_the_retention_restores_everything(
    server: Server, app: AppCaller, room: str, clock: ManualClock, scope: str
) -> None:
    await _write_every_scope(app, room)
    await suspend_application(app.app_id, server.runtime.rules)
    refused = await app.get_refused("APP")
    clock.advance(WEEK - 1)

    await resume_application(app.app_id, server.runtime.rules)

    assert refused["extensions"]["code"] == "APP_SUSPENDED"
    found = await _read(app, room, scope)
    assert (found["data"], found["revision"]) == ({"kept": scope}, 1)


@pytest.mark.parametrize("scope", list(SCOPES))
async def test_resuming_after_the_retention_finds_nothing(
    server: Server, app: AppCaller, room: str, clock: ManualClock, scope: str
) -> None:
    await _write_every_scope(app, room)
    await suspend_application(app.app_id, server.runtime.rules)
    clock.advance(WEEK + 1)

    report = await resume_application(app.app_id, server.runtime.rules)

    assert report.document_total == len(SCOPES)
    found = await _read(app, room, scope)
    assert (found["data"], found["revision"]) == ({}, 0)


async def test_purge_removes_exactly_the_expired_documents_under_live_traffic(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    other_room = await app.create_room("owner-2")
    expired = [await _ended_session(app, other_room, {"n": n}) for n in range(12)]
    clock.advance(WEEK - DAY)
    kept = [await _ended_session(app, other_room, {"n": n}) for n in range(5)]
    await _write_every_scope(app, room)
    clock.advance(DAY + 1)  # the first twelve are now past their week
    alice = await app.join(room, "alice")
    rules = server.runtime.rules

    async def traffic() -> None:
        for n in range(40):
            await alice.set("SESSION", {"live": n})
            await alice.set("ROOM", {"live": n})

    report, _ = await asyncio.gather(purge(rules, batch=5), traffic())

    assert report.by_scope() == {
        "APP": 0,
        "ROOM": 0,
        "OWNER": 0,
        "USER": 0,
        "SESSION": 12,
    }
    assert report.sessions == 12
    for conf_num in expired:
        assert (
            await app.code(
                "query($c: Int!) { session(confNum: $c) { live } }", c=conf_num
            )
            == "NOT_FOUND"
        )
    for n, conf_num in enumerate(kept):
        assert (await app.get("SESSION", confNum=conf_num))["data"] == {"n": n}
    assert (await alice.get("SESSION"))["data"] == {"live": 39}
    assert (await alice.get("ROOM"))["data"] == {"kept": "ROOM", "live": 39}


async def test_two_purges_at_once_share_the_work(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    for n in range(20):
        await _ended_session(app, room, {"n": n})
    clock.advance(WEEK + 1)
    rules = server.runtime.rules

    first, second = await asyncio.gather(purge(rules, batch=3), purge(rules, batch=4))

    assert first.document_total + second.document_total == 20
    assert first.sessions + second.sessions == 20
    again = await purge(rules)
    assert (again.document_total, again.sessions) == (0, 0)


async def test_a_dry_run_counts_what_a_purge_removes_and_removes_nothing(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    for n in range(3):
        await _ended_session(app, room, {"n": n})
    client = await app.join(room, "late")
    await client.set("SESSION", {"n": 3})
    await client.run("mutation { leaveRoom { leftAt } }")  # ends by grace, unwritten
    clock.advance(30 + WEEK + 1)
    rules = server.runtime.rules

    preview = await purge(rules, dry_run=True)
    still = await app.get("SESSION", session="ALL", target={"roomId": room})
    real = await purge(rules)

    assert preview.as_dict() == real.as_dict()
    assert preview.by_scope()["SESSION"] == 4
    assert still["sessions"] == []  # not served, though not yet removed


async def test_purge_drops_change_log_entries_past_their_age(
    server: Server, app: AppCaller, alice: ClientCaller, clock: ManualClock
) -> None:
    for n in range(5):
        await alice.set("USER", {"n": n})
    clock.advance(DAY + 1)

    report = await purge(server.runtime.rules)

    assert report.change_log_entries == 5
    user = await app.get("USER", target={"userRef": "alice"})
    assert (user["data"], user["revision"]) == ({"n": 4}, 5)


async def test_a_suspended_applications_data_is_purged_after_its_period(
    server: Server, app: AppCaller, room: str, clock: ManualClock
) -> None:
    other = await server.application("globex")
    await _write_every_scope(app, room)
    await other.set("APP", {"other": 1})
    await suspend_application(app.app_id, server.runtime.rules)
    clock.advance(WEEK + 1)

    report = await purge(server.runtime.rules)

    assert report.by_scope() == {
        "APP": 1,
        "ROOM": 1,
        "OWNER": 1,
        "USER": 1,
        "SESSION": 0,
    }
    assert (await other.get("APP"))["data"] == {"other": 1}
