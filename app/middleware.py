"""ASGI middleware of the server: the request body limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.graphql_view import error_response


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class BodyLimit:
    """Refuse HTTP bodies over a size with 413 and ``PAYLOAD_TOO_LARGE``.

    A declared ``Content-Length`` over the limit is refused before anything is
    read; a body sent in chunks is counted as it arrives and refused the moment
    it passes the limit, so that no more than the limit is ever buffered.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        # Every route that reads a body reads all of it before it answers, so
        # no response has started when the body turns out too large.
        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)

    def _declared_length(self, scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is over the limit of {self.max_bytes} bytes"
        response = error_response(message, "PAYLOAD_TOO_LARGE", 413)
        await response(scope, receive, send)
