"""Tortoise's SQLite client, with write transactions that take the lock up front.

Tortoise begins SQLite transactions with a plain (deferred) ``BEGIN``: the
write lock is only requested at the first write, and two processes that both
read first can then deadlock while upgrading, one of them failing with
"database is locked". ``BEGIN IMMEDIATE`` takes the write lock at the start,
so writers queue on SQLite's busy timeout instead (SQLite documentation,
"Transactions", section 2.2). Within one process Tortoise already runs one
transaction at a time on its single connection, under an asyncio lock.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that starts with ``BEGIN IMMEDIATE``."""

    async def begin(self) -> None:
        """Start the transaction holding SQLite's write lock."""
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ReleasingTransactionContext(SqliteTransactionContext):
    """Tortoise's transaction context, letting go of its lock when begin fails.

    Tortoise's own ``__aenter__`` keeps the connection's lock when ``BEGIN``
    fails (another process held the write lock past the busy timeout, say):
    its ``__aexit__`` never runs, and every later transaction of the process
    waits for that lock forever.
    """

    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    """Tortoise's SQLite client whose transactions begin immediately."""

    def _in_transaction(self) -> TransactionContext:
        wrapper = ImmediateTransactionWrapper(self)
        return ReleasingTransactionContext(wrapper, self._lock)


client_class = ImmediateSqliteClient
