"""How errors leave the server: a code on every error, unexpected ones masked
and logged once with their traceback."""

from __future__ import annotations

import logging

import httpx
import pytest
from tortoise.exceptions import OperationalError

import models.documents
import schema.queries
from models.sql import LocalConnection
from tests.support import AppCaller, Server


def _error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unexpected_error_is_masked_and_logged_once(
    app: AppCaller, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(app_id: str) -> None:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(schema.queries, "get_application", broken)

    error = await app.refused("{ application { name } }")

    records = _error_records(caplog)
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in str(error)
    assert len(records) == 1
    assert "secret detail of a bug" in records[0].getMessage()
    assert records[0].exc_info is not None


async def _orm_store_fails(*args: object) -> None:
    raise OperationalError("disk I/O error")


def _local_store_fails(writer: LocalConnection, *args: object) -> None:
    writer.execute("UPDATE no_such_table SET x = 1")


@pytest.mark.parametrize("path", ["local", "orm"])
async def test_database_failure_is_translated_masked_and_nothing_is_written(
    app: AppCaller,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    if path == "local":
        assert models.documents.local_connection() is not None
        monkeypatch.setattr(models.documents, "_store_locally", _local_store_fails)
    else:
        monkeypatch.setattr(models.documents, "local_connection", lambda: None)
        monkeypatch.setattr(models.documents, "_store", _orm_store_fails)

    error = await app.set_refused("APP", {"a": 1})

    monkeypatch.undo()
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert len(_error_records(caplog)) == 1
    assert (await app.get("APP"))["revision"] == 0


async def test_callers_mistakes_are_not_logged_as_errors(
    app: AppCaller, caplog: pytest.LogCaptureFixture
) -> None:
    await app.code("{ nope }")
    await app.code("{ customData(scope: ROOM) { data } }")
    await app.code("{ customData(scope: NOPE) { data } }")

    assert _error_records(caplog) == []


@pytest.mark.parametrize(
    "query",
    [
        "{ nope }",
        "{ customData(scope: NOPE) { data } }",
        "{ viewer { kind ",
        "query($x: Int!) { session(confNum: $x) { live } }",
    ],
    ids=["unknown-field", "bad-enum", "syntax", "missing-variable"],
)
async def test_request_errors_are_bad_user_input(server: Server, query: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(server.url, json={"query": query})

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
