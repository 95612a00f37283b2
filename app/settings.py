"""The deployment's settings: one frozen object, read from ``DATASTORE_*`` variables.

Nothing else in the project reads the environment. Each field below is read
from ``DATASTORE_<FIELD NAME IN CAPITALS>``; a value that cannot be used stops
the start-up with a message that names the variable.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from models.broker import Broker, LocalBroker
from models.changes import ChangeLogPolicy
from models.clock import Clock, SystemClock
from models.limits import Limits
from models.rules import RetentionPolicy, Rules
from schema.query_limits import QueryBudget

PREFIX = "DATASTORE_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A TCP port is 16 bits (RFC 9293, section 3.1); 0 would mean "any free port".
MAX_PORT = 65535


class SettingsError(ValueError):
    """A setting has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the server, with its default."""

    database_url: str = "sqlite://./datastore.sqlite3"
    secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    broadcast_url: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    cors_origins: tuple[str, ...] = ("*",)
    token_issuer: str = "video-data-store"
    token_default_ttl_seconds: int = 3600
    token_max_ttl_seconds: int = 24 * 3600
    token_leeway_seconds: int = 30
    session_grace_seconds: float = 30.0
    ws_ping_interval_seconds: float = 15.0
    ws_init_timeout_seconds: float = 10.0
    ws_legacy_protocol: bool = False
    ws_compression: bool = False
    max_subscriptions_per_connection: int = 100
    subscriber_queue_size: int = 256
    change_log_max_entries: int = 1000
    change_log_max_age_seconds: int = 24 * 3600
    session_retention_seconds: int = 7 * 24 * 3600
    suspended_app_retention_seconds: int = 7 * 24 * 3600
    purge_interval_seconds: float = 600.0
    status_poll_seconds: float = 2.0
    playground_demo: bool = False
    max_body_bytes: int = 1024 * 1024
    http_keep_alive_seconds: int = 5
    max_document_bytes: int = 64 * 1024
    max_top_level_keys: int = 128
    max_depth: int = 16
    max_array_items: int = 1000
    max_key_length: int = 128
    max_query_tokens: int = 10_000
    max_query_fields: int = 200
    max_query_aliases: int = 50
    max_query_cost: int = 10_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every ``DATASTORE_*`` variable that is set, over the defaults."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _parse(field, raw)
        return cls(**values).checked()

    def checked(self) -> Settings:
        """Return these settings after checking that they fit together."""
        positive = (
            "workers",
            "token_default_ttl_seconds",
            "token_max_ttl_seconds",
            "max_body_bytes",
            "http_keep_alive_seconds",
            "max_document_bytes",
            "max_top_level_keys",
            "max_depth",
            "max_array_items",
            "max_key_length",
            "max_query_tokens",
            "max_query_fields",
            "max_query_aliases",
            "max_query_cost",
            "max_subscriptions_per_connection",
            "subscriber_queue_size",
            "change_log_max_entries",
            "change_log_max_age_seconds",
            "session_retention_seconds",
            "suspended_app_retention_seconds",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise SettingsError(f"{_variable(name)} must be at least 1")
        if not 1 <= self.port <= MAX_PORT:
            raise SettingsError(f"{_variable('port')} must be between 1 and {MAX_PORT}")
        if not self.host.strip():
            # uvicorn would take an empty host for every interface.
            raise SettingsError(f"{_variable('host')} must name an address")
        if self.token_default_ttl_seconds > self.token_max_ttl_seconds:
            raise SettingsError(
                f"{_variable('token_default_ttl_seconds')} must not exceed "
                f"{_variable('token_max_ttl_seconds')}"
            )
        for name in ("session_grace_seconds", "token_leeway_seconds"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise SettingsError(f"{_variable(name)} must be a number >= 0")
        intervals = (
            "ws_ping_interval_seconds",
            "ws_init_timeout_seconds",
            "purge_interval_seconds",
            "status_poll_seconds",
        )
        for name in intervals:
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise SettingsError(f"{_variable(name)} must be a number > 0")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"{_variable('log_format')} must be text or json")
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(
                f"{_variable('log_level')} must be one of {', '.join(LOG_LEVELS)}"
            )
        return self

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed."""
        return dataclasses.replace(self, **changes).checked()

    @property
    def limits(self) -> Limits:
        """The document limits these settings set."""
        return Limits(
            max_document_bytes=self.max_document_bytes,
            max_top_level_keys=self.max_top_level_keys,
            max_depth=self.max_depth,
            max_array_items=self.max_array_items,
            max_key_length=self.max_key_length,
        )

    @property
    def query_budget(self) -> QueryBudget:
        """The most one GraphQL document may ask for."""
        return QueryBudget(
            max_tokens=self.max_query_tokens,
            max_fields=self.max_query_fields,
            max_aliases=self.max_query_aliases,
            max_cost=self.max_query_cost,
        )

    def rules(self, clock: Clock | None = None, broker: Broker | None = None) -> Rules:
        """The data rules these settings set, on ``clock`` and ``broker``."""
        return Rules(
            limits=self.limits,
            session_grace=timedelta(seconds=self.session_grace_seconds),
            clock=clock or SystemClock(),
            change_log=ChangeLogPolicy(
                max_entries=self.change_log_max_entries,
                max_age=timedelta(seconds=self.change_log_max_age_seconds),
            ),
            retention=RetentionPolicy(
                session=timedelta(seconds=self.session_retention_seconds),
                suspended_app=timedelta(seconds=self.suspended_app_retention_seconds),
            ),
            broker=broker or LocalBroker(),
            listener_capacity=self.subscriber_queue_size,
        )


def _boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{_variable(name)} must be true or false, not {raw!r}")


def _variable(name: str) -> str:
    return PREFIX + name.upper()


def _parse(field: dataclasses.Field[Any], raw: str) -> object:
    kind = str(field.type)
    if kind == "bool":
        return _boolean(field.name, raw)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
    except ValueError:
        raise SettingsError(
            f"{_variable(field.name)} must be a number, not {raw!r}"
        ) from None
    return raw or None if "None" in kind else raw
