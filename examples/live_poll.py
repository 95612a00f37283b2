"""A live poll in one meeting, driven end to end over HTTP.

This example plays three parts against a running Video Data Store:

* the **application server**, which calls with HTTP Basic ``app_id:app_key``.
  It creates a room and one join token per user, ends the meeting, and reads
  the results once the meeting is over;
* a **host** (a MODERATOR) and a **guest** (a PARTICIPANT), two in-session
  clients. Each joins the room with its join token and from then on calls with
  ``Authorization: Bearer <connectionToken>``.

What it shows:

* SESSION data is shared by everyone in the meeting. The host opens a poll
  there; each user votes by sending only its own vote. Writes are JSON Merge
  Patches (RFC 7386), so nested objects merge and two votes never overwrite
  each other.
* USER data belongs to one user and outlives the meeting: each user keeps its
  preferences there.
* After the session has ended, the application still reads its SESSION data
  with ``session: LAST``, and any user's USER data by ``userRef``.

Start a server and register an application first::

    datastore serve
    datastore apps create --name demo

then run::

    python examples/live_poll.py --url http://127.0.0.1:8000/graphql \\
        --app-id APP_ID --app-key APP_KEY

``--app-id`` and ``--app-key`` default to the ``DATASTORE_APP_ID`` and
``DATASTORE_APP_KEY`` environment variables. The script exits with 0 when the
story completes and with 1, printing the error, when any GraphQL call fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

# --- The GraphQL operations ------------------------------------------------

CREATE_ROOM = """
mutation CreateRoom($name: String!, $ownerRef: String!) {
  createRoom(input: {name: $name, ownerRef: $ownerRef}) { roomId name }
}"""

CREATE_TOKEN = """
mutation CreateToken($roomId: ID!, $userRef: String!, $name: String!,
                     $role: Role!) {
  createToken(input: {roomId: $roomId, userRef: $userRef, name: $name,
                      role: $role}) {
    token
  }
}"""

JOIN_ROOM = """
mutation JoinRoom($token: String!) {
  joinRoom(token: $token) {
    clientId
    connectionToken
    session { confNum }
  }
}"""

SET_DATA = """
mutation SetData($scope: Scope!, $data: JSON!) {
  setCustomData(scope: $scope, data: $data) { data revision }
}"""

GET_DATA = """
query GetData($scope: Scope!, $session: SessionSelector = CURRENT,
              $target: TargetInput) {
  customData(scope: $scope, session: $session, target: $target) {
    confNum
    data
    revision
  }
}"""

LEAVE_ROOM = """
mutation LeaveRoom { leaveRoom { clientId } }"""

END_SESSION = """
mutation EndSession($confNum: Int!) {
  endSession(confNum: $confNum) { confNum endedAt }
}"""


# --- A caller: one connection with one set of credentials -------------------


class Caller:
    """One party calling the API, with its own HTTP connection."""

    def __init__(self, url: str, authorization: str | None = None) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        transport = HTTPXAsyncTransport(url=url, headers=headers, timeout=30)
        self._client = Client(transport=transport)
        self._session: Any = None

    async def __aenter__(self) -> Caller:
        self._session = await self._client.connect_async()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.close_async()

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run one operation and return its data; GraphQL errors raise."""
        request = GraphQLRequest(query, variable_values=variables or None)
        data: dict[str, Any] = await self._session.execute(request)
        return data


def basic_auth(app_id: str, app_key: str) -> str:
    """The application server's ``Authorization`` header value."""
    pair = f"{app_id}:{app_key}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass
class Member:
    """A user in the meeting, as its join made it."""

    user_ref: str
    name: str
    client_id: str
    conf_num: int
    connection_token: str


# --- The application server's part ------------------------------------------


async def create_room(app: Caller, name: str, owner_ref: str) -> str:
    """Create a room and return its id."""
    data = await app.run(CREATE_ROOM, name=name, ownerRef=owner_ref)
    room_id: str = data["createRoom"]["roomId"]
    print(f"app: created room {name!r} ({room_id})")
    return room_id


async def create_token(
    app: Caller, room_id: str, user_ref: str, name: str, role: str
) -> str:
    """Make a join token for one user and return it."""
    data = await app.run(
        CREATE_TOKEN, roomId=room_id, userRef=user_ref, name=name, role=role
    )
    print(f"app: made a {role} join token for {name} ({user_ref})")
    token: str = data["createToken"]["token"]
    return token


async def end_session(app: Caller, conf_num: int) -> None:
    """End the meeting for everyone."""
    data = await app.run(END_SESSION, confNum=conf_num)
    print(f"app: ended session {conf_num} at {data['endSession']['endedAt']}")


async def read_results(app: Caller, room_id: str) -> dict[str, Any]:
    """Read the poll from the room's last session, after it has ended."""
    data = await app.run(
        GET_DATA, scope="SESSION", session="LAST", target={"roomId": room_id}
    )
    found = data["customData"]
    print(f"app: read session {found['confNum']} (revision {found['revision']})")
    poll: dict[str, Any] = found["data"]["poll"]
    return poll


async def read_user_data(app: Caller, user_ref: str) -> dict[str, Any]:
    """Read one user's USER document."""
    data = await app.run(GET_DATA, scope="USER", target={"userRef": user_ref})
    document: dict[str, Any] = data["customData"]["data"]
    print(f"app: {user_ref}'s user data: {document}")
    return document


