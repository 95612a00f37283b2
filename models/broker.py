"""Where live changes travel: topics, bounded listeners, and the in-process broker.

A write publishes its change on its document's topic after it commits. Guard
topics carry revocations instead: the application was suspended, the room
deleted, the session ended, the participant left. A reader listens to its
document's topic and to the guard topics of its own access, on one bounded
listener:

- a change that finds the listener full is dropped and the listener marked
  *overflowed*: the reader then starts again from the whole document, so a
  slow reader costs bounded memory and never slows the publisher;
- a revocation is kept apart from the queue and always delivered, and ends
  the reader's feed with its error;
- a reader waiting with nothing queued may give its listener a *bypass*: a
  change the bypass takes is handed on at once, by the publisher, without
  queueing it or waking the reader (see feeds.follow); what it declines is
  queued, and the bypass is dropped until the reader waits again.

``LocalBroker`` fans out within one process, the embedded default. A broker
that spans processes feeds the same listeners from its own transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from models.errors import DataStoreError

if TYPE_CHECKING:
    from models.changes import ChangeRecord
    from models.documents import DocumentKey

logger = logging.getLogger(__name__)


def document_topic(key: DocumentKey) -> str:
    """The topic a document's changes are published on."""
    return f"doc:{key.app_id}:{key.scope}:{key.target}"


def app_topic(app_id: str) -> str:
    """The guard topic of an application's standing."""
    return f"app:{app_id}"


def app_key_topic(app_id: str) -> str:
    """The guard topic of the key an application server authenticates with."""
    return f"app-key:{app_id}"


def room_topic(room_id: str) -> str:
    """The guard topic of a room's existence."""
    return f"room:{room_id}"


def session_topic(conf_num: int) -> str:
    """The guard topic of a session's end."""
    return f"session:{conf_num}"


def participant_topic(client_id: str) -> str:
    """The guard topic of a participant's presence."""
    return f"participant:{client_id}"


@dataclass(frozen=True)
class Published:
    """A change of a document, as published after its write committed.

    One instance reaches every listener of the topic, so ``shared`` is where
    its readers keep what they would otherwise each work out alike (the
    document after the change, the change as the API describes it).
    """

    key: DocumentKey
    change: ChangeRecord
    shared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Revoked:
    """Access that listeners relied on is gone; their feeds end with ``error``."""

    error: DataStoreError


Message = Published | Revoked


Bypass = Callable[[Published], bool]


class Offered(Enum):
    """What became of a message offered to a listener."""

    PASSED = "passed"  # a change its bypass took: already on its way
    QUEUED = "queued"  # a change queued for the reader
    DROPPED = "dropped"  # a change dropped: the reader fell behind
    GUARDED = "guarded"  # a revocation, kept until the reader ends


class Listener:
    """One reader's bounded inbox on a set of topics."""

    def __init__(self, topics: Iterable[str], capacity: int) -> None:
        self.topics = tuple(topics)
        self.capacity = capacity
        self._queue: deque[Published] = deque()
        self._wake = asyncio.Event()
        self.overflowed = False
        self.revoked: DataStoreError | None = None
        # Set only while the reader waits with nothing queued (see next), and
        # cleared the first time it declines a change, so changes stay in order.
        self._bypass: Bypass | None = None

    def offer(self, message: Message) -> Offered:
        """Take a message without ever waiting; say what became of it."""
        bypass, self._bypass = self._bypass, None
        if isinstance(message, Revoked):
            self.revoked = self.revoked or message.error
            outcome = Offered.GUARDED
        elif bypass is not None and _passes(bypass, message):
            self._bypass = bypass
            return Offered.PASSED
        elif len(self._queue) < self.capacity:
            self._queue.append(message)
            outcome = Offered.QUEUED
        else:
            self._queue.clear()
            self.overflowed = True
            outcome = Offered.DROPPED
        self._wake.set()
        return outcome

    async def next(self, bypass: Bypass | None = None) -> Published | None:
        """Return the next change; ``None`` if the listener overflowed since the last.

        While it waits, changes that ``bypass`` takes go to it instead.
        Raises the revocation's error once access is revoked.
        """
        while not (self._queue or self.overflowed or self.revoked):
            self._wake.clear()
            self._bypass = bypass
            try:
                await self._wake.wait()
            finally:
                self._bypass = None
        if self.revoked is not None:
            raise self.revoked
        if self.overflowed:
            self.overflowed = False
            return None
        return self._queue.popleft()

    @property
    def depth(self) -> int:
        """How many changes wait to be read."""
        return len(self._queue)


