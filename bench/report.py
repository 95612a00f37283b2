"""The results: rows of the final table, the environment, and the JSON file.

Every figure is set against a ceiling measured in the same run, on the same
machine, and the ratio is what the goal judges: the machine is shared and
noisy, so no absolute number is a pass or a fail.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "strawberry-graphql",
    "starlette",
    "uvicorn",
    "tortoise-orm",
    "aiosqlite",
    "uvloop",
    "httptools",
    "websockets",
)


@dataclass
class Row:
    """One line of the table: a figure, its ceiling, their ratio and the goal."""

    scenario: str
    figure: str
    value: float | None
    ceiling: float | None
    unit: str
    goal: str = "—"
    # "min": ratio must be at least target; "max": at most; None: no goal.
    kind: str | None = None
    target: float | None = None
    ratio: float | None = None
    met: bool | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.ceiling:
            self.ratio = self.value / self.ceiling
        if self.met is None and self.kind is not None and self.target is not None:
            if self.ratio is None:
                self.met = False
            elif self.kind == "min":
                self.met = self.ratio >= self.target
            else:
                self.met = self.ratio <= self.target


@dataclass
class ScenarioResult:
    """What one scenario measured: its table rows and every detail."""

    name: str
    rows: list[Row]
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    # The code measured: the tree may change between scenarios of a long run.
    source: dict[str, Any] = field(default_factory=dict)


def environment() -> dict[str, Any]:
    """Versions of Python and the main packages, the CPUs, and the date."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": versions,
        "nproc": _nproc(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "wrk": _wrk_version(),
        "load_average": list(os.getloadavg()),
        "source": source(),
    }


def source() -> dict[str, Any]:
    """The commit measured, and the files changed beside it (outside bench/)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout

    changed = [
        line[3:]
        for line in git("status", "--porcelain").splitlines()
        if not line[3:].startswith(("bench/", "tests/test_bench.py"))
    ]
    diff = git("diff", "HEAD", "--", ".", ":(exclude)bench")
    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "changed_files": changed,
        "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


def _nproc() -> int:
    try:
        return int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        return len(os.sched_getaffinity(0))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _wrk_version() -> str:
    try:
        done = subprocess.run(["/usr/bin/wrk", "-v"], capture_output=True, text=True)
    except OSError:
        return "missing"
    return (done.stdout + done.stderr).splitlines()[0].strip()


def write_json(
    path: Path,
    results: Sequence[ScenarioResult],
    settings: dict[str, Any],
    env: dict[str, Any],
) -> None:
    """Write every figure, the settings and the environment to ``path``."""
    env = {**env, "load_average_end": list(os.getloadavg()), "source_end": source()}
    # The tree may change while a long run goes on; then say so.
    env["source_changed_during_run"] = env["source_end"] != env.get("source")
    document = {
        "environment": env,
        "settings": settings,
        "scenarios": {
            r.name: {
                "seconds": round(r.seconds, 1),
                "source": r.source,
                "rows": [asdict(row) for row in r.rows],
                "details": r.details,
            }
            for r in results
        },
        "goals": {
            "met": sum(1 for r in results for row in r.rows if row.met is True),
            "not_met": sum(1 for r in results for row in r.rows if row.met is False),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def table(results: Sequence[ScenarioResult]) -> str:
    """The final table, one line per row, columns aligned."""
    header = ("scenario", "figure", "value", "ceiling", "ratio", "goal", "met?")
    lines = [header]
    for result in results:
        for row in result.rows:
            lines.append(
                (
                    row.scenario,
                    row.figure,
                    _number(row.value, row.unit),
                    _number(row.ceiling, row.unit),
                    "—" if row.ratio is None else f"{row.ratio:.3f}",
                    row.goal,
                    {True: "yes", False: "NO", None: "—"}[row.met],
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(r.rstrip() for r in rendered)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()
