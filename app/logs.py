"""Log set-up: plain text or JSON lines (python-json-logger), with request ids.

Every line logged while a request or a WebSocket is being served carries that
request's id (the caller's ``X-Request-ID`` when it sends a sane one, else a
fresh one); lines logged outside any request carry ``-``.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
FORMATS = ("text", "json")

request_id: ContextVar[str] = ContextVar("request_id", default="-")
# Made ids need only be unique, not unpredictable: a per-process prefix and a
# count are, and cost nothing (random ones were 2% of a read).
_PROCESS = secrets.token_hex(4)
_numbers = itertools.count(1)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def configure_logging(level: str, format: str = "text") -> None:
    """Send every logger's records to standard error, as text or JSON lines."""
    handler = logging.StreamHandler()
    handler.addFilter(_with_request_id)
    if format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS))
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Tortoise logs every SQL statement at DEBUG; keep it quiet unless asked.
    if level.upper() != "DEBUG":
        logging.getLogger("tortoise").setLevel(logging.WARNING)


def _with_request_id(record: logging.LogRecord) -> bool:
    record.request_id = request_id.get()
    return True


class RequestIds:
    """Give each HTTP request and WebSocket an id, for every log line it causes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id set, and tell the caller the id."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = request_id.set(_id_of(scope))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id.get()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def _id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            if _SANE_ID.fullmatch(given):
                return given
    return f"{_PROCESS}{next(_numbers):08x}"
