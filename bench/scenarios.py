"""The scenarios: each starts its own servers, seeds, measures, and makes rows.

Every scenario runs on a fresh ``datastore serve`` (so that one scenario's
writes or sockets do not weigh on the next), seeded through the public API,
and measures its ceiling in the same run, next to it in time:

- ``read``: a client reads its SESSION document (about 2 KiB), vs the HTTP
  ceiling;
- ``read_app``: the application reads the APP document (same size) with
  Basic auth, vs ``read`` measured on the same server just after;
- ``write``: 32 writers merge their own key into one ROOM document, then 32
  writers each merge into their own USER document, vs the HTTP ceiling;
- ``join``: ``joinRoom`` with a fresh join token each time, vs the HTTP ceiling;
- ``fanout``: 100 and 1,000 subscribers of one session while a writer makes
  20 changes a second, vs the broadcasting WebSocket ceiling;
- ``idle_memory``: resident memory per idle subscription, vs per idle raw
  socket on the WebSocket ceiling;
- ``growth``: random USER document reads and writes at 1,000, 10,000 and
  100,000 documents, vs the same at the smallest size.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.api import Api, Participant, basic, bearer, request_body, user_ref
from bench.processes import ROOT, Ceiling, DataStore, uses_fast_stack, wait_until_quiet
from bench.report import Row, ScenarioResult
from bench.wrk import Load, Variant, WrkResult, run_wrk, warm_up
from bench.ws_runner import IdleClient, run_fanout, write_tokens

READ = "query { customData(scope: SESSION) { data revision } }"
READ_APP = "query { customData(scope: APP) { data revision } }"
WRITE_ROOM = "mutation($d: JSON!) { setCustomData(scope: ROOM, data: $d) { revision } }"
WRITE_USER = "mutation($d: JSON!) { setCustomData(scope: USER, data: $d) { revision } }"
JOIN = (
    "mutation($t: String!) { joinRoom(token: $t) { clientId connectionToken "
    "session { confNum } customData { app room owner user session } } }"
)
READ_USER = (
    "query($u: String!) "
    "{ customData(scope: USER, target: {userRef: $u}) { data revision } }"
)
WRITE_ANY_USER = (
    "mutation($u: String!, $d: JSON!) "
    "{ setCustomData(scope: USER, data: $d, target: {userRef: $u}) { revision } }"
)
WRITERS = 32
API_SEEDED_DOCUMENTS = 1000
UNIQUE = "@N@"  # request.lua replaces it with a number unique in the run
RANDOM = "@R@"  # … and this with a random number below the range given


@dataclass(frozen=True)
class Plan:
    """How long and how big each scenario is: full, or a quick smoke run."""

    quick: bool = False
    load: Load = field(default_factory=Load)
    fanout_counts: tuple[int, ...] = (100, 1000)
    fanout_rate: float = 20.0
    fanout_seconds: float = 20.0
    drain_seconds: float = 30.0
    idle_counts: tuple[int, ...] = (1000, 10_000)
    idle_settle_seconds: float = 3.0
    growth_sizes: tuple[int, ...] = (1000, 10_000, 100_000)
    join_tokens: int = 10_000
    compression: str = "deflate"

    @classmethod
    def quick_run(cls) -> Plan:
        """A smoke run: a few seconds per measurement, smaller counts."""
        return cls(
            quick=True,
            load=Load(seconds=2.0, warmup_seconds=1.0),
            fanout_seconds=5.0,
            drain_seconds=8.0,
            idle_counts=(200,),
            idle_settle_seconds=1.0,
            growth_sizes=(1000, 10_000),
            join_tokens=5000,
        )

    def as_dict(self) -> dict[str, Any]:
        """The plan as plain data for the JSON report."""
        return asdict(self)


# --- seeding -------------------------------------------------------------


def document_of_about(size: int) -> dict[str, Any]:
    """A JSON object of about ``size`` bytes as compact JSON: poll-like items."""
    items: dict[str, Any] = {}
    number = 0
    while len(compact(items)) < size - 60:
        items[f"item{number:02d}"] = {
            "title": f"Question {number}",
            "votes": {"yes": number, "no": 2 * number},
            "note": "lorem ipsum dolor sit amet",
        }
        number += 1
    return items


def compact(value: Any) -> str:
    """Compact JSON, as the server measures documents."""
    return json.dumps(value, separators=(",", ":"))


def body_with_numbers(query: str, variables: dict[str, Any]) -> str:
    """A request body in which the string "@N@" is the bare number placeholder."""
    return request_body(query, variables).replace(f'"{UNIQUE}"', UNIQUE)


@dataclass
class Seeded:
    """A room with participants in its live session."""

    room_id: str
    participants: list[Participant]


def api_of(store: DataStore) -> Api:
    """A client of the store, with the application's credentials."""
    return Api(store.graphql_url, basic(store.app.app_id, store.app.app_key))


