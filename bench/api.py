"""Seeding through the public API: GraphQL over HTTP, as a real caller would.

The application (HTTP Basic) creates a room and join tokens and writes
documents; clients join with ``joinRoom`` and then act with their connection
tokens. Several mutations of one kind are sent as aliases of one request
(at most ``BATCH``, under the server's alias budget of 50), and independent
requests run with bounded concurrency.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx

BATCH = 50
CONCURRENCY = 8
TOKEN_TTL_SECONDS = 6 * 3600
T = TypeVar("T")


class ApiError(RuntimeError):
    """The server answered with GraphQL errors or a bad status."""


@dataclass(frozen=True)
class Participant:
    """A client that joined: its id, user and connection token."""

    client_id: str
    user_ref: str
    connection_token: str
    conf_num: int


def basic(app_id: str, app_key: str) -> str:
    """The Authorization header value of the application."""
    pair = base64.b64encode(f"{app_id}:{app_key}".encode()).decode()
    return f"Basic {pair}"


def bearer(token: str) -> str:
    """The Authorization header value of a client."""
    return f"Bearer {token}"


def request_body(query: str, variables: dict[str, Any] | None = None) -> str:
    """A GraphQL request as compact JSON (what the wrk scripts send)."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return json.dumps(payload, separators=(",", ":"))


class Api:
    """A GraphQL-over-HTTP client of one server."""

    def __init__(self, url: str, app_authorization: str) -> None:
        self.url = url
        self.app_authorization = app_authorization
        limits = httpx.Limits(max_connections=CONCURRENCY * 2)
        self.http = httpx.AsyncClient(timeout=120.0, limits=limits)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def call(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        authorization: str | None = None,
    ) -> dict[str, Any]:
        """Run one operation; return its ``data`` or raise ApiError."""
        headers = {"Content-Type": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        answer = await self.http.post(
            self.url, content=request_body(query, variables), headers=headers
        )
        if answer.status_code != 200:
            raise ApiError(f"HTTP {answer.status_code}: {answer.text[:300]}")
        body = answer.json()
        if body.get("errors"):
            raise ApiError(json.dumps(body["errors"])[:500])
        data: dict[str, Any] = body["data"]
        return data

    async def as_app(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run one operation as the application."""
        return await self.call(query, variables, self.app_authorization)

    async def create_room(self, name: str = "bench", owner_ref: str = "owner-0") -> str:
        """Create a room; return its id."""
        data = await self.as_app(
            "mutation($n: String!, $o: String!) "
            "{ createRoom(input: {name: $n, ownerRef: $o}) { roomId } }",
            {"n": name, "o": owner_ref},
        )
        return str(data["createRoom"]["roomId"])

    async def create_tokens(self, room_id: str, user_refs: Sequence[str]) -> list[str]:
        """Make one join token per user of the room (batched with aliases)."""
        batches = [
            user_refs[start : start + BATCH]
            for start in range(0, len(user_refs), BATCH)
        ]
        results = await gather_bounded(
            [partial(self._token_batch, room_id, b) for b in batches]
        )
        return [token for batch in results for token in batch]

    async def _token_batch(self, room_id: str, user_refs: Sequence[str]) -> list[str]:
        fields = " ".join(
            f"t{i}: createToken(input: {{roomId: $r, userRef: {json.dumps(ref)}, "
            f"name: {json.dumps(ref)}, role: PARTICIPANT, "
            f"ttlSeconds: {TOKEN_TTL_SECONDS}}}) {{ token }}"
            for i, ref in enumerate(user_refs)
        )
        data = await self.as_app(f"mutation($r: ID!) {{ {fields} }}", {"r": room_id})
        return [data[f"t{i}"]["token"] for i in range(len(user_refs))]

    async def join(self, token: str, user_ref: str) -> Participant:
        """Join with a join token (no other credentials)."""
        data = await self.call(
            "mutation($t: String!) { joinRoom(token: $t) "
            "{ clientId connectionToken session { confNum } } }",
            {"t": token},
        )
        joined = data["joinRoom"]
        return Participant(
            joined["clientId"],
            user_ref,
            joined["connectionToken"],
            joined["session"]["confNum"],
        )

    async def join_users(
        self, room_id: str, user_refs: Sequence[str]
    ) -> list[Participant]:
        """Make a token for each user and join with it."""
        tokens = await self.create_tokens(room_id, user_refs)
        return await gather_bounded(
            [partial(self.join, t, u) for t, u in zip(tokens, user_refs, strict=True)]
        )

    async def set_data(
        self,
        scope: str,
        data: dict[str, Any],
        authorization: str | None = None,
        target: dict[str, Any] | None = None,
    ) -> int:
        """Merge ``data`` into a document (as the application by default)."""
        written = await self.call(
            "mutation($s: Scope!, $d: JSON!, $t: TargetInput) "
            "{ setCustomData(scope: $s, data: $d, target: $t) { revision } }",
            {"s": scope, "d": data, "t": target},
            authorization or self.app_authorization,
        )
        return int(written["setCustomData"]["revision"])

    async def seed_user_documents(
        self, start: int, stop: int, make: Callable[[int], dict[str, Any]]
    ) -> None:
        """Write USER documents ``user_ref(start)`` … ``user_ref(stop - 1)``."""
        batches = [range(s, min(s + BATCH, stop)) for s in range(start, stop, BATCH)]
        await gather_bounded([partial(self._user_batch, b, make) for b in batches])

    async def _user_batch(
        self, numbers: range, make: Callable[[int], dict[str, Any]]
    ) -> None:
        fields = " ".join(
            f"w{n}: setCustomData(scope: USER, data: $d{n}, "
            f"target: {{userRef: {json.dumps(user_ref(n))}}}) {{ revision }}"
            for n in numbers
        )
        params = ", ".join(f"$d{n}: JSON!" for n in numbers)
        variables = {f"d{n}": make(n) for n in numbers}
        await self.as_app(f"mutation({params}) {{ {fields} }}", variables)


def user_ref(number: int) -> str:
    """The userRef of the n-th seeded USER document."""
    return f"u{number}"


async def gather_bounded(
    jobs: Sequence[Callable[[], Awaitable[T]]], limit: int = CONCURRENCY
) -> list[T]:
    """Run the jobs with at most ``limit`` at once; return results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))
