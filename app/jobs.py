"""Background jobs of the server: the purge, and watching applications' standing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from models.applications import Standing, standings
from models.broker import Revoked, app_key_topic, app_topic
from models.errors import Unauthenticated
from models.retention import PurgeReport, purge
from models.rules import Rules

logger = logging.getLogger(__name__)


async def run_every(
    seconds: float, work: Callable[[], Awaitable[None]], name: str
) -> None:
    """Run ``work`` every ``seconds`` until cancelled; failures are logged."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:  # the job must outlive any one run
            logger.exception("The %s failed; it runs again in %s s", name, seconds)


class PurgeJob:
    """Removes data past its retention, at an interval."""

    def __init__(
        self, rules: Rules, record: Callable[[PurgeReport], None] | None = None
    ) -> None:
        self.rules = rules
        self.record = record

    async def run_once(self) -> PurgeReport:
        """Purge now and log one line saying what went."""
        started = time.perf_counter()
        report = await purge(self.rules)
        if self.record is not None:
            self.record(report)
        logger.info(
            "Purge removed %s, in %.2f s",
            describe(report),
            time.perf_counter() - started,
        )
        return report


class StandingWatcher:
    """Ends live feeds when an application's standing changes in the database.

    The ``datastore apps`` command changes an application from another
    process; the server notices at its next poll and revokes the feeds that
    relied on the old standing (suspension, add-on, key). A key replaced
    before the server's first poll of a new application goes unnoticed by
    live feeds (the next request fails as it should); the window is one poll.
    """

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._known: dict[str, Standing] | None = None

    async def poll(self) -> None:
        """Compare every application's standing with the last poll's."""
        current = await standings()
        known, self._known = self._known, current
        if known is None:
            return  # the first poll only learns how things stand
        for app_id, standing in current.items():
            before = known.get(app_id)
            # An application registered since the last poll may already have
            # been changed: it is compared with a good standing.
            if standing != before:
                await self._revoke(app_id, standing, before)

    async def _revoke(
        self, app_id: str, standing: Standing, before: Standing | None
    ) -> None:
        broker = self.rules.broker
        status = standing.status
        if status.suspended or not status.addon_enabled:
            await broker.publish(app_topic(app_id), Revoked(status.refusal()))
            logger.info("Application %s lost its standing: its live feeds end", app_id)
        if before is not None and standing.key_hash != before.key_hash:
            rotated = Unauthenticated("the application's key was replaced")
            await broker.publish(app_key_topic(app_id), Revoked(rotated))
            logger.info("Application %s has a new key: its own live feeds end", app_id)


def describe(report: PurgeReport) -> str:
    """Say in one phrase what a purge removed."""
    scopes = ", ".join(
        f"{scope} {number}"
        for scope, number in sorted(report.documents.items())
        if number
    )
    documents = f"{report.document_total} documents" + (
        f" ({scopes})" if scopes else ""
    )
    return (
        f"{documents}, {report.change_log_entries} change log entries and "
        f"{report.sessions} sessions"
    )
