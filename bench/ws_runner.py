"""Starting ``bench.ws_clients`` processes from the harness, and reading them.

``run_fanout`` runs one fan-out measurement to its end and returns what the
client printed. ``IdleClient`` opens idle sockets and holds them while the
harness reads the server's memory; leaving its block makes the client close
them and exit. Either way the client process is stopped by its PID in a
``finally``.
"""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.processes import ROOT, stop_process

CLIENT = [sys.executable, "-m", "bench.ws_clients"]
OPEN_SECONDS = 600.0


def _arguments(options: dict[str, Any]) -> list[str]:
    found = []
    for name, value in options.items():
        if value is not None:
            found += [f"--{name.replace('_', '-')}", str(value)]
    return found


def run_fanout(limit: float, **options: Any) -> dict[str, Any]:
    """Run ``ws_clients fanout`` with these options; return its JSON result."""
    process = subprocess.Popen(
        [*CLIENT, "fanout", *_arguments(options)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=limit)
    finally:
        stop_process(process, signal.SIGTERM)
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"the fan-out client failed ({process.returncode}): {err}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


class IdleClient:
    """``ws_clients idle``: holds ``count`` sockets open inside its block."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.process: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}
        self.final: dict[str, Any] = {}

    def __enter__(self) -> IdleClient:
        self.process = subprocess.Popen(
            [*CLIENT, "idle", *_arguments(self.options)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            self.ready = json.loads(self._line(OPEN_SECONDS))
        except BaseException:
            stop_process(self.process, signal.SIGTERM)
            raise
        return self

    def _line(self, limit: float) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], limit)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            stop_process(self.process, signal.SIGTERM)
            error = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"the idle client said nothing: {error[-2000:]}")
        return line

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        process = self.process
        assert process is not None
        assert process.stdin is not None
        try:
            if kind is None and process.poll() is None:
                process.stdin.write("close\n")
                process.stdin.close()
                self.final = json.loads(self._line(120.0))
                process.wait(timeout=60)
        finally:
            stop_process(process, signal.SIGTERM)


def write_tokens(path: Path, tokens: list[str]) -> Path:
    """Write connection tokens as the JSON list the clients read."""
    path.write_text(json.dumps(tokens))
    return path
