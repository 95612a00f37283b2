"""Concurrent writes to one document are serialised: none is lost, none fails.

Field reports CONC-01 (lost keys, first-insert race) and CONC-02 (lock and
nested-transaction errors under bursts) on the embedded SQLite store.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap

import pytest

from app.settings import Settings
from models.clock import ManualClock
from tests.support import AppCaller, ClientCaller, Server


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_100_clients_merging_into_one_room_document_keep_every_key(
    app: AppCaller, caplog: pytest.LogCaptureFixture
) -> None:
    """DESIGN §3 and CONC-01 step 1: 100 writers, one HTTP connection each."""
    room = await app.create_room()
    alice_token = await app.token(room, "alice")
    bob_token = await app.token(room, "bob")
    writers = [await app._server.join(alice_token) for _ in range(50)]
    writers += [await app._server.join(bob_token) for _ in range(50)]

    results = await asyncio.gather(
        *(writer.set("ROOM", {f"key_{i}": i}) for i, writer in enumerate(writers))
    )

    found = await app.get("ROOM", target={"roomId": room})
    assert sorted(r["revision"] for r in results) == list(range(1, 101))
    assert found["data"] == {f"key_{i}": i for i in range(100)}
    assert found["revision"] == 100
    _no_errors_logged(caplog)


async def test_two_first_writes_to_a_new_session_document_both_land(
    app: AppCaller, clock: ManualClock
) -> None:
    """CONC-01 step 3: the first insert of a document races, 20 times."""
    room = await app.create_room()
    for _ in range(20):
        alice, bob = await app.join(room, "alice"), await app.join(room, "bob")

        await asyncio.gather(
            alice.set("SESSION", {"x": 1}), bob.set("SESSION", {"y": 2})
        )

        found = await app.get("SESSION", confNum=alice.who.conf_num)
        assert (found["data"], found["revision"]) == ({"x": 1, "y": 2}, 2)
        await app.end_session(alice.who.conf_num)


async def test_bursts_of_mixed_reads_and_writes_all_succeed(
    app: AppCaller, caplog: pytest.LogCaptureFixture
) -> None:
    """CONC-02: 10 rounds of 90 simultaneous requests from 30 users."""
    room = await app.create_room()
    users = [await app.join(room, f"u{n:02}") for n in range(30)]

    for round_number in range(1, 11):
        await asyncio.gather(
            *(u.set("USER", {"hand": True, "round": round_number}) for u in users),
            *(
                u.set("SESSION", {f"{u.who.user_ref}_round": round_number})
                for u in users
            ),
            *(u.get("SESSION", session="CURRENT") for u in users),
        )

    session = await app.get("SESSION", confNum=users[0].who.conf_num)
    assert session["data"] == {f"u{n:02}_round": 10 for n in range(30)}
    for user in users:
        assert (await user.get("USER"))["data"] == {"hand": True, "round": 10}
    _no_errors_logged(caplog)


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from models.database import open_database, close_database
    from models.documents import DocumentKey, Merge, write_document
    from models.principals import Author
    from models.rules import Rules
    from models.tables import Scope

    async def main(url, app_id, room_id, count):
        await open_database(url)
        try:
            key = DocumentKey(app_id, Scope.ROOM, room_id)
            for i in range(count):
                await write_document(key, Merge({"other": {str(i): i}}), Author(),
                                     None, Rules())
        finally:
            await close_database()

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    """
)


async def test_another_process_writing_the_same_file_loses_nothing(
    settings: Settings, server: Server, app: AppCaller
) -> None:
    """A second process (an operator's command, a second server) on one SQLite file.

    Write transactions take SQLite's lock up front (BEGIN IMMEDIATE), so the two
    processes queue on the busy timeout instead of failing with "database is
    locked" when both try to upgrade a read lock.
    """
    room = await app.create_room()
    client = await app.join(room, "alice")
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        settings.database_url,
        app.app_id,
        room,
        "100",
        stderr=subprocess.PIPE,
    )

    for i in range(100):
        await client.set("ROOM", {"ours": {str(i): i}})
    _, stderr = await other.communicate()

    found = await app.get("ROOM", target={"roomId": room})
    assert other.returncode == 0, stderr.decode()
    assert len(found["data"]["ours"]) == len(found["data"]["other"]) == 100
    assert found["revision"] == 200


async def test_concurrent_joins_to_an_empty_room_start_one_session(
    app: AppCaller,
) -> None:
    room = await app.create_room()
    tokens = [await app.token(room, f"user{n}") for n in range(20)]

    clients: list[ClientCaller] = await asyncio.gather(
        *(app._server.join(token) for token in tokens)
    )

    assert len({client.who.conf_num for client in clients}) == 1
