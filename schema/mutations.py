"""The write side of the API: rooms, tokens, joining and leaving, custom data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from models.custom_data import read_target, write_custom_data
from models.documents import Change, Remove, Snapshot, WriteMode, change_for
from models.names import check_name, check_ref
from models.principals import ClientPrincipal, JoinClaims, client_principal
from models.rooms import create_room, delete_room, get_room, join_room
from models.sessions import end_session, get_session, leave
from models.tables import Scope
from models.targets import implied_target
from schema.context import Info
from schema.data import CustomDataResult
from schema.inputs import CreateRoomInput, CreateTokenInput, TargetInput
from schema.objects import Room, Session


@strawberry.type(description="A deleted room.")
class DeletedRoom:
    """A deleted room."""

    room_id: strawberry.ID = strawberry.field(description="The room's id.")
    deleted_at: datetime = strawberry.field(description="When it was deleted.")


@strawberry.type(description="A signed join token.")
class JoinToken:
    """A signed join token."""

    token: str = strawberry.field(description="Give it to the client that joins.")
    expires_at: datetime = strawberry.field(description="When it stops working.")


@strawberry.type(description="An ended session.")
class EndedSession:
    """An ended session."""

    conf_num: int = strawberry.field(description="The session's number.")
    ended_at: datetime = strawberry.field(description="When it ended.")


@strawberry.type(description="A participant that left its session.")
class LeftRoom:
    """A participant that left its session."""

    client_id: str = strawberry.field(description="The participant.")
    left_at: datetime = strawberry.field(description="When it left.")


@strawberry.type(description="Each scope's revision when the client joined.")
class ScopeRevisions:
    """Each scope's revision when the client joined."""

    app: int = strawberry.field(description="The APP document's revision.")
    room: int = strawberry.field(description="The ROOM document's revision.")
    owner: int = strawberry.field(description="The OWNER document's revision.")
    user: int = strawberry.field(description="The USER document's revision.")
    session: int = strawberry.field(description="The SESSION document's revision.")


async def _joined_document(
    client: ClientPrincipal, info: Info, scope: Scope
) -> Snapshot:
    """Read one document a new participant may read, through the loader."""
    target = implied_target(client, scope)
    now = info.context.rules.clock.now()
    return await read_target(client, target, now, loader=info.context.documents.load)


def _document_field(scope: Scope, description: str) -> Any:
    """A field of JoinSnapshot that resolves to one scope's document."""

    async def resolve(root: JoinSnapshot, info: Info) -> JSON:
        return JSON((await _joined_document(root.client, info, scope)).data)

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="Every document a new participant may read.")
class JoinSnapshot:
    """Every document a new participant may read, as it stood at the join.

    Each field reads its document on its own, so that a refusal (an
    application without the add-on, say) errors that field, not the join.
    """

    client: strawberry.Private[ClientPrincipal]

    app: JSON = _document_field(Scope.APP, "The APP document.")
    room: JSON = _document_field(Scope.ROOM, "The ROOM document of the room joined.")
    owner: JSON = _document_field(
        Scope.OWNER, "The OWNER document of the room's owner."
    )
    user: JSON = _document_field(Scope.USER, "The USER document of the joining user.")
    session: JSON = _document_field(
        Scope.SESSION, "The SESSION document of the session joined."
    )

    @strawberry.field(description="Each document's revision, to subscribe after.")
    async def revisions(self, info: Info) -> ScopeRevisions:
        """Each document's revision."""
        found = {
            scope: (await _joined_document(self.client, info, scope)).revision
            for scope in Scope
        }
        return ScopeRevisions(
            app=found[Scope.APP],
            room=found[Scope.ROOM],
            owner=found[Scope.OWNER],
            user=found[Scope.USER],
            session=found[Scope.SESSION],
        )


@strawberry.type(description="A new participant of a room's live session.")
class JoinResult:
    """A new participant of a room's live session."""

    client_id: str = strawberry.field(description="The new participant's id.")
    connection_token: str = strawberry.field(
        description="Send as `Authorization: Bearer …` on every later request."
    )
    expires_at: datetime = strawberry.field(description="When the connection ends.")
    session: Session = strawberry.field(description="The session joined.")
    custom_data: JoinSnapshot = strawberry.field(
        description="Every document the participant may read, as it stood."
    )


