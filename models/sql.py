"""Hand-written SQL for the few queries every request makes.

The ORM builds each query's SQL anew, and the SQLite driver hands each query
to a worker thread and back; under load those two cost far more than the
indexed lookups themselves (measured with a profiler: about 0.25 ms a query
against a few microseconds in SQLite). These statements are therefore fixed
text with parameters, and on SQLite they run on a read-only connection of
their own, directly on the event loop: a lookup by key blocks the loop for
microseconds, less than the thread hand-off it replaces. In WAL mode that
connection reads the last committed state beside the writer. Statements use
``?`` placeholders, rewritten as ``$n`` for PostgreSQL.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from tortoise.connection import get_connection
from tortoise.exceptions import BaseORMException

from models.errors import StorageError

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\?")
# A read that finds the file locked (a checkpoint, rarely) waits this long,
# then takes the ordinary, asynchronous path instead.
_LOCAL_BUSY_TIMEOUT_MS = 20


class LocalReader:
    """A read-only SQLite connection used from the event loop's thread."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None
        )
        self._connection.row_factory = sqlite3.Row
        self._connection.execute(f"PRAGMA busy_timeout = {_LOCAL_BUSY_TIMEOUT_MS}")

    def fetch(self, sql: str, params: tuple[object, ...]) -> list[dict[str, Any]]:
        """Run one statement now; raise ``sqlite3.OperationalError`` if locked."""
        return [dict(row) for row in self._connection.execute(sql, params)]

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


_connection_name = "default"
_reader: LocalReader | None = None


def use(connection_name: str, sqlite_file: Path | None) -> None:
    """Read through this Tortoise connection, and locally from this SQLite file."""
    global _connection_name, _reader
    stop_local_reads()
    _connection_name = connection_name
    if sqlite_file is not None:
        _reader = LocalReader(sqlite_file)


def stop_local_reads() -> None:
    """Stop reading locally (and close the local connection)."""
    global _reader
    if _reader is not None:
        _reader.close()
        _reader = None


async def fetch(sql: str, *params: object) -> list[dict[str, Any]]:
    """Run one read-only statement; return its rows as dictionaries."""
    if _reader is not None:
        try:
            return _reader.fetch(sql, params)
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


def moment(value: object) -> datetime | None:
    """Read a timestamp column as a raw driver returns it."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
