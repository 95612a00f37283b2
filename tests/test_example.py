"""The live-poll example runs against a real server started from the command line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "live_poll.py"
DATASTORE = Path(sys.executable).parent / "datastore"
STARTUP_SECONDS = 20.0
SHUTDOWN_SECONDS = 5.0
EXAMPLE_SECONDS = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(base_url: str, server: subprocess.Popen[bytes]) -> None:
    """Poll ``/healthz`` until it answers 200, the server dies, or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode} while starting")
        try:
            answer = httpx.get(f"{base_url}/healthz", timeout=1.0)
        except httpx.TransportError as exc:
            last_problem = repr(exc)
        else:
            if answer.status_code == 200:
                return
            last_problem = f"status {answer.status_code}"
        time.sleep(0.1)
    pytest.fail(
        f"/healthz did not answer 200 within {STARTUP_SECONDS:.0f} s ({last_problem})"
    )


def stop(server: subprocess.Popen[bytes]) -> int | None:
    """Interrupt the server like Ctrl+C and return its exit status.

    The status is ``None`` when it did not exit in time (it is then killed).
    """
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
    try:
        return server.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        return None


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """The environment of every command: a fresh SQLite file in ``tmp_path``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DATASTORE_")
    }
    env["DATASTORE_DATABASE_URL"] = f"sqlite://{tmp_path}/store.sqlite3"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def server_url(tmp_path: Path, environment: dict[str, str]) -> Iterator[str]:
    """``datastore serve`` on a free port; yields its GraphQL URL.

    Afterwards the server is interrupted and must exit cleanly and promptly.
    """
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(DATASTORE), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, server)
        yield f"{base_url}/graphql"
    finally:
        status = stop(server)
        output = log_path.read_text()
        # Shown by pytest only when the test fails.
        print(f"server log:\n{output}")
    assert status is not None, (
        f"the server did not exit within {SHUTDOWN_SECONDS:.0f} s of SIGINT:\n{output}"
    )
    assert status == 0, f"the server exited with {status}:\n{output}"


def create_application(tmp_path: Path, environment: dict[str, str]) -> dict[str, str]:
    """Register an application with the CLI; return its app_id and app_key."""
    done = subprocess.run(
        [str(DATASTORE), "apps", "create", "--name", "example", "--json"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    created: dict[str, str] = json.loads(done.stdout)
    return created


def test_live_poll_example_runs_against_a_real_server(
    tmp_path: Path, environment: dict[str, str], server_url: str
) -> None:
    credentials = create_application(tmp_path, environment)

    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--url",
            server_url,
            "--app-id",
            credentials["app_id"],
            "--app-key",
            credentials["app_key"],
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_SECONDS,
        check=False,
    )

    report = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, report
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "poll result: {'pizza': 1, 'soup': 1}", report
    assert "guest: sees votes {'user-host': 'pizza', 'user-guest': 'soup'}" in lines
    assert "app: user-host's user data: {'preferences': {'theme': 'dark'}}" in lines
    assert "app: user-guest's user data: {'preferences': {'theme': 'light'}}" in lines
