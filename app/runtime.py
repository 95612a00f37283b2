"""What the server holds while it runs: settings, rules, schema, tokens, database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path

from app.jobs import PurgeJob, StandingWatcher, run_every
from app.metrics import Metrics
from app.settings import Settings, SettingsError
from app.tokens import (
    MIN_SECRET_LENGTH,
    TokenPolicy,
    TokenService,
    load_or_create_secret,
)
from models.broker import LocalBroker
from models.clock import Clock, SystemClock
from models.database import close_database, open_database, sqlite_path
from schema import build_schema
from schema.errors import DataStoreSchema

logger = logging.getLogger(__name__)


class Runtime:
    """The running service's shared state, started and stopped by the lifespan."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.broker = LocalBroker()
        self.rules = settings.rules(self.clock, self.broker)
        self.metrics = Metrics(self.broker)
        self.schema: DataStoreSchema = build_schema(settings.query_budget, self.metrics)
        self.purge_job = PurgeJob(self.rules, self.metrics.record_purge)
        self.standing_watcher = StandingWatcher(self.rules)
        self._tokens: TokenService | None = None
        self._jobs: list[asyncio.Task[None]] = []

    @property
    def tokens(self) -> TokenService:
        """The token service; available once the runtime has started."""
        assert self._tokens is not None, "the runtime has not started"
        return self._tokens

    async def start(self) -> None:
        """Open and migrate the database and load the signing secret."""
        policy = TokenPolicy(
            secret=signing_secret(self.settings),
            issuer=self.settings.token_issuer,
            leeway_seconds=self.settings.token_leeway_seconds,
            default_ttl_seconds=self.settings.token_default_ttl_seconds,
            max_ttl_seconds=self.settings.token_max_ttl_seconds,
        )
        self._tokens = TokenService(policy, self.clock)
        await open_database(self.settings.database_url)
        logger.info("Database ready: %s", _describe(self.settings.database_url))
        await self.standing_watcher.poll()  # the standing to compare against
        self._start_jobs()

    async def stop(self) -> None:
        """Stop the background jobs and close the database connections."""
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            with contextlib.suppress(asyncio.CancelledError):
                await job
        await close_database()
        logger.info("Database closed")

    def _start_jobs(self) -> None:
        settings = self.settings

        async def purge() -> None:
            await self.purge_job.run_once()

        self._jobs = [
            asyncio.create_task(
                run_every(settings.purge_interval_seconds, purge, "purge")
            ),
            asyncio.create_task(
                run_every(
                    settings.status_poll_seconds,
                    self.standing_watcher.poll,
                    "standing watcher",
                )
            ),
        ]


def signing_secret(settings: Settings) -> str:
    """Return the token signing secret: the setting, or one kept beside SQLite."""
    if settings.secret is not None:
        if len(settings.secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"DATASTORE_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
        return settings.secret
    path = sqlite_path(settings.database_url)
    if path is None:
        raise SettingsError(
            "DATASTORE_SECRET must be set when the database is not an embedded "
            "SQLite file, so that every server signs tokens with the same key"
        )
    if str(path) == ":memory:":
        return secrets.token_urlsafe(48)
    return load_or_create_secret(Path(f"{path}.secret"))


def _describe(url: str) -> str:
    """Name a database without its password."""
    path = sqlite_path(url)
    if path is not None:
        return f"SQLite file {path}"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://…@{rest.rpartition('@')[2]}"
