"""The change log: each applied write of a document, to replay what a reader missed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from models.database import storage_errors
from models.principals import Author
from models.sql import LocalConnection, stored_time
from models.tables import ChangeLogEntry

JSONObject = dict[str, Any]
# A document's log is pruned on every this many revisions.
PRUNE_EVERY = 64


@dataclass(frozen=True)
class ChangeLogPolicy:
    """How much of each document's history the log keeps (both bounds apply)."""

    max_entries: int = 1000
    max_age: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ChangeRecord:
    """One applied write: the revision it made and the merge patch that made it."""

    revision: int
    patch: JSONObject
    author: Author
    at: datetime
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls, revision: int, patch: JSONObject, author: Author, at: datetime
    ) -> ChangeRecord:
        """Describe a write by its patch; top-level keys set or removed come from it."""
        return cls(
            revision,
            patch,
            author,
            at,
            changed_keys=[k for k, v in patch.items() if v is not None],
            removed_keys=[k for k, v in patch.items() if v is None],
        )


class LogKey(Protocol):
    """Names the document a log belongs to."""

    @property
    def app_id(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def target(self) -> str: ...


# Pruning every write took two of a write's seven statements. Entries kept a
# few dozen revisions longer harm nothing: a replay checks that it has every
# revision it needs, and the purge removes entries past their age.
def _prunes(change: ChangeRecord) -> bool:
    return change.revision % PRUNE_EVERY == 0


async def record_change(
    key: LogKey, change: ChangeRecord, policy: ChangeLogPolicy
) -> None:
    """Log a change (and now and then prune the log) in the write's transaction."""
    where = {"app_id": key.app_id, "scope": key.scope, "target": key.target}
    await ChangeLogEntry.create(
        app_id=key.app_id,
        scope=key.scope,
        target=key.target,
        revision=change.revision,
        patch=_compact(change.patch),
        author=_compact(change.author.as_json()),
        at=change.at,
    )
    if not _prunes(change):
        return
    await ChangeLogEntry.filter(
        **where, revision__lte=change.revision - policy.max_entries
    ).delete()
    await ChangeLogEntry.filter(**where, at__lt=change.at - policy.max_age).delete()


_INSERT_CHANGE = (
    "INSERT INTO changes (app_id, scope, target, revision, patch, author, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_OF_DOCUMENT = "app_id = ? AND scope = ? AND target = ?"
_PRUNE_OLD_REVISIONS = f"DELETE FROM changes WHERE {_OF_DOCUMENT} AND revision <= ?"
_PRUNE_OLD_TIMES = f"DELETE FROM changes WHERE {_OF_DOCUMENT} AND at < ?"


def record_change_locally(
    writer: LocalConnection, key: LogKey, change: ChangeRecord, policy: ChangeLogPolicy
) -> None:
    """Do what ``record_change`` does, inside a local SQLite write transaction."""
    where = (key.app_id, str(key.scope), key.target)
    author = _compact(change.author.as_json())
    at = stored_time(change.at)
    writer.execute(
        _INSERT_CHANGE, *where, change.revision, _compact(change.patch), author, at
    )
    if not _prunes(change):
        return
    writer.execute(_PRUNE_OLD_REVISIONS, *where, change.revision - policy.max_entries)
    writer.execute(_PRUNE_OLD_TIMES, *where, stored_time(change.at - policy.max_age))


async def changes_between(
    app_id: str, scope: str, target: str, after: int, until: int
) -> list[ChangeRecord] | None:
    """Return the changes after revision ``after`` up to ``until``, in order.

    ``None`` means the log no longer holds all of them (it was pruned, or the
    document is not at ``until`` any more): the reader must start again from
    the whole document.
    """
    query = ChangeLogEntry.filter(
        app_id=app_id,
        scope=scope,
        target=target,
        revision__gt=after,
        revision__lte=until,
    )
    with storage_errors():
        rows = await query.order_by("revision")
    if [row.revision for row in rows] != list(range(after + 1, until + 1)):
        return None
    return [_record(row) for row in rows]


async def forget_changes(app_id: str, scope: str, target: str) -> None:
    """Remove a document's whole log; in the transaction that removes the document."""
    await ChangeLogEntry.filter(app_id=app_id, scope=scope, target=target).delete()


def _record(row: ChangeLogEntry) -> ChangeRecord:
    author = Author.from_json(json.loads(row.author))
    return ChangeRecord.of(row.revision, json.loads(row.patch), author, row.at)


def _compact(value: JSONObject) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
