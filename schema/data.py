"""The custom-data types: documents, the SDK-shaped result, and the enums."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from models.custom_data import ReadResult, SessionSelector, SessionSnapshot
from models.documents import Snapshot, WriteMode, Written
from models.principals import ClientPrincipal, Principal
from models.tables import Role, Scope

# The data rules' own enums, registered as GraphQL enums of the same names.
strawberry.enum(
    Scope, name="Scope", description="Where a document lives: one per scope instance."
)
strawberry.enum(
    Role, name="Role", description="A participant's role, fixed by its join token."
)
strawberry.enum(
    SessionSelector,
    name="SessionSelector",
    description=(
        "Which session a SESSION read means: CURRENT (the live one), LAST (the "
        "one before the live one, or the latest ended one when none is live) or "
        "ALL (every retained session, newest first)."
    ),
)


strawberry.enum(
    WriteMode,
    name="WriteMode",
    description=(
        "MERGE applies data as a JSON Merge Patch (RFC 7386): objects merge, null "
        "removes a key, arrays and scalars replace. REPLACE replaces the document."
    ),
)


@strawberry.type(description="Who last wrote a top-level key of a document, and when.")
class KeyAuthor:
    """Who last wrote a top-level key, and when."""

    key: str = strawberry.field(description="The top-level key.")
    client_id: str | None = strawberry.field(
        description="The participant that wrote it; null for the application."
    )
    user_ref: str | None = strawberry.field(
        description="That participant's user; null for the application."
    )
    name: str | None = strawberry.field(description="That participant's name.")
    role: Role | None = strawberry.field(description="That participant's role.")
    updated_at: datetime = strawberry.field(description="When it was written.")

    @classmethod
    def list_of(cls, snapshot: Snapshot) -> list[KeyAuthor]:
        """Return the key authors of a snapshot."""
        return [
            cls(
                key=a.key,
                client_id=a.client_id,
                user_ref=a.user_ref,
                name=a.name,
                role=Role(a.role) if a.role else None,
                updated_at=a.at,
            )
            for a in snapshot.key_authors()
        ]


@strawberry.type(description="One document at one revision.")
class CustomData:
    """One document at one revision."""

    scope: Scope = strawberry.field(description="The document's scope.")
    data: JSON = strawberry.field(description="The document; {} when never written.")
    revision: int = strawberry.field(
        description="Rises by one with each applied write; 0 before the first."
    )
    updated_at: datetime | None = strawberry.field(description="The last write's time.")
    snapshot: strawberry.Private[Snapshot]

    @strawberry.field(description="Who last wrote each top-level key.")
    def keys(self) -> list[KeyAuthor]:
        """Who last wrote each top-level key (worked out only when asked for)."""
        return KeyAuthor.list_of(self.snapshot)

    @classmethod
    def of(cls, snapshot: Snapshot) -> CustomData:
        """Return a snapshot as a GraphQL object."""
        return cls(
            scope=snapshot.key.scope,
            data=JSON(snapshot.data),
            revision=snapshot.revision,
            updated_at=snapshot.updated_at,
            snapshot=snapshot,
        )


@strawberry.type(description="One session of a room, with its SESSION document.")
class SessionData:
    """One session of a room, with its SESSION document."""

    conf_num: int = strawberry.field(description="The session's number.")
    started_at: datetime = strawberry.field(
        description="When the first join started it."
    )
    ended_at: datetime | None = strawberry.field(
        description="When it ended; null if live."
    )
    data: JSON = strawberry.field(description="The session's document.")
    revision: int = strawberry.field(description="The document's revision.")
    snapshot: strawberry.Private[Snapshot]

    @strawberry.field(description="Who last wrote each key.")
    def keys(self) -> list[KeyAuthor]:
        """Who last wrote each key (worked out only when asked for)."""
        return KeyAuthor.list_of(self.snapshot)

    @classmethod
    def of(cls, found: SessionSnapshot) -> SessionData:
        """Return a session's snapshot as a GraphQL object."""
        return cls(
            conf_num=found.conf_num,
            started_at=found.started_at,
            ended_at=found.ended_at,
            data=JSON(found.snapshot.data),
            revision=found.snapshot.revision,
            snapshot=found.snapshot,
        )


