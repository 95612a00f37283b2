"""Running wrk (its own process) with bench/request.lua, and reading its output.

Every HTTP measurement of a run uses the same wrk settings (``Load``):
threads, connections, duration and timeout, with ``--latency``. The requests
come from a file of variants (see request.lua); wrk's summary gives the
requests per second and the latency distribution, and the script's own
``BENCH`` line the GraphQL errors it saw.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.processes import cpu_seconds, stop_process

WRK = "/usr/bin/wrk"
SCRIPT = Path(__file__).with_name("request.lua")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class Load:
    """The wrk settings of a run: the same for every HTTP measurement."""

    threads: int = 2
    connections: int = 32
    seconds: float = 10.0
    warmup_seconds: float = 2.0
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Variant:
    """One request wrk may send: its Authorization value and JSON body."""

    authorization: str
    body: str

    def line(self) -> str:
        """The variant as a line of the variants file."""
        if "\t" in self.authorization + self.body or "\n" in self.body:
            raise ValueError("a variant may hold no tab or newline")
        return f"{self.authorization}\t{self.body}\n"


@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests_per_second: float
    requests: int
    seconds: float
    latency_ms: dict[str, float]
    errors: int
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0
    reused_variants: int = 0
    error_sample: str = ""
    # The measured server's CPU use during the run, in % of one core.
    server_cpu_percent: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result as plain data for the JSON report."""
        return asdict(self)


def available() -> bool:
    """Whether wrk is installed where the harness expects it."""
    return shutil.which(WRK) is not None


def run_wrk(
    url: str,
    variants: Sequence[Variant],
    load: Load,
    seconds: float | None = None,
    offset: int = 0,
    random_range: int = 1,
    server_pid: int | None = None,
) -> WrkResult:
    """Run wrk against ``url`` with these variants; return what it measured.

    With ``server_pid``, the result also says how busy that process was.
    """
    duration = load.seconds if seconds is None else seconds
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        path = Path(folder) / "variants.txt"
        path.write_text("".join(v.line() for v in variants))
        command = [
            WRK,
            f"-t{load.threads}",
            f"-c{load.connections}",
            f"-d{duration:g}s",
            f"--timeout={load.timeout_seconds:g}s",
            "--latency",
            "-s",
            str(SCRIPT),
            url,
            "--",
            str(path),
            str(load.threads),
            str(offset),
            str(max(1, random_range)),
        ]
        cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
        output = _run(command, duration + load.timeout_seconds + 30)
        result = parse(output)
    if server_pid:
        used = cpu_seconds(server_pid) - cpu_before
        result.server_cpu_percent = round(100 * used / result.seconds, 1)
    return result


def warm_up(url: str, variants: Sequence[Variant], load: Load, **extra: Any) -> None:
    """A short discarded run, so that caches and connections are warm."""
    if load.warmup_seconds > 0:
        run_wrk(url, variants, load, seconds=load.warmup_seconds, **extra)


def _run(command: list[str], limit: float) -> str:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False
    )
    try:
        out, err = process.communicate(timeout=limit)
    finally:
        stop_process(process, signal.SIGTERM)
    text = out.decode(errors="replace")
    if process.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(
            f"wrk failed ({process.returncode}): {err.decode(errors='replace')}\n{text}"
        )
    return text


def parse(output: str) -> WrkResult:
    """Read wrk's ``--latency`` summary and the script's BENCH line."""
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", output))
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output)
    if done is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    seconds = float(done.group(2)) * UNITS[done.group(3)] / 1000
    latency = {
        f"p{pct}": _milliseconds(value)
        for pct, value in re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)\s*$", output, re.M)
    }
    latency["avg"] = _milliseconds(_find(r"Latency\s+([\d.]+\w+)", output))
    latency["max"] = _milliseconds(
        _find(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+\w+)", output)
    )
    script = json.loads(_find(r"^BENCH (\{.*\})$", output, re.M))
    return WrkResult(
        requests_per_second=rate,
        requests=int(done.group(1)),
        seconds=seconds,
        latency_ms=latency,
        errors=int(script["errors"]),
        socket_errors=_socket_errors(output),
        non_2xx=int(_find(r"Non-2xx or 3xx responses: (\d+)", output, default="0")),
        reused_variants=int(script["reused"]),
        error_sample=str(script["sample"]),
    )


def _socket_errors(output: str) -> dict[str, int]:
    found = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if found is None:
        return {}
    names = ("connect", "read", "write", "timeout")
    return {n: int(v) for n, v in zip(names, found.groups(), strict=True)}


def _find(pattern: str, text: str, flags: int = 0, default: str | None = None) -> str:
    found = re.search(pattern, text, flags)
    if found is None:
        if default is not None:
            return default
        raise RuntimeError(f"cannot find {pattern!r} in wrk's output:\n{text}")
    return found.group(1)


def _milliseconds(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)([a-z]+)", value)
    if found is None:
        raise RuntimeError(f"cannot read the time {value!r} in wrk's output")
    return float(found.group(1)) * UNITS[found.group(2)]
