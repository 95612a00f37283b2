"""Strawberry's ASGI view, with our context, strict JSON and uniform error bodies.

Every failure a client can cause answers with a GraphQL-shaped JSON body that
carries ``extensions.code``, including the ones Strawberry answers in plain
text (a body that is not JSON, a wrong content type).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from app.auth import authenticate, authenticate_socket
from app.pages import graphiql_page
from app.runtime import Runtime
from app.sockets import LegacyWSHandler, TransportWSHandler
from models.errors import DataStoreError
from models.principals import ClientPrincipal, Principal
from schema.context import Context
from schema.errors import present
from schema.json_text import json_text

logger = logging.getLogger(__name__)

SUBSCRIPTIONS_NEED_A_SOCKET = (
    "subscriptions are not served over HTTP: open a WebSocket to /graphql "
    "with the graphql-transport-ws protocol"
)


class GraphQLView(GraphQL[Context, None]):
    """The ``/graphql`` endpoint, over HTTP and WebSocket."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.ws_legacy_protocol:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            runtime.schema,
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(
                seconds=settings.ws_init_timeout_seconds
            ),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            # The legacy protocol's keep-alive is its only server ping.
            keep_alive=settings.ws_legacy_protocol,
            keep_alive_interval=settings.ws_ping_interval_seconds,
            allowed_origins=settings.cors_origins,
        )
        self.runtime = runtime
        self.ping_interval = settings.ws_ping_interval_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, answering HTTP request errors as GraphQL errors."""
        if scope["type"] == "websocket":
            await super().__call__(scope, receive, send)
            return
        request = Request(_with_plain_media_type(scope), receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = _request_error(request, exc)
        except ClientDisconnect:
            logger.info("A client went away before sending its whole request")
            return
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        """Authenticate the caller and build the operation's context."""
        tokens = self.runtime.tokens
        context = Context(rules=self.runtime.rules, tokens=tokens)
        if isinstance(request, WebSocket):
            return context  # authenticated by on_ws_connect
        try:
            context.caller = await authenticate(
                request.headers.get("authorization"), tokens
            )
        except DataStoreError as exc:
            context.auth_error = exc
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        """Serve GraphiQL from the server's own assets (no CDN)."""
        return graphiql_page()

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """Authenticate a socket from its connection_init payload, or refuse it."""
        params = context.connection_params or {}
        try:
            caller = await authenticate_socket(
                _authorization(params), self.runtime.tokens, self.runtime.rules
            )
        except DataStoreError as exc:
            logger.info("Refused a WebSocket (%s): %s", exc.code, exc.message)
            raise ConnectionRejectionError from exc
        context.become(caller.principal)
        context.reauthenticate = caller.reauthenticate
        context.joined_client_id = caller.joined_client_id
        logger.info("WebSocket connected: %s", _describe(caller.principal))
        return UNSET

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Shape the result, coding any error that escaped the operation's hooks.

        An extension's own hook (Strawberry's parser cache, for one) can raise
        outside the operation, where ``ErrorCodes`` does not see the error.
        """
        if result.errors:
            result.errors = [present(error) for error in result.errors]
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> str | bytes:
        """Encode a response as JSON text (see schema.json_text)."""
        return json_text(data)

    def decode_json(self, data: str | bytes) -> object:
        """Parse strict JSON (RFC 8259): no NaN or Infinity, bounded nesting."""
        try:
            return json.loads(data, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            raise
        except RecursionError:
            raise json.JSONDecodeError("the JSON nests too deeply", "", 0) from None
        except ValueError as exc:  # bad UTF-8, an integer of over 4,300 digits
            raise json.JSONDecodeError(str(exc), "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        """Parse a request body or parameter, which must be a JSON object."""
        try:
            parsed = self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"the body is not valid JSON: {exc.msg}") from exc
        if not isinstance(parsed, dict):
            raise HTTPException(400, "the body must be a JSON object")
        return parsed


def _request_error(request: Request, exc: HTTPException) -> Response:
    cause = exc.__cause__
    # GraphQL-over-HTTP puts subscriptions beyond its scope (its Overview).
    # The request is well formed, so the refusal is a GraphQL request error,
    # which application/json answers with 200 (its Status Codes section).
    if (
        isinstance(cause, InvalidOperationTypeError)
        and cause.operation_type is OperationType.SUBSCRIPTION
    ):
        return error_response(SUBSCRIPTIONS_NEED_A_SOCKET, "BAD_USER_INPUT", 200)
    # GraphQL-over-HTTP, section 6.4.1: a mutation over GET MUST be answered
    # 405 Method Not Allowed (with Allow, RFC 9110 section 15.5.6).
    if request.method == "GET" and isinstance(cause, InvalidOperationTypeError):
        response = error_response(exc.reason, "BAD_USER_INPUT", 405)
        response.headers["Allow"] = "POST"
        return response
    # An operationName the document does not define is a GraphQL request
    # error, which application/json answers with 200 (section 6.4.1.1).
    if isinstance(exc.__cause__, CannotGetOperationTypeError):
        return error_response(exc.reason, "BAD_USER_INPUT", 200)
    return error_response(exc.reason, "BAD_USER_INPUT", exc.status_code)


def _with_plain_media_type(scope: Scope) -> Scope:
    """Lower-case the Content-Type's media type and keep only exact JSON.

    Media types are case-insensitive (RFC 9110 section 8.3.1), and Strawberry
    compares them case-sensitively and by substring; a body whose media type
    is not exactly application/json is given none, which Strawberry refuses.
    """
    headers = []
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";")[0].strip().lower()
            value = b"application/json" if media_type == b"application/json" else b""
        headers.append((name, value))
    return {**scope, "headers": headers}


def _authorization(params: dict[str, object]) -> str | None:
    """Find the credentials in a connection_init payload.

    ``{"Authorization": "Bearer …"}`` is the documented form; a bare
    ``{"token": "…"}`` is read as a Bearer token.
    """
    for name in ("Authorization", "authorization"):
        value = params.get(name)
        if isinstance(value, str):
            return value
    token = params.get("token")
    return f"Bearer {token}" if isinstance(token, str) else None


def _describe(principal: Principal) -> str:
    if isinstance(principal, ClientPrincipal):
        return f"participant {principal.client_id} of session {principal.conf_num}"
    return f"application {principal.app_id}"


def _refuse_constant(name: str) -> object:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def error_response(message: str, code: str, status: int) -> JSONResponse:
    """Return a GraphQL-shaped error body (GraphQL-over-HTTP, section 7)."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status)
