"""The bare apps the data store is compared with: what uvicorn can do at most.

    python -m uvicorn bench.ceilings:http_app ...
    python -m uvicorn bench.ceilings:ws_app ...

- ``http_app``: ``POST /graphql`` reads the body and answers a small JSON
  body; no parsing, no database.
- ``ws_app``: ``/graphql`` accepts a WebSocket, says hello once it is
  registered, and sends every text message it receives to every connected
  socket (the sender included), one after another.

Both answer ``GET /healthz`` so that the harness knows they are up.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

HELLO = '{"hello":true}'


async def healthz(request: Request) -> Response:
    """Say the process is up."""
    return JSONResponse({"status": "ok"})


async def answer(request: Request) -> Response:
    """Read the request body and answer a small JSON body."""
    await request.body()
    return JSONResponse({"data": {"ok": True}})


http_app = Starlette(
    routes=[Route("/graphql", answer, methods=["POST"]), Route("/healthz", healthz)]
)

_sockets: set[WebSocket] = set()


async def broadcast(websocket: WebSocket) -> None:
    """Hold one socket, and send whatever it says to every socket."""
    await websocket.accept()
    _sockets.add(websocket)
    try:
        await websocket.send_text(HELLO)
        while True:
            message = await websocket.receive_text()
            for other in list(_sockets):
                try:
                    await other.send_text(message)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    _sockets.discard(other)
    except WebSocketDisconnect:
        pass
    finally:
        _sockets.discard(websocket)


ws_app = Starlette(
    routes=[WebSocketRoute("/graphql", broadcast), Route("/healthz", healthz)]
)
