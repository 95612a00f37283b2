"""The platform's objects as GraphQL types, each with its custom data nested.

Every ``customData`` field here ends in ``models.custom_data.read_target``,
which applies the same permission table as the flat ``customData`` query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models import tables
from models.access import Target
from models.custom_data import MAX_PAGE, read_target
from models.errors import BadUserInput
from models.rooms import list_rooms
from models.sessions import (
    list_participants,
    list_sessions,
    live_session,
    session_end,
)
from models.tables import Role, Scope
from models.targets import session_target, visible_room
from schema.context import Info
from schema.data import CustomData


async def read(info: Info, target: Target, user_ref: str | None = None) -> CustomData:
    """Read one target's document for the caller, through the request's loader."""
    snapshot = await read_target(
        info.context.principal,
        target,
        info.context.rules.clock.now(),
        user_ref=user_ref,
        loader=info.context.documents.load,
    )
    return CustomData.of(snapshot)


def page_size(first: int) -> int:
    """Check a page size argument."""
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE}")
    return first


def session_cursor(after: int | None) -> int | None:
    """Check a sessions page's ``after``: a confNum, so 1 or more."""
    if after is not None and after < 1:
        raise BadUserInput("after must be a confNum from a previous page")
    return after


def room_cursor(after: str | None) -> str | None:
    """Check a rooms page's ``after``: a roomId, which is ASCII.

    A lone surrogate, which JSON can carry, could not even be sent to SQLite.
    """
    if after is not None and not after.isascii():
        raise BadUserInput("after must be a roomId from a previous page")
    return after


@strawberry.type(description="An end user of the application, by its userRef.")
class User:
    """An end user of the application."""

    user_ref: str = strawberry.field(description="The application's id for the user.")
    app_id: strawberry.Private[str]

    @strawberry.field(description="The user's USER document.")
    async def custom_data(self, info: Info) -> CustomData:
        """The user's USER document."""
        return await read(info, Target(self.app_id, Scope.USER, user_ref=self.user_ref))


@strawberry.type(description="The owner of a room, by its ownerRef.")
class Owner:
    """The owner of a room."""

    owner_ref: str = strawberry.field(description="The application's id for the owner.")
    app_id: strawberry.Private[str]

    @strawberry.field(description="The owner's OWNER document.")
    async def custom_data(self, info: Info) -> CustomData:
        """The owner's OWNER document."""
        target = Target(self.app_id, Scope.OWNER, owner_ref=self.owner_ref)
        return await read(info, target)


@strawberry.type(description="One connection of an end user to a session.")
class Participant:
    """One connection of an end user to a session."""

    client_id: str = strawberry.field(description="Fresh on every join.")
    user_ref: str = strawberry.field(description="The end user, from the join token.")
    name: str = strawberry.field(description="The display name, from the join token.")
    role: Role = strawberry.field(description="The role, from the join token.")
    joined_at: datetime = strawberry.field(description="When it joined.")
    left_at: datetime | None = strawberry.field(description="When it left, if it has.")
    app_id: strawberry.Private[str]

    @classmethod
    def of(cls, row: tables.Participant, app_id: str, now: datetime) -> Participant:
        """Return a participant row as a GraphQL object.

        A participant that never left is gone once its token has expired;
        that is when it left.
        """
        expired = row.expires_at if row.expires_at <= now else None
        return cls(
            client_id=row.client_id,
            user_ref=row.user_ref,
            name=row.name,
            role=row.role,
            joined_at=row.joined_at,
            left_at=row.left_at or expired,
            app_id=app_id,
        )

    @strawberry.field(description="The end user, with its USER document.")
    def user(self) -> User:
        """The end user behind this connection."""
        return User(user_ref=self.user_ref, app_id=self.app_id)


