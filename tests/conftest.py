"""Fixtures: settings → app → running server → callers; a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.server import create_app
from app.settings import Settings
from models.clock import ManualClock
from tests.support import AppCaller, ClientCaller, Server, running

SECRET = "test-secret-that-is-long-enough-for-hs256-keys"


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when a test moves it."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite file for this test."""
    return f"sqlite://{tmp_path}/store.sqlite3"


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The server's settings for this test, changed by ``@pytest.mark.settings(…)``."""
    # Test clients keep connections idle for a while (a hundred of them join
    # one by one, then write at once); a long keep-alive keeps them usable.
    base = Settings(
        database_url=database_url, secret=SECRET, http_keep_alive_seconds=120
    )
    marker = request.node.get_closest_marker("settings")
    return base.replace(**marker.kwargs) if marker else base


@pytest.fixture
async def server(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    """The real app, served by uvicorn in this process on a free port."""
    async with running(create_app(settings, clock), clock, settings) as under_test:
        yield under_test


@pytest.fixture
async def app(server: Server) -> AppCaller:
    """An application registered on the server, calling with its key."""
    return await server.application("acme")


@pytest.fixture
async def room(app: AppCaller) -> str:
    """A room of the application, owned by owner-1."""
    return await app.create_room("owner-1")


@pytest.fixture
async def alice(app: AppCaller, room: str) -> ClientCaller:
    """alice, a PARTICIPANT in the room's live session."""
    return await app.join(room, "alice")
