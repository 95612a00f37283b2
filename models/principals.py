"""Who is calling: an application server or an in-session client.

A principal is built once per request from verified credentials and the
current database rows, so that a change of the application's status applies
to its very next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.errors import (
    AddonRequired,
    AppSuspended,
    DataStoreError,
    SessionEnded,
    Unauthenticated,
)
from models.sql import fetch, moment
from models.tables import Application, Participant, Role


@dataclass(frozen=True)
class AppStatus:
    """What the application's plan and standing allow right now."""

    app_id: str
    suspended: bool
    addon_enabled: bool

    @classmethod
    def of(cls, app: Application) -> AppStatus:
        """Read the status of an application row."""
        return cls(app.id, app.suspended_at is not None, app.addon_enabled)

    def ensure_active(self) -> None:
        """Refuse every call of a suspended application."""
        if self.suspended:
            raise AppSuspended(f"application {self.app_id} is suspended")

    def ensure_addon(self) -> None:
        """Refuse data operations when the plan lacks the data store add-on."""
        if not self.addon_enabled:
            raise AddonRequired(
                f"application {self.app_id} does not have the data store add-on"
            )

    def refusal(self) -> DataStoreError:
        """Return the error data operations get now (suspension comes first)."""
        try:
            self.ensure_active()
            self.ensure_addon()
        except DataStoreError as exc:
            return exc
        raise ValueError(f"application {self.app_id} is in good standing")


@dataclass(frozen=True)
class ApplicationPrincipal:
    """The application's own server, authenticated with its key."""

    status: AppStatus
    name: str

    @property
    def app_id(self) -> str:
        """The application the server speaks for."""
        return self.status.app_id


@dataclass(frozen=True)
class ClientPrincipal:
    """One participant of a live session; everything here comes from its token."""

    status: AppStatus
    room_id: str
    owner_ref: str
    conf_num: int
    client_id: str
    user_ref: str
    name: str
    role: Role
    # When its credentials stop working (token expiry plus leeway).
    valid_until: datetime | None = None

    @property
    def app_id(self) -> str:
        """The application the client's room belongs to."""
        return self.status.app_id


Principal = ApplicationPrincipal | ClientPrincipal


def client_principal(
    participant: Participant, valid_until: datetime | None = None
) -> ClientPrincipal:
    """Return the principal of a participant loaded with its session, room and app."""
    room = participant.session.room
    return ClientPrincipal(
        status=AppStatus.of(room.app),
        room_id=room.id,
        owner_ref=room.owner_ref,
        conf_num=participant.session.conf_num,
        client_id=participant.client_id,
        user_ref=participant.user_ref,
        name=participant.name,
        role=participant.role,
        valid_until=valid_until,
    )


@dataclass(frozen=True)
class JoinClaims:
    """What a join token lets its bearer do: join one room as one user."""

    app_id: str
    room_id: str
    user_ref: str
    name: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True)
class Author:
    """Who made a write, as remembered beside each top-level key."""

    client_id: str | None = None
    user_ref: str | None = None
    name: str | None = None
    role: Role | None = None

    def as_json(self) -> dict[str, str | None]:
        """Return the author as stored beside keys and in the change log."""
        return {
            "clientId": self.client_id,
            "userRef": self.user_ref,
            "name": self.name,
            "role": self.role.value if self.role else None,
        }

    @classmethod
    def from_json(cls, stored: dict[str, str | None]) -> Author:
        """Read an author back from its stored form."""
        role = stored.get("role")
        return cls(
            stored.get("clientId"),
            stored.get("userRef"),
            stored.get("name"),
            Role(role) if role else None,
        )

    @classmethod
    def of(cls, principal: Principal) -> Author:
        """Return the author a principal writes as (all ``None`` for the app)."""
        if isinstance(principal, ClientPrincipal):
            return cls(
                principal.client_id, principal.user_ref, principal.name, principal.role
            )
        return cls()


_CLIENT = """
SELECT p.client_id, p.user_ref, p.name, p.role, p.left_at, p.expires_at,
       s.conf_num, s.ended_at, r.id AS room_id, r.owner_ref,
       a.id AS app_id, a.suspended_at, a.addon_enabled
FROM participants p
JOIN sessions s ON s.conf_num = p.session_id
JOIN rooms r ON r.id = s.room_id
JOIN applications a ON a.id = r.app_id
WHERE p.client_id = ?
"""


async def load_client(client_id: str, leeway: timedelta) -> ClientPrincipal:
    """Return the principal of a participant still in its session, in one query.

    Its credentials stay valid until its token's expiry plus ``leeway``.
    """
    rows = await fetch(_CLIENT, client_id)
    if not rows:
        raise Unauthenticated(f"there is no participant {client_id}")
    row = rows[0]
    if row["ended_at"] is not None:
        raise SessionEnded(f"session {row['conf_num']} has ended: join the room again")
    if row["left_at"] is not None:
        raise Unauthenticated("this participant has left the room: join it again")
    status = AppStatus(
        row["app_id"], row["suspended_at"] is not None, bool(row["addon_enabled"])
    )
    status.ensure_active()
    expires_at = moment(row["expires_at"])
    assert expires_at is not None
    return ClientPrincipal(
        status=status,
        room_id=row["room_id"],
        owner_ref=row["owner_ref"],
        conf_num=int(row["conf_num"]),
        client_id=row["client_id"],
        user_ref=row["user_ref"],
        name=row["name"],
        role=Role(row["role"]),
        valid_until=expires_at + leeway,
    )