def _passes(bypass: Bypass, message: Published) -> bool:
    """Offer a change to a bypass; a bypass that fails declines (and is logged)."""
    try:
        return bypass(message)
    except Exception:
        # The publisher is a writer whose change has committed: it must not fail.
        logger.exception("A live reader's bypass failed; the reader takes over")
        return False


class Broker(Protocol):
    """Publishes messages to the listeners of their topics."""

    async def publish(self, topic: str, message: Message) -> None:
        """Deliver ``message`` to the listeners of ``topic`` without waiting on them."""
        ...

    def listen(self, topics: Iterable[str], capacity: int) -> Listener:
        """Register a listener on ``topics``, for what is published from now on."""
        ...

    def close(self, listener: Listener) -> None:
        """Unregister a listener; it receives nothing more."""
        ...

    @property
    def listener_count(self) -> int:
        """How many listeners are registered."""
        ...

    @property
    def stats(self) -> BrokerStats:
        """What the broker has carried since it started."""
        ...

    @property
    def queued(self) -> int:
        """Changes waiting in listeners' queues, all together."""
        ...

    async def ping(self) -> bool:
        """Tell whether the broker can carry messages now."""
        ...


@dataclass
class BrokerStats:
    """Counts of what a broker carried, for the operator's metrics."""

    published: int = 0
    delivered: int = 0
    dropped: int = 0
    # Of those delivered, how many went straight to a waiting subscriber's
    # socket from the publisher, without waking it.
    passed: int = 0


class LocalBroker:
    """Fan-out within this process: one registry, one pass per publish."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._registered: set[Listener] = set()
        self._stats = BrokerStats()

    async def publish(self, topic: str, message: Message) -> None:
        """Offer the message to each listener of the topic."""
        listeners = tuple(self._listeners.get(topic, ()))
        if isinstance(message, Published):
            self._stats.published += 1
        for listener in listeners:
            outcome = listener.offer(message)
            if outcome is Offered.PASSED:
                self._stats.passed += 1
            if outcome in (Offered.PASSED, Offered.QUEUED):
                self._stats.delivered += 1
            elif outcome is Offered.DROPPED:
                self._stats.dropped += 1

    def listen(self, topics: Iterable[str], capacity: int) -> Listener:
        """Register a listener on the topics."""
        listener = Listener(topics, capacity)
        for topic in listener.topics:
            self._listeners[topic].add(listener)
        self._registered.add(listener)
        return listener

    def close(self, listener: Listener) -> None:
        """Unregister a listener and drop topics nobody listens to any more."""
        if listener not in self._registered:
            return
        self._registered.discard(listener)
        for topic in listener.topics:
            members = self._listeners[topic]
            members.discard(listener)
            if not members:
                del self._listeners[topic]

    @property
    def listener_count(self) -> int:
        """How many listeners are registered."""
        return len(self._registered)

    @property
    def topic_count(self) -> int:
        """How many topics have listeners."""
        return len(self._listeners)

    @property
    def stats(self) -> BrokerStats:
        """What the broker has carried since it started."""
        return self._stats

    @property
    def queued(self) -> int:
        """Changes waiting in listeners' queues, all together."""
        return sum(listener.depth for listener in self._registered)

    async def ping(self) -> bool:
        """The in-process broker is always there."""
        return True
