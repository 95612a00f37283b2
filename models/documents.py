"""Reading and writing the JSON documents, with revisions and per-key authors.

Every write is one transaction that locks the document's row, so concurrent
writes to one document are applied one after another and none is lost: on
SQLite because write transactions take the database's write lock up front,
on PostgreSQL because the row is selected ``FOR UPDATE``. A missing row is
first inserted empty with ``ON CONFLICT DO NOTHING``, so that two first
writes cannot both insert it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from models.broker import Published, document_topic
from models.changes import ChangeRecord, record_change, record_change_locally
from models.database import storage_errors, write_transaction
from models.errors import BadUserInput, RevisionConflict
from models.limits import check_document, check_keys, check_object, check_patch
from models.merge import diff, merge_patch, remove_keys
from models.merge import replace as replace_document
from models.principals import Author
from models.rules import Rules
from models.sql import (
    LocalConnection,
    WriteLockBusy,
    fetch,
    local_connection,
    moment,
    stored_time,
)
from models.tables import Document, Scope

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class DocumentKey:
    """Names one document: an application, a scope and the scope instance."""

    app_id: str
    scope: Scope
    target: str


@dataclass(frozen=True)
class KeyAuthor:
    """Who last wrote a top-level key, and when."""

    key: str
    at: datetime
    client_id: str | None
    user_ref: str | None
    name: str | None
    role: str | None


@dataclass(frozen=True)
class Snapshot:
    """A document as it stands at one revision; revision 0 means it does not exist."""

    key: DocumentKey
    data: JSONObject = field(default_factory=dict)
    revision: int = 0
    authors: dict[str, JSONObject] = field(default_factory=dict)
    updated_at: datetime | None = None

    @classmethod
    def of(cls, key: DocumentKey, row: Document | None) -> Snapshot:
        """Read a stored row (or its absence) as a snapshot."""
        if row is None:
            return cls(key)
        return cls(
            key,
            json.loads(row.data),
            row.revision,
            json.loads(row.authors),
            row.updated_at,
        )

    def written_by(self, user_ref: str) -> Snapshot:
        """Keep only the top-level keys that ``user_ref`` wrote last."""
        keys = {k for k, a in self.authors.items() if a.get("userRef") == user_ref}
        return replace(
            self,
            data={k: v for k, v in self.data.items() if k in keys},
            authors={k: a for k, a in self.authors.items() if k in keys},
        )

    def key_authors(self) -> list[KeyAuthor]:
        """Return the author of each top-level key, in the document's key order."""
        return [
            KeyAuthor(
                key=key,
                at=datetime.fromisoformat(entry["at"]),
                client_id=entry.get("clientId"),
                user_ref=entry.get("userRef"),
                name=entry.get("name"),
                role=entry.get("role"),
            )
            for key in self.data
            if (entry := self.authors.get(key)) is not None
        ]


@dataclass(frozen=True)
class Merge:
    """Apply a JSON Merge Patch (RFC 7386)."""

    patch: JSONObject


@dataclass(frozen=True)
class Replace:
    """Replace the whole document."""

    document: JSONObject


@dataclass(frozen=True)
class Remove:
    """Remove some top-level keys, or all of them for ``None``."""

    keys: list[str] | None


Change = Merge | Replace | Remove


class WriteMode(StrEnum):
    """How ``setCustomData`` changes the document."""

    MERGE = "MERGE"
    REPLACE = "REPLACE"


def change_for(mode: WriteMode, data: object) -> Change:
    """Return the change a ``setCustomData`` call asks for."""
    document = check_object(data)
    return Merge(document) if mode is WriteMode.MERGE else Replace(document)


@dataclass(frozen=True)
class Written:
    """The outcome of a write: the document after it, and the change it made."""

    snapshot: Snapshot
    change: ChangeRecord | None

    @property
    def applied(self) -> bool:
        """Whether the write changed the document (and raised its revision)."""
        return self.change is not None


async def read_document(key: DocumentKey) -> Snapshot:
    """Return the current snapshot of one document."""
    return (await read_documents([key]))[0]


