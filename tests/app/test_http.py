"""GraphQL over HTTP as a browser or a script sees it: raw requests to the server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.server import create_app
from app.settings import Settings
from models.clock import ManualClock
from tests.support import AppCaller, Server, running

QUERY = "{ viewer { kind } }"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client."""
    async with httpx.AsyncClient() as client:
        yield client


def _base(server: Server) -> str:
    return server.url.removesuffix("/graphql")


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_browser_get_serves_graphiql(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.get(server.url, headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_json_post_runs_the_query(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.post(server.url, json={"query": QUERY})

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_json_post_with_a_charset_runs_the_query(
    server: Server, http: httpx.AsyncClient
) -> None:
    headers = {"content-type": "application/json; charset=utf-8"}

    response = await http.post(server.url, json={"query": QUERY}, headers=headers)

    assert response.json() == {"data": {"viewer": None}}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        None,
    ],
)
async def test_post_that_is_not_json_is_refused(
    server: Server, http: httpx.AsyncClient, content_type: str | None
) -> None:
    """A cross-site form can send these without a CORS preflight."""
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"query": "{ viewer { kind } }"}'

    response = await http.post(server.url, content=body, headers=headers)

    assert response.status_code in (400, 415)
    assert response.headers["content-type"].startswith("application/json")
    assert _code(response) == "BAD_USER_INPUT"


async def test_text_plain_post_does_not_run_a_mutation(
    server: Server, app: AppCaller, http: httpx.AsyncClient
) -> None:
    body = (
        b'{"query": "mutation { createRoom(input: {name: \\"x\\", ownerRef: \\"o\\"})'
    )
    body += b' { roomId } }"}'
    headers = {
        "content-type": "text/plain",
        "authorization": app.headers["Authorization"],
    }

    response = await http.post(server.url, content=body, headers=headers)

    rooms = await app.run("{ application { rooms { roomId } } }")
    assert response.status_code == 400
    assert rooms["application"]["rooms"] == []


@pytest.mark.parametrize("body", [b'{"query":', b"not json", b"", b'{"query": NaN}'])
async def test_invalid_json_body_is_bad_input(
    server: Server, http: httpx.AsyncClient, body: bytes
) -> None:
    headers = {"content-type": "application/json"}

    response = await http.post(server.url, content=body, headers=headers)

    assert response.status_code == 400
    assert _code(response) == "BAD_USER_INPUT"


