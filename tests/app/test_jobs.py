"""The server's background jobs: the purge, and watching applications' standing."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.keys import hash_key, new_key
from models.applications import set_addon, set_key_hash, set_suspended
from models.clock import ManualClock
from tests.support import AppCaller, ClientCaller, Server

WEEK = 7 * 24 * 3600
FEED = "subscription { sessionDataChanged { revision } }"
APP_FEED = (
    "subscription { customDataChanged(scope: APP, includeSnapshot: true) { revision } }"
)


@pytest.mark.settings(purge_interval_seconds=0.2)
async def test_the_server_purges_at_its_interval_and_says_so_in_one_line(
    server: Server,
    app: AppCaller,
    room: str,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="app.jobs")
    client = await app.join(room, "host")
    await client.set("SESSION", {"topic": "A"})
    await app.end_session(client.who.conf_num)

    clock.advance(WEEK + 1)

    # The job logs and nothing else signals it: the test polls the log.
    async with asyncio.timeout(10):
        while not any(  # noqa: ASYNC110
            "1 documents (SESSION 1)" in r.getMessage() for r in caplog.records
        ):
            await asyncio.sleep(0.05)
    lines = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Purge")
    ]
    assert "1 sessions" in lines[-1]


@pytest.mark.settings(status_poll_seconds=0.1)
@pytest.mark.parametrize(
    "change",
    [
        lambda app_id: set_suspended(app_id, ManualClock().now()),
        lambda app_id: set_addon(app_id, enabled=False),
    ],
    ids=["suspended", "addon-off"],
)
async def test_a_standing_changed_elsewhere_ends_live_feeds(
    server: Server, app: AppCaller, alice: ClientCaller, change: object
) -> None:
    feeds = [
        await server.subscribe(alice, FEED),
        await server.subscribe(app, APP_FEED),
    ]
    await feeds[1].next()  # the snapshot
    await server.listeners(2)

    await change(app.app_id)  # type: ignore[operator]  # as another process would

    for feed in feeds:
        with pytest.raises(Exception, match=r"suspended|add-on"):
            await feed.next(within=5)
    await server.listeners(0)


@pytest.mark.settings(status_poll_seconds=0.1)
async def test_a_replaced_key_ends_the_applications_feeds_but_not_its_clients(
    server: Server, app: AppCaller, alice: ClientCaller
) -> None:
    clients_feed = await server.subscribe(alice, FEED)
    apps_feed = await server.subscribe(app, APP_FEED)
    await apps_feed.next()  # the snapshot
    await server.listeners(2)
    await server.runtime.standing_watcher.poll()  # the server has seen the old key

    await set_key_hash(app.app_id, hash_key(new_key()))

    with pytest.raises(Exception, match="key was replaced"):
        await apps_feed.next(within=5)
    await alice.set("SESSION", {"still": "live"})
    assert (await clients_feed.next())["revision"] == 1
