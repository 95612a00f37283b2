"""Log set-up for the server and the command line."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send every logger's records to standard error at ``level``."""
    logging.basicConfig(level=level.upper(), format=FORMAT, force=True)
    # Tortoise logs every SQL statement at DEBUG; keep it quiet unless asked.
    if level.upper() != "DEBUG":
        logging.getLogger("tortoise").setLevel(logging.WARNING)
