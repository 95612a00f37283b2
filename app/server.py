"""The ASGI application: routes, middleware and the lifespan that opens the store."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from app.graphql_view import GraphQLView
from app.middleware import BodyLimit
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
        if await ping():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "database unreachable"}, status_code=503)

    graphql = GraphQLView(runtime)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    app = Starlette(routes=routes, middleware=_middleware(settings), lifespan=lifespan)
    app.state.runtime = runtime
    return app


def _middleware(settings: Settings) -> list[Middleware]:
    return [
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
        **overrides,
    }
    return uvicorn.Config(app, **options)
