"""The read side of the API: who am I, the object tree, and custom data."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from models.applications import get_application
from models.custom_data import ReadRequest, SessionSelector, read_custom_data
from models.principals import ClientPrincipal
from models.tables import Role, Scope
from models.targets import visible_room, visible_session
from schema.context import Info
from schema.data import CustomDataResult
from schema.inputs import TargetInput
from schema.objects import Application, Room, Session


@strawberry.enum(description="Who is calling.")
class CallerKind(Enum):
    """Who is calling."""

    APPLICATION = "APPLICATION"
    CLIENT = "CLIENT"


@strawberry.type(description="The caller, as its credentials prove it.")
class Viewer:
    """The caller, as its credentials prove it."""

    kind: CallerKind = strawberry.field(description="Application server or client.")
    app_id: strawberry.ID = strawberry.field(description="The caller's application.")
    client_id: str | None = strawberry.field(description="A client's participant id.")
    user_ref: str | None = strawberry.field(description="A client's user.")
    name: str | None = strawberry.field(description="A client's display name.")
    role: Role | None = strawberry.field(description="A client's role.")
    room_id: strawberry.ID | None = strawberry.field(description="A client's room.")
    conf_num: int | None = strawberry.field(description="A client's session.")


@strawberry.type(description="Reads: who the caller is, the object tree, custom data.")
class Query:
    """Reads."""

    @strawberry.field(description="Who the caller is; null without credentials.")
    def viewer(self, info: Info) -> Viewer | None:
        """Who the caller is."""
        context = info.context
        if context.caller is None and context.auth_error is None:
            return None
        principal = context.principal
        if not isinstance(principal, ClientPrincipal):
            return Viewer(
                kind=CallerKind.APPLICATION,
                app_id=strawberry.ID(principal.app_id),
                client_id=None,
                user_ref=None,
                name=None,
                role=None,
                room_id=None,
                conf_num=None,
            )
        return Viewer(
            kind=CallerKind.CLIENT,
            app_id=strawberry.ID(principal.app_id),
            client_id=principal.client_id,
            user_ref=principal.user_ref,
            name=principal.name,
            role=principal.role,
            room_id=strawberry.ID(principal.room_id),
            conf_num=principal.conf_num,
        )

    @strawberry.field(description="The caller's application.")
    async def application(self, info: Info) -> Application:
        """The caller's application."""
        app = await get_application(info.context.principal.app_id)
        return Application(app_id=strawberry.ID(app.id), name=app.name)

    @strawberry.field(
        description="A room: any of the application's, or a client's own."
    )
    async def room(
        self,
        info: Info,
        room_id: Annotated[
            strawberry.ID, strawberry.argument(description="The room's id.")
        ],
    ) -> Room:
        """One room."""
        return Room.of(await visible_room(info.context.principal, str(room_id)))

    @strawberry.field(
        description="A session: any of the application's, or of a client's room."
    )
    async def session(
        self,
        info: Info,
        conf_num: Annotated[
            int, strawberry.argument(description="The session's number.")
        ],
    ) -> Session:
        """One session."""
        principal = info.context.principal
        session = await visible_session(principal, conf_num, info.context.rules)
        return Session.of(session, principal.app_id)

    @strawberry.field(
        description=(
            "Reads one scope's document, like the SDK's getCustomData(options). "
            "With SESSION, `session` picks CURRENT, LAST or ALL (paginated), or "
            "`confNum` one session; `userRef` keeps only the keys that user wrote "
            "last (with USER it names the user instead)."
        )
    )
    async def custom_data(
        self,
        info: Info,
        scope: Annotated[Scope, strawberry.argument(description="The scope to read.")],
        user_ref: Annotated[
            str | None,
            strawberry.argument(
                description="USER: the user to read. Other scopes: only its keys."
            ),
        ] = None,
        session: Annotated[
            SessionSelector,
            strawberry.argument(description="SESSION: which session(s)."),
        ] = SessionSelector.CURRENT,
        conf_num: Annotated[
            int | None,
            strawberry.argument(description="SESSION: one session by number."),
        ] = None,
        target: Annotated[
            TargetInput | None,
            strawberry.argument(
                description="Which instance (the application names it)."
            ),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description="session: ALL — page size, 1–100.")
        ] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="session: ALL — the previous page's endCursor."
            ),
        ] = None,
    ) -> CustomDataResult:
        """Read custom data."""
        principal = info.context.principal
        request = ReadRequest(
            scope=scope,
            target=TargetInput.spec(target),
            user_ref=user_ref,
            session=session,
            conf_num=conf_num,
            first=first,
            after=after,
        )
        # One root field reads one document: it reads directly, without the
        # loader's extra turn of the event loop (nested fields batch instead).
        found = await read_custom_data(principal, request, info.context.rules)
        return CustomDataResult.of_read(principal, scope, found)
