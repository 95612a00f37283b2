"""Registering applications and changing their standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.broker import Broker, Revoked, app_topic
from models.database import storage_errors, write_transaction
from models.errors import NotFound
from models.names import check_name, could_be_id, new_id
from models.principals import AppStatus
from models.sql import fetch
from models.tables import Application


async def create_application(
    name: str, key_hash: str, now: datetime, *, addon_enabled: bool = True
) -> Application:
    """Register an application whose key hashes to ``key_hash``."""
    check_name(name, "name")
    with storage_errors():
        return await Application.create(
            id=new_id("app"),
            name=name,
            key_hash=key_hash,
            addon_enabled=addon_enabled,
            created_at=now,
        )


async def find_application(app_id: str) -> Application | None:
    """Return the application with this id, if there is one."""
    if not could_be_id(app_id):
        return None
    with storage_errors():
        return await Application.get_or_none(id=app_id)


async def find_application_named(name: str) -> Application | None:
    """Return the oldest application registered under this name, if any."""
    with storage_errors():
        return await Application.filter(name=name).order_by("created_at").first()


@dataclass(frozen=True)
class Credentials:
    """What authenticating an application server needs to know of it."""

    status: AppStatus
    name: str
    key_hash: str


async def application_credentials(app_id: str) -> Credentials | None:
    """Return an application's standing and key hash, in one fixed query."""
    if not could_be_id(app_id):
        return None
    rows = await fetch(
        "SELECT id, name, key_hash, suspended_at, addon_enabled "
        "FROM applications WHERE id = ?",
        app_id,
    )
    if not rows:
        return None
    row = rows[0]
    status = AppStatus(
        row["id"], row["suspended_at"] is not None, bool(row["addon_enabled"])
    )
    return Credentials(status, row["name"], row["key_hash"])


async def get_application(app_id: str) -> Application:
    """Return the application with this id, or raise ``NotFound``."""
    app = await find_application(app_id)
    if app is None:
        raise NotFound(f"there is no application {app_id}")
    return app


async def list_applications() -> list[Application]:
    """Return every application, oldest first."""
    with storage_errors():
        return await Application.all().order_by("created_at")


@dataclass(frozen=True)
class Standing:
    """What live feeds rely on about an application."""

    status: AppStatus
    key_hash: str


async def standings() -> dict[str, Standing]:
    """Every application's standing, for noticing changes made elsewhere."""
    with storage_errors():
        apps = await Application.all().only(
            "id", "suspended_at", "addon_enabled", "key_hash"
        )
    return {app.id: Standing(AppStatus.of(app), app.key_hash) for app in apps}


async def set_suspended(
    app_id: str, now: datetime | None, broker: Broker | None = None
) -> Application:
    """Suspend the application at ``now`` (ending its live feeds), or resume it.

    An application suspended already keeps its suspension time: its retention
    period counts from then, and suspending it again must not restart it.
    """
    async with write_transaction():
        app = await get_application(app_id)
        if now is not None and app.suspended_at is not None:
            return app
        await _save(app, suspended_at=now)
    if now is not None and broker is not None:
        await broker.publish(app_topic(app_id), Revoked(AppStatus.of(app).refusal()))
    return app


async def set_addon(
    app_id: str, *, enabled: bool, broker: Broker | None = None
) -> Application:
    """Turn the data store add-on on or off (ending live feeds when off)."""
    app = await _update(app_id, addon_enabled=enabled)
    if not enabled and broker is not None:
        await broker.publish(app_topic(app_id), Revoked(AppStatus.of(app).refusal()))
    return app


async def set_key_hash(app_id: str, key_hash: str) -> Application:
    """Replace the application's key; the old key stops working at once."""
    return await _update(app_id, key_hash=key_hash)


async def _update(app_id: str, **values: object) -> Application:
    async with write_transaction():
        app = await get_application(app_id)
        await _save(app, **values)
    return app


async def _save(app: Application, **values: object) -> None:
    app.update_from_dict(values)
    await app.save(update_fields=list(values))
