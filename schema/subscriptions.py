"""Live changes: following one document as it changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField, Selection

from models.access import Access, Target, authorize, ensure_retained, guard_topics
from models.feeds import EventKind, FeedEvent, FeedRequest, LiveDelivery, follow
from models.principals import Author, ClientPrincipal
from models.tables import Role, Scope
from models.targets import TargetSpec, resolve_target
from schema.context import Info, live_sink
from schema.execution import event_renderer
from schema.inputs import TargetInput

strawberry.enum(
    EventKind,
    name="ChangeKind",
    description=(
        "CHANGE: one applied write (its patch). SNAPSHOT: the whole document, sent "
        "first when asked for, or when the reader must start again."
    ),
)


@strawberry.type(description="Who made a change: a participant, or the application.")
class ChangeAuthor:
    """Who made a change."""

    application: bool = strawberry.field(description="True when the application wrote.")
    client_id: str | None = strawberry.field(description="The participant.")
    user_ref: str | None = strawberry.field(description="Its user.")
    name: str | None = strawberry.field(description="Its display name.")
    role: Role | None = strawberry.field(description="Its role.")

    @classmethod
    def of(cls, author: Author) -> ChangeAuthor:
        """Describe a change's author."""
        return cls(
            application=author.client_id is None,
            client_id=author.client_id,
            user_ref=author.user_ref,
            name=author.name,
            role=author.role,
        )


@strawberry.type(description="One event of a live feed of a document.")
class DataChange:
    """One event of a live feed of a document."""

    kind: EventKind = strawberry.field(description="CHANGE or SNAPSHOT.")
    scope: Scope = strawberry.field(description="The document's scope.")
    conf_num: int | None = strawberry.field(description="SESSION: the session.")
    room_id: strawberry.ID | None = strawberry.field(
        description="ROOM, SESSION: the room."
    )
    owner_ref: str | None = strawberry.field(description="OWNER: the owner.")
    user_ref: str | None = strawberry.field(description="USER: the user.")
    revision: int = strawberry.field(description="The document's revision after it.")
    patch: JSON | None = strawberry.field(
        description="CHANGE: the JSON Merge Patch that made this revision."
    )
    changed_keys: list[str] = strawberry.field(
        description="Top-level keys added or given a new value."
    )
    removed_keys: list[str] = strawberry.field(description="Top-level keys removed.")
    data: JSON | None = strawberry.field(
        description=(
            "The whole document at this revision (computed only when selected). "
            "Null for replayed changes older than the newest one replayed."
        )
    )
    author: ChangeAuthor | None = strawberry.field(description="CHANGE: who wrote.")
    at: datetime | None = strawberry.field(description="CHANGE: when.")
    # Set when every subscriber of a change receives this one object: the
    # executor then keeps its results here (see schema.execution).
    shared_results: strawberry.Private[dict[Any, Any] | None] = None

    @classmethod
    def of(cls, event: FeedEvent, target: Target) -> DataChange:
        """Describe a feed event of ``target``'s document."""
        change = event.change
        return cls(
            kind=event.kind,
            scope=target.scope,
            conf_num=target.conf_num if target.scope is Scope.SESSION else None,
            room_id=_room_of(target),
            owner_ref=target.owner_ref if target.scope is Scope.OWNER else None,
            user_ref=target.user_ref if target.scope is Scope.USER else None,
            revision=event.revision,
            patch=None if change is None else JSON(change.patch),
            changed_keys=[] if change is None else change.changed_keys,
            removed_keys=[] if change is None else change.removed_keys,
            data=None if event.data is None else JSON(event.data),
            author=None if change is None else ChangeAuthor.of(change.author),
            at=None if change is None else change.at,
        )


def _room_of(target: Target) -> strawberry.ID | None:
    if target.scope in (Scope.ROOM, Scope.SESSION) and target.room_id is not None:
        return strawberry.ID(target.room_id)
    return None


AfterRevision = Annotated[
    int | None,
    strawberry.argument(
        description=(
            "Replay the changes after this revision, then go on live. When the "
            "change log no longer reaches back, the first event is a SNAPSHOT."
        )
    ),
]
IncludeSnapshot = Annotated[
    bool, strawberry.argument(description="Send the whole document first.")
]