def seed_room(store: DataStore, users: int, documents: bool = True) -> Seeded:
    """Create a room, let ``users`` users join it, and write the documents."""

    async def work() -> Seeded:
        async with api_of(store) as api:
            room = await api.create_room()
            joined = await api.join_users(room, [f"user-{n}" for n in range(users)])
            if documents:
                data = document_of_about(2048)
                await api.set_data("SESSION", data, target={"roomId": room})
                await api.set_data("APP", data)
            return Seeded(room, joined)

    return asyncio.run(work())


# --- HTTP measurements ---------------------------------------------------

_offsets = itertools.count(1)


def measure(
    server: DataStore | Ceiling,
    variants: Sequence[Variant],
    plan: Plan,
    random_range: int = 1,
) -> WrkResult:
    """Warm up, then measure with wrk; every run numbers its requests afresh."""
    url = server.base_url + "/graphql"
    warm_up(
        url,
        variants,
        plan.load,
        offset=next(_offsets) * 10_000_000,
        random_range=random_range,
    )
    return run_wrk(
        url,
        variants,
        plan.load,
        offset=next(_offsets) * 10_000_000,
        random_range=random_range,
        server_pid=server.pid,
    )


def rate_row(
    scenario: str,
    figure: str,
    server: WrkResult,
    ceiling: WrkResult,
    target: float | None = None,
    goal: str | None = None,
) -> Row:
    """Requests per second against a ceiling's, with a minimum ratio as goal."""
    return Row(
        scenario,
        figure + errors_note(server),
        server.requests_per_second,
        ceiling.requests_per_second,
        "req/s",
        goal=goal or ("—" if target is None else f"≥ {target:.2f}"),
        kind=None if target is None else "min",
        target=target,
    )


def errors_note(run: WrkResult) -> str:
    """A note for the figure when some responses were errors."""
    failed = run.errors + sum(run.socket_errors.values())
    return f" [{failed} errors]" if failed else ""


def run_details(**runs: WrkResult) -> dict[str, Any]:
    """wrk results by name, for the JSON report."""
    return {name: run.as_dict() for name, run in runs.items()}


def read(plan: Plan) -> ScenarioResult:
    """A client reads its SESSION document (about 2 KiB)."""
    with DataStore() as store, Ceiling("http_app") as ceiling:
        seeded = seed_room(store, WRITERS)
        variants = [
            Variant(bearer(p.connection_token), request_body(READ))
            for p in seeded.participants
        ]
        top = measure(ceiling, variants, plan)
        server = measure(store, variants, plan)
        stack = uses_fast_stack(store.pid)
    row = rate_row("read", "customData SESSION (Bearer)", server, top, 0.15)
    details = run_details(server=server, ceiling=top)
    details["server_stack"] = stack
    details["document_bytes"] = len(compact(document_of_about(2048)))
    return ScenarioResult("read", [row], details)


def read_app(plan: Plan) -> ScenarioResult:
    """The application reads the APP document with Basic auth."""
    with DataStore() as store, Ceiling("http_app") as ceiling:
        seeded = seed_room(store, WRITERS)
        app = basic(store.app.app_id, store.app.app_key)
        as_app = [Variant(app, request_body(READ_APP))]
        as_client = [
            Variant(bearer(p.connection_token), request_body(READ))
            for p in seeded.participants
        ]
        top = measure(ceiling, as_app, plan)
        server = measure(store, as_app, plan)
        client = measure(store, as_client, plan)
    rows = [
        rate_row("read_app", "customData APP (Basic) vs HTTP ceiling", server, top),
        rate_row(
            "read_app",
            "customData APP (Basic) vs read",
            server,
            client,
            0.90,
            goal="≥ 0.90 (within 10%)",
        ),
    ]
    return ScenarioResult(
        "read_app", rows, run_details(server=server, read=client, ceiling=top)
    )


