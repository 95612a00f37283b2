"""The settings the data rules depend on, handed to them in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from models.clock import Clock, SystemClock
from models.limits import Limits


@dataclass(frozen=True)
class Rules:
    """Limits, session timing and the clock, as configured for this deployment."""

    limits: Limits = field(default_factory=Limits)
    # A session whose last participant left stays live this long, so that a
    # participant who reconnects at once finds the same session.
    session_grace: timedelta = timedelta(seconds=30)
    clock: Clock = field(default_factory=SystemClock)
