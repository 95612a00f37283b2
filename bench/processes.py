"""The processes a benchmark run starts, and how each one is stopped.

Every server runs on 127.0.0.1 on a free port between 20000 and 20999:

- ``DataStore``: the real ``datastore serve`` (the console script beside
  ``sys.executable``) on a fresh SQLite file in its own temporary directory,
  with an application registered through ``datastore apps create --json``;
- ``Ceiling``: one of the bare apps of ``bench.ceilings``, under
  ``python -m uvicorn`` with the settings ``datastore serve`` uses.

Both are context managers: leaving the block (normally, on an error or on
Ctrl-C) stops the process by its PID, first politely, then with SIGKILL.
``stop_process`` does the same for any other child (wrk, the WebSocket
clients).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
PORTS = range(20000, 21000)
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0
BIN = Path(sys.executable).parent
DATASTORE = BIN / "datastore"
ROOT = Path(__file__).resolve().parent.parent

# The settings the harness gives every ``datastore serve`` (besides its file).
SERVER_SETTINGS = {"DATASTORE_LOG_LEVEL": "WARNING"}


@functools.cache
def uvicorn_options() -> tuple[str, ...]:
    """uvicorn's command-line options for the ceilings, as ``datastore serve`` runs.

    They are read from the project's own ``app.server.uvicorn_config`` with
    the settings the harness gives the server, so that a change there reaches
    the ceilings too. The loop and the HTTP parser are named: uvloop and
    httptools, which uvicorn's "auto" picks when they are installed (the
    results say whether the server process loaded them).
    """
    from starlette.applications import Starlette

    from app.server import uvicorn_config
    from app.settings import Settings

    config = uvicorn_config(Starlette(), Settings.from_env(SERVER_SETTINGS))
    options = ["--loop", "uvloop", "--http", "httptools", "--workers", "1"]
    options += ["--log-level", "warning", "--no-access-log"]
    if isinstance(config.ws, str):
        options += ["--ws", config.ws]
    options += ["--lifespan", str(config.lifespan)]
    options += ["--ws-max-size", str(config.ws_max_size)]
    options += ["--ws-max-queue", str(config.ws_max_queue)]
    options += ["--ws-per-message-deflate", str(config.ws_per_message_deflate)]
    for flag, value in (
        ("--ws-ping-interval", config.ws_ping_interval),
        ("--ws-ping-timeout", config.ws_ping_timeout),
        ("--limit-concurrency", config.limit_concurrency),
    ):
        if value is not None:
            options += [flag, str(value)]
    options += ["--timeout-keep-alive", str(config.timeout_keep_alive)]
    options += ["--backlog", str(config.backlog)]
    options.append("--proxy-headers" if config.proxy_headers else "--no-proxy-headers")
    options.append("--server-header" if config.server_header else "--no-server-header")
    options.append("--date-header" if config.date_header else "--no-date-header")
    return tuple(options)


def free_port() -> int:
    """A port in 20000–20999 on 127.0.0.1 that nothing listens on right now."""
    candidates = list(PORTS)
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 20999")


def raise_open_file_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; return both.

    Children (servers and clients) inherit the raised limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def resident_kib(pid: int) -> int:
    """The process's resident memory (VmRSS) in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(pid: int, limit: float = 60.0, busy: float = 0.1) -> float:
    """Wait until the process uses under ``busy`` of a core; return the wait."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if (cpu_seconds(pid) - before) / 0.5 < busy:
            break
    return time.monotonic() - started


def stop_process(process: subprocess.Popen[Any] | None, how: int) -> None:
    """Stop one child by its PID: signal ``how``, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.kill(process.pid, how)
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200; fail if the process dies or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode} while "
                f"starting:\n{_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {STARTUP_SECONDS:.0f} s")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Application:
    """The application registered on a DataStore."""

    app_id: str
    app_key: str


class _Served:
    """A server process on a free port, stopped by PID when the block ends."""

    name = "server"
    health_path = "/healthz"

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log = self.folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        """The CPU time the server has used so far."""
        return cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        """The server's resident memory now, in KiB."""
        return resident_kib(self.pid)

    def command(self) -> list[str]:
        """The command line that runs the server."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The server's environment."""
        return dict(os.environ)

    def __enter__(self) -> _Served:
        try:
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(
                    self.command(),
                    cwd=ROOT,
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            wait_healthy(self.base_url + self.health_path, self.process, self.log)
            self.started()
        except BaseException:
            self.close()
            raise
        return self

    def started(self) -> None:
        """Called once the server answers its health check."""

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (SIGINT: uvicorn's graceful stop) and remove its files."""
        try:
            stop_process(self.process, signal.SIGINT)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self) -> str:
        """The last lines the server logged."""
        return _tail(self.log)


class DataStore(_Served):
    """``datastore serve`` on a fresh SQLite file, with one application."""

    name = "datastore"

    def __init__(self) -> None:
        super().__init__()
        self.application: Application | None = None

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint over HTTP."""
        return self.base_url + "/graphql"

    @property
    def websocket_url(self) -> str:
        """The GraphQL endpoint over WebSocket."""
        return f"ws://{HOST}:{self.port}/graphql"

    @property
    def app(self) -> Application:
        """The registered application."""
        assert self.application is not None
        return self.application

    def command(self) -> list[str]:
        """``datastore serve --host 127.0.0.1 --port PORT``."""
        return [str(DATASTORE), "serve", "--host", HOST, "--port", str(self.port)]

    def environment(self) -> dict[str, str]:
        """The caller's environment without DATASTORE_*, plus the bench settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATASTORE_")}
        env["DATASTORE_DATABASE_URL"] = f"sqlite://{self.folder}/bench.sqlite3"
        env.update(SERVER_SETTINGS)
        return env

    def __enter__(self) -> DataStore:
        super().__enter__()
        return self

    def started(self) -> None:
        """Register the application with ``datastore apps create --json``."""
        done = subprocess.run(
            [str(DATASTORE), "apps", "create", "--name", "bench", "--json"],
            cwd=self.folder,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"datastore apps create failed: {done.stderr}")
        found = json.loads(done.stdout)
        self.application = Application(found["app_id"], found["app_key"])


class Ceiling(_Served):
    """A bare app of ``bench.ceilings`` under uvicorn, as a ceiling to compare to."""

    def __init__(self, app_name: str) -> None:
        self.name = app_name
        self.health_path = "/healthz"
        super().__init__()

    @property
    def http_url(self) -> str:
        """The POST route, at the same path as the real endpoint."""
        return self.base_url + "/graphql"

    @property
    def websocket_url(self) -> str:
        """The broadcasting WebSocket endpoint."""
        return f"ws://{HOST}:{self.port}/graphql"

    def command(self) -> list[str]:
        """``python -m uvicorn bench.ceilings:APP`` with the project's settings."""
        return [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.ceilings:{self.name}",
            "--host",
            HOST,
            "--port",
            str(self.port),
            *uvicorn_options(),
        ]

    def __enter__(self) -> Ceiling:
        super().__enter__()
        return self


def uses_fast_stack(pid: int) -> dict[str, bool]:
    """Whether a running process has loaded uvloop and httptools (its maps)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return {}
    return {"uvloop": "uvloop" in maps, "httptools": "httptools" in maps}
