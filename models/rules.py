"""The settings the data rules depend on, handed to them in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from models.broker import Broker, LocalBroker
from models.changes import ChangeLogPolicy
from models.clock import Clock, SystemClock
from models.limits import Limits


@dataclass(frozen=True)
class RetentionPolicy:
    """How long data is kept once nothing needs it any more."""

    # A SESSION document is kept this long after its session ends.
    session: timedelta = timedelta(days=7)
    # Every document of a suspended application is kept this long after the
    # suspension, so that a resumption within it restores everything.
    suspended_app: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Rules:
    """What the data rules depend on, as configured for this deployment.

    Limits, session timing, the clock, how much history the change log keeps,
    and the broker that carries changes to live readers.
    """

    limits: Limits = field(default_factory=Limits)
    # A session whose last participant left stays live this long, so that a
    # participant who reconnects at once finds the same session.
    session_grace: timedelta = timedelta(seconds=30)
    clock: Clock = field(default_factory=SystemClock)
    change_log: ChangeLogPolicy = field(default_factory=ChangeLogPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    broker: Broker = field(default_factory=LocalBroker)
    # Changes a live reader may fall behind by before it is sent the whole
    # document instead.
    listener_capacity: int = 256
