"""The custom-data operations: read a scope (with session selectors) and write one.

These compose target resolution, the permission table and the document store;
the GraphQL resolvers call them and do nothing else with the data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from models.access import Access, Target, authorize, ensure_retained
from models.documents import (
    Change,
    DocumentKey,
    Snapshot,
    Written,
    read_document,
    write_document,
)
from models.errors import BadUserInput, Forbidden
from models.names import check_ref
from models.principals import Author, ClientPrincipal, Principal
from models.rooms import get_room
from models.rules import Rules
from models.sessions import last_session, list_sessions, live_session, session_end
from models.tables import Scope, Session
from models.targets import TargetSpec, implied_target, resolve_target, session_target

Loader = Callable[[DocumentKey], Awaitable[Snapshot]]
T = TypeVar("T")

MAX_PAGE = 100
# confNums are SQLite INTEGERs: paging cursors past this name no session.
MAX_CONF_NUM = 2**63 - 1
MAX_CURSOR_DIGITS = len(str(MAX_CONF_NUM))


class SessionSelector(StrEnum):
    """Which session(s) of a room a SESSION read means."""

    CURRENT = "CURRENT"
    LAST = "LAST"
    ALL = "ALL"


@dataclass(frozen=True)
class SessionSnapshot:
    """One session of a room, with its document."""

    conf_num: int
    started_at: datetime
    ended_at: datetime | None
    snapshot: Snapshot


@dataclass(frozen=True)
class ReadRequest:
    """The arguments of a ``customData`` read."""

    scope: Scope
    target: TargetSpec = field(default_factory=TargetSpec)
    user_ref: str | None = None
    session: SessionSelector = SessionSelector.CURRENT
    conf_num: int | None = None
    first: int = 20
    after: str | None = None


@dataclass(frozen=True)
class ReadResult:
    """What a read found: one document, or a page of sessions for ``ALL``."""

    snapshot: Snapshot | None
    conf_num: int | None = None
    sessions: list[SessionSnapshot] | None = None
    has_more: bool = False


async def read_target(
    principal: Principal,
    target: Target,
    now: datetime,
    *,
    user_ref: str | None = None,
    loader: Loader = read_document,
) -> Snapshot:
    """Read one target's document, keeping only ``user_ref``'s keys if given."""
    authorize(principal, Access.READ, target)
    ensure_retained(target, now)
    snapshot = await loader(target.document)
    if user_ref is not None and target.scope is not Scope.USER:
        return snapshot.written_by(user_ref)
    return snapshot


async def read_custom_data(
    principal: Principal,
    request: ReadRequest,
    rules: Rules,
    loader: Loader = read_document,
) -> ReadResult:
    """Answer a ``customData`` read."""
    request = _normalised(request)
    if request.scope is Scope.SESSION and request.target.conf_num is None:
        return await _read_sessions(principal, request, rules, loader)
    target = await resolve_target(principal, request.scope, request.target, rules)
    snapshot = await read_target(
        principal, target, rules.clock.now(), user_ref=request.user_ref, loader=loader
    )
    conf_num = target.conf_num if target.scope is Scope.SESSION else None
    return ReadResult(snapshot, conf_num=conf_num)


async def write_custom_data(
    principal: Principal,
    scope: Scope,
    change: Change,
    if_revision: int | None,
    spec: TargetSpec,
    rules: Rules,
) -> Written:
    """Apply a write to the one document the caller may write."""
    target = await resolve_target(principal, scope, spec, rules)
    authorize(principal, Access.WRITE, target)
    ensure_retained(target, rules.clock.now())
    return await write_document(
        target.document, change, Author.of(principal), if_revision, rules
    )


def _normalised(request: ReadRequest) -> ReadRequest:
    """Fold ``userRef`` and ``confNum`` into the target where they name it."""
    if request.user_ref is not None:
        check_ref(request.user_ref, "userRef")
    target = request.target
    if request.scope is Scope.USER and request.user_ref is not None:
        target = replace(
            target, user_ref=_agreeing(target.user_ref, request.user_ref, "userRef")
        )
    if request.conf_num is not None:
        if request.session is not SessionSelector.CURRENT:
            raise BadUserInput("confNum picks one session: leave out session")
        target = replace(
            target, conf_num=_agreeing(target.conf_num, request.conf_num, "confNum")
        )
    if request.scope is not Scope.SESSION and target.conf_num is not None:
        raise BadUserInput(f"confNum applies to SESSION, not {request.scope}")
    if not 1 <= request.first <= MAX_PAGE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE}")
    return replace(request, target=target)


def _agreeing(named: T | None, given: T, argument: str) -> T:
    if named is not None and named != given:
        raise BadUserInput(f"{argument} and target.{argument} name different things")
    return given


async def _read_sessions(
    principal: Principal, request: ReadRequest, rules: Rules, loader: Loader
) -> ReadResult:
    room_id = await _selected_room(principal, request.target)
    if request.session is SessionSelector.CURRENT and isinstance(
        principal, ClientPrincipal
    ):
        # A client's credentials were just checked: it is in its room's one
        # live session, so that is the current one.
        return await _read_own_session(principal, request, rules, loader)
    if request.session is SessionSelector.ALL:
        return await _read_all_sessions(principal, room_id, request, rules, loader)
    if request.session is SessionSelector.LAST:
        session = await last_session(room_id, rules)
    else:
        session = await live_session(room_id, rules)
    found = None
    if session is not None:
        found = await _session_snapshot(
            principal, session, request.user_ref, rules, loader
        )
    if found is None:
        return ReadResult(None)
    return ReadResult(found.snapshot, conf_num=found.conf_num)


async def _read_own_session(
    client: ClientPrincipal, request: ReadRequest, rules: Rules, loader: Loader
) -> ReadResult:
    target = implied_target(client, Scope.SESSION)
    snapshot = await read_target(
        client, target, rules.clock.now(), user_ref=request.user_ref, loader=loader
    )
    return ReadResult(snapshot, conf_num=client.conf_num)


async def _selected_room(principal: Principal, spec: TargetSpec) -> str:
    """Return the room whose sessions a read selects among."""
    if isinstance(principal, ClientPrincipal):
        if spec.room_id not in (None, principal.room_id):
            raise Forbidden(
                "an in-session client may only read its own room's sessions"
            )
        return principal.room_id
    if spec.room_id is None:
        raise BadUserInput(
            "the application must give target.roomId or confNum for SESSION"
        )
    return (await get_room(principal.app_id, spec.room_id)).id


async def _read_all_sessions(
    principal: Principal,
    room_id: str,
    request: ReadRequest,
    rules: Rules,
    loader: Loader,
) -> ReadResult:
    page = await list_sessions(
        room_id, request.first + 1, _cursor(request.after), rules
    )
    found = [
        await _session_snapshot(principal, session, request.user_ref, rules, loader)
        for session in page[: request.first]
    ]
    return ReadResult(
        None,
        sessions=[snapshot for snapshot in found if snapshot is not None],
        has_more=len(page) > request.first,
    )


async def _session_snapshot(
    principal: Principal,
    session: Session,
    user_ref: str | None,
    rules: Rules,
    loader: Loader,
) -> SessionSnapshot | None:
    """Read one session of a listing; ``None`` if its data has expired."""
    ended_at = await session_end(session, rules)
    target = session_target(principal, session, ended_at, rules)
    now = rules.clock.now()
    if target.expires_at is not None and now >= target.expires_at:
        return None
    snapshot = await read_target(
        principal, target, now, user_ref=user_ref, loader=loader
    )
    return SessionSnapshot(session.conf_num, session.started_at, ended_at, snapshot)


def _cursor(after: str | None) -> int | None:
    """Read an ``after`` cursor: the confNum a previous page ended at, in digits."""
    if after is None:
        return None
    # int() would also take signs, spaces, underscores and other scripts'
    # digits; and a confNum is a SQLite INTEGER, which ends at 2**63 - 1.
    is_number = after.isascii() and after.isdigit() and len(after) <= MAX_CURSOR_DIGITS
    if not is_number or not 1 <= int(after) <= MAX_CONF_NUM:
        raise BadUserInput(f"after must be a cursor returned by a read, not {after!r}")
    return int(after)
