"""Test callers: real GraphQL clients (gql over httpx) against a running server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.keys import hash_key, new_key
from app.runtime import Runtime
from app.server import uvicorn_config
from app.settings import Settings
from models.applications import create_application
from models.clock import ManualClock

C = TypeVar("C", bound="Caller")


class Refused(AssertionError):
    """An operation that should have failed succeeded."""


class Caller:
    """One caller of the API with its own HTTP connection and credentials."""

    def __init__(self, url: str, authorization: str | None = None) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        self.url = url
        self.headers = headers
        self.authorization = authorization or ""
        transport = HTTPXAsyncTransport(url=url, headers=headers, timeout=60)
        self._client = Client(transport=transport)
        self._session: Any = None

    async def open(self) -> None:
        """Open the caller's connection."""
        self._session = await self._client.connect_async()

    async def close(self) -> None:
        """Close the caller's connection."""
        await self._client.close_async()

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run an operation that must succeed; return its data."""
        request = GraphQLRequest(query, variable_values=variables or None)
        result: dict[str, Any] = await self._session.execute(request)
        return result

    async def refused(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run an operation that must fail; return its first error."""
        try:
            data = await self.run(query, **variables)
        except TransportQueryError as exc:
            errors: list[dict[str, Any]] = exc.errors or [{}]
            return errors[0]
        raise Refused(f"expected an error, got {data}")

    async def code(self, query: str, **variables: Any) -> str:
        """Run an operation that must fail; return its error code."""
        return str((await self.refused(query, **variables))["extensions"]["code"])


SET = """
mutation Set($scope: Scope!, $data: JSON!, $mode: WriteMode, $ifRevision: Int,
             $target: TargetInput) {
  setCustomData(scope: $scope, data: $data, mode: $mode, ifRevision: $ifRevision,
                target: $target) {
    result clientId userRef role confNum data revision applied
    keys { key clientId userRef }
  }
}"""

GET = """
query Get($scope: Scope!, $userRef: String, $session: SessionSelector, $confNum: Int,
          $target: TargetInput, $first: Int, $after: String) {
  customData(scope: $scope, userRef: $userRef, session: $session, confNum: $confNum,
             target: $target, first: $first, after: $after) {
    result clientId name userRef role confNum data revision
    keys { key clientId userRef }
    sessions { confNum endedAt data revision }
    pageInfo { hasNextPage endCursor }
  }
}"""

DELETE = """
mutation Delete($scope: Scope!, $keys: [String!], $ifRevision: Int,
                $target: TargetInput) {
  deleteCustomData(scope: $scope, keys: $keys, ifRevision: $ifRevision,
                   target: $target) {
    data revision applied
  }
}"""


class DataCaller(Caller):
    """A caller with shorthands for the custom-data operations."""

    async def set(self, scope: str, data: Any, **arguments: Any) -> dict[str, Any]:
        """``setCustomData``; returns its result."""
        found = await self.run(SET, scope=scope, data=data, **arguments)
        return dict(found["setCustomData"])

    async def get(self, scope: str, **arguments: Any) -> dict[str, Any]:
        """``customData``; returns its result."""
        return dict((await self.run(GET, scope=scope, **arguments))["customData"])

    async def delete(self, scope: str, **arguments: Any) -> dict[str, Any]:
        """``deleteCustomData``; returns its result."""
        return dict(
            (await self.run(DELETE, scope=scope, **arguments))["deleteCustomData"]
        )

    async def set_refused(
        self, scope: str, data: Any, **arguments: Any
    ) -> dict[str, Any]:
        """A ``setCustomData`` that must fail; returns its error."""
        return await self.refused(SET, scope=scope, data=data, **arguments)

    async def get_refused(self, scope: str, **arguments: Any) -> dict[str, Any]:
        """A ``customData`` read that must fail; returns its error."""
        return await self.refused(GET, scope=scope, **arguments)


@dataclass
class Participant:
    """Who a client caller is, as its join made it."""

    client_id: str
    conf_num: int
    room_id: str
    user_ref: str


class ClientCaller(DataCaller):
    """An in-session client, authenticated with its connection token."""

    def __init__(self, url: str, token: str, who: Participant) -> None:
        super().__init__(url, f"Bearer {token}")
        self.connection_token = token
        self.who = who


