"""GraphQL over HTTP as a browser or a script sees it: raw requests to the server."""

from __future__ import annotations

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
    async with running(create_app(allowed, clock), clock) as server:
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
