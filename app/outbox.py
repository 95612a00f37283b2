"""A socket's outgoing frames, written in order by one task that runs only while needed.

Live changes reach a subscriber's socket from the writer of the change: it
queues the frame here without waiting, and a short-lived task writes the
queue out. Messages the protocol handler sends join the same queue, so that
everything leaves in the order it was queued. A socket that does not read
fills its queue; ``ready`` then says no, and its changes wait in the
subscriber's own bounded listener instead (see models.broker).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

SendText = Callable[[str], Awaitable[None]]

MAX_FRAMES = 64
MAX_CHARS = 1 << 20


class Outbox:
    """The frames waiting to be written to one socket."""

    def __init__(self, send_text: SendText) -> None:
        self._send_text = send_text
        self._frames: deque[tuple[str, asyncio.Future[None] | None]] = deque()
        self._chars = 0
        self._writer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    def ready(self) -> bool:
        """Tell whether a frame may be queued without waiting."""
        return (
            self._failure is None
            and len(self._frames) < MAX_FRAMES
            and self._chars < MAX_CHARS
        )

    def put(self, frame: str) -> None:
        """Queue a frame, to be written after those queued before it."""
        self._queue(frame, None)

    async def send(self, frame: str) -> None:
        """Queue a frame and wait until it is written; raise if it cannot be."""
        if self._failure is not None:
            raise self._failure
        written = asyncio.get_running_loop().create_future()
        self._queue(frame, written)
        await written

    async def close(self, error: BaseException) -> None:
        """Stop writing; frames still queued fail with ``error``."""
        self._fail(error)
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    def _queue(self, frame: str, written: asyncio.Future[None] | None) -> None:
        self._frames.append((frame, written))
        self._chars += len(frame)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """Write the queue out, then end (the next frame starts a new writer)."""
        try:
            while self._frames:
                frame, written = self._frames[0]
                try:
                    await self._send_text(frame)
                except Exception as error:  # the socket is gone
                    self._fail(error)
                    return
                self._frames.popleft()
                self._chars -= len(frame)
                if written is not None and not written.done():
                    written.set_result(None)
        finally:
            self._writer = None

    def _fail(self, error: BaseException) -> None:
        self._failure = self._failure or error
        for _, written in self._frames:
            if written is not None and not written.done():
                written.set_exception(error)
        self._frames.clear()
        self._chars = 0
