"""Who is calling: an application server or an in-session client.

A principal is built once per request from verified credentials and the
current database rows, so that a change of the application's status applies
to its very next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.errors import AddonRequired, AppSuspended, DataStoreError
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
