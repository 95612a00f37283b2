"""Who may read and write which document: the permission table, in one place.

Every read and write of custom data, through any field, ends in ``authorize``.
The table below is DESIGN.md section 1's, row for row. An application may read
and write every document of its own application and nothing outside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from models.broker import (
    app_key_topic,
    app_topic,
    participant_topic,
    room_topic,
    session_topic,
)
from models.documents import DocumentKey
from models.errors import Forbidden, NotFound, SessionEnded
from models.principals import ClientPrincipal, Principal
from models.tables import Scope


class Access(StrEnum):
    """What a caller wants to do with a document."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Target:
    """One scope instance, with the facts the permission rules look at."""

    app_id: str
    scope: Scope
    room_id: str | None = None
    owner_ref: str | None = None
    user_ref: str | None = None
    conf_num: int | None = None
    session_live: bool = False
    # When the document's data stops being served (SESSION data only).
    expires_at: datetime | None = None

    @property
    def document(self) -> DocumentKey:
        """The key of this target's document."""
        return DocumentKey(self.app_id, self.scope, self._instance())

    def _instance(self) -> str:
        instance = {
            Scope.APP: "",
            Scope.ROOM: self.room_id,
            Scope.OWNER: self.owner_ref,
            Scope.USER: self.user_ref,
            Scope.SESSION: None if self.conf_num is None else str(self.conf_num),
        }[self.scope]
        assert instance is not None, f"a {self.scope} target names its instance"
        return instance


ClientRule = Callable[[ClientPrincipal, Target], bool]


def _anyone(client: ClientPrincipal, target: Target) -> bool:
    return True


def _no_client(client: ClientPrincipal, target: Target) -> bool:
    return False


def _own_room(client: ClientPrincipal, target: Target) -> bool:
    return target.room_id == client.room_id


def _own_rooms_owner(client: ClientPrincipal, target: Target) -> bool:
    return target.owner_ref == client.owner_ref


def _own_user(client: ClientPrincipal, target: Target) -> bool:
    return target.user_ref == client.user_ref


def _own_live_session(client: ClientPrincipal, target: Target) -> bool:
    if target.room_id == client.room_id and not target.session_live:
        raise SessionEnded(f"session {target.conf_num} has ended")
    return target.conf_num == client.conf_num and target.session_live


#: What an in-session client may do, by scope: DESIGN.md section 1.
CLIENT_RULES: dict[tuple[Scope, Access], ClientRule] = {
    (Scope.APP, Access.READ): _anyone,
    (Scope.APP, Access.WRITE): _no_client,
    (Scope.ROOM, Access.READ): _own_room,
    (Scope.ROOM, Access.WRITE): _own_room,
    (Scope.OWNER, Access.READ): _own_rooms_owner,
    (Scope.OWNER, Access.WRITE): _no_client,
    (Scope.USER, Access.READ): _own_user,
    (Scope.USER, Access.WRITE): _own_user,
    (Scope.SESSION, Access.READ): _own_room,
    (Scope.SESSION, Access.WRITE): _own_live_session,
}


def authorize(principal: Principal, access: Access, target: Target) -> None:
    """Refuse, with the right error, any access the table does not allow."""
    principal.status.ensure_active()
    principal.status.ensure_addon()
    if target.app_id != principal.app_id:
        raise Forbidden("that document belongs to another application")
    if not isinstance(principal, ClientPrincipal):
        return
    if not CLIENT_RULES[target.scope, access](principal, target):
        raise Forbidden(_refusal(access, target))


def _refusal(access: Access, target: Target) -> str:
    what = {
        Scope.APP: "the application's data",
        Scope.ROOM: "another room's data",
        Scope.OWNER: "the owner's data"
        if access is Access.WRITE
        else "another owner's data",
        Scope.USER: "another user's data",
        Scope.SESSION: "another session's data"
        if access is Access.WRITE
        else "another room's sessions",
    }[target.scope]
    return f"an in-session client may not {access.value} {what}"


def ensure_retained(target: Target, now: datetime) -> None:
    """Refuse data past its retention, whether or not it has been purged yet."""
    if target.expires_at is not None and now >= target.expires_at:
        raise NotFound(f"the data of session {target.conf_num} has expired")


def guard_topics(principal: Principal, target: Target) -> tuple[str, ...]:
    """Return the topics whose revocation ends a live feed of ``target``.

    Everyone's feeds end with their application's standing, the application's
    own also with its key; a ROOM feed ends with its room; a client's feeds end
    with its room, its session and its own presence, since a client reads only
    while it is in the meeting.
    """
    topics = [app_topic(principal.app_id)]
    if not isinstance(principal, ClientPrincipal):
        topics.append(app_key_topic(principal.app_id))
    if target.scope is Scope.ROOM and target.room_id is not None:
        topics.append(room_topic(target.room_id))
    if isinstance(principal, ClientPrincipal):
        topics += [
            room_topic(principal.room_id),
            session_topic(principal.conf_num),
            participant_topic(principal.client_id),
        ]
    return tuple(dict.fromkeys(topics))
