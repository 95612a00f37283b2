"""How long a purge takes on a large database: 100,000 documents, 10% expired.

    python -m bench.purge_scale [--documents N] [--expired-share 0.1]

Builds a fresh SQLite database in a temporary directory: one application,
rooms with USER, OWNER and ROOM documents, and sessions with SESSION
documents (one change log entry per document). A tenth of the documents
belong to sessions that ended more than the retention period ago. It then
runs one purge, as the server's job would, and prints what it removed and
how long that took, with a write to a live document timed in the middle.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from models.applications import create_application
from models.changes import ChangeLogPolicy
from models.clock import ManualClock
from models.database import close_database, open_database
from models.documents import DocumentKey, Merge, write_document
from models.principals import Author
from models.retention import purge
from models.rooms import create_room
from models.rules import Rules
from models.tables import ChangeLogEntry, Document, Scope, Session

NOW = datetime(2026, 12, 1, tzinfo=UTC)
BATCH = 5000


async def build(documents: int, expired_share: float) -> tuple[str, str]:
    """Fill the database; return the application and a room with live data."""
    app = await create_application("bench", "unused", NOW)
    room = await create_room(app.id, "bench", "owner-0", NOW)
    expired = int(documents * expired_share)
    sessions = await _sessions(room.id, expired, ended=NOW - timedelta(days=8))
    recent = await _sessions(room.id, expired, ended=NOW - timedelta(days=1))
    rows = [(Scope.SESSION, str(n)) for n in sessions + recent]
    rows += [(Scope.USER, f"user-{n}") for n in range(documents - len(rows))]
    for start in range(0, len(rows), BATCH):
        await _documents(app.id, rows[start : start + BATCH])
    return app.id, room.id


async def _sessions(room_id: str, count: int, ended: datetime) -> list[int]:
    """Make ``count`` sessions of the room that ended at ``ended``."""
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        await Session.bulk_create(
            [
                Session(room_id=room_id, started_at=ended, ended_at=ended)
                for _ in range(size)
            ]
        )
    return [s.conf_num for s in await Session.filter(ended_at=ended).only("conf_num")]


async def _documents(app_id: str, rows: list[tuple[Scope, str]]) -> None:
    await Document.bulk_create(
        [
            Document(
                app_id=app_id,
                scope=scope,
                target=target,
                data='{"k":1}',
                authors="{}",
                revision=1,
                created_at=NOW,
                updated_at=NOW,
            )
            for scope, target in rows
        ]
    )
    await ChangeLogEntry.bulk_create(
        [
            ChangeLogEntry(
                app_id=app_id,
                scope=scope,
                target=target,
                revision=1,
                patch='{"k":1}',
                author="{}",
                at=NOW,
            )
            for scope, target in rows
        ]
    )


async def main(documents: int, expired_share: float) -> None:
    """Build, purge, report."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{Path(folder) / 'purge.sqlite3'}"
        # The change log's age limit is raised so that only expiry removes rows.
        rules = Rules(
            clock=ManualClock(NOW),
            change_log=ChangeLogPolicy(max_age=timedelta(days=3650)),
        )
        await open_database(url)
        try:
            started = time.perf_counter()
            app_id, room_id = await build(documents, expired_share)
            built = time.perf_counter() - started
            await _purge_with_traffic(rules, app_id, room_id, built, documents)
        finally:
            await close_database()


async def _purge_with_traffic(
    rules: Rules, app_id: str, room_id: str, built: float, documents: int
) -> None:
    live = DocumentKey(app_id, Scope.ROOM, room_id)
    waits: list[float] = []

    async def traffic() -> None:
        while not done.is_set():
            began = time.perf_counter()
            await write_document(live, Merge({"t": began}), Author(), None, rules)
            waits.append(time.perf_counter() - began)
            await asyncio.sleep(0.01)

    done = asyncio.Event()
    writer = asyncio.create_task(traffic())
    started = time.perf_counter()
    report = await purge(rules)
    took = time.perf_counter() - started
    done.set()
    await writer
    left = await Document.all().count()
    print(f"built {documents} documents in {built:.1f} s")
    print(f"purge removed {report.as_dict()} in {took:.2f} s")
    print(f"documents left: {left}")
    median = sorted(waits)[len(waits) // 2]
    print(
        f"live writes during the purge: {len(waits)}, slowest "
        f"{max(waits) * 1000:.0f} ms, median {median * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--expired-share", type=float, default=0.1)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.documents, arguments.expired_share))
