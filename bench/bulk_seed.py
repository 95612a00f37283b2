"""The documented shortcut for the growth scenario: many USER documents at once.

    python -m bench.bulk_seed --database sqlite://PATH --app APP_ID \\
        --template u0 --start 1000 --stop 100000

Writing 100,000 documents through the API takes about five minutes on two
cores (about 330 writes a second, each its own transaction), so the growth
scenario writes the first documents through the API and makes the rest here,
beside the running server, as ``bench/purge_scale.py`` does: rows of the
project's own models, inserted with ``bulk_create`` in a few transactions.

Each new row is a copy of a document the API wrote (``--template``), with its
``v`` field set to the row's number, and a change log entry like the
template's first one; so every document looks as if the application had
written it once. The server caches no documents, so it sees them at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.api import user_ref
from models.database import close_database, open_database, write_transaction
from models.tables import ChangeLogEntry, Document, Scope

BATCH = 5000


async def seed(url: str, app_id: str, template: str, start: int, stop: int) -> None:
    """Insert USER documents ``start`` … ``stop - 1`` copied from ``template``."""
    await open_database(url)
    try:
        model = await Document.get(app_id=app_id, scope=Scope.USER, target=template)
        change = await ChangeLogEntry.get(
            app_id=app_id, scope=Scope.USER, target=template, revision=1
        )
        data = json.loads(model.data)
        for first in range(start, stop, BATCH):
            numbers = range(first, min(first + BATCH, stop))
            await _insert(model, change, data, numbers)
    finally:
        await close_database()


async def _insert(
    model: Document, change: ChangeLogEntry, data: dict[str, object], numbers: range
) -> None:
    documents = []
    changes = []
    for number in numbers:
        text = json.dumps({**data, "v": number}, separators=(",", ":"))
        documents.append(
            Document(
                app_id=model.app_id,
                scope=Scope.USER,
                target=user_ref(number),
                data=text,
                authors=model.authors,
                revision=1,
                created_at=model.created_at,
                updated_at=model.updated_at,
            )
        )
        changes.append(
            ChangeLogEntry(
                app_id=model.app_id,
                scope=Scope.USER,
                target=user_ref(number),
                revision=1,
                patch=text,
                author=change.author,
                at=change.at,
            )
        )
    async with write_transaction():
        await Document.bulk_create(documents)
        await ChangeLogEntry.bulk_create(changes)


def main() -> None:
    """Read the arguments and seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--stop", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(seed(args.database, args.app, args.template, args.start, args.stop))


if __name__ == "__main__":
    main()
