"""The ``datastore`` command: run the server and manage applications.

Every command reads the same ``DATASTORE_*`` settings as the server. Output
meant for people goes to standard output; ``--json`` prints one JSON document
for scripts instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from app.jobs import describe
from app.keys import hash_key, new_key
from app.logs import configure_logging
from app.runtime import signing_secret
from app.server import create_app, tune_garbage_collector, uvicorn_config
from app.settings import MAX_PORT, Settings, SettingsError
from models import applications, retention
from models.clock import ManualClock, SystemClock
from models.database import (
    DatabaseURLError,
    check_database_url,
    close_database,
    open_database,
)
from models.errors import DataStoreError
from models.tables import Application
from schema import build_schema

Command = Callable[[argparse.Namespace, Settings], int]
T = TypeVar("T")

DAY = 24 * 3600


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``datastore`` command and return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
        configure_logging(settings.log_level, settings.log_format)
        command: Command = args.command
        return command(args, settings)
    except SettingsError as exc:
        print(f"datastore: {exc}", file=sys.stderr)
        return 2
    except DatabaseURLError as exc:
        print(f"datastore: DATASTORE_DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    except DataStoreError as exc:
        print(f"datastore: {exc.message}", file=sys.stderr)
        return 1


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the server until interrupted, applying migrations first."""
    settings = settings.replace(
        host=settings.host if args.host is None else args.host,
        port=settings.port if args.port is None else args.port,
        workers=settings.workers if args.workers is None else args.workers,
    )
    # What can stop the start-up is checked here, so that it is told in one
    # line rather than in uvicorn's traceback.
    check_database_url(settings.database_url)
    signing_secret(settings)
    if settings.workers > 1:
        print(
            "datastore: several workers would each keep their own live-change "
            "broker and miss each other's events; this version serves one worker",
            file=sys.stderr,
        )
        return 2
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    tune_garbage_collector()
    # After a graceful shutdown on Ctrl-C, uvicorn raises the signal again so
    # that the process ends as interrupted; the shutdown is already complete.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else 1


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the database schema up to date."""

    async def nothing() -> None:
        return None

    _with_database(settings, nothing)
    print("The database is up to date.")
    return 0


def apps_create(args: argparse.Namespace, settings: Settings) -> int:
    """Register an application and print its id and key, once."""
    key = new_key()

    async def create() -> Application:
        return await applications.create_application(
            args.name,
            hash_key(key),
            SystemClock().now(),
            addon_enabled=not args.no_addon,
        )

    app = _with_database(settings, create)
    if args.json:
        print(json.dumps({"app_id": app.id, "app_key": key}))
    else:
        print(f"app_id:  {app.id}\napp_key: {key}\n")
        print(
            "Keep the key now: it is stored only as a hash and cannot be shown again."
        )
    return 0


def apps_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the registered applications."""
    found = _with_database(settings, applications.list_applications)
    rows = [_describe(app) for app in found]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        addon = "on" if row["addon"] else "off"
        print(f"{row['app_id']}  {row['status']:<9}  addon={addon}  {row['name']}")
    return 0


def apps_suspend(args: argparse.Namespace, settings: Settings) -> int:
    """Suspend an application: every call of it and its clients is refused."""
    now = SystemClock().now()
    rules = settings.rules(ManualClock(now))
    app = _with_database(
        settings, lambda: retention.suspend_application(args.app_id, rules)
    )
    kept = _duration(settings.suspended_app_retention_seconds)
    # A suspended application keeps the time it was first suspended at.
    if app.suspended_at is not None and app.suspended_at != now:
        since = app.suspended_at.isoformat()
        print(
            f"{app.id} was already suspended, since {since}; its data is kept "
            f"for {kept} from then."
        )
    else:
        print(f"{app.id} is suspended; its data is kept for {kept}.")
    return 0


def apps_resume(args: argparse.Namespace, settings: Settings) -> int:
    """Resume a suspended application (its data is gone if kept past retention)."""
    report = _with_database(
        settings, lambda: retention.resume_application(args.app_id, settings.rules())
    )
    print(f"{args.app_id} is active.")
    if report.document_total:
        print(f"Its retention had run out: removed {describe(report)}.")
    return 0


def purge(args: argparse.Namespace, settings: Settings) -> int:
    """Remove data past its retention, or with --dry-run count what would go."""
    now = args.now or SystemClock().now()
    if now > SystemClock().now() and not args.dry_run:
        print(
            "datastore: a future --now would remove data before its time; "
            "add --dry-run to see what that date would remove",
            file=sys.stderr,
        )
        return 2
    rules = settings.rules(ManualClock(now))
    try:
        report = _with_database(
            settings, lambda: retention.purge(rules, dry_run=args.dry_run)
        )
    except OverflowError:
        # Retention reaches back from now, and no datetime is before the year 1.
        print(
            f"datastore: cannot purge as of {now.isoformat()}: the retention "
            "periods reach back past the year 1",
            file=sys.stderr,
        )
        return 2
    if args.json:
        print(
            json.dumps(
                {"now": now.isoformat(), "dry_run": args.dry_run, **report.as_dict()}
            )
        )
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(f"Purge as of {now.isoformat()} {verb}:")
    for scope, number in report.by_scope().items():
        print(f"  {scope:<20} {number} documents")
    print(f"  {'change log':<20} {report.change_log_entries} entries")
    print(f"  {'sessions':<20} {report.sessions} sessions")
    return 0


