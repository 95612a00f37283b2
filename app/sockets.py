"""The WebSocket connection: Strawberry's protocol handlers, plus what we need.

Strawberry's graphql-transport-ws handler implements the protocol's state
machine (close codes 4400, 4401, 4403, 4408, 4409, 4429, ids freed on
complete, stray completes ignored). The subclasses here add:

- a shape check of every message before the handler reads it, so that a
  message that is JSON but not a protocol message closes with 4400 instead
  of crashing the connection;
- server pings, so that proxies do not drop idle sockets (the protocol lets
  either side ping; Strawberry's handler only answers);
- a code on the error for too many operations on one socket;
- on close, a socket that joined with a join token leaves its session;
- a client that vanishes while an event is on its way is logged as gone, not
  as a server error;
- each operation gets a live sink: changes its subscription hears while it
  waits are queued on the socket's outbox by their writer (see app.outbox),
  and once the outbox exists every message goes through it, in order.

The legacy ``graphql-ws`` handler (off unless a setting turns it on) gets the
same credentials close code (4403) and the same leaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, cast

from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from app.outbox import Outbox
from models.errors import DataStoreError
from models.sessions import leave
from schema.context import Context, live_sink
from schema.json_text import json_text

if TYPE_CHECKING:
    from app.graphql_view import GraphQLView

logger = logging.getLogger(__name__)

FORBIDDEN = 4403


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """One graphql-transport-ws connection."""

    _pinger: asyncio.Task[None] | None = None
    _operations_run = 0
    _outbox: Outbox | None = None
    _serving: asyncio.Task[None] | None = None
    _dropped = False

    async def handle(self) -> None:
        """Serve the socket, counted among the open ones while it lasts."""
        sockets = self._view.runtime.metrics.open_sockets
        sockets.inc()
        self._serving = asyncio.current_task()
        try:
            await super().handle()
        except asyncio.CancelledError:
            if not self._dropped:
                raise
            cast("asyncio.Task[None]", self._serving).uncancel()
        finally:
            sockets.dec()
            logger.info("WebSocket closed after %d operations", self._operations_run)

    async def handle_message(self, message: Message) -> None:
        """Check a message's shape, then let the protocol handle it."""
        problem = _transport_ws_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Acknowledge (or refuse) the connection, then start pinging."""
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._pinger is None:
            self._pinger = asyncio.create_task(self._ping())

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Start an operation, or refuse it with a code past the per-socket limit."""
        limit = self.max_subscriptions_per_connection
        full = limit is not None and len(self.operations) >= limit
        if (
            full
            and self.connection_acknowledged
            and message["id"] not in self.operations
        ):
            assert limit is not None
            await self._refuse(message["id"], limit)
            return
        self._operations_run += 1
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Run an operation, with a live sink for its subscription's changes."""
        live_sink.set(_OperationSink(self, operation))
        await super().run_operation(operation)

    async def send_message(self, message: Message) -> None:
        """Send a protocol message, after the frames already queued if any."""
        if self._outbox is None:
            await self._send_text(json_text(message))
        else:
            await self._outbox.send(json_text(message))

    def outbox(self) -> Outbox:
        """The socket's outbox, made when the first live change comes."""
        if self._outbox is None:
            self._outbox = Outbox(self._send_text)
        return self._outbox

    async def _send_text(self, text: str) -> None:
        websocket = cast("WebSocket", self.websocket.ws)  # type: ignore[attr-defined]
        # A client that takes no data for two ping intervals has stopped
        # reading: with the buffers full even a close frame cannot reach it,
        # so it would hold its subscriptions and queued changes for ever.
        patience = 2 * self._view.ping_interval
        try:
            await asyncio.wait_for(websocket.send_text(text), patience)
        except TimeoutError:
            logger.info("Dropping a WebSocket that took no data for %.0f s", patience)
            self._drop()
            raise WebSocketDisconnected from None
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    def _drop(self) -> None:
        """Stop serving a client that stopped reading: end its operations, leave.

        uvicorn cannot send even a close frame while the socket's buffers are
        full, so the handler itself is stopped; the connection goes when the
        client does, holding nothing but the kernel's buffers meanwhile.
        """
        if self._dropped or self._serving is None:
            return
        self._dropped = True
        # From the handler's own task, the disconnect raised next ends it.
        if self._serving is not asyncio.current_task():
            self._serving.cancel()

    async def handle_task_exception(self, error: Exception) -> None:
        """Log an operation's failure, unless the client merely went away."""
        if _is_disconnect(error):
            logger.info("A client went away while an event was being sent")
            return
        await super().handle_task_exception(error)

    async def shutdown(self) -> None:
        """Stop pinging, end every operation, and leave if the socket joined."""
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await super().shutdown()
        if self._outbox is not None:
            await self._outbox.close(WebSocketDisconnected())
        await leave_if_joined(self.context)

    async def _refuse(self, operation_id: str, limit: int) -> None:
        error = GraphQLError(
            f"a socket may run at most {limit} operations at once",
            extensions={"code": "BAD_USER_INPUT"},
        )
        refusal: ErrorMessage = {
            "id": operation_id,
            "type": "error",
            "payload": [error.formatted],
        }
        await self.send_message(refusal)

    async def _ping(self) -> None:
        interval = self._view.ping_interval
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    @property
    def _view(self) -> GraphQLView:
        return cast("GraphQLView", self.view)