def write(plan: Plan) -> ScenarioResult:
    """32 writers on 32 keys of one ROOM document; 32 writers on 32 USER documents."""
    with DataStore() as store, Ceiling("http_app") as ceiling:
        seeded = seed_room(store, WRITERS)
        one_document = [
            Variant(
                bearer(p.connection_token),
                body_with_numbers(WRITE_ROOM, {"d": {f"k{n}": UNIQUE}}),
            )
            for n, p in enumerate(seeded.participants)
        ]
        own_documents = [
            Variant(
                bearer(p.connection_token),
                body_with_numbers(WRITE_USER, {"d": {"v": UNIQUE}}),
            )
            for p in seeded.participants
        ]
        top = measure(ceiling, one_document, plan)
        shared = measure(store, one_document, plan)
        separate = measure(store, own_documents, plan)
    rows = [
        rate_row("write", "merge 1 key, 32 writers, 1 ROOM doc", shared, top, 0.10),
        rate_row("write", "merge, 32 writers, 32 USER docs", separate, top, 0.10),
    ]
    details = run_details(one_document=shared, own_documents=separate, ceiling=top)
    return ScenarioResult("write", rows, details)


def join(plan: Plan) -> ScenarioResult:
    """joinRoom with a fresh join token each time."""
    with DataStore() as store, Ceiling("http_app") as ceiling:
        seeded = seed_room(store, 1)
        warm = max(200, plan.join_tokens // 10)
        tokens = _join_tokens(store, seeded.room_id, warm + plan.join_tokens)
        as_variants = [Variant("", request_body(JOIN, {"t": t})) for t in tokens]
        warming, measured = as_variants[:warm], as_variants[warm:]
        warm_up(store.graphql_url, warming, plan.load)
        server = run_wrk(store.graphql_url, measured, plan.load, server_pid=store.pid)
        top = measure(ceiling, measured, plan)
    row = rate_row("join", "joinRoom, fresh token", server, top)
    if server.reused_variants:
        row.figure += f" [{server.reused_variants} tokens reused]"
    details = run_details(server=server, ceiling=top)
    details["tokens"] = len(measured)
    return ScenarioResult("join", [row], details)


def _join_tokens(store: DataStore, room_id: str, count: int) -> list[str]:
    async def work() -> list[str]:
        async with api_of(store) as api:
            users = [f"joiner-{n}" for n in range(count)]
            return await api.create_tokens(room_id, users)

    return asyncio.run(work())


# --- WebSocket measurements ----------------------------------------------


def fanout(plan: Plan) -> ScenarioResult:
    """Subscribers of one session while a writer makes 20 changes a second."""
    rows: list[Row] = []
    details: dict[str, Any] = {}
    with DataStore() as store, Ceiling("ws_app") as ceiling:
        seeded = seed_room(store, max(plan.fanout_counts) + 1, documents=False)
        writer, readers = seeded.participants[0], seeded.participants[1:]
        tokens = write_tokens(
            store.folder / "tokens.json", [p.connection_token for p in readers]
        )
        common = {
            "rate": plan.fanout_rate,
            "seconds": plan.fanout_seconds,
            "drain_seconds": plan.drain_seconds,
            "compression": plan.compression,
        }
        limit = 300 + plan.fanout_seconds + 2 * plan.drain_seconds
        for count in plan.fanout_counts:
            server = _fanout_on(
                store,
                limit,
                url=store.websocket_url,
                protocol="graphql",
                tokens=tokens,
                subscribers=count,
                writer_token=writer.connection_token,
                **common,
            )
            top = _fanout_on(
                ceiling,
                limit,
                url=ceiling.websocket_url,
                protocol="raw",
                subscribers=count,
                **common,
            )
            details[str(count)] = {"server": server, "ceiling": top}
            rows += _fanout_rows(count, server, top, goal=count >= 1000)
    return ScenarioResult("fanout", rows, details)


def _fanout_on(
    server: DataStore | Ceiling, limit: float, **options: Any
) -> dict[str, Any]:
    """Run one fan-out client; add how busy the server was meanwhile.

    The server is first left to finish what an earlier run left it to do
    (its CPU quiet), so that it does not slow this run or the next one.
    """
    waited = wait_until_quiet(server.pid)
    cpu, began = server.cpu_seconds(), time.monotonic()
    result = run_fanout(limit, **options)
    used, took = server.cpu_seconds() - cpu, time.monotonic() - began
    result["server_cpu_percent"] = round(100 * used / took, 1)
    result["waited_for_quiet_before_s"] = round(waited, 1)
    result["busy_after_s"] = round(wait_until_quiet(server.pid), 1)
    return result


def _fanout_rows(
    count: int, server: dict[str, Any], top: dict[str, Any], goal: bool
) -> list[Row]:
    """Latency rows against the ceiling's, and the deliveries against the writes.

    The goals apply at 1,000 subscribers: p99 at most twice the ceiling's,
    and every event delivered.
    """
    subs = f"{count} subs"
    mine, theirs = server["latency_ms"], top["latency_ms"]
    rows = [
        Row("fanout", f"p50 ack→receipt, {subs}", mine["p50"], theirs["p50"], "ms"),
        Row(
            "fanout",
            f"p99 ack→receipt, {subs}",
            mine["p99"],
            theirs["p99"],
            "ms",
            goal="≤ 2.00" if goal else "—",
            kind="max" if goal else None,
            target=2.0 if goal else None,
        ),
        Row("fanout", f"max ack→receipt, {subs}", mine["max"], theirs["max"], "ms"),
        Row(
            "fanout",
            f"p99 send→receipt, {subs}",
            server["from_send_ms"]["p99"],
            top["from_send_ms"]["p99"],
            "ms",
        ),
        Row(
            "fanout",
            f"events delivered, {subs} (of expected)",
            server["delivered"],
            server["expected"] or None,
            "",
            goal="all" if goal else "—",
            kind="min" if goal else None,
            target=1.0 if goal else None,
        ),
    ]
    if server["opened"] < count:
        rows[-1].figure += f" [only {server['opened']} subscribed]"
    return rows


def idle_memory(plan: Plan) -> ScenarioResult:
    """Resident memory per idle subscription, vs per idle raw socket."""
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for count in plan.idle_counts:
        with DataStore() as store:
            seeded = seed_room(store, 100, documents=False)
            tokens = write_tokens(
                store.folder / "tokens.json",
                [p.connection_token for p in seeded.participants],
            )
            server = _hold_idle(plan, store, "graphql", count, tokens=tokens)
        with Ceiling("ws_app") as ceiling:
            top = _hold_idle(plan, ceiling, "raw", count)
        details[str(count)] = {"server": server, "ceiling": top}
        rows += [
            Row(
                "idle_memory",
                f"KiB RSS per subscription, {count}",
                server["per_socket_kib"],
                top["per_socket_kib"],
                "KiB",
                goal="≤ 1.20",
                kind="max",
                target=1.2,
            ),
            Row(
                "idle_memory",
                f"subscriptions held (of {count})",
                server["held"],
                count,
                "",
                goal="all",
                kind="min",
                target=1.0,
            ),
        ]
    return ScenarioResult("idle_memory", rows, details)


def _hold_idle(
    plan: Plan,
    server: DataStore | Ceiling,
    protocol: str,
    count: int,
    tokens: Any = None,
) -> dict[str, Any]:
    """Open ``count`` idle sockets; return the server's RSS growth per socket."""
    options = {
        "url": server.websocket_url,
        "protocol": protocol,
        "tokens": tokens,
        "compression": plan.compression,
    }
    # A few sockets first, so that what loads on first use is not counted.
    with IdleClient(count=20, **options):
        pass
    time.sleep(1.0)
    before = server.rss_kib()
    with IdleClient(count=count, **options) as client:
        time.sleep(plan.idle_settle_seconds)
        after = _peak_rss(server)
        ready = client.ready
    held = int(ready["ready"])
    return {
        "count": count,
        "held": held,
        "failed": ready["failed"],
        "first_error": ready["first_error"],
        "open_seconds": ready["open_seconds"],
        "compression": ready["compression"],
        "client_nofile": ready["nofile"],
        "alive_at_end": client.final.get("alive_at_end"),
        "rss_before_kib": before,
        "rss_after_kib": after,
        "per_socket_kib": (after - before) / held if held else None,
    }


def _peak_rss(server: DataStore | Ceiling, samples: int = 3) -> int:
    """The highest of a few RSS readings, a fifth of a second apart."""
    readings = []
    for _ in range(samples):
        readings.append(server.rss_kib())
        time.sleep(0.2)
    return max(readings)


# --- growth ----------------------------------------------------------------


def growth(plan: Plan) -> ScenarioResult:
    """Random USER document reads and writes as the database grows."""
    results: dict[int, dict[str, WrkResult]] = {}
    with DataStore() as store:
        app = basic(store.app.app_id, store.app.app_key)
        reads = [Variant(app, request_body(READ_USER, {"u": f"u{RANDOM}"}))]
        writes = [
            Variant(
                app,
                body_with_numbers(
                    WRITE_ANY_USER, {"u": f"u{RANDOM}", "d": {"v": UNIQUE}}
                ),
            )
        ]
        made = 0
        for size in plan.growth_sizes:
            made = _grow(store, made, size)
            results[size] = {
                "read": measure(store, reads, plan, random_range=size),
                "write": measure(store, writes, plan, random_range=size),
            }
    return ScenarioResult(
        "growth", _growth_rows(plan, results), _growth_details(results)
    )


def _grow(store: DataStore, made: int, size: int) -> int:
    """Bring the USER documents to ``size``: the API first, then the shortcut."""
    through_api = min(size, API_SEEDED_DOCUMENTS)
    if made < through_api:

        async def work() -> None:
            async with api_of(store) as api:
                await api.seed_user_documents(made, through_api, _user_document)

        asyncio.run(work())
        made = through_api
    if made < size:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bulk_seed",
                "--database",
                f"sqlite://{store.folder}/bench.sqlite3",
                "--app",
                store.app.app_id,
                "--template",
                user_ref(0),
                "--start",
                str(made),
                "--stop",
                str(size),
            ],
            cwd=ROOT,
            check=True,
            timeout=600,
        )
    _check_seeded(store, size - 1)
    return size


