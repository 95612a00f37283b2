"""The ASGI application: routes, middleware and the lifespan that opens the store."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from app.graphql_view import GraphQLView
from app.logs import RequestIds
from app.metrics import CONTENT_TYPE
from app.middleware import BodyLimit
from app.pages import page_routes
from app.runtime import Runtime
from app.settings import Settings
from models.clock import Clock
from models.database import ping

logger = logging.getLogger(__name__)


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    """Return the server as an ASGI application."""
    runtime = Runtime(settings, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        logger.info("Video Data Store is serving GraphQL at /graphql")
        try:
            yield
        finally:
            await runtime.stop()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": await ping(), "broker": await runtime.broker.ping()}
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not ready", **checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)

    graphql = GraphQLView(runtime)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *page_routes(runtime),
    ]
    app = Starlette(routes=routes, middleware=_middleware(settings), lifespan=lifespan)
    app.state.runtime = runtime
    return app


def _middleware(settings: Settings) -> list[Middleware]:
    return [
        # Outermost, so that every line logged for a request (uvicorn's access
        # line included) carries its id.
        Middleware(RequestIds),
        # Bearer tokens travel in a header that a cross-site page cannot send
        # without CORS, and Basic credentials are never asked for, so any
        # origin may call without credentials (cookies are never used).
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        ),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
    ]


def uvicorn_config(
    app: Starlette, settings: Settings, **overrides: Any
) -> uvicorn.Config:
    """Return how uvicorn serves the app: for ``datastore serve`` and the tests."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "proxy_headers": False,
        "lifespan": "on",
        # A WebSocket message may be as large as an HTTP body, no larger;
        # past it uvicorn closes the socket with 1009 (message too big).
        "ws_max_size": settings.max_body_bytes,
        # Deflate costs CPU per message per subscriber and saves little on
        # small JSON events; a fan-out to many sockets pays it many times.
        "ws_per_message_deflate": settings.ws_compression,
        # An idle keep-alive connection is closed after this long; a client
        # that sends on it at that very moment sees the connection reset.
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        **overrides,
    }
    return uvicorn.Config(app, **options)


def tune_garbage_collector() -> None:
    """Make the server process's garbage collector pause it less.

    Each socket holds a few hundred long-lived objects, and a fan-out makes
    and drops thousands of short-lived ones per change. With CPython's default
    thresholds many of those survive long enough to be promoted, and every few
    seconds a full collection walked over a million objects, pausing the
    server for about 0.2 s (1,000 subscribers). Fewer, larger young
    collections let the short-lived objects die first; freezing what start-up
    made keeps it out of every later collection.
    """
    gc.freeze()
    gc.set_threshold(10_000, 50, 10)
