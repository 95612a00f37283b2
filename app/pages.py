"""The browser pages: GraphiQL at /graphql and the playground at /playground.

Both are served from the repository's ``playground`` folder, with their
libraries vendored in ``playground/vendor``: no page loads anything from the
internet. The playground's demo endpoint, which makes an application, a room
and join tokens for a visitor, exists only when ``DATASTORE_PLAYGROUND_DEMO``
is on (``./scripts/serve`` turns it on; ``datastore serve`` does not).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.keys import hash_key, new_key
from app.runtime import Runtime
from models.applications import create_application, find_application_named
from models.principals import JoinClaims
from models.rooms import create_room
from models.tables import Role

logger = logging.getLogger(__name__)

PLAYGROUND = Path(__file__).resolve().parent.parent / "playground"
DEMO_APPLICATION = "Playground demo"
DEMO_PEOPLE = (("ada", "Ada", Role.MODERATOR), ("grace", "Grace", Role.PARTICIPANT))
DEMO_TOKEN_LIFETIME = timedelta(hours=2)


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page, with example operations for each kind of caller."""
    return HTMLResponse((PLAYGROUND / "graphiql.html").read_text())


def page_routes(runtime: Runtime) -> list[BaseRoute]:
    """Routes of the playground (and its demo endpoint, when allowed)."""
    if not PLAYGROUND.is_dir():
        logger.warning("No playground folder at %s: /playground is off", PLAYGROUND)
        return []
    routes: list[BaseRoute] = []
    if runtime.settings.playground_demo:
        routes.append(Route("/playground/demo", _demo(runtime), methods=["POST"]))
        logger.warning("The playground may create demo applications (development only)")
    routes.append(
        Mount("/playground", app=StaticFiles(directory=PLAYGROUND, html=True))
    )
    return routes


def _demo(runtime: Runtime) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def demo(request: Request) -> JSONResponse:
        """Make a room of the demo application and a join token per person."""
        now = runtime.clock.now()
        app = await find_application_named(DEMO_APPLICATION)
        if app is None:
            app = await create_application(DEMO_APPLICATION, hash_key(new_key()), now)
        room = await create_room(app.id, "Playground", "demo-owner", now)
        people = []
        for user_ref, name, role in DEMO_PEOPLE:
            claims = JoinClaims(
                app_id=app.id,
                room_id=room.id,
                user_ref=user_ref,
                name=name,
                role=role,
                expires_at=now + DEMO_TOKEN_LIFETIME,
            )
            issued = runtime.tokens.issue_join(claims)
            people.append(
                {
                    "userRef": user_ref,
                    "name": name,
                    "role": role.value,
                    "token": issued.token,
                }
            )
        return JSONResponse({"appId": app.id, "roomId": room.id, "people": people})

    return demo
