"""The operator's view: health, readiness, metrics and logs."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from app.logs import configure_logging
from tests.support import AppCaller, ClientCaller, Server


def _base(server: Server) -> str:
    return server.url.removesuffix("/graphql")


async def _metrics(server: Server) -> dict[str, float]:
    async with httpx.AsyncClient() as http:
        text = (await http.get(_base(server) + "/metrics")).text
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


async def test_readyz_names_what_it_checked(server: Server) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(_base(server) + "/readyz")

    assert response.json() == {"status": "ready", "database": True, "broker": True}


async def test_metrics_count_operations_and_errors_by_code(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    await alice.set("SESSION", {"a": 1})
    await alice.set_refused("APP", {"a": 1})

    found = await _metrics(server)

    assert (
        found['datastore_operations_total{operation="setCustomData",type="mutation"}']
        == 2
    )
    assert (
        found['datastore_errors_total{code="FORBIDDEN",operation="setCustomData"}'] == 1
    )
    assert (
        found[
            'datastore_operation_seconds_count{operation="setCustomData",type="mutation"}'
        ]
        == 2
    )


async def test_metrics_follow_sockets_subscriptions_and_events(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    feed = await server.subscribe(
        alice, "subscription { sessionDataChanged { revision } }"
    )
    await server.listeners(1)

    await alice.set("SESSION", {"a": 1})
    await feed.next()
    found = await _metrics(server)

    assert found["datastore_open_sockets"] == 1
    assert found["datastore_live_subscriptions"] == 1
    assert found["datastore_events_published_total"] == 1
    assert found["datastore_events_delivered_total"] == 1
    # The subscriber was waiting: its writer queued the change on its socket.
    assert found["datastore_events_passed_total"] == 1


async def test_metrics_count_purges(server: Server) -> None:
    await server.runtime.purge_job.run_once()

    found = await _metrics(server)

    assert found["datastore_purge_runs_total"] == 1
    assert found['datastore_purged_documents_total{scope="SESSION"}'] == 0


async def test_every_response_carries_a_request_id(server: Server) -> None:
    async with httpx.AsyncClient() as http:
        given = await http.get(
            _base(server) + "/healthz", headers={"X-Request-ID": "r-1"}
        )
        made = await http.get(_base(server) + "/healthz")

    assert given.headers["x-request-id"] == "r-1"
    assert len(made.headers["x-request-id"]) == 16


async def test_an_unusable_request_id_is_replaced(server: Server) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(
            _base(server) + "/healthz", headers={"X-Request-ID": "bad id\twith spaces"}
        )

    assert response.headers["x-request-id"] != "bad id\twith spaces"


async def test_json_log_lines_carry_the_request_id(
    server: Server, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    try:
        async with httpx.AsyncClient() as http:
            await http.post(
                server.url,
                json={"query": "{ viewer { kind } }"},
                headers={"X-Request-ID": "trace-42"},
            )
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    finally:
        logging.basicConfig(force=True)

    access = [line for line in lines if line["name"] == "uvicorn.access"]
    assert access
    assert access[-1]["request_id"] == "trace-42"
    assert {"asctime", "levelname", "message"} <= set(access[-1])


async def test_socket_lifecycle_is_logged_once_each_way(
    server: Server, alice: ClientCaller, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    socket = await server.socket()
    await socket.init(alice.authorization)

    await socket.close()
    await server.listeners(0)

    # The closing line comes from the server's side of the socket: poll for it.
    async with asyncio.timeout(5):
        while not _logged(caplog, "WebSocket closed"):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert _logged(caplog, "WebSocket connected") == 1
    assert _logged(caplog, "WebSocket closed") == 1


def _logged(caplog: pytest.LogCaptureFixture, start: str) -> int:
    return sum(r.getMessage().startswith(start) for r in caplog.records)
