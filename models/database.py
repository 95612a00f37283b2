"""Opening, migrating and closing the database, and the storage-error boundary."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.context import TortoiseContext
from tortoise.exceptions import BaseORMException, ConfigurationError
from tortoise.migrations.executor import MigrationExecutor
from tortoise.transactions import in_transaction

from models import sql
from models.errors import StorageError

logger = logging.getLogger(__name__)

APP_LABEL = "datastore"
CONNECTION = "default"
# Milliseconds a writer waits for another process's write lock on SQLite.
SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseURLError(ValueError):
    """The database URL cannot be used."""


def tortoise_config(url: str) -> dict[str, Any]:
    """Return Tortoise's configuration for the database at ``url``."""
    return {
        "connections": {CONNECTION: _connection_config(url)},
        "apps": {
            APP_LABEL: {
                "models": ["models.tables"],
                "migrations": "models.migrations",
                "default_connection": CONNECTION,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def check_database_url(url: str) -> None:
    """Refuse a database URL this version cannot use, before connecting to it."""
    scheme = url.partition("://")[0]
    if scheme != "sqlite":
        raise DatabaseURLError(
            f"this version stores data in SQLite only (sqlite://PATH), not {scheme}"
        )
    path = sqlite_path(url)
    assert path is not None
    if str(path) != ":memory:" and not path.parent.is_dir():
        raise DatabaseURLError(f"the directory of {path} does not exist")


def sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL, or ``None`` for other databases."""
    if not url.startswith("sqlite:"):
        return None
    return Path(_connection_config(url)["credentials"]["file_path"])


def _connection_config(url: str) -> dict[str, Any]:
    try:
        config = expand_db_url(url)
    except ConfigurationError as exc:
        raise DatabaseURLError(f"cannot use database URL {url!r}: {exc}") from exc
    if config["engine"] == "tortoise.backends.sqlite":
        config["engine"] = "models.sqlite_backend"
        credentials = config["credentials"]
        credentials.setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
        credentials.setdefault("synchronous", "NORMAL")
    return config


async def open_database(url: str) -> TortoiseContext:
    """Connect to the database at ``url`` and bring its schema up to date."""
    check_database_url(url)
    config = tortoise_config(url)
    # The ASGI lifespan and the requests run in different tasks, so the
    # context must be reachable from all of them, not only through a contextvar.
    context = await Tortoise.init(config=config, _enable_global_fallback=True)
    await migrate(config)
    path = sqlite_path(url)
    sql.use(CONNECTION, None if path is None or str(path) == ":memory:" else path)
    return context


async def migrate(config: dict[str, Any]) -> None:
    """Apply every migration that the database has not had yet."""
    executor = MigrationExecutor(get_connection(CONNECTION), config["apps"])
    await executor.migrate(progress=_log_migration)


async def close_database() -> None:
    """Close every connection, so that aiosqlite's threads let the process exit."""
    sql.stop_local()
    await Tortoise.close_connections()


def _log_migration(event: str, app_label: str, name: str) -> None:
    if event == "apply_done":
        logger.info("Applied migration %s.%s", app_label, name)


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[TransactionalDBClient]:
    """Run a block as one write transaction, with storage errors translated."""
    with storage_errors():
        async with in_transaction(CONNECTION) as connection:
            yield connection


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """Translate ORM and driver errors into ``StorageError``."""
    try:
        yield
    except BaseORMException as exc:
        raise StorageError(f"the database failed: {exc}") from exc


async def ping() -> bool:
    """Tell whether the database answers a trivial query."""
    try:
        await get_connection(CONNECTION).execute_query("SELECT 1")
    except Exception:  # any failure at all means "not ready"
        logger.warning("The database did not answer", exc_info=True)
        return False
    return True


# What Tortoise's own command (``tortoise makemigrations``) reads, through
# ``[tool.tortoise]`` in pyproject.toml, to write new migrations.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