@strawberry.type(description="Writes: rooms, tokens, joining and leaving, custom data.")
class Mutation:
    """Writes."""

    @strawberry.mutation(description="Create a room (application only).")
    async def create_room(
        self,
        info: Info,
        input: Annotated[
            CreateRoomInput,
            strawberry.argument(description="The room's name and owner."),
        ],
    ) -> Room:
        """Create a room."""
        app = info.context.application
        now = info.context.rules.clock.now()
        return Room.of(await create_room(app.app_id, input.name, input.owner_ref, now))

    @strawberry.mutation(
        description=(
            "Delete a room (application only): its ROOM data goes at once, its "
            "live session ends and its tokens stop working."
        )
    )
    async def delete_room(
        self,
        info: Info,
        room_id: Annotated[strawberry.ID, strawberry.argument(description="The room.")],
    ) -> DeletedRoom:
        """Delete a room."""
        app = info.context.application
        room = await delete_room(app.app_id, str(room_id), info.context.rules)
        assert room.deleted_at is not None
        return DeletedRoom(room_id=strawberry.ID(room.id), deleted_at=room.deleted_at)

    @strawberry.mutation(description="Make a join token (application only).")
    async def create_token(
        self,
        info: Info,
        input: Annotated[
            CreateTokenInput,
            strawberry.argument(
                description="Who may join which room, and for how long."
            ),
        ],
    ) -> JoinToken:
        """Make a join token."""
        app = info.context.application
        room = await get_room(app.app_id, str(input.room_id))
        claims = JoinClaims(
            app_id=app.app_id,
            room_id=room.id,
            user_ref=check_ref(input.user_ref, "userRef"),
            name=check_name(input.name, "name"),
            role=input.role,
            expires_at=info.context.tokens.join_expiry(input.ttl_seconds),
        )
        issued = info.context.tokens.issue_join(claims)
        return JoinToken(token=issued.token, expires_at=issued.expires_at)

    @strawberry.mutation(description="End a session now (application only).")
    async def end_session(
        self,
        info: Info,
        conf_num: Annotated[int, strawberry.argument(description="The session.")],
    ) -> EndedSession:
        """End a session."""
        app = info.context.application
        session = await end_session(
            await get_session(app.app_id, conf_num), info.context.rules
        )
        assert session.ended_at is not None
        return EndedSession(conf_num=session.conf_num, ended_at=session.ended_at)

    @strawberry.mutation(
        description=(
            "Join a room with a join token: a new participant with a fresh clientId "
            "in the room's live session, starting one if none is live."
        )
    )
    async def join_room(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="A join token.")],
    ) -> JoinResult:
        """Join a room."""
        context = info.context
        claims = context.tokens.read_join(token)
        participant = await join_room(claims, context.rules)
        client = client_principal(participant)
        context.become(client)
        issued = context.tokens.issue_connection(client.client_id, claims.expires_at)
        return JoinResult(
            client_id=client.client_id,
            connection_token=issued.token,
            expires_at=issued.expires_at,
            session=Session.of(participant.session, client.app_id),
            custom_data=JoinSnapshot(client=client),
        )

    @strawberry.mutation(description="Leave the session (client only).")
    async def leave_room(self, info: Info) -> LeftRoom:
        """Leave the session."""
        client = info.context.client
        participant = await leave(client.client_id, info.context.rules)
        assert participant.left_at is not None
        return LeftRoom(client_id=participant.client_id, left_at=participant.left_at)

    @strawberry.mutation(
        description=(
            "Write one scope's document. MERGE (default) applies `data` as a JSON "
            "Merge Patch; REPLACE replaces the document. With ifRevision, the write "
            "applies only at that revision (0: only if the document does not exist)."
        )
    )
    async def set_custom_data(
        self,
        info: Info,
        scope: Annotated[Scope, strawberry.argument(description="The scope.")],
        data: Annotated[JSON, strawberry.argument(description="A JSON object.")],
        mode: Annotated[
            WriteMode, strawberry.argument(description="MERGE or REPLACE.")
        ] = WriteMode.MERGE,
        if_revision: Annotated[
            int | None, strawberry.argument(description="Expected revision.")
        ] = None,
        target: Annotated[
            TargetInput | None, strawberry.argument(description="Which instance.")
        ] = None,
    ) -> CustomDataResult:
        """Write custom data."""
        return await _write(info, scope, change_for(mode, data), if_revision, target)

    @strawberry.mutation(
        description="Remove top-level keys of one scope's document (all if omitted)."
    )
    async def delete_custom_data(
        self,
        info: Info,
        scope: Annotated[Scope, strawberry.argument(description="The scope.")],
        keys: Annotated[
            list[str] | None, strawberry.argument(description="Keys to remove.")
        ] = None,
        if_revision: Annotated[
            int | None, strawberry.argument(description="Expected revision.")
        ] = None,
        target: Annotated[
            TargetInput | None, strawberry.argument(description="Which instance.")
        ] = None,
    ) -> CustomDataResult:
        """Remove keys."""
        return await _write(info, scope, Remove(keys), if_revision, target)


async def _write(
    info: Info,
    scope: Scope,
    change: Change,
    if_revision: int | None,
    target: TargetInput | None,
) -> CustomDataResult:
    principal = info.context.principal
    written = await write_custom_data(
        principal,
        scope,
        change,
        if_revision,
        TargetInput.spec(target),
        info.context.rules,
    )
    info.context.remember_document(written.snapshot)
    return CustomDataResult.of_write(principal, scope, written)
