"""The browser side: the npm graphql-ws client, as a web app uses it, under Node."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import AppCaller, Server

CLIENT = Path(__file__).parent.parent / "js" / "follow.mjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (CLIENT.parent / "node_modules" / "graphql-ws").exists(),
    reason="needs Node.js and `npm ci --prefix tests/js` (./scripts/test does both)",
)


async def _follow(server: Server, token: str, count: int) -> asyncio.subprocess.Process:
    assert NODE is not None
    return await asyncio.create_subprocess_exec(
        NODE,
        str(CLIENT),
        server.url.replace("http://", "ws://"),
        token,
        str(count),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _lines(process: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert stderr == b"", stderr.decode()
    return [json.loads(line) for line in stdout.decode().splitlines()]


async def test_browser_client_joins_and_follows_the_session(
    server: Server, app: AppCaller, room: str
) -> None:
    host = await app.join(room, "host")
    await host.set("SESSION", {"poll": {"votes": {}}})
    browser = await _follow(server, await app.token(room, "guest"), count=3)
    await server.listeners(1)

    await host.set("SESSION", {"poll": {"votes": {"host": "pizza"}}})
    await host.set("SESSION", {"poll": {"votes": {"guest": "soup"}}})
    lines = await _lines(browser)

    assert lines[0] == {"connected": True}
    events = [line["data"]["sessionDataChanged"] for line in lines[1:]]
    assert [(e["kind"], e["revision"]) for e in events] == [
        ("SNAPSHOT", 1),
        ("CHANGE", 2),
        ("CHANGE", 3),
    ]
    expected = {"poll": {"votes": {"host": "pizza", "guest": "soup"}}}
    assert events[-1]["data"] == expected
    assert lines[-1]["document"] == expected  # the copy kept from the patches
    assert browser.returncode == 0


async def test_browser_client_with_a_bad_token_is_closed_with_4403(
    server: Server,
) -> None:
    browser = await _follow(server, "not-a-token", count=1)

    lines = await _lines(browser)

    assert lines[-1]["closed"] == 4403
    assert browser.returncode == 2