async def test_json_body_without_a_query_is_bad_input(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.post(server.url, json={"variables": {}})

    assert response.status_code == 400
    assert _code(response) == "BAD_USER_INPUT"


async def test_get_query_runs(server: Server, http: httpx.AsyncClient) -> None:
    response = await http.get(server.url, params={"query": QUERY})

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_get_mutation_is_method_not_allowed(
    server: Server, app: AppCaller, http: httpx.AsyncClient
) -> None:
    """GraphQL-over-HTTP: a mutation over GET MUST be answered with 405."""
    query = 'mutation { createRoom(input: {name: "x", ownerRef: "o"}) { roomId } }'
    headers = {"authorization": app.headers["Authorization"]}

    response = await http.get(server.url, params={"query": query}, headers=headers)

    assert response.status_code == 405


async def test_get_mutation_does_not_run(
    server: Server, app: AppCaller, http: httpx.AsyncClient
) -> None:
    query = 'mutation { createRoom(input: {name: "x", ownerRef: "o"}) { roomId } }'
    headers = {"authorization": app.headers["Authorization"]}

    response = await http.get(server.url, params={"query": query}, headers=headers)

    rooms = await app.run("{ application { rooms { roomId } } }")
    assert "data" not in response.json()
    assert rooms["application"]["rooms"] == []


SUBSCRIPTION = "subscription { sessionDataChanged { revision } }"


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("credentials", [False, True], ids=["anonymous", "app"])
async def test_subscription_over_http_is_bad_input_pointing_to_the_socket(
    server: Server,
    app: AppCaller,
    http: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    credentials: bool,
) -> None:
    headers = {"authorization": app.authorization} if credentials else {}
    if method == "GET":
        params = {"query": SUBSCRIPTION}
        response = await http.get(server.url, params=params, headers=headers)
    else:
        payload = {"query": SUBSCRIPTION}
        response = await http.post(server.url, json=payload, headers=headers)

    error = response.json()["errors"][0]
    assert response.status_code == 200
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WebSocket" in error["message"]
    assert "graphql-transport-ws" in error["message"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_other_methods_are_not_allowed(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.put(server.url, json={"query": QUERY})

    assert response.status_code == 405


async def test_preflight_is_allowed_for_any_origin_by_default(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.options(server.url, headers=_preflight("https://b.example"))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_preflight_never_allows_credentials(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.options(server.url, headers=_preflight("https://b.example"))

    assert "access-control-allow-credentials" not in response.headers


async def test_cross_origin_post_never_allows_credentials(
    server: Server, http: httpx.AsyncClient
) -> None:
    headers = {"Origin": "https://b.example"}

    response = await http.post(server.url, json={"query": QUERY}, headers=headers)

    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


@pytest.fixture
async def narrow(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    """A server that lets only https://a.example call from a browser."""
    allowed = settings.replace(cors_origins=("https://a.example",))
    async with running(create_app(allowed, clock), clock, allowed) as server:
        yield server


async def test_preflight_from_a_configured_origin_is_allowed(
    narrow: Server, http: httpx.AsyncClient
) -> None:
    response = await http.options(narrow.url, headers=_preflight("https://a.example"))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://a.example"


async def test_preflight_from_another_origin_gets_no_allow_origin(
    narrow: Server, http: httpx.AsyncClient
) -> None:
    response = await http.options(narrow.url, headers=_preflight("https://b.example"))

    assert "access-control-allow-origin" not in response.headers


async def test_post_from_another_origin_gets_no_allow_origin(
    narrow: Server, http: httpx.AsyncClient
) -> None:
    headers = {"Origin": "https://b.example"}

    response = await http.post(narrow.url, json={"query": QUERY}, headers=headers)

    assert "access-control-allow-origin" not in response.headers


async def test_healthz_says_ok(server: Server, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{_base(server)}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_with_the_database_open(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{_base(server)}/readyz")

    assert response.status_code == 200


async def _errors(server: Server, http: httpx.AsyncClient, query: str) -> Any:
    response = await http.post(server.url, json={"query": query})
    return response.json()["errors"]


async def test_syntax_error_is_bad_input(
    server: Server, http: httpx.AsyncClient
) -> None:
    errors = await _errors(server, http, "{ viewer { ")

    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Syntax Error" in errors[0]["message"]


async def test_unknown_field_is_bad_input(
    server: Server, http: httpx.AsyncClient
) -> None:
    errors = await _errors(server, http, "{ nope }")

    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "nope" in errors[0]["message"]


async def test_variable_of_the_wrong_type_is_bad_input(
    server: Server, http: httpx.AsyncClient
) -> None:
    body = {
        "query": "query($c: Int!) { session(confNum: $c) { confNum } }",
        "variables": {"c": "seven"},
    }

    response = await http.post(server.url, json=body)

    assert _code(response) == "BAD_USER_INPUT"


async def test_batch_of_operations_is_bad_input(
    server: Server, http: httpx.AsyncClient
) -> None:
    response = await http.post(server.url, json=[{"query": QUERY}, {"query": QUERY}])

    assert response.status_code == 400
    assert _code(response) == "BAD_USER_INPUT"


async def _post(
    server: Server, http: httpx.AsyncClient, body: bytes, media_type: str
) -> httpx.Response:
    return await http.post(
        server.url, content=body, headers={"content-type": media_type}
    )


@pytest.mark.parametrize(
    "body",
    [b'"hi"', b"null", b"[]", b"42"],
    ids=["string", "null", "array", "number"],
)
async def test_body_that_is_not_a_json_object_is_bad_input(
    server: Server, http: httpx.AsyncClient, body: bytes
) -> None:
    response = await _post(server, http, body, "application/json")

    assert response.status_code == 400
    assert _code(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{ viewer { kind } }", "x": "\xff"}',
        b'{"query": "{ viewer { kind } }", "variables": {"n": 1' + b"0" * 4400 + b"}}",
    ],
    ids=["bad-utf8", "4400-digit-integer"],
)
async def test_body_json_cannot_read_is_bad_input(
    server: Server, http: httpx.AsyncClient, body: bytes
) -> None:
    response = await _post(server, http, body, "application/json")

    assert response.status_code == 400
    assert _code(response) == "BAD_USER_INPUT"


async def test_media_type_is_case_insensitive(
    server: Server, http: httpx.AsyncClient
) -> None:
    body = b'{"query": "{ viewer { kind } }"}'

    response = await _post(server, http, body, "Application/JSON; charset=UTF-8")

    assert response.json() == {"data": {"viewer": None}}


async def test_media_type_that_only_starts_like_json_is_refused(
    server: Server, http: httpx.AsyncClient
) -> None:
    body = b'{"query": "{ viewer { kind } }"}'

    response = await _post(server, http, body, "application/jsonx")

    assert response.status_code == 400


async def test_several_operations_without_operation_name_are_bad_input(
    server: Server, http: httpx.AsyncClient
) -> None:
    query = "query A { viewer { kind } } query B { viewer { appId } }"

    response = await http.post(server.url, json={"query": query})

    assert response.json()["data"] is None
    assert _code(response) == "BAD_USER_INPUT"


async def test_unknown_operation_name_is_a_request_error_with_200(
    server: Server, http: httpx.AsyncClient
) -> None:
    payload = {"query": "query A { viewer { kind } }", "operationName": "B"}

    response = await http.post(server.url, json=payload)

    assert response.status_code == 200
    assert _code(response) == "BAD_USER_INPUT"


async def test_client_that_goes_away_mid_body_is_not_an_error(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = server.url.split("/")[2].split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"query": '
    )
    await writer.drain()

    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.3)

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
