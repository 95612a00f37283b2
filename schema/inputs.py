"""The input types of the API."""

from __future__ import annotations

import strawberry

from models.tables import Role
from models.targets import TargetSpec


@strawberry.input(
    description=(
        "Names a scope instance. The application names what it means: roomId "
        "(ROOM, SESSION's live session, OWNER's owner), ownerRef, userRef, confNum. "
        "A client's target is implied by its token; it may repeat it, not change it."
    )
)
class TargetInput:
    """Names a scope instance."""

    room_id: strawberry.ID | None = strawberry.field(
        default=None, description="A room."
    )
    owner_ref: str | None = strawberry.field(default=None, description="An owner.")
    user_ref: str | None = strawberry.field(default=None, description="A user.")
    conf_num: int | None = strawberry.field(default=None, description="A session.")

    @staticmethod
    def spec(target: TargetInput | None) -> TargetSpec:
        """Return the target as the data rules take it."""
        if target is None:
            return TargetSpec()
        return TargetSpec(
            room_id=None if target.room_id is None else str(target.room_id),
            owner_ref=target.owner_ref,
            user_ref=target.user_ref,
            conf_num=target.conf_num,
        )


@strawberry.input(description="A new room.")
class CreateRoomInput:
    """A new room."""

    name: str = strawberry.field(description="A display name, 1–200 characters.")
    owner_ref: str = strawberry.field(
        description="The application's id of the room's owner, 1–128 characters."
    )


@strawberry.input(description="A join token for one user to join one room.")
class CreateTokenInput:
    """A join token for one user to join one room."""

    room_id: strawberry.ID = strawberry.field(description="The room to join.")
    user_ref: str = strawberry.field(
        description="The application's stable id for the end user, 1–128 characters."
    )
    name: str = strawberry.field(description="The user's display name.")
    role: Role = strawberry.field(
        default=Role.PARTICIPANT, description="MODERATOR or PARTICIPANT."
    )
    ttl_seconds: int | None = strawberry.field(
        default=None,
        description="How long the token lives (default 1 hour, at most the maximum).",
    )