class _OperationSink:
    """Where an operation's live results go: ``next`` frames on the socket's outbox."""

    __slots__ = ("handler", "operation", "prefix")

    def __init__(
        self, handler: TransportWSHandler, operation: Operation[Context, None]
    ) -> None:
        self.handler = handler
        self.operation = operation
        self.prefix = f'{{"id":{json_text(operation.id)},"type":"next","payload":'

    def ready(self) -> bool:
        """Tell whether the operation still runs and its socket can take a frame."""
        operation = self.operation
        return (
            not operation.completed
            and self.handler.operations.get(operation.id) is operation
            and self.handler.outbox().ready()
        )

    def send(self, response: str) -> None:
        """Queue a ``next`` message carrying the response."""
        self.handler.outbox().put(self.prefix + response + "}")


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """One connection of the deprecated ``graphql-ws`` protocol."""

    async def handle_message(self, message: OperationMessage) -> None:
        """Ignore what is not a protocol message, as the protocol does."""
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return
        if message["type"] != "start" or _legacy_start_ok(message):
            await super().handle_message(message)

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        """Authenticate like the current protocol: refusals close with 4403."""
        payload = message.get("payload")
        self.context.connection_params = payload if isinstance(payload, dict) else {}
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=FORBIDDEN, reason="Forbidden")
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())

    async def cleanup(self) -> None:
        """End every operation, and leave if the socket joined."""
        await super().cleanup()
        await leave_if_joined(self.context)


async def leave_if_joined(context: Context) -> None:
    """Make the participant a socket created by joining leave, now it closed."""
    client_id = context.joined_client_id
    if client_id is None:
        return
    context.joined_client_id = None
    try:
        await leave(client_id, context.rules)
    except DataStoreError:
        logger.warning("Could not leave %s on close", client_id, exc_info=True)
    else:
        logger.info("Participant %s left: its socket closed", client_id)


def _transport_ws_problem(message: Any) -> str | None:
    """Say what is wrong with a graphql-transport-ws message, if anything."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string type"
    if message["type"] in ("subscribe", "complete") and not _is_id(message.get("id")):
        return "an operation's id must be a non-empty string"
    if message["type"] != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "a subscribe payload must be an object with a string query"
    if not _optional(payload.get("variables"), dict):
        return "variables must be an object"
    if not _optional(payload.get("operationName"), str):
        return "operationName must be a string"
    if not _optional(payload.get("extensions"), dict):
        return "extensions must be an object"
    return None


def _legacy_start_ok(message: Any) -> bool:
    payload = message.get("payload")
    return (
        _is_id(message.get("id"))
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and _optional(payload.get("variables"), dict)
        and _optional(payload.get("operationName"), str)
    )


def _is_id(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _optional(value: object, kind: type) -> bool:
    return value is None or isinstance(value, kind)


def _is_disconnect(error: Exception) -> bool:
    """Tell a client that vanished mid-send from a fault of the server."""
    if isinstance(error, WebSocketDisconnected | ConnectionError):
        return True
    # Starlette refuses a send once the socket is closing or closed.
    return isinstance(error, RuntimeError) and "websocket.send" in str(error)