# --- The in-session clients' part -------------------------------------------


async def join(url: str, join_token: str, user_ref: str, name: str) -> Member:
    """Join the room with a join token; no Authorization header is needed."""
    async with Caller(url) as anonymous:
        data = await anonymous.run(JOIN_ROOM, token=join_token)
    joined = data["joinRoom"]
    member = Member(
        user_ref=user_ref,
        name=name,
        client_id=joined["clientId"],
        conf_num=joined["session"]["confNum"],
        connection_token=joined["connectionToken"],
    )
    print(f"{name}: joined session {member.conf_num} as {member.client_id}")
    return member


def bearer(member: Member) -> str:
    """A client's ``Authorization`` header value."""
    return f"Bearer {member.connection_token}"


async def open_poll(host: Caller, question: str, options: list[str]) -> None:
    """Put a new poll in the SESSION document, for everyone in the meeting."""
    poll = {"question": question, "options": options, "votes": {}}
    result = await host.run(SET_DATA, scope="SESSION", data={"poll": poll})
    revision = result["setCustomData"]["revision"]
    print(f"host: opened poll {question!r} {options} (revision {revision})")


async def vote(client: Caller, member: Member, option: str) -> None:
    """Vote by merging only this user's entry into ``poll.votes``."""
    patch = {"poll": {"votes": {member.user_ref: option}}}
    result = await client.run(SET_DATA, scope="SESSION", data=patch)
    revision = result["setCustomData"]["revision"]
    print(f"{member.name}: voted {option!r} (revision {revision})")


async def keep_preferences(
    client: Caller, member: Member, preferences: dict[str, Any]
) -> None:
    """Store preferences in the user's own USER document."""
    await client.run(SET_DATA, scope="USER", data={"preferences": preferences})
    print(f"{member.name}: saved preferences {preferences}")


async def read_votes(client: Caller, member: Member) -> dict[str, str]:
    """Read the live session's poll votes."""
    data = await client.run(GET_DATA, scope="SESSION")
    votes: dict[str, str] = data["customData"]["data"]["poll"]["votes"]
    print(f"{member.name}: sees votes {votes}")
    return votes


async def leave(client: Caller, member: Member) -> None:
    """Leave the meeting; the connection token stops working."""
    await client.run(LEAVE_ROOM)
    print(f"{member.name}: left the room")


# --- The story ---------------------------------------------------------------


def tally(poll: dict[str, Any]) -> dict[str, int]:
    """Count the votes per option, in the poll's order of options."""
    counts = Counter(poll["votes"].values())
    return {option: counts[option] for option in poll["options"]}


async def meeting(url: str, app: Caller) -> dict[str, int]:
    """Run one meeting with a poll and return the tally."""
    room_id = await create_room(app, "Lunch planning", owner_ref="owner-1")
    people = [
        ("user-host", "host", "MODERATOR"),
        ("user-guest", "guest", "PARTICIPANT"),
    ]
    members: list[Member] = []
    for user_ref, name, role in people:
        token = await create_token(app, room_id, user_ref, name, role)
        members.append(await join(url, token, user_ref, name))
    host, guest = members

    async with (
        Caller(url, bearer(host)) as host_api,
        Caller(url, bearer(guest)) as guest_api,
    ):
        await open_poll(host_api, "What's for lunch?", ["pizza", "soup"])
        await vote(host_api, host, "pizza")
        await vote(guest_api, guest, "soup")
        await keep_preferences(host_api, host, {"theme": "dark"})
        await keep_preferences(guest_api, guest, {"theme": "light"})
        await read_votes(guest_api, guest)
        await leave(host_api, host)
        await leave(guest_api, guest)

    await end_session(app, host.conf_num)
    poll = await read_results(app, room_id)
    for member in members:
        await read_user_data(app, member.user_ref)
    return tally(poll)


async def main(url: str, app_id: str, app_key: str) -> int:
    """Run the story; return the process's exit status."""
    try:
        async with Caller(url, basic_auth(app_id, app_key)) as app:
            result = await meeting(url, app)
    except TransportQueryError as exc:
        print(f"GraphQL error: {exc.errors or exc}", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(f"transport error: {exc}", file=sys.stderr)
        return 1
    print(f"poll result: {result}")
    return 0


def parse_arguments() -> argparse.Namespace:
    """Read the command line, with the credentials' environment defaults."""
    parser = argparse.ArgumentParser(description="A live poll in one meeting.")
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000/graphql", help="the GraphQL endpoint"
    )
    parser.add_argument(
        "--app-id",
        default=os.environ.get("DATASTORE_APP_ID"),
        help="the application's id (default: $DATASTORE_APP_ID)",
    )
    parser.add_argument(
        "--app-key",
        default=os.environ.get("DATASTORE_APP_KEY"),
        help="the application's key (default: $DATASTORE_APP_KEY)",
    )
    arguments = parser.parse_args()
    if not arguments.app_id or not arguments.app_key:
        parser.error("give --app-id and --app-key, or set DATASTORE_APP_ID/_KEY")
    return arguments


if __name__ == "__main__":
    args = parse_arguments()
    sys.exit(asyncio.run(main(args.url, args.app_id, args.app_key)))