@strawberry.type(description="One meeting held in a room.")
class Session:
    """One meeting held in a room."""

    conf_num: int = strawberry.field(description="Unique in the deployment; rises.")
    room_id: strawberry.ID = strawberry.field(description="The room it is held in.")
    started_at: datetime = strawberry.field(
        description="When the first join started it."
    )
    row: strawberry.Private[tables.Session]
    app_id: strawberry.Private[str]

    @classmethod
    def of(cls, row: tables.Session, app_id: str) -> Session:
        """Return a session row as a GraphQL object."""
        return cls(
            conf_num=row.conf_num,
            room_id=strawberry.ID(row.room_id),
            started_at=row.started_at,
            row=row,
            app_id=app_id,
        )

    @strawberry.field(description="When it ended; null while it is live.")
    async def ended_at(self, info: Info) -> datetime | None:
        """When the session ended."""
        return await session_end(self.row, info.context.rules)

    @strawberry.field(description="Whether the session is live.")
    async def live(self, info: Info) -> bool:
        """Whether the session is live."""
        return await session_end(self.row, info.context.rules) is None

    @strawberry.field(description="The session's SESSION document.")
    async def custom_data(
        self,
        info: Info,
        user_ref: Annotated[
            str | None,
            strawberry.argument(description="Keep only the keys this user wrote last."),
        ] = None,
    ) -> CustomData:
        """The session's document."""
        rules = info.context.rules
        ended_at = await session_end(self.row, rules)
        target = session_target(info.context.principal, self.row, ended_at, rules)
        return await read(info, target, user_ref=user_ref)

    @strawberry.field(description="Everyone who joined, in joining order.")
    async def participants(self, info: Info) -> list[Participant]:
        """Everyone who joined the session."""
        rows = await list_participants(self.conf_num)
        now = info.context.rules.clock.now()
        return [Participant.of(row, self.app_id, now) for row in rows]

    @strawberry.field(description="The room the session is held in.")
    async def room(self, info: Info) -> Room:
        """The room the session is held in."""
        return Room.of(await visible_room(info.context.principal, self.row.room_id))


@strawberry.type(description="A video room of the application.")
class Room:
    """A video room of the application."""

    room_id: strawberry.ID = strawberry.field(description="The room's id.")
    name: str = strawberry.field(description="The name given at creation.")
    owner_ref: str = strawberry.field(description="The application's id of its owner.")
    created_at: datetime = strawberry.field(description="When it was created.")
    app_id: strawberry.Private[str]

    @classmethod
    def of(cls, row: tables.Room) -> Room:
        """Return a room row as a GraphQL object."""
        return cls(
            room_id=strawberry.ID(row.id),
            name=row.name,
            owner_ref=row.owner_ref,
            created_at=row.created_at,
            app_id=row.app_id,
        )

    @strawberry.field(description="The room's ROOM document.")
    async def custom_data(self, info: Info) -> CustomData:
        """The room's document."""
        return await read(info, Target(self.app_id, Scope.ROOM, room_id=self.room_id))

    @strawberry.field(description="The room's owner, with its OWNER document.")
    def owner(self) -> Owner:
        """The room's owner."""
        return Owner(owner_ref=self.owner_ref, app_id=self.app_id)

    @strawberry.field(description="The room's sessions, newest first.")
    async def sessions(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="Page size, 1–100.")
        ] = 20,
        after: Annotated[
            int | None,
            strawberry.argument(description="Return sessions older than this confNum."),
        ] = None,
    ) -> list[Session]:
        """The room's sessions, newest first."""
        rules = info.context.rules
        before = session_cursor(after)
        rows = await list_sessions(self.room_id, page_size(first), before, rules)
        return [Session.of(row, self.app_id) for row in rows]

    @strawberry.field(description="The live session, if one is live.")
    async def live_session(self, info: Info) -> Session | None:
        """The room's live session."""
        row = await live_session(self.room_id, info.context.rules)
        return None if row is None else Session.of(row, self.app_id)


@strawberry.type(description="The application the caller belongs to.")
class Application:
    """The application the caller belongs to."""

    app_id: strawberry.ID = strawberry.field(description="The application's id.")
    name: str = strawberry.field(description="The name it was registered with.")

    @strawberry.field(description="The application's APP document.")
    async def custom_data(self, info: Info) -> CustomData:
        """The application's document."""
        return await read(info, Target(self.app_id, Scope.APP))

    @strawberry.field(description="The application's rooms (application only).")
    async def rooms(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="Page size, 1–100.")
        ] = 20,
        after: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Return rooms after this roomId."),
        ] = None,
    ) -> list[Room]:
        """The application's live rooms, by id."""
        app = info.context.application
        rows = await list_rooms(app.app_id, page_size(first), room_cursor(after))
        return [Room.of(row) for row in rows]