_ONE_DOCUMENT = (
    "SELECT target, data, authors, revision, updated_at FROM documents "
    "WHERE app_id = ? AND scope = ? AND target = ?"
)


async def read_documents(keys: list[DocumentKey]) -> list[Snapshot]:
    """Return the snapshots of many documents in as few queries as there are scopes."""
    if len(keys) == 1:  # the usual read: one fixed statement
        key = keys[0]
        found = await fetch(_ONE_DOCUMENT, key.app_id, key.scope.value, key.target)
        return [_snapshot(key, found[0]) if found else Snapshot(key)]
    wanted: dict[tuple[str, Scope], list[str]] = defaultdict(list)
    for key in keys:
        wanted[key.app_id, key.scope].append(key.target)
    rows: dict[DocumentKey, Document] = {}
    with storage_errors():
        for (app_id, scope), targets in wanted.items():
            query = Document.filter(app_id=app_id, scope=scope, target__in=targets)
            for row in await query:
                rows[DocumentKey(app_id, scope, row.target)] = row
    return [Snapshot.of(key, rows.get(key)) for key in keys]


_INSERT_DOCUMENT = (
    "INSERT INTO documents (data, authors, revision, created_at, updated_at, "
    "app_id, scope, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_DOCUMENT = (
    "UPDATE documents SET data = ?, authors = ?, revision = ?, updated_at = ? "
    "WHERE app_id = ? AND scope = ? AND target = ?"
)


def _snapshot(key: DocumentKey, row: dict[str, Any]) -> Snapshot:
    return Snapshot(
        key,
        json.loads(row["data"]),
        int(row["revision"]),
        json.loads(row["authors"]),
        moment(row["updated_at"]),
    )


async def write_document(
    key: DocumentKey,
    change: Change,
    author: Author,
    if_revision: int | None,
    rules: Rules,
) -> Written:
    """Apply one change to a document, atomically, and publish it once committed."""
    _check_change(change, rules)
    write = _Write(key, change, author, if_revision, rules, rules.clock.now())
    written = _write_locally(write)
    if written is None:
        written = await _write_through_orm(write)
    if written.change is not None:
        # Published only after the commit, so a reader never sees a change that
        # could still roll back; readers order and de-duplicate by revision.
        await rules.broker.publish(document_topic(key), Published(key, written.change))
    return written


@dataclass(frozen=True)
class _Write:
    """One write under way: what it changes, who asks, and when."""

    key: DocumentKey
    change: Change
    author: Author
    if_revision: int | None
    rules: Rules
    now: datetime


def _after(old: Snapshot, write: _Write) -> Written:
    """Work out the document after a change (unapplied if it changes nothing)."""
    change, author, now = write.change, write.author, write.now
    _check_revision(old, write.if_revision)
    data = _apply(change, old.data)
    if not isinstance(change, Remove):
        check_document(data, write.rules.limits)
    authors = _authors_after(change, old, data, _author_entry(author, now))
    patch = diff(old.data, data)
    if not patch and _same_authors(old.authors, authors):
        return Written(old, None)
    new = Snapshot(old.key, data, old.revision + 1, authors, now)
    return Written(new, ChangeRecord.of(new.revision, patch, author, now))


def _write_locally(write: _Write) -> Written | None:
    """Write in one transaction on the loop's own SQLite connection.

    Returns ``None``, having written nothing, when there is no such connection
    or another connection holds the write lock. The lock is held from the read
    to the commit, so no other write can fall between them.
    """
    writer, key = local_connection(), write.key
    if writer is None:
        return None
    try:
        with writer.transaction():
            rows = writer.fetch(_ONE_DOCUMENT, key.app_id, key.scope.value, key.target)
            old = _snapshot(key, rows[0]) if rows else Snapshot(key)
            written = _after(old, write)
            if written.change is not None:
                _store_locally(writer, written.snapshot, created=not rows)
                policy = write.rules.change_log
                record_change_locally(writer, key, written.change, policy)
    except WriteLockBusy:
        return None
    return written


