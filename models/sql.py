"""Hand-written SQL for the few queries every request makes.

The ORM builds each query's SQL anew, and the SQLite driver hands each query
to a worker thread and back; under load those two cost far more than the
indexed lookups themselves (measured with a profiler: about 0.25 ms a query
against a few microseconds in SQLite). These statements are therefore fixed
text with parameters, and on SQLite they run on a connection of the loop's
own (``LocalConnection``), directly on the event loop: a lookup by key blocks
the loop for microseconds, less than the thread hand-off it replaces. In WAL
mode it reads the last committed state beside any writer. Statements use
``?`` placeholders, rewritten as ``$n`` for PostgreSQL.

Document writes on SQLite likewise run there, as one short transaction: every
statement of it runs without yielding, so the write lock is held for the
microseconds SQLite needs instead of across several thread hand-offs, each
waiting its turn on a busy loop. That connection never waits for the file:
a read that finds it busy goes through Tortoise instead, and a write that
finds the lock taken (by the ORM's connection, or another process) raises
``WriteLockBusy``, and the caller takes the ORM's path, which waits off the
loop. Nor does it copy the write-ahead log back into the database
itself (a checkpoint syncs the file to disk, and stalled the loop for up to
27 ms): every ``CHECKPOINT_EVERY`` commits, a thread does it instead, unawaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.connection import get_connection
from tortoise.exceptions import BaseORMException

from models.errors import StorageError

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\?")
# Local commits between two checkpoints of the write-ahead log.
CHECKPOINT_EVERY = 100


class WriteLockBusy(Exception):
    """Another connection holds SQLite's write lock at the moment."""


class LocalConnection:
    """The event loop's own SQLite connection: single reads and short transactions."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection = sqlite3.connect(str(path), isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        # Never wait on the loop: a busy file sends the statement the other way.
        self._connection.execute("PRAGMA busy_timeout = 0")
        self._connection.execute("PRAGMA synchronous = NORMAL")
        self._connection.execute("PRAGMA wal_autocheckpoint = 0")
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    def read(self, sql: str, params: tuple[object, ...]) -> list[dict[str, Any]]:
        """Run one statement now; raise ``sqlite3.OperationalError`` if busy."""
        return [dict(row) for row in self._connection.execute(sql, params)]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[LocalConnection]:
        """Hold the write lock for the block: commit after it, roll back on error.

        Raises ``WriteLockBusy``, having done nothing, if the lock is taken.
        The block must not await: nothing else may run inside the transaction.
        """
        try:
            self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise WriteLockBusy() from exc
            raise StorageError(f"the database failed: {exc}") from exc
        try:
            yield self
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        try:
            self._connection.execute("COMMIT")
        except sqlite3.Error as exc:
            self._connection.execute("ROLLBACK")
            raise StorageError(f"the database failed: {exc}") from exc
        self._commits += 1
        self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        """Now and then, start copying the write-ahead log into the database."""
        running = self._checkpoint is not None and not self._checkpoint.done()
        if self._commits < CHECKPOINT_EVERY or running:
            return
        self._commits = 0
        loop = asyncio.get_running_loop()
        self._checkpoint = loop.run_in_executor(None, _checkpoint, self._path)

    def fetch(self, sql: str, *params: object) -> list[dict[str, Any]]:
        """Run one statement of the transaction and return its rows."""
        try:
            return self.read(sql, params)
        except sqlite3.Error as exc:
            raise StorageError(f"the database failed: {exc}") from exc

    def execute(self, sql: str, *params: object) -> None:
        """Run one statement of the transaction."""
        self.fetch(sql, *params)

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def _checkpoint(path: Path) -> None:
    # PASSIVE: copy what no reader still needs; never wait for or block anyone.
    try:
        with contextlib.closing(sqlite3.connect(str(path))) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        logger.warning("Could not checkpoint the write-ahead log", exc_info=True)


_connection_name = "default"
_local: LocalConnection | None = None


def use(connection_name: str, sqlite_file: Path | None) -> None:
    """Use this Tortoise connection, and a local connection to this SQLite file."""
    global _connection_name, _local
    stop_local()
    _connection_name = connection_name
    if sqlite_file is not None:
        _local = LocalConnection(sqlite_file)


def stop_local() -> None:
    """Stop reading and writing locally (and close the local connection)."""
    global _local
    if _local is not None:
        _local.close()
        _local = None


def local_connection() -> LocalConnection | None:
    """Return the loop's own connection, if the database is a SQLite file."""
    return _local


async def fetch(sql: str, *params: object) -> list[dict[str, Any]]:
    """Run one read-only statement; return its rows as dictionaries."""
    if _local is not None:
        try:
            return _local.read(sql, params)
        except sqlite3.OperationalError:
            logger.debug("The local read found the file busy; reading through Tortoise")
        except sqlite3.Error as exc:
            raise StorageError(f"the database failed: {exc}") from exc
    connection = get_connection(_connection_name)
    if connection.capabilities.dialect == "postgres":
        numbers = iter(range(1, len(params) + 1))
        sql = _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", sql)
    try:
        return await connection.execute_query_dict(sql, list(params))
    except BaseORMException as exc:
        raise StorageError(f"the database failed: {exc}") from exc


def stored_time(value: datetime) -> str:
    """Write a timestamp as Tortoise's SQLite backend stores it (UTC, ISO 8601)."""
    return value.astimezone(UTC).isoformat(" ")


def moment(value: object) -> datetime | None:
    """Read a timestamp column as a raw driver returns it."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