def _check_seeded(store: DataStore, number: int) -> None:
    """Read the last seeded document through the API: it must be there."""

    async def work() -> dict[str, Any]:
        async with api_of(store) as api:
            found = await api.as_app(READ_USER, {"u": user_ref(number)})
            return dict(found["customData"])

    found = asyncio.run(work())
    if found["revision"] < 1 or found["data"].get("v") != number:
        raise RuntimeError(f"USER document {user_ref(number)} was not seeded: {found}")


def _user_document(number: int) -> dict[str, Any]:
    return {
        "v": number,
        "name": f"User {number}",
        "preferences": {"camera": True, "microphone": False, "layout": "grid"},
        "badges": ["early", "helpful"],
    }


def _growth_rows(plan: Plan, results: dict[int, dict[str, WrkResult]]) -> list[Row]:
    smallest, largest = min(results), max(results)
    rows = []
    for kind in ("read", "write"):
        base = results[smallest][kind]
        for size, runs in results.items():
            judged = size == largest and size != smallest
            rows.append(
                Row(
                    "growth",
                    f"{kind} random USER doc, {size:,} docs (vs {smallest:,})"
                    + errors_note(runs[kind]),
                    runs[kind].requests_per_second,
                    base.requests_per_second,
                    "req/s",
                    goal="≥ 0.80" if judged else "—",
                    kind="min" if judged else None,
                    target=0.8 if judged else None,
                )
            )
    return rows


def _growth_details(results: dict[int, dict[str, WrkResult]]) -> dict[str, Any]:
    return {
        str(size): {kind: run.as_dict() for kind, run in runs.items()}
        for size, runs in results.items()
    }


SCENARIOS: dict[str, Callable[[Plan], ScenarioResult]] = {
    "read": read,
    "read_app": read_app,
    "write": write,
    "join": join,
    "fanout": fanout,
    "idle_memory": idle_memory,
    "growth": growth,
}