def _store_locally(writer: LocalConnection, new: Snapshot, created: bool) -> None:
    key = new.key
    assert new.updated_at is not None, "a written snapshot has its time"
    at = stored_time(new.updated_at)
    data, authors = _compact(new.data), _compact(new.authors)
    where = (key.app_id, key.scope.value, key.target)
    if created:
        writer.execute(_INSERT_DOCUMENT, data, authors, new.revision, at, at, *where)
    else:
        writer.execute(_UPDATE_DOCUMENT, data, authors, new.revision, at, *where)


async def _write_through_orm(write: _Write) -> Written:
    """Write in one transaction through the ORM's connection, waiting for its lock."""
    async with write_transaction():
        row = await _locked_row(write.key, write.now)
        written = _after(Snapshot.of(write.key, row), write)
        if written.change is None:
            await _forget_placeholder(row)
            return written
        await _store(row, written.snapshot)
        await record_change(write.key, written.change, write.rules.change_log)
    return written


def _check_change(change: Change, rules: Rules) -> None:
    if isinstance(change, Merge):
        check_patch(change.patch, rules.limits)
    elif isinstance(change, Replace):
        check_patch(change.document, rules.limits)
    elif change.keys is not None:
        check_keys(change.keys, rules.limits)


def _check_revision(old: Snapshot, if_revision: int | None) -> None:
    if if_revision is not None and if_revision < 0:
        raise BadUserInput("ifRevision must be 0 (not written yet) or a revision")
    if if_revision is None or if_revision == old.revision:
        return
    wanted = "not to exist yet" if if_revision == 0 else f"at revision {if_revision}"
    raise RevisionConflict(
        f"the write expected the document {wanted}, but it is at revision "
        f"{old.revision}",
        current_revision=old.revision,
    )


def _apply(change: Change, data: JSONObject) -> JSONObject:
    if isinstance(change, Merge):
        return merge_patch(data, change.patch)
    if isinstance(change, Replace):
        return replace_document(change.document)
    return remove_keys(data, change.keys)


def _author_entry(author: Author, now: datetime) -> JSONObject:
    return {**author.as_json(), "at": now.isoformat()}


def _authors_after(
    change: Change, old: Snapshot, data: JSONObject, entry: JSONObject
) -> dict[str, JSONObject]:
    """Credit the keys a write sets to its author and forget the removed ones."""
    if isinstance(change, Merge):
        written = {key for key, value in change.patch.items() if value is not None}
    elif isinstance(change, Replace):
        written = set(data)
    else:
        written = set()
    authors = {key: a for key, a in old.authors.items() if key in data}
    authors.update({key: entry for key in written if key in data})
    return authors


def _same_authors(old: dict[str, JSONObject], new: dict[str, JSONObject]) -> bool:
    """Compare authorship, ignoring when each key was written."""

    def who(authors: dict[str, JSONObject]) -> dict[str, JSONObject]:
        return {
            k: {f: v for f, v in a.items() if f != "at"} for k, a in authors.items()
        }

    return who(old) == who(new)


async def _locked_row(key: DocumentKey, now: datetime) -> Document:
    """Return the document's row, locked for this transaction, inserting it if new."""
    row = await _select_for_update(key)
    if row is None:
        empty = Document(
            app_id=key.app_id,
            scope=key.scope,
            target=key.target,
            data="{}",
            authors="{}",
            revision=0,
            created_at=now,
            updated_at=now,
        )
        await Document.bulk_create([empty], ignore_conflicts=True)
        row = await _select_for_update(key)
    assert row is not None, "the row was inserted in this transaction"
    return row


async def _select_for_update(key: DocumentKey) -> Document | None:
    return (
        await Document.filter(app_id=key.app_id, scope=key.scope, target=key.target)
        .select_for_update()
        .first()
    )


async def _forget_placeholder(row: Document) -> None:
    """Remove a row inserted for a write that turned out to change nothing."""
    if row.revision == 0:
        await row.delete()


async def _store(row: Document, new: Snapshot) -> None:
    row.data = _compact(new.data)
    row.authors = _compact(new.authors)
    row.revision = new.revision
    assert new.updated_at is not None, "a written snapshot has its time"
    row.updated_at = new.updated_at
    await row.save(update_fields=["data", "authors", "revision", "updated_at"])


def _compact(value: JSONObject) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
