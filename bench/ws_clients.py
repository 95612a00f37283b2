"""Many WebSocket clients in one process and one event loop (``websockets``).

    python -m bench.ws_clients fanout --url URL --protocol graphql|raw \\
        --tokens FILE --subscribers N --writer-token T --rate 20 --seconds 20
    python -m bench.ws_clients idle --url URL --protocol graphql|raw \\
        --tokens FILE --count N

``graphql`` sockets speak graphql-transport-ws to the data store: each sends
``connection_init`` with ``Authorization: Bearer <connection token>`` (the
tokens of FILE, a JSON list, in turn) and subscribes to
``sessionDataChanged(includeSnapshot: true) { kind revision }``; the first
snapshot tells that the subscription is live. ``raw`` sockets connect to the
broadcasting ceiling and wait for its hello.

``fanout`` adds a writer that writes at a fixed rate, each write started on
time whether or not the last one was answered: to the data store a
``setCustomData`` of the SESSION document over HTTP with the writer's
connection token (its acknowledgement is the answer, which names the
revision), to the ceiling a numbered message over one more socket, which the
ceiling sends to everyone (its acknowledgement is the moment it was sent).
Every subscriber notes when each event arrives, on the same clock as the
writer (``time.perf_counter``, one process), and the process prints one JSON
object: events expected and delivered, and the latency from acknowledgement
(and from sending) to receipt.

``idle`` opens the sockets, prints ``{"ready": …}``, holds them until a line
(or end of file) arrives on standard input, closes them and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.processes import raise_open_file_limit

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = (
    "subscription { sessionDataChanged(includeSnapshot: true) { kind revision } }"
)
WRITE = "mutation($d: JSON!) { setCustomData(scope: SESSION, data: $d) { revision } }"
PONG = json.dumps({"type": "pong"})
OPENING_AT_ONCE = 100
OPEN_TIMEOUT = 120.0


@dataclass
class Socket:
    """One client socket and what it received, with the time of receipt."""

    connection: ClientConnection
    received: list[tuple[float, str]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        """Note every message from now on; answer protocol pings."""
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for message in self.connection:
                text = message if isinstance(message, str) else message.decode()
                if len(text) < 40 and '"ping"' in text:
                    await self.connection.send(PONG)
                    continue
                self.received.append((time.perf_counter(), text))

    async def close(self) -> None:
        """Close the socket and stop reading."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.connection.close(), 10)
        if self.reader is not None:
            self.reader.cancel()


@dataclass
class Opened:
    """The sockets that opened, and why the others did not."""

    sockets: list[Socket]
    failed: int
    first_error: str
    seconds: float
    compression: bool


async def _expect(connection: ClientConnection, wanted: str) -> dict[str, Any]:
    """Read until a protocol message of type ``wanted``; answer pings meanwhile."""
    while True:
        message = json.loads(await connection.recv())
        kind = message.get("type")
        if kind == wanted:
            return dict(message)
        if kind == "ping":
            await connection.send(PONG)
        elif kind in ("error", "complete", "connection_error"):
            raise RuntimeError(f"refused: {message}")


async def _connect(url: str, protocol: str, compression: str) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[PROTOCOL] if protocol == "graphql" else None,
        compression="deflate" if compression == "deflate" else None,
        ping_interval=None,
        open_timeout=OPEN_TIMEOUT,
        max_queue=None,
    )


async def open_graphql(url: str, token: str, compression: str) -> Socket:
    """Connect, authenticate and subscribe; return once the snapshot arrived."""
    connection = await _connect(url, "graphql", compression)
    try:
        init = {"Authorization": f"Bearer {token}"}
        await connection.send(json.dumps({"type": "connection_init", "payload": init}))
        await _expect(connection, "connection_ack")
        subscribe = {"id": "s", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await connection.send(json.dumps(subscribe))
        await _expect(connection, "next")
    except BaseException:
        await connection.close()
        raise
    return Socket(connection)


async def open_raw(url: str, compression: str) -> Socket:
    """Connect to the ceiling; return once it said hello (the socket is listed)."""
    connection = await _connect(url, "raw", compression)
    await connection.recv()
    return Socket(connection)


async def open_many(
    url: str, protocol: str, tokens: Sequence[str], count: int, compression: str
) -> Opened:
    """Open ``count`` subscribers, at most OPENING_AT_ONCE at a time."""
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    errors: list[str] = []

    async def one(number: int) -> Socket | None:
        async with gate:
            try:
                if protocol == "graphql":
                    return await open_graphql(
                        url, tokens[number % len(tokens)], compression
                    )
                return await open_raw(url, compression)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return None

    started = time.perf_counter()
    results = await asyncio.gather(*(one(n) for n in range(count)))
    sockets = [s for s in results if s is not None]
    for socket in sockets:
        socket.start_reading()
    extensions = (
        sockets[0].connection.response.headers.get("Sec-WebSocket-Extensions", "")
        if sockets and sockets[0].connection.response is not None
        else ""
    )
    return Opened(
        sockets,
        failed=len(errors),
        first_error=errors[0] if errors else "",
        seconds=time.perf_counter() - started,
        compression="permessage-deflate" in extensions,
    )


async def close_all(sockets: Sequence[Socket]) -> None:
    """Close every socket, a few hundred at a time."""
    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(s.close() for s in sockets[start : start + 500]))


