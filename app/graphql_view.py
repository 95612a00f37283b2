"""Strawberry's ASGI view, with our context, strict JSON and uniform error bodies.

Every failure a client can cause answers with a GraphQL-shaped JSON body that
carries ``extensions.code``, including the ones Strawberry answers in plain
text (a body that is not JSON, a wrong content type).
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from app.auth import authenticate
from app.runtime import Runtime
from models.errors import DataStoreError
from schema.context import Context
from schema.errors import present


class GraphQLView(GraphQL[Context, None]):
    """The ``/graphql`` endpoint."""

    def __init__(self, runtime: Runtime, **options: Any) -> None:
        super().__init__(runtime.schema, **options)
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request, answering request errors as GraphQL errors."""
        request = Request(scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = _request_error(request, exc)
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        """Authenticate the caller and build the operation's context."""
        tokens = self.runtime.tokens
        context = Context(rules=self.runtime.rules, tokens=tokens)
        try:
            context.caller = await authenticate(
                request.headers.get("authorization"), tokens
            )
        except DataStoreError as exc:
            context.auth_error = exc
        return context

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

    def decode_json(self, data: str | bytes) -> object:
        """Parse strict JSON (RFC 8259): no NaN or Infinity, bounded nesting."""
        try:
            return json.loads(data, parse_constant=_refuse_constant)
        except RecursionError:
            raise json.JSONDecodeError("the JSON nests too deeply", "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        """Parse a request body, naming what is wrong with it."""
        try:
            return self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"the body is not valid JSON: {exc.msg}") from exc


def _request_error(request: Request, exc: HTTPException) -> Response:
    # GraphQL-over-HTTP, section 6.4.1: a mutation over GET MUST be answered
    # 405 Method Not Allowed (with Allow, RFC 9110 section 15.5.6).
    if request.method == "GET" and isinstance(exc.__cause__, InvalidOperationTypeError):
        response = error_response(exc.reason, "BAD_USER_INPUT", 405)
        response.headers["Allow"] = "POST"
        return response
    return error_response(exc.reason, "BAD_USER_INPUT", exc.status_code)


def _refuse_constant(name: str) -> object:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def error_response(message: str, code: str, status: int) -> JSONResponse:
    """Return a GraphQL-shaped error body (GraphQL-over-HTTP, section 7)."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status)
