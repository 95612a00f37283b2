"""What every resolver is handed: the caller, the rules, tokens and loaders.

The server (``app``) builds one ``Context`` per operation; this module defines
its shape and the token interface the resolvers use, so that ``schema`` never
imports ``app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.types import Info as StrawberryInfo

from models.documents import DocumentKey, Snapshot, read_documents
from models.errors import DataStoreError, Forbidden, Unauthenticated
from models.principals import (
    ApplicationPrincipal,
    ClientPrincipal,
    JoinClaims,
    Principal,
)
from models.rules import Rules


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and when it stops working."""

    token: str
    expires_at: datetime


class Tokens(Protocol):
    """Signing and reading the server's tokens."""

    def join_expiry(self, ttl_seconds: int | None) -> datetime:
        """Return when a join token made now expires."""
        ...

    def issue_join(self, claims: JoinClaims) -> IssuedToken:
        """Sign a join token."""
        ...

    def read_join(self, token: str) -> JoinClaims:
        """Read a join token, raising ``Unauthenticated`` if it is not valid."""
        ...

    def issue_connection(self, client_id: str, expires_at: datetime) -> IssuedToken:
        """Sign a connection token for a participant."""
        ...


class LiveSink(Protocol):
    """Where a running subscription's results can go without waiting: its socket.

    A transport that has one sets it in ``live_sink`` for the operation.
    """

    def ready(self) -> bool:
        """Tell whether a result can be taken now."""
        ...

    def send(self, response: str) -> None:
        """Take one result of the operation (a GraphQL response, as JSON text)."""
        ...


# The current operation's live sink, set by the transport that runs it.
live_sink: ContextVar[LiveSink | None] = ContextVar("live_sink", default=None)


def _document_loader() -> DataLoader[DocumentKey, Snapshot]:
    return DataLoader(load_fn=read_documents)


Authenticator = Callable[[], Awaitable[Principal]]


@dataclass
class Context:
    """The state of one GraphQL operation.

    Over HTTP a request is one operation. A WebSocket holds one connection
    context and runs each operation on a copy made by ``for_operation``, with
    its own loaders and its caller re-read from the database.
    """

    rules: Rules
    tokens: Tokens
    caller: Principal | None = None
    # Raised at the first use of the caller when the credentials were bad,
    # so that operations that need no caller (joinRoom) still run.
    auth_error: DataStoreError | None = None
    _documents: DataLoader[DocumentKey, Snapshot] | None = None
    # WebSocket only: the connection_init payload (set by Strawberry), how to
    # prove the caller again for each operation, and the participant the
    # socket itself created by joining (it leaves when the socket closes).
    connection_params: dict[str, object] | None = None
    reauthenticate: Authenticator | None = None
    joined_client_id: str | None = None

    @property
    def documents(self) -> DataLoader[DocumentKey, Snapshot]:
        """The operation's document loader (made when a field first needs it)."""
        if self._documents is None:
            self._documents = _document_loader()
        return self._documents

    async def for_operation(self) -> Context:
        """Return the context of one operation on this connection."""
        operation = replace(self, _documents=None)
        if self.reauthenticate is not None:
            try:
                operation.become(await self.reauthenticate())
            except DataStoreError as exc:
                operation.caller, operation.auth_error = None, exc
        return operation

    @property
    def principal(self) -> Principal:
        """The authenticated caller; raises if there is none."""
        if self.auth_error is not None:
            raise self.auth_error
        if self.caller is None:
            raise Unauthenticated(
                "send Authorization: Basic app_id:app_key (application) or "
                "Bearer <connectionToken> (client)"
            )
        return self.caller

    @property
    def application(self) -> ApplicationPrincipal:
        """The caller, which must be the application server."""
        principal = self.principal
        if not isinstance(principal, ApplicationPrincipal):
            raise Forbidden("only the application server may do this")
        return principal

    @property
    def client(self) -> ClientPrincipal:
        """The caller, which must be an in-session client."""
        principal = self.principal
        if not isinstance(principal, ClientPrincipal):
            raise Forbidden("only an in-session client may do this")
        return principal

    def become(self, principal: Principal) -> None:
        """Act as ``principal`` for the rest of the operation (after a join)."""
        self.caller = principal
        self.auth_error = None

    def remember_document(self, snapshot: Snapshot) -> None:
        """Cache a document as a write left it, so later fields see the write."""
        self.documents.prime(snapshot.key, snapshot, force=True)


Info = StrawberryInfo[Context, None]


class PerOperationContext(SchemaExtension):
    """Give each operation its own copy of the context (see ``Context``)."""

    async def on_operation(self) -> AsyncIterator[None]:
        """Swap in the operation's context before anything reads it."""
        connection: Context = self.execution_context.context
        if connection.reauthenticate is not None:  # a WebSocket's operation
            self.execution_context.context = await connection.for_operation()
        yield