class Writer:
    """Writes at a fixed rate; notes when each write was sent and acknowledged.

    ``acks`` maps the key of each acknowledged write (the revision it made,
    or the ceiling's sequence number) to its acknowledgement time, and
    ``sent`` the same keys to the time the write was sent.
    """

    def __init__(self) -> None:
        self.acks: dict[int, float] = {}
        self.sent: dict[int, float] = {}
        self.errors: list[str] = []
        self.lateness: list[float] = []
        self.writes = 0
        self.last_sent = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    async def run(self, rate: float, seconds: float) -> None:
        """Start ``rate`` writes a second for ``seconds``, each on time."""
        total = max(1, round(rate * seconds))
        start = time.perf_counter()
        for number in range(total):
            due = start + number / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            self.lateness.append(time.perf_counter() - due)
            task = asyncio.create_task(self._write(number))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            self.writes += 1
        self.last_sent = time.perf_counter()

    async def finish(self, limit: float) -> None:
        """Wait until every write is acknowledged, or ``limit`` seconds."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=limit)

    async def _write(self, number: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Let go of the connection."""


class HttpWriter(Writer):
    """Writes the session document over HTTP, as a participant's browser would.

    The acknowledgement is the mutation's answer, which names the revision.
    """

    def __init__(self, url: str, token: str) -> None:
        super().__init__()
        self.url = url
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        # No pool limit: a write waits for the server, never for a free
        # connection here, so the send time is when it left.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        self.http = httpx.AsyncClient(timeout=300.0, limits=limits)

    async def _write(self, number: int) -> None:
        body = json.dumps({"query": WRITE, "variables": {"d": {"tick": number}}})
        sent = time.perf_counter()
        try:
            answer = await self.http.post(self.url, content=body, headers=self.headers)
            at = time.perf_counter()
            found = answer.json()
            revision = int(found["data"]["setCustomData"]["revision"])
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        self.acks[revision] = at
        self.sent[revision] = sent

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.http.aclose()


class RawWriter(Writer):
    """Sends a numbered message to the broadcasting ceiling.

    The ceiling answers nothing but the broadcast, so the acknowledgement is
    the moment of sending.
    """

    def __init__(self, socket: Socket) -> None:
        super().__init__()
        self.socket = socket

    async def _write(self, number: int) -> None:
        now = time.perf_counter()
        self.sent[number] = self.acks[number] = now
        await self.socket.connection.send(json.dumps({"seq": number}))

    async def close(self) -> None:
        """Close the socket."""
        await self.socket.close()


def event_of(protocol: str, text: str) -> tuple[str, int] | None:
    """The kind and the revision (or sequence number) a message carries."""
    message = json.loads(text)
    if protocol == "raw":
        return ("CHANGE", int(message["seq"])) if "seq" in message else None
    if message.get("type") != "next" or message["payload"].get("errors"):
        return None
    event = message["payload"]["data"]["sessionDataChanged"]
    return str(event["kind"]), int(event["revision"])


async def wait_for_delivery(sockets: Sequence[Socket], each: int, limit: float) -> None:
    """Wait until every socket received ``each`` messages, or ``limit`` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if all(len(s.received) >= each for s in sockets):
            return
        await asyncio.sleep(0.1)


def percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max of samples in seconds, as milliseconds (nearest rank)."""
    if not samples:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    return {"p50": rank(0.50), "p99": rank(0.99), "max": ordered[-1] * 1000}