@strawberry.type(description="Where a page of sessions ends.")
class PageInfo:
    """Where a page ends, for reading the next one."""

    has_next_page: bool = strawberry.field(description="Whether more sessions follow.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to read the next page."
    )


@strawberry.type(
    description=(
        "The answer to a custom-data read or write, in the SDK's getCustomData "
        "shape: result (0 on success), the caller's own clientId, name, userRef "
        "and role (null for the application), the data and its revision."
    )
)
class CustomDataResult:
    """The SDK-shaped answer to a read or a write."""

    scope: Scope = strawberry.field(description="The scope read or written.")
    result: int = strawberry.field(default=0, description="0 on success.")
    client_id: str | None = strawberry.field(
        default=None, description="The caller's clientId."
    )
    name: str | None = strawberry.field(default=None, description="The caller's name.")
    user_ref: str | None = strawberry.field(
        default=None, description="The caller's userRef."
    )
    role: Role | None = strawberry.field(default=None, description="The caller's role.")
    conf_num: int | None = strawberry.field(
        default=None, description="The session read or written (SESSION only)."
    )
    data: JSON | None = strawberry.field(
        default=None,
        description="The document; null when no session matched, or for session: ALL.",
    )
    revision: int | None = strawberry.field(
        default=None, description="The document's revision; null when data is null."
    )
    updated_at: datetime | None = strawberry.field(
        default=None, description="When the document was last written."
    )

    @strawberry.field(description="Who last wrote each top-level key.")
    def keys(self) -> list[KeyAuthor] | None:
        """Who last wrote each top-level key (worked out only when asked for)."""
        return None if self.snapshot is None else KeyAuthor.list_of(self.snapshot)

    sessions: list[SessionData] | None = strawberry.field(
        default=None, description="For session: ALL, a page of sessions, newest first."
    )
    page_info: PageInfo | None = strawberry.field(
        default=None, description="For session: ALL, how to read the next page."
    )
    applied: bool | None = strawberry.field(
        default=None,
        description=(
            "For writes: false when the write changed nothing (the revision stays)."
        ),
    )
    snapshot: strawberry.Private[Snapshot | None] = None

    @classmethod
    def of_read(
        cls, principal: Principal, scope: Scope, found: ReadResult
    ) -> CustomDataResult:
        """Answer a read."""
        result = _answer(cls(scope=scope, conf_num=found.conf_num), principal)
        if found.snapshot is not None:
            result = _with_snapshot(result, found.snapshot)
        if found.sessions is not None:
            result.sessions = [SessionData.of(s) for s in found.sessions]
            last = found.sessions[-1].conf_num if found.sessions else None
            result.page_info = PageInfo(
                has_next_page=found.has_more,
                end_cursor=str(last) if found.has_more else None,
            )
        return result

    @classmethod
    def of_write(
        cls, principal: Principal, scope: Scope, written: Written
    ) -> CustomDataResult:
        """Answer a write."""
        conf_num = int(written.snapshot.key.target) if scope is Scope.SESSION else None
        result = cls(scope=scope, conf_num=conf_num, applied=written.applied)
        return _with_snapshot(_answer(result, principal), written.snapshot)


def _answer(result: CustomDataResult, principal: Principal) -> CustomDataResult:
    """Fill in who asked: a client's own ids, nothing for the application."""
    if isinstance(principal, ClientPrincipal):
        result.client_id = principal.client_id
        result.name = principal.name
        result.user_ref = principal.user_ref
        result.role = principal.role
    return result


def _with_snapshot(result: CustomDataResult, snapshot: Snapshot) -> CustomDataResult:
    result.data = JSON(snapshot.data)
    result.revision = snapshot.revision
    result.updated_at = snapshot.updated_at
    result.snapshot = snapshot
    return result
