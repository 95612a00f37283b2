"""Creating, finding and deleting rooms."""

from __future__ import annotations

from datetime import datetime

from models.applications import find_application
from models.broker import Revoked, room_topic
from models.changes import forget_changes
from models.database import storage_errors, write_transaction
from models.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from models.names import MAX_ID_LENGTH, check_name, check_ref, could_be_id, new_id
from models.principals import AppStatus, JoinClaims
from models.rules import Rules
from models.sessions import end_live_session, join, publish_session_end
from models.tables import Document, Participant, Room, Scope


async def create_room(app_id: str, name: str, owner_ref: str, now: datetime) -> Room:
    """Create a room of the application; every room gets a fresh id."""
    check_name(name, "name")
    check_ref(owner_ref, "ownerRef")
    with storage_errors():
        return await Room.create(
            id=new_id("room"),
            app_id=app_id,
            name=name,
            owner_ref=owner_ref,
            created_at=now,
        )


async def join_room(claims: JoinClaims, rules: Rules) -> Participant:
    """Join a room as a new participant, loaded with its session, room and app."""
    app = await find_application(claims.app_id)
    if app is None:
        raise Unauthenticated("the join token's application does not exist")
    AppStatus.of(app).ensure_active()
    room = await get_room(app.id, claims.room_id)
    participant = await join(
        room, claims.user_ref, claims.name, claims.role, claims.expires_at, rules
    )
    room.app = app
    participant.session.room = room
    return participant


async def get_room(app_id: str, room_id: str) -> Room:
    """Return a live room of the application, refusing other applications' rooms."""
    if not could_be_id(room_id):
        raise NotFound(f"there is no room {room_id[:MAX_ID_LENGTH]}…")
    with storage_errors():
        room = await Room.get_or_none(id=room_id)
    if room is None or room.deleted_at is not None:
        raise NotFound(f"there is no room {room_id}")
    if room.app_id != app_id:
        raise Forbidden(f"room {room_id} belongs to another application")
    return room


async def list_rooms(app_id: str, first: int, after: str | None) -> list[Room]:
    """Return up to ``first`` live rooms of the application, oldest first."""
    with storage_errors():
        query = Room.filter(app_id=app_id, deleted_at__isnull=True)
        if after is not None and not could_be_id(after):
            raise BadUserInput("after must be a roomId from a previous page")
        if after is not None:
            query = query.filter(id__gt=after)
        return await query.order_by("id").limit(first)


async def delete_room(app_id: str, room_id: str, rules: Rules) -> Room:
    """Delete a room: its ROOM data goes at once and its live session ends."""
    async with write_transaction():
        room = await get_room(app_id, room_id)
        room.deleted_at = rules.clock.now()
        await room.save(update_fields=["deleted_at"])
        await Document.filter(app_id=app_id, scope=Scope.ROOM, target=room_id).delete()
        await forget_changes(app_id, Scope.ROOM, room_id)
        ended = await end_live_session(room, rules)
    gone = NotFound(f"room {room_id} has been deleted")
    await rules.broker.publish(room_topic(room_id), Revoked(gone))
    if ended is not None:
        await publish_session_end(ended, rules)
    return room
