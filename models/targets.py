"""Turning what a caller names (``target``, ``userRef``, ``confNum``) into a Target.

A client's target is implied by its token: it may repeat those values but not
name others (a different room, owner or user is ``FORBIDDEN`` before anything
is looked up). The one exception is ``confNum``, which may name any session of
the client's own room for reading. The application must name what it means,
and every room or session it names must belong to it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from models.access import Target, ensure_retained
from models.errors import BadUserInput, Forbidden, NotFound
from models.names import check_ref
from models.principals import ApplicationPrincipal, ClientPrincipal, Principal
from models.rooms import get_room
from models.rules import Rules
from models.sessions import get_session, live_session, session_end
from models.tables import Room, Scope, Session


@dataclass(frozen=True)
class TargetSpec:
    """The ``target`` argument: which scope instance the caller names."""

    room_id: str | None = None
    owner_ref: str | None = None
    user_ref: str | None = None
    conf_num: int | None = None

    def named(self) -> dict[str, object]:
        """Return the fields the caller gave, by their GraphQL names."""
        return {
            _ARGUMENT_NAMES[f.name]: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None
        }


_ARGUMENT_NAMES = {
    "room_id": "roomId",
    "owner_ref": "ownerRef",
    "user_ref": "userRef",
    "conf_num": "confNum",
}

#: Which target fields the application may give for each scope.
_APP_TARGET_FIELDS: dict[Scope, set[str]] = {
    Scope.APP: set(),
    Scope.ROOM: {"roomId"},
    Scope.OWNER: {"ownerRef", "roomId"},
    Scope.USER: {"userRef"},
    Scope.SESSION: {"confNum", "roomId"},
}


async def resolve_target(
    principal: Principal, scope: Scope, spec: TargetSpec, rules: Rules
) -> Target:
    """Return the one document a read or write addresses."""
    if isinstance(principal, ClientPrincipal):
        return await _client_target(principal, scope, spec, rules)
    return await _application_target(principal, scope, spec, rules)


def session_target(
    principal: Principal, session: Session, ended_at: datetime | None, rules: Rules
) -> Target:
    """Return the SESSION target of a known session that ended at ``ended_at``."""
    return Target(
        principal.app_id,
        Scope.SESSION,
        room_id=session.room_id,
        conf_num=session.conf_num,
        session_live=ended_at is None,
        expires_at=None if ended_at is None else ended_at + rules.retention.session,
    )


async def _client_target(
    client: ClientPrincipal, scope: Scope, spec: TargetSpec, rules: Rules
) -> Target:
    _refuse_other_names(client, scope, spec)
    if scope is Scope.SESSION and spec.conf_num not in (None, client.conf_num):
        assert spec.conf_num is not None
        session = await get_session(client.app_id, spec.conf_num)
        return session_target(client, session, await session_end(session, rules), rules)
    return implied_target(client, scope)


def implied_target(client: ClientPrincipal, scope: Scope) -> Target:
    """Return the instance of ``scope`` that a client's token implies."""
    return Target(
        client.app_id,
        scope,
        room_id=client.room_id,
        owner_ref=client.owner_ref,
        user_ref=client.user_ref,
        conf_num=client.conf_num,
        session_live=True,
    )


def _refuse_other_names(
    client: ClientPrincipal, scope: Scope, spec: TargetSpec
) -> None:
    implied = TargetSpec(
        client.room_id, client.owner_ref, client.user_ref, client.conf_num
    ).named()
    for argument, value in spec.named().items():
        # A client may read any session of its own room: that one is checked
        # once the session is looked up.
        reads_a_session = scope is Scope.SESSION and argument == "confNum"
        if not reads_a_session and value != implied[argument]:
            raise Forbidden(
                f"an in-session client may only name its own {argument}; its "
                "token implies the rest"
            )


async def _application_target(
    app: ApplicationPrincipal, scope: Scope, spec: TargetSpec, rules: Rules
) -> Target:
    _check_app_target_fields(scope, spec)
    if scope is Scope.APP:
        return Target(app.app_id, scope)
    if scope is Scope.ROOM:
        room = await get_room(app.app_id, _required(spec.room_id, "roomId", scope))
        return Target(app.app_id, scope, room_id=room.id)
    if scope is Scope.OWNER:
        return Target(app.app_id, scope, owner_ref=await _owner_ref(app, spec))
    if scope is Scope.USER:
        user_ref = check_ref(_required(spec.user_ref, "userRef", scope), "userRef")
        return Target(app.app_id, scope, user_ref=user_ref)
    session = await _app_session(app, spec, rules)
    return session_target(app, session, await session_end(session, rules), rules)


def _check_app_target_fields(scope: Scope, spec: TargetSpec) -> None:
    extra = set(spec.named()) - _APP_TARGET_FIELDS[scope]
    if extra:
        allowed = " or ".join(sorted(_APP_TARGET_FIELDS[scope])) or "no target"
        raise BadUserInput(
            f"{scope} takes {allowed}; {', '.join(sorted(extra))} does not apply"
        )


def _required(value: str | None, argument: str, scope: Scope) -> str:
    if value is None:
        raise BadUserInput(f"the application must give target.{argument} for {scope}")
    return value


async def _owner_ref(app: ApplicationPrincipal, spec: TargetSpec) -> str:
    if spec.owner_ref is not None and spec.room_id is not None:
        raise BadUserInput("give target.ownerRef or target.roomId for OWNER, not both")
    if spec.room_id is not None:
        return (await get_room(app.app_id, spec.room_id)).owner_ref
    return check_ref(_required(spec.owner_ref, "ownerRef", Scope.OWNER), "ownerRef")


async def _app_session(
    app: ApplicationPrincipal, spec: TargetSpec, rules: Rules
) -> Session:
    if spec.conf_num is not None:
        session = await get_session(app.app_id, spec.conf_num)
        if spec.room_id not in (None, session.room_id):
            raise BadUserInput(
                f"session {spec.conf_num} is not a session of room {spec.room_id}"
            )
        return session
    if spec.room_id is None:
        raise BadUserInput(
            "the application must name the session: its confNum, or target.roomId "
            "for a room's live session"
        )
    room = await get_room(app.app_id, spec.room_id)
    live = await live_session(room.id, rules)
    if live is None:
        raise NotFound(
            f"room {room.id} has no live session; name a past one with target.confNum"
        )
    return live


async def visible_room(principal: Principal, room_id: str) -> Room:
    """Return a room the caller may see: any of its application's, or its own."""
    if isinstance(principal, ClientPrincipal) and room_id != principal.room_id:
        raise Forbidden("an in-session client may only see its own room")
    return await get_room(principal.app_id, room_id)


async def visible_session(principal: Principal, conf_num: int, rules: Rules) -> Session:
    """Return a retained session the caller may see: its application's or room's."""
    session = await get_session(principal.app_id, conf_num)
    if isinstance(principal, ClientPrincipal) and session.room_id != principal.room_id:
        raise Forbidden("an in-session client may only see its own room's sessions")
    target = session_target(
        principal, session, await session_end(session, rules), rules
    )
    ensure_retained(target, rules.clock.now())
    return session
