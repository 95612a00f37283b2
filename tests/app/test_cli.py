"""The ``datastore`` command, run as an operator runs it: a real subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.keys import verify_key

DATASTORE = str(Path(sys.executable).parent / "datastore")


@dataclass
class Run:
    """What one command printed and how it exited."""

    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The standard output, parsed."""
        return json.loads(self.stdout)


@dataclass
class Operator:
    """Runs ``datastore`` against one SQLite file."""

    database: Path

    def run(self, *args: str, **environ: str) -> Run:
        """Run the command with these arguments and extra variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATASTORE_")}
        env["DATASTORE_DATABASE_URL"] = f"sqlite://{self.database}"
        env.update(environ)
        done = subprocess.run(
            [DATASTORE, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def create(self, name: str = "acme", *extra: str) -> dict[str, str]:
        """Register an application; return its id and key."""
        found: dict[str, str] = self.run(
            "apps", "create", "--name", name, "--json", *extra
        ).json()
        return found

    def application(self, app_id: str) -> dict[str, Any]:
        """The application as ``apps list --json`` shows it."""
        listed = self.run("apps", "list", "--json").json()
        return next(app for app in listed if app["app_id"] == app_id)

    def suspended_at(self, app_id: str) -> str:
        """The stored suspension time, read straight from the database file."""
        with contextlib.closing(sqlite3.connect(self.database)) as connection:
            row = connection.execute(
                "SELECT suspended_at FROM applications WHERE id = ?", (app_id,)
            ).fetchone()
        return str(row[0])

    def key_hash(self, app_id: str) -> str:
        """The stored key hash, read straight from the database file."""
        with contextlib.closing(sqlite3.connect(self.database)) as connection:
            row = connection.execute(
                "SELECT key_hash FROM applications WHERE id = ?", (app_id,)
            ).fetchone()
        return str(row[0])


@pytest.fixture
def operator(tmp_path: Path) -> Operator:
    """The command line on a fresh database file."""
    return Operator(tmp_path / "x.sqlite3")


def test_apps_create_json_prints_one_object_and_nothing_else(
    operator: Operator,
) -> None:
    done = operator.run("apps", "create", "--name", "acme", "--json")

    lines = done.stdout.splitlines()
    assert done.status == 0
    assert len(lines) == 1
    assert set(json.loads(lines[0])) == {"app_id", "app_key"}


def test_created_key_matches_the_stored_hash(operator: Operator) -> None:
    created = operator.create()

    stored = operator.key_hash(created["app_id"])

    assert verify_key(created["app_key"], stored)


def test_stored_hash_is_not_the_key(operator: Operator) -> None:
    created = operator.create()

    stored = operator.key_hash(created["app_id"])

    assert created["app_key"] not in stored


def test_apps_create_without_json_shows_the_key_once(operator: Operator) -> None:
    done = operator.run("apps", "create", "--name", "acme")

    assert done.status == 0
    assert "app_key: sk_" in done.stdout


def test_apps_create_enables_the_addon(operator: Operator) -> None:
    created = operator.create()

    assert operator.application(created["app_id"])["addon"] is True


def test_apps_create_no_addon_leaves_it_off(operator: Operator) -> None:
    created = operator.create("acme", "--no-addon")

    assert operator.application(created["app_id"])["addon"] is False


def test_apps_create_with_an_empty_name_fails(operator: Operator) -> None:
    done = operator.run("apps", "create", "--name", "", "--json")

    assert done.status == 1
    assert done.stdout == ""
    assert "datastore: name" in done.stderr


def test_apps_list_json_lists_every_application(operator: Operator) -> None:
    first = operator.create("acme")
    second = operator.create("globex")

    listed = operator.run("apps", "list", "--json").json()

    assert [app["app_id"] for app in listed] == [first["app_id"], second["app_id"]]
    assert [app["name"] for app in listed] == ["acme", "globex"]
    assert {app["status"] for app in listed} == {"active"}


def test_apps_list_json_of_no_applications_is_an_empty_array(
    operator: Operator,
) -> None:
    done = operator.run("apps", "list", "--json")

    assert done.json() == []


def test_apps_list_shows_no_key_material(operator: Operator) -> None:
    created = operator.create()

    listed = operator.run("apps", "list", "--json").stdout

    assert created["app_key"] not in listed
    assert "hmac" not in listed


def test_apps_suspend_suspends(operator: Operator) -> None:
    app_id = operator.create()["app_id"]

    done = operator.run("apps", "suspend", app_id)

    assert done.status == 0
    assert operator.application(app_id)["status"] == "suspended"


def test_apps_suspend_twice_keeps_the_first_suspension_time(
    operator: Operator,
) -> None:
    app_id = operator.create()["app_id"]
    operator.run("apps", "suspend", app_id)
    first = operator.suspended_at(app_id)

    done = operator.run("apps", "suspend", app_id)

    assert done.status == 0
    assert operator.suspended_at(app_id) == first
    assert "already suspended" in done.stdout
    assert first[:19].replace(" ", "T") in done.stdout


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        ("604800", "7 days"),
        ("86400", "1 day"),
        ("6", "6 seconds"),
        ("3600", "1 hour"),
        ("90061", "25 hours, 1 minute, 1 second"),
    ],
)
def test_apps_suspend_says_the_retention_readably(
    operator: Operator, seconds: str, said: str
) -> None:
    app_id = operator.create()["app_id"]

    done = operator.run(
        "apps", "suspend", app_id, DATASTORE_SUSPENDED_APP_RETENTION_SECONDS=seconds
    )

    assert done.stdout == f"{app_id} is suspended; its data is kept for {said}.\n"


def test_apps_resume_resumes(operator: Operator) -> None:
    app_id = operator.create()["app_id"]
    operator.run("apps", "suspend", app_id)

    done = operator.run("apps", "resume", app_id)

    assert done.status == 0
    assert operator.application(app_id)["status"] == "active"


def test_apps_addon_disable_turns_it_off(operator: Operator) -> None:
    app_id = operator.create()["app_id"]

    done = operator.run("apps", "addon", app_id, "--disable")

    assert done.status == 0
    assert operator.application(app_id)["addon"] is False


def test_apps_addon_enable_turns_it_on(operator: Operator) -> None:
    app_id = operator.create("acme", "--no-addon")["app_id"]

    done = operator.run("apps", "addon", app_id, "--enable")

    assert done.status == 0
    assert operator.application(app_id)["addon"] is True


def test_apps_addon_needs_enable_or_disable(operator: Operator) -> None:
    app_id = operator.create()["app_id"]

    done = operator.run("apps", "addon", app_id)

    assert done.status == 2


def test_apps_rotate_key_gives_a_different_working_key(operator: Operator) -> None:
    created = operator.create()

    rotated = operator.run("apps", "rotate-key", created["app_id"], "--json").json()

    stored = operator.key_hash(created["app_id"])
    assert rotated["app_id"] == created["app_id"]
    assert rotated["app_key"] != created["app_key"]
    assert verify_key(rotated["app_key"], stored)


def test_apps_rotate_key_retires_the_old_key(operator: Operator) -> None:
    created = operator.create()

    operator.run("apps", "rotate-key", created["app_id"], "--json")

    assert not verify_key(created["app_key"], operator.key_hash(created["app_id"]))


@pytest.mark.parametrize(
    "args",
    [
        ("apps", "suspend", "app_nobody"),
        ("apps", "resume", "app_nobody"),
        ("apps", "addon", "app_nobody", "--enable"),
        ("apps", "rotate-key", "app_nobody", "--json"),
    ],
)
def test_unknown_app_id_fails_with_a_message(
    operator: Operator, args: tuple[str, ...]
) -> None:
    done = operator.run(*args)

    assert done.status == 1
    assert "app_nobody" in done.stderr
    assert done.stdout == ""


def test_migrate_says_the_database_is_up_to_date(operator: Operator) -> None:
    done = operator.run("migrate")

    assert done.status == 0
    assert "up to date" in done.stdout


def test_migrate_twice_is_harmless(operator: Operator) -> None:
    operator.run("migrate")

    done = operator.run("migrate")

    assert done.status == 0
    assert "up to date" in done.stdout


def test_migrate_keeps_the_applications(operator: Operator) -> None:
    created = operator.create()

    operator.run("migrate")

    assert operator.application(created["app_id"])["name"] == "acme"


def test_export_schema_writes_sdl(operator: Operator, tmp_path: Path) -> None:
    output = tmp_path / "schema.graphql"

    done = operator.run("export-schema", "-o", str(output))

    assert done.status == 0
    assert "setCustomData" in output.read_text()
    assert "type Query" in output.read_text()


@pytest.mark.parametrize(
    "where", ["missing-directory/schema.graphql", "."], ids=["missing", "directory"]
)
def test_export_schema_that_cannot_be_written_fails_in_one_line(
    operator: Operator, tmp_path: Path, where: str
) -> None:
    done = operator.run("export-schema", "-o", str(tmp_path / where))

    assert done.status == 1
    assert done.stderr.startswith("datastore: cannot write ")
    assert len(done.stderr.splitlines()) == 1


def test_export_schema_to_standard_output(operator: Operator) -> None:
    done = operator.run("export-schema", "-o", "-")

    assert done.status == 0
    assert "setCustomData" in done.stdout


def test_serve_with_several_workers_is_refused(operator: Operator) -> None:
    done = operator.run("serve", "--workers", "2")

    assert done.status == 2
    assert "worker" in done.stderr


def test_several_workers_from_the_environment_are_refused(
    operator: Operator,
) -> None:
    done = operator.run("serve", DATASTORE_WORKERS="4")

    assert done.status == 2
    assert "worker" in done.stderr


# Ports past 65535 are chosen to wrap around (modulo 65536) into 22000-22999,
# where a server started by mistake may listen.


def test_serve_refuses_a_port_past_65535(operator: Operator) -> None:
    done = operator.run("serve", "--port", str(65536 + 22464))

    assert done.status == 2
    assert "--port: must be between 1 and 65535" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_port_zero_rather_than_ignoring_it(operator: Operator) -> None:
    done = operator.run("serve", "--port", "0", DATASTORE_PORT="22465")

    assert done.status == 2
    assert "--port: must be between 1 and 65535" in done.stderr


def test_port_past_65535_from_the_environment_is_refused(operator: Operator) -> None:
    done = operator.run("serve", DATASTORE_PORT=str(65536 + 22466))

    assert done.status == 2
    assert done.stderr == "datastore: DATASTORE_PORT must be between 1 and 65535\n"


def test_port_that_is_not_a_number_fails_naming_the_variable(
    operator: Operator,
) -> None:
    done = operator.run("migrate", DATASTORE_PORT="abc")

    assert done.status == 2
    assert "DATASTORE_PORT" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_log_level_fails_naming_the_variable(operator: Operator) -> None:
    done = operator.run("migrate", DATASTORE_LOG_LEVEL="LOUD")

    assert done.status == 2
    assert "DATASTORE_LOG_LEVEL" in done.stderr
    assert "Traceback" not in done.stderr


def test_unusable_database_url_fails_with_a_message(operator: Operator) -> None:
    done = operator.run("migrate", DATASTORE_DATABASE_URL="nosuchdb://x")

    assert done.status == 2
    assert "Traceback" not in done.stderr


def test_no_command_is_a_usage_error(operator: Operator) -> None:
    done = operator.run()

    assert done.status == 2
    assert "usage" in done.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATASTORE_SECRET", "short"),
        ("DATASTORE_DATABASE_URL", "mysql://x/y"),
        ("DATASTORE_DATABASE_URL", "sqlite:///nonexistent/dir/x.sqlite3"),
    ],
    ids=["short-secret", "unsupported-database", "missing-directory"],
)
def test_serve_refuses_unusable_settings_in_one_line(
    operator: Operator, variable: str, value: str
) -> None:
    done = operator.run("serve", "--port", "1", **{variable: value})

    assert done.status == 2
    assert variable in done.stderr
    assert "Traceback" not in done.stderr


def test_purge_dry_run_counts_and_removes_nothing(operator: Operator) -> None:
    operator.create()

    done = operator.run("purge", "--dry-run", "--json")

    report = json.loads(done.stdout)
    assert done.status == 0
    assert report["dry_run"] is True
    assert set(report["documents"]) == {"APP", "ROOM", "OWNER", "USER", "SESSION"}


def test_purge_prints_counts_per_scope(operator: Operator) -> None:
    operator.create()

    done = operator.run("purge")

    assert done.status == 0
    for scope in ("APP", "ROOM", "OWNER", "USER", "SESSION"):
        assert scope in done.stdout


def test_purge_with_a_future_now_needs_dry_run(operator: Operator) -> None:
    done = operator.run("purge", "--now", "2999-01-01T00:00:00Z")

    assert done.status == 2
    assert "--dry-run" in done.stderr


def test_purge_with_a_future_now_and_dry_run_previews(operator: Operator) -> None:
    done = operator.run("purge", "--now", "2999-01-01", "--dry-run", "--json")

    assert json.loads(done.stdout)["now"].startswith("2999-01-01T00:00:00")


@pytest.mark.parametrize("dry_run", [("--dry-run",), ()], ids=["dry-run", "real"])
def test_purge_as_of_the_year_1_fails_in_one_line(
    operator: Operator, dry_run: tuple[str, ...]
) -> None:
    done = operator.run("purge", "--now", "0001-01-01", *dry_run)

    errors = [line for line in done.stderr.splitlines() if "INFO" not in line]
    assert done.status == 2
    assert len(errors) == 1
    assert errors[0].startswith("datastore: cannot purge as of 0001-01-01")


def test_purge_refuses_a_now_that_is_not_a_time(operator: Operator) -> None:
    done = operator.run("purge", "--now", "next tuesday")

    assert done.status == 2
    assert "ISO 8601" in done.stderr


def test_resume_after_the_retention_removes_the_data(operator: Operator) -> None:
    app = operator.create()
    database = operator.database
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(
            "INSERT INTO documents (app_id, scope, target, data, authors, revision, "
            "created_at, updated_at) VALUES (?, 'APP', '', '{\"a\":1}', '{}', 1, "
            "'2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')",
            (app["app_id"],),
        )
    operator.run(
        "apps", "suspend", app["app_id"], DATASTORE_SUSPENDED_APP_RETENTION_SECONDS="1"
    )
    time.sleep(1.1)

    done = operator.run(
        "apps", "resume", app["app_id"], DATASTORE_SUSPENDED_APP_RETENTION_SECONDS="1"
    )

    assert done.status == 0
    assert "removed 1 documents (APP 1)" in done.stdout
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT count(*) FROM documents").fetchone() == (0,)