class AppCaller(DataCaller):
    """An application server, authenticated with Basic app_id:app_key."""

    def __init__(self, url: str, app_id: str, key: str, server: Server) -> None:
        basic = base64.b64encode(f"{app_id}:{key}".encode()).decode()
        super().__init__(url, f"Basic {basic}")
        self.app_id = app_id
        self.key = key
        self._server = server

    async def create_room(self, owner_ref: str = "owner-1", name: str = "room") -> str:
        """Create a room; return its id."""
        found = await self.run(
            "mutation($i: CreateRoomInput!) { createRoom(input: $i) { roomId } }",
            i={"name": name, "ownerRef": owner_ref},
        )
        return str(found["createRoom"]["roomId"])

    async def token(
        self, room_id: str, user_ref: str, role: str = "PARTICIPANT", **extra: Any
    ) -> str:
        """Make a join token; return it."""
        found = await self.run(
            "mutation($i: CreateTokenInput!) { createToken(input: $i) { token } }",
            i={
                "roomId": room_id,
                "userRef": user_ref,
                "name": user_ref.title(),
                "role": role,
                **extra,
            },
        )
        return str(found["createToken"]["token"])

    async def join(
        self, room_id: str, user_ref: str, role: str = "PARTICIPANT"
    ) -> ClientCaller:
        """Make a token for ``user_ref`` and join the room with it."""
        return await self._server.join(await self.token(room_id, user_ref, role))

    async def end_session(self, conf_num: int) -> None:
        """End a session."""
        await self.run(
            "mutation($c: Int!) { endSession(confNum: $c) { confNum } }", c=conf_num
        )


JOIN = """
mutation Join($token: String!) {
  joinRoom(token: $token) {
    clientId connectionToken session { confNum roomId }
  }
}"""


class Server:
    """The server under test, running in this process, and a factory of callers."""

    def __init__(self, url: str, app: Starlette, clock: ManualClock) -> None:
        self.url = url
        self.app = app
        self.clock = clock
        self._callers: list[Caller] = []
        self._closers: list[Any] = []

    @property
    def runtime(self) -> Runtime:
        """The server's runtime (settings, rules, tokens)."""
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def _opened(self, caller: C) -> C:
        await caller.open()
        self._callers.append(caller)
        return caller

    async def anonymous(self) -> DataCaller:
        """A caller without credentials."""
        return await self._opened(DataCaller(self.url))

    async def with_header(self, authorization: str) -> DataCaller:
        """A caller sending this Authorization header."""
        return await self._opened(DataCaller(self.url, authorization))

    async def application(self, name: str = "acme", *, addon: bool = True) -> AppCaller:
        """Register an application as the operator would; return its server."""
        key = new_key()
        app = await create_application(
            name, hash_key(key), self.clock.now(), addon_enabled=addon
        )
        return await self._opened(AppCaller(self.url, app.id, key, self))

    async def join(self, token: str) -> ClientCaller:
        """Join with a join token; return the new participant's caller."""
        anonymous = await self.anonymous()
        joined = (await anonymous.run(JOIN, token=token))["joinRoom"]
        who = Participant(
            joined["clientId"],
            joined["session"]["confNum"],
            joined["session"]["roomId"],
            "",
        )
        caller = ClientCaller(self.url, joined["connectionToken"], who)
        viewer = await (await self._opened(caller)).run("{ viewer { userRef } }")
        caller.who.user_ref = viewer["viewer"]["userRef"]
        return caller

    async def subscribe(
        self, caller: Caller, query: str, **variables: Any
    ) -> Subscription:
        """Start a subscription with the caller's credentials over a new socket."""
        subscription = Subscription(self.url, caller.authorization, query, **variables)
        self._closers.append(subscription)
        return await subscription.start()

    async def socket(
        self, protocol: str = "graphql-transport-ws", *, slow: bool = False
    ) -> RawSocket:
        """Open a raw WebSocket to /graphql."""
        raw = await RawSocket.open(self.url, protocol, slow=slow)
        self._closers.append(raw)
        return raw

    async def listeners(self, count: int, within: float = 10) -> None:
        """Wait until the broker has exactly ``count`` live listeners."""
        # The broker has no event for this; the test polls what it observes.
        async with asyncio.timeout(within):
            while self.runtime.broker.listener_count != count:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Close every caller's connection and socket."""
        for closer in self._closers:
            with contextlib.suppress(Exception):
                await closer.close()
        await asyncio.gather(*(caller.close() for caller in self._callers))


