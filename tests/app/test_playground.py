"""The playground page in real headless Chromium: two participants, a poll, a refusal.

The browser is Debian's Chromium, driven by Playwright (``playwright install``
would download a browser build, which this project does not rely on).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support import Server

try:
    from playwright.async_api import (
        Browser,
        BrowserContext,
        Page,
        Route,
        WebSocket,
        async_playwright,
        expect,
    )
except ImportError:  # the browser tests skip, saying why; the others still run
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True
    # Long enough for a loaded machine; each step takes milliseconds when
    # all is well. (Only this module uses Playwright.)
    expect.set_options(timeout=15_000)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "playground.png"
README_SCREENSHOT = ROOT / "docs" / "playground.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, if they cannot."""
    if not CHROMIUM.exists():
        return "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    if not HAVE_PLAYWRIGHT:
        return "needs the playwright package in the venv (pip install playwright)"
    return None


needs_chromium = pytest.mark.skipif(
    _browser_missing() is not None, reason=_browser_missing() or ""
)


def origin(server: Server) -> str:
    """The server's origin, e.g. http://127.0.0.1:12345."""
    return server.url.removesuffix("/graphql")


def playground_url(server: Server) -> str:
    return server.url.replace("/graphql", "/playground/")


@dataclass
class Visit:
    """One browser tab on the server, and what it did besides what a test asked."""

    page: Page
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium with a fresh temporary profile (Playwright makes one)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def visit(browser: Browser, server: Server) -> AsyncIterator[Visit]:
    """A tab that records every request and may reach only the server under test."""
    context: BrowserContext = await browser.new_context(
        viewport={"width": 1400, "height": 900}
    )
    page = await context.new_page()
    seen = Visit(page)
    allowed = origin(server) + "/"

    async def only_the_server(route: Route) -> None:
        # Recorded by the request listener either way; never let one leave.
        if route.request.url.startswith(allowed):
            await route.continue_()
        else:
            await route.abort()

    def on_socket(socket: WebSocket) -> None:
        seen.sockets.append(socket.url)

    await context.route("**/*", only_the_server)
    context.on("request", lambda request: seen.requests.append(request.url))
    page.on("websocket", on_socket)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            seen.console_errors.append(message.text)
            if message.type == "error"
            else None
        ),
    )
    try:
        yield seen
    finally:
        # Closing the tab closes its sockets, so the server can stop cleanly.
        await context.close()


async def start_demo(page: Page, server: Server) -> None:
    """Load the playground, start the demo, and wait until both panes are in."""
    await page.goto(playground_url(server))
    await page.get_by_test_id("start-demo").click()
    for person in ("ada", "grace"):
        pane = page.get_by_test_id(f"pane-{person}")
        await expect(pane).to_have_attribute("data-ready", "true")


def save_screenshot(png: bytes) -> None:
    """Keep the screenshot as a test artifact; refresh the README's on request.

    The README's copy is tracked, and ids differ on every run, so it is only
    replaced when UPDATE_SCREENSHOTS=1 asks for it.
    """
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(png)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(SCREENSHOT, README_SCREENSHOT)


