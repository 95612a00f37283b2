"""The two ways a document write reaches SQLite store the same thing.

A write first tries a transaction on the event loop's own connection; when
another connection holds the write lock it goes through the ORM instead,
waiting off the loop. Both must leave identical rows, prune the change log
alike, and never block the loop while the lock is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import models.documents
from models.applications import create_application
from models.changes import PRUNE_EVERY, ChangeLogPolicy
from models.clock import ManualClock
from models.database import close_database, open_database
from models.documents import DocumentKey, Merge, read_document, write_document
from models.errors import StorageError
from models.principals import Author
from models.rules import Rules
from models.sql import CHECKPOINT_EVERY
from models.tables import ChangeLogEntry, Document, Role, Scope

START = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
AUTHOR = Author("c1", "alice", "Alice", Role.PARTICIPANT)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "documents.sqlite3"
    await open_database(f"sqlite://{path}")
    try:
        yield path
    finally:
        await close_database()


@pytest.fixture
async def app_id(database: Path) -> str:
    created = await create_application("test", "not a real hash", START)
    return created.id


def _rows(path: Path, table: str, target: str) -> list[dict[str, object]]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            f"SELECT * FROM {table} WHERE target = ? ORDER BY id", (target,)
        )
        return [
            {k: v for k, v in dict(row).items() if k not in ("id", "target")}
            for row in found
        ]


async def _write_three(key: DocumentKey, rules: Rules) -> None:
    clock = rules.clock
    assert isinstance(clock, ManualClock)
    await write_document(key, Merge({"a": 1, "b": {"c": 2}}), AUTHOR, 0, rules)
    clock.advance(1)
    await write_document(key, Merge({"b": {"c": None}, "d": "é"}), AUTHOR, 1, rules)
    clock.advance(-START.microsecond / 1e6)  # a whole second
    await write_document(key, Merge({"a": None}), Author(), 2, rules)


async def test_both_paths_store_identical_rows(
    database: Path, app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, orm = (DocumentKey(app_id, Scope.ROOM, room) for room in ("r1", "r2"))
    await _write_three(local, Rules(clock=ManualClock(START)))
    monkeypatch.setattr(models.documents, "local_connection", lambda: None)
    await _write_three(orm, Rules(clock=ManualClock(START)))
    monkeypatch.undo()

    assert _rows(database, "documents", "r1") == _rows(database, "documents", "r2")
    assert _rows(database, "changes", "r1") == _rows(database, "changes", "r2")
    assert len(_rows(database, "changes", "r1")) == 3
    stored = await Document.get(app_id=app_id, scope=Scope.ROOM, target="r1")
    snapshot = await read_document(local)
    whole_second = START.replace(microsecond=0) + timedelta(seconds=1)
    assert stored.updated_at == snapshot.updated_at == whole_second
    assert snapshot.data == {"b": {}, "d": "é"}


async def test_local_writes_prune_the_change_log_by_age_and_count(
    app_id: str,
) -> None:
    clock = ManualClock(START)
    policy = ChangeLogPolicy(max_entries=40, max_age=timedelta(hours=1))
    rules = Rules(clock=clock, change_log=policy)
    key = DocumentKey(app_id, Scope.ROOM, "r1")
    for n in range(1, PRUNE_EVERY + 1):
        if n == 11:  # the first ten are more than an hour old at the prune
            clock.advance(2 * 3600)
        await write_document(key, Merge({"n": n}), AUTHOR, None, rules)

    kept = await ChangeLogEntry.filter(target="r1").order_by("revision")
    # The count bound keeps revisions 25 to 64; the age bound alone, 11 to 64.
    assert [entry.revision for entry in kept] == list(range(25, PRUNE_EVERY + 1))


@contextlib.contextmanager
def _write_lock_held_elsewhere(path: Path) -> Iterator[threading.Event]:
    """Hold SQLite's write lock from another connection until the event is set."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            taken.set()
            release.wait(10)
            db.execute("COMMIT")

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    try:
        yield release
    finally:
        release.set()
        holder.join()


async def test_a_write_finding_the_lock_taken_waits_off_the_loop(
    database: Path, app_id: str
) -> None:
    rules = Rules(clock=ManualClock(START))
    key = DocumentKey(app_id, Scope.ROOM, "r1")
    with _write_lock_held_elsewhere(database) as release:
        started = time.monotonic()
        write = asyncio.create_task(
            write_document(key, Merge({"x": 1}), AUTHOR, None, rules)
        )
        await asyncio.sleep(0.2)
        assert (await read_document(key)).revision == 0
        # A writer waiting for the lock on the loop would have stalled it for
        # SQLite's busy timeout (seconds) before this line.
        assert time.monotonic() - started < 2
        assert not write.done()
        release.set()
        written = await asyncio.wait_for(write, 10)

    assert written.snapshot.revision == 1
    assert (await read_document(key)).data == {"x": 1}


def _size(path: Path) -> int:
    return os.path.getsize(path)


async def test_local_writes_reach_the_database_file_through_checkpoints(
    database: Path, app_id: str
) -> None:
    """The loop's connection never checkpoints; every so many commits a thread does."""
    rules = Rules(clock=ManualClock(START))
    before = _size(database)
    for n in range(3 * CHECKPOINT_EVERY):
        key = DocumentKey(app_id, Scope.USER, f"user-{n}")
        await write_document(key, Merge({"pad": "x" * 2000}), AUTHOR, None, rules)

    # 300 documents of 2 KB: only checkpoints move them from the log to the file.
    for _ in range(50):  # the last checkpoint may still be running
        if _size(database) - before > CHECKPOINT_EVERY * 2000:
            break
        await asyncio.sleep(0.1)
    assert _size(database) - before > CHECKPOINT_EVERY * 2000


async def test_a_write_that_times_out_on_the_lock_leaves_later_writes_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the lock past the busy timeout fails one write only."""
    path = tmp_path / "busy.sqlite3"
    await open_database(f"sqlite://{path}?busy_timeout=200")
    try:
        app = await create_application("test", "not a real hash", START)
        rules = Rules(clock=ManualClock(START))
        key = DocumentKey(app.id, Scope.ROOM, "r1")
        with _write_lock_held_elsewhere(path), pytest.raises(StorageError):
            await write_document(key, Merge({"x": 1}), AUTHOR, None, rules)

        # Both ways of writing work again once the lock is free.
        await asyncio.wait_for(
            write_document(key, Merge({"y": 2}), AUTHOR, None, rules), 5
        )
        monkeypatch.setattr(models.documents, "local_connection", lambda: None)
        written = await asyncio.wait_for(
            write_document(key, Merge({"z": 3}), AUTHOR, None, rules), 5
        )
        assert written.snapshot.data == {"y": 2, "z": 3}
    finally:
        await close_database()
