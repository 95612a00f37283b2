"""The graphql-transport-ws connection: Strawberry's handler, plus what we need.

Strawberry's handler implements the protocol's state machine (close codes
4400, 4401, 4403, 4408, 4409, 4429, ids freed on complete, stray completes
ignored). This subclass adds:

- server pings, so that proxies do not drop idle sockets (the protocol lets
  either side ping; Strawberry's handler only answers);
- on close, a socket that joined with a join token leaves its session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
)

from models.errors import DataStoreError
from models.sessions import leave
from schema.context import Context

logger = logging.getLogger(__name__)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """One graphql-transport-ws connection."""

    _pinger: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Acknowledge (or refuse) the connection, then start pinging."""
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._pinger is None:
            self._pinger = asyncio.create_task(self._ping())

    async def shutdown(self) -> None:
        """Stop pinging, end every operation, and leave if the socket joined."""
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await super().shutdown()
        await self._leave()

    async def _ping(self) -> None:
        interval: float = getattr(self.view, "ping_interval", 15.0)
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def _leave(self) -> None:
        client_id = self.context.joined_client_id
        if client_id is None:
            return
        try:
            await leave(client_id, self.context.rules)
        except DataStoreError:
            logger.warning("Could not leave %s on close", client_id, exc_info=True)
        else:
            logger.info("Participant %s left: its socket closed", client_id)