def apps_addon(args: argparse.Namespace, settings: Settings) -> int:
    """Turn the data store add-on on or off."""
    app = _with_database(
        settings, lambda: applications.set_addon(args.app_id, enabled=args.enable)
    )
    print(f"{app.id}: data store add-on {'on' if app.addon_enabled else 'off'}.")
    return 0


def apps_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    """Give an application a new key; the old one stops working at once."""
    key = new_key()
    app = _with_database(
        settings, lambda: applications.set_key_hash(args.app_id, hash_key(key))
    )
    if args.json:
        print(json.dumps({"app_id": app.id, "app_key": key}))
    else:
        print(f"app_id:  {app.id}\napp_key: {key}")
    return 0


def export_schema(args: argparse.Namespace, settings: Settings) -> int:
    """Write the GraphQL schema in SDL."""
    sdl = build_schema().as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
        return 0
    try:
        Path(args.output).write_text(sdl)
    except OSError as exc:
        print(
            f"datastore: cannot write {args.output}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    print(f"Wrote {args.output}")
    return 0


def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        try:
            await open_database(settings.database_url)
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())


def _moment(text: str) -> datetime:
    """Read an ISO 8601 time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _port(text: str) -> int:
    """Read ``--port``: a TCP port, as DATASTORE_PORT must be."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_PORT}")
    return port


def _duration(seconds: int) -> str:
    """Say a period as people do: whole days in days, else hours to seconds."""
    if seconds % DAY == 0:
        return _count(seconds // DAY, "day")
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    parts = zip((hours, minutes, rest), ("hour", "minute", "second"), strict=True)
    return ", ".join(_count(number, unit) for number, unit in parts if number)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def _describe(app: Application) -> dict[str, Any]:
    return {
        "app_id": app.id,
        "name": app.name,
        "status": "suspended" if app.suspended_at else "active",
        "addon": app.addon_enabled,
        "created_at": app.created_at.isoformat(),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datastore",
        description="Video Data Store: GraphQL custom data for video rooms.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("serve", help="run the server (applies migrations first)")
    run.add_argument("--host", help="address to listen on (DATASTORE_HOST)")
    run.add_argument("--port", type=_port, help="port to listen on (DATASTORE_PORT)")
    run.add_argument("--workers", type=int, help="worker processes (DATASTORE_WORKERS)")
    run.set_defaults(command=serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(
        command=migrate
    )

    sweep = commands.add_parser("purge", help="remove data past its retention")
    sweep.add_argument(
        "--now",
        type=_moment,
        help="evaluate retention as of this time (ISO 8601, e.g. 2026-12-31T00:00Z)",
    )
    sweep.add_argument(
        "--dry-run", action="store_true", help="count what would go; remove nothing"
    )
    sweep.add_argument("--json", action="store_true", help="print one JSON object")
    sweep.set_defaults(command=purge)

    schema = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    schema.add_argument("--output", "-o", default="schema.graphql", help="file, or -")
    schema.set_defaults(command=export_schema)

    _add_apps(commands)
    return parser


def _add_apps(commands: Any) -> None:
    apps = commands.add_parser("apps", help="manage applications")
    sub = apps.add_subparsers(required=True, metavar="ACTION")

    create = sub.add_parser("create", help="register an application")
    create.add_argument("--name", required=True, help="the application's name")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.add_argument(
        "--no-addon", action="store_true", help="register without the data store add-on"
    )
    create.set_defaults(command=apps_create)

    listing = sub.add_parser("list", help="list applications")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(command=apps_list)

    for name, command, text in (
        ("suspend", apps_suspend, "suspend an application"),
        ("resume", apps_resume, "resume a suspended application"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("app_id")
        action.set_defaults(command=command)

    addon = sub.add_parser("addon", help="turn the data store add-on on or off")
    addon.add_argument("app_id")
    switch = addon.add_mutually_exclusive_group(required=True)
    switch.add_argument("--enable", dest="enable", action="store_true")
    switch.add_argument("--disable", dest="enable", action="store_false")
    addon.set_defaults(command=apps_addon)

    rotate = sub.add_parser("rotate-key", help="give an application a new key")
    rotate.add_argument("app_id")
    rotate.add_argument("--json", action="store_true", help="print one JSON object")
    rotate.set_defaults(command=apps_rotate_key)
