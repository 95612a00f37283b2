"""A live reader's feed of one document: no gap, no duplicate, bounded memory.

The feed registers its listener before it reads anything, so a write that
commits while the feed starts is either in what it read or in what it hears.
It then orders everything by revision:

- a change it has already sent (revision <= last) is dropped;
- a change that skips revisions (publishes can arrive out of order, or a
  reader can fall behind) is preceded by the missing ones from the change log;
- when the log no longer reaches back, or the listener overflowed, the reader
  is sent a SNAPSHOT of the whole document and goes on from its revision.

A reader that can take an event at once (``live``, e.g. by queueing it on its
socket) gets the next change straight from the publisher while it waits, and
is only woken for what that cannot carry: a gap, a full socket, a revocation.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from models.broker import Bypass, Listener, Published, document_topic
from models.changes import ChangeRecord, changes_between
from models.clock import Clock
from models.documents import DocumentKey, Snapshot, read_document
from models.errors import Unauthenticated
from models.merge import merge_patch
from models.rules import Rules

JSONObject = dict[str, Any]

# The key of the document after a change in Published.shared.
_MERGED = "feeds.merged"


class EventKind(StrEnum):
    """What a feed event carries: one change, or the whole document."""

    CHANGE = "CHANGE"
    SNAPSHOT = "SNAPSHOT"


@dataclass(frozen=True)
class FeedEvent:
    """One event of a feed."""

    kind: EventKind
    key: DocumentKey
    revision: int
    change: ChangeRecord | None = None
    # The whole document at this revision, when the feed knows it (see follow).
    data: JSONObject | None = None
    # For a change heard live: what every reader of it may share (Published.shared).
    shared: dict[Any, Any] | None = None


@dataclass(frozen=True)
class FeedRequest:
    """What a reader asks to follow, and what its access depends on."""

    key: DocumentKey
    guards: tuple[str, ...] = ()
    after_revision: int | None = None
    include_snapshot: bool = False
    valid_until: datetime | None = None
    with_data: bool = False


# Takes an event at once, without waiting; False when it cannot now.
LiveDelivery = Callable[[FeedEvent], bool]


async def follow(
    request: FeedRequest, rules: Rules, live: LiveDelivery | None = None
) -> AsyncIterator[FeedEvent]:
    """Yield the document's changes from the requested point, until access ends.

    With ``include_snapshot`` the first event is the whole document; with
    ``after_revision`` the changes after it are replayed first; otherwise the
    feed starts at the current revision. With ``with_data`` every event carries
    the whole document as of its revision, except replayed changes older than
    the newest one (the feed has no copy of the document that old).

    The events ``live`` takes while the feed waits are not yielded: it has
    delivered them.
    """
    topics = (document_topic(request.key), *request.guards)
    listener = rules.broker.listen(topics, rules.listener_capacity)
    try:
        feed = _Feed(request)
        for event in await feed.start():
            yield event
        bypass = None if live is None else functools.partial(feed.bypass, live, rules)
        while True:
            published = await _next(listener, request.valid_until, rules.clock, bypass)
            for event in await feed.receive(published):
                yield event
    finally:
        rules.broker.close(listener)


class _Feed:
    """The feed's position: the last revision sent, and the document if kept."""

    def __init__(self, request: FeedRequest) -> None:
        self.request = request
        self.last = 0
        self.document: JSONObject | None = None

    async def start(self) -> list[FeedEvent]:
        current = await read_document(self.request.key)
        after = self.request.after_revision
        if self.request.include_snapshot or (
            after is not None and after > current.revision
        ):
            return [self._snapshot(current)]
        if after is None:
            self._restart_at(current)
            return []
        return await self._replay(after, current)

    async def receive(self, published: Published | None) -> list[FeedEvent]:
        if published is None:  # the listener overflowed: start again
            return [self._snapshot(await read_document(self.request.key))]
        change = published.change
        if change.revision <= self.last:
            return []
        if change.revision == self.last + 1:
            return [self._change(change, published.shared)]
        missing = await self._missing(change.revision)
        if missing is None:
            return [self._snapshot(await read_document(self.request.key))]
        return [self._change(record) for record in missing]

    async def _replay(self, after: int, current: Snapshot) -> list[FeedEvent]:
        self.last = after
        changes = await self._missing(current.revision)
        if changes is None:
            return [self._snapshot(current)]
        events = [self._change(record) for record in changes]
        self._restart_at(current)
        if events and self.request.with_data:
            events[-1] = _with_data(events[-1], current.data)
        return events

    async def _missing(self, until: int) -> list[ChangeRecord] | None:
        key = self.request.key
        return await changes_between(
            key.app_id, key.scope, key.target, self.last, until
        )

    def _restart_at(self, snapshot: Snapshot) -> None:
        self.last = snapshot.revision
        self.document = snapshot.data if self.request.with_data else None

    def _snapshot(self, snapshot: Snapshot) -> FeedEvent:
        self._restart_at(snapshot)
        return FeedEvent(
            EventKind.SNAPSHOT, snapshot.key, snapshot.revision, data=snapshot.data
        )

    def bypass(self, live: LiveDelivery, rules: Rules, published: Published) -> bool:
        """Hand the next change to ``live`` from the publisher, if it takes it.

        Anything else (a gap or a repeat, an expired token, a reader that
        cannot take it now) is declined and left to the feed's own loop.
        """
        valid_until = self.request.valid_until
        if published.change.revision != self.last + 1 or (
            valid_until is not None and rules.clock.now() >= valid_until
        ):
            return False
        event = self._following(published.change, published.shared)
        if not live(event):
            return False
        self._advance(event)
        return True

    def _change(
        self, change: ChangeRecord, shared: dict[Any, Any] | None = None
    ) -> FeedEvent:
        event = self._following(change, shared)
        self._advance(event)
        return event

    def _following(
        self, change: ChangeRecord, shared: dict[Any, Any] | None
    ) -> FeedEvent:
        """The event of the change after the feed's position."""
        data = None
        if self.document is not None:
            data = _merged(self.document, change, shared)
        return FeedEvent(
            EventKind.CHANGE, self.request.key, change.revision, change, data, shared
        )

    def _advance(self, event: FeedEvent) -> None:
        """Move the feed's position past an event it has sent."""
        self.last = event.revision
        if self.document is not None:
            self.document = event.data


def _merged(
    document: JSONObject, change: ChangeRecord, shared: dict[Any, Any] | None
) -> JSONObject:
    """The document after the change, merged once for all readers of a publish.

    Every reader's copy before a change is the document at the revision before
    it, so the first reader's merge serves the rest.
    """
    if shared is None:
        return merge_patch(document, change.patch)
    merged: JSONObject | None = shared.get(_MERGED)
    if merged is None:
        merged = shared[_MERGED] = merge_patch(document, change.patch)
    return merged


def _with_data(event: FeedEvent, data: JSONObject) -> FeedEvent:
    return FeedEvent(event.kind, event.key, event.revision, event.change, data)


async def _next(
    listener: Listener,
    valid_until: datetime | None,
    clock: Clock,
    bypass: Bypass | None,
) -> Published | None:
    """Wait for the listener's next message, ending the feed when access expires."""
    while True:
        if valid_until is None:
            return await listener.next(bypass)
        remaining = (valid_until - clock.now()).total_seconds()
        if remaining <= 0:
            raise Unauthenticated("the token has expired: join again")
        try:
            async with asyncio.timeout(remaining):
                return await listener.next(bypass)
        except TimeoutError:
            continue  # checked against the clock at the top of the loop
