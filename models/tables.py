"""The stored objects: applications, rooms, sessions, participants, documents.

Times are always set from the injected clock, never by the database, so that
tests and the purge preview can move time.

Tortoise stores each model's docstring as a table comment inside the CREATE
TABLE statement and splits SQLite scripts on semicolons, so these docstrings
must not contain one.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Scope(StrEnum):
    """The five places custom data lives; each instance holds one document."""

    APP = "APP"
    ROOM = "ROOM"
    OWNER = "OWNER"
    USER = "USER"
    SESSION = "SESSION"


class Role(StrEnum):
    """A participant's role, fixed by its join token."""

    MODERATOR = "MODERATOR"
    PARTICIPANT = "PARTICIPANT"


class Application(Model):
    """An application registered on the platform, with its hashed key."""

    id = fields.CharField(primary_key=True, max_length=64)
    name = fields.CharField(max_length=200)
    key_hash = fields.CharField(max_length=200)
    addon_enabled = fields.BooleanField(default=True)
    suspended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "applications"


class Room(Model):
    """A video room of an application. Deleted rooms stay as tombstones."""

    id = fields.CharField(primary_key=True, max_length=64)
    app: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "datastore.Application", related_name="rooms", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    owner_ref = fields.CharField(max_length=128)
    created_at = fields.DatetimeField()
    deleted_at = fields.DatetimeField(null=True)

    app_id: str

    class Meta:
        table = "rooms"
        indexes = (("app_id", "created_at"),)


class Session(Model):
    """One meeting held in a room. ``conf_num`` rises across the deployment."""

    conf_num = fields.IntField(primary_key=True, generated=True)
    room: fields.ForeignKeyRelation[Room] = fields.ForeignKeyField(
        "datastore.Room", related_name="sessions", on_delete=fields.CASCADE
    )
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    room_id: str

    class Meta:
        table = "sessions"
        indexes = (("room_id", "ended_at"),)


class Participant(Model):
    """One connection of an end user to a session, new on every join."""

    client_id = fields.CharField(primary_key=True, max_length=64)
    session: fields.ForeignKeyRelation[Session] = fields.ForeignKeyField(
        "datastore.Session", related_name="participants", on_delete=fields.CASCADE
    )
    user_ref = fields.CharField(max_length=128)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16)
    joined_at = fields.DatetimeField()
    # A participant that never leaves is gone when its connection token expires.
    expires_at = fields.DatetimeField()
    left_at = fields.DatetimeField(null=True)

    session_id: int

    class Meta:
        table = "participants"
        indexes = (("session_id", "left_at"),)


class Document(Model):
    """The JSON document of one scope instance, with its revision and authors.

    ``target`` names the instance within the application: empty for APP, the
    room id for ROOM, the owner_ref for OWNER, the user_ref for USER and the
    conf_num for SESSION. ``data`` and ``authors`` are compact JSON text, so
    that numbers and strings round-trip exactly on every database.
    """

    id = fields.BigIntField(primary_key=True, generated=True)
    app: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "datastore.Application", related_name="documents", on_delete=fields.CASCADE
    )
    scope = fields.CharEnumField(Scope, max_length=16)
    target = fields.CharField(max_length=128)
    data = fields.TextField()
    authors = fields.TextField()
    revision = fields.IntField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    app_id: str

    class Meta:
        table = "documents"
        unique_together = (("app", "scope", "target"),)


class ChangeLogEntry(Model):
    """One applied write of a document, kept for a while so that readers can replay.

    Written in the same transaction as the document, so a revision is in the
    log exactly when it is in the document. ``patch`` turns the previous
    revision into this one (RFC 7386); ``author`` is the writer as JSON.
    """

    id = fields.BigIntField(primary_key=True, generated=True)
    app: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "datastore.Application", related_name="changes", on_delete=fields.CASCADE
    )
    scope = fields.CharEnumField(Scope, max_length=16)
    target = fields.CharField(max_length=128)
    revision = fields.IntField()
    patch = fields.TextField()
    author = fields.TextField()
    at = fields.DatetimeField()

    app_id: str

    class Meta:
        table = "changes"
        unique_together = (("app", "scope", "target", "revision"),)
        indexes = (("at",),)
