"""Removing data past its retention: the purge.

What is expired (DESIGN.md section 1, periods from ``RetentionPolicy``):

- a SESSION document, its change log and the session itself (with its
  participants), once the session ended longer ago than the session period;
- every document and change log entry of an application suspended longer ago
  than the suspended-application period;
- change log entries older than the change log's age limit.

ROOM documents go when their room is deleted, not here. Readers never see
expired data even before a purge removes it (``access.ensure_retained``).

The purge works in batches, each its own short write transaction, so that
live traffic goes on between them; two purges at once only share the work,
as each counts the rows it really deleted.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models.applications import get_application, set_suspended
from models.database import storage_errors, write_transaction
from models.rules import Rules
from models.sessions import session_end
from models.sessions import settle as settle_session
from models.tables import (
    Application,
    ChangeLogEntry,
    Document,
    Participant,
    Scope,
    Session,
)

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove)."""

    documents: Counter[str] = field(default_factory=Counter)
    change_log_entries: int = 0
    sessions: int = 0

    @property
    def document_total(self) -> int:
        """Documents of every scope together."""
        return sum(self.documents.values())

    def by_scope(self) -> dict[str, int]:
        """Documents per scope, every scope named."""
        return {scope.value: self.documents[scope.value] for scope in Scope}

    def as_dict(self) -> dict[str, object]:
        """The report as plain data, every scope named."""
        return {
            "documents": self.by_scope(),
            "change_log_entries": self.change_log_entries,
            "sessions": self.sessions,
        }


async def purge(
    rules: Rules, *, dry_run: bool = False, batch: int = BATCH
) -> PurgeReport:
    """Remove everything past its retention as of the rules' clock."""
    now = rules.clock.now()
    if dry_run:
        return await _preview(rules, now, batch)
    report = PurgeReport()
    await _purge_sessions(rules, now, report, batch)
    await _purge_suspended_applications(rules, now, report, batch)
    await _purge_change_log(rules, now, report, batch)
    return report


async def purge_application(
    app_id: str, report: PurgeReport, batch: int = BATCH
) -> None:
    """Remove every document and change log entry of one application."""
    await _delete_documents(Document.filter(app_id=app_id), report, batch)
    report.change_log_entries += await _delete_in_batches(
        ChangeLogEntry.filter(app_id=app_id), batch
    )


async def suspend_application(app_id: str, rules: Rules) -> Application:
    """Suspend an application now; its data is kept for the retention period."""
    return await set_suspended(app_id, rules.clock.now(), rules.broker)


async def resume_application(app_id: str, rules: Rules) -> PurgeReport:
    """Resume an application; if its retention ran out, its data goes first.

    Within the period everything is as it was; past it, the data is what a
    purge would already have removed, so it is removed before any call of the
    application can read it again.
    """
    app = await get_application(app_id)
    report = PurgeReport()
    expired_at = (
        None
        if app.suspended_at is None
        else app.suspended_at + rules.retention.suspended_app
    )
    if expired_at is not None and rules.clock.now() >= expired_at:
        await purge_application(app_id, report)
    await set_suspended(app_id, None)
    return report


async def _purge_sessions(
    rules: Rules, now: datetime, report: PurgeReport, batch: int
) -> None:
    expired = await _expired_sessions(rules, now - rules.retention.session, settle=True)
    for numbers in _chunks(expired, batch):
        targets = [str(number) for number in numbers]
        async with write_transaction():
            report.documents[Scope.SESSION.value] += await Document.filter(
                scope=Scope.SESSION, target__in=targets
            ).delete()
            report.change_log_entries += await ChangeLogEntry.filter(
                scope=Scope.SESSION, target__in=targets
            ).delete()
            # Participants first, so that the count is of sessions only (a
            # cascade would be counted with them).
            await Participant.filter(session_id__in=numbers).delete()
            report.sessions += await Session.filter(conf_num__in=numbers).delete()


