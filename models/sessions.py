"""Sessions and participants: joining, leaving, and when a session ends.

A session ends when the application ends it, or when its last participant has
been gone for the grace period. The second kind of end is worked out when it
is needed rather than by a timer: a session with nobody active whose grace
period has run out is ended as of ``last departure + grace``, and that time is
written down the next time a write touches the room. A participant that never
leaves is gone when its connection token expires.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from tortoise.expressions import Q
from tortoise.functions import Max

from models.broker import Revoked, participant_topic, session_topic
from models.database import storage_errors, write_transaction
from models.errors import Forbidden, NotFound, SessionEnded, Unauthenticated
from models.rules import Rules
from models.tables import Participant, Role, Room, Session


async def session_end(session: Session, rules: Rules) -> datetime | None:
    """Return when the session ended, or ``None`` while it is live."""
    if session.ended_at is not None:
        return session.ended_at
    now = rules.clock.now()
    if await _has_active_participant(session, now):
        return None
    end = (await _last_departure(session) or session.started_at) + rules.session_grace
    return end if now >= end else None


async def live_session(room_id: str, rules: Rules) -> Session | None:
    """Return the room's live session, if one is live."""
    latest = await _latest_sessions(room_id, 1)
    if not latest or await session_end(latest[0], rules) is not None:
        return None
    return latest[0]


async def last_session(room_id: str, rules: Rules) -> Session | None:
    """Return the session before the live one, or the latest one when none is live."""
    latest = await _latest_sessions(room_id, 2)
    if latest and await session_end(latest[0], rules) is None:
        latest = latest[1:]
    return latest[0] if latest else None


async def list_sessions(
    room_id: str, first: int, before: int | None, rules: Rules
) -> list[Session]:
    """Return up to ``first`` retained sessions of the room, newest first.

    A session whose end was never written down (see ``session_end``) can be
    listed although its data has expired; readers check each session.
    """
    retained_since = rules.clock.now() - rules.retention.session
    with storage_errors():
        query = Session.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gte=retained_since), room_id=room_id
        )
        if before is not None:
            query = query.filter(conf_num__lt=before)
        return await query.order_by("-conf_num").limit(first)


async def get_session(app_id: str, conf_num: int) -> Session:
    """Return a session of the application, with its room loaded."""
    with storage_errors():
        session = await Session.get_or_none(conf_num=conf_num).select_related("room")
    if session is None:
        raise NotFound(f"there is no session {conf_num}")
    if session.room.app_id != app_id:
        raise Forbidden(f"session {conf_num} belongs to another application")
    return session


async def list_participants(conf_num: int) -> list[Participant]:
    """Return every participant that joined the session, in joining order."""
    with storage_errors():
        query = Participant.filter(session_id=conf_num)
        return await query.order_by("joined_at", "client_id")


async def join(
    room: Room,
    user_ref: str,
    name: str,
    role: Role,
    expires_at: datetime,
    rules: Rules,
) -> Participant:
    """Add a participant to the room's live session, starting one if none is live."""
    now = rules.clock.now()
    async with write_transaction():
        # Locks the room row on PostgreSQL, so that two first joins cannot
        # both start a session. SQLite transactions already run one at a time.
        await Room.filter(id=room.id).select_for_update().first()
        session = await _settle_latest(room, rules)
        if session is None:
            session = await Session.create(room_id=room.id, started_at=now)
        participant = await Participant.create(
            client_id=f"cl_{secrets.token_urlsafe(12)}",
            session_id=session.conf_num,
            user_ref=user_ref,
            name=name,
            role=role,
            joined_at=now,
            expires_at=expires_at,
        )
    participant.session = session
    return participant


async def leave(client_id: str, rules: Rules) -> Participant:
    """Mark the participant as gone and end its live feeds.

    Its session may end after the grace period.
    """
    async with write_transaction():
        participant = await Participant.get_or_none(client_id=client_id)
        if participant is None:
            raise NotFound(f"there is no participant {client_id}")
        if participant.left_at is None:
            participant.left_at = rules.clock.now()
            await participant.save(update_fields=["left_at"])
    gone = Unauthenticated("this participant has left the room: join it again")
    await rules.broker.publish(participant_topic(client_id), Revoked(gone))
    return participant


async def end_session(session: Session, rules: Rules) -> Session:
    """End the session now (or keep the time it already ended at)."""
    async with write_transaction():
        await _close(session, await session_end(session, rules) or rules.clock.now())
    await publish_session_end(session.conf_num, rules)
    return session


async def end_live_session(room: Room, rules: Rules) -> int | None:
    """End the room's live session, if any, and return its number.

    Call inside a write transaction, and ``publish_session_end`` after it.
    """
    session = await _settle_latest(room, rules)
    if session is None:
        return None
    await _close(session, rules.clock.now())
    return session.conf_num


async def publish_session_end(conf_num: int, rules: Rules) -> None:
    """End the live feeds of the session's participants."""
    ended = SessionEnded(f"session {conf_num} has ended: join the room again")
    await rules.broker.publish(session_topic(conf_num), Revoked(ended))


async def _settle_latest(room: Room, rules: Rules) -> Session | None:
    """Record the end of the room's latest session if over; return it if live."""
    latest = await _latest_sessions(room.id, 1)
    if not latest or latest[0].ended_at is not None:
        return None
    end = await session_end(latest[0], rules)
    if end is None:
        return latest[0]
    await _close(latest[0], end)
    return None


async def settle(session: Session, end: datetime) -> None:
    """Write down the end of a session that ended by its grace period."""
    async with write_transaction():
        await _close(session, end)


async def _close(session: Session, end: datetime) -> None:
    session.ended_at = end
    await session.save(update_fields=["ended_at"])
    await Participant.filter(session_id=session.conf_num, left_at__isnull=True).update(
        left_at=end
    )


async def _latest_sessions(room_id: str, count: int) -> list[Session]:
    with storage_errors():
        return await Session.filter(room_id=room_id).order_by("-conf_num").limit(count)


async def _has_active_participant(session: Session, now: datetime) -> bool:
    with storage_errors():
        return await Participant.filter(
            session_id=session.conf_num, left_at__isnull=True, expires_at__gt=now
        ).exists()


async def _last_departure(session: Session) -> datetime | None:
    """Return when the last participant left or its token expired."""
    with storage_errors():
        left = await _latest(session, "left_at", left_at__isnull=False)
        expired = await _latest(session, "expires_at", left_at__isnull=True)
    times = [time for time in (left, expired) if time is not None]
    return max(times) if times else None


async def _latest(session: Session, column: str, **where: object) -> datetime | None:
    rows = (
        await Participant.filter(session_id=session.conf_num, **where)
        .annotate(latest=Max(column))
        .values_list("latest", flat=True)
    )
    latest = rows[0] if rows else None
    assert latest is None or isinstance(latest, datetime)
    return latest