@contextlib.asynccontextmanager
async def running(
    app: Starlette, clock: ManualClock, settings: Settings | None = None
) -> AsyncIterator[Server]:
    """Serve ``app`` as ``datastore serve`` would, on a free port of 127.0.0.1."""
    config = uvicorn_config(app, settings or Settings(), host="127.0.0.1", port=0)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            # uvicorn exits the process when the lifespan fails; turn that
            # into a plain error so that one test fails, not the whole run.
            try:
                task.result()
            except SystemExit as exc:
                raise RuntimeError(f"the server did not start ({exc})") from exc
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    under_test = Server(f"http://127.0.0.1:{port}/graphql", app, clock)
    try:
        yield under_test
    finally:
        await under_test.close()
        server.should_exit = True
        await task


class Subscription:
    """A gql subscription over graphql-transport-ws, collecting what it receives."""

    def __init__(
        self, url: str, authorization: str, query: str, **variables: Any
    ) -> None:
        transport = WebsocketsTransport(
            url=url.replace("http://", "ws://"),
            init_payload={"Authorization": authorization},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        self._client = Client(transport=transport)
        self._request = GraphQLRequest(query, variable_values=variables or None)
        self._received: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Subscription:
        """Connect and subscribe; events are collected in the background."""
        session = await self._client.connect_async()
        self._task = asyncio.create_task(self._collect(session))
        return self

    async def _collect(self, session: Any) -> None:
        try:
            async for result in session.subscribe(self._request):
                self._received.put_nowait(next(iter(result.values())))
        except Exception as exc:  # the error that ended it, for the test to see
            self._received.put_nowait(exc)

    async def next(self, within: float = 10) -> dict[str, Any]:
        """The next event; raises the error that ended the subscription, if any."""
        item = await asyncio.wait_for(self._received.get(), within)
        if isinstance(item, BaseException):
            raise item
        return item

    async def events(self, count: int, within: float = 20) -> list[dict[str, Any]]:
        """The next ``count`` events, each within ``within`` seconds."""
        return [await self.next(within) for _ in range(count)]

    async def nothing_within(self, seconds: float) -> bool:
        """Tell whether no event arrives within ``seconds``."""
        try:
            await asyncio.wait_for(self._received.get(), seconds)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        """Stop the subscription and close its socket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self._client.close_async()


class RawSocket:
    """A graphql-transport-ws socket driven message by message."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(
        cls, url: str, protocol: str = "graphql-transport-ws", *, slow: bool = False
    ) -> RawSocket:
        """Open a socket offering ``protocol``.

        A ``slow`` socket has a small fixed kernel receive buffer, a
        one-message library queue and no compression, so that not reading it
        soon stalls the server's sends, as a reader on a poor network would.
        """
        ws_url = url.replace("http://", "ws://")
        if not slow:
            return cls(await ws_connect(ws_url, subprotocols=[Subprotocol(protocol)]))
        host, port = ws_url.split("/")[2].split(":")
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
        connection = await ws_connect(
            ws_url,
            sock=raw,
            subprotocols=[Subprotocol(protocol)],
            max_queue=1,
            compression=None,
        )
        return cls(connection)

    async def send(self, message: dict[str, Any] | str) -> None:
        """Send a message (a dict as JSON, a string as it is)."""
        text = message if isinstance(message, str) else json.dumps(message)
        await self.connection.send(text)

    async def receive(self, within: float = 10) -> dict[str, Any]:
        """The next message, skipping the server's pings."""
        while True:
            text = await asyncio.wait_for(self.connection.recv(), within)
            message: dict[str, Any] = json.loads(text)
            if message.get("type") != "ping":
                return message

    async def init(self, authorization: str | None) -> dict[str, Any]:
        """Send connection_init with these credentials; return the server's answer."""
        payload = {"Authorization": authorization} if authorization else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def close_code(self, within: float = 10) -> int | None:
        """Wait for the server to close the socket; return its close code."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(self.connection.recv(), within)
        return self.connection.close_code

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, like a vanished client."""
        self.connection.transport.abort()

    async def close(self) -> None:
        """Close the socket cleanly."""
        await self.connection.close()