async def _expired_sessions(
    rules: Rules, cutoff: datetime, *, settle: bool
) -> list[int]:
    """Return the sessions that ended before ``cutoff``, oldest first.

    A session that ended by its grace period has no end written down until
    something settles it; a real purge writes those ends first, a dry run
    only works them out.
    """
    with storage_errors():
        open_sessions = await Session.filter(ended_at__isnull=True)
        unsettled = []
        for session in open_sessions:
            end = await session_end(session, rules)
            if end is None:
                continue
            if settle:
                await settle_session(session, end)
            elif end < cutoff:
                unsettled.append(session.conf_num)
        ended = [
            session.conf_num
            for session in await Session.filter(ended_at__lt=cutoff).only("conf_num")
        ]
    return sorted({*ended, *unsettled})


async def _purge_suspended_applications(
    rules: Rules, now: datetime, report: PurgeReport, batch: int
) -> None:
    for app_id in await _expired_applications(rules, now):
        await purge_application(app_id, report, batch)


async def _purge_change_log(
    rules: Rules, now: datetime, report: PurgeReport, batch: int
) -> None:
    old = ChangeLogEntry.filter(at__lt=now - rules.change_log.max_age)
    report.change_log_entries += await _delete_in_batches(old, batch)


async def _expired_applications(rules: Rules, now: datetime) -> list[str]:
    cutoff = now - rules.retention.suspended_app
    with storage_errors():
        apps = await Application.filter(suspended_at__lt=cutoff).only("id")
    return [app.id for app in apps]


async def _preview(rules: Rules, now: datetime, batch: int) -> PurgeReport:
    """Count what a purge would remove, each row under exactly one rule.

    A row two rules cover (a change of an expired session that is also past
    its age) is counted once: old changes by age; an expired application's
    rows by the application; an expired session's rows by the session.
    """
    report = PurgeReport()
    apps = await _expired_applications(rules, now)
    young = now - rules.change_log.max_age
    for app_id in apps:
        await _count_by_scope(Document.filter(app_id=app_id), report)
        report.change_log_entries += await _count(
            ChangeLogEntry.filter(app_id=app_id, at__gte=young)
        )
    sessions = await _expired_sessions(
        rules, now - rules.retention.session, settle=False
    )
    report.sessions = len(sessions)
    for numbers in _chunks(sessions, batch):
        targets = [str(number) for number in numbers]
        documents = Document.filter(scope=Scope.SESSION, target__in=targets)
        changes = ChangeLogEntry.filter(
            scope=Scope.SESSION, target__in=targets, at__gte=young
        )
        if apps:
            documents = documents.exclude(app_id__in=apps)
            changes = changes.exclude(app_id__in=apps)
        report.documents[Scope.SESSION.value] += await _count(documents)
        report.change_log_entries += await _count(changes)
    report.change_log_entries += await _count(ChangeLogEntry.filter(at__lt=young))
    return report


def _chunks(numbers: list[int], size: int) -> list[list[int]]:
    return [numbers[start : start + size] for start in range(0, len(numbers), size)]


async def _delete_documents(
    query: QuerySet[Document], report: PurgeReport, batch: int
) -> None:
    """Delete a query's documents in batches, counting what went by scope."""
    while True:
        with storage_errors():
            rows = await query.limit(batch).values_list("id", "scope")
        if not rows:
            return
        by_scope: dict[str, list[int]] = {}
        for row_id, scope in rows:
            by_scope.setdefault(str(scope), []).append(row_id)
        async with write_transaction():
            for scope, ids in by_scope.items():
                report.documents[scope] += await Document.filter(id__in=ids).delete()


async def _delete_in_batches(query: QuerySet[ChangeLogEntry], batch: int) -> int:
    """Delete a query's change log entries in batches; return how many went."""
    total = 0
    while True:
        with storage_errors():
            ids = await query.limit(batch).values_list("id", flat=True)
        if not ids:
            return total
        async with write_transaction():
            total += await ChangeLogEntry.filter(id__in=ids).delete()


async def _count(query: QuerySet[Any]) -> int:
    with storage_errors():
        return await query.count()


async def _count_by_scope(query: QuerySet[Document], report: PurgeReport) -> None:
    with storage_errors():
        rows = (
            await query.annotate(n=Count("id"))
            .group_by("scope")
            .values_list("scope", "n")
        )
    for scope, number in rows:
        report.documents[str(scope)] += number