@strawberry.type(description="Live changes of documents, over graphql-transport-ws.")
class Subscription:
    """Live changes."""

    @strawberry.subscription(
        description=(
            "Every change to a session's document. A client follows its own "
            "session by default; the application names confNum."
        )
    )
    async def session_data_changed(
        self,
        info: Info,
        conf_num: Annotated[
            int | None, strawberry.argument(description="The session.")
        ] = None,
        after_revision: AfterRevision = None,
        include_snapshot: IncludeSnapshot = False,
    ) -> AsyncGenerator[DataChange, None]:
        """Follow a session's document."""
        spec = TargetSpec(conf_num=conf_num)
        async for change in _watch(
            info, Scope.SESSION, spec, after_revision, include_snapshot
        ):
            yield change

    @strawberry.subscription(
        description=(
            "Every change to one document of any scope the caller may read. A "
            "client's default target is its own room, owner, user and session."
        )
    )
    async def custom_data_changed(
        self,
        info: Info,
        scope: Annotated[Scope, strawberry.argument(description="The scope.")],
        target: Annotated[
            TargetInput | None, strawberry.argument(description="Which instance.")
        ] = None,
        after_revision: AfterRevision = None,
        include_snapshot: IncludeSnapshot = False,
    ) -> AsyncGenerator[DataChange, None]:
        """Follow one document."""
        spec = TargetInput.spec(target)
        async for change in _watch(info, scope, spec, after_revision, include_snapshot):
            yield change


async def _watch(
    info: Info,
    scope: Scope,
    spec: TargetSpec,
    after_revision: int | None,
    include_snapshot: bool,
) -> AsyncGenerator[DataChange, None]:
    """Check the caller may read the document, then follow it."""
    context = info.context
    principal = context.principal
    target = await resolve_target(principal, scope, spec, context.rules)
    authorize(principal, Access.READ, target)
    ensure_retained(target, context.rules.clock.now())
    request = FeedRequest(
        key=target.document,
        guards=guard_topics(principal, target),
        after_revision=after_revision,
        include_snapshot=include_snapshot,
        valid_until=principal.valid_until
        if isinstance(principal, ClientPrincipal)
        else None,
        with_data=_selects(info, "data"),
    )
    live = _live_delivery(target)
    async for event in follow(request, context.rules, live):
        yield _describe(event, target)


def _live_delivery(target: Target) -> LiveDelivery | None:
    """Send changes heard live straight to the socket, if the transport has one.

    Such a change is described and executed once for all its subscribers
    asking the same (see schema.execution); each then only queues the text.
    """
    sink = live_sink.get()
    render = event_renderer()
    if sink is None or render is None:
        return None

    def deliver(event: FeedEvent) -> bool:
        if event.shared is None or not sink.ready():
            return False
        response = render(_describe(event, target))
        if response is None:
            return False
        sink.send(response)
        return True

    return deliver


def _describe(event: FeedEvent, target: Target) -> DataChange:
    """Describe an event, once for all the subscribers of a change heard live."""
    if event.shared is None:
        return DataChange.of(event, target)
    # Every reader of one published change follows the same document, so the
    # same target; only whether it keeps the document differs.
    key = (_DESCRIBED, event.data is not None)
    described: DataChange | None = event.shared.get(key)
    if described is None:
        described = event.shared[key] = DataChange.of(event, target)
        described.shared_results = {}
    return described


# The key of a change's description in FeedEvent.shared.
_DESCRIBED = "subscriptions.described"


def _selects(info: Info, name: str) -> bool:
    """Tell whether the operation selects ``name`` on the subscription's result."""
    return any(_has(field, name) for field in info.selected_fields)


def _has(selection: Selection, name: str) -> bool:
    """Look for a field among a selection's children, through fragments."""
    for child in getattr(selection, "selections", ()):
        if isinstance(child, SelectedField):
            if child.name == name:
                return True
        elif _has(child, name):
            return True
    return False
