"""Reading the settings from ``DATASTORE_*`` variables, and refusing bad ones."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import Settings, SettingsError


def test_no_variables_give_the_defaults() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.cors_origins == ("*",)
    assert settings.token_max_ttl_seconds == 86400
    assert settings.token_leeway_seconds == 30


def test_variables_without_the_prefix_are_ignored() -> None:
    settings = Settings.from_env({"PORT": "9999", "DATABASE_URL": "sqlite://:memory:"})

    assert settings == Settings()


READ: list[tuple[str, str, str, Any]] = [
    ("DATASTORE_DATABASE_URL", "sqlite:///tmp/x.sqlite3", "database_url", None),
    ("DATASTORE_SECRET", "s" * 40, "secret", None),
    ("DATASTORE_HOST", "0.0.0.0", "host", None),
    ("DATASTORE_PORT", "9000", "port", 9000),
    ("DATASTORE_WORKERS", "1", "workers", 1),
    ("DATASTORE_BROADCAST_URL", "redis://127.0.0.1:6379", "broadcast_url", None),
    ("DATASTORE_LOG_LEVEL", "DEBUG", "log_level", None),
    ("DATASTORE_TOKEN_ISSUER", "me", "token_issuer", None),
    ("DATASTORE_TOKEN_DEFAULT_TTL_SECONDS", "60", "token_default_ttl_seconds", 60),
    ("DATASTORE_TOKEN_MAX_TTL_SECONDS", "7200", "token_max_ttl_seconds", 7200),
    ("DATASTORE_TOKEN_LEEWAY_SECONDS", "5", "token_leeway_seconds", 5),
    ("DATASTORE_SESSION_GRACE_SECONDS", "2.5", "session_grace_seconds", 2.5),
    ("DATASTORE_MAX_BODY_BYTES", "2048", "max_body_bytes", 2048),
    ("DATASTORE_MAX_DOCUMENT_BYTES", "1024", "max_document_bytes", 1024),
    ("DATASTORE_MAX_TOP_LEVEL_KEYS", "8", "max_top_level_keys", 8),
    ("DATASTORE_MAX_DEPTH", "4", "max_depth", 4),
    ("DATASTORE_MAX_ARRAY_ITEMS", "10", "max_array_items", 10),
    ("DATASTORE_MAX_KEY_LENGTH", "16", "max_key_length", 16),
]


@pytest.mark.parametrize(("variable", "raw", "field", "expected"), READ)
def test_each_variable_sets_its_field(
    variable: str, raw: str, field: str, expected: Any
) -> None:
    settings = Settings.from_env({variable: raw})

    assert getattr(settings, field) == (raw if expected is None else expected)


def test_int_settings_are_ints() -> None:
    settings = Settings.from_env({"DATASTORE_PORT": "9000"})

    assert type(settings.port) is int


def test_float_setting_takes_a_whole_number_too() -> None:
    settings = Settings.from_env({"DATASTORE_SESSION_GRACE_SECONDS": "0"})

    assert settings.session_grace_seconds == 0.0


def test_cors_origins_are_split_on_commas_and_trimmed() -> None:
    raw = "https://a.example, https://b.example ,,"

    settings = Settings.from_env({"DATASTORE_CORS_ORIGINS": raw})

    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_empty_optional_string_means_unset() -> None:
    settings = Settings.from_env(
        {"DATASTORE_SECRET": "", "DATASTORE_BROADCAST_URL": ""}
    )

    assert (settings.secret, settings.broadcast_url) == (None, None)


@pytest.mark.parametrize(
    "variable",
    [
        "DATASTORE_PORT",
        "DATASTORE_TOKEN_MAX_TTL_SECONDS",
        "DATASTORE_SESSION_GRACE_SECONDS",
        "DATASTORE_MAX_BODY_BYTES",
    ],
)
def test_non_number_is_refused_naming_the_variable(variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: "abc"})


def test_settings_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="DATASTORE_PORT"):
        Settings.from_env({"DATASTORE_PORT": "8080x"})


@pytest.mark.parametrize(
    "variable",
    [
        "DATASTORE_PORT",
        "DATASTORE_WORKERS",
        "DATASTORE_TOKEN_DEFAULT_TTL_SECONDS",
        "DATASTORE_TOKEN_MAX_TTL_SECONDS",
        "DATASTORE_MAX_BODY_BYTES",
        "DATASTORE_MAX_DOCUMENT_BYTES",
        "DATASTORE_MAX_TOP_LEVEL_KEYS",
        "DATASTORE_MAX_DEPTH",
        "DATASTORE_MAX_ARRAY_ITEMS",
        "DATASTORE_MAX_KEY_LENGTH",
    ],
)
@pytest.mark.parametrize("raw", ["0", "-1"])
def test_value_below_one_is_refused_naming_the_variable(
    variable: str, raw: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: raw})


@pytest.mark.parametrize("raw", ["65536", "70000"])
def test_port_past_65535_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match="DATASTORE_PORT must be between 1 and"):
        Settings.from_env({"DATASTORE_PORT": raw})


@pytest.mark.parametrize("raw", ["", " "])
def test_empty_host_is_refused_rather_than_meaning_every_interface(raw: str) -> None:
    with pytest.raises(SettingsError, match="DATASTORE_HOST must name an address"):
        Settings.from_env({"DATASTORE_HOST": raw})


def test_port_65535_is_accepted() -> None:
    settings = Settings.from_env({"DATASTORE_PORT": "65535"})

    assert settings.port == 65535


def test_negative_session_grace_is_refused() -> None:
    with pytest.raises(SettingsError, match="DATASTORE_SESSION_GRACE_SECONDS"):
        Settings.from_env({"DATASTORE_SESSION_GRACE_SECONDS": "-1"})


@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_non_finite_session_grace_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="DATASTORE_SESSION_GRACE_SECONDS"):
        Settings.from_env({"DATASTORE_SESSION_GRACE_SECONDS": raw})


def test_unknown_log_level_is_refused_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="DATASTORE_LOG_LEVEL"):
        Settings.from_env({"DATASTORE_LOG_LEVEL": "LOUD"})


def test_lower_case_log_level_is_accepted() -> None:
    settings = Settings.from_env({"DATASTORE_LOG_LEVEL": "debug"})

    assert settings.log_level.upper() == "DEBUG"


def test_negative_token_leeway_is_refused() -> None:
    with pytest.raises(SettingsError, match="DATASTORE_TOKEN_LEEWAY_SECONDS"):
        Settings.from_env({"DATASTORE_TOKEN_LEEWAY_SECONDS": "-30"})


def test_default_ttl_above_max_ttl_is_refused() -> None:
    environ = {
        "DATASTORE_TOKEN_DEFAULT_TTL_SECONDS": "7200",
        "DATASTORE_TOKEN_MAX_TTL_SECONDS": "3600",
    }

    with pytest.raises(SettingsError, match="DATASTORE_TOKEN_DEFAULT_TTL_SECONDS"):
        Settings.from_env(environ)


def test_default_ttl_equal_to_max_ttl_is_accepted() -> None:
    environ = {
        "DATASTORE_TOKEN_DEFAULT_TTL_SECONDS": "3600",
        "DATASTORE_TOKEN_MAX_TTL_SECONDS": "3600",
    }

    settings = Settings.from_env(environ)

    assert settings.token_default_ttl_seconds == settings.token_max_ttl_seconds


def test_max_ttl_below_the_default_ttl_is_refused() -> None:
    with pytest.raises(SettingsError, match="DATASTORE_TOKEN_MAX_TTL_SECONDS"):
        Settings.from_env({"DATASTORE_TOKEN_MAX_TTL_SECONDS": "60"})


def test_replace_checks_the_new_values() -> None:
    with pytest.raises(SettingsError, match="DATASTORE_WORKERS"):
        Settings().replace(workers=0)


def test_settings_are_frozen() -> None:
    settings = Settings()

    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
