"""Limits and bad input: each refused with its code and a message naming the limit,
and nothing already stored lost or half-written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from tests.support import AppCaller, ClientCaller

SET_ROOM = "mutation($d: JSON!) { setCustomData(scope: ROOM, data: $d) { revision } }"


@pytest.fixture
async def alice(app: AppCaller) -> ClientCaller:
    """A participant with a ROOM document already at revision 1."""
    client = await app.join(await app.create_room(), "alice")
    await client.set("ROOM", {"keep": "me"})
    return client


def nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` deep: {"n": {"n": … {}}}."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"n": value}
    return value


async def _refused_without_change(
    client: ClientCaller, data: object, code: str, mentions: str
) -> None:
    error = await client.set_refused("ROOM", data)

    found = await client.get("ROOM")
    assert error["extensions"]["code"] == code
    assert mentions in error["message"]
    assert (found["data"], found["revision"]) == ({"keep": "me"}, 1)


async def test_document_over_64_kib_is_too_large(alice: ClientCaller) -> None:
    await _refused_without_change(
        alice, {"blob": "a" * 65_536}, "PAYLOAD_TOO_LARGE", "65536 bytes"
    )


async def test_document_grown_by_small_merges_stops_at_the_limit(
    alice: ClientCaller,
) -> None:
    accepted = 0
    for i in range(300):
        try:
            await alice.set("ROOM", {f"k_{i}": "x" * 8192})
        except Exception:
            break
        accepted += 1

    error = await alice.set_refused("ROOM", {f"k_{accepted}": "x" * 8192})

    found = await alice.get("ROOM")
    assert accepted == 7
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert len(found["data"]) == accepted + 1  # "keep" and the accepted keys


async def test_more_than_128_top_level_keys_is_bad_input(alice: ClientCaller) -> None:
    data = {f"k{i}": i for i in range(128)}

    await _refused_without_change(alice, data, "BAD_USER_INPUT", "128 top-level keys")


async def test_128_top_level_keys_fit(app: AppCaller) -> None:
    client = await app.join(await app.create_room(), "bob")

    written = await client.set("ROOM", {f"k{i}": i for i in range(128)})

    assert len(written["data"]) == 128


async def test_depth_over_16_is_bad_input(alice: ClientCaller) -> None:
    await _refused_without_change(
        alice, {"deep": nested(16)}, "BAD_USER_INPUT", "16 levels"
    )


async def test_depth_of_16_fits(alice: ClientCaller) -> None:
    written = await alice.set("ROOM", {"deep": nested(15)})

    assert written["revision"] == 2


async def test_array_over_1000_items_is_bad_input(alice: ClientCaller) -> None:
    await _refused_without_change(
        alice, {"list": [0] * 1001}, "BAD_USER_INPUT", "1000 items"
    )


@pytest.mark.parametrize(
    "data",
    [{"": 1}, {"k" * 129: 1}, {"bad\nkey": 1}, {"ok": {"\u0007": 1}}],
    ids=["empty", "129-chars", "newline", "nested-control"],
)
async def test_bad_keys_are_bad_input(alice: ClientCaller, data: object) -> None:
    await _refused_without_change(alice, data, "BAD_USER_INPUT", "key")


@pytest.mark.parametrize(
    "data", [[], "str", 5, True], ids=["array", "string", "number", "bool"]
)
async def test_data_that_is_not_an_object_is_bad_input(
    alice: ClientCaller, data: object
) -> None:
    await _refused_without_change(alice, data, "BAD_USER_INPUT", "JSON object")


async def test_null_data_is_bad_input(alice: ClientCaller) -> None:
    await _refused_without_change(alice, None, "BAD_USER_INPUT", "JSON!")


async def test_deleting_a_bad_key_name_is_bad_input(alice: ClientCaller) -> None:
    error = await alice.refused(
        "mutation($k: [String!]) { deleteCustomData(scope: ROOM, keys: $k) { data } }",
        k=["x" * 200],
    )

    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def _post(caller: ClientCaller, body: bytes, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            caller.url,
            content=body,
            headers={**caller.headers, "content-type": "application/json", **headers},
        )


def _body(raw_data: str) -> bytes:
    """A setCustomData body whose ``data`` is ``raw_data``, sent as it is."""
    query = json.dumps(SET_ROOM)
    return ('{"query": ' + query + ', "variables": {"d": ' + raw_data + "}}").encode()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_not_json(
    alice: ClientCaller, constant: str
) -> None:
    response = await _post(alice, _body('{"x": ' + constant + "}"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await alice.get("ROOM"))["revision"] == 1


async def test_number_too_large_for_a_double_is_bad_input(alice: ClientCaller) -> None:
    response = await _post(alice, _body('{"x": 1e400}'))

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await alice.get("ROOM"))["revision"] == 1


async def test_body_nested_20000_levels_is_refused_and_serving_goes_on(
    alice: ClientCaller,
) -> None:
    deep = "[" * 20_000 + "]" * 20_000

    response = await _post(alice, _body('{"x": ' + deep + "}"))

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await alice.get("ROOM"))["data"] == {"keep": "me"}


async def test_lone_surrogate_is_bad_input(alice: ClientCaller) -> None:
    response = await _post(alice, _body('{"s": "\\ud800"}'))

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Unicode" in error["message"]
    assert (await alice.get("ROOM"))["revision"] == 1


async def test_literal_nested_2000_levels_is_bad_input(alice: ClientCaller) -> None:
    literal = "{n: " * 2000 + "1" + "}" * 2000
    query = (
        "mutation { setCustomData(scope: ROOM, data: " + literal + ") { revision } }"
    )

    response = await _post(alice, json.dumps({"query": query}).encode())

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await alice.get("ROOM"))["revision"] == 1


async def test_body_over_1_mib_is_payload_too_large(alice: ClientCaller) -> None:
    response = await _post(alice, _body('{"blob": "%s"}' % ("a" * 1_100_000)))

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await alice.get("ROOM"))["revision"] == 1


async def test_chunked_body_over_1_mib_is_payload_too_large(
    alice: ClientCaller,
) -> None:
    async def chunks() -> Any:
        yield _body('{"blob": "')[:-3]
        for _ in range(20):
            yield b"a" * 65_536
        yield b'"}}}'

    async with httpx.AsyncClient() as http:
        response = await http.post(
            alice.url,
            content=chunks(),
            headers={**alice.headers, "content-type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_application_writes_keep_the_same_limits(app: AppCaller) -> None:
    error = await app.set_refused("APP", {"blob": "a" * 70_000})

    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert (await app.get("APP"))["revision"] == 0


async def test_integer_too_large_for_a_double_is_bad_input(alice: ClientCaller) -> None:
    response = await _post(alice, _body('{"n": 1' + "0" * 400 + "}"))

    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await alice.get("ROOM"))["revision"] == 1


async def test_large_integers_that_fit_a_double_round_trip(alice: ClientCaller) -> None:
    written = await alice.set("ROOM", {"n": 10**300})

    assert written["data"]["n"] == 10**300


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ("{" + " viewer { kind }" * 60_000 + "}", "tokens"),
        ("{" + " viewer { kind }" * 201 + "}", "fields"),
        (
            "{" + " ".join(f"a{i}: viewer {{ kind }}" for i in range(51)) + "}",
            "aliases",
        ),
    ],
    ids=["60000-copies", "201-fields", "51-aliases"],
)
async def test_documents_over_the_query_budget_are_refused_before_validation(
    alice: ClientCaller, query: str, mentions: str
) -> None:
    response = await _post(alice, json.dumps({"query": query}).encode())

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert mentions in error["message"]


async def test_introspection_fits_the_query_budget(alice: ClientCaller) -> None:
    query = get_introspection_query(descriptions=True, specified_by_url=True)

    response = await _post(alice, json.dumps({"query": query}).encode())

    assert "errors" not in response.json()


NESTED_SESSIONS = """
query($roomId: ID!, $n: Int!) {
  room(roomId: $roomId) { sessions(first: $n) { room { sessions(first: $n) {
    room { sessions(first: $n) { customData { data } } } } } } }
}
"""
SPREAD_SESSIONS = """
query($roomId: ID!) { room(roomId: $roomId) { ...A } }
fragment A on Room { sessions(first: 100) { room { ...B } } }
fragment B on Room { sessions(first: 100) { room { ...C } } }
fragment C on Room { sessions(first: 100) { customData { data } } }
"""


@pytest.mark.parametrize(
    ("query", "n"),
    [(NESTED_SESSIONS, 100), (SPREAD_SESSIONS, 0)],
    ids=["nested", "spread"],
)
async def test_nested_lists_over_the_cost_budget_are_refused(
    app: AppCaller, query: str, n: int
) -> None:
    """A few fields that multiply into a million through nested pages."""
    room = await app.create_room()

    error = await app.refused(query, roomId=room, n=n)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "could resolve more than 10000 fields" in error["message"]


async def test_nested_lists_within_the_cost_budget_run(app: AppCaller) -> None:
    room = await app.create_room()
    participant = await app.join(room, "alice")
    await participant.set("SESSION", {"poll": "yes"})

    found = await app.run(NESTED_SESSIONS, roomId=room, n=5)

    inner = found["room"]["sessions"][0]["room"]["sessions"][0]["room"]["sessions"]
    assert inner[0]["customData"]["data"] == {"poll": "yes"}


async def test_a_report_of_every_room_and_its_sessions_fits_the_cost_budget(
    app: AppCaller,
) -> None:
    """100 rooms with 20 sessions each, with data and revision: about 6,300 fields."""
    await app.create_room()

    found = await app.run(
        "{ application { rooms(first: 100) { roomId sessions { confNum"
        " customData { data revision } } } } }"
    )

    assert len(found["application"]["rooms"]) == 1


@pytest.mark.settings(max_query_cost=50)
async def test_the_cost_budget_is_a_setting(app: AppCaller) -> None:
    room = await app.create_room()

    error = await app.refused(NESTED_SESSIONS, roomId=room, n=5)

    assert "at most 50 are allowed" in error["message"]