@needs_chromium
@pytest.mark.settings(playground_demo=True)
async def test_two_panes_vote_live_and_see_a_refusal(
    server: Server, visit: Visit
) -> None:
    page = visit.page
    await start_demo(page, server)
    for person, role in (("ada", "MODERATOR"), ("grace", "PARTICIPANT")):
        await expect(page.get_by_test_id(f"viewer-{person}-userRef")).to_have_text(
            person
        )
        await expect(page.get_by_test_id(f"viewer-{person}-role")).to_have_text(role)
    # Both joined the same live session.
    await expect(page.get_by_test_id("viewer-grace-confNum")).to_have_text(
        await page.get_by_test_id("viewer-ada-confNum").inner_text()
    )

    # Ada opens a poll; Grace sees it through her SESSION subscription.
    await page.get_by_test_id("poll-question-ada").fill("Lunch?")
    await page.get_by_test_id("poll-options-ada").fill("pizza, soup, salad")
    await page.get_by_test_id("open-poll-ada").click()
    await expect(page.get_by_test_id("poll-title-grace")).to_have_text("Lunch?")

    await page.get_by_test_id("vote-ada-pizza").click()
    pizza_at_grace = page.get_by_test_id("tally-grace-pizza")
    await expect(pizza_at_grace).to_have_attribute("data-count", "1")
    await expect(pizza_at_grace).to_contain_text("ada")

    await page.get_by_test_id("vote-grace-soup").click()
    soup_at_ada = page.get_by_test_id("tally-ada-soup")
    await expect(soup_at_ada).to_have_attribute("data-count", "1")
    await expect(soup_at_ada).to_contain_text("grace")

    # Both panes hold the same document at the same revision: poll, two votes.
    for person in ("ada", "grace"):
        revision = page.get_by_test_id(f"revision-{person}-SESSION")
        await expect(revision).to_have_text("3")
        await expect(page.get_by_test_id(f"tally-{person}-salad")).to_have_attribute(
            "data-count", "0"
        )
    tallies = [
        await page.get_by_test_id(f"tally-{person}").inner_text()
        for person in ("ada", "grace")
    ]
    assert tallies[0] == tallies[1]
    documents = [
        await page.get_by_test_id(f"data-{person}-SESSION").inner_text()
        for person in ("ada", "grace")
    ]
    assert documents[0] == documents[1]
    assert '"ada": "pizza"' in documents[0]
    assert '"grace": "soup"' in documents[0]
    await expect(page.get_by_test_id("feed-ada")).to_contain_text("by Grace")

    # A client may read APP data but not write it.
    await page.get_by_test_id("refused-grace").click()
    await expect(page.get_by_test_id("result-grace")).to_contain_text(
        "FORBIDDEN: an in-session client may not write the application's data"
    )
    await expect(page.get_by_test_id("revision-grace-APP")).to_have_text("0")

    save_screenshot(await page.screenshot(full_page=True))
    assert visit.page_errors == []
    assert visit.console_errors == []


@needs_chromium
@pytest.mark.settings(playground_demo=True)
async def test_the_pages_load_nothing_from_outside_the_server(
    server: Server, visit: Visit
) -> None:
    page = visit.page
    await start_demo(page, server)
    await page.goto(server.url, wait_until="networkidle")  # GraphiQL
    await expect(page.locator(".graphiql-container")).to_be_visible()

    own = origin(server) + "/"
    own_sockets = own.replace("http://", "ws://")
    # Both pages did load their scripts, from the server itself.
    assert f"{own}playground/playground.js" in visit.requests
    assert f"{own}playground/vendor/graphiql.min.js" in visit.requests
    assert [url for url in visit.requests if not url.startswith(own)] == []
    assert len(visit.sockets) == 2  # one per pane
    assert [url for url in visit.sockets if not url.startswith(own_sockets)] == []
    assert visit.page_errors == []


@needs_chromium
async def test_the_page_says_how_to_turn_the_demo_on(
    server: Server, visit: Visit
) -> None:
    page = visit.page
    await page.goto(playground_url(server))
    await page.get_by_test_id("start-demo").click()

    await expect(page.get_by_test_id("demo-status")).to_contain_text(
        "DATASTORE_PLAYGROUND_DEMO=true"
    )
    await expect(page.get_by_test_id("pane-ada")).to_have_count(0)


async def test_without_the_demo_setting_the_page_is_served_but_demo_refused(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=origin(server)) as http:
        demo = await http.post("/playground/demo", json={})
        page = await http.get("/playground/")
        script = await http.get("/playground/playground.js")

    assert demo.status_code in (404, 405)
    assert "token" not in demo.text
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-testid="start-demo"' in page.text
    assert script.status_code == 200