def summarize(
    protocol: str, sockets: Sequence[Socket], writer: Writer
) -> dict[str, Any]:
    """Count deliveries and match each receipt to its write's acknowledgement.

    Every change a subscriber receives comes from the writer (nobody else
    writes the document), so a change counts as delivered whether or not
    its write was acknowledged in time; latencies need the acknowledgement.
    """
    from_ack: list[float] = []
    from_send: list[float] = []
    delivered = duplicates = snapshots = 0
    last = 0.0
    for socket in sockets:
        seen: set[int] = set()
        for at, text in socket.received:
            event = event_of(protocol, text)
            if event is None:
                continue
            kind, key = event
            if kind != "CHANGE":
                snapshots += 1
            elif key in seen:
                duplicates += 1
            else:
                seen.add(key)
                delivered += 1
                last = max(last, at)
                if key in writer.acks:
                    from_ack.append(at - writer.acks[key])
                    from_send.append(at - writer.sent[key])
    return {
        "writes": writer.writes,
        "acknowledged": len(writer.acks),
        "write_errors": len(writer.errors),
        "write_error_sample": writer.errors[0] if writer.errors else "",
        "expected": writer.writes * len(sockets),
        "delivered": delivered,
        "duplicates": duplicates,
        "snapshots_after_start": snapshots,
        "last_receipt_after_last_write_s": max(0.0, last - writer.last_sent),
        "latency_ms": percentiles(from_ack),
        "from_send_ms": percentiles(from_send),
        "ack_ms": percentiles([writer.acks[k] - writer.sent[k] for k in writer.acks]),
        "writer_lateness_ms": percentiles(writer.lateness),
    }


async def fanout(args: argparse.Namespace, tokens: Sequence[str]) -> dict[str, Any]:
    """Open the subscribers and a writer, write, and measure the deliveries."""
    opened = await open_many(
        args.url, args.protocol, tokens, args.subscribers, args.compression
    )
    writer: Writer | None = None
    try:
        if args.protocol == "graphql":
            http_url = "http" + args.url.removeprefix("ws")
            writer = HttpWriter(http_url, args.writer_token)
        else:
            socket = await open_raw(args.url, args.compression)
            socket.start_reading()
            writer = RawWriter(socket)
        began, cpu = time.perf_counter(), time.process_time()
        await writer.run(args.rate, args.seconds)
        await writer.finish(args.drain_seconds)
        await wait_for_delivery(opened.sockets, writer.writes, args.drain_seconds)
        busy = (time.process_time() - cpu) / (time.perf_counter() - began)
        result = summarize(args.protocol, opened.sockets, writer)
        result["client_cpu_percent"] = round(100 * busy, 1)
    finally:
        if writer is not None:
            await writer.close()
        await close_all(opened.sockets)
    return {
        "subscribers": args.subscribers,
        "opened": len(opened.sockets),
        "failed": opened.failed,
        "first_error": opened.first_error,
        "open_seconds": opened.seconds,
        "compression": opened.compression,
        **result,
    }


async def idle(args: argparse.Namespace, tokens: Sequence[str]) -> dict[str, Any]:
    """Open the sockets, say so, hold them until told, then close them."""
    limits = raise_open_file_limit()
    opened = await open_many(
        args.url, args.protocol, tokens, args.count, args.compression
    )
    try:
        ready = {
            "ready": len(opened.sockets),
            "failed": opened.failed,
            "first_error": opened.first_error,
            "open_seconds": opened.seconds,
            "compression": opened.compression,
            "nofile": list(limits),
        }
        print(json.dumps(ready), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        alive = sum(1 for s in opened.sockets if s.reader and not s.reader.done())
    finally:
        await close_all(opened.sockets)
    return {"closed": len(opened.sockets), "alive_at_end": alive}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["fanout", "idle"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--protocol", choices=["graphql", "raw"], required=True)
    parser.add_argument("--tokens", help="JSON file: a list of connection tokens")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--writer-token", default="")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain-seconds", type=float, default=15.0)
    parser.add_argument("--count", type=int, default=1000)
    return parser


def main() -> None:
    """Run one mode and print its result as one JSON line."""
    args = _parser().parse_args()
    raise_open_file_limit()
    tokens: list[str] = ["-"]
    if args.tokens:
        with open(args.tokens) as file:
            tokens = json.load(file)
    work = fanout if args.mode == "fanout" else idle
    print(json.dumps(uvloop.run(work(args, tokens))), flush=True)


if __name__ == "__main__":
    main()
